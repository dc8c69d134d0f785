"""The conformance suite generator: every vector, computed by the executable spec.

Run it with ``kwhledger vectors generate --out DIR``. The output is a pure function of this file
and the spec: no clock, no unseeded randomness (``SEED`` feeds every random choice), so two runs
give identical bytes.

Completeness is built in, not hoped for:

- every negative vector is made by ``Suite.negative`` from a defective input and its *twin*, the
  same input with that one defect repaired; the generator checks that the defective input is
  rejected by exactly the rule claimed and that the twin is accepted (or, where no accepted twin
  can exist, passes that rule and is rejected by a later one in the rule book's check order);
- after generation, ``check_completeness`` fails unless every rule id, every rejection code and
  every lifecycle edge (``spec.lifecycles``) is exercised by some vector;
- every reachable post-state passes ``spec.invariants.check_state``.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any, Final

from conformance_tests import edwards, gen_orders_cost
from conformance_tests.adapter import Step
from conformance_tests.spec_adapter import apply_step, state_bytes
from conformance_tests.spec_adapter import state_root as cached_state_root
from conformance_tests.vector import FORMAT_VERSION, Outcome, Vector, vector_path
from kwhledger.scenario import Ledger, key_of, seed_of, small_village
from spec.attestation import MAX_BATCH_READINGS
from spec.blocks import MAX_BLOCK_TXS, Header, build_block, decode_block, vote_bytes
from spec.cbor import decode, encode
from spec.clearing import advance_clock
from spec.crypto import merkle_root, public_key_of, sign
from spec.errors import Rejected
from spec.invariants import check_state
from spec.lifecycles import edge_labels, illegal_transitions, observed_transitions
from spec.orders import ORDER_FEE_MSEN
from spec.rules import RULES, RuleKind
from spec.state import (
    Account,
    Encumbrance,
    MarketStatus,
    NodeKind,
    Role,
    Source,
    State,
    state_root,
    trading_close,
)
from spec.transactions import (
    MAX_TX_BYTES,
    Kind,
    apply_transaction,
    decode_transaction,
    make_transaction,
    signing_bytes,
    tx_id,
)
from spec.units import (
    COUNTER_MAX,
    MONEY_MAX_MSEN,
    PRICE_MAX_SEN_PER_KWH,
    WH_MAX,
    Height,
    MilliSen,
    Nonce,
    OrderId,
    Slot,
    Timestamp,
    slot_end,
)
from spec.version import SPEC_VERSION

SEED: Final = 20261128
"""The only source of variety in the suite."""
SUITE_NAME: Final = "kwhledger-conformance"
SUITE_VERSION: Final = "1.0.0"
AUCTIONS: Final = 420
"""How many seeded random call auctions the suite holds."""


class GenerationError(AssertionError):
    """A vector is not what its author claimed: the generator refuses to write the suite."""


# --- Rules a step exercises, derived from what it did -------------------------------------------

_KIND_PROCEDURES: Final[dict[Kind, tuple[str, ...]]] = {
    Kind.REGISTER_ACCOUNT: ("ACC-01", "ACC-02", "ACC-03"),
    Kind.REGISTER_NODE: ("GRD-01", "GRD-02", "GRD-03", "INV-14"),
    Kind.REGISTER_METER: ("MTR-01", "MTR-02", "MTR-03", "MTR-04", "MTR-05"),
    Kind.ATTEST: ("ATT-01", "ATT-02", "ATT-03", "ATT-04", "ATT-05", "ATT-06", "ATT-07", "INV-04"),
    Kind.PLACE_ASK: (
        *("ORD-01", "ORD-02", "ORD-03", "ORD-04", "ORD-06", "ORD-07"),
        *("ASK-01", "ASK-04", "ASK-05", "INV-26"),
    ),
    Kind.PLACE_BID: (
        *("ORD-01", "ORD-02", "ORD-03", "ORD-04", "ORD-06", "ORD-07"),
        *("BID-01", "BID-02", "BID-03", "BID-04", "BID-05", "BID-06", "INV-25", "INV-26"),
    ),
    Kind.CANCEL: ("CAN-01", "CAN-02", "CAN-03", "CAN-04"),
    Kind.DEPOSIT: ("MNY-01", "MNY-02", "MNY-04", "INV-06"),
    Kind.WITHDRAW: ("MNY-02", "MNY-03", "INV-06"),
    Kind.TRANSFER: ("MNY-01", "MNY-02", "MNY-03", "INV-06"),
}
_AUTHORIZATION_RULES: Final = {"TX-04", "TX-06", "ASK-02", "CAN-02", "ATT-03", "BLK-05", "BLK-06"}
_BOUND_RULES: Final = {"ENC-15", "MNY-04", "ATT-10", "ATT-07"}


def _tx_kind(tx: bytes) -> Kind | None:
    try:
        return decode_transaction(tx).kind
    except Rejected:
        return None


def step_rules(before: State, after: State, step: Step, outcome: Outcome) -> set[str]:
    """The rule ids a step exercised, from its outcome and the difference it made."""
    rules = {"HSH-01", "INV-15"}
    if outcome.rule is not None:
        rules.add(outcome.rule)
        if outcome.rule in _AUTHORIZATION_RULES:
            rules.add("INV-12")
        if outcome.rule in _BOUND_RULES:
            rules.add("INV-08")
        if outcome.rule in ("TX-04", "BLK-06", "ACC-02"):
            rules.add("SIG-01")
    block_receipt: Any = outcome.block_receipt
    if step.kind == "block" and isinstance(block_receipt, dict):
        for receipt in block_receipt[2]:
            if receipt[2] is not None:
                rules.add(receipt[2])
        if outcome.code == 0:
            rules |= {"BLK-12", "HSH-02", "SIG-01"}
    if step.kind == "tx" and outcome.code == 0:
        assert step.input is not None
        kind = _tx_kind(step.input)
        assert kind is not None
        rules |= {"TX-07", "SIG-01", "INV-11", *_KIND_PROCEDURES[kind]}
        if kind is Kind.ATTEST:
            new_lots = set(after.lots) - set(before.lots)
            rules |= {"ATT-08", "INV-01"} if new_lots else set()
            rules |= {"ATT-09", "ATT-10", "INV-05"} if after.demand != before.demand else set()
        if kind in (Kind.PLACE_ASK, Kind.CANCEL) and after.lots != before.lots:
            rules |= {"INV-01", "INV-03"}
        if kind in (Kind.PLACE_BID, Kind.CANCEL) and after.orders != before.orders:
            rules |= {"INV-10", "INV-06", "INV-07"}
    cleared = [
        key
        for key, market in after.markets.items()
        if market.status is MarketStatus.CLEARED
        and before.markets.get(key, market).status is MarketStatus.OPEN
    ]
    if cleared:
        rules |= {"CLR-01", "CLR-02", "CLR-03", "CLR-05", "CLR-06", "CLR-07"}
        rules |= {"INV-01", "INV-02", "INV-03", "INV-05", "INV-06", "INV-09", "INV-10", "INV-13"}
        if any(after.markets[key].volume_wh > 0 for key in cleared):
            rules.add("CLR-04")
        if any(after.demand[k].claimed_wh != before.demand[k].claimed_wh for k in before.demand):
            rules.add("CLR-08")
    if step.kind == "tick":
        rules.add("BLK-04" if outcome.code else "CLR-01")
    return rules


def stages_of(before: State, step: Step, after: State, outcome: Outcome) -> list[State]:
    """The states a step passes through: for an accepted block, the clock advance and then each
    transaction in turn (each of them moves a record by at most one lifecycle edge)."""
    if step.kind != "block" or outcome.code != 0:
        return [before, after]
    assert step.input is not None
    decoded = decode_block(step.input)
    stages = [before, advance_clock(before, decoded.header.timestamp)]
    for data in decoded.transactions:
        stages.append(apply_transaction(stages[-1], data)[0])
    stages.append(after)
    return stages


# --- The suite under construction -------------------------------------------------------------


@dataclass
class Suite:
    """Vectors by id, each checked as it is added."""

    vectors: dict[str, Vector]

    def add(
        self,
        vector_id: str,
        description: str,
        pre: State,
        steps: Sequence[Step],
        *,
        expect: Sequence[str | None] | None = None,
        rules: Iterable[str] = (),
        flags: Iterable[str] = (),
        twin: str | None = None,
        crafted: bool = False,
    ) -> Vector:
        """Run ``steps`` on ``pre`` through the spec and record the vector.

        ``expect`` (one entry per step: ``None`` for accepted, else a rule id) is the author's
        claim; a step with another outcome aborts the generation.
        """
        if vector_id in self.vectors:
            raise GenerationError(f"duplicate id {vector_id}")
        state = pre
        recorded = []
        exercised = set(rules)
        transitions: set[str] = set()
        for index, step in enumerate(steps):
            after, outcome = apply_step(state, step)
            if expect is not None and outcome.rule != expect[index]:
                raise GenerationError(
                    f"{vector_id} step {index}: expected {expect[index]}, got {outcome.rule}"
                )
            exercised |= step_rules(state, after, step, outcome)
            stages = stages_of(state, step, after, outcome)
            for earlier, later in pairwise(stages):
                illegal = illegal_transitions(earlier, later)
                if illegal:
                    raise GenerationError(f"{vector_id} step {index} leaves a lifecycle: {illegal}")
                transitions |= {t.label() for t in observed_transitions(earlier, later)}
            recorded.append((step, outcome))
            state = after
        if not crafted:
            violations = check_state(state)
            if violations:
                raise GenerationError(f"{vector_id}: post-state breaks {violations}")
        all_flags = set(flags)
        all_flags.add("negative" if any(o.code for _, o in recorded) else "positive")
        if crafted:
            all_flags.add("crafted-pre-state")
        vector = Vector(
            id=vector_id,
            description=description,
            rules=tuple(sorted(exercised)),
            flags=tuple(sorted(all_flags)),
            pre_state=state_bytes(pre),
            pre_state_root=cached_state_root(pre),
            steps=tuple(recorded),
            post_state=state_bytes(state),
            post_state_root=cached_state_root(state),
            transitions=tuple(sorted(transitions)),
            twin=twin,
        )
        self.vectors[vector_id] = vector
        return vector

    def negative(
        self,
        vector_id: str,
        description: str,
        pre: State,
        bad: Step,
        good: Step | None,
        rule_id: str,
        *,
        flags: Iterable[str] = (),
        twin_pre: State | None = None,
        twin_rule: str | None = None,
        twin_id: str | None = None,
        crafted: bool = False,
        twin_crafted: bool | None = None,
    ) -> None:
        """A vector whose one step breaks ``rule_id`` and only it, proved by its twin.

        The twin is ``good`` (on ``twin_pre``, default ``pre``): the same input with the defect
        repaired. It must be accepted, or with ``twin_rule`` be rejected by that later rule
        (for defects, such as the size limit, that no otherwise valid input can carry). An
        existing ``twin_id`` is reused instead (several defects of one valid input).
        """
        if twin_id is None:
            assert good is not None
            twin_id = f"{vector_id}-repaired"
            self.add(
                twin_id,
                f"Twin of {vector_id}: the same input with the defect repaired "
                + ("is accepted." if twin_rule is None else f"passes {rule_id}, fails later."),
                pre if twin_pre is None else twin_pre,
                [good],
                expect=[twin_rule],
                flags=["twin", *flags],
                crafted=crafted if twin_crafted is None else twin_crafted,
            )
        elif twin_id not in self.vectors:
            raise GenerationError(f"{vector_id}: twin {twin_id} does not exist")
        if twin_rule == rule_id:
            raise GenerationError(f"{vector_id}: twin fails for the same rule")
        self.add(
            vector_id,
            description,
            pre,
            [bad],
            expect=[rule_id],
            flags=["invalid", *flags],
            twin=twin_id,
            crafted=crafted,
        )


def tx(data: bytes) -> Step:
    return Step("tx", input=data)


def block(data: bytes) -> Step:
    return Step("block", input=data)


def tick(time: int) -> Step:
    return Step("tick", time=time)


# --- Fixtures: small pre-states built through the spec ---------------------------------------


def copy(ledger: Ledger) -> Ledger:
    return Ledger(ledger.state, dict(ledger.nonces))


@cache
def _village() -> Ledger:
    return small_village()


def village() -> Ledger:
    """The scenario module's small village: two zones, six traders, 100 000 yen each."""
    return copy(_village())


