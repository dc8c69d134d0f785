"""Bounds on the ledger's clock that a block's bytes can be checked against (TIM-01, TIM-02).

A block's timestamp is chosen by its proposer. TIM-01 bounds how far one block can move the
clock: at most ``MAX_BLOCK_JUMP_S`` past the ledger's time. Without it, one block stamped
2^40 - 1 cleared every open market and bricked the chain: every later block, order and reading
was refused for time (BLK-04, ORD-02, ATT-05). After a longer halt the clock catches up over
several blocks; it never stops the chain, because a block at the ledger's time plus the bound is
always allowed.

TIM-02 takes the choice of the time away from the proposer. Every vote carries its validator's
own clock reading, signed with the header hash (section 9.8), and the timestamp must lie within
``MAX_VOTE_SKEW_S`` of the lower median of the votes' times. A quorum holds at least two thirds
of the validators and fewer than a third are faulty (A-1), so fewer than half of a block's votes
are faulty and the lower median lies between the least and the greatest time an honest validator
signed (INV-18, proved by ``proofs/block_time.py``). After a halt longer than a day the timestamp
may lag the median, but only to catch up: at least the ledger's time plus MAX_BLOCK_JUMP_S, less
the skew.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from spec.errors import require

MAX_BLOCK_JUMP_S: Final = 86_400
"""Largest step of the ledger's clock in one block: one day (48 slots)."""

MAX_VOTE_SKEW_S: Final = 60
"""Largest distance between a block's timestamp and the lower median of its votes' times: one
minute, far less than a slot (1 800 s) and than any window, far more than the drift of clocks
kept by NTP and the time a round of votes takes."""


def check_block_jump(ledger_time: int, timestamp: int) -> None:
    """TIM-01: a block's timestamp is at most MAX_BLOCK_JUMP_S past the ledger's time."""
    require(
        timestamp <= ledger_time + MAX_BLOCK_JUMP_S,
        "TIM-01",
        f"{timestamp} > {ledger_time} + {MAX_BLOCK_JUMP_S}",
    )


def median_index(count: int) -> int:
    """The 0-based position of the lower median among ``count`` sorted values: (count - 1) // 2.

    For an odd count the middle one; for an even count the lower of the two middle ones."""
    return (count - 1) // 2


def lower_median(times: Sequence[int]) -> int:
    """The lower median of a non-empty list of times (each vote one, voting power 1)."""
    return sorted(times)[median_index(len(times))]


def earliest_allowed(median: int, ledger_time: int) -> int:
    """TIM-02's lower bound: the median less the skew, or while the ledger's clock is more than
    MAX_BLOCK_JUMP_S behind the median (after a halt), the ledger's time plus a day less the
    skew."""
    return min(median, ledger_time + MAX_BLOCK_JUMP_S) - MAX_VOTE_SKEW_S


def latest_allowed(median: int) -> int:
    """TIM-02's upper bound: the median plus the skew."""
    return median + MAX_VOTE_SKEW_S


def check_vote_time(ledger_time: int, timestamp: int, vote_times: Sequence[int]) -> None:
    """TIM-02: the timestamp lies within MAX_VOTE_SKEW_S of the lower median of the votes'
    times; after a halt it may lag the median while it catches up a day per block."""
    median = lower_median(vote_times)
    low, high = earliest_allowed(median, ledger_time), latest_allowed(median)
    require(
        low <= timestamp <= high,
        "TIM-02",
        f"{timestamp} outside [{low}, {high}] (median of the votes {median})",
    )
