"""What every group of conformance vectors shares: the ``Suite`` that checks each vector as it
is added, the rules a step exercised, and the builders of inputs and pre-states.

The groups themselves live in ``conformance_tests.groups`` (one module per area of the suite's
``vectors/`` directory); ``conformance_tests.generate`` lists them and writes the suite.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from itertools import pairwise
from typing import Any, Final

from conformance_tests.adapter import Step
from conformance_tests.scenario import Ledger, key_of, seed_of, small_village
from conformance_tests.spec_adapter import apply_step, load_state, state_bytes
from conformance_tests.spec_adapter import state_root as cached_state_root
from conformance_tests.vector import Outcome, Vector
from spec.blocks import Header, decode_block, vote_bytes
from spec.cbor import encode
from spec.clearing import advance_clock, advance_clock_settling, clear_due_markets
from spec.crypto import merkle_root, public_key_of, sign
from spec.errors import Rejected
from spec.invariants import check_settlement, check_state
from spec.lifecycles import illegal_transitions, observed_transitions
from spec.settlement import (
    DemandRecord,
    LotRecord,
    MarketRecord,
    SettlementRecord,
    settlement_root,
)
from spec.state import (
    Account,
    Encumbrance,
    MarketStatus,
    Role,
    Source,
    State,
    state_root,
)
from spec.transactions import (
    Kind,
    apply_transaction,
    decode_transaction,
    signing_bytes,
    tx_id,
)
from spec.units import (
    COUNTER_MAX,
    Height,
    MilliSen,
    Nonce,
    Timestamp,
)
from spec.validators import end_block

SEED: Final = 20261128
"""The only source of variety in the suite."""


class GenerationError(AssertionError):
    """A vector is not what its author claimed: the generator refuses to write the suite."""


# --- Rules a step exercises, derived from what it did -------------------------------------------

_KIND_PROCEDURES: Final[dict[Kind, tuple[str, ...]]] = {
    Kind.REGISTER_ACCOUNT: ("ACC-01", "KEY-07", "ACC-02", "ACC-03", "VAL-01", "ROL-01", "INV-19"),
    Kind.REGISTER_NODE: ("GRD-01", "GRD-02", "GRD-03", "INV-14"),
    Kind.REGISTER_METER: ("MTR-01", "MTR-02", "MTR-03", "MTR-04", "MTR-05", "MTR-06", "MTR-14"),
    Kind.ATTEST: (
        *("ATT-01", "ATT-02", "ATT-03", "ATT-04", "ATT-05", "ATT-06", "ATT-07", "ATT-11"),
        *("MTR-11", "MTR-13", "INV-04", "INV-21", "INV-27", "INV-28"),
    ),
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
    Kind.VALIDATOR_UPDATE: (
        *("VAL-02", "VAL-03", "VAL-04", "VAL-05", "VAL-06", "VAL-07", "INV-16", "INV-17"),
    ),
    Kind.ROTATE_KEY: ("KEY-01", "KEY-02", "KEY-03", "KEY-04", "KEY-05", "INV-19"),
    Kind.REVOKE_ROLE: ("ROL-02", "ROL-03", "ROL-04", "ROL-05"),
    Kind.RETIRE_METER: ("MTR-07", "MTR-08", "MTR-09", "MTR-12", "INV-27"),
    Kind.SET_METER_ENCUMBRANCE: ("MTR-07", "MTR-08", "MTR-09", "MTR-10", "MTR-13", "INV-27"),
    Kind.CORRECT_READING: (
        *("ATT-02", "ATT-03", "ATT-04", "ATT-05", "ATT-07", "ATT-11", "MTR-13"),
        *("COR-01", "COR-02", "COR-03", "COR-04", "COR-05", "COR-06"),
        *("INV-01", "INV-04", "INV-21", "INV-25", "INV-27", "INV-28"),
    ),
}
_AUTHORIZATION_RULES: Final = {
    *("TX-04", "TX-06", "ASK-02", "CAN-02", "ATT-03", "BLK-05", "BLK-06", "BLK-13"),
    *("VAL-01", "VAL-04", "VAL-05", "KEY-02", "KEY-03", "KEY-07"),
}
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
        if outcome.rule in ("TX-04", "BLK-06", "ACC-02", "KEY-01", "KEY-03"):
            rules.add("SIG-01")
        if outcome.rule == "ROL-01":
            rules.add("INV-20")
        if outcome.rule == "TIM-02":
            rules.add("INV-18")
        if outcome.rule in ("VAL-01", "VAL-04", "VAL-05"):
            rules.add("INV-16")  # the set does not change without a quorum
        if outcome.rule in ("VAL-03", "VAL-06", "VAL-07"):
            rules.add("INV-17")  # nor by more than one real change at a time
        if outcome.rule in ("KEY-02", "KEY-07", "PRE-11"):
            rules.add("INV-19")
        if outcome.rule == "PRE-12":
            rules.add("INV-29")
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
        if kind in (Kind.REGISTER_ACCOUNT, Kind.REGISTER_METER):
            rules.add("INV-20")
        if kind is Kind.ATTEST:
            rules.add("ATT-20")
            new_lots = set(after.lots) - set(before.lots)
            rules |= {"ATT-08", "INV-01"} if new_lots else set()
            rules |= {"ATT-09", "ATT-10", "INV-05"} if after.demand != before.demand else set()
        if kind in (Kind.PLACE_ASK, Kind.CANCEL) and after.lots != before.lots:
            rules |= {"INV-01", "INV-03"}
        if kind in (Kind.PLACE_BID, Kind.CANCEL) and after.orders != before.orders:
            rules |= {"INV-10", "INV-06", "INV-07"}
    if set(after.markets) - set(before.markets):
        rules.add("MKT-01")
    settled = step_settlement(before, step, outcome)
    # Markets clear and leave the state at the same clock advance: the settlement shows them.
    cleared = [
        r
        for r in settled
        if isinstance(r, MarketRecord)
        and (market := before.markets.get((r.zone, r.slot))) is not None
        and market.status is MarketStatus.OPEN
    ]
    if cleared:
        rules |= {"CLR-01", "CLR-02", "CLR-03", "CLR-05", "CLR-06", "CLR-07"}
        rules |= {"INV-01", "INV-02", "INV-03", "INV-05", "INV-06", "INV-09", "INV-10", "INV-13"}
        if any(r.volume_wh > 0 for r in cleared):
            rules.add("CLR-04")
        if any(
            isinstance(r, DemandRecord)
            and r.claimed_wh != before.demand[(r.account, r.zone, r.slot)].claimed_wh
            for r in settled
        ):
            rules.add("CLR-08")
    if settled:
        rules |= {"PRN-01", "PRN-02", "SET-01", "SET-02", "SET-03", "INV-24"}
        if any(isinstance(r, LotRecord) for r in settled):
            rules.add("INV-22")
        if any(isinstance(r, MarketRecord) for r in settled):
            rules.add("INV-23")
        if step.kind == "block":
            rules.add("BLK-15")
    if step.kind == "tick":
        rules.add("BLK-04" if outcome.code else "CLR-01")
    if _validators(before) != _validators(after):
        rules |= {"VAL-08", "INV-16", "INV-17"}
    return rules


def _validators(state: State) -> set[bytes]:
    return {key for key, account in state.accounts.items() if account.roles & Role.VALIDATOR}


def step_settlement(before: State, step: Step, outcome: Outcome) -> tuple[SettlementRecord, ...]:
    """The settlement records an accepted block or tick emitted (none for anything else)."""
    if outcome.code != 0 or step.kind == "tx":
        return ()
    if step.kind == "tick":
        assert step.time is not None
        return advance_clock_settling(before, step.time)[1]
    assert step.input is not None
    return advance_clock_settling(before, decode_block(step.input).header.timestamp)[1]


def stages_of(before: State, step: Step, after: State, outcome: Outcome) -> list[State]:
    """The states a step passes through: for an accepted block, the clock advance and then each
    transaction in turn (each of them moves a record by at most one lifecycle edge)."""
    if step.kind == "tick" and outcome.code == 0:
        assert step.time is not None
        return [before, clear_due_markets(before, step.time), after]
    if step.kind != "block" or outcome.code != 0:
        return [before, after]
    assert step.input is not None
    decoded = decode_block(step.input)
    # The clock advance clears (CLR-01) and then prunes (PRN-01): two stages of a record's life.
    cleared = clear_due_markets(before, decoded.header.timestamp)
    stages = [before, cleared, advance_clock(before, decoded.header.timestamp)]
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
        if crafted:  # a state reached by transactions is consistent; a crafted one must load
            try:
                load_state(state_bytes(pre))
            except Rejected as rejection:
                problem = f"{vector_id}: crafted pre-state refused: {rejection}"
                raise GenerationError(problem) from None
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
            broken = check_settlement(step_settlement(state, step, outcome))
            if broken and not crafted:
                raise GenerationError(f"{vector_id} step {index}: settlement breaks {broken}")
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
        else:  # an existing vector serves as the twin: it says so by its flag
            named = self.vectors[twin_id]
            if named.steps[-1][1].rule == rule_id:
                raise GenerationError(f"{vector_id}: twin {twin_id} fails for the same rule")
            self.vectors[twin_id] = replace(named, flags=tuple(sorted({*named.flags, "twin"})))
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


ENCUMBERED_METER: Final = {
    Encumbrance.NONE: 103,
    Encumbrance.FEED_IN_TARIFF: 211,
    Encumbrance.J_CREDIT: 212,
    Encumbrance.NON_FOSSIL_CERTIFICATE: 213,
}
"""Alice's meters in ``encumbered_village``, by the encumbrance registered with them."""