@cache
def _market() -> Ledger:
    ledger = village()
    s = ledger.slot - 1
    must(
        ledger.attest(
            [
                (103, s, 3000, 0),
                (104, s, 0, 2500),
                (105, s, 0, 1000),
                (106, s, 1000, 800),
                (112, s, 2000, 0),
                (113, s, 0, 1500),
            ]
        )
    )
    return ledger


def market() -> Ledger:
    """The village after one slot's readings: lots of alice, dave, erin; demand of the rest."""
    return copy(_market())


def must(receipt: Any) -> None:
    if not receipt.accepted:
        raise GenerationError(f"fixture step rejected: {receipt}")


def with_validators(*names: str) -> Ledger:
    ledger = Ledger.new(validators=names)
    return small_village(ledger)


def craft_account(state: State, key: bytes, roles: int, nonce: int = 0, balance: int = 0) -> State:
    """A pre-state no transaction could produce: an account set directly in the table."""
    account = Account(roles, Nonce(nonce), MilliSen(balance))
    return replace(state, accounts=state.accounts.set(key, account))


# --- Raw encodings for the encoding vectors ---------------------------------------------------


def head(major: int, argument: int, width: int | None = None) -> bytes:
    """A CBOR head; ``width`` (0, 1, 2, 4, 8 extra bytes) forces a possibly non-shortest form."""
    if width is None:
        return _shortest_head(major, argument)
    if width == 0:
        return bytes([major << 5 | argument])
    info = {1: 24, 2: 25, 4: 26, 8: 27}[width]
    return bytes([major << 5 | info]) + argument.to_bytes(width, "big")


def _shortest_head(major: int, argument: int) -> bytes:
    encoded = encode(argument)
    return bytes([major << 5 | encoded[0] & 0x1F]) + encoded[1:]


def raw_map(entries: Sequence[tuple[bytes, bytes]], indefinite: bool = False) -> bytes:
    """A map from already encoded keys and values, in the order given."""
    body = b"".join(k + v for k, v in entries)
    if indefinite:
        return b"\xbf" + body + b"\xff"
    return head(5, len(entries)) + body


def envelope_entries(
    seed: bytes, chain_id: str, kind: int, nonce: int, body: Any, sender: bytes | None = None
) -> list[tuple[bytes, bytes]]:
    """A signed transaction as its six encoded (key, value) pairs, in canonical order."""
    who = public_key_of(seed) if sender is None else sender
    signature = sign(seed, signing_bytes(chain_id, Kind(kind), who, nonce, body))
    values = [chain_id, kind, who, nonce, body, signature]
    return [(encode(i), encode(v)) for i, v in enumerate(values)]


def signed_with_any_kind(seed: bytes, chain_id: str, kind: int, nonce: int, body: Any) -> bytes:
    """A transaction whose kind number need not exist (signed under DEPOSIT's domain tag)."""
    who = public_key_of(seed)
    signature = sign(seed, signing_bytes(chain_id, Kind.DEPOSIT, who, nonce, body))
    return encode({0: chain_id, 1: kind, 2: who, 3: nonce, 4: body, 5: signature})


# --- Blocks -----------------------------------------------------------------------------------


def forge_block(
    state: State,
    txs: Sequence[bytes],
    timestamp: int,
    *,
    proposer: str = "validator-1",
    signers: Sequence[str] = ("validator-1",),
    signatures: Sequence[tuple[bytes, bytes]] | None = None,
    sort_signers: bool = True,
    **header_changes: Any,
) -> bytes:
    """A block built by hand: correct unless a header field or the signatures are overridden.

    The state root is computed by the spec when the transactions are valid; every signature is
    a real one over the (possibly wrong) header, so that only the intended defect is present.
    """
    after = state
    if timestamp >= state.time:
        after = advance_clock(state, timestamp)
        for data in txs:
            after, receipt = apply_transaction(after, data)
            if not receipt.accepted:
                break
    after = replace(after, height=Height(min(state.height + 1, COUNTER_MAX)))
    header = Header(
        chain_id=state.params.chain_id,
        height=Height(state.height + 1),
        parent=state.tip_hash,
        timestamp=Timestamp(timestamp),
        tx_root=merkle_root([tx_id(t) for t in txs]),
        state_root=state_root(after),
        proposer=key_of(proposer),
    )
    header = replace(header, **header_changes)
    vote = vote_bytes(header.hash())
    if signatures is None:
        pairs = [(key_of(name), sign(seed_of(name), vote)) for name in signers]
        signatures = sorted(pairs) if sort_signers else pairs
    return encode({0: header.to_cbor(), 1: list(txs), 2: [[key, sig] for key, sig in signatures]})


def vote_of(name: str, header: Header) -> tuple[bytes, bytes]:
    """Validator ``name``'s real vote for ``header``."""
    return key_of(name), sign(seed_of(name), vote_bytes(header.hash()))


