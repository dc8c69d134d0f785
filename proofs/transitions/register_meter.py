"""spec.meters.register_meter (MTR-01 .. MTR-06, MTR-14), sent by the operator (TX-06).

The meter's source is not modelled: no rule reads it after registration except to copy it into
lots and to find another meter of that source at the service point (MTR-06), whose verdict is an
opaque input here (axiom POINT: the model keeps no index of meters by service point and source).
"""

from __future__ import annotations

from dataclasses import dataclass

import z3

from proofs.model import (
    NONE,
    SERVICE_POINT,
    Ledger,
    Term,
    Transition,
    account_id,
    advance_nonce,
    get,
    ident,
    put,
    signed,
    slot_id,
    wh,
)
from proofs.transitions._common import Points, symbolic_fields

KIND = "register_meter"


@dataclass(frozen=True)
class Tx:
    sender: Term
    nonce: Term
    meter: Term
    owner: Term
    attestor: Term
    node: Term
    capacity_wh: Term
    encumbrance: Term
    """The encumbrance registered with the meter (INV-21)."""
    point_free: Term
    """MTR-06's verdict: no meter of the same source in service at the service point (axiom
    POINT)."""
    first_slot: Term
    """MTR-14's result: the last retirement slot of the retired meters of the same source at the
    service point, or 0 (axiom POINT: any slot; a new meter has no readings to keep in service)."""


def symbolic(prefix: str) -> Tx:
    return symbolic_fields(Tx, prefix, ("point_free",))


def domain(tx: Tx) -> Term:
    return z3.And(
        account_id(tx.sender),
        ident(tx.meter),
        account_id(tx.owner),
        account_id(tx.attestor),
        ident(tx.node),
        wh(tx.capacity_wh),
        slot_id(tx.first_slot),
        tx.encumbrance >= 0,
        tx.encumbrance <= 3,
    )


def step(s: Ledger, tx: Tx) -> Transition:
    checks = signed(s, tx.sender, tx.nonce, "operator")
    checks.require(z3.Not(get(s.meter_registered, tx.meter)), "MTR-01")
    checks.require(
        z3.And(get(s.account_registered, tx.owner), get(s.account_trader, tx.owner)), "MTR-02"
    )
    checks.require(
        z3.And(get(s.account_registered, tx.attestor), get(s.account_attestor, tx.attestor)),
        "MTR-03",
    )
    checks.require(
        z3.And(get(s.node_registered, tx.node), get(s.node_kind, tx.node) == SERVICE_POINT),
        "MTR-04",
    )
    checks.require(tx.capacity_wh >= 1, "MTR-05")
    checks.require(tx.point_free, "MTR-06")
    key = (tx.meter,)
    s = put(s, "meter_registered", key, z3.BoolVal(True))
    s = put(s, "meter_owner", key, tx.owner)
    s = put(s, "meter_attestor", key, tx.attestor)
    s = put(s, "meter_node", key, tx.node)
    s = put(s, "meter_zone", key, get(s.node_zone, tx.node))
    s = put(s, "meter_capacity", key, tx.capacity_wh)
    s = put(s, "meter_encumbrance", key, tx.encumbrance)
    s = put(s, "meter_first_slot", key, tx.first_slot)
    s = put(s, "meter_retired_from", key, z3.IntVal(NONE))
    s = put(s, "meter_change_from", key, z3.IntVal(NONE))
    s = put(s, "meter_change_encumbrance", key, tx.encumbrance)
    return checks.done(advance_nonce(s, tx.sender))


def touched(s: Ledger, tx: Tx) -> Points:
    return Points(
        accounts=[tx.sender, tx.owner, tx.attestor],
        nodes=[tx.node, get(s.node_zone, tx.node)],
        meters=[tx.meter],
    )
