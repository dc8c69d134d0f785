"""Registering accounts, grid nodes and meters (ACC, GRD, MTR rules; INV-14 zones)."""

from __future__ import annotations

import pytest
from _rules_plugin import rules
from strategies import accept_tx, row, send, village

from conformance_tests.scenario import Ledger, key_of
from spec.state import Encumbrance, NodeKind, Role, Source
from spec.transactions import Kind

pytest_plugins = ("_rules_plugin",)

SMALL_ORDER_KEY = bytes([1]) + bytes(31)
"""The neutral point of Ed25519, a well-formed 32-byte string but a small-order key."""


def register(name_or_key: str | bytes, roles: int) -> dict[int, object]:
    key = key_of(name_or_key) if isinstance(name_or_key, str) else name_or_key
    return {0: key, 1: roles}


@rules("ACC-01")
def test_account_cannot_be_registered_twice() -> None:
    send(village(), "operator", Kind.REGISTER_ACCOUNT, register("alice", Role.TRADER), "ACC-01")


@rules("ACC-02")
@pytest.mark.parametrize(
    "key",
    [
        SMALL_ORDER_KEY,
        bytes(32),  # y = 0: a point of order 4
        b"\xff" * 32,  # not a canonical field element
    ],
)
def test_account_id_must_be_a_large_order_point(key: bytes) -> None:
    send(village(), "operator", Kind.REGISTER_ACCOUNT, register(key, Role.TRADER), "ACC-02")


@rules("ACC-03")
@pytest.mark.parametrize("roles", [0, 16, 17, 2**64 - 1])
def test_roles_must_be_a_non_empty_known_set(roles: int) -> None:
    send(village(), "operator", Kind.REGISTER_ACCOUNT, register("gina", roles), "ACC-03")


@rules("ACC-01", "ACC-02", "ACC-03")
@pytest.mark.parametrize("roles", [1, 8, 3, 2])
def test_new_account_starts_with_nothing(roles: int) -> None:
    ledger = village()
    tx = ledger.make("operator", Kind.REGISTER_ACCOUNT, register("gina", roles))
    after = accept_tx(ledger.state, tx)
    # roles, nonce, balance, key: a new account signs with its id (KEY-05)
    assert row(after.accounts, key_of("gina")) == (roles, 0, 0, key_of("gina"))


def node(node_id: int, kind: NodeKind, parent: int | None, fee: int = 0) -> dict[int, object]:
    return {0: node_id, 1: int(kind), 2: parent, 3: fee}


@rules("GRD-01")
def test_node_id_cannot_be_reused() -> None:
    body = node(3, NodeKind.SERVICE_POINT, 2)
    send(village(), "operator", Kind.REGISTER_NODE, body, "GRD-01")


@rules("GRD-02")
def test_parent_must_be_registered() -> None:
    send(village(), "operator", Kind.REGISTER_NODE, node(50, NodeKind.TRANSFORMER, 99), "GRD-02")


@rules("GRD-03")
@pytest.mark.parametrize(
    "body",
    [
        node(1, NodeKind.SUBSTATION, 7),  # the root has no parent
        node(1, NodeKind.TRANSFORMER, None),  # the root is a substation
        node(1, NodeKind.SERVICE_POINT, None),
    ],
)
def test_first_node_is_a_root_substation(body: dict[int, object]) -> None:
    send(Ledger.new(), "operator", Kind.REGISTER_NODE, body, "GRD-03")


@rules("GRD-03")
def test_only_the_first_node_is_parentless() -> None:
    send(village(), "operator", Kind.REGISTER_NODE, node(50, NodeKind.SUBSTATION, None), "GRD-03")


@rules("GRD-04")
@pytest.mark.parametrize("kind", [NodeKind.TRANSFORMER, NodeKind.SERVICE_POINT])
def test_wheeling_fee_only_on_substations(kind: NodeKind) -> None:
    send(village(), "operator", Kind.REGISTER_NODE, node(50, kind, 1, fee=1), "GRD-04")


@rules("GRD-05")
def test_service_point_has_no_children() -> None:
    send(village(), "operator", Kind.REGISTER_NODE, node(50, NodeKind.SERVICE_POINT, 3), "GRD-05")


