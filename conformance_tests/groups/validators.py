"""Vectors of the validator set governed by the validators (VAL-01 .. VAL-08), and of the attacks
on the set that the trust model (rule book chapter 13) lists."""

from __future__ import annotations

from conformance_tests import edwards
from conformance_tests.scenario import Ledger, key_of, seed_of
from conformance_tests.suite import GenerationError, Suite, block, forge_block, tx, with_validators
from spec.blocks import apply_block
from spec.crypto import sign
from spec.state import Role, State
from spec.transactions import Kind
from spec.units import Timestamp
from spec.validators import approval_bytes

FOUR = ("validator-1", "validator-2", "validator-3", "validator-4")


def _update(
    ledger: Ledger,
    account: bytes,
    power: int,
    approvers: tuple[str, ...],
    *,
    sender: str = "validator-1",
    approval_nonce: int | None = None,
    descending: bool = False,
    twice: bool = False,
) -> bytes:
    """A VALIDATOR_UPDATE by ``sender``; ``approval_nonce`` makes approvals for another nonce,
    ``twice`` lists the first approval a second time."""
    nonce = ledger.nonces.get(sender, 0)
    signed_nonce = nonce if approval_nonce is None else approval_nonce
    message = approval_bytes(
        ledger.state.params.chain_id, key_of(sender), signed_nonce, account, power
    )
    pairs = sorted(
        ((key_of(name), sign(seed_of(name), message)) for name in approvers),
        reverse=descending,
    )
    if twice:
        pairs = sorted([*pairs, pairs[0]])
    body = {0: account, 1: power, 2: [list(pair) for pair in pairs]}
    return ledger.make(sender, Kind.VALIDATOR_UPDATE, body)


def _next(state: State, data: bytes) -> State:
    after, receipt = apply_block(state, data)
    if not receipt.accepted:
        raise GenerationError(f"fixture block rejected: {receipt}")
    return after


def group_validators(suite: Suite) -> None:
    """VAL-01 .. VAL-08 on a chain of four validators, each rejection with its repaired twin."""

    v = with_validators(*FOUR)
    new = key_of("validator-5")
    good = _update(v, new, 1, FOUR[:3])
    base = "validators/valid/add-with-three-of-four"
    suite.add(
        base,
        "Validator 1 sends the addition of validator 5, approved by validators 1, 2 and 3 "
        "(3 x 3 >= 2 x 4): the change waits for its height (VAL-08).",
        v.state,
        [tx(good)],
        expect=[None],
        flags=["valid", "authority"],
    )

    def bad(name: str, data: bytes, rule_id: str, description: str, pre: State = v.state) -> None:
        suite.negative(
            f"validators/{rule_id}/{name}",
            description,
            pre,
            tx(data),
            None,
            rule_id,
            twin_id=base,
            flags=["authority"],
        )

    operator_register = {0: key_of("mallory"), 1: int(Role.VALIDATOR)}
    suite.negative(
        "validators/VAL-01/operator-grants-validator",
        "The operator registers an account with the VALIDATOR role.",
        v.state,
        tx(v.make("operator", Kind.REGISTER_ACCOUNT, operator_register)),
        tx(v.make("operator", Kind.REGISTER_ACCOUNT, {0: key_of("mallory"), 1: 8})),
        "VAL-01",
        flags=["authority"],
    )
    unheld = [key_of(f"nobody-{i}") for i in range(4)]
    suite.add(
        "validators/VAL-01/operator-registers-four-unheld-validators",
        "The halting attack: the operator registers four validators whose keys nobody holds, so "
        "that no quorum could ever sign again. Each registration is rejected.",
        v.state,
        [tx(v.make("operator", Kind.REGISTER_ACCOUNT, {0: key, 1: 4})) for key in unheld],
        expect=["VAL-01"] * 4,
        flags=["authority", "attack"],
    )
    suite.add(
        "validators/VAL-01/operator-registers-six-own-validators",
        "The take-over attack: the operator registers six validators whose keys it holds (six "
        "of ten would be a quorum). Each registration, with every other role too, is rejected.",
        v.state,
        [
            tx(v.make("operator", Kind.REGISTER_ACCOUNT, {0: key_of(f"op-{i}"), 1: 4 | 8}))
            for i in range(6)
        ],
        expect=["VAL-01"] * 6,
        flags=["authority", "attack"],
    )
    t = v.state.time + 60
    operator_only = ("operator", "validator-1")
    suite.negative(
        "block/BLK-06/operator-signs-a-block",
        "The operator's own signature among two votes: it is not a validator.",
        v.state,
        block(forge_block(v.state, [], t, signers=operator_only)),
        block(forge_block(v.state, [], t, signers=FOUR[:3])),
        "BLK-06",
        flags=["block", "authority", "attack"],
    )
    bad(
        "invalid-key",
        _update(v, edwards.IDENTITY_KEY, 1, FOUR[:3]),
        "VAL-02",
        "The addition of the identity point, a key nobody can sign with.",
    )
    bad(
        "add-a-validator",
        _update(v, key_of("validator-2"), 1, FOUR[:3]),
        "VAL-03",
        "The addition of validator 2, already a validator.",
    )
    bad(
        "remove-a-non-validator",
        _update(v, key_of("alice"), 0, FOUR[:3]),
        "VAL-03",
        "The removal of Alice, who is not a validator.",
    )
    bad(
        "approval-by-a-trader",
        _update(v, new, 1, (*FOUR[:3], "alice")),
        "VAL-04",
        "Alice's valid signature among the approvals.",
    )
    bad(
        "approvals-descending",
        _update(v, new, 1, FOUR[:3], descending=True),
        "VAL-04",
        "Three valid approvals in descending order of validator id.",
    )
    bad(
        "approval-listed-twice",
        _update(v, new, 1, FOUR[:2], twice=True),
        "VAL-04",
        "Validator 1's approval listed twice beside validator 2's: three entries, two validators "
        "(3 x 2 < 2 x 4). The rule book lists each approval once, so VAL-04 rejects it before "
        "VAL-05 would count the entries.",
    )
    bad(
        "approvals-for-another-nonce",
        _update(v, new, 1, FOUR[:3], approval_nonce=1),
        "VAL-04",
        "Approvals signed for the sender's next nonce: an approval is good for one transaction.",
    )
    bad(
        "two-of-four",
        _update(v, new, 1, FOUR[:2]),
        "VAL-05",
        "Two approvals of four validators: 3 x 2 < 2 x 4.",
    )
    pending = Ledger(v.state, dict(v.nonces))
    pending.submit(good, "validator-1")
    second = _update(pending, key_of("validator-6"), 1, FOUR, sender="validator-2")
    suite.negative(
        "validators/VAL-06/second-change-while-pending",
        "While the addition of validator 5 waits, validator 2 sends the addition of validator 6.",
        pending.state,
        tx(second),
        tx(second),
        "VAL-06",
        twin_pre=_after_two_blocks(pending.state),
        flags=["authority"],
    )
    three = with_validators(*FOUR[:3])
    small = _update(three, new, 1, FOUR[:3])
    suite.negative(
        "validators/VAL-07/three-validators-cannot-add",
        "Three validators approve a fourth: one of three is a third, not less.",
        three.state,
        tx(small),
        tx(good),
        "VAL-07",
        twin_pre=v.state,
        flags=["authority", "boundary"],
    )
    _lifecycle(suite, v, good)


