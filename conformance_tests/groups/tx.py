"""The ``tx`` vectors: TX-01 .. TX-06 and the signature edge cases of SIG-01."""

from __future__ import annotations

from typing import Any

from conformance_tests import edwards
from conformance_tests.scenario import Ledger, key_of, seed_of
from conformance_tests.suite import (
    Suite,
    craft_account,
    envelope_entries,
    market,
    must,
    raw_map,
    signed_with_any_kind,
    tx,
    village,
)
from spec.cbor import decode, encode
from spec.crypto import sign
from spec.state import (
    Role,
)
from spec.transactions import (
    MAX_TX_BYTES,
    Kind,
    make_transaction,
    signing_bytes,
)
from spec.units import (
    COUNTER_MAX,
)


def group_transactions(suite: Suite) -> None:
    """TX-01 .. TX-06 and the signature edge cases of SIG-01."""
    v = village()
    chain = v.state.params.chain_id
    body = {0: key_of("alice"), 1: 5_000}
    good = v.make("operator", Kind.DEPOSIT, body)
    nonce = v.nonces["operator"]
    suite.add(
        "tx/valid/deposit",
        "An operator's deposit, the base of the envelope vectors.",
        v.state,
        [tx(good)],
        expect=[None],
        flags=["valid"],
    )
    op = seed_of("operator")
    wrong_chain = raw_map(envelope_entries(op, "kwhledger-other", 8, nonce, body))
    suite.negative(
        "tx/TX-01/other-chain",
        "A deposit signed for another chain id.",
        v.state,
        tx(wrong_chain),
        None,
        "TX-01",
        twin_id="tx/valid/deposit",
        flags=["replay"],
    )
    for kind in (0, 17, 2**64 - 1):
        suite.negative(
            f"tx/TX-02/kind-{kind}",
            f"Kind {kind} is not defined; the body is a valid deposit body.",
            v.state,
            tx(signed_with_any_kind(op, chain, kind, nonce, body)),
            None,
            "TX-02",
            twin_id="tx/valid/deposit",
            flags=["boundary"] if kind else [],
        )
    mallory = seed_of("mallory")
    unregistered = raw_map(envelope_entries(mallory, chain, 10, 0, body))
    suite.negative(
        "tx/TX-03/unregistered-sender",
        "A well-signed transfer from a key that is not registered.",
        v.state,
        tx(unregistered),
        tx(v.make("alice", Kind.TRANSFER, body)),
        "TX-03",
    )
    _signature_vectors(suite, v)
    # TX-05: nonces.
    for delta, name in ((1, "future"), (-1, "replayed")):
        suite.negative(
            f"tx/TX-05/{name}-nonce",
            f"A deposit whose nonce is the expected one {delta:+d}.",
            v.state,
            tx(v.make("operator", Kind.DEPOSIT, body, nonce=nonce + delta)),
            None,
            "TX-05",
            twin_id="tx/valid/deposit",
            flags=["replay"],
        )
    exhausted = craft_account(v.state, key_of("alice"), Role.TRADER, COUNTER_MAX, 10_000)
    last = craft_account(v.state, key_of("alice"), Role.TRADER, COUNTER_MAX - 1, 10_000)
    suite.negative(
        "tx/TX-05/nonce-at-counter-max",
        "An account whose nonce reached COUNTER_MAX can send nothing more.",
        exhausted,
        tx(v.make("alice", Kind.WITHDRAW, {0: 1}, nonce=COUNTER_MAX)),
        tx(v.make("alice", Kind.WITHDRAW, {0: 1}, nonce=COUNTER_MAX - 1)),
        "TX-05",
        twin_pre=last,
        crafted=True,
        flags=["boundary"],
    )
    # TX-06: each role-requiring kind sent by an account without the role.
    s = v.slot - 1
    wrong_role: list[tuple[Kind, str, str, Any]] = [
        (Kind.REGISTER_ACCOUNT, "alice", "operator", {0: key_of("ivan"), 1: int(Role.TRADER)}),
        (Kind.REGISTER_NODE, "alice", "operator", {0: 7, 1: 2, 2: 2, 3: 0}),
        (
            Kind.REGISTER_METER,
            "alice",
            "operator",
            {0: 200, 1: key_of("alice"), 2: key_of("attestor"), 3: 3, 4: 1, 5: 1000, 6: 0},
        ),
        (Kind.ATTEST, "operator", "attestor", {0: [{0: 103, 1: s, 2: 10, 3: 0, 4: 0}]}),
        (Kind.DEPOSIT, "alice", "operator", body),
    ]
    for kind, wrong, right, kind_body in wrong_role:
        suite.negative(
            f"tx/TX-06/{kind.name.lower()}-by-{wrong}",
            f"{kind.name} needs a role {wrong} does not hold; {right} may send it.",
            v.state,
            tx(v.make(wrong, kind, kind_body)),
            tx(v.make(right, kind, kind_body)),
            "TX-06",
            flags=["authorization"],
        )
    m = market()
    suite.negative(
        "tx/TX-06/place_bid-by-operator",
        "PLACE_BID needs a role operator does not hold; bob (with import to back it) may send it.",
        m.state,
        tx(m.make("operator", Kind.PLACE_BID, {0: 1, 1: s, 2: 10, 3: 1000})),
        tx(m.make("bob", Kind.PLACE_BID, {0: 1, 1: s, 2: 10, 3: 1000})),
        "TX-06",
        flags=["authorization"],
    )
    must(m.ask("alice", 103, s, 1000, 2000))
    suite.negative(
        "tx/TX-06/cancel-by-attestor",
        "CANCEL needs the trader role; the attestor holds only its own role.",
        m.state,
        tx(m.make("attestor", Kind.CANCEL, {0: 1})),
        tx(m.make("alice", Kind.CANCEL, {0: 1})),
        "TX-06",
        flags=["authorization"],
    )
    suite.negative(
        "tx/TX-06/place_ask-by-attestor",
        "PLACE_ASK needs the trader role.",
        m.state,
        tx(m.make("attestor", Kind.PLACE_ASK, {0: 103, 1: s, 2: 100, 3: 2000})),
        tx(m.make("alice", Kind.PLACE_ASK, {0: 103, 1: s, 2: 100, 3: 2000})),
        "TX-06",
        flags=["authorization"],
    )


