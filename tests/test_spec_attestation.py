"""Attestation of meter readings (ATT-01 .. ATT-10), with the window edges drawn on purpose."""

from __future__ import annotations

import pytest
from _rules_plugin import rules
from hypothesis import given
from hypothesis import strategies as st
from strategies import (
    METER_CAPACITY_WH,
    accept_tx,
    attestation_edges,
    reject_tx,
    row,
    send,
    village,
)

from conformance_tests.scenario import ATTESTATION_WINDOW_S, Ledger, key_of
from spec.attestation import MAX_BATCH_READINGS
from spec.clearing import advance_clock
from spec.state import Encumbrance, MarketStatus, Role, Source
from spec.transactions import Kind
from spec.units import WH_MAX, slot_end

pytest_plugins = ("_rules_plugin",)


def reading(
    meter: int, slot: int, exported: int = 0, imported: int = 0, enc: int = 0
) -> dict[int, int]:
    return {0: meter, 1: slot, 2: exported, 3: imported, 4: enc}


def attest_body(*readings: dict[int, int]) -> dict[int, object]:
    return {0: list(readings)}


def at(ledger: Ledger, now: int) -> Ledger:
    """The ledger with its clock moved to ``now``."""
    ledger.state = advance_clock(ledger.state, now)
    return ledger


@rules("ATT-01")
@pytest.mark.parametrize("count", [0, MAX_BATCH_READINGS + 1])
def test_batch_size(count: int) -> None:
    ledger = village()
    slot = ledger.slot - 1
    body = attest_body(*[reading(103, slot, 1, 0) for _ in range(count)])
    send(ledger, "attestor", Kind.ATTEST, body, "ATT-01")


@rules("ATT-02")
def test_unknown_meter() -> None:
    ledger = village()
    send(ledger, "attestor", Kind.ATTEST, attest_body(reading(999, ledger.slot - 1)), "ATT-02")


@rules("ATT-03")
def test_only_the_meters_own_attestor() -> None:
    ledger = village()
    ledger.must("operator", Kind.REGISTER_ACCOUNT, {0: key_of("attestor-2"), 1: Role.ATTESTOR})
    body = attest_body(reading(103, ledger.slot - 1, 5, 0))
    send(ledger, "attestor-2", Kind.ATTEST, body, "ATT-03")


@rules("ATT-04", "ATT-05")
@given(offset=st.sampled_from(range(6)))
def test_window_edges(offset: int) -> None:
    """Readings of a slot are taken from its end (inclusive) to end + window (exclusive)."""
    ledger = village()
    slot = ledger.slot + 2
    now = attestation_edges(slot)[offset]
    # edges: end-1, end, end+1, close-1, close, close+1
    expected = ["ATT-04", None, None, None, "ATT-05", "ATT-05"][offset]
    at(ledger, now)
    tx = ledger.make("attestor", Kind.ATTEST, attest_body(reading(103, slot, 10, 0)))
    if expected is None:
        accept_tx(ledger.state, tx)
    else:
        reject_tx(ledger.state, tx, expected)


@rules("ATT-04")
def test_current_slot_has_not_ended() -> None:
    ledger = village()
    send(ledger, "attestor", Kind.ATTEST, attest_body(reading(103, ledger.slot, 1)), "ATT-04")


@rules("ATT-05")
def test_last_second_of_the_window() -> None:
    ledger = village()
    slot = ledger.slot - 1
    at(ledger, slot_end(slot) + ATTESTATION_WINDOW_S - 1)
    ok = accept_tx(
        ledger.state, ledger.make("attestor", Kind.ATTEST, attest_body(reading(103, slot, 1)))
    )
    assert (103, slot) in ok.readings
    at(ledger, slot_end(slot) + ATTESTATION_WINDOW_S)
    send(ledger, "attestor", Kind.ATTEST, attest_body(reading(103, slot, 1)), "ATT-05")


@rules("ATT-06")
def test_meter_and_slot_attested_once() -> None:
    ledger = village()
    slot = ledger.slot - 1
    ledger.must("attestor", Kind.ATTEST, attest_body(reading(103, slot, 5, 0)))
    send(ledger, "attestor", Kind.ATTEST, attest_body(reading(103, slot, 5, 0)), "ATT-06")
    # a different reading for the same (meter, slot) is no better
    send(ledger, "attestor", Kind.ATTEST, attest_body(reading(103, slot, 0, 7)), "ATT-06")