@rules("GRD-01", "GRD-02", "GRD-03", "GRD-04", "INV-14")
def test_zone_is_the_nearest_substation() -> None:
    ledger = village()
    state = ledger.state
    for body, zone in [
        (node(20, NodeKind.SUBSTATION, 2, fee=1_000_000), 20),  # a new zone below a transformer
        (node(21, NodeKind.TRANSFORMER, 20), 20),
        (node(22, NodeKind.SERVICE_POINT, 21), 20),
        (node(23, NodeKind.SERVICE_POINT, 2), 1),  # still in zone 1
    ]:
        state = accept_tx(state, ledger.make("operator", Kind.REGISTER_NODE, body))
        ledger.nonces["operator"] += 1
        # kind, parent, wheeling fee, zone
        assert row(state.nodes, body[0]) == (body[1], body[2], body[3], zone)


@rules("GRD-03")
def test_first_node_of_an_empty_grid() -> None:
    ledger = Ledger.new()
    tx = ledger.make("operator", Kind.REGISTER_NODE, node(7, NodeKind.SUBSTATION, None, 5))
    after = accept_tx(ledger.state, tx)
    assert row(after.nodes, 7) == (NodeKind.SUBSTATION, None, 5, 7)


def meter(
    meter_id: int = 150,
    owner: str = "alice",
    attestor: str = "attestor",
    at: int = 3,
    capacity_wh: int = 1,
) -> dict[int, object]:
    body = {0: meter_id, 1: key_of(owner), 2: key_of(attestor), 3: at, 4: 1, 5: capacity_wh}
    body[6] = 0
    return body


@rules("MTR-01")
def test_meter_id_cannot_be_reused() -> None:
    send(village(), "operator", Kind.REGISTER_METER, meter(meter_id=103), "MTR-01")


@rules("MTR-02")
@pytest.mark.parametrize("owner", ["attestor", "mallory"])  # no trader role / not registered
def test_owner_must_be_a_trader(owner: str) -> None:
    send(village(), "operator", Kind.REGISTER_METER, meter(owner=owner), "MTR-02")


@rules("MTR-03")
@pytest.mark.parametrize("attestor", ["alice", "mallory"])
def test_attestor_must_hold_the_attestor_role(attestor: str) -> None:
    send(village(), "operator", Kind.REGISTER_METER, meter(attestor=attestor), "MTR-03")


@rules("MTR-04")
@pytest.mark.parametrize("at", [1, 2, 99])  # substation, transformer, unknown
def test_meter_sits_at_a_service_point(at: int) -> None:
    send(village(), "operator", Kind.REGISTER_METER, meter(at=at), "MTR-04")


@rules("MTR-05")
def test_capacity_at_least_one_wh() -> None:
    ledger = village()
    send(ledger, "operator", Kind.REGISTER_METER, meter(capacity_wh=0), "MTR-05")
    after = accept_tx(ledger.state, ledger.make("operator", Kind.REGISTER_METER, meter()))
    # owner, attestor, node, zone, source, capacity, encumbrance, first slot, retired from,
    # scheduled encumbrance change
    alice, attestor = key_of("alice"), key_of("attestor")
    fields = (alice, attestor, 3, 1, Source.WIND, 1, Encumbrance.NONE, 0, None, None)
    assert row(after.meters, 150) == fields


@rules("MTR-06")
def test_one_meter_per_service_point_and_source() -> None:
    ledger = village()
    solar = {**meter(), 4: int(Source.SOLAR)}  # meter 103 measures solar at node 3
    send(ledger, "operator", Kind.REGISTER_METER, solar, "MTR-06")
    wind = accept_tx(ledger.state, ledger.make("operator", Kind.REGISTER_METER, meter()))
    assert wind.meters[150].source is Source.WIND
    ledger.must("operator", Kind.REGISTER_NODE, node(7, NodeKind.SERVICE_POINT, 2))
    elsewhere = ledger.make("operator", Kind.REGISTER_METER, {**solar, 3: 7})
    assert accept_tx(ledger.state, elsewhere).meters[150].node == 7
