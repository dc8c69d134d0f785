"""The ``account``, ``grid`` and ``meter`` vectors: registering accounts, grid nodes, meters."""

from __future__ import annotations

from typing import Any

from conformance_tests.adapter import Step
from conformance_tests.scenario import Ledger, key_of
from conformance_tests.suite import (
    Suite,
    tx,
    village,
)
from spec.state import (
    Role,
    Source,
)
from spec.transactions import (
    Kind,
)
from spec.units import (
    PRICE_MAX_SEN_PER_KWH,
    WH_MAX,
)


def group_accounts_grid_meters(suite: Suite) -> None:
    """ACC-01, ACC-03, GRD-01 .. GRD-05, MTR-01 .. MTR-05."""
    v = village()

    def op(body_kind: Kind, body: Any) -> Step:
        return tx(v.make("operator", body_kind, body))

    ivan = key_of("ivan")
    suite.negative(
        "account/ACC-01/registered-twice",
        "Alice is registered again.",
        v.state,
        op(Kind.REGISTER_ACCOUNT, {0: key_of("alice"), 1: int(Role.TRADER)}),
        op(Kind.REGISTER_ACCOUNT, {0: ivan, 1: int(Role.TRADER)}),
        "ACC-01",
    )
    for roles, twin_roles in ((0, 1), (16, 8), (31, 15), (2**64 - 1, 15)):
        suite.negative(
            f"account/ACC-03/roles-{roles}",
            f"Roles {roles}: empty or with a bit outside the four roles; {twin_roles} is fine.",
            v.state,
            op(Kind.REGISTER_ACCOUNT, {0: ivan, 1: roles}),
            op(Kind.REGISTER_ACCOUNT, {0: ivan, 1: twin_roles}),
            "ACC-03",
            flags=["boundary"],
        )
    suite.negative(
        "grid/GRD-01/node-twice",
        "Node 3 is registered again.",
        v.state,
        op(Kind.REGISTER_NODE, {0: 3, 1: 2, 2: 2, 3: 0}),
        op(Kind.REGISTER_NODE, {0: 7, 1: 2, 2: 2, 3: 0}),
        "GRD-01",
    )
    suite.negative(
        "grid/GRD-02/unknown-parent",
        "A service point below node 99, which does not exist.",
        v.state,
        op(Kind.REGISTER_NODE, {0: 7, 1: 2, 2: 99, 3: 0}),
        op(Kind.REGISTER_NODE, {0: 7, 1: 2, 2: 2, 3: 0}),
        "GRD-02",
    )
    empty = Ledger.new()
    first = {0: 1, 1: 0, 2: None, 3: 100}
    for name, body in (
        ("root-with-parent", {0: 1, 1: 0, 2: 5, 3: 100}),
        ("root-is-transformer", {0: 1, 1: 1, 2: None, 3: 0}),
        ("root-is-service-point", {0: 1, 1: 2, 2: None, 3: 0}),
    ):
        suite.negative(
            f"grid/GRD-03/{name}",
            "The first node must be a substation without parent.",
            empty.state,
            tx(empty.make("operator", Kind.REGISTER_NODE, body)),
            tx(empty.make("operator", Kind.REGISTER_NODE, first)),
            "GRD-03",
        )
    suite.negative(
        "grid/GRD-03/second-root",
        "A second substation without parent.",
        v.state,
        op(Kind.REGISTER_NODE, {0: 20, 1: 0, 2: None, 3: 10}),
        op(Kind.REGISTER_NODE, {0: 20, 1: 0, 2: 1, 3: 10}),
        "GRD-03",
    )
    for kind in (1, 2):
        suite.negative(
            f"grid/GRD-04/fee-on-kind-{kind}",
            "A wheeling fee of 1 on a node that is not a substation.",
            v.state,
            op(Kind.REGISTER_NODE, {0: 7, 1: kind, 2: 2, 3: 1}),
            op(Kind.REGISTER_NODE, {0: 7, 1: kind, 2: 2, 3: 0}),
            "GRD-04",
            flags=["boundary"],
        )
    suite.add(
        "grid/GRD-04/max-fee-substation",
        "A substation may carry the largest fee, PRICE_MAX_SEN_PER_KWH.",
        v.state,
        [op(Kind.REGISTER_NODE, {0: 20, 1: 0, 2: 1, 3: PRICE_MAX_SEN_PER_KWH})],
        expect=[None],
        flags=["boundary", "valid"],
    )
    for kind in (1, 2):
        suite.negative(
            f"grid/GRD-05/below-service-point-kind-{kind}",
            "A node below service point 3.",
            v.state,
            op(Kind.REGISTER_NODE, {0: 7, 1: kind, 2: 3, 3: 0}),
            op(Kind.REGISTER_NODE, {0: 7, 1: kind, 2: 2, 3: 0}),
            "GRD-05",
        )
    suite.add(
        "grid/substation-below-transformer",
        "A substation below a transformer starts its own zone.",
        v.state,
        [op(Kind.REGISTER_NODE, {0: 20, 1: 0, 2: 2, 3: 7})],
        expect=[None],
        flags=["valid"],
    )

    def meter(**changes: Any) -> Step:
        body = {0: 200, 1: key_of("alice"), 2: key_of("attestor"), 3: 3, 4: 0, 5: 1000}
        names = {"meter": 0, "owner": 1, "attestor": 2, "node": 3, "source": 4, "capacity": 5}
        for name, value in changes.items():
            body[names[name]] = value
        return op(Kind.REGISTER_METER, body)

    suite.add(
        "meter/valid/second-meter",
        "A second meter at alice's service point.",
        v.state,
        [meter()],
        expect=[None],
        flags=["valid"],
    )
    cases: list[tuple[str, str, dict[str, Any], str]] = [
        ("MTR-01", "meter-twice", {"meter": 103}, "Meter 103 exists."),
        ("MTR-02", "owner-not-trader", {"owner": key_of("operator")}, "The owner is no trader."),
        ("MTR-02", "owner-unknown", {"owner": key_of("mallory")}, "The owner is not registered."),
        ("MTR-03", "attestor-not-attestor", {"attestor": key_of("bob")}, "Bob is no attestor."),
        ("MTR-03", "attestor-unknown", {"attestor": key_of("mallory")}, "Unregistered."),
        ("MTR-04", "at-transformer", {"node": 2}, "Node 2 is a transformer."),
        ("MTR-04", "at-substation", {"node": 1}, "Node 1 is a substation."),
        ("MTR-04", "unknown-node", {"node": 99}, "Node 99 does not exist."),
        ("MTR-05", "zero-capacity", {"capacity": 0}, "Capacity 0 Wh; 1 Wh is the least."),
    ]
    for rule_id, name, changes, description in cases:
        suite.negative(
            f"meter/{rule_id}/{name}",
            description,
            v.state,
            meter(**changes),
            None,
            rule_id,
            twin_id="meter/valid/second-meter",
            flags=["boundary"] if rule_id == "MTR-05" else [],
        )
    suite.add(
        "meter/valid/min-capacity",
        "Capacity 1 Wh, the least allowed.",
        v.state,
        [meter(capacity=1)],
        expect=[None],
        flags=["boundary", "valid"],
    )
    suite.add(
        "meter/valid/max-capacity",
        "Capacity WH_MAX.",
        v.state,
        [meter(capacity=WH_MAX, source=int(Source.BIOMASS))],
        expect=[None],
        flags=["boundary", "valid"],
    )
