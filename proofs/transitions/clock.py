"""spec.clearing.advance_clock: clear every market due by ``now``, then move the clock.

``advance_clock(state, now)`` checks BLK-04, clears each open market whose trading has closed by
``now`` (each a ``clear_market`` step, modelled in ``clearing``) and then sets the time. The model
splits it at those seams: ``start`` checks BLK-04 and records ``now`` in the ghost horizon,
``clear_market`` steps clear markets due by the horizon, ``finish`` sets the time once no market
due by the horizon is open (the loop's post-condition, CLR-01, stated at the markets an
obligation looks at).
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
    """Every market due by the horizon has been cleared: the clock reaches it."""
    checks = Checks()
    for market in markets:
        checks.require(z3.Not(due_and_open(s, market, s.clock_horizon)), "CLR-01")
    return checks.done(replace(s, time=s.clock_horizon))


def step(s: Ledger, tx: Tx, markets: list[tuple[Term, Term]]) -> Transition:
    """start, then finish: an advance with no market due (clearing steps go in between)."""
    first = start(s, tx)
    second = finish(first.after, markets)
    return Transition(first.guards + second.guards, second.after)


def touched(s: Ledger, tx: Tx) -> Points:
    return Points()
