"""Registering meters (MTR-01 .. MTR-05): who owns it, who attests it, where it is."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from spec import wire
from spec.crypto import PUBLIC_KEY_BYTES
from spec.errors import require
from spec.state import AccountId, Meter, NodeKind, Role, Source, State
from spec.units import MeterId, NodeId, Wh


@dataclass(frozen=True)
class RegisterMeter:
    """Body of a REGISTER_METER transaction."""

    meter: MeterId
    owner: AccountId
    attestor: AccountId
    node: NodeId
    source: Source
    capacity_wh: Wh


REGISTER_METER_FIELDS: Final = (
    wire.Field(0, "meter", wire.uint(MeterId)),
    wire.Field(1, "owner", wire.fixed_bytes(PUBLIC_KEY_BYTES)),
    wire.Field(2, "attestor", wire.fixed_bytes(PUBLIC_KEY_BYTES)),
    wire.Field(3, "node", wire.uint(NodeId)),
    wire.Field(4, "source", wire.enum(Source)),
    wire.Field(5, "capacity_wh", wire.uint(Wh)),
)


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
    assert node is not None
    meter = Meter(body.owner, body.attestor, body.node, node.zone, body.source, body.capacity_wh)
    return replace(state, meters=state.meters.set(body.meter, meter))