@cache
def _encumbered_village() -> Ledger:
    ledger = village()
    sources = (Source.WIND, Source.HYDRO, Source.BIOMASS)
    for source, (encumbrance, meter) in zip(
        sources, list(ENCUMBERED_METER.items())[1:], strict=True
    ):
        must(ledger.meter(meter, "alice", 3, source=source, encumbrance=encumbrance))
    return ledger


def encumbered_village() -> Ledger:
    """The village plus three more meters of alice at her service point, of other sources, each
    registered with one encumbrance (meter ids in ``ENCUMBERED_METER``)."""
    return copy(_encumbered_village())


def must(receipt: Any) -> None:
    if not receipt.accepted:
        raise GenerationError(f"fixture step rejected: {receipt}")


def with_validators(*names: str) -> Ledger:
    ledger = Ledger.new(validators=names)
    return small_village(ledger)


def craft_account(state: State, key: bytes, roles: int, nonce: int = 0, balance: int = 0) -> State:
    """A pre-state no transaction could produce: an account set directly in the table."""
    account = Account(roles, Nonce(nonce), MilliSen(balance), key)
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
    signatures: Sequence[tuple[bytes, int, bytes]] | None = None,
    sort_signers: bool = True,
    vote_times: Mapping[str, int] | None = None,
    seeds: Mapping[str, bytes] | None = None,
    **header_changes: Any,
) -> bytes:
    """A block built by hand: correct unless a header field or the votes are overridden.

    The state root is computed by the spec when the transactions are valid; every signature is
    a real one over the (possibly wrong) header, so that only the intended defect is present.
    Each signer votes with the time ``vote_times`` gives it, else the header's timestamp (an
    honest validator whose clock agrees with the proposer's).
    ``seeds`` names the key a signer votes with when it is not its name's (a rotated key).
    """
    after = state
    settlement: tuple[SettlementRecord, ...] = ()
    if timestamp >= state.time:
        after, settlement = advance_clock_settling(state, timestamp)
        for data in txs:
            after, receipt = apply_transaction(after, data)
            if not receipt.accepted:
                break
    after = end_block(replace(after, height=Height(min(state.height + 1, COUNTER_MAX))))
    header = Header(
        chain_id=state.params.chain_id,
        height=Height(state.height + 1),
        parent=state.tip_hash,
        timestamp=Timestamp(timestamp),
        tx_root=merkle_root([tx_id(t) for t in txs]),
        state_root=state_root(after),
        proposer=key_of(proposer),
        settlement_root=settlement_root(settlement),
    )
    header = replace(header, **header_changes)
    if signatures is None:
        times = vote_times or {}
        seed = {name: seed_of(name) for name in signers} | dict(seeds or {})
        votes = [vote_of(name, header, times.get(name), seed[name]) for name in signers]
        signatures = sorted(votes) if sort_signers else votes
    return encode({0: header.to_cbor(), 1: list(txs), 2: [list(vote) for vote in signatures]})


def vote_of(
    name: str, header: Header, time: int | None = None, seed: bytes | None = None
) -> tuple[bytes, int, bytes]:
    """Validator ``name``'s real vote for ``header`` at ``time`` on its clock (by default the
    header's timestamp), signed with ``seed`` (by default its name's key; another after a
    rotation): ``(validator id, time, signature)``."""
    at = int(header.timestamp) if time is None else time
    return key_of(name), at, sign(seed or seed_of(name), vote_bytes(header.hash(), at))


def reading_map(meter: int, slot: int, exported: int, imported: int = 0) -> dict[int, int]:
    return {0: meter, 1: slot, 2: exported, 3: imported, 4: 0}


def state_after(ledger: Ledger, action: Callable[[Ledger], Any]) -> State:
    copied = copy(ledger)
    must(action(copied))
    return copied.state


def nonce_make(ledger: Ledger, extra: int, kind: Kind, body: Any) -> bytes:
    """The attestor's transaction one nonce after ``ledger``'s."""
    return ledger.make("attestor", kind, body, nonce=ledger.nonces.get("attestor", 0) + extra)
