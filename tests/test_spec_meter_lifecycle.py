"""A meter's life after registration: retirement, replacement and encumbrance changes (MTR-07 ..
MTR-14, ATT-11 against the schedule, INV-27).

The village's clock stands at the start of slot ``now``; slot ``now - 1`` has just ended and the
attestation window is two slots. Expected outcomes are worked out from the rule book.
"""

from __future__ import annotations

from _rules_plugin import rules
from hypothesis import given
from hypothesis import strategies as st
from strategies import METER, accept_tx, around, send, village

from conformance_tests.scenario import Ledger, key_of
from spec.invariants import check_state
from spec.meter_lifecycle import encumbrance_at, in_service
from spec.state import Encumbrance, EncumbranceChange, Source
from spec.transactions import Kind
from spec.units import SLOT_SECONDS, slot_end

pytest_plugins = ("_rules_plugin",)

ALICE = METER["alice"]
NONE, FIT, J_CREDIT = Encumbrance.NONE, Encumbrance.FEED_IN_TARIFF, Encumbrance.J_CREDIT


def must(ledger: Ledger, sender: str, kind: Kind, body: object) -> Ledger:
    ledger.state = accept_tx(ledger.state, ledger.make(sender, kind, body))
    ledger.nonces[sender] = ledger.nonces.get(sender, 0) + 1
    return ledger


def tick(ledger: Ledger, now: int) -> Ledger:
    assert ledger.tick(now) is None
    return ledger


def reading(meter: int, slot: int, exported: int, enc: Encumbrance = NONE) -> dict[int, object]:
    return {0: {0: meter, 1: slot, 2: exported, 3: 0, 4: int(enc)}}


def attest(meter: int, slot: int, exported: int, enc: Encumbrance = NONE) -> dict[int, object]:
    return {0: [reading(meter, slot, exported, enc)[0]]}


@rules("MTR-07")
def test_only_a_registered_meter_is_changed() -> None:
    ledger = village()
    send(ledger, "operator", Kind.RETIRE_METER, {0: 999, 1: ledger.slot}, "MTR-07")
    send(ledger, "operator", Kind.SET_METER_ENCUMBRANCE, {0: 999, 1: ledger.slot, 2: 1}, "MTR-07")


@rules("MTR-08", "MTR-12")
def test_retirement_is_final_and_changes_nothing_else() -> None:
    ledger = village()
    before = ledger.state.meters[ALICE]
    must(ledger, "operator", Kind.RETIRE_METER, {0: ALICE, 1: ledger.slot + 1})
    after = ledger.state.meters[ALICE]
    assert after.retired_from == ledger.slot + 1
    assert (after.owner, after.node, after.encumbrance) == (before.owner, before.node, NONE)
    send(ledger, "operator", Kind.RETIRE_METER, {0: ALICE, 1: ledger.slot + 3}, "MTR-08")
    send(ledger, "operator", Kind.SET_METER_ENCUMBRANCE, {0: ALICE, 1: ledger.slot, 2: 1}, "MTR-08")


@rules("MTR-09")
@given(offset=around(0, -3, 3))
def test_a_change_starts_no_earlier_than_the_current_slot(offset: int) -> None:
    ledger = village()
    from_slot = ledger.slot + offset
    body = {0: ALICE, 1: from_slot, 2: int(FIT)}
    if offset < 0:
        send(ledger, "operator", Kind.SET_METER_ENCUMBRANCE, body, "MTR-09")
        send(ledger, "operator", Kind.RETIRE_METER, {0: ALICE, 1: from_slot}, "MTR-09")
    else:
        must(ledger, "operator", Kind.SET_METER_ENCUMBRANCE, body)
        assert ledger.state.meters[ALICE].encumbrance_change == EncumbranceChange(from_slot, FIT)


@rules("MTR-09", "INV-27")
def test_an_attested_slot_keeps_its_encumbrance() -> None:
    """The attack: lift a tariff from energy already attested. The change can only start at the
    current slot, so the attested reading and its lot keep FEED_IN_TARIFF."""
    ledger = village()
    ended = ledger.slot - 1
    must(ledger, "operator", Kind.SET_METER_ENCUMBRANCE, {0: ALICE, 1: ended + 1, 2: int(FIT)})
    tick(ledger, slot_end(ended + 1))
    must(ledger, "attestor", Kind.ATTEST, attest(ALICE, ended + 1, 500, FIT))
    # once the slots before the scheduled change are closed, a new change may fold it (MTR-10)
    tick(ledger, (ended + 1) * SLOT_SECONDS + ledger.state.params.attestation_window_s)
    now = ledger.slot
    body = {0: ALICE, 1: ended + 1, 2: int(NONE)}
    send(ledger, "operator", Kind.SET_METER_ENCUMBRANCE, body, "MTR-09")
    must(ledger, "operator", Kind.SET_METER_ENCUMBRANCE, {0: ALICE, 1: now, 2: int(NONE)})
    meter = ledger.state.meters[ALICE]
    assert encumbrance_at(meter, ended + 1) is FIT and encumbrance_at(meter, now) is NONE
    assert ledger.state.lots[(ALICE, ended + 1)].encumbrance is FIT
    assert meter.encumbrance is FIT  # folded
    assert check_state(ledger.state) == []


