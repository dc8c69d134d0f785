"""Vectors for reading corrections (COR-01 .. COR-06, and the attestation rules a correction
shares: ATT-02 .. ATT-05, ATT-07, ATT-10, ATT-11).

Every expected outcome is worked out from the rule book (chapter 10's order for CORRECT_READING,
section 11.7a); the generator checks each claim against the spec. The village's clock stands at
the start of slot ``now``; slot ``now - 1`` (``ended``) has just ended and stays inside its
attestation window (3 600 s) for two more slots.
"""

from __future__ import annotations

from typing import Any

from conformance_tests.groups.meter_lifecycle import (
    FIT,
    Script,
    after,
    both,
    change,
    must_tick,
    reading,
)
from conformance_tests.scenario import Ledger, key_of
from conformance_tests.suite import (
    ENCUMBERED_METER,
    Suite,
    copy,
    encumbered_village,
    must,
    tx,
    village,
)
from spec.state import Encumbrance, Role, Source
from spec.transactions import Kind
from spec.units import WH_MAX, slot_end


def attest(*readings: Any) -> Any:
    return {0: list(readings)}


def group_corrections(suite: Suite) -> None:
    """One vector per COR rule, the issue's cases, and the check order of CORRECT_READING."""
    v = village()
    now = v.slot
    ended = now - 1
    zero = after(v, ("attestor", Kind.ATTEST, attest(reading(103, ended, 0))))

    # --- The case: a first reading of 0 Wh ---------------------------------------------
    script = Script(zero)
    script.send("attestor", Kind.ATTEST, attest(reading(103, ended, 3000)))
    script.send("attestor", Kind.CORRECT_READING, reading(103, ended, 3000))
    script.send("alice", Kind.PLACE_ASK, {0: 103, 1: ended, 2: 1000, 3: 2000})
    suite.add(
        "corrections/COR-06/zero-reading-corrected",
        "Meter 103 was attested 0 Wh for the slot that has just ended (the meter was offline). "
        "The true reading, 3 000 Wh, is refused as a second attestation (ATT-06) but accepted "
        "as a correction: it mints a lot of 3 000 Wh, of which alice offers 1 000 Wh.",
        script.pre,
        script.steps,
        expect=["ATT-06", None, None],
        flags=["attack"],
    )
    market = after(
        v,
        ("attestor", Kind.ATTEST, attest(reading(103, ended, 3000), reading(104, ended, 0, 2500))),
    )
    script = Script(market)
    script.send("attestor", Kind.CORRECT_READING, reading(103, ended, 0, 200))
    script.send("attestor", Kind.CORRECT_READING, reading(104, ended, 700, 0))
    suite.add(
        "corrections/COR-06/export-and-import-replaced",
        "Meter 103 exported 3 000 Wh and meter 104 imported 2 500 Wh. Corrected, 103 exported "
        "nothing and imported 200 Wh (its lot is gone, alice has 200 Wh of demand), and 104 "
        "exported 700 Wh and imported nothing (bob's lot of 700 Wh is minted, his demand record "
        "is gone): the state is the one the corrected readings would have made.",
        script.pre,
        script.steps,
        expect=[None, None],
    )

    two = encumbered_village()
    fit = ENCUMBERED_METER[FIT]
    must(two.attest([(103, ended, 0, 400, Encumbrance.NONE), (fit, ended, 0, 300, FIT)]))
    script = Script(two)
    script.send("attestor", Kind.CORRECT_READING, reading(103, ended, 0, 100))
    script.send("attestor", Kind.CORRECT_READING, reading(fit, ended, 0, 0, enc=FIT))
    suite.add(
        "corrections/COR-06/demand-of-two-meters",
        f"Alice's meters 103 and {fit} imported 400 Wh and 300 Wh in the slot: her demand in "
        "zone 1 is 700 Wh. Meter 103 is corrected to 100 Wh (demand 400 Wh), then meter "
        f"{fit} to 0 Wh (demand 100 Wh): a correction moves the demand by the difference, it "
        "does not replace it by one reading's import.",
        script.pre,
        script.steps,
        expect=[None, None],
    )

    # --- One rule at a time ---------------------------------------------------------------------
    suite.negative(
        "corrections/COR-01/nothing-attested",
        "The attestor corrects meter 104's reading of the slot that has just ended, which was "
        "never attested; the correction of meter 103's reading is accepted.",
        zero.state,
        tx(zero.make("attestor", Kind.CORRECT_READING, reading(104, ended, 500))),
        tx(zero.make("attestor", Kind.CORRECT_READING, reading(103, ended, 500))),
        "COR-01",
    )
    twice = after(
        zero,
        ("attestor", Kind.CORRECT_READING, reading(103, ended, 100)),
        ("attestor", Kind.CORRECT_READING, reading(103, ended, 200)),
    )
    thrice = after(twice, ("attestor", Kind.CORRECT_READING, reading(103, ended, 300)))
    suite.negative(
        "corrections/COR-02/fourth-correction",
        "Meter 103's reading was corrected three times (MAX_CORRECTIONS_PER_READING); a fourth "
        "correction is refused. After two corrections, the third is accepted.",
        thrice.state,
        tx(thrice.make("attestor", Kind.CORRECT_READING, reading(103, ended, 400))),
        tx(twice.make("attestor", Kind.CORRECT_READING, reading(103, ended, 400))),
        "COR-02",
        twin_pre=twice.state,
        flags=["boundary"],
    )
    reserved = after(market, ("alice", Kind.PLACE_ASK, {0: 103, 1: ended, 2: 1000, 3: 2000}))
    released = after(reserved, ("alice", Kind.CANCEL, {0: 1}))
    suite.negative(
        "corrections/COR-03/after-partial-reservation",
        "Alice offers 1 000 Wh of meter 103's 3 000 Wh lot; a correction of the reading to "
        "2 500 Wh is refused while the ask reserves part of the lot. The same correction of the "
        "lot before any ask is accepted.",
        reserved.state,
        tx(reserved.make("attestor", Kind.CORRECT_READING, reading(103, ended, 2500))),
        tx(market.make("attestor", Kind.CORRECT_READING, reading(103, ended, 2500))),
        "COR-03",
        twin_pre=market.state,
        flags=["attack"],
    )
    suite.negative(
        "corrections/COR-03/after-cancelled-ask",
        "Alice offered part of meter 103's lot and cancelled the ask: the cancelled ask still "
        "names the lot (PRE-06), so a correction of its export to 0 Wh, which would remove the "
        "lot, is refused. The same correction of the lot before any ask is accepted.",
        released.state,
        tx(released.make("attestor", Kind.CORRECT_READING, reading(103, ended, 0))),
        tx(market.make("attestor", Kind.CORRECT_READING, reading(103, ended, 0))),
        "COR-03",
        twin_pre=market.state,
    )
    suite.negative(
        "corrections/COR-04/same-reading",
        "The attestor 'corrects' meter 103's reading to the figures it already has; refused. "
        "A correction of its export to 2 999 Wh is accepted.",
        market.state,
        tx(market.make("attestor", Kind.CORRECT_READING, reading(103, ended, 3000))),
        tx(market.make("attestor", Kind.CORRECT_READING, reading(103, ended, 2999))),
        "COR-04",
    )
    bid = after(market, ("bob", Kind.PLACE_BID, {0: 1, 1: ended, 2: 2000, 3: 2500}))
    suite.negative(
        "corrections/COR-05/import-below-open-bids",
        "Bob imported 2 500 Wh and holds an open bid of 2 000 Wh against it. A correction of "
        "his import to 1 999 Wh would leave the bid backed by consumption that did not happen "
        "(INV-25); refused. A correction to 2 000 Wh is accepted.",
        bid.state,
        tx(bid.make("attestor", Kind.CORRECT_READING, reading(104, ended, 0, 1999))),
        tx(bid.make("attestor", Kind.CORRECT_READING, reading(104, ended, 0, 2000))),
        "COR-05",
        flags=["attack", "boundary"],
    )
    late = copy(market)
    window = v.state.params.attestation_window_s
    must_tick(late, slot_end(ended) + window)
    open_window = copy(market)
    must_tick(open_window, slot_end(ended) + window - 1)
    suite.negative(
        "corrections/ATT-05/after-the-window",
        "The attestation window of the slot has closed; a correction of meter 103's reading is "
        "refused. One second earlier it is accepted.",
        late.state,
        tx(late.make("attestor", Kind.CORRECT_READING, reading(103, ended, 2000))),
        tx(open_window.make("attestor", Kind.CORRECT_READING, reading(103, ended, 2000))),
        "ATT-05",
        twin_pre=open_window.state,
        flags=["boundary"],
    )
    attestor_2 = {0: key_of("attestor-2"), 1: int(Role.ATTESTOR)}
    second = after(market, ("operator", Kind.REGISTER_ACCOUNT, attestor_2))
    suite.negative(
        "corrections/ATT-03/not-the-meters-attestor",
        "A second attestor, not meter 103's, corrects its reading; refused. The meter's own "
        "attestor's correction is accepted.",
        second.state,
        tx(second.make("attestor-2", Kind.CORRECT_READING, reading(103, ended, 2000))),
        tx(second.make("attestor", Kind.CORRECT_READING, reading(103, ended, 2000))),
        "ATT-03",
        flags=["authorization"],
    )
    suite.negative(
        "corrections/ATT-02/unknown-meter",
        "A correction for meter 999, never registered; refused. Meter 103's is accepted.",
        market.state,
        tx(market.make("attestor", Kind.CORRECT_READING, reading(999, ended, 2000))),
        tx(market.make("attestor", Kind.CORRECT_READING, reading(103, ended, 2000))),
        "ATT-02",
    )
    suite.negative(
        "corrections/ATT-04/slot-not-ended",
        "A correction for the current slot, which has not ended; refused. The slot before's is "
        "accepted.",
        market.state,
        tx(market.make("attestor", Kind.CORRECT_READING, reading(103, now, 2000))),
        tx(market.make("attestor", Kind.CORRECT_READING, reading(103, ended, 2000))),
        "ATT-04",
    )
    suite.negative(
        "corrections/ATT-07/over-capacity",
        "A correction of meter 103's export to 10 001 Wh, over its capacity of 10 000 Wh; "
        "refused. 10 000 Wh is accepted.",
        market.state,
        tx(market.make("attestor", Kind.CORRECT_READING, reading(103, ended, 10_001))),
        tx(market.make("attestor", Kind.CORRECT_READING, reading(103, ended, 10_000))),
        "ATT-07",
        flags=["boundary"],
    )
    suite.negative(
        "corrections/ATT-11/claims-another-encumbrance",
        "A correction of meter 103's reading that claims FEED_IN_TARIFF, while its schedule "
        "says NONE for the slot; refused. The same correction with NONE is accepted.",
        market.state,
        tx(market.make("attestor", Kind.CORRECT_READING, reading(103, ended, 2000, enc=FIT))),
        tx(market.make("attestor", Kind.CORRECT_READING, reading(103, ended, 2000))),
        "ATT-11",
        flags=["double-counting"],
    )

    suite.negative(
        "corrections/ATT-07/import-over-capacity",
        "A correction of meter 104's import to 10 001 Wh, over its capacity of 10 000 Wh; "
        "refused. 10 000 Wh is accepted.",
        market.state,
        tx(market.make("attestor", Kind.CORRECT_READING, reading(104, ended, 0, 10_001))),
        tx(market.make("attestor", Kind.CORRECT_READING, reading(104, ended, 0, 10_000))),
        "ATT-07",
        flags=["boundary"],
    )

    # ATT-10: alice's import in zone 1 at the bound, through two meters of capacity WH_MAX.
    def big(first_import: int) -> Ledger:
        ledger = village()
        for meter, source in ((220, Source.WIND), (221, Source.HYDRO)):
            must(ledger.meter(meter, "alice", 3, capacity_wh=WH_MAX, source=source))
        must(ledger.attest([(220, ended, 0, first_import), (221, ended, 0, 0)]))
        return ledger

    full, room = big(WH_MAX), big(WH_MAX - 1)
    suite.negative(
        "corrections/ATT-10/demand-over-bound",
        "Alice's meter 220 imported WH_MAX Wh in the slot; a correction of her meter 221's "
        "import from 0 to 1 Wh would take her demand in zone 1 over WH_MAX; refused. With 220 "
        "at WH_MAX - 1 Wh the same correction is accepted.",
        full.state,
        tx(full.make("attestor", Kind.CORRECT_READING, reading(221, ended, 0, 1))),
        tx(room.make("attestor", Kind.CORRECT_READING, reading(221, ended, 0, 1))),
        "ATT-10",
        twin_pre=room.state,
        flags=["boundary"],
    )

    # --- The order of checks (chapter 10) -------------------------------------------------------
    by = second
    both(
        suite,
        "correct-by-stranger-before-slot-end",
        "A correction by an attestor that is not the meter's, for a slot that has not ended.",
        by.state,
        tx(by.make("attestor-2", Kind.CORRECT_READING, reading(103, now, 1))),
        "ATT-03",
        by.state,
        tx(by.make("attestor", Kind.CORRECT_READING, reading(103, now, 1))),
        "ATT-04",
    )
    both(
        suite,
        "correct-unattested-after-window",
        "A correction of a reading never attested, after the slot's window.",
        late.state,
        tx(late.make("attestor", Kind.CORRECT_READING, reading(104, ended - 1, 1))),
        "ATT-05",
        market.state,
        tx(market.make("attestor", Kind.CORRECT_READING, reading(104, ended - 1, 1))),
        "COR-01",
    )
    used_thrice = after(
        market,
        ("attestor", Kind.CORRECT_READING, reading(103, ended, 2900)),
        ("attestor", Kind.CORRECT_READING, reading(103, ended, 2800)),
        ("attestor", Kind.CORRECT_READING, reading(103, ended, 2700)),
        ("alice", Kind.PLACE_ASK, {0: 103, 1: ended, 2: 100, 3: 2000}),
    )
    both(
        suite,
        "fourth-correction-of-reserved-lot",
        "A fourth correction of a reading whose lot an ask reserves.",
        used_thrice.state,
        tx(used_thrice.make("attestor", Kind.CORRECT_READING, reading(103, ended, 2600))),
        "COR-02",
        reserved.state,
        tx(reserved.make("attestor", Kind.CORRECT_READING, reading(103, ended, 2600))),
        "COR-03",
    )
    both(
        suite,
        "reserved-lot-over-capacity",
        "A correction over the meter's capacity of a reading whose lot an ask reserves.",
        reserved.state,
        tx(reserved.make("attestor", Kind.CORRECT_READING, reading(103, ended, 10_001))),
        "COR-03",
        market.state,
        tx(market.make("attestor", Kind.CORRECT_READING, reading(103, ended, 10_001))),
        "ATT-07",
    )
    both(
        suite,
        "over-capacity-wrong-encumbrance",
        "A correction over the meter's capacity that claims another encumbrance.",
        market.state,
        tx(market.make("attestor", Kind.CORRECT_READING, reading(103, ended, 10_001, enc=FIT))),
        "ATT-07",
        market.state,
        tx(market.make("attestor", Kind.CORRECT_READING, reading(103, ended, 2000, enc=FIT))),
        "ATT-11",
    )
    both(
        suite,
        "wrong-encumbrance-same-figures",
        "A correction with the reading's own figures that claims another encumbrance.",
        market.state,
        tx(market.make("attestor", Kind.CORRECT_READING, reading(103, ended, 3000, enc=FIT))),
        "ATT-11",
        market.state,
        tx(market.make("attestor", Kind.CORRECT_READING, reading(103, ended, 3000))),
        "COR-04",
    )
    both(
        suite,
        "wrong-encumbrance-import-below-bids",
        "A correction that claims another encumbrance and lowers import below an open bid.",
        bid.state,
        tx(bid.make("attestor", Kind.CORRECT_READING, reading(104, ended, 0, 1999, enc=FIT))),
        "ATT-11",
        bid.state,
        tx(bid.make("attestor", Kind.CORRECT_READING, reading(104, ended, 0, 1999))),
        "COR-05",
    )
    # A correction keeps the encumbrance the schedule gave the slot, even after a change.
    changed = after(market, ("operator", Kind.SET_METER_ENCUMBRANCE, change(103, now, FIT)))
    script = Script(changed)
    script.send("attestor", Kind.CORRECT_READING, reading(103, ended, 2000, enc=FIT))
    script.send("attestor", Kind.CORRECT_READING, reading(103, ended, 2000))
    suite.add(
        "corrections/ATT-11/schedule-of-the-slot",
        "The operator puts meter 103 under a feed-in tariff from the current slot on. A "
        "correction of its reading of the slot before claims FEED_IN_TARIFF and is refused: "
        "that slot's encumbrance is still NONE (MTR-13). With NONE it is accepted.",
        script.pre,
        script.steps,
        expect=["ATT-11", None],
        flags=["double-counting"],
    )
