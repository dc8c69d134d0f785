"""The transaction envelope: chain, kind, sender, signature, nonce, role (TX-01 .. TX-07, SIG-01,
HSH-02), each rejection provoked through ``apply_transaction`` with the state left unchanged."""

from __future__ import annotations

import hashlib

from _rules_plugin import rules
from hypothesis import given
from hypothesis import strategies as st
from strategies import accept_tx, raw_transaction, reject_tx, village

from conformance_tests.scenario import CHAIN_ID, key_of, seed_of
from spec.crypto import merkle_root, verify
from spec.state import with_account
from spec.transactions import Kind, apply_transaction, make_transaction, signing_bytes, tx_id
from spec.units import COUNTER_MAX, Nonce

pytest_plugins = ("_rules_plugin",)

# The order of the Ed25519 group; a signature's S must be below it (SIG-01).
GROUP_ORDER_L = 2**252 + 27742317777372353535851937790883648493


def deposit_body(name: str = "alice", amount: int = 1) -> dict[int, object]:
    return {0: key_of(name), 1: amount}


@rules("TX-01")
def test_transaction_for_another_chain_is_rejected() -> None:
    ledger = village()
    nonce = ledger.nonces["operator"]
    tx = make_transaction(seed_of("operator"), "other-chain", Kind.DEPOSIT, nonce, deposit_body())
    reject_tx(ledger.state, tx, "TX-01")


@rules("TX-02")
@given(kind=st.sampled_from([0, 17, 99, 255, 2**32, 2**64 - 1]))  # 1 .. 16 are kinds now
def test_unknown_kind_is_rejected(kind: int) -> None:
    ledger = village()
    tx = raw_transaction(
        signer="operator", kind=kind, nonce=ledger.nonces["operator"], body={}, chain_id=CHAIN_ID
    )
    reject_tx(ledger.state, tx, "TX-02")


@rules("TX-03")
def test_unregistered_sender_is_rejected() -> None:
    ledger = village()
    tx = make_transaction(seed_of("mallory"), CHAIN_ID, Kind.WITHDRAW, 0, {0: 1})
    reject_tx(ledger.state, tx, "TX-03")


@rules("TX-04", "SIG-01")
def test_signature_by_another_key_is_rejected() -> None:
    ledger = village()
    # bob signs a withdrawal from alice's account
    tx = make_transaction(seed_of("bob"), CHAIN_ID, Kind.WITHDRAW, 0, {0: 1}, key_of("alice"))
    reject_tx(ledger.state, tx, "TX-04")


@rules("TX-04")
def test_signature_for_another_kind_is_rejected() -> None:
    """Domain separation: alice's signature over a TRANSFER body cannot pass as a WITHDRAW."""
    ledger = village()
    body = {0: 5}
    sig_for_transfer = raw_transaction(
        signer="alice",
        kind=int(Kind.WITHDRAW),
        nonce=0,
        body=body,
        chain_id=CHAIN_ID,
        sign_kind=Kind.TRANSFER,
    )
    reject_tx(ledger.state, sig_for_transfer, "TX-04")
    honest = raw_transaction(
        signer="alice", kind=int(Kind.WITHDRAW), nonce=0, body=body, chain_id=CHAIN_ID
    )
    accept_tx(ledger.state, honest)


