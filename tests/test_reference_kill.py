"""Kill the node mid-commit, restart it, and check that the store kept exactly what it committed.

A child process runs the deterministic dev chain (``reference.devchain``) with a pause inside
every commit (between the block row and the state rows, and before the meta row), so a kill lands
inside an open SQLite transaction most of the time. The parent kills it with SIGKILL at seeded
random moments, then reopens the store and checks:

* nothing committed is lost: the store's height is at least the last height the child reported;
* nothing half-written is visible: the stored state (entries, lanes) is the state of the last
  stored block (the node refuses to open otherwise), its root recomputed from every entry equals
  the root a full replay of the stored blocks from genesis gives, and every block has its
  transactions;
* the chain that survives the kills is the chain an uninterrupted run produces.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from reference import devchain
from reference.node import Node, replay

BLOCKS = 14
SEED = 11


def _check_store(path: Path, reported: int) -> int:
    node = Node.open(path, verify_root=True)
    try:
        height = node.ledger.height
        assert height >= reported, "a committed block was lost"
        assert replay(node.store).state_root() == node.state_root()
        counts = node.store.counts()
        assert counts["blocks"] == height
        heights = {h for (h,) in node.store.db.execute("SELECT DISTINCT height FROM transactions")}
        assert heights <= set(range(1, height + 1))
        return height
    finally:
        node.close()


def test_killed_node_restarts_to_its_last_committed_block(tmp_path: Path) -> None:
    path = tmp_path / "chain.db"
    rng = random.Random(SEED)
    kills = 0
    height = 0
    while height < BLOCKS:
        child = subprocess.Popen(
            [sys.executable, "-m", "reference.devchain", str(path), str(BLOCKS), str(SEED), "0.02"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        reported = height
        wanted = rng.randint(1, 3)
        for _ in range(wanted):
            line = child.stdout.readline()
            if not line:
                break
            reported = int(line.split()[0])
        time.sleep(rng.uniform(0.0, 0.05))
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            kills += 1
        child.wait()
        child.stdout.close()
        height = _check_store(path, reported)
    assert kills >= 3
    uninterrupted = devchain.run(str(tmp_path / "clean.db"), BLOCKS, SEED, quiet=True)
    survivor = Node.open(path)
    try:
        assert survivor.state_root() == uninterrupted.state_root()
        assert survivor.ledger.tip_hash == uninterrupted.ledger.tip_hash
    finally:
        survivor.close()
        uninterrupted.close()
