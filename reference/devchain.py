"""A deterministic development chain: traders moving money block after block (kill test, demos).

``run(path, blocks, seed)`` opens (or creates) the chain at ``path`` and produces blocks until the
chain reaches ``blocks`` blocks; the transactions of the block at height ``h`` depend only on
``seed`` and ``h`` and the nonces in the state, so a run that is killed and restarted produces
exactly the chain an uninterrupted run produces. Prints ``height root`` after each commit.

    python -m reference.devchain PATH BLOCKS SEED [COMMIT_PAUSE_S]
"""

from __future__ import annotations

import random
import sys

from reference.client import (
    DEPOSIT,
    REGISTER_ACCOUNT,
    REGISTER_NODE,
    TRANSFER,
    WITHDRAW,
    Signer,
    seed_for,
)
from reference.ledger import ATTESTOR, OPERATOR, SUBSTATION, TRADER, VALIDATOR
from reference.node import Node, genesis_ledger

CHAIN_ID = "kwhledger-dev"
GENESIS_TIME = 1_764_255_600
TRADERS = [f"trader-{i}" for i in range(8)]
VALIDATORS = ["validator-1", "validator-2", "validator-3"]


def signers() -> dict[str, Signer]:
    names = ["operator", "attestor", *VALIDATORS, *TRADERS]
    return {name: Signer(seed_for(name)) for name in names}


def genesis() -> tuple[object, dict[str, Signer]]:
    keys = signers()
    accounts = [(keys["operator"].account, OPERATOR), (keys["attestor"].account, ATTESTOR)]
    accounts += [(keys[name].account, VALIDATOR) for name in VALIDATORS]
    ledger = genesis_ledger(CHAIN_ID, GENESIS_TIME, accounts, keys["operator"].account)
    return ledger, keys


def block_transactions(node: Node, keys: dict[str, Signer], seed: int) -> list[bytes]:
    """The transactions of the next block, from the seed, the height and the state's nonces."""
    ledger = node.ledger
    height = ledger.height
    chain = ledger.chain_id
    for signer in keys.values():
        account = ledger.accounts.get(signer.account)
        signer.nonce = 0 if account is None else account[1]
    operator = keys["operator"]
    if height == 0:
        txs = [operator.sign(chain, REGISTER_NODE, {0: 1, 1: SUBSTATION, 2: None, 3: 100})]
        for name in TRADERS:
            txs.append(operator.sign(chain, REGISTER_ACCOUNT, {0: keys[name].account, 1: TRADER}))
            txs.append(operator.sign(chain, DEPOSIT, {0: keys[name].account, 1: 10**9}))
        return txs
    rng = random.Random(seed * 1_000_003 + height)
    txs = []
    for _ in range(rng.randint(1, 40)):
        sender = keys[rng.choice(TRADERS)]
        choice = rng.random()
        if choice < 0.6:
            to = keys[rng.choice(TRADERS)].account
            txs.append(sender.sign(chain, TRANSFER, {0: to, 1: rng.randint(1, 10_000)}))
        elif choice < 0.8:
            # (traders without meters have no import to back a bid, BID-04: they withdraw)
            txs.append(sender.sign(chain, WITHDRAW, {0: rng.randint(1, 2000)}))
        else:
            txs.append(operator.sign(chain, DEPOSIT, {0: sender.account, 1: rng.randint(1, 99)}))
    return txs


def run(
    path: str, blocks: int, seed: int, commit_pause_s: float = 0.0, quiet: bool = False
) -> Node:
    ledger, keys = genesis()
    validator_seeds = [seed_for(name) for name in VALIDATORS]
    node = Node.open_or_create(path, ledger, validator_seeds, commit_pause_s)  # type: ignore[arg-type]
    while node.ledger.height < blocks:
        for tx in block_transactions(node, keys, seed):
            node.submit(tx)
        node.produce_block(GENESIS_TIME + 600 * (node.ledger.height + 1))
        if not quiet:
            print(node.ledger.height, node.state_root().hex(), flush=True)
    return node


if __name__ == "__main__":
    pause = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    run(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), pause).close()
