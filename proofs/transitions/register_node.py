"""spec.grid.register_node (GRD-01 .. GRD-05), sent by the operator (TX-06)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import z3

from proofs.model import (
    NONE,
    SERVICE_POINT,
    SUBSTATION,
    Ledger,
    Term,
    Transition,
    account_id,
    advance_nonce,
    get,
    ident,
    price,
    put,
    signed,
)
from proofs.transitions._common import Points, symbolic_fields

KIND = "register_node"


@dataclass(frozen=True)
class Tx:
    sender: Term
    nonce: Term
    node: Term
    kind: Term
    parent: Term
    """NONE for no parent."""
    wheeling_fee: Term


def symbolic(prefix: str) -> Tx:
    return symbolic_fields(Tx, prefix)


def domain(tx: Tx) -> Term:
    return z3.And(
        account_id(tx.sender),
        ident(tx.node),
        tx.kind >= 0,
        tx.kind <= SERVICE_POINT,
        z3.Or(tx.parent == NONE, ident(tx.parent)),
        price(tx.wheeling_fee),
    )


def zone_of(s: Ledger, tx: Tx) -> Term:
    """A substation (or the root) is its own zone; any other node is in its parent's zone."""
    is_zone = z3.Or(tx.parent == NONE, tx.kind == SUBSTATION)
    return z3.If(is_zone, tx.node, get(s.node_zone, tx.parent))


def step(s: Ledger, tx: Tx) -> Transition:
    checks = signed(s, tx.sender, tx.nonce, "operator")
    checks.require(z3.Not(get(s.node_registered, tx.node)), "GRD-01")
    checks.require(
        z3.If(
            s.node_count == 0,
            z3.And(tx.parent == NONE, tx.kind == SUBSTATION),  # the root
            tx.parent != NONE,  # only the first node has no parent
        ),
        "GRD-03",
    )
    checks.require(z3.Or(tx.kind == SUBSTATION, tx.wheeling_fee == 0), "GRD-04")
    has_parent = tx.parent != NONE
    checks.require(z3.Implies(has_parent, get(s.node_registered, tx.parent)), "GRD-02")
    checks.require(z3.Implies(has_parent, get(s.node_kind, tx.parent) != SERVICE_POINT), "GRD-05")
    zone = zone_of(s, tx)
    key = (tx.node,)
    s = put(s, "node_registered", key, z3.BoolVal(True))
    s = put(s, "node_kind", key, tx.kind)
    s = put(s, "node_parent", key, tx.parent)
    s = put(s, "node_fee", key, tx.wheeling_fee)
    s = put(s, "node_zone", key, zone)
    s = put(s, "node_rank", key, s.node_count)  # ghost
    s = replace(s, node_count=s.node_count + 1)
    return checks.done(advance_nonce(s, tx.sender))


def touched(s: Ledger, tx: Tx) -> Points:
    return Points(accounts=[tx.sender], nodes=[tx.node, tx.parent, get(s.node_zone, tx.parent)])
