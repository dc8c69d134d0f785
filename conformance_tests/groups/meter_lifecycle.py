"""Vectors for a meter's life after registration: retirement (MTR-07 .. MTR-12, MTR-14) and
encumbrance changes from a slot on (MTR-09, MTR-10, MTR-13, ATT-11, INV-27).

Every expected outcome is worked out from the rule book (chapter 10's order, sections 11.6 and
11.7); the generator checks each claim against the spec. The village's clock stands at the start
of slot ``now`` (its genesis time is a slot boundary), slot ``now - 1`` has just ended, and the
attestation window is 3 600 s (two slots).
"""

from __future__ import annotations

from typing import Any

from conformance_tests.adapter import Step
from conformance_tests.scenario import Ledger, key_of, small_village
from conformance_tests.spec_adapter import apply_step
from conformance_tests.suite import (
    ENCUMBERED_METER,
    GenerationError,
    Suite,
    copy,
    encumbered_village,
    must,
    tick,
    tx,
    village,
)
from spec.state import Encumbrance, Source, State
from spec.transactions import Kind
from spec.units import SLOT_SECONDS, slot_end

NONE, FIT, J_CREDIT = Encumbrance.NONE, Encumbrance.FEED_IN_TARIFF, Encumbrance.J_CREDIT


class Script:
    """Steps made against a shadow copy of a pre-state, so each transaction carries the nonce its
    sender has when it is applied (a rejected one leaves the nonce where it was)."""

    def __init__(self, ledger: Ledger) -> None:
        self.pre = ledger.state
        self.shadow = copy(ledger)
        self.steps: list[Step] = []

    def send(self, sender: str, kind: Kind, body: Any) -> Script:
        data = self.shadow.make(sender, kind, body)
        self.shadow.submit(data, sender)
        self.steps.append(tx(data))
        return self

    def tick(self, now: int) -> Script:
        self.shadow.tick(now)
        self.steps.append(tick(now))
        return self


def reading(
    meter: int, slot: int, exported: int, imported: int = 0, enc: Encumbrance = NONE
) -> Any:
    return {0: meter, 1: slot, 2: exported, 3: imported, 4: int(enc)}


def attest(*readings: Any) -> Any:
    return {0: list(readings)}


def retire(meter: int, from_slot: int) -> Any:
    return {0: meter, 1: from_slot}


def change(meter: int, from_slot: int, enc: Encumbrance) -> Any:
    return {0: meter, 1: from_slot, 2: int(enc)}


def after(ledger: Ledger, *actions: tuple[str, Kind, Any]) -> Ledger:
    """A copy of ``ledger`` with each action accepted."""
    out = copy(ledger)
    for sender, kind, body in actions:
        must(out.send(sender, kind, body))
    return out


def both(
    suite: Suite,
    name: str,
    description: str,
    pre: State,
    step: Step,
    first: str,
    second_pre: State,
    second_step: Step,
    second: str,
) -> None:
    """A check-order vector: ``step`` breaks ``first`` and ``second``; the companion input with
    only the second fault is rejected by ``second`` (checked here), so the pair is real."""
    _, outcome = apply_step(second_pre, second_step)
    if outcome.rule != second:
        raise GenerationError(f"checks/{name}: the companion gives {outcome.rule}, not {second}")
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


