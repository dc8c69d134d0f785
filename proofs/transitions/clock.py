"""spec.clearing.advance_clock: clear every market due by ``now``, prune, then move the clock.

``advance_clock(state, now)`` checks BLK-04, clears each open market whose trading has closed by
``now`` (each a ``clear_market`` step, modelled in ``clearing``), prunes every slot whose trading
has closed (PRN-01, PRN-02) and then sets the time. The model splits it at those seams: ``start``
checks BLK-04 and records ``now`` in the ghost horizon, ``clear_market`` steps clear markets due by
the horizon, ``finish`` prunes and sets the time once no market due by the horizon is open (the
loop's post-condition, CLR-01, stated at the markets an obligation looks at).

``prune`` models PRN-01/PRN-02 for INV-24: it clears the ``*_exists`` flag of every reading,
lot, order and market of a slot whose trading close is at or before the new time (one lambda per
table: every key at once). The model's other invariants describe a missing row as all zero and
relate rows to ghost sums that pruning does not recompute, so the obligations other than INV-24
are stated for the clock advance without pruning; what pruning keeps of them is covered outside
the model (``proofs/scope.py``: PRN-01, PRN-02, INV-22, INV-23). Demand rows have no flag in the
model (a missing row reads as zero import and zero claims), so INV-24 is proved for the other
four tables.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import z3

from proofs.model import (
    MARKET_OPEN,
    Checks,
    Ledger,
    Term,
    Transition,
    get,
    table,
    trading_close,
)
from proofs.transitions._common import Points
from spec.units import TIME_MAX_S

KIND = "advance_clock"


@dataclass(frozen=True)
class Tx:
    now: Term


def symbolic(prefix: str) -> Tx:
    return Tx(z3.Int(f"{prefix}.now"))


def domain(tx: Tx) -> Term:
    return z3.And(tx.now >= 0, tx.now <= TIME_MAX_S)


def due_and_open(s: Ledger, market: tuple[Term, Term], now: Term) -> Term:
    """A market that advance_clock must clear before reaching ``now``."""
    return z3.And(
        get(s.market_exists, *market),
        get(s.market_status, *market) == MARKET_OPEN,
        trading_close(s, market[1]) <= now,
    )


def start(s: Ledger, tx: Tx) -> Transition:
    """BLK-04, and the clock starts advancing towards ``now``."""
    checks = Checks()
    checks.require(s.clock_horizon == s.time, "BLK-12")  # no advance already in progress
    checks.require(tx.now >= s.time, "BLK-04")
    return checks.done(replace(s, clock_horizon=tx.now))


def finish(s: Ledger, markets: list[tuple[Term, Term]]) -> Transition:
    """Every market due by the horizon has been cleared: the clock reaches the horizon. (The
    spec prunes the slots due right before; ``prune`` is that step, which the INV-24 obligation
    of ``finish`` applies.)"""
    checks = Checks()
    for market in markets:
        checks.require(z3.Not(due_and_open(s, market, s.clock_horizon)), "CLR-01")
    return checks.done(replace(s, time=s.clock_horizon))


def prune(s: Ledger, now: Term) -> Ledger:
    """PRN-01, PRN-02: no reading, lot, order or market of a slot whose trading close is at or
    before ``now`` exists any more; every other row is as it was."""
    key, slot = z3.Ints("prune.key prune.slot")
    zone = z3.Int("prune.zone")

    def open_slot(of: Term) -> Term:
        return trading_close(s, of) > now

    return replace(
        s,
        reading_exists=table(
            [key, slot], z3.And(get(s.reading_exists, key, slot), open_slot(slot))
        ),
        lot_exists=table([key, slot], z3.And(get(s.lot_exists, key, slot), open_slot(slot))),
        order_exists=table(
            [key], z3.And(get(s.order_exists, key), open_slot(get(s.order_slot, key)))
        ),
        market_exists=table(
            [zone, slot], z3.And(get(s.market_exists, zone, slot), open_slot(slot))
        ),
    )


def step(s: Ledger, tx: Tx, markets: list[tuple[Term, Term]]) -> Transition:
    """start, then finish: an advance with no market due (clearing steps go in between)."""
    first = start(s, tx)
    second = finish(first.after, markets)
    return Transition(first.guards + second.guards, second.after)


def touched(s: Ledger, tx: Tx) -> Points:
    return Points()
