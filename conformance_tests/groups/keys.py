"""Vectors of key rotation (KEY-01 .. KEY-07, PRE-11, INV-19) and role revocation (ROL-02 ..
ROL-05).

Rotation: an account signs a ROTATE_KEY with its current key and proves with a signature by the
new key that it holds it; from then on only the new key signs for it (TX-04), and a validator's
block votes follow two heights later (KEY-06). Revocation: the operator takes TRADER or ATTESTOR
back; what the account holds stays. Every expected result follows from the rule book's text
(chapters 10 and 11): the spec computes the states, the rule each step must break is written
here by hand and generation stops if the spec disagrees.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from conformance_tests import edwards
from conformance_tests.adapter import Step
from conformance_tests.groups.pre import refused_vector
from conformance_tests.groups.roles import mixed_order_keys
from conformance_tests.scenario import Ledger, key_of, seed_of
from conformance_tests.spec_adapter import apply_step
from conformance_tests.suite import (
    GenerationError,
    Suite,
    block,
    copy,
    forge_block,
    market,
    must,
    tick,
    tx,
    village,
    with_validators,
)
from spec.crypto import sign
from spec.keys import rotation_bytes
from spec.state import PendingKey, Role, State, trading_close
from spec.transactions import Kind, make_transaction
from spec.units import Height
from spec.validators import approval_bytes

FOUR = ("validator-1", "validator-2", "validator-3", "validator-4")


def rotation(
    ledger: Ledger,
    name: str,
    new_seed: bytes | None,
    *,
    key: bytes | None = None,
    signer: bytes | None = None,
    proof_nonce: int | None = None,
    proof_chain: str | None = None,
    proof_account: bytes | None = None,
    proof: bytes | None = None,
) -> bytes:
    """A ROTATE_KEY by ``name`` (signed with ``signer``, default its name's seed, at its next
    nonce) to the key of ``new_seed`` (or ``key``), with a proof by the new key unless a part of
    the proof is overridden."""
    nonce = ledger.nonces.get(name, 0)
    new_key = key if key is not None else key_of_seed(new_seed)
    if proof is None:
        assert new_seed is not None
        message = rotation_bytes(
            proof_chain or ledger.state.params.chain_id,
            proof_account or key_of(name),
            nonce if proof_nonce is None else proof_nonce,
            new_key,
        )
        proof = sign(new_seed, message)
    return signed_as(ledger, name, signer, Kind.ROTATE_KEY, {0: new_key, 1: proof})


def key_of_seed(seed: bytes | None) -> bytes:
    from spec.crypto import public_key_of

    assert seed is not None
    return public_key_of(seed)


def signed_as(
    ledger: Ledger, name: str, seed: bytes | None, kind: Kind, body: Any, nonce: int | None = None
) -> bytes:
    """A transaction of ``name`` (its next nonce) signed with ``seed`` (default its own)."""
    use = ledger.nonces.get(name, 0) if nonce is None else nonce
    signer = seed_of(name) if seed is None else seed
    chain = ledger.state.params.chain_id
    return make_transaction(signer, chain, kind, use, body, sender=key_of(name))


def rotated(ledger: Ledger, name: str, new_name: str) -> Ledger:
    """A copy of ``ledger`` after ``name`` rotated to the key of ``new_name``."""
    out = copy(ledger)
    must(out.submit(rotation(out, name, seed_of(new_name)), name))
    return out


def group_keys(suite: Suite) -> None:
    """Rotation: accepted, the old key void, every KEY rejection with its repaired twin."""
    v = village()
    alice2 = seed_of("alice-2")
    transfer = {0: key_of("bob"), 1: 1}

    after = rotated(v, "alice", "alice-2")
    suite.add(
        "keys/valid/rotate-then-sign-with-new-key",
        "Alice rotates to a new key, proving she holds it; her next transfer, signed with the "
        "new key under her unchanged id, is accepted (KEY-05).",
        v.state,
        [
            tx(rotation(v, "alice", alice2)),
            tx(signed_as(after, "alice", alice2, Kind.TRANSFER, transfer, nonce=1)),
        ],
        expect=[None, None],
        rules=["KEY-05"],
    )
    suite.negative(
        "keys/TX-04/old-key-after-rotation",
        "After alice's rotation her old key signs a transfer with her next nonce: TX-04 checks "
        "the signature against her current key, so the old key no longer signs for her.",
        after.state,
        tx(signed_as(after, "alice", seed_of("alice"), Kind.TRANSFER, transfer)),
        tx(signed_as(after, "alice", alice2, Kind.TRANSFER, transfer)),
        "TX-04",
        flags=["key-rotation", "attack"],
    )
    suite.add(
        "keys/valid/rotate-twice",
        "Alice rotates to a second key and then to a third: the second rotation is signed with "
        "the second key and proved by the third.",
        after.state,
        [
            tx(rotation(after, "alice", seed_of("alice-3"), signer=alice2)),
        ],
        expect=[None],
        rules=["KEY-05"],
    )

    good = tx(rotation(v, "alice", alice2))
    # KEY-01: keys outside the prime-order subgroup (the proof is never looked at: KEY-01 first).
    junk_proof = bytes(64)
    bad_keys = [
        ("identity", edwards.IDENTITY_KEY, "the identity point"),
        ("order-2", edwards.ORDER_2_KEY, "a point of order 2"),
        ("order-4", edwards.ORDER_4_KEY, "a point of order 4"),
        ("not-on-curve", _not_on_curve(), "bytes that decode to no point"),
    ]
    for n, key, what in mixed_order_keys():
        bad_keys.append((f"mixed-{n}", key, f"a real key plus {what}"))
    for name, key, what in bad_keys:
        suite.negative(
            f"keys/KEY-01/{name}",
            f"Alice rotates to {what}: KEY-01 asks what ACC-02 asks of an account id (a "
            "canonical point of large prime order). A rotation to a fresh real key is accepted.",
            v.state,
            tx(rotation(v, "alice", None, key=key, proof=junk_proof)),
            good if name == "identity" else None,
            "KEY-01",
            flags=["ed25519", "key-rotation"],
            twin_id=None if name == "identity" else "keys/KEY-01/identity-repaired",
        )

    # KEY-02: keys in use.
    bob_rotated = rotated(v, "bob", "bob-2")
    suite.negative(
        "keys/KEY-02/another-accounts-id",
        "Alice rotates to bob's id, with a valid proof (the test holds bob's key): a key names "
        "or signs for one account only. A fresh key is accepted.",
        v.state,
        tx(rotation(v, "alice", seed_of("bob"))),
        good,
        "KEY-02",
        flags=["key-rotation", "attack"],
        twin_id="keys/KEY-01/identity-repaired",
    )
    suite.negative(
        "keys/KEY-02/another-accounts-current-key",
        "Bob rotated to a new key; alice then rotates to bob's current key with a valid proof: "
        "two accounts would share a key. A fresh key is accepted.",
        bob_rotated.state,
        tx(rotation(bob_rotated, "alice", seed_of("bob-2"))),
        tx(rotation(bob_rotated, "alice", alice2)),
        "KEY-02",
        flags=["key-rotation", "attack"],
    )
    suite.negative(
        "keys/KEY-02/own-id",
        "After rotating away, alice rotates back to her own id: an id stays in use for its "
        "account, so KEY-02 refuses it. A third key is accepted.",
        after.state,
        tx(rotation(after, "alice", seed_of("alice"), signer=alice2)),
        tx(rotation(after, "alice", seed_of("alice-3"), signer=alice2)),
        "KEY-02",
        flags=["key-rotation"],
    )
    suite.negative(
        "keys/KEY-02/other-accounts-old-id",
        "Bob rotated away from his id; alice rotates to bob's id, which still names bob's "
        "account. A fresh key is accepted.",
        bob_rotated.state,
        tx(rotation(bob_rotated, "alice", seed_of("bob"))),
        tx(rotation(bob_rotated, "alice", alice2)),
        "KEY-02",
        flags=["key-rotation"],
    )

    # KEY-03: no proof of possession.
    chain = v.state.params.chain_id
    for name, why, kwargs in (
        (
            "proof-by-sender",
            "signed by alice's current key, not the new one",
            {
                "proof": sign(
                    seed_of("alice"), rotation_bytes(chain, key_of("alice"), 0, key_of("alice-2"))
                )
            },
        ),
        (
            "proof-for-other-nonce",
            "over another nonce (a proof replayed from an earlier rotation)",
            {"proof_nonce": 7},
        ),
        (
            "proof-for-other-account",
            "made for another account (carol's)",
            {"proof_account": key_of("carol")},
        ),
        ("proof-for-other-chain", "made for another chain id", {"proof_chain": chain + "x"}),
    ):
        suite.negative(
            f"keys/KEY-03/{name}",
            f"Alice rotates to a key whose proof is {why}: a key she is not shown to hold for "
            "this rotation. The same rotation with the new key's own proof is accepted.",
            v.state,
            tx(rotation(v, "alice", alice2, **kwargs)),
            None,
            "KEY-03",
            flags=["key-rotation", "attack"],
            twin_id="keys/KEY-01/identity-repaired",
        )
    suite.negative(
        "keys/KEY-03/key-not-held",
        "Alice rotates to a key for which she has no private key (a valid public key seen on "
        "the wire) and a made-up proof. A key she holds is accepted.",
        v.state,
        tx(rotation(v, "alice", None, key=key_of("stranger"), proof=bytes(64))),
        None,
        "KEY-03",
        flags=["key-rotation", "attack"],
        twin_id="keys/KEY-01/identity-repaired",
    )

    _validator_vectors(suite)
    _new_account_vectors(suite, v, bob_rotated)
    _pre_state_vectors(suite, v)
    _check_order(suite, v, bob_rotated)


def _not_on_curve() -> bytes:
    for y in range(2, 100):
        key = edwards.encode_y(y)
        if edwards.decode_point(key) is None:
            return key
    raise GenerationError("no off-curve y below 100")


def _validator_vectors(suite: Suite) -> None:
    """KEY-04 and KEY-06 on a chain of four validators."""
    four = with_validators(*FOUR)
    v1_new = seed_of("validator-1-new")
    rotate = rotation(four, "validator-1", v1_new)
    t = four.state.time
    # Block H carries the rotation; H + 1 must be signed with the old key, H + 2 with the new.
    h = forge_block(four.state, [rotate], t, signers=FOUR[:3])
    after_h, receipt = apply_step(four.state, block(h))
    if receipt.rule is not None:
        raise GenerationError(f"rotation block rejected: {receipt.rule}")
    pending = after_h.pending_key
    assert pending is not None and pending.height == four.state.height + 3  # H + 2
    new = {"validator-1": v1_new}
    h1_new = forge_block(after_h, [], t + 1, signers=FOUR[:3], seeds=new)
    h1_old = forge_block(after_h, [], t + 1, signers=FOUR[:3])
    suite.negative(
        "keys/KEY-06/next-block-signed-with-new-key",
        "Validator 1 rotated its key in the last block. Its vote for the next block is signed "
        "with the new key: KEY-06 says that block's votes verify against the previous key (as "
        "CometBFT still holds it for that height), so BLK-06 rejects the block; signed with the "
        "old key it is accepted.",
        after_h,
        block(h1_new),
        block(h1_old),
        "BLK-06",
        flags=["key-rotation", "validator"],
    )
    after_h1, receipt = apply_step(after_h, block(h1_old))
    assert receipt.rule is None and after_h1.pending_key is None
    suite.negative(
        "keys/KEY-06/second-block-signed-with-old-key",
        "Two heights after its rotation, validator 1 votes with its old key: from block H + 2 "
        "its votes verify against the new key only (KEY-06), so BLK-06 rejects the block; "
        "signed with the new key it is accepted.",
        after_h1,
        block(forge_block(after_h1, [], t + 2, signers=FOUR[:3])),
        block(forge_block(after_h1, [], t + 2, signers=FOUR[:3], seeds=new)),
        "BLK-06",
        flags=["key-rotation", "validator"],
    )
    suite.add(
        "keys/valid/validator-rotation-across-blocks",
        "Validator 1 rotates in block H; block H + 1 carries its vote by the old key, block "
        "H + 2 by the new key (KEY-06), and the pending rotation is gone after H + 1.",
        four.state,
        [
            block(h),
            block(h1_old),
            block(forge_block(after_h1, [], t + 2, signers=FOUR[:3], seeds=new)),
        ],
        expect=[None, None, None],
        rules=["KEY-06"],
    )
    # KEY-04: a second validator rotation while one waits.
    waiting = copy(four)
    must(waiting.submit(rotate, "validator-1"))
    suite.negative(
        "keys/KEY-04/second-validator-rotation",
        "Validator 1's rotation waits for its height; validator 2 rotates too. One validator key "
        "change waits at a time (KEY-04). A trader's rotation meanwhile is accepted.",
        waiting.state,
        tx(rotation(waiting, "validator-2", seed_of("validator-2-new"))),
        tx(rotation(waiting, "alice", seed_of("alice-2"))),
        "KEY-04",
        flags=["key-rotation", "validator"],
    )
    # KEY-04: the account a pending change of the set names.
    joining = copy(four)
    must(joining.register("ivan"))
    message = approval_bytes(
        joining.state.params.chain_id, key_of("validator-1"), 0, key_of("ivan"), 1
    )
    approvals = sorted((key_of(n), sign(seed_of(n), message)) for n in FOUR[:3])
    body = {0: key_of("ivan"), 1: 1, 2: [list(pair) for pair in approvals]}
    must(joining.send("validator-1", Kind.VALIDATOR_UPDATE, body))
    suite.negative(
        "keys/KEY-04/joining-validator",
        "Ivan's admission as a validator waits for its height; ivan rotates his key. The "
        "admission carries his key as it was (CometBFT adds it at H + 2), so KEY-04 refuses "
        "the rotation until the change takes effect. Alice's rotation is accepted.",
        joining.state,
        tx(rotation(joining, "ivan", seed_of("ivan-2"))),
        tx(rotation(joining, "alice", seed_of("alice-2"))),
        "KEY-04",
        flags=["key-rotation", "validator"],
    )
    suite.negative(
        "keys/KEY-02/joining-validators-id",
        "A change of the validator set admitting a new account (validator 5) waits; alice "
        "rotates to that account's key, which would name two accounts at its height. A fresh "
        "key is accepted.",
        _joining_new(four).state,
        tx(rotation(_joining_new(four), "alice", seed_of("validator-5"))),
        tx(rotation(_joining_new(four), "alice", seed_of("alice-2"))),
        "KEY-02",
        flags=["key-rotation", "validator"],
    )
    suite.negative(
        "keys/KEY-02/validators-previous-key",
        "Validator 1's rotation waits for its height, so its previous key (its id) still signs "
        "its votes; bob rotates to a key in use that way is refused as KEY-02 says. A fresh key "
        "is accepted.",
        waiting.state,
        tx(rotation(waiting, "bob", seed_of("validator-1"))),
        tx(rotation(waiting, "bob", seed_of("bob-2"))),
        "KEY-02",
        flags=["key-rotation", "validator"],
    )


def _joining_new(four: Ledger) -> Ledger:
    out = copy(four)
    message = approval_bytes(
        out.state.params.chain_id, key_of("validator-1"), 0, key_of("validator-5"), 1
    )
    approvals = sorted((key_of(n), sign(seed_of(n), message)) for n in FOUR[:3])
    body = {0: key_of("validator-5"), 1: 1, 2: [list(pair) for pair in approvals]}
    must(out.send("validator-1", Kind.VALIDATOR_UPDATE, body))
    return out


def _new_account_vectors(suite: Suite, v: Ledger, bob_rotated: Ledger) -> None:
    """KEY-07: no new account is named by a key another account signs with."""
    suite.negative(
        "keys/KEY-07/register-anothers-current-key",
        "Bob rotated to a new key; the operator registers an account whose id is bob's current "
        "key. The new account's id would be the key that signs for bob. A fresh id is accepted.",
        bob_rotated.state,
        tx(bob_rotated.make("operator", Kind.REGISTER_ACCOUNT, {0: key_of("bob-2"), 1: 8})),
        tx(bob_rotated.make("operator", Kind.REGISTER_ACCOUNT, {0: key_of("ivan"), 1: 8})),
        "KEY-07",
        flags=["key-rotation"],
    )
    four = with_validators(*FOUR)
    rot = rotated(four, "alice", "alice-2")
    message = approval_bytes(
        rot.state.params.chain_id, key_of("validator-1"), 0, key_of("alice-2"), 1
    )
    approvals = sorted((key_of(n), sign(seed_of(n), message)) for n in FOUR[:3])
    bad = {0: key_of("alice-2"), 1: 1, 2: [list(pair) for pair in approvals]}
    message = approval_bytes(
        rot.state.params.chain_id, key_of("validator-1"), 0, key_of("validator-5"), 1
    )
    approvals = sorted((key_of(n), sign(seed_of(n), message)) for n in FOUR[:3])
    fine = {0: key_of("validator-5"), 1: 1, 2: [list(pair) for pair in approvals]}
    suite.negative(
        "keys/KEY-07/admit-validator-with-anothers-key",
        "Alice rotated to a new key; the validators admit a new validator whose id is alice's "
        "current key. A fresh id is accepted.",
        rot.state,
        tx(rot.make("validator-1", Kind.VALIDATOR_UPDATE, bad)),
        tx(rot.make("validator-1", Kind.VALIDATOR_UPDATE, fine)),
        "KEY-07",
        flags=["key-rotation", "validator"],
    )


def _pre_state_vectors(suite: Suite, v: Ledger) -> None:
    """PRE-11: a loaded state whose keys INV-19 forbids."""
    state = v.state
    alice, bob = key_of("alice"), key_of("bob")

    def with_key(st: State, who: bytes, key: bytes) -> State:
        return replace(st, accounts=st.accounts.set(who, replace(st.accounts[who], key=key)))

    for name, pre, why in (
        (
            "shared-key",
            with_key(with_key(state, alice, key_of("carol-2")), bob, key_of("carol-2")),
            "two accounts with the same key",
        ),
        ("anothers-id", with_key(state, alice, bob), "bob's id as alice's key"),
        (
            "pending-key-of-non-validator",
            replace(state, pending_key=PendingKey(Height(state.height + 2), alice, key_of("x"))),
            "a pending validator key rotation of a trader",
        ),
        (
            "pending-previous-key-in-use",
            replace(
                state,
                pending_key=PendingKey(Height(state.height + 2), key_of("validator-1"), bob),
            ),
            "a validator's pending previous key that is bob's id",
        ),
    ):
        refused_vector(
            suite,
            f"pre/PRE-11/{name}",
            f"A pre-state with {why}: PRE-11 refuses to load it (INV-19).",
            pre,
            "PRE-11",
        )


def _check_order(suite: Suite, v: Ledger, bob_rotated: Ledger) -> None:
    """Neighbouring checks of ROTATE_KEY, REVOKE_ROLE and KEY-07 broken together."""

    def both(
        name: str,
        description: str,
        pre: State,
        step: Step,
        first: str,
        second_step: Step,
        second: str,
        second_pre: State | None = None,
    ) -> None:
        _, outcome = apply_step(pre if second_pre is None else second_pre, second_step)
        if outcome.rule != second:
            raise GenerationError(f"checks/{name}: the companion gives {outcome.rule}")
        suite.add(
            f"checks/{first}-before-{second}/{name}",
            f"{description} Breaks {first} and {second}; chapter 10 checks {first} first. "
            f"(With only the second fault the input is rejected by {second}.)",
            pre,
            [step],
            expect=[first],
            rules=[first, second],
            flags=["check-order"],
        )

    both(
        "rotation-to-id-with-bad-proof",
        "Alice rotates to bob's id with a proof by her own key.",
        v.state,
        tx(rotation(v, "alice", seed_of("alice"), key=key_of("bob"))),
        "KEY-02",
        tx(rotation(v, "alice", seed_of("alice"), key=key_of("alice-2"))),
        "KEY-03",
    )
    four = with_validators(*FOUR)
    waiting = copy(four)
    must(waiting.submit(rotation(four, "validator-1", seed_of("validator-1-new")), "validator-1"))
    both(
        "second-validator-rotation-bad-proof",
        "Validator 2 rotates, with a proof by its old key, while validator 1's rotation waits.",
        waiting.state,
        tx(rotation(waiting, "validator-2", seed_of("validator-2"), key=key_of("v2-new"))),
        "KEY-03",
        tx(rotation(waiting, "validator-2", seed_of("validator-2-new"))),
        "KEY-04",
    )
    both(
        "register-own-key",
        "The operator registers alice again: her id is registered and is her current key.",
        v.state,
        tx(v.make("operator", Kind.REGISTER_ACCOUNT, {0: key_of("alice"), 1: 8})),
        "ACC-01",
        tx(bob_rotated.make("operator", Kind.REGISTER_ACCOUNT, {0: key_of("bob-2"), 1: 8})),
        "KEY-07",
        bob_rotated.state,
    )
    both(
        "register-current-key-no-roles",
        "The operator registers bob's current key with roles 0.",
        bob_rotated.state,
        tx(bob_rotated.make("operator", Kind.REGISTER_ACCOUNT, {0: key_of("bob-2"), 1: 0})),
        "KEY-07",
        tx(bob_rotated.make("operator", Kind.REGISTER_ACCOUNT, {0: key_of("ivan"), 1: 0})),
        "ACC-03",
    )
    revoke = Kind.REVOKE_ROLE
    both(
        "trader-revokes-validator",
        "Alice (a trader) sends a REVOKE_ROLE taking VALIDATOR from validator 1.",
        v.state,
        tx(v.make("alice", revoke, {0: key_of("validator-1"), 1: int(Role.VALIDATOR)})),
        "TX-06",
        tx(v.make("operator", revoke, {0: key_of("validator-1"), 1: int(Role.VALIDATOR)})),
        "ROL-02",
    )
    both(
        "operator-role-of-unknown",
        "The operator revokes OPERATOR from an unregistered account.",
        v.state,
        tx(v.make("operator", revoke, {0: key_of("ivan"), 1: int(Role.OPERATOR)})),
        "ROL-02",
        tx(v.make("operator", revoke, {0: key_of("ivan"), 1: int(Role.TRADER)})),
        "ROL-03",
    )
    both(
        "unknown-account",
        "The operator revokes TRADER from an unregistered account (which holds no role).",
        v.state,
        tx(v.make("operator", revoke, {0: key_of("ivan"), 1: int(Role.TRADER)})),
        "ROL-03",
        tx(v.make("operator", revoke, {0: key_of("alice"), 1: int(Role.ATTESTOR)})),
        "ROL-04",
    )


def group_revoke(suite: Suite) -> None:
    """REVOKE_ROLE: accepted and its effects, every ROL rejection with its repaired twin."""
    v = village()
    revoke = Kind.REVOKE_ROLE
    alice, bob = key_of("alice"), key_of("bob")
    good = tx(v.make("operator", revoke, {0: bob, 1: int(Role.TRADER)}))
    for name, role, why in (
        ("validator", Role.VALIDATOR, "VALIDATOR leaves only by a VALIDATOR_UPDATE"),
        ("operator", Role.OPERATOR, "OPERATOR is never revoked"),
        ("no-role", 0, "role 0 names no role"),
        ("two-roles", Role.TRADER | Role.ATTESTOR, "one role per revocation"),
        ("unknown-role", 16, "16 is no role"),
    ):
        target = key_of("validator-1") if role == Role.VALIDATOR else bob
        if role == Role.OPERATOR:
            target = key_of("operator")
        suite.negative(
            f"revoke/ROL-02/{name}",
            f"The operator revokes role {int(role)}: {why} (ROL-02). Revoking bob's TRADER is "
            "accepted.",
            v.state,
            tx(v.make("operator", revoke, {0: target, 1: int(role)})),
            good if name == "validator" else None,
            "ROL-02",
            flags=["role-revocation"],
            twin_id=None if name == "validator" else "revoke/ROL-02/validator-repaired",
        )
    suite.negative(
        "revoke/ROL-03/unknown-account",
        "The operator revokes TRADER from an account that is not registered.",
        v.state,
        tx(v.make("operator", revoke, {0: key_of("ivan"), 1: int(Role.TRADER)})),
        None,
        "ROL-03",
        flags=["role-revocation"],
        twin_id="revoke/ROL-02/validator-repaired",
    )
    suite.negative(
        "revoke/ROL-04/role-not-held",
        "The operator revokes ATTESTOR from alice, a trader.",
        v.state,
        tx(v.make("operator", revoke, {0: alice, 1: int(Role.ATTESTOR)})),
        None,
        "ROL-04",
        flags=["role-revocation"],
        twin_id="revoke/ROL-02/validator-repaired",
    )
    suite.negative(
        "revoke/TX-06/not-the-operator",
        "Alice, a trader, sends a REVOKE_ROLE taking bob's TRADER: only the operator revokes "
        "(TX-06). The operator's is accepted.",
        v.state,
        tx(v.make("alice", revoke, {0: bob, 1: int(Role.TRADER)})),
        None,
        "TX-06",
        flags=["role-revocation", "attack"],
        twin_id="revoke/ROL-02/validator-repaired",
    )

    # A revoked trader: no more orders, but its money is its own and its open bid clears.
    m = market()  # bob imported in zone 1 in the last slot; alice exported
    slot = m.slot - 1
    must(m.ask("alice", 103, slot, 1000, 2000))
    must(m.bid("bob", 1, slot, 800, 2500))
    pre = m.state
    revoked = copy(m)
    must(revoked.send("operator", revoke, {0: bob, 1: int(Role.TRADER)}))
    bid = {0: 1, 1: slot, 2: 100, 3: 2500}
    suite.negative(
        "revoke/TX-06/revoked-trader-bids",
        "The operator revoked bob's TRADER; bob places a bid: TX-06 refuses it. Carol, still a "
        "trader with import in that market, places the same bid and it is accepted.",
        revoked.state,
        tx(revoked.make("bob", Kind.PLACE_BID, bid)),
        tx(revoked.make("carol", Kind.PLACE_BID, bid)),
        "TX-06",
        flags=["role-revocation"],
    )
    close = trading_close(pre.params, slot)
    suite.add(
        "revoke/valid/revoked-trader-keeps-money-and-orders",
        "The operator revokes bob's TRADER while his bid is open (ROL-05): bob can no longer "
        "cancel it (TX-06), he still withdraws money of his own, and at the trading close his "
        "bid clears against alice's ask as placed.",
        pre,
        [
            tx(m.make("operator", revoke, {0: bob, 1: int(Role.TRADER)})),
            tx(revoked.make("bob", Kind.CANCEL, {0: _open_order(pre, bob)})),
            tx(revoked.make("bob", Kind.WITHDRAW, {0: 1000})),
            tick(close),
        ],
        expect=[None, "TX-06", None, None],
        rules=["ROL-05"],
    )
    attestor_gone = copy(v)
    must(attestor_gone.send("operator", revoke, {0: key_of("attestor"), 1: int(Role.ATTESTOR)}))
    reading = {0: 103, 1: v.slot - 1, 2: 10, 3: 0, 4: 0}
    suite.negative(
        "revoke/TX-06/revoked-attestor-attests",
        "The operator revoked the attestor's role; the attestor attests a reading of a meter it "
        "is registered for: TX-06 refuses it. The same reading by the attestor before the "
        "revocation is accepted.",
        attestor_gone.state,
        tx(attestor_gone.make("attestor", Kind.ATTEST, {0: [reading]})),
        tx(v.make("attestor", Kind.ATTEST, {0: [reading]})),
        "TX-06",
        flags=["role-revocation"],
        twin_pre=v.state,
    )


def _open_order(state: State, owner: bytes) -> int:
    for order_id, order in sorted(state.orders.items()):
        if order.owner == owner:
            return int(order_id)
    raise GenerationError("no order")