def group_meter_lifecycle(suite: Suite) -> None:
    """Retirement, replacement and encumbrance changes, one rule at a time, then in sequence."""
    v = village()
    now = v.slot
    ended = now - 1

    # --- RETIRE_METER and SET_METER_ENCUMBRANCE: MTR-07, MTR-08, MTR-09 ------------------------
    suite.negative(
        "meter_lifecycle/MTR-07/retire-unknown-meter",
        "The operator retires meter 999, which was never registered; retiring alice's meter 103 "
        "from the current slot is accepted.",
        v.state,
        tx(v.make("operator", Kind.RETIRE_METER, retire(999, now))),
        tx(v.make("operator", Kind.RETIRE_METER, retire(103, now))),
        "MTR-07",
    )
    suite.negative(
        "meter_lifecycle/MTR-07/encumbrance-of-unknown-meter",
        "The operator schedules FEED_IN_TARIFF for meter 999, which was never registered; the "
        "same change for meter 103 is accepted.",
        v.state,
        tx(v.make("operator", Kind.SET_METER_ENCUMBRANCE, change(999, now, FIT))),
        tx(v.make("operator", Kind.SET_METER_ENCUMBRANCE, change(103, now, FIT))),
        "MTR-07",
    )
    retired = after(v, ("operator", Kind.RETIRE_METER, retire(103, now + 1)))
    suite.negative(
        "meter_lifecycle/MTR-08/retired-twice",
        "Meter 103 is retired from the next slot; retiring it again (from a later slot, which "
        "would move its service's end) is refused. Retiring bob's meter 104 is accepted.",
        retired.state,
        tx(retired.make("operator", Kind.RETIRE_METER, retire(103, now + 2))),
        tx(retired.make("operator", Kind.RETIRE_METER, retire(104, now + 2))),
        "MTR-08",
    )
    suite.negative(
        "meter_lifecycle/MTR-08/encumbrance-of-retired-meter",
        "Meter 103 is retired from the next slot; a change of its encumbrance is refused, the "
        "same change for meter 104 is accepted.",
        retired.state,
        tx(retired.make("operator", Kind.SET_METER_ENCUMBRANCE, change(103, now, FIT))),
        tx(retired.make("operator", Kind.SET_METER_ENCUMBRANCE, change(104, now, FIT))),
        "MTR-08",
    )
    suite.negative(
        "meter_lifecycle/MTR-09/retire-from-ended-slot",
        "The operator retires meter 103 from the slot that has just ended (not yet attested): "
        "the change would reach back to a slot whose reading may still come. From the current "
        "slot it is accepted.",
        v.state,
        tx(v.make("operator", Kind.RETIRE_METER, retire(103, ended))),
        tx(v.make("operator", Kind.RETIRE_METER, retire(103, now))),
        "MTR-09",
        flags=["boundary"],
    )
    e = encumbered_village()
    fit_meter = ENCUMBERED_METER[FIT]
    must(e.attest([(fit_meter, ended, 700, 0, FIT)]))
    suite.negative(
        "meter_lifecycle/MTR-09/encumbrance-for-attested-slot",
        f"Meter {fit_meter} (feed-in tariff) was attested FEED_IN_TARIFF for the slot that has "
        "just ended. The operator sets its encumbrance to NONE from that slot on, which would "
        "lift the tariff from energy already attested; it is refused. From the current slot on "
        "it is accepted, and the attested lot keeps its encumbrance.",
        e.state,
        tx(e.make("operator", Kind.SET_METER_ENCUMBRANCE, change(fit_meter, ended, NONE))),
        tx(e.make("operator", Kind.SET_METER_ENCUMBRANCE, change(fit_meter, now, NONE))),
        "MTR-09",
        flags=["attack", "double-counting"],
    )

    # --- MTR-10: one scheduled change ----------------------------------------------------------
    scheduled = after(v, ("operator", Kind.SET_METER_ENCUMBRANCE, change(103, now + 1, J_CREDIT)))
    suite.negative(
        "meter_lifecycle/MTR-10/second-change-while-first-open",
        "Meter 103 has a change to J_CREDIT scheduled from the next slot. A change to "
        "FEED_IN_TARIFF from the slot after would need a third segment of the schedule while "
        "slots before the first change can still be attested; it is refused. The same change "
        "from the next slot replaces the scheduled one and is accepted.",
        scheduled.state,
        tx(scheduled.make("operator", Kind.SET_METER_ENCUMBRANCE, change(103, now + 2, FIT))),
        tx(scheduled.make("operator", Kind.SET_METER_ENCUMBRANCE, change(103, now + 1, FIT))),
        "MTR-10",
    )
    window = v.state.params.attestation_window_s
    closed = (now + 1) * SLOT_SECONDS + window  # every slot before now + 1 is past its window
    for at, outcome, label in (
        (closed - 1, "MTR-10", "one-second-early"),
        (closed, None, "on-time"),
    ):
        script = Script(scheduled)
        script.tick(at)
        new_slot = at // SLOT_SECONDS
        script.send("operator", Kind.SET_METER_ENCUMBRANCE, change(103, new_slot, FIT))
        suite.add(
            f"meter_lifecycle/MTR-10/fold-{label}",
            "Meter 103 has a change to J_CREDIT scheduled from the next slot. The clock moves "
            f"to {at - closed} s from the moment every slot before that change is past its "
            "attestation window; then a change to FEED_IN_TARIFF from the current slot "
            + (
                "is refused: the slot before the scheduled change could still be attested."
                if outcome
                else "is accepted: J_CREDIT becomes the meter's encumbrance (MTR-13) and the "
                "new change is scheduled."
            ),
            script.pre,
            script.steps,
            expect=[None, outcome],
            flags=["boundary"],
        )

    # --- MTR-11, MTR-14: retirement and a replacement at the same service point ---------------
    script = Script(v)
    script.send("operator", Kind.RETIRE_METER, retire(103, now))
    script.tick(slot_end(now))
    script.send("attestor", Kind.ATTEST, attest(reading(103, now, 500)))
    script.send("attestor", Kind.ATTEST, attest(reading(103, ended, 500)))
    suite.add(
        "meter_lifecycle/MTR-11/retired-meter-attested",
        "Meter 103 is retired from the current slot. Once that slot has ended its reading is "
        "refused (MTR-11); the reading of the slot before, still inside its window, is accepted "
        "(its last measurement).",
        script.pre,
        script.steps,
        expect=[None, None, "MTR-11", None],
        flags=["attack", "double-counting"],
    )
    replaced = Script(v)
    replaced.send("operator", Kind.RETIRE_METER, retire(103, now))
    body = {0: 203, 1: key_of("alice"), 2: key_of("attestor"), 3: 3, 4: int(Source.SOLAR)}
    body[5], body[6] = 10_000, int(NONE)
    replaced.send("operator", Kind.REGISTER_METER, body)
    replaced.tick(slot_end(now))
    replaced.send("attestor", Kind.ATTEST, attest(reading(203, now, 500)))
    replaced.send("attestor", Kind.ATTEST, attest(reading(203, ended, 500)))
    replaced.send("attestor", Kind.ATTEST, attest(reading(103, ended, 400)))
    replaced.send("attestor", Kind.ATTEST, attest(reading(103, now, 500)))
    suite.add(
        "meter_lifecycle/MTR-14/replacement-meter-same-point",
        "Meter 103 (solar, alice's service point 3) is retired from the current slot and a "
        "replacement, meter 203, is registered at the same point for the same source "
        "(accepted: MTR-06 counts only meters in service; its first slot is the retirement "
        "slot, MTR-14). After the slot ends, meter 203 is attested for it; 203 is refused for "
        "the slot before (MTR-11: before its first slot), which 103 measured and is attested "
        "for; 103 is refused for the current slot (MTR-11). Each slot is minted by one meter.",
        replaced.pre,
        replaced.steps,
        expect=[None, None, None, None, "MTR-11", None, "MTR-11"],
        flags=["attack", "double-counting"],
    )
    early = Script(v)
    early.send("operator", Kind.REGISTER_METER, body)
    early.send("operator", Kind.RETIRE_METER, retire(103, now + 2))
    early.send("operator", Kind.REGISTER_METER, body)
    suite.add(
        "meter_lifecycle/MTR-06/replacement-before-retirement",
        "A second solar meter at alice's service point is refused while meter 103 is in service "
        "(MTR-06). Once 103 is retired from a later slot, the same registration is accepted; "
        "the new meter's first slot is 103's retirement slot (MTR-14).",
        early.pre,
        early.steps,
        expect=["MTR-06", None, None],
    )

    # --- ATT-11 against the schedule -----------------------------------------------------------
    fit_from = Script(v)
    fit_from.send("operator", Kind.SET_METER_ENCUMBRANCE, change(103, now, FIT))
    fit_from.tick(slot_end(now))
    fit_from.send("attestor", Kind.ATTEST, attest(reading(103, now, 900)))
    fit_from.send("attestor", Kind.ATTEST, attest(reading(103, now, 900, enc=FIT)))
    fit_from.send("attestor", Kind.ATTEST, attest(reading(103, ended, 800, enc=FIT)))
    fit_from.send("attestor", Kind.ATTEST, attest(reading(103, ended, 800)))
    fit_from.send("alice", Kind.PLACE_ASK, {0: 103, 1: now, 2: 100, 3: 2000})
    fit_from.send("alice", Kind.PLACE_ASK, {0: 103, 1: ended, 2: 100, 3: 2000})
    suite.add(
        "meter_lifecycle/ATT-11/fit-from-slot-then-none",
        "The operator puts meter 103 under a feed-in tariff from the current slot on. When the "
        "slot has ended, its reading claiming NONE is refused (ATT-11) and the one claiming "
        "FEED_IN_TARIFF accepted; the slot before keeps NONE (a FEED_IN_TARIFF claim for it is "
        "refused, NONE accepted). The tariff lot cannot be offered (ASK-03); the earlier one "
        "can.",
        fit_from.pre,
        fit_from.steps,
        expect=[None, None, "ATT-11", None, "ATT-11", None, "ASK-03", None],
        flags=["attack", "double-counting"],
    )

    # --- Check order ---------------------------------------------------------------------------
    both(
        suite,
        "retire-unknown-meter-from-ended-slot",
        "RETIRE_METER of an unregistered meter from a slot that has ended.",
        v.state,
        tx(v.make("operator", Kind.RETIRE_METER, retire(999, ended))),
        "MTR-07",
        v.state,
        tx(v.make("operator", Kind.RETIRE_METER, retire(103, ended))),
        "MTR-09",
    )
    both(
        suite,
        "retire-retired-meter-from-ended-slot",
        "RETIRE_METER of a retired meter from a slot that has ended.",
        retired.state,
        tx(retired.make("operator", Kind.RETIRE_METER, retire(103, ended))),
        "MTR-08",
        retired.state,
        tx(retired.make("operator", Kind.RETIRE_METER, retire(104, ended))),
        "MTR-09",
    )
    both(
        suite,
        "encumbrance-of-retired-meter-from-ended-slot",
        "SET_METER_ENCUMBRANCE of a retired meter from a slot that has ended.",
        retired.state,
        tx(retired.make("operator", Kind.SET_METER_ENCUMBRANCE, change(103, ended, FIT))),
        "MTR-08",
        retired.state,
        tx(retired.make("operator", Kind.SET_METER_ENCUMBRANCE, change(104, ended, FIT))),
        "MTR-09",
    )
    # A change scheduled from the current slot; two slots later, a change from the slot that
    # has just ended (past, and after the scheduled one, whose earlier slots are still open).
    # With a window of two slots no slot can be both; this chain's window is four slots.
    wide = small_village(Ledger.new(attestation_window_s=4 * SLOT_SECONDS, trading_close_s=9000))
    later = after(wide, ("operator", Kind.SET_METER_ENCUMBRANCE, change(103, now, J_CREDIT)))
    must_tick(later, slot_end(now + 1))
    past = now + 1  # ended at the new time; after the scheduled change's from_slot
    both(
        suite,
        "second-change-from-ended-slot",
        "SET_METER_ENCUMBRANCE from a slot that has ended, after a scheduled change whose "
        "earlier slots are still inside their window.",
        later.state,
        tx(later.make("operator", Kind.SET_METER_ENCUMBRANCE, change(103, past, FIT))),
        "MTR-09",
        later.state,
        tx(later.make("operator", Kind.SET_METER_ENCUMBRANCE, change(103, past + 1, FIT))),
        "MTR-10",
    )
    # ATTEST: the window before the service, the service before the capacity.
    gone = after(v, ("operator", Kind.RETIRE_METER, retire(103, now)))
    must_tick(gone, slot_end(now) + window)  # slot `now` is past its window
    both(
        suite,
        "attest-retired-slot-after-window",
        "A reading of a retired meter's slot after retirement, past the attestation window.",
        gone.state,
        tx(gone.make("attestor", Kind.ATTEST, attest(reading(103, now, 500)))),
        "ATT-05",
        gone.state,
        tx(gone.make("attestor", Kind.ATTEST, attest(reading(103, now + 1, 500)))),
        "MTR-11",
    )
    gone_open = after(v, ("operator", Kind.RETIRE_METER, retire(103, now)))
    must_tick(gone_open, slot_end(now))
    both(
        suite,
        "attest-retired-slot-over-capacity",
        "A reading of a retired meter's slot after retirement, over the meter's capacity.",
        gone_open.state,
        tx(gone_open.make("attestor", Kind.ATTEST, attest(reading(103, now, 10_001)))),
        "MTR-11",
        gone_open.state,
        tx(gone_open.make("attestor", Kind.ATTEST, attest(reading(103, ended, 10_001)))),
        "ATT-07",
    )


def must_tick(ledger: Ledger, now: int) -> None:
    if ledger.tick(now) is not None:
        raise GenerationError(f"fixture tick to {now} rejected")
