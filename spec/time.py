"""Bounds on the ledger's clock that a block's bytes can be checked against (TIM-01).

A block's timestamp is chosen by its proposer and vouched for by the quorum that signs it
(BLK-07). TIM-01 bounds how far one block can move the clock: at most ``MAX_BLOCK_JUMP_S`` past
the ledger's time. Without it, one block stamped 2^40 - 1 cleared every open market and bricked
the chain: every later block, order and reading was refused for time (BLK-04, ORD-02, ATT-05).
After a longer halt the clock catches up over several blocks; it never stops the chain, because a
block at the ledger's time plus the bound is always allowed.
"""

from __future__ import annotations

from typing import Final

from spec.errors import require

MAX_BLOCK_JUMP_S: Final = 86_400
"""Largest step of the ledger's clock in one block: one day (48 slots)."""


def check_block_jump(ledger_time: int, timestamp: int) -> None:
    """TIM-01: a block's timestamp is at most MAX_BLOCK_JUMP_S past the ledger's time."""
    require(
        timestamp <= ledger_time + MAX_BLOCK_JUMP_S,
        "TIM-01",
        f"{timestamp} > {ledger_time} + {MAX_BLOCK_JUMP_S}",
    )
