"""The ``schema`` vectors: every wire object's fields and types."""

from __future__ import annotations

from typing import Any

from conformance_tests.adapter import Step
from conformance_tests.scenario import key_of, seed_of
from conformance_tests.suite import (
    Suite,
    envelope_entries,
    market,
    must,
    raw_map,
    tx,
)
from spec.transactions import (
    Kind,
)
from spec.units import (
    MONEY_MAX_MSEN,
    PRICE_MAX_SEN_PER_KWH,
    WH_MAX,
    Slot,
)


def group_schemas(suite: Suite) -> None:
    """ENC-12 .. ENC-15 field by field for every kind, and TX-01/TX-05 for every kind.

    Each mutated body is signed as sent, so the schema is the only thing wrong with it; the twin
    of every vector of a kind is that kind's valid transaction.
    """
    o = market()
    s = o.slot - 1
    must(o.ask("alice", 103, s, 1000, 2000))
    must(o.bid("bob", 1, s, 1000, 2500))
    chain = o.state.params.chain_id
    alice, bob = key_of("alice"), key_of("bob")
    reading = {0: 103, 1: s - 1, 2: 10, 3: 5, 4: 0}
    valid: dict[Kind, tuple[str, dict[int, Any]]] = {
        Kind.REGISTER_ACCOUNT: ("operator", {0: key_of("ivan"), 1: 8}),
        Kind.REGISTER_NODE: ("operator", {0: 7, 1: 2, 2: 2, 3: 0}),
        Kind.REGISTER_METER: (
            "operator",
            {0: 200, 1: alice, 2: key_of("attestor"), 3: 3, 4: 0, 5: 1000},
        ),
        Kind.ATTEST: ("attestor", {0: [reading]}),
        Kind.PLACE_ASK: ("alice", {0: 103, 1: s, 2: 100, 3: 2000}),
        Kind.PLACE_BID: ("bob", {0: 1, 1: s, 2: 100, 3: 2500}),
        Kind.CANCEL: ("alice", {0: 1}),
        Kind.DEPOSIT: ("operator", {0: alice, 1: 100}),
        Kind.WITHDRAW: ("alice", {0: 100}),
        Kind.TRANSFER: ("alice", {0: bob, 1: 100}),
    }
    # One past the bound of each field (None: the bound is the CBOR integer range itself).
    over: dict[Kind, dict[int, Any]] = {
        Kind.REGISTER_ACCOUNT: {0: bytes(33), 1: None},
        Kind.REGISTER_NODE: {0: 2**32, 1: 3, 2: 2**32, 3: PRICE_MAX_SEN_PER_KWH + 1},
        Kind.REGISTER_METER: {0: 2**32, 1: bytes(31), 2: bytes(33), 3: 2**32, 4: 4, 5: WH_MAX + 1},
        Kind.ATTEST: {0: None},
        Kind.PLACE_ASK: {0: 2**32, 1: Slot.MAX + 1, 2: WH_MAX + 1, 3: PRICE_MAX_SEN_PER_KWH + 1},
        Kind.PLACE_BID: {0: 2**32, 1: Slot.MAX + 1, 2: WH_MAX + 1, 3: PRICE_MAX_SEN_PER_KWH + 1},
        Kind.CANCEL: {0: 0},
        Kind.DEPOSIT: {0: bytes(0), 1: MONEY_MAX_MSEN + 1},
        Kind.WITHDRAW: {0: MONEY_MAX_MSEN + 1},
        Kind.TRANSFER: {0: bytes(64), 1: MONEY_MAX_MSEN + 1},
    }
    for kind, (sender, body) in valid.items():
        name = kind.name.lower()
        nonce = o.nonces.get(sender, 0)
        seed = seed_of(sender)
        twin = f"schema/{name}/valid"
        suite.add(
            twin,
            f"A valid {kind.name}.",
            o.state,
            [tx(o.make(sender, kind, body))],
            expect=[None],
            flags=["valid"],
        )

        def signed(
            any_body: Any, seed: bytes = seed, nonce: int = nonce, kind: Kind = kind
        ) -> Step:
            return tx(raw_map(envelope_entries(seed, chain, int(kind), nonce, any_body)))

        def bad(
            case: str,
            step: Step,
            rule_id: str,
            description: str,
            twin: str = twin,
            name: str = name,
        ) -> None:
            suite.negative(
                f"schema/{name}/{case}",
                description,
                o.state,
                step,
                None,
                rule_id,
                twin_id=twin,
                flags=["encoding", "schema"],
            )

        for key in sorted(body):
            missing = {k: x for k, x in body.items() if k != key}
            bad(f"missing-{key}", signed(missing), "ENC-13", f"{kind.name} body without key {key}.")
            typed = {**body, key: "x"}
            bad(f"text-in-{key}", signed(typed), "ENC-14", f"{kind.name} key {key} is text.")
            if over[kind][key] is not None:
                bounded = {**body, key: over[kind][key]}
                bad(
                    f"bound-{key}",
                    signed(bounded),
                    "ENC-15",
                    f"{kind.name} key {key} one past its bound ({over[kind][key]!r:.40}).",
                )
        extra = {**body, max(body) + 1: 0}
        bad("extra-key", signed(extra), "ENC-12", f"{kind.name} body with key {max(body) + 1}.")
        bad(
            "other-chain",
            tx(raw_map(envelope_entries(seed, "kwhledger-x", int(kind), nonce, body))),
            "TX-01",
            f"A {kind.name} for another chain.",
        )
        bad(
            "nonce-ahead",
            tx(o.make(sender, kind, body, nonce=nonce + 1)),
            "TX-05",
            f"A {kind.name} with the next nonce but one.",
        )
    # The reading's own fields, inside an ATTEST batch.
    reading_over = {0: 2**32, 1: Slot.MAX + 1, 2: WH_MAX + 1, 3: WH_MAX + 1, 4: 4}
    attestor_nonce = o.nonces.get("attestor", 0)
    for key in sorted(reading):
        variants = (
            ("missing", {k: x for k, x in reading.items() if k != key}, "ENC-13"),
            ("text-in", {**reading, key: "x"}, "ENC-14"),
            ("bound", {**reading, key: reading_over[key]}, "ENC-15"),
        )
        for case, changed, rule_id in variants:
            data = raw_map(
                envelope_entries(
                    seed_of("attestor"), chain, int(Kind.ATTEST), attestor_nonce, {0: [changed]}
                )
            )
            suite.negative(
                f"schema/reading/{case}-{key}",
                f"A reading: {case} key {key}.",
                o.state,
                tx(data),
                None,
                rule_id,
                twin_id="schema/attest/valid",
                flags=["encoding", "schema"],
            )
    data = raw_map(
        envelope_entries(
            seed_of("attestor"), chain, int(Kind.ATTEST), attestor_nonce, {0: [{**reading, 5: 0}]}
        )
    )
    suite.negative(
        "schema/reading/extra-key",
        "A reading with key 5.",
        o.state,
        tx(data),
        None,
        "ENC-12",
        twin_id="schema/attest/valid",
        flags=["encoding", "schema"],
    )
    suite.negative(
        "schema/reading/not-a-map",
        "A reading that is an array.",
        o.state,
        tx(
            raw_map(
                envelope_entries(
                    seed_of("attestor"), chain, int(Kind.ATTEST), attestor_nonce, {0: [[103]]}
                )
            )
        ),
        None,
        "ENC-14",
        twin_id="schema/attest/valid",
        flags=["encoding", "schema"],
    )