def _decode_pairs(entries: list[tuple[bytes, bytes]]) -> list[Any]:
    return [decode(value, max_size=MAX_TX_BYTES) for _, value in entries]


def _signature_vectors(suite: Suite, v: Ledger) -> None:
    """TX-04 and SIG-01: wrong signers, domain separation, and the Ed25519 edge cases."""
    chain = v.state.params.chain_id
    body = {0: key_of("bob"), 1: 1}
    good_bytes = v.make("alice", Kind.TRANSFER, body)
    suite.add(
        "tx/valid/transfer",
        "Alice transfers 1 milli-sen to bob: the base of the signature vectors.",
        v.state,
        [tx(good_bytes)],
        expect=[None],
        flags=["valid"],
    )
    entries = envelope_entries(seed_of("alice"), chain, int(Kind.TRANSFER), 0, body)
    signature = _decode_pairs(entries)[5]

    def with_signature(sig: bytes, sender: bytes | None = None) -> bytes:
        values = _decode_pairs(entries)
        values[5] = sig
        if sender is not None:
            values[2] = sender
        return encode(dict(enumerate(values)))

    flipped = bytearray(signature)
    flipped[40] ^= 0x01
    s_value = int.from_bytes(signature[32:], "little")
    cases: list[tuple[str, str, bytes, list[str]]] = [
        ("flipped-bit-in-s", "One bit of S flipped.", with_signature(bytes(flipped)), []),
        (
            "flipped-bit-in-r",
            "One bit of R flipped.",
            with_signature(bytes([signature[0] ^ 0x80]) + signature[1:]),
            [],
        ),
        (
            "signed-by-bob",
            "Bob signs a transaction naming alice as its sender.",
            make_signed(seed_of("bob"), chain, Kind.TRANSFER, 0, body, key_of("alice")),
            ["authorization"],
        ),
        (
            "signed-as-withdraw",
            "The signature was made under WITHDRAW's domain tag: kinds are domain-separated.",
            with_signature(
                sign(
                    seed_of("alice"),
                    signing_bytes(chain, Kind.WITHDRAW, key_of("alice"), 0, body),
                )
            ),
            ["domain-separation"],
        ),
        (
            "signed-for-other-chain",
            "The signature covers another chain id.",
            with_signature(
                sign(
                    seed_of("alice"),
                    signing_bytes("kwhledger-other", Kind.TRANSFER, key_of("alice"), 0, body),
                )
            ),
            ["domain-separation", "replay"],
        ),
        (
            "s-plus-l",
            "S replaced by S + L: the same signature modulo L, non-canonical (S >= L). "
            "Libraries that reduce S accept it; SIG-01 does not.",
            with_signature(signature[:32] + (s_value + edwards.L).to_bytes(32, "little")),
            ["ed25519", "non-canonical-s", "malleability"],
        ),
        (
            "s-equal-l",
            "S = L exactly, the smallest non-canonical S.",
            with_signature(signature[:32] + edwards.L.to_bytes(32, "little")),
            ["ed25519", "non-canonical-s", "boundary"],
        ),
        (
            "all-zero",
            "A signature of 64 zero bytes (R = y 0, a small-order point; S = 0).",
            with_signature(bytes(64)),
            ["ed25519", "small-order-r"],
        ),
    ]
    for name, description, data, flags in cases:
        suite.negative(
            f"tx/TX-04/{name}",
            description,
            v.state,
            tx(data),
            None,
            "TX-04",
            twin_id="tx/valid/transfer",
            flags=["signature", *flags],
        )
    # Small-order and non-canonical keys can only be senders in a crafted pre-state (ACC-02
    # refuses to register them); with R = identity and S = 0 the cofactorless equation holds
    # for every message, so a library that skips the small-order checks accepts the forgery.
    forged = edwards.IDENTITY_KEY + edwards.ZERO_S
    weird_keys = [
        ("identity-key", edwards.IDENTITY_KEY, "the identity point (order 1)"),
        ("identity-key-y-p-plus-1", edwards.IDENTITY_KEY_Y_P_PLUS_1, "identity with y = p + 1"),
        ("order-2-key", edwards.ORDER_2_KEY, "the point (0, -1) of order 2"),
        ("order-4-key", edwards.ORDER_4_KEY, "a point of order 4 (y = 0)"),
    ]
    for name, key, what in weird_keys:
        assert edwards.has_small_order(key)
        pre = craft_account(v.state, key, Role.TRADER, 0, 1000)
        forged_tx = encode({0: chain, 1: int(Kind.TRANSFER), 2: key, 3: 0, 4: body, 5: forged})
        message = signing_bytes(chain, Kind.TRANSFER, key, 0, body)
        equation = (
            "the cofactorless equation [S]B = R + [k]A holds for this message ([k]A is the "
            "identity), so only SIG-01's checks on A and R reject it"
            if edwards.cofactorless_holds(key, forged, message)
            else "here [k]A is not the identity, so the cofactorless equation fails too "
            "(cofactored verification, which multiplies by 8, holds)"
        )
        suite.negative(
            f"tx/TX-04/forged-{name}",
            f"Sender key {what}, signature R = identity, S = 0: {equation}.",
            pre,
            tx(forged_tx),
            None,
            "TX-04",
            twin_id="tx/valid/transfer",
            crafted=True,
            flags=["signature", "ed25519", "small-order-key"]
            + ([] if edwards.is_canonical(key) else ["non-canonical-key"]),
        )
        suite.negative(
            f"account/ACC-02/{name}",
            f"Registering {what} as an account id.",
            v.state,
            tx(v.make("operator", Kind.REGISTER_ACCOUNT, {0: key, 1: int(Role.TRADER)})),
            tx(v.make("operator", Kind.REGISTER_ACCOUNT, {0: key_of("ivan"), 1: int(Role.TRADER)})),
            "ACC-02",
            flags=["ed25519", "small-order-key"]
            + ([] if edwards.is_canonical(key) else ["non-canonical-key"]),
        )
    # A y with no x on the curve.
    y = 2
    while edwards.decode_point(edwards.encode_y(y)) is not None:
        y += 1
    suite.negative(
        "account/ACC-02/not-on-curve",
        f"An account id whose y = {y} has no x on the curve.",
        v.state,
        tx(
            v.make(
                "operator",
                Kind.REGISTER_ACCOUNT,
                {0: edwards.encode_y(y), 1: int(Role.TRADER)},
            )
        ),
        None,
        "ACC-02",
        twin_id="account/ACC-02/identity-key-repaired",
        flags=["ed25519"],
    )


def make_signed(seed: bytes, chain: str, kind: Kind, nonce: int, body: Any, sender: bytes) -> bytes:
    return make_transaction(seed, chain, kind, nonce, body, sender=sender)
