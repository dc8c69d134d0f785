"""What every transition module shares: symbolic transaction fields and touched keys."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

import z3

from proofs.model import MARKET_OPEN, NONE, Ledger, Term, get, put

T = TypeVar("T")


def symbolic_fields(cls: type[T], prefix: str, booleans: tuple[str, ...] = ()) -> T:
    """An instance of the dataclass ``cls`` whose every field is a fresh Z3 constant."""
    values: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        make = z3.Bool if f.name in booleans else z3.Int
        values[f.name] = make(f"{prefix}.{f.name}")
    return cls(**values)


@dataclass
class Points:
    """Keys at which an obligation instantiates the (universally quantified) invariant."""

    accounts: list[Term] = field(default_factory=list)
    nodes: list[Term] = field(default_factory=list)
    meters: list[Term] = field(default_factory=list)
    readings: list[tuple[Term, Term]] = field(default_factory=list)
    """Keys of readings and lots, (meter, slot)."""
    demands: list[tuple[Term, Term, Term]] = field(default_factory=list)
    orders: list[Term] = field(default_factory=list)
    markets: list[tuple[Term, Term]] = field(default_factory=list)
    slots: list[Term] = field(default_factory=list)

    def merge(self, other: Points) -> Points:
        return Points(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(Points)))


def open_market(s: Ledger, market: tuple[Term, Term], when: Term | None = None) -> Ledger:
    """MKT-01: when ``when`` holds (always, without it) and the (zone, slot) market does not
    exist yet, it is created OPEN, with no price and a volume of 0; otherwise it is left as is."""
    new_market = z3.Not(get(s.market_exists, *market))
    if when is not None:
        new_market = z3.And(when, new_market)
    for name, value in (
        ("market_exists", z3.BoolVal(True)),
        ("market_status", z3.IntVal(MARKET_OPEN)),
        ("market_price", z3.IntVal(NONE)),
        ("market_volume", z3.IntVal(0)),
    ):
        s = put(s, name, market, z3.If(new_market, value, get(getattr(s, name), *market)))
    return s