@rules("MTR-10", "MTR-13")
@given(early=st.integers(0, 2))
def test_one_scheduled_change_folds_only_once_its_earlier_slots_are_closed(early: int) -> None:
    ledger = village()
    first = ledger.slot + 1
    must(ledger, "operator", Kind.SET_METER_ENCUMBRANCE, {0: ALICE, 1: first, 2: int(J_CREDIT)})
    # a change from the same or an earlier slot replaces the scheduled one
    must(ledger, "operator", Kind.SET_METER_ENCUMBRANCE, {0: ALICE, 1: first, 2: int(FIT)})
    assert ledger.state.meters[ALICE].encumbrance_change == EncumbranceChange(first, FIT)
    closed = first * SLOT_SECONDS + ledger.state.params.attestation_window_s
    tick(ledger, closed - early)
    later = {0: ALICE, 1: ledger.slot, 2: int(J_CREDIT)}
    if early:
        send(ledger, "operator", Kind.SET_METER_ENCUMBRANCE, later, "MTR-10")
        return
    must(ledger, "operator", Kind.SET_METER_ENCUMBRANCE, later)
    meter = ledger.state.meters[ALICE]
    # folded: FIT is now the meter's encumbrance, J_CREDIT scheduled from the current slot
    assert meter.encumbrance is FIT
    assert meter.encumbrance_change == EncumbranceChange(ledger.slot, J_CREDIT)
    assert encumbrance_at(meter, first) is FIT and encumbrance_at(meter, ledger.slot) is J_CREDIT


@rules("MTR-11", "ATT-11", "MTR-13")
def test_readings_follow_the_schedule_and_the_service() -> None:
    ledger = village()
    now = ledger.slot
    must(ledger, "operator", Kind.SET_METER_ENCUMBRANCE, {0: ALICE, 1: now, 2: int(FIT)})
    must(ledger, "operator", Kind.RETIRE_METER, {0: ALICE, 1: now + 1})
    tick(ledger, slot_end(now))
    send(ledger, "attestor", Kind.ATTEST, attest(ALICE, now, 700), "ATT-11")  # FIT from now
    send(ledger, "attestor", Kind.ATTEST, attest(ALICE, now - 1, 700, FIT), "ATT-11")
    must(ledger, "attestor", Kind.ATTEST, attest(ALICE, now, 700, FIT))
    tick(ledger, slot_end(now + 1))
    send(ledger, "attestor", Kind.ATTEST, attest(ALICE, now + 1, 700, FIT), "MTR-11")
    meter = ledger.state.meters[ALICE]
    assert in_service(meter, now) and not in_service(meter, now + 1)


@rules("MTR-06", "MTR-14", "MTR-11", "INV-27")
def test_a_replacement_measures_from_the_retirement_slot_on() -> None:
    ledger = village()
    now = ledger.slot
    body = {0: 203, 1: key_of("alice"), 2: key_of("attestor"), 3: 3, 4: int(Source.SOLAR)}
    body[5], body[6] = 10_000, int(NONE)
    send(ledger, "operator", Kind.REGISTER_METER, body, "MTR-06")
    must(ledger, "operator", Kind.RETIRE_METER, {0: ALICE, 1: now + 1})
    must(ledger, "operator", Kind.REGISTER_METER, body)
    assert ledger.state.meters[203].first_slot == now + 1
    tick(ledger, slot_end(now + 1))
    send(ledger, "attestor", Kind.ATTEST, attest(203, now, 100), "MTR-11")
    send(ledger, "attestor", Kind.ATTEST, attest(ALICE, now + 1, 100), "MTR-11")
    must(ledger, "attestor", Kind.ATTEST, attest(ALICE, now, 100))
    must(ledger, "attestor", Kind.ATTEST, attest(203, now + 1, 100))
    assert check_state(ledger.state) == []


@rules("MTR-14")
def test_a_replacement_waits_for_the_last_of_several_retired_meters() -> None:
    ledger = village()
    now = ledger.slot
    body = {0: 203, 1: key_of("alice"), 2: key_of("attestor"), 3: 3, 4: int(Source.SOLAR)}
    body[5], body[6] = 10_000, int(NONE)
    must(ledger, "operator", Kind.RETIRE_METER, {0: ALICE, 1: now + 5})
    must(ledger, "operator", Kind.REGISTER_METER, body)
    must(ledger, "operator", Kind.RETIRE_METER, {0: 203, 1: now + 2})  # before its first slot
    must(ledger, "operator", Kind.REGISTER_METER, {**body, 0: 204})
    assert ledger.state.meters[204].first_slot == now + 5
