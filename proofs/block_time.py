"""INV-18: a block's time lies within what honest validators signed (TIM-02, RULEBOOK 13.5).

Two obligations carry the argument of section 13.5:

* ``time/faulty-below-half`` (unbounded): a quorum of ``s`` votes out of ``n`` validators
  (``3 s >= 2 n``, BLK-07) holding ``f`` faulty votes, with fewer than a third of the validators
  faulty (``3 f < n``, A-1), has fewer than half faulty votes: ``2 f < s``.
* ``time/median-within-honest-<s>`` (one per vote count ``s`` up to ``MAX_VOTES``): for every
  list of ``s`` vote times in ascending order and every choice of fewer than ``s / 2`` of them as
  faulty, the time at the spec's median position (``spec.time.median_index``) lies between the
  least and the greatest honest time; and every timestamp TIM-02 accepts while the clock is not
  catching up (``m <= ledger time + MAX_BLOCK_JUMP_S``) lies within ``MAX_VOTE_SKEW_S`` of that
  honest range.

The vote times are free integers within the wire's bound, ordered ascending (the order the rule
sorts them into); which votes are faulty is free. The median position is the spec's own function,
called with each concrete count, so a change to the spec's index is a change to the obligation.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable

import z3

from proofs.model import Obligation, Term, total
from spec.time import MAX_BLOCK_JUMP_S, MAX_VOTE_SKEW_S, median_index
from spec.units import TIME_MAX_S

MAX_VOTES = 10
"""The bound on the number of a block's votes: every count from 1 to 10."""

median_position: Callable[[int], int] = median_index
"""The seam the seeded bugs replace: where the median sits among ``s`` sorted times."""


def _min(a: Term, b: Term) -> Term:
    return z3.If(a <= b, a, b)


def accepts(sorted_times: list[Term], ledger_time: Term, timestamp: Term) -> Term:
    """BLK-04, TIM-01 and TIM-02 on a block whose vote times are ``sorted_times`` (ascending):
    the timestamp the three rules accept (``tests/test_spec_block_time.py`` compares it with the
    spec on concrete blocks)."""
    m = sorted_times[median_position(len(sorted_times))]
    return z3.And(
        timestamp >= ledger_time,
        timestamp <= ledger_time + MAX_BLOCK_JUMP_S,
        timestamp <= m + MAX_VOTE_SKEW_S,
        timestamp >= _min(m, ledger_time + MAX_BLOCK_JUMP_S) - MAX_VOTE_SKEW_S,
    )


def median_within_honest(s: int) -> Obligation:
    """For ``s`` votes, fewer than half of them faulty: the lower median, and every timestamp
    TIM-02 accepts when not catching up, stay within the honest votes' range (plus the skew)."""
    times = [z3.Int(f"vote[{i}].time") for i in range(s)]
    faulty = [z3.Bool(f"vote[{i}].faulty") for i in range(s)]
    ledger_time, timestamp = z3.Ints("ledger_time timestamp")
    faulty_count = total([z3.If(x, 1, 0) for x in faulty])
    hypotheses: list[Term] = [z3.And(t >= 0, t <= TIME_MAX_S) for t in times]
    hypotheses += [a <= b for a, b in itertools.pairwise(times)]
    hypotheses.append(2 * faulty_count < s)
    hypotheses.append(z3.And(ledger_time >= 0, ledger_time <= TIME_MAX_S))
    m = times[median_position(s)]
    honest = [(z3.Not(x), t) for x, t in zip(faulty, times, strict=True)]
    at_least_least_honest = z3.Or([z3.And(h, t <= m) for h, t in honest])
    at_most_greatest_honest = z3.Or([z3.And(h, m <= t) for h, t in honest])
    # Not catching up: the votes' median is within a day of the ledger's time.
    accepted = z3.And(accepts(times, ledger_time, timestamp), m <= ledger_time + MAX_BLOCK_JUMP_S)
    within = z3.And(
        z3.Or([z3.And(h, t - MAX_VOTE_SKEW_S <= timestamp) for h, t in honest]),
        z3.Or([z3.And(h, timestamp <= t + MAX_VOTE_SKEW_S) for h, t in honest]),
    )
    show: dict[str, Term] = {"ledger_time": ledger_time, "timestamp": timestamp, "median": m}
    for i in range(s):
        show[f"vote[{i}].time"] = times[i]
        show[f"vote[{i}].faulty"] = faulty[i]
    return Obligation(
        name=f"time/median-within-honest-{s}",
        rule_ids=("INV-18", "TIM-02", "BLK-07", "BLK-04", "TIM-01"),
        about=("INV-18", "TIM-02"),
        hypotheses=hypotheses,
        goal=z3.And(at_least_least_honest, at_most_greatest_honest, z3.Implies(accepted, within)),
        scope=f"bounded: {s} votes, any fewer than half of them faulty",
        show={"tx": show},
    )


def faulty_below_half() -> Obligation:
    """A quorum's faulty votes are fewer than half of it when fewer than a third of the
    validators are faulty (unbounded)."""
    n, s, f = z3.Ints("validators votes faulty_votes")
    hypotheses = [n >= 1, s >= 0, s <= n, 3 * s >= 2 * n, f >= 0, f <= s, 3 * f < n]
    return Obligation(
        name="time/faulty-below-half",
        rule_ids=("INV-18", "BLK-07"),
        about=("INV-18",),
        hypotheses=hypotheses,
        goal=2 * f < s,
        show={"tx": {"validators": n, "votes": s, "faulty_votes": f}},
    )


OBLIGATIONS: dict[str, Callable[[], Obligation]] = {"time/faulty-below-half": faulty_below_half}
for _s in range(1, MAX_VOTES + 1):
    OBLIGATIONS[f"time/median-within-honest-{_s}"] = functools.partial(median_within_honest, _s)