# --- The groups of vectors ---------------------------------------------------------------------
#
# Each group is a function of the suite; ids are "<group>/<rule or topic>/<case>" and never reused.


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
    for kind in (0, 11, 2**64 - 1):
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
            {0: 200, 1: key_of("alice"), 2: key_of("attestor"), 3: 3, 4: 0, 5: 1000},
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
        suite.negative(
            f"tx/TX-04/forged-{name}",
            f"Sender key {what}, signature R = identity, S = 0: verifies under the "
            "cofactorless equation for any message, rejected by SIG-01's small-order rule.",
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


def group_attestation(suite: Suite) -> None:
    """ATT-01 .. ATT-10: batch sizes, windows to the second, capacity, demand bound."""
    v = village()
    s = v.slot - 1
    t0 = v.state.time

    def batch(*readings: tuple[int, int, int, int, int], who: str = "attestor") -> Step:
        items = [{0: m, 1: sl, 2: e, 3: i, 4: enc} for m, sl, e, i, enc in readings]
        return tx(v.make(who, Kind.ATTEST, {0: items}))

    one = (103, s, 1000, 0, 0)
    suite.add(
        "attest/valid/one-reading",
        "One reading exporting 1000 Wh mints a lot and opens its market.",
        v.state,
        [batch(one)],
        expect=[None],
        flags=["valid"],
    )
    suite.negative(
        "attest/ATT-01/empty-batch",
        "A batch of no readings.",
        v.state,
        batch(),
        None,
        "ATT-01",
        twin_id="attest/valid/one-reading",
        flags=["boundary"],
    )
    unknown = [(5000 + i, s, 1, 0, 0) for i in range(MAX_BATCH_READINGS + 1)]
    suite.negative(
        "attest/ATT-01/batch-over-limit",
        "MAX_BATCH_READINGS + 1 readings (of unknown meters: the size is checked first).",
        v.state,
        batch(*unknown),
        batch(*unknown[:MAX_BATCH_READINGS]),
        "ATT-01",
        twin_rule="ATT-02",
        flags=["boundary"],
    )
    suite.negative(
        "attest/ATT-02/unknown-meter",
        "Meter 999 is not registered.",
        v.state,
        batch((999, s, 1000, 0, 0)),
        None,
        "ATT-02",
        twin_id="attest/valid/one-reading",
    )
    suite.negative(
        "attest/ATT-02/second-reading-unknown",
        "The batch is all or nothing: its second reading names meter 999.",
        v.state,
        batch(one, (999, s, 1000, 0, 0)),
        batch(one, (104, s, 1000, 0, 0)),
        "ATT-02",
        flags=["atomicity"],
    )
    # A second attestor for meter 200.
    w = village()
    must(w.register("attestor-2", Role.ATTESTOR))
    must(w.meter(200, "alice", 3, attestor="attestor-2"))
    reading = [{0: 200, 1: s, 2: 500, 3: 0, 4: 0}]
    suite.negative(
        "attest/ATT-03/other-attestor",
        "Meter 200's attestor is attestor-2; attestor signs its reading.",
        w.state,
        tx(w.make("attestor", Kind.ATTEST, {0: reading})),
        tx(w.make("attestor-2", Kind.ATTEST, {0: reading})),
        "ATT-03",
        flags=["authorization"],
    )
    # Windows, to the second: the slot ends at slot_end(s) = t0.
    end = slot_end(s)
    assert end == t0
    window = v.state.params.attestation_window_s
    before_end = Ledger.new(time=t0 - 1)
    before_end = small_village(before_end)
    suite.negative(
        "attest/ATT-04/last-second-of-slot",
        "Attesting slot s one second before it ends (now = slot_end - 1).",
        before_end.state,
        tx(before_end.make("attestor", Kind.ATTEST, {0: [_reading(103, s, 1000)]})),
        None,
        "ATT-04",
        twin_id="attest/valid/one-reading",
        flags=["boundary", "time"],
    )
    suite.negative(
        "attest/ATT-04/current-slot",
        "Attesting the slot the clock is in.",
        v.state,
        batch((103, s + 1, 1000, 0, 0)),
        None,
        "ATT-04",
        twin_id="attest/valid/one-reading",
        flags=["time"],
    )
    late = village()
    late.tick(end + window - 1)
    closed = village()
    closed.tick(end + window)
    suite.negative(
        "attest/ATT-05/window-closed",
        "Attesting at slot_end + attestation_window_s, the first second after the window.",
        closed.state,
        tx(closed.make("attestor", Kind.ATTEST, {0: [_reading(103, s, 1000)]})),
        tx(late.make("attestor", Kind.ATTEST, {0: [_reading(103, s, 1000)]})),
        "ATT-05",
        twin_pre=late.state,
        flags=["boundary", "time"],
    )
    done = village()
    must(done.attest([(103, s, 1000, 0)]))
    suite.negative(
        "attest/ATT-06/again-later",
        "Meter 103, slot s was attested by an earlier transaction.",
        done.state,
        tx(done.make("attestor", Kind.ATTEST, {0: [_reading(103, s, 900)]})),
        tx(done.make("attestor", Kind.ATTEST, {0: [_reading(104, s, 900)]})),
        "ATT-06",
    )
    suite.negative(
        "attest/ATT-06/twice-in-batch",
        "The same (meter, slot) twice in one batch.",
        v.state,
        batch(one, (103, s, 1000, 0, 0)),
        batch(one, (104, s, 1000, 0, 0)),
        "ATT-06",
    )
    suite.negative(
        "attest/ATT-06/zero-reading-counts",
        "A reading of 0 Wh both ways still uses up its (meter, slot).",
        _after(v, lambda led: led.attest([(103, s, 0, 0)])),
        tx(_nonce_make(v, 1, Kind.ATTEST, {0: [_reading(103, s, 10)]})),
        tx(_nonce_make(v, 1, Kind.ATTEST, {0: [_reading(104, s, 10)]})),
        "ATT-06",
        flags=["edge-case"],
    )
    capacity = 10_000
    for side, index in (("export", 2), ("import", 3)):
        over = [103, s, 0, 0, 0]
        over[index] = capacity + 1
        at = list(over)
        at[index] = capacity
        suite.negative(
            f"attest/ATT-07/{side}-over-capacity",
            f"{side.title()} of capacity + 1 Wh; exactly the capacity is accepted.",
            v.state,
            batch(tuple(over)),  # type: ignore[arg-type]
            batch(tuple(at)),  # type: ignore[arg-type]
            "ATT-07",
            flags=["boundary"],
        )
    for encumbrance in Encumbrance:
        suite.add(
            f"attest/valid/encumbrance-{encumbrance.name.lower()}",
            f"An export under {encumbrance.name} mints a lot carrying it.",
            v.state,
            [batch((103, s, 700, 300, int(encumbrance)))],
            expect=[None],
            flags=["valid"],
        )
    # ATT-10: a trader's import in one (zone, slot) is bounded by WH_MAX.
    big = village()
    must(big.meter(201, "alice", 3, capacity_wh=WH_MAX))
    must(big.meter(202, "alice", 3, capacity_wh=WH_MAX))
    suite.negative(
        "attest/ATT-10/demand-over-wh-max",
        "Two meters of alice in zone 1 import WH_MAX and 1 Wh in one slot.",
        big.state,
        tx(
            big.make(
                "attestor",
                Kind.ATTEST,
                {0: [_reading(201, s, 0, WH_MAX), _reading(202, s, 0, 1)]},
            )
        ),
        tx(
            big.make(
                "attestor",
                Kind.ATTEST,
                {0: [_reading(201, s, 0, WH_MAX), _reading(202, s, 0, 0)]},
            )
        ),
        "ATT-10",
        flags=["boundary"],
    )
    both = village()
    both.tick(end + window - 1)
    suite.add(
        "attest/valid/two-slots-in-window",
        "At slot_end(s) + window - 1, slot s is in the last second of its window and slot "
        "s + 1 has ended: one batch attests both.",
        both.state,
        [
            tx(
                both.make(
                    "attestor",
                    Kind.ATTEST,
                    {0: [_reading(103, s, 10), _reading(103, s + 1, 20)]},
                )
            )
        ],
        expect=[None],
        flags=["boundary", "time", "valid"],
    )


def _reading(meter: int, slot: int, exported: int, imported: int = 0) -> dict[int, int]:
    return {0: meter, 1: slot, 2: exported, 3: imported, 4: 0}


def _after(ledger: Ledger, action: Callable[[Ledger], Any]) -> State:
    copied = copy(ledger)
    must(action(copied))
    return copied.state


def _nonce_make(ledger: Ledger, extra: int, kind: Kind, body: Any) -> bytes:
    """The attestor's transaction one nonce after ``ledger``'s."""
    return ledger.make("attestor", kind, body, nonce=ledger.nonces.get("attestor", 0) + extra)


def group_orders(suite: Suite) -> None:
    """ORD, ASK, BID and CAN rules, at their bounds."""
    m = market()
    s = m.slot - 1
    close = trading_close(m.state.params, s)

    def ask(name: str, quantity: int, price: int = 2000, meter: int = 103, slot: int = s) -> Step:
        return tx(m.make(name, Kind.PLACE_ASK, {0: meter, 1: slot, 2: quantity, 3: price}))

    def bid(name: str, quantity: int, price: int = 2500, zone: int = 1, slot: int = s) -> Step:
        return tx(m.make(name, Kind.PLACE_BID, {0: zone, 1: slot, 2: quantity, 3: price}))

    suite.add("order/valid/ask", "Alice offers 1000 Wh of her lot.", m.state, [ask("alice", 1000)])
    suite.add("order/valid/bid", "Bob bids for 1000 Wh.", m.state, [bid("bob", 1000)])
    suite.add(
        "order/valid/ask-whole-lot",
        "Alice offers all 3000 unsold Wh.",
        m.state,
        [ask("alice", 3000)],
        expect=[None],
        flags=["boundary"],
    )
    suite.add(
        "order/valid/ask-max-price",
        "An ask at PRICE_MAX_SEN_PER_KWH.",
        m.state,
        [ask("alice", 1, PRICE_MAX_SEN_PER_KWH)],
        expect=[None],
        flags=["boundary"],
    )
    suite.add(
        "order/valid/bid-zero-price",
        "A bid at price 0 escrows only the wheeling fee.",
        m.state,
        [bid("bob", 10, 0)],
        expect=[None],
        flags=["boundary"],
    )
    suite.negative(
        "order/ORD-01/ask-zero",
        "An ask for 0 Wh.",
        m.state,
        ask("alice", 0),
        ask("alice", 1),
        "ORD-01",
        flags=["boundary"],
    )
    suite.negative(
        "order/ORD-01/bid-zero",
        "A bid for 0 Wh.",
        m.state,
        bid("bob", 0),
        bid("bob", 1),
        "ORD-01",
        flags=["boundary"],
    )
    last = market()
    last.tick(close - 1)
    shut = market()
    shut.tick(close)
    for side in ("ask", "bid"):
        who, body, kind = (
            ("alice", {0: 103, 1: s, 2: 100, 3: 2000}, Kind.PLACE_ASK)
            if side == "ask"
            else ("bob", {0: 1, 1: s, 2: 100, 3: 2500}, Kind.PLACE_BID)
        )
        suite.negative(
            f"order/ORD-02/{side}-at-trading-close",
            f"An {side} at trading_close(s), the first second its market no longer trades "
            "(and has just cleared).",
            shut.state,
            tx(shut.make(who, kind, body)),
            tx(last.make(who, kind, body)),
            "ORD-02",
            twin_pre=last.state,
            flags=["boundary", "time"],
        )
    past = market()
    suite.negative(
        "order/ORD-02/bid-for-old-slot",
        "A bid for a slot whose trading closed long ago, in a market that never existed.",
        past.state,
        tx(past.make("bob", Kind.PLACE_BID, {0: 1, 1: s - 10, 2: 100, 3: 2500})),
        tx(past.make("bob", Kind.PLACE_BID, {0: 1, 1: s, 2: 100, 3: 2500})),
        "ORD-02",
        flags=["time"],
    )
    # ORD-03: no account on both sides of one market. Dave exports and imports in zone 1.
    asked = market()
    must(asked.ask("dave", 106, s, 500, 2000))
    cancelled = copy(asked)
    must(cancelled.cancel("dave", 1))
    dave_bid = {0: 1, 1: s, 2: 100, 3: 2500}
    suite.negative(
        "order/ORD-03/bid-after-own-ask",
        "Dave has an open ask in (1, s) and bids there: a self-trade.",
        asked.state,
        tx(asked.make("dave", Kind.PLACE_BID, dave_bid)),
        tx(cancelled.make("dave", Kind.PLACE_BID, dave_bid)),
        "ORD-03",
        twin_pre=cancelled.state,
        flags=["self-trade"],
    )
    bidded = market()
    must(bidded.bid("dave", 1, s, 100, 2500))
    bid_cancelled = copy(bidded)
    must(bid_cancelled.cancel("dave", 1))
    dave_ask = {0: 106, 1: s, 2: 500, 3: 2000}
    suite.negative(
        "order/ORD-03/ask-after-own-bid",
        "Dave has an open bid in (1, s) and offers his lot there.",
        bidded.state,
        tx(bidded.make("dave", Kind.PLACE_ASK, dave_ask)),
        tx(bid_cancelled.make("dave", Kind.PLACE_ASK, dave_ask)),
        "ORD-03",
        twin_pre=bid_cancelled.state,
        flags=["self-trade"],
    )
    other_slot = copy(asked)
    must(other_slot.attest([(106, s - 1, 0, 100)]))
    suite.add(
        "order/valid/both-sides-other-slot",
        "Dave's ask in (1, s) does not stop a bid of his in (1, s - 1), backed by his import then.",
        other_slot.state,
        [tx(other_slot.make("dave", Kind.PLACE_BID, {0: 1, 1: s - 1, 2: 100, 3: 2500}))],
        expect=[None],
        flags=["self-trade", "valid"],
    )
    suite.add(
        "order/valid/two-asks-same-side",
        "Dave may hold two asks in one market.",
        asked.state,
        [tx(asked.make("dave", Kind.PLACE_ASK, {0: 106, 1: s, 2: 500, 3: 2100}))],
        expect=[None],
        flags=["boundary", "valid"],
    )
    # ASK rules.
    suite.negative(
        "order/ASK-01/no-such-lot",
        "Alice offers lot (103, s - 1), which was never minted.",
        m.state,
        ask("alice", 100, slot=s - 1),
        ask("alice", 100),
        "ASK-01",
    )
    suite.negative(
        "order/ASK-01/import-only-reading",
        "Bob's reading exported nothing, so it minted no lot.",
        m.state,
        ask("bob", 100, meter=104),
        ask("alice", 100),
        "ASK-01",
    )
    suite.negative(
        "order/ASK-02/not-owner",
        "Bob offers alice's lot.",
        m.state,
        ask("bob", 100),
        ask("alice", 100),
        "ASK-02",
        flags=["authorization"],
    )
    for encumbrance in (
        Encumbrance.FEED_IN_TARIFF,
        Encumbrance.J_CREDIT,
        Encumbrance.NON_FOSSIL_CERTIFICATE,
    ):
        e = village()
        must(e.attest([(103, s, 1000, 0, encumbrance), (105, s, 1000, 0, Encumbrance.NONE)]))
        suite.negative(
            f"order/ASK-03/{encumbrance.name.lower()}",
            f"Alice's lot carries {encumbrance.name}; carol's lot is unencumbered.",
            e.state,
            tx(e.make("alice", Kind.PLACE_ASK, {0: 103, 1: s, 2: 100, 3: 2000})),
            tx(e.make("carol", Kind.PLACE_ASK, {0: 105, 1: s, 2: 100, 3: 2000})),
            "ASK-03",
        )
    suite.negative(
        "order/ASK-04/one-over-unsold",
        "An ask for 3001 Wh of a 3000 Wh lot.",
        m.state,
        ask("alice", 3001),
        None,
        "ASK-04",
        twin_id="order/valid/ask-whole-lot",
        flags=["boundary"],
    )
    part = market()
    must(part.ask("alice", 103, s, 2000, 2000))
    suite.negative(
        "order/ASK-04/over-remaining",
        "After 2000 Wh are reserved, 1001 Wh cannot be offered; 1000 can.",
        part.state,
        tx(part.make("alice", Kind.PLACE_ASK, {0: 103, 1: s, 2: 1001, 3: 2000})),
        tx(part.make("alice", Kind.PLACE_ASK, {0: 103, 1: s, 2: 1000, 3: 2000})),
        "ASK-04",
        flags=["boundary", "double-spend"],
    )
    # BID rules.
    for zone, why in ((2, "node 2 is a transformer"), (3, "a service point"), (99, "unknown")):
        suite.negative(
            f"order/BID-01/zone-{zone}",
            f"A bid naming zone {zone}: {why}.",
            m.state,
            bid("bob", 100, zone=zone),
            bid("bob", 100),
            "BID-01",
        )
    poor = market()
    # Escrow = quantity x (max price + fee 100). Leave bob (2 500 Wh of import) exactly
    # 1000 x 2100 milli-sen plus the order fee.
    must(poor.withdraw("bob", 100_000 * 100_000 - 1000 * 2100 - ORDER_FEE_MSEN))
    suite.negative(
        "order/BID-02/escrow-one-over-balance",
        "Escrow 1000 x (2011 + 100) exceeds a balance of 1000 x (2000 + 100) + ORDER_FEE_MSEN "
        "by 1000.",
        poor.state,
        tx(poor.make("bob", Kind.PLACE_BID, {0: 1, 1: s, 2: 1000, 3: 2011})),
        tx(poor.make("bob", Kind.PLACE_BID, {0: 1, 1: s, 2: 1000, 3: 2000})),
        "BID-02",
        flags=["boundary"],
    )
    suite.negative(
        "order/BID-02/fee-counts",
        "Without the wheeling fee the escrow would fit: 2100 Wh x (1000 + 100) does not.",
        poor.state,
        tx(poor.make("bob", Kind.PLACE_BID, {0: 1, 1: s, 2: 2100, 3: 1000})),
        tx(poor.make("bob", Kind.PLACE_BID, {0: 1, 1: s, 2: 2000, 3: 950})),
        "BID-02",
        flags=["boundary", "fee"],
    )
    # ORD-05: the order id space ends at COUNTER_MAX (crafted: no ledger gets there).
    full_ids = replace(m.state, next_order_id=OrderId(COUNTER_MAX))
    last_id = replace(m.state, next_order_id=OrderId(COUNTER_MAX - 1))
    for side, step in (("ask", ask("alice", 100)), ("bid", bid("bob", 100))):
        suite.negative(
            f"order/ORD-05/{side}-when-ids-exhausted",
            f"An {side} when the next order id is COUNTER_MAX; at COUNTER_MAX - 1 it gets that "
            "last id.",
            full_ids,
            step,
            step,
            "ORD-05",
            twin_pre=last_id,
            crafted=True,
            flags=["boundary", "overflow"],
        )
    # CAN rules.
    orders = market()
    must(orders.ask("alice", 103, s, 1000, 2000))
    must(orders.bid("bob", 1, s, 1000, 2500))

    def cancel(led: Ledger, who: str, order: int) -> Step:
        return tx(led.make(who, Kind.CANCEL, {0: order}))

    suite.add(
        "order/valid/cancel-ask",
        "Cancelling an ask returns its Wh to the lot.",
        orders.state,
        [cancel(orders, "alice", 1)],
        expect=[None],
    )
    suite.add(
        "order/valid/cancel-bid",
        "Cancelling a bid returns its escrow.",
        orders.state,
        [cancel(orders, "bob", 2)],
        expect=[None],
    )
    suite.negative(
        "order/CAN-01/no-such-order",
        "Order 3 does not exist.",
        orders.state,
        cancel(orders, "alice", 3),
        None,
        "CAN-01",
        twin_id="order/valid/cancel-ask",
        flags=["boundary"],
    )
    suite.negative(
        "order/CAN-02/not-owner",
        "Bob cancels alice's ask.",
        orders.state,
        cancel(orders, "bob", 1),
        None,
        "CAN-02",
        twin_id="order/valid/cancel-ask",
        flags=["authorization"],
    )
    twice = copy(orders)
    must(twice.cancel("alice", 1))
    suite.negative(
        "order/CAN-03/already-cancelled",
        "Alice cancels her ask a second time.",
        twice.state,
        cancel(twice, "alice", 1),
        cancel(twice, "bob", 2),
        "CAN-03",
    )
    cleared = copy(orders)
    cleared.tick(close)
    reopened = copy(orders)
    suite.negative(
        "order/CAN-03/after-clearing",
        "After its market cleared, an order is closed and cannot be cancelled.",
        cleared.state,
        cancel(cleared, "bob", 2),
        cancel(reopened, "bob", 2),
        "CAN-03",
        twin_pre=reopened.state,
        flags=["time"],
    )


def group_money(suite: Suite) -> None:
    """MNY-01 .. MNY-04 with amounts at and one past their bounds."""
    v = village()
    balance = v.state.accounts[key_of("alice")].balance
    total = v.state.total_deposited

    def send(who: str, kind: Kind, body: Any) -> Step:
        return tx(v.make(who, kind, body))

    alice, mallory = key_of("alice"), key_of("mallory")
    suite.negative(
        "money/MNY-01/deposit-to-unknown",
        "A deposit to an unregistered key.",
        v.state,
        send("operator", Kind.DEPOSIT, {0: mallory, 1: 100}),
        send("operator", Kind.DEPOSIT, {0: alice, 1: 100}),
        "MNY-01",
    )
    suite.negative(
        "money/MNY-01/transfer-to-unknown",
        "A transfer to an unregistered key.",
        v.state,
        send("alice", Kind.TRANSFER, {0: mallory, 1: 100}),
        send("alice", Kind.TRANSFER, {0: key_of("bob"), 1: 100}),
        "MNY-01",
    )
    for kind, who, zero, one in (
        (Kind.DEPOSIT, "operator", {0: alice, 1: 0}, {0: alice, 1: 1}),
        (Kind.WITHDRAW, "alice", {0: 0}, {0: 1}),
        (Kind.TRANSFER, "alice", {0: key_of("bob"), 1: 0}, {0: key_of("bob"), 1: 1}),
    ):
        suite.negative(
            f"money/MNY-02/{kind.name.lower()}-zero",
            f"A {kind.name} of 0 milli-sen; 1 is the least.",
            v.state,
            send(who, kind, zero),
            send(who, kind, one),
            "MNY-02",
            flags=["boundary"],
        )
    for kind, over, at in (
        (Kind.WITHDRAW, {0: balance + 1}, {0: balance}),
        (Kind.TRANSFER, {0: key_of("bob"), 1: balance + 1}, {0: key_of("bob"), 1: balance}),
    ):
        suite.negative(
            f"money/MNY-03/{kind.name.lower()}-one-over-balance",
            f"A {kind.name} of the whole balance + 1; the whole balance is accepted.",
            v.state,
            send("alice", kind, over),
            send("alice", kind, at),
            "MNY-03",
            flags=["boundary"],
        )
    suite.add(
        "money/valid/transfer-to-self",
        "A transfer to oneself changes nothing but the nonce.",
        v.state,
        [send("alice", Kind.TRANSFER, {0: alice, 1: balance})],
        expect=[None],
        flags=["edge-case", "valid"],
    )
    room = MONEY_MAX_MSEN - total
    suite.negative(
        "money/MNY-04/deposit-past-money-max",
        "A deposit that would bring total deposits to MONEY_MAX_MSEN + 1.",
        v.state,
        send("operator", Kind.DEPOSIT, {0: alice, 1: room + 1}),
        send("operator", Kind.DEPOSIT, {0: alice, 1: room}),
        "MNY-04",
        flags=["boundary", "overflow"],
    )
    full = village()
    must(full.deposit("alice", room))
    suite.negative(
        "money/MNY-04/deposit-when-full",
        "Total deposits are at MONEY_MAX_MSEN: one more milli-sen is refused.",
        full.state,
        tx(full.make("operator", Kind.DEPOSIT, {0: alice, 1: 1})),
        tx(full.make("alice", Kind.WITHDRAW, {0: 1})),
        "MNY-04",
        flags=["boundary", "overflow"],
    )


def group_encoding(suite: Suite) -> None:
    """ENC-01 .. ENC-15: malformed and non-deterministic CBOR, each with its code."""
    v = village()
    chain = v.state.params.chain_id
    seed = seed_of("alice")
    body = {0: 1}
    entries = envelope_entries(seed, chain, int(Kind.WITHDRAW), 0, body)
    good = raw_map(entries)
    assert good == v.make("alice", Kind.WITHDRAW, body)
    base = "encoding/valid/withdraw"
    suite.add(
        base,
        "Alice withdraws 1 milli-sen: the base of the encoding vectors.",
        v.state,
        [tx(good)],
        expect=[None],
        flags=["valid"],
    )

    def bad(name: str, data: bytes, rule_id: str, description: str, *flags: str) -> None:
        suite.negative(
            f"encoding/{rule_id}/{name}",
            description,
            v.state,
            tx(data),
            None,
            rule_id,
            twin_id=base,
            flags=["encoding", *flags],
        )

    def replaced(index: int, value: bytes) -> bytes:
        return raw_map([(k, value if i == index else v_) for i, (k, v_) in enumerate(entries)])

    for cut in range(len(good)):
        bad(
            f"truncated-at-{cut:03d}",
            good[:cut],
            "ENC-01",
            f"The base transaction cut after {cut} of its {len(good)} bytes.",
            "truncation",
        )
    for initial in (0x1C, 0x1D, 0x1E, 0x3C, 0x5C, 0x7C, 0x9C, 0xBC, 0xFC, 0xFD, 0xFE):
        bad(
            f"reserved-head-{initial:02x}",
            replaced(3, bytes([initial])),
            "ENC-01",
            f"The nonce is the reserved head 0x{initial:02x}.",
        )
    bad("break-as-item", replaced(3, b"\xff"), "ENC-01", "A lone break code as the nonce.")
    bad(
        "count-beyond-input",
        replaced(4, b"\x9b" + (2**63).to_bytes(8, "big")),
        "ENC-01",
        "The body is an array declaring 2^63 items.",
        "resource",
    )
    for width, arg_name in ((1, "1-byte"), (2, "2-byte"), (4, "4-byte"), (8, "8-byte")):
        bad(
            f"nonce-non-shortest-{arg_name}",
            replaced(3, head(0, 0, width)),
            "ENC-02",
            f"The nonce 0 written with a {arg_name} argument.",
            "non-canonical",
        )
    bad(
        "length-non-shortest",
        replaced(5, head(2, 64, 2) + entries[5][1][2:]),
        "ENC-02",
        "The 64-byte signature's length written in 2 bytes.",
        "non-canonical",
    )
    bad(
        "map-count-non-shortest",
        head(5, 6, 1) + b"".join(k + v_ for k, v_ in entries),
        "ENC-02",
        "The envelope map's count 6 written with a 1-byte argument.",
        "non-canonical",
    )
    bad(
        "boundary-23-as-1-byte",
        replaced(4, raw_map([(b"\x00", head(0, 23, 1))])),
        "ENC-02",
        "The amount 23, the largest one-byte head, written with a 1-byte argument.",
        "non-canonical",
        "boundary",
    )
    bad(
        "boundary-255-as-2-bytes",
        replaced(4, raw_map([(b"\x00", head(0, 255, 2))])),
        "ENC-02",
        "The amount 255 written with a 2-byte argument.",
        "non-canonical",
        "boundary",
    )
    bad(
        "indefinite-body-map",
        replaced(4, raw_map([(b"\x00", b"\x01")], indefinite=True)),
        "ENC-03",
        "The body as an indefinite-length map.",
        "non-canonical",
    )
    sig = entries[5][1][2:]
    bad(
        "indefinite-signature",
        replaced(5, b"\x5f" + head(2, 32) + sig[:32] + head(2, 32) + sig[32:] + b"\xff"),
        "ENC-03",
        "The signature as an indefinite-length byte string of two chunks.",
        "non-canonical",
    )
    chain_raw = chain.encode()
    bad(
        "indefinite-chain-id",
        replaced(0, b"\x7f" + head(3, len(chain_raw)) + chain_raw + b"\xff"),
        "ENC-03",
        "The chain id as an indefinite-length text string.",
        "non-canonical",
    )
    swapped = [entries[1], entries[0], *entries[2:]]
    bad("keys-swapped", raw_map(swapped), "ENC-04", "Envelope keys 1 before 0.", "non-canonical")
    last_first = [entries[5], *entries[:5]]
    bad("key-5-first", raw_map(last_first), "ENC-04", "Key 5 first.", "non-canonical")
    bad(
        "duplicate-nonce",
        raw_map([*entries[:4], entries[3], *entries[4:]]),
        "ENC-05",
        "Key 3 (the nonce, same value) twice.",
    )
    bad(
        "duplicate-body-key",
        replaced(4, raw_map([(b"\x00", b"\x01"), (b"\x00", b"\x01")])),
        "ENC-05",
        "The body's key 0 twice.",
    )
    for name, raw in (
        ("half-float", b"\xf9\x00\x00"),
        ("single-float", b"\xfa\x00\x00\x00\x00"),
        ("double-float", b"\xfb" + bytes(8)),
        ("undefined", b"\xf7"),
        ("simple-16", b"\xf0"),
        ("simple-32", b"\xf8\x20"),
        ("false-in-two-bytes", b"\xf8\x14"),
    ):
        bad(f"nonce-{name}", replaced(3, raw), "ENC-06", f"The nonce is {name}.")
    for name, index, tag in (
        ("sender-tag-24", 2, b"\xd8\x18"),
        ("nonce-bignum-tag", 3, b"\xc2"),
        ("chain-tag-0", 0, b"\xc0"),
        ("self-describe-tag", None, b"\xd9\xd9\xf7"),
    ):
        data = tag + good if index is None else replaced(index, tag + entries[index][1])
        bad(name, data, "ENC-07", f"A tag ({tag.hex()}) where none is allowed.")
    bad("trailing-zero", good + b"\x00", "ENC-08", "One 0x00 byte after the transaction.")
    bad("two-transactions", good + good, "ENC-08", "The transaction twice, back to back.")

    # ENC-09: no valid transaction can reach MAX_TX_BYTES, so the twin is the same padded
    # input one byte shorter, which passes the size check and fails the schema (ENC-12).
    def padded(total: int) -> bytes:
        for pad in range(total, 0, -1):
            extra = (encode(6), encode(bytes(pad)))
            data = raw_map([*entries, extra])
            if len(data) == total:
                return data
        raise GenerationError("cannot pad")

    suite.negative(
        "encoding/ENC-09/one-over-max-tx-bytes",
        f"A transaction of MAX_TX_BYTES + 1 = {MAX_TX_BYTES + 1} bytes (an unknown field pads "
        "it): the size is checked before anything else.",
        v.state,
        tx(padded(MAX_TX_BYTES + 1)),
        tx(padded(MAX_TX_BYTES)),
        "ENC-09",
        twin_rule="ENC-12",
        flags=["encoding", "boundary", "resource"],
    )

    def nested(levels: int) -> bytes:
        return b"\x81" * (levels - 1) + b"\x80"

    # The envelope is level 1 and the body level 2, so 14 arrays nest to level 16.
    suite.negative(
        "encoding/ENC-10/seventeen-levels",
        "The amount is 15 nested arrays: level 17 exceeds MAX_DEPTH = 16.",
        v.state,
        tx(replaced(4, raw_map([(b"\x00", nested(15))]))),
        tx(replaced(4, raw_map([(b"\x00", nested(14))]))),
        "ENC-10",
        twin_rule="ENC-14",
        flags=["encoding", "boundary", "resource"],
    )
    for name, raw in (
        ("invalid-byte-ff", b"kwhledger-tes\xff"),
        ("overlong-slash", b"kwhledger-te\xc0\xaf"),
        ("surrogate", b"kwhledger-t\xed\xa0\x80"),
        ("truncated-sequence", b"kwhledger-te\xe2\x82"),
    ):
        assert len(raw) == len(chain_raw)
        bad(name, replaced(0, head(3, len(raw)) + raw), "ENC-11", f"Chain id with {name} UTF-8.")

    # Schema rules: a valid signature over whatever body is sent, so only the schema is wrong.
    def signed_body(any_body: Any, kind: Kind = Kind.WITHDRAW) -> bytes:
        return raw_map(envelope_entries(seed, chain, int(kind), 0, any_body))

    bad(
        "unknown-envelope-key",
        raw_map([*entries, (encode(6), encode(0))]),
        "ENC-12",
        "The envelope has a key 6.",
    )
    bad("unknown-body-key", signed_body({0: 1, 1: 1}), "ENC-12", "The body has a key 1.")
    bad("text-body-key", signed_body({0: 1, "memo": "hi"}), "ENC-12", 'A text key "memo".')
    bad("missing-signature", raw_map(entries[:5]), "ENC-13", "The envelope has no key 5.")
    bad("missing-nonce", raw_map(entries[:3] + entries[4:]), "ENC-13", "No nonce (key 3).")
    bad("empty-body", signed_body({}), "ENC-13", "The body lacks the amount.")
    bad(
        "bytes-map-key",
        raw_map([*entries, (encode(b"\x00"), encode(0))]),
        "ENC-14",
        "A byte string as a map key.",
    )
    bad("body-is-array", signed_body([1]), "ENC-14", "The body is an array, not a map.")
    bad("amount-is-bool", signed_body({0: True}), "ENC-14", "The amount is true.")
    bad("amount-is-text", signed_body({0: "1"}), "ENC-14", 'The amount is "1".')
    bad(
        "amount-is-negative",
        signed_body({0: -1}),
        "ENC-15",
        "The amount is -1: an integer, but below the unit's bound 0.",
        "boundary",
    )
    bad("nonce-is-null", replaced(3, b"\xf6"), "ENC-14", "The nonce is null.")
    bad("amount-is-false", signed_body({0: False}), "ENC-14", "The amount is false.")
    bad("chain-id-is-integer", replaced(0, encode(7)), "ENC-14", "The chain id is 7.")
    bad("kind-is-negative", replaced(1, encode(-1)), "ENC-15", "The kind is -1.", "boundary")
    suite.negative(
        "encoding/ENC-15/roles-negative",
        "Registering an account with roles -1.",
        v.state,
        tx(v.make("operator", Kind.REGISTER_ACCOUNT, {0: key_of("ivan"), 1: -1})),
        None,
        "ENC-15",
        twin_id="account/ACC-03/roles-0-repaired",
        flags=["encoding", "boundary"],
    )
    bad("envelope-is-array", encode([0, 1]), "ENC-14", "The transaction is an array.")
    bad("sender-is-text", replaced(2, encode("alice")), "ENC-14", "The sender is text.")
    bad(
        "sender-31-bytes",
        replaced(2, encode(key_of("alice")[:31])),
        "ENC-15",
        "A 31-byte sender.",
        "boundary",
    )
    bad(
        "signature-65-bytes",
        replaced(5, encode(sig + b"\x00")),
        "ENC-15",
        "A 65-byte signature.",
        "boundary",
    )
    bad(
        "amount-2-pow-63",
        signed_body({0: 2**63}),
        "ENC-15",
        "The amount MONEY_MAX_MSEN + 1.",
        "boundary",
    )
    bad(
        "nonce-2-pow-64-minus-1",
        replaced(3, encode(2**64 - 1)),
        "ENC-15",
        "Nonce 2^64 - 1 is beyond COUNTER_MAX.",
        "boundary",
    )
    bad("empty-chain-id", replaced(0, encode("")), "ENC-15", "An empty chain id.", "boundary")
    # Bounds with an accepted twin, on other kinds.
    m = market()
    s = m.slot - 1
    suite.negative(
        "encoding/ENC-15/price-over-max",
        "A bid's max price PRICE_MAX_SEN_PER_KWH + 1; the maximum itself is accepted.",
        m.state,
        tx(m.make("bob", Kind.PLACE_BID, {0: 1, 1: s, 2: 1, 3: PRICE_MAX_SEN_PER_KWH + 1})),
        tx(m.make("bob", Kind.PLACE_BID, {0: 1, 1: s, 2: 1, 3: PRICE_MAX_SEN_PER_KWH})),
        "ENC-15",
        flags=["encoding", "boundary"],
    )
    for field_name, index, over, at in (
        ("source", 4, len(Source), len(Source) - 1),
        ("capacity", 5, WH_MAX + 1, WH_MAX),
        ("meter-id", 0, 2**32, 2**32 - 1),
    ):
        base_body = {0: 200, 1: key_of("alice"), 2: key_of("attestor"), 3: 3, 4: 0, 5: 1000}
        bad_body, good_body = dict(base_body), dict(base_body)
        bad_body[index], good_body[index] = over, at
        suite.negative(
            f"encoding/ENC-15/meter-{field_name}-over",
            f"A meter's {field_name} one past its bound.",
            v.state,
            tx(v.make("operator", Kind.REGISTER_METER, bad_body)),
            tx(v.make("operator", Kind.REGISTER_METER, good_body)),
            "ENC-15",
            flags=["encoding", "boundary"],
        )
    suite.negative(
        "encoding/ENC-15/node-kind-3",
        "Node kind 3 does not exist.",
        v.state,
        tx(v.make("operator", Kind.REGISTER_NODE, {0: 7, 1: 3, 2: 2, 3: 0})),
        tx(v.make("operator", Kind.REGISTER_NODE, {0: 7, 1: 2, 2: 2, 3: 0})),
        "ENC-15",
        flags=["encoding", "boundary"],
    )
    suite.negative(
        "encoding/ENC-15/encumbrance-4",
        "Encumbrance 4 does not exist.",
        v.state,
        tx(v.make("attestor", Kind.ATTEST, {0: [{0: 103, 1: s, 2: 1, 3: 0, 4: 4}]})),
        tx(v.make("attestor", Kind.ATTEST, {0: [{0: 103, 1: s, 2: 1, 3: 0, 4: 3}]})),
        "ENC-15",
        flags=["encoding", "boundary"],
    )
    long_chain = "c" * 64
    lc = small_village(Ledger.new(chain_id=long_chain))
    too_long = raw_map(
        envelope_entries(seed_of("alice"), long_chain + "c", int(Kind.WITHDRAW), 0, body)
    )
    suite.negative(
        "encoding/ENC-15/chain-id-65-bytes",
        "On a chain whose id has the longest allowed 64 bytes, a chain id of 65 bytes.",
        lc.state,
        tx(too_long),
        tx(lc.make("alice", Kind.WITHDRAW, body)),
        "ENC-15",
        flags=["encoding", "boundary"],
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


def group_blocks(suite: Suite) -> None:
    """BLK-01 .. BLK-11 with a three-validator quorum, and block-level encoding."""
    v = with_validators("validator-1", "validator-2", "validator-3")
    t = v.state.time + 60
    body = {0: key_of("alice"), 1: 1}
    deposit = v.make("operator", Kind.DEPOSIT, body)
    two = ("validator-1", "validator-2")
    base = "block/valid/two-of-three"
    good = forge_block(v.state, [deposit], t, signers=two)
    suite.add(
        base,
        "A block with one deposit signed by two of three validators (quorum).",
        v.state,
        [block(good)],
        expect=[None],
        flags=["valid", "boundary"],
    )
    suite.add(
        "block/valid/three-of-three",
        "All three validators sign.",
        v.state,
        [block(forge_block(v.state, [deposit], t, signers=(*two, "validator-3")))],
        expect=[None],
        flags=["valid"],
    )
    suite.add(
        "block/valid/empty-same-time",
        "An empty block at the ledger's own time: time may stand still (BLK-04).",
        v.state,
        [block(forge_block(v.state, [], v.state.time, signers=two))],
        expect=[None],
        flags=["valid", "boundary", "time"],
    )

    def bad(name: str, data: bytes, rule_id: str, description: str, *flags: str) -> None:
        suite.negative(
            f"block/{rule_id}/{name}",
            description,
            v.state,
            block(data),
            None,
            rule_id,
            twin_id=base,
            flags=["block", *flags],
        )

    def forged(**changes: Any) -> bytes:
        return forge_block(v.state, [deposit], t, **{"signers": two, **changes})

    bad("other-chain", forged(chain_id="kwhledger-other"), "BLK-01", "Header of another chain.")
    bad("height-skips", forged(height=Height(v.state.height + 2)), "BLK-02", "Height + 2.")
    bad("height-repeats", forged(height=v.state.height), "BLK-02", "The ledger's own height.")
    bad(
        "wrong-parent",
        forged(parent=bytes(31) + b"\x01"),
        "BLK-03",
        "A parent that is not the tip.",
    )
    bad(
        "time-goes-back",
        forge_block(v.state, [deposit], v.state.time - 1, signers=two),
        "BLK-04",
        "Timestamp one second before the ledger's time.",
        "time",
        "boundary",
    )
    bad(
        "proposer-is-trader",
        forged(proposer="alice"),
        "BLK-05",
        "Alice proposes.",
        "authorization",
    )
    bad(
        "signer-not-validator",
        forged(signers=("validator-1", "validator-2", "alice")),
        "BLK-06",
        "Alice's valid signature among the votes.",
        "authorization",
    )
    bad(
        "signers-descending",
        forged(sort_signers=False, signers=tuple(sorted(two, key=key_of, reverse=True))),
        "BLK-06",
        "Two valid votes in descending order of validator id.",
    )
    header = _decode_header(good)
    dup = vote_of("validator-1", header)
    bad("duplicate-signer", forged(signatures=[dup, dup]), "BLK-06", "The same vote twice.")
    flipped = bytearray(vote_of("validator-2", header)[1])
    flipped[5] ^= 1
    pairs = sorted([vote_of("validator-1", header), (key_of("validator-2"), bytes(flipped))])
    bad(
        "bad-signature",
        forged(signatures=pairs),
        "BLK-06",
        "A vote with one bit flipped.",
        "signature",
    )
    stale = vote_of("validator-2", replace(header, timestamp=Timestamp(t + 1)))
    bad(
        "vote-for-other-header",
        forged(signatures=sorted([vote_of("validator-1", header), stale])),
        "BLK-06",
        "A vote for a header with another timestamp.",
        "signature",
    )
    bad(
        "one-of-three", forged(signers=("validator-1",)), "BLK-07", "One vote of three.", "boundary"
    )
    bad("no-votes", forged(signers=()), "BLK-07", "No votes at all.")
    bad("wrong-tx-root", forged(tx_root=bytes(32)), "BLK-08", "Transaction root of zeros.")
    bad(
        "tx-root-of-empty",
        forged(tx_root=merkle_root([])),
        "BLK-08",
        "Transaction root of an empty block.",
    )
    invalid_tx = v.make("operator", Kind.DEPOSIT, {0: key_of("mallory"), 1: 1})
    bad(
        "invalid-transaction",
        forge_block(v.state, [deposit, invalid_tx], t, signers=two),
        "BLK-09",
        "The second transaction deposits to an unknown account (MNY-01).",
        "atomicity",
    )
    bad(
        "non-canonical-transaction",
        forge_block(v.state, [deposit + b"\x00"], t, signers=two),
        "BLK-09",
        "The transaction has a trailing byte (ENC-08).",
        "encoding",
    )
    bad(
        "replayed-transaction",
        forge_block(v.state, [deposit, deposit], t, signers=two),
        "BLK-09",
        "The same deposit twice: the second has a stale nonce (TX-05).",
        "replay",
    )
    bad("wrong-state-root", forged(state_root=bytes(32)), "BLK-10", "State root of zeros.")
    pre_root = state_root(v.state)
    bad("state-root-before", forged(state_root=pre_root), "BLK-10", "The root before the block.")
    many = [b""] * (MAX_BLOCK_TXS + 1)
    suite.negative(
        "block/BLK-11/one-over-max-txs",
        "MAX_BLOCK_TXS + 1 (empty) transactions: the count is checked right after the chain.",
        v.state,
        block(forge_block(v.state, many, t, signers=two)),
        block(forge_block(v.state, many[:-1], t, signers=two)),
        "BLK-11",
        twin_rule="BLK-09",
        flags=["block", "boundary", "resource"],
    )
    # Small-order validator key: a forged vote verifies under the bare equation.
    weird = craft_account(v.state, edwards.IDENTITY_KEY, Role.VALIDATOR)
    votes = [vote_of(n, header) for n in ("validator-1", "validator-2", "validator-3")]
    weird_header = _decode_header(
        forge_block(weird, [deposit], t, signers=("validator-1", "validator-2", "validator-3"))
    )
    weird_votes = [vote_of(n, weird_header) for n in ("validator-1", "validator-2", "validator-3")]
    forged_vote = (edwards.IDENTITY_KEY, edwards.IDENTITY_KEY + edwards.ZERO_S)
    del votes
    suite.negative(
        "block/BLK-06/forged-small-order-validator",
        "A validator registered (crafted pre-state) with the identity point as key casts the "
        "vote R = identity, S = 0.",
        weird,
        block(
            forge_block(
                weird,
                [deposit],
                t,
                signatures=sorted([*weird_votes[:2], forged_vote]),
            )
        ),
        block(forge_block(weird, [deposit], t, signatures=sorted(weird_votes))),
        "BLK-06",
        crafted=True,
        flags=["block", "signature", "ed25519", "small-order-key"],
    )
    # Block-level encoding.
    block_map = _decode_block(good)
    header_entries = [(encode(k), encode(x)) for k, x in sorted(block_map[0].items())]
    height_long = [
        (k, head(0, int(block_map[0][1]), 8) if i == 1 else x)
        for i, (k, x) in enumerate(header_entries)
    ]
    tx_items = b"".join(encode(t) for t in block_map[1])
    block_entries = [(encode(k), encode(x)) for k, x in sorted(block_map.items())]
    enc_cases: list[tuple[str, bytes, str, str]] = [
        (
            "height-non-shortest",
            raw_map([(encode(0), raw_map(height_long)), *block_entries[1:]]),
            "ENC-02",
            "The header's height in an 8-byte head.",
        ),
        (
            "transactions-indefinite",
            raw_map(
                [block_entries[0], (encode(1), b"\x9f" + tx_items + b"\xff"), block_entries[2]]
            ),
            "ENC-03",
            "The transaction list as an indefinite-length array.",
        ),
        (
            "keys-unsorted",
            raw_map([block_entries[1], block_entries[0], block_entries[2]]),
            "ENC-04",
            "Block keys 1, 0, 2.",
        ),
        ("trailing-byte", good + b"\x00", "ENC-08", "A byte after the block."),
        ("truncated", good[:-1], "ENC-01", "The block's last byte is missing."),
        ("unknown-field", encode({**block_map, 3: 0}), "ENC-12", "The block has a key 3."),
        ("missing-signatures", encode({0: block_map[0], 1: block_map[1]}), "ENC-13", "No key 2."),
        ("signatures-not-array", encode({**block_map, 2: {}}), "ENC-14", "Signatures as a map."),
        (
            "header-missing-proposer",
            encode({**block_map, 0: {k: x for k, x in block_map[0].items() if k != 6}}),
            "ENC-13",
            "The header lacks key 6.",
        ),
        (
            "header-height-negative",
            encode({**block_map, 0: {**block_map[0], 1: -1}}),
            "ENC-15",
            "Height -1.",
        ),
        (
            "oversized-transaction",
            encode({**block_map, 1: [bytes(MAX_TX_BYTES + 1)]}),
            "ENC-15",
            "A transaction entry of MAX_TX_BYTES + 1 bytes.",
        ),
        (
            "signature-pair-of-three",
            encode({**block_map, 2: [[b"", b"", b""]]}),
            "ENC-15",
            "A signature entry of three elements.",
        ),
        ("block-is-bytes", encode(good), "ENC-14", "The block wrapped in a byte string."),
        ("transaction-is-text", encode({**block_map, 1: ["x"]}), "ENC-14", "A text entry."),
        ("signature-entry-is-bytes", encode({**block_map, 2: [b"x"]}), "ENC-14", "Not a pair."),
    ]
    for name, data, rule_id, description in enc_cases:
        bad(name, data, rule_id, description, "encoding")


def _decode_block(data: bytes) -> dict[Any, Any]:
    value = decode(data, max_size=2**24)
    assert isinstance(value, dict)
    return value


def _decode_header(data: bytes) -> Header:
    return decode_block(data).header


def group_clock(suite: Suite) -> None:
    """Ticks: time never goes back (BLK-04); markets clear at trading close to the second."""
    m = market()
    s = m.slot - 1
    close = trading_close(m.state.params, s)
    must(m.ask("alice", 103, s, 2000, 2000))
    must(m.bid("bob", 1, s, 2000, 2400))
    suite.add(
        "clock/valid/same-time",
        "A tick to the ledger's own time changes nothing.",
        m.state,
        [tick(m.state.time)],
        expect=[None],
        flags=["boundary", "time", "valid"],
    )
    suite.negative(
        "clock/BLK-04/one-second-back",
        "A tick one second back.",
        m.state,
        tick(m.state.time - 1),
        None,
        "BLK-04",
        twin_id="clock/valid/same-time",
        flags=["boundary", "time"],
    )
    suite.negative(
        "clock/BLK-04/to-zero",
        "A tick to time 0.",
        m.state,
        tick(0),
        None,
        "BLK-04",
        twin_id="clock/valid/same-time",
        flags=["time"],
    )
    suite.add(
        "clock/valid/last-second-before-close",
        "At trading_close - 1 the market is still open.",
        m.state,
        [tick(close - 1)],
        expect=[None],
        flags=["boundary", "time"],
    )
    suite.add(
        "clock/valid/at-trading-close",
        "At trading_close the market clears: 2000 Wh at floor((2000 + 2400) / 2) = 2200.",
        m.state,
        [tick(close)],
        expect=[None],
        flags=["boundary", "time", "clearing"],
    )
    suite.add(
        "clock/valid/far-future",
        "A tick to TIME_MAX_S clears everything due.",
        m.state,
        [tick(2**40 - 1)],
        expect=[None],
        flags=["boundary", "time", "clearing"],
    )
    suite.negative(
        "clock/ENC-15/past-time-max",
        "A tick to TIME_MAX_S + 1: a time beyond its unit is rejected, never wrapped.",
        m.state,
        tick(2**40),
        None,
        "ENC-15",
        twin_id="clock/valid/far-future",
        flags=["boundary", "time", "overflow"],
    )
    suite.add(
        "clock/valid/close-then-back",
        "Clearing at trading close, then a tick back is refused and changes nothing.",
        m.state,
        [tick(close), tick(close - 1), tick(close)],
        expect=[None, "BLK-04", None],
        flags=["time", "clearing"],
    )


# --- Clearing -------------------------------------------------------------------------------


def auction_village() -> Ledger:
    """Zone 1 with ten traders (t0 .. t9, service points 20 .. 29, meter = node + 100) and
    zone 10 with four (t10 .. t13, service points 30 .. 33); 10 000 yen each."""
    ledger = Ledger.new()
    ledger.node(1, NodeKind.SUBSTATION, None, 100)
    ledger.node(2, NodeKind.TRANSFORMER, 1)
    ledger.node(10, NodeKind.SUBSTATION, 1, 50)
    ledger.node(11, NodeKind.TRANSFORMER, 10)
    for i in range(14):
        node = 20 + i
        ledger.node(node, NodeKind.SERVICE_POINT, 2 if i < 10 else 11)
        ledger.register(f"t{i}")
        ledger.meter(node + 100, f"t{i}", node, capacity_wh=100_000)
        ledger.deposit(f"t{i}", 10_000 * 100_000)
    for receipt in ledger.receipts:
        must(receipt)
    return ledger


@cache
def _auction_village() -> Ledger:
    return auction_village()


@dataclass(frozen=True)
class Plan:
    """One trader's part in an auction vector."""

    trader: int
    exported: int
    imported: int
    asks: tuple[tuple[int, int], ...]
    """(quantity, min price) of each ask."""
    bids: tuple[tuple[int, int, int], ...]
    """(zone, quantity, max price) of each bid."""


def auction_vector(
    suite: Suite, vector_id: str, description: str, plans: Sequence[Plan], flags: Iterable[str]
) -> None:
    """Readings in the pre-state; the orders and the clearing tick are the steps."""
    ledger = copy(_auction_village())
    s = ledger.slot - 1
    readings = [
        (120 + p.trader, s, p.exported, p.imported) for p in plans if p.exported or p.imported
    ]
    if readings:
        must(ledger.attest(readings))
    pre = ledger.state
    steps = []
    for p in plans:
        name = f"t{p.trader}"
        for quantity, price in p.asks:
            steps.append(
                tx(
                    ledger.make(
                        name, Kind.PLACE_ASK, {0: 120 + p.trader, 1: s, 2: quantity, 3: price}
                    )
                )
            )
            ledger.nonces[name] = ledger.nonces.get(name, 0) + 1
        for zone, quantity, price in p.bids:
            steps.append(
                tx(ledger.make(name, Kind.PLACE_BID, {0: zone, 1: s, 2: quantity, 3: price}))
            )
            ledger.nonces[name] = ledger.nonces.get(name, 0) + 1
    steps.append(tick(trading_close(pre.params, s)))
    suite.add(
        vector_id,
        description,
        pre,
        steps,
        expect=[None] * len(steps),
        flags=["clearing", *flags],
    )


def group_clearing(suite: Suite) -> None:
    """Hand-made auctions at the edges of CLR-02 .. CLR-08, then seeded random ones."""
    hand: list[tuple[str, str, list[Plan], list[str]]] = [
        (
            "worked-example",
            "The clearing module's worked example: 800 Wh at 2400.",
            [
                Plan(0, 300, 0, ((300, 2000),), ()),
                Plan(1, 500, 0, ((500, 2400),), ()),
                Plan(2, 0, 400, (), ((1, 400, 2600),)),
                Plan(3, 0, 600, (), ((1, 600, 2400),)),
            ],
            ["valid"],
        ),
        (
            "pro-rata-remainder",
            "Ten Wh to three bids of 4, 4, 3 at one price: shares 3, 3, 2, the two left Wh "
            "to the lowest order ids: 4, 4, 2.",
            [
                Plan(0, 10, 0, ((10, 1000),), ()),
                Plan(1, 0, 4, (), ((1, 4, 1500),)),
                Plan(2, 0, 4, (), ((1, 4, 1500),)),
                Plan(3, 0, 3, (), ((1, 3, 1500),)),
            ],
            ["rationing", "tie"],
        ),
        (
            "ask-side-tie",
            "Two asks at the marginal price share a 7 Wh bid pro rata: 3 and 3, and the Wh "
            "left goes to the lower order id: fills 4 and 3.",
            [
                Plan(0, 5, 0, ((5, 2000),), ()),
                Plan(1, 5, 0, ((5, 2000),), ()),
                Plan(2, 0, 7, (), ((1, 7, 2500),)),
            ],
            ["rationing", "tie"],
        ),
        (
            "equal-price-tie-at-margin",
            "Bid and ask limits equal at the margin: the price is that limit.",
            [
                Plan(0, 100, 0, ((100, 2000),), ()),
                Plan(1, 0, 100, (), ((1, 100, 2000),)),
            ],
            ["tie", "boundary"],
        ),
        (
            "one-sen-apart",
            "Bid 2001, ask 2000: the midpoint rounds down to 2000.",
            [
                Plan(0, 100, 0, ((100, 2000),), ()),
                Plan(1, 0, 100, (), ((1, 100, 2001),)),
            ],
            ["rounding", "boundary"],
        ),
        (
            "no-cross",
            "The best bid is one sen below the best ask: zero volume, no price.",
            [
                Plan(0, 100, 0, ((100, 2000),), ()),
                Plan(1, 0, 100, (), ((1, 100, 1999),)),
            ],
            ["zero-volume", "boundary"],
        ),
        (
            "asks-only",
            "Asks and no bids: everything expires.",
            [Plan(0, 100, 0, ((60, 2000),), ()), Plan(1, 50, 0, (), ())],
            ["zero-volume"],
        ),
        (
            "bids-only",
            "Bids and no lots: bids expire and get their escrow back.",
            [Plan(1, 0, 100, (), ((1, 100, 3000),)), Plan(2, 0, 10, (), ((1, 10, 3000),))],
            ["zero-volume"],
        ),
        (
            "two-zones-clear-in-order",
            "Markets (1, s) and (10, s) clear at the same tick, zone 1 first.",
            [
                Plan(0, 300, 0, ((300, 2000),), ()),
                Plan(1, 0, 300, (), ((1, 300, 2600),)),
                Plan(10, 200, 0, ((200, 1500),), ()),
                Plan(11, 0, 200, (), ((10, 200, 1700),)),
            ],
            ["fee"],
        ),
        (
            "max-price-fill",
            "A bid at PRICE_MAX_SEN_PER_KWH meets an ask at 0: price 500 000.",
            [
                Plan(0, 10, 0, ((10, 0),), ()),
                Plan(1, 0, 10, (), ((1, 10, PRICE_MAX_SEN_PER_KWH),)),
            ],
            ["boundary", "rounding"],
        ),
        (
            "partial-lot-sold",
            "Half of a lot is offered and sold; the rest expires.",
            [Plan(0, 1000, 0, ((500, 2000),), ()), Plan(1, 0, 800, (), ((1, 800, 2500),))],
            ["lifecycle"],
        ),
        (
            "ask-partly-filled",
            "An ask of 800 Wh meets 300 Wh of demand.",
            [Plan(0, 800, 0, ((800, 2000),), ()), Plan(1, 0, 300, (), ((1, 300, 2500),))],
            ["lifecycle"],
        ),
    ]
    for name, description, plans, flags in hand:
        auction_vector(suite, f"clearing/{name}", description, plans, flags)
    rng = random.Random(f"{SEED}/clearing")
    prices = (0, 1500, 1800, 2000, 2000, 2200, 2500, 2500, 3000)
    for index in range(AUCTIONS):
        plans = []
        for trader in rng.sample(range(14), rng.randint(2, 9)):
            zone_of_trader = 1 if trader < 10 else 10
            exported = rng.choice((0, 0, 1, 7, 100, 999, 2500, 40_000))
            imported = rng.choice((0, 0, 3, 100, 1000, 30_000))
            asks: list[tuple[int, int]] = []
            bids: list[tuple[int, int, int]] = []
            if exported and rng.random() < 0.8:
                left = exported
                for _ in range(rng.randint(1, 2)):
                    quantity = rng.randint(1, left)
                    asks.append((quantity, rng.choice(prices)))
                    left -= quantity
                    if not left:
                        break
            if rng.random() < 0.7 and not asks:
                # ORD-03: a seller does not bid in its own market; BID-04: a buyer bids only
                # for import it has not yet bid for, which is all in its own zone.
                unbacked = imported
                for _ in range(rng.randint(1, 2)):
                    quantity = min(rng.choice((1, 50, 500, 2000, 30_000)), unbacked)
                    if quantity:
                        bids.append((zone_of_trader, quantity, rng.choice(prices)))
                        unbacked -= quantity
            plans.append(Plan(trader, exported, imported, tuple(asks), tuple(bids)))
        auction_vector(
            suite,
            f"clearing/random/{index:04d}",
            f"Seeded random call auction {index}: readings in the pre-state, the orders, then "
            "the clearing tick.",
            plans,
            ["random"],
        )


# --- Lifecycles ------------------------------------------------------------------------------


def group_lifecycles(suite: Suite) -> None:
    """One short vector per lifecycle edge, named after it (the rest come from other groups)."""
    m = market()
    s = m.slot - 1
    close = trading_close(m.state.params, s)
    v = village()
    suite.add(
        "lifecycle/lot/absent-to-attested",
        "An export mints a lot (ATT-08).",
        v.state,
        [tx(v.make("attestor", Kind.ATTEST, {0: [_reading(103, s, 10)]}))],
        expect=[None],
        flags=["lifecycle"],
    )
    suite.add(
        "lifecycle/lot/attested-offered-attested",
        "Offer part of a lot, offer more, cancel both: ATTESTED, OFFERED, OFFERED, OFFERED, "
        "ATTESTED.",
        m.state,
        [
            tx(m.make("alice", Kind.PLACE_ASK, {0: 103, 1: s, 2: 100, 3: 2000})),
            tx(m.make("alice", Kind.PLACE_ASK, {0: 103, 1: s, 2: 200, 3: 2100}, nonce=1)),
            tx(m.make("alice", Kind.CANCEL, {0: 1}, nonce=2)),
            tx(m.make("alice", Kind.CANCEL, {0: 2}, nonce=3)),
        ],
        expect=[None] * 4,
        flags=["lifecycle"],
    )
    suite.add(
        "lifecycle/lot/attested-to-expired",
        "A lot never offered expires when its market clears.",
        m.state,
        [tick(close)],
        expect=[None],
        flags=["lifecycle", "zero-volume"],
    )
    # Nonce: a new account sends twice; an account one below COUNTER_MAX sends its last.
    n = village()
    suite.add(
        "lifecycle/nonce/absent-fresh-active",
        "Register ivan, fund him, and let him send two transactions.",
        n.state,
        [
            tx(n.make("operator", Kind.REGISTER_ACCOUNT, {0: key_of("ivan"), 1: 8})),
            tx(
                n.make(
                    "operator",
                    Kind.DEPOSIT,
                    {0: key_of("ivan"), 1: 10},
                    nonce=n.nonces["operator"] + 1,
                )
            ),
            tx(n.make("ivan", Kind.WITHDRAW, {0: 1}, nonce=0)),
            tx(n.make("ivan", Kind.WITHDRAW, {0: 1}, nonce=1)),
        ],
        expect=[None] * 4,
        flags=["lifecycle"],
    )
    crafted = craft_account(n.state, key_of("alice"), Role.TRADER, COUNTER_MAX - 1, 10)
    suite.add(
        "lifecycle/nonce/active-to-exhausted",
        "An account at nonce COUNTER_MAX - 1 sends one more and is exhausted; the next is "
        "refused (TX-05).",
        crafted,
        [
            tx(n.make("alice", Kind.WITHDRAW, {0: 1}, nonce=COUNTER_MAX - 1)),
            tx(n.make("alice", Kind.WITHDRAW, {0: 1}, nonce=COUNTER_MAX)),
        ],
        expect=[None, "TX-05"],
        crafted=True,
        flags=["lifecycle", "boundary"],
    )
    o = market()
    must(o.ask("alice", 103, s, 1000, 2000))
    must(o.bid("bob", 1, s, 400, 2500))
    must(o.bid("carol", 1, s, 100, 1000))
    suite.add(
        "lifecycle/order/all-closings",
        "Alice's ask fills partly, bob's bid fills, carol's bid (below the ask) expires; a "
        "fourth order is placed and cancelled.",
        o.state,
        [
            tx(o.make("frank", Kind.PLACE_BID, {0: 10, 1: s, 2: 10, 3: 900})),
            tx(o.make("frank", Kind.CANCEL, {0: 4}, nonce=1)),
            tick(close),
        ],
        expect=[None, None, None],
        flags=["lifecycle", "clearing"],
    )


def group_block_scenarios(suite: Suite) -> None:
    """Short chains of blocks: clearing before transactions, a rejected block in the middle,
    rotating proposers (BLK-12)."""
    names = ("validator-1", "validator-2", "validator-3")
    v = with_validators(*names)
    s = v.slot - 1
    must(v.attest([(103, s, 3000, 0), (104, s, 0, 2500)]))
    must(v.ask("alice", 103, s, 2000, 2000))
    must(v.bid("bob", 1, s, 2000, 2400))
    close = trading_close(v.state.params, s)
    cancel = v.make("bob", Kind.CANCEL, {0: 2})
    two = ("validator-1", "validator-2")
    suite.negative(
        "scenario/BLK-09/clearing-before-transactions",
        "A block at trading_close(s) clears the market before its transactions run, so bob's "
        "cancel of his bid meets a closed order (CAN-03) and the block is rejected. The same "
        "block one second earlier is accepted.",
        v.state,
        block(forge_block(v.state, [cancel], close, signers=two)),
        block(forge_block(v.state, [cancel], close - 1, signers=two)),
        "BLK-09",
        flags=["block", "time", "boundary", "clearing"],
    )
    # A chain: good block, a block with a wrong state root, the good block again, one more.
    chain = copy(v)
    first = forge_block(chain.state, [], chain.state.time + 60, signers=two)
    after_first, _ = apply_step(chain.state, block(first))
    deposit = chain.make("operator", Kind.DEPOSIT, {0: key_of("carol"), 1: 7})
    wrong = forge_block(after_first, [deposit], close - 1, signers=two, state_root=bytes(32))
    right = forge_block(after_first, [deposit], close - 1, proposer="validator-2", signers=two)
    after_right, _ = apply_step(after_first, block(right))
    last = forge_block(
        after_right, [], close, proposer="validator-3", signers=("validator-2", "validator-3")
    )
    suite.add(
        "scenario/rejected-block-in-a-chain",
        "Four blocks: an empty one; one with a wrong state root, rejected and without effect; "
        "the corrected block at the same height by another proposer; a last one, proposed and "
        "signed by other validators, at trading close, which clears the market.",
        v.state,
        [block(first), block(wrong), block(right), block(last)],
        expect=[None, "BLK-10", None, None],
        flags=["block", "multi-block", "scenario", "clearing", "atomicity"],
    )


# --- A day in a small village ------------------------------------------------------------------


def village_day(suite: Suite, name: str, seed: str, households_per_zone: int) -> None:
    """Three zones, households with and without solar, 48 slots, one block per slot."""
    rng = random.Random(f"{SEED}/{seed}")
    validators = ("validator-1", "validator-2", "validator-3")
    ledger = Ledger.new(validators=validators)
    ledger.node(1, NodeKind.SUBSTATION, None, 100)
    zones = [1, 40, 70]
    ledger.node(40, NodeKind.SUBSTATION, 1, 60)
    ledger.node(70, NodeKind.SUBSTATION, 1, 80)
    homes: list[tuple[str, int, int, bool]] = []
    for zone in zones:
        ledger.node(zone + 1, NodeKind.TRANSFORMER, zone)
        for h in range(households_per_zone):
            node = zone + 2 + h
            who = f"h{node}"
            ledger.node(node, NodeKind.SERVICE_POINT, zone + 1)
            ledger.register(who)
            solar = rng.random() < 0.5
            ledger.meter(node + 1000, who, node, capacity_wh=5_000)
            ledger.deposit(who, 50_000 * 100_000)
            homes.append((who, node + 1000, zone, solar))
    for receipt in ledger.receipts:
        must(receipt)
    pre = ledger.state
    start_slot = ledger.slot
    steps: list[Step] = []
    for k in range(48 + 4):
        slot = start_slot + k - 1
        time = slot_end(slot)
        txs: list[bytes] = []
        if k < 48:
            period = k % 48
            daylight = max(0, 12 - abs(period - 24)) if 12 <= period <= 36 else 0
            readings = []
            for _who, meter, _zone, solar in homes:
                exported = rng.randint(0, 250) * daylight if solar else 0
                imported = rng.randint(50, 900) if not exported else rng.randint(0, 200)
                readings.append({0: meter, 1: slot, 2: exported, 3: imported, 4: 0})
            txs.append(ledger.make("attestor", Kind.ATTEST, {0: readings}))
            ledger.nonces["attestor"] = ledger.nonces.get("attestor", 0) + 1
            for (who, meter, zone, _), reading in zip(homes, readings, strict=True):
                if reading[2] > 0:
                    body = {0: meter, 1: slot, 2: reading[2], 3: rng.choice((1800, 2000, 2200))}
                    txs.append(ledger.make(who, Kind.PLACE_ASK, body))
                    ledger.nonces[who] = ledger.nonces.get(who, 0) + 1
                elif reading[3] > 0 and rng.random() < 0.8:
                    body = {0: zone, 1: slot, 2: reading[3], 3: rng.choice((1900, 2100, 2600))}
                    txs.append(ledger.make(who, Kind.PLACE_BID, body))
                    ledger.nonces[who] = ledger.nonces.get(who, 0) + 1
        # Built once here; Suite.add applies it with apply_block and checks it is accepted.
        data, ledger.state = build_block(
            ledger.state,
            txs,
            time,
            seed_of("validator-1"),
            [seed_of("validator-1"), seed_of("validator-2")],
        )
        steps.append(block(data))
    cleared = sum(1 for m in ledger.state.markets.values() if m.status is MarketStatus.CLEARED)
    traded = sum(1 for m in ledger.state.markets.values() if m.volume_wh)
    suite.add(
        f"scenario/{name}",
        f"A day in a village: 3 zones, {len(homes)} households, 48 slots, one block per slot "
        f"and 4 more to clear the last ones; {cleared} markets clear, {traded} trade.",
        pre,
        steps,
        expect=[None] * len(steps),
        flags=["scenario", "multi-block", "clearing"],
    )


# --- Suite assembly, completeness, files -------------------------------------------------------

GROUPS: Final[tuple[Callable[[Suite], None], ...]] = (
    group_transactions,
    group_accounts_grid_meters,
    group_attestation,
    group_orders,
    gen_orders_cost.group_orders_cost,
    group_money,
    group_encoding,
    group_schemas,
    group_blocks,
    group_clock,
    group_clearing,
    group_lifecycles,
    group_block_scenarios,
    lambda suite: village_day(suite, "village-day", "day", 8),
)


def build_suite() -> Suite:
    """Every vector, checked one by one and then for completeness."""
    suite = Suite({})
    for group in GROUPS:
        group(suite)
    check_completeness(suite.vectors.values())
    return suite


def check_completeness(vectors: Iterable[Vector]) -> None:
    """Raise unless every rule, every rejection code and every lifecycle edge is exercised."""
    vectors = list(vectors)
    rules = {r for v in vectors for r in v.rules}
    codes = {o.code for v in vectors for _, o in v.steps}
    edges = {t for v in vectors for t in v.transitions}
    missing_rules = [r.id for r in RULES if r.id not in rules]
    missing_codes = [r.id for r in RULES if r.kind is RuleKind.VALIDITY and r.code not in codes]
    missing_edges = [e for e in edge_labels() if e not in edges]
    problems = []
    if missing_rules:
        problems.append(f"rules without vectors: {missing_rules}")
    if missing_codes:
        problems.append(f"rejection codes without vectors: {missing_codes}")
    if missing_edges:
        problems.append(f"lifecycle edges without vectors: {missing_edges}")
    twins = {v.id: v for v in vectors}
    for v in vectors:
        if v.twin is not None and v.twin not in twins:
            problems.append(f"{v.id}: twin {v.twin} missing")
    if problems:
        raise GenerationError("; ".join(problems))


def spec_version() -> str:
    """The rule book's version, from the spec itself (not from the installed package's metadata,
    which an editable install leaves at whatever version it was installed with)."""
    return SPEC_VERSION


def rules_digest() -> str:
    """SHA-256 of the rule book's ids, kinds and codes: changes when the rules change."""
    table = [[r.id, r.kind.value, r.code, r.statement] for r in RULES]
    return hashlib.sha256(encode(table)).hexdigest()


def index_entry(vector: Vector, data: bytes) -> dict[str, Any]:
    return {
        "id": vector.id,
        "file": vector_path(vector.id),
        "sha256": hashlib.sha256(data).digest(),
        "rules": list(vector.rules),
        "flags": list(vector.flags),
        "steps": len(vector.steps),
        "transitions": list(vector.transitions),
    }


def write_suite(suite: Suite, out: Path) -> dict[str, bytes]:
    """Write vectors, index.cbor, manifest.cbor and SHA256SUMS under ``out``; return the files.

    Files of an earlier suite under ``out/vectors`` that are no longer generated are removed,
    so that the directory holds exactly the suite.
    """
    files: dict[str, bytes] = {}
    index = []
    for vector_id in sorted(suite.vectors):
        vector = suite.vectors[vector_id]
        data = vector.encode()
        files[vector_path(vector_id)] = data
        index.append(index_entry(vector, data))
    files["index.cbor"] = encode({"format": FORMAT_VERSION, "vectors": index})
    manifest = {
        "suite": SUITE_NAME,
        "suite_version": SUITE_VERSION,
        "format": FORMAT_VERSION,
        "spec_version": spec_version(),
        "rules_sha256": bytes.fromhex(rules_digest()),
        "seed": SEED,
        "vector_count": len(index),
        "files": {path: hashlib.sha256(data).digest() for path, data in sorted(files.items())},
    }
    files["manifest.cbor"] = encode(manifest)
    sums = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {path}\n" for path, data in sorted(files.items())
    )
    files["SHA256SUMS"] = sums.encode()
    wanted = {out / path for path in files}
    vectors_dir = out / "vectors"
    if vectors_dir.exists():
        for stale in sorted(vectors_dir.rglob("*.cbor")):
            if stale not in wanted:
                stale.unlink()
    for path, data in files.items():
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_bytes() != data:
            target.write_bytes(data)
    return files


def generate(out: Path) -> dict[str, bytes]:
    """Build and write the whole suite."""
    return write_suite(build_suite(), out)