def _after_two_blocks(state: State) -> State:
    """Two empty blocks later: the pending change has taken effect."""

    for step in range(2):
        state = _next(state, forge_block(state, [], Timestamp(state.time + 1), signers=FOUR[:3]))
        del step
    if state.pending_validator is not None:
        raise GenerationError("the change did not take effect")
    return state


def _lifecycle(suite: Suite, v: Ledger, good: bytes) -> None:
    """VAL-08: the change carried by block H counts from block H + 2."""

    t = v.state.time
    old = FOUR[:3]
    new_set = (*FOUR[:3], "validator-5")
    first = forge_block(v.state, [good], t + 1, signers=old)
    s1 = _next(v.state, first)
    second_old = forge_block(s1, [], t + 2, signers=old)
    second_new = forge_block(s1, [], t + 2, signers=(*old[:2], "validator-5"))
    s2 = _next(s1, second_old)
    third_old = forge_block(s2, [], t + 3, signers=old)
    third_new = forge_block(s2, [], t + 3, signers=new_set)
    suite.add(
        "validators/VAL-08/added-validator-signs-from-h-plus-2",
        "Block 1 carries the addition of validator 5; block 2 is still signed by the old set of "
        "four; block 3 needs two thirds of five, and validator 5's vote counts.",
        v.state,
        [block(first), block(second_old), block(third_new)],
        expect=[None, None, None],
        rules=["VAL-08"],
        flags=["valid", "authority"],
    )
    suite.add(
        "validators/VAL-08/added-validator-too-early",
        "Validator 5 signs block 2, one height before its change takes effect.",
        s1,
        [block(second_new)],
        expect=["BLK-06"],
        rules=["VAL-08"],
        flags=["authority", "boundary"],
    )
    suite.add(
        "validators/VAL-08/old-quorum-too-small-after-the-change",
        "Block 3 signed by validators 1, 2 and 3 only: three of five is not two thirds.",
        s2,
        [block(third_old)],
        expect=["BLK-07"],
        rules=["VAL-08"],
        flags=["authority", "boundary"],
    )
    # Removal: validator 4 leaves a set of five (one of five, less than a third).
    five = Ledger(_next(s2, third_new), dict(v.nonces))
    five.nonces["validator-1"] = int(five.state.accounts[key_of("validator-1")].nonce)
    removal = _update(five, key_of("validator-4"), 0, new_set)
    r1 = forge_block(five.state, [removal], t + 4, signers=new_set)
    after_r1 = _next(five.state, r1)
    r2 = forge_block(after_r1, [], t + 5, signers=new_set)
    after_r2 = _next(after_r1, r2)
    with_four = forge_block(after_r2, [], t + 6, signers=("validator-4", *new_set[:2]))
    suite.add(
        "validators/VAL-08/removed-validator-no-longer-signs",
        "Four of five validators remove validator 4; two blocks later its vote is refused.",
        five.state,
        [block(r1), block(r2), block(with_four)],
        expect=[None, None, "BLK-06"],
        rules=["VAL-08"],
        flags=["authority"],
    )
