"""Registering meters (MTR-01 .. MTR-06, MTR-14): who owns it, who attests it, where it is, what
source it measures and whether its export is encumbered (a property of the meter, not of a
reading)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Final

from spec import wire
from spec.crypto import PUBLIC_KEY_BYTES
from spec.errors import require
from spec.rules import implements
from spec.state import AccountId, Encumbrance, Meter, NodeKind, Role, Source, State
from spec.units import MeterId, NodeId, Slot, Wh


@dataclass(frozen=True)
class RegisterMeter:
    """Body of a REGISTER_METER transaction."""

    meter: MeterId
    owner: AccountId
    attestor: AccountId
    node: NodeId
    source: Source
    capacity_wh: Wh
    encumbrance: Encumbrance


REGISTER_METER_FIELDS: Final = (
    wire.Field(0, "meter", wire.uint(MeterId)),
    wire.Field(1, "owner", wire.fixed_bytes(PUBLIC_KEY_BYTES)),
    wire.Field(2, "attestor", wire.fixed_bytes(PUBLIC_KEY_BYTES)),
    wire.Field(3, "node", wire.uint(NodeId)),
    wire.Field(4, "source", wire.enum(Source)),
    wire.Field(5, "capacity_wh", wire.uint(Wh)),
    wire.Field(6, "encumbrance", wire.enum(Encumbrance)),
)


@implements("MTR-14")
def first_slot(retired_twins: Iterable[Meter]) -> Slot:
    """MTR-14: a meter replacing retired meters of its source at its service point is attested
    only from the last of their retirement slots on, so no slot is measured by two of them."""
    return Slot(max((r.retired_from or 0 for r in retired_twins), default=0))


def register_meter(state: State, sender: AccountId, body: RegisterMeter) -> State:
    """Add a meter at a service point; its zone is the service point's zone."""
    require(body.meter not in state.meters, "MTR-01")
    owner = state.accounts.get(body.owner)
    require(owner is not None and owner.roles & Role.TRADER != 0, "MTR-02")
    attestor = state.accounts.get(body.attestor)
    require(attestor is not None and attestor.roles & Role.ATTESTOR != 0, "MTR-03")
    node = state.nodes.get(body.node)
    require(node is not None and node.kind is NodeKind.SERVICE_POINT, "MTR-04")
    require(body.capacity_wh >= 1, "MTR-05")
    twins = sorted(
        (m, r) for m, r in state.meters.items() if r.node == body.node and r.source is body.source
    )
    active = next((m for m, r in twins if r.retired_from is None), None)
    require(active is None, "MTR-06", f"meter {active} measures {body.source.name} there")
    assert node is not None
    meter = Meter(
        body.owner,
        body.attestor,
        body.node,
        node.zone,
        body.source,
        body.capacity_wh,
        body.encumbrance,
        first_slot=first_slot(r for _, r in twins),
    )
    return replace(state, meters=state.meters.set(body.meter, meter))
