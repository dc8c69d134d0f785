"""The ``attest`` vectors: attestation of meter readings."""

from __future__ import annotations

from conformance_tests.adapter import Step
from conformance_tests.scenario import Ledger, small_village
from conformance_tests.suite import (
    Suite,
    must,
    nonce_make,
    reading_map,
    state_after,
    tx,
    village,
)
from spec.attestation import MAX_BATCH_READINGS
from spec.state import (
    Encumbrance,
    Role,
)
from spec.transactions import (
    Kind,
)
from spec.units import (
    WH_MAX,
    slot_end,
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
        tx(before_end.make("attestor", Kind.ATTEST, {0: [reading_map(103, s, 1000)]})),
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
        tx(closed.make("attestor", Kind.ATTEST, {0: [reading_map(103, s, 1000)]})),
        tx(late.make("attestor", Kind.ATTEST, {0: [reading_map(103, s, 1000)]})),
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
        tx(done.make("attestor", Kind.ATTEST, {0: [reading_map(103, s, 900)]})),
        tx(done.make("attestor", Kind.ATTEST, {0: [reading_map(104, s, 900)]})),
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
        state_after(v, lambda led: led.attest([(103, s, 0, 0)])),
        tx(nonce_make(v, 1, Kind.ATTEST, {0: [reading_map(103, s, 10)]})),
        tx(nonce_make(v, 1, Kind.ATTEST, {0: [reading_map(104, s, 10)]})),
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
                {0: [reading_map(201, s, 0, WH_MAX), reading_map(202, s, 0, 1)]},
            )
        ),
        tx(
            big.make(
                "attestor",
                Kind.ATTEST,
                {0: [reading_map(201, s, 0, WH_MAX), reading_map(202, s, 0, 0)]},
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
                    {0: [reading_map(103, s, 10), reading_map(103, s + 1, 20)]},
                )
            )
        ],
        expect=[None],
        flags=["boundary", "time", "valid"],
    )