@rules("TX-04", "SIG-01")
@given(bit=st.integers(0, 64 * 8 - 1))
def test_any_flipped_signature_bit_is_rejected(bit: int) -> None:
    ledger = village()
    tx = ledger.make("alice", Kind.WITHDRAW, {0: 1})
    # The signature is the last 64 bytes of the envelope (key 5 is encoded last).
    flipped = bytearray(tx)
    flipped[len(tx) - 64 + bit // 8] ^= 1 << (bit % 8)
    reject_tx(ledger.state, bytes(flipped), "TX-04")


@rules("SIG-01", "TX-04")
def test_non_canonical_s_is_rejected() -> None:
    """S + L verifies under the cofactorless equation but libsodium rejects it: so must we."""
    ledger = village()
    tx = ledger.make("alice", Kind.WITHDRAW, {0: 1})
    signature = tx[-64:]
    s = int.from_bytes(signature[32:], "little") + GROUP_ORDER_L
    assert s < 2**256
    malleated = tx[:-64] + signature[:32] + s.to_bytes(32, "little")
    reject_tx(ledger.state, malleated, "TX-04")
    message = signing_bytes(CHAIN_ID, Kind.WITHDRAW, key_of("alice"), 0, {0: 1})
    assert verify(key_of("alice"), message, signature)
    assert not verify(key_of("alice"), message, malleated[-64:])


@rules("SIG-01")
def test_small_order_public_key_never_verifies() -> None:
    identity = bytes([1]) + bytes(31)  # the neutral point: every "signature" would satisfy it
    r_identity_s_zero = identity + bytes(32)
    assert not verify(identity, b"anything", r_identity_s_zero)


@rules("TX-05")
def test_replay_and_skipped_nonce_are_rejected() -> None:
    ledger = village()
    first = ledger.make("alice", Kind.WITHDRAW, {0: 1})
    ledger.submit(first, "alice")
    reject_tx(ledger.state, first, "TX-05")  # replay: nonce 0 again
    skipped = ledger.make("alice", Kind.WITHDRAW, {0: 1}, nonce=2)  # nonce 1 is next
    reject_tx(ledger.state, skipped, "TX-05")
    accept_tx(ledger.state, ledger.make("alice", Kind.WITHDRAW, {0: 1}, nonce=1))


@rules("TX-05", "TX-07")
def test_nonce_counter_stops_at_its_bound() -> None:
    ledger = village()
    alice = key_of("alice")
    near = with_account(ledger.state, alice, nonce=Nonce(COUNTER_MAX - 1))
    tx = make_transaction(seed_of("alice"), CHAIN_ID, Kind.WITHDRAW, COUNTER_MAX - 1, {0: 1})
    at_max = accept_tx(near, tx)
    assert at_max.accounts[alice].nonce == COUNTER_MAX
    last = make_transaction(seed_of("alice"), CHAIN_ID, Kind.WITHDRAW, COUNTER_MAX, {0: 1})
    reject_tx(at_max, last, "TX-05")


@rules("TX-06")
@given(
    case=st.sampled_from(
        [
            ("alice", Kind.DEPOSIT, {0: key_of("alice"), 1: 1}),  # only the operator deposits
            ("alice", Kind.REGISTER_ACCOUNT, {0: key_of("mallory"), 1: 8}),
            ("attestor", Kind.PLACE_BID, {0: 1, 1: 5, 2: 1, 3: 1}),  # not a trader
            ("operator", Kind.CANCEL, {0: 1}),
            ("alice", Kind.ATTEST, {0: []}),
            ("validator-1", Kind.REGISTER_NODE, {0: 50, 1: 0, 2: 1, 3: 0}),
        ]
    )
)
def test_sender_without_the_role_is_rejected(case: tuple[str, Kind, object]) -> None:
    sender, kind, body = case
    ledger = village()
    reject_tx(ledger.state, ledger.make(sender, kind, body), "TX-06")


@rules("TX-07")
def test_accepted_transaction_advances_only_its_senders_nonce_by_one() -> None:
    ledger = village()
    before = ledger.state
    after = accept_tx(before, ledger.make("bob", Kind.TRANSFER, {0: key_of("carol"), 1: 7}))
    for account, record in before.accounts.items():
        grown = 1 if account == key_of("bob") else 0
        assert after.accounts[account].nonce == record.nonce + grown


@rules("HSH-02")
def test_transaction_id_is_tagged_blake2b_of_the_bytes() -> None:
    tx = village().make("alice", Kind.WITHDRAW, {0: 1})
    expected = hashlib.blake2b(b"kwhledger/tx-id/v1\x00" + tx, digest_size=32).digest()
    assert tx_id(tx) == expected


@rules("HSH-02")
def test_merkle_root_of_three_ids_splits_two_and_one() -> None:
    def h(tag: bytes, data: bytes) -> bytes:
        return hashlib.blake2b(tag + b"\x00" + data, digest_size=32).digest()

    leaf, node = b"kwhledger/merkle-leaf/v1", b"kwhledger/merkle-node/v1"
    a, b, c = (bytes([i]) * 32 for i in (1, 2, 3))
    # RFC 6962: split at the largest power of two below 3, i.e. 2: node(node(a, b), c).
    left = h(node, h(leaf, a) + h(leaf, b))
    assert merkle_root([a, b, c]) == h(node, left + h(leaf, c))
    assert merkle_root([]) == h(leaf, b"")
    assert merkle_root([a]) == h(leaf, a)
    assert merkle_root([b, a, c]) != merkle_root([a, b, c])


@rules("TX-03", "TX-04", "TX-05")
def test_rejected_envelope_does_not_consume_the_nonce() -> None:
    ledger = village()
    bad = make_transaction(seed_of("bob"), CHAIN_ID, Kind.WITHDRAW, 0, {0: 1}, key_of("alice"))
    state, receipt = apply_transaction(ledger.state, bad)
    assert not receipt.accepted
    assert state.accounts[key_of("alice")].nonce == 0
    accept_tx(state, ledger.make("alice", Kind.WITHDRAW, {0: 1}))