@rules("ATT-06")
def test_duplicate_inside_one_batch() -> None:
    ledger = village()
    slot = ledger.slot - 1
    body = attest_body(reading(104, slot, 1, 0), reading(104, slot, 2, 0))
    send(ledger, "attestor", Kind.ATTEST, body, "ATT-06")


@rules("ATT-07")
@given(export_over=st.booleans())
def test_capacity_edge(export_over: bool) -> None:
    ledger = village()
    slot = ledger.slot - 1
    over = METER_CAPACITY_WH + 1
    too_much = reading(103, slot, over, 0) if export_over else reading(103, slot, 0, over)
    send(ledger, "attestor", Kind.ATTEST, attest_body(too_much), "ATT-07")
    exactly = reading(103, slot, METER_CAPACITY_WH, METER_CAPACITY_WH)
    accept_tx(ledger.state, ledger.make("attestor", Kind.ATTEST, attest_body(exactly)))


@rules("ATT-10", "ATT-09")
def test_demand_bound_across_meters() -> None:
    """Two meters of one owner in one zone: their imports may add up to WH_MAX, not more."""
    ledger = village()
    for meter_id, source in ((150, 1), (151, 2)):  # wind and hydro: 103 measures solar there
        body = {0: meter_id, 1: key_of("alice"), 2: key_of("attestor"), 3: 3, 4: source}
        body[5], body[6] = WH_MAX, 0
        ledger.must("operator", Kind.REGISTER_METER, body)
    slot = ledger.slot - 1
    over = attest_body(reading(150, slot, 0, WH_MAX), reading(151, slot, 0, 1))
    send(ledger, "attestor", Kind.ATTEST, over, "ATT-10")
    fits = attest_body(reading(150, slot, 0, WH_MAX - 1), reading(151, slot, 0, 1))
    after = accept_tx(ledger.state, ledger.make("attestor", Kind.ATTEST, fits))
    assert row(after.demand, (key_of("alice"), 1, slot)) == (WH_MAX, 0)


@rules("ATT-06", "ATT-07")
def test_batch_is_all_or_nothing() -> None:
    ledger = village()
    slot = ledger.slot - 1
    body = attest_body(reading(103, slot, 5, 0), reading(104, slot, METER_CAPACITY_WH + 1, 0))
    send(ledger, "attestor", Kind.ATTEST, body, "ATT-07")


@rules("ATT-08", "ATT-09")
def test_export_mints_a_lot_and_import_records_demand() -> None:
    ledger = village()
    fit_meter = {0: 212, 1: key_of("erin"), 2: key_of("attestor"), 3: 12, 4: int(Source.WIND)}
    fit_meter[5], fit_meter[6] = 10_000, int(Encumbrance.FEED_IN_TARIFF)
    ledger.must("operator", Kind.REGISTER_METER, fit_meter)
    slot = ledger.slot - 1
    body = attest_body(
        reading(103, slot, 1200, 0),
        reading(104, slot, 0, 300),
        reading(212, slot, 40, 60, int(Encumbrance.FEED_IN_TARIFF)),
        reading(105, slot, 0, 0),
    )
    after = accept_tx(ledger.state, ledger.make("attestor", Kind.ATTEST, body))
    alice, bob, erin = key_of("alice"), key_of("bob"), key_of("erin")
    # lot fields: owner, zone, node, source, encumbrance, minted, unsold, reserved, sold, expired
    solar, none, fit = Source.SOLAR, Encumbrance.NONE, Encumbrance.FEED_IN_TARIFF
    assert row(after.lots, (103, slot)) == (alice, 1, 3, solar, none, 1200, 1200, 0, 0, 0)
    wind = Source.WIND
    assert row(after.lots, (212, slot)) == (erin, 10, 12, wind, fit, 40, 40, 0, 0, 0)
    assert (104, slot) not in after.lots and (105, slot) not in after.lots  # nothing exported
    assert row(after.readings, (105, slot)) == (0, 0, none, 0)  # never corrected
    assert row(after.demand, (bob, 1, slot)) == (300, 0)  # (imported, claimed)
    assert row(after.demand, (erin, 10, slot)) == (60, 0)
    assert (alice, 1, slot) not in after.demand  # nothing imported
    # the lots' markets exist, open, so that clearing will expire them
    assert row(after.markets, (1, slot)) == (MarketStatus.OPEN, None, 0)
    assert row(after.markets, (10, slot)) == (MarketStatus.OPEN, None, 0)
