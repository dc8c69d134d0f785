"""Vectors for the meter's own encumbrance (ATT-11, INV-21) and one meter per service point and
source (MTR-06).

The attacks: a meter attested FEED_IN_TARIFF in one slot and NONE in the next (the second lot
could be sold), and a second meter at the same service point minting the same export again.
"""

from __future__ import annotations

from conformance_tests.scenario import key_of
from conformance_tests.suite import ENCUMBERED_METER, Suite, encumbered_village, tx, village
from spec.state import Encumbrance, Source
from spec.transactions import Kind


def group_meters(suite: Suite) -> None:
    """MTR-06 at registration; ATT-11 for every encumbrance a reading could claim instead."""
    v = village()

    def meter(source: Source, meter_id: int = 200, node: int = 3) -> bytes:
        body = {0: meter_id, 1: key_of("alice"), 2: key_of("attestor"), 3: node, 4: int(source)}
        body[5], body[6] = 1000, int(Encumbrance.NONE)
        return v.make("operator", Kind.REGISTER_METER, body)

    suite.negative(
        "meter/MTR-06/second-solar-meter-same-point",
        "A second solar meter at alice's service point, where meter 103 measures solar export: "
        "both would mint the same export. A wind meter there is accepted.",
        v.state,
        tx(meter(Source.SOLAR)),
        tx(meter(Source.WIND)),
        "MTR-06",
        flags=["attack", "double-counting"],
    )
    e = encumbered_village()
    s = e.slot - 1
    fit = ENCUMBERED_METER[Encumbrance.FEED_IN_TARIFF]
    for meter_id, registered in ((fit, Encumbrance.FEED_IN_TARIFF), (103, Encumbrance.NONE)):
        for claimed in Encumbrance:
            if claimed is registered:
                continue

            def reading(encumbrance: Encumbrance, meter_id: int = meter_id) -> bytes:
                item = {0: meter_id, 1: s, 2: 700, 3: 0, 4: int(encumbrance)}
                return e.make("attestor", Kind.ATTEST, {0: [item]})

            suite.negative(
                f"attest/ATT-11/{registered.name.lower()}-meter-says-{claimed.name.lower()}",
                f"Meter {meter_id} is registered {registered.name}; a reading claims "
                f"{claimed.name}. Only the meter's own encumbrance is accepted.",
                e.state,
                tx(reading(claimed)),
                tx(reading(registered)),
                "ATT-11",
                flags=["attack", "double-counting"] if registered is not Encumbrance.NONE else [],
            )
    # The attack of rule book 0.x: FEED_IN_TARIFF in one slot, NONE in the next, the second sold.
    two = encumbered_village()
    assert two.attest([(fit, s - 1, 700, 0, Encumbrance.FEED_IN_TARIFF)]).accepted
    suite.add(
        "attest/ATT-11/fit-then-none-next-slot",
        "The feed-in-tariff meter was attested FEED_IN_TARIFF for one slot; its reading of the "
        "next slot claims NONE and is refused, so no sellable lot is minted; the offer of the "
        "first lot is refused by ASK-03.",
        two.state,
        [
            tx(two.make("attestor", Kind.ATTEST, {0: [{0: fit, 1: s, 2: 700, 3: 0, 4: 0}]})),
            tx(two.make("alice", Kind.PLACE_ASK, {0: fit, 1: s - 1, 2: 100, 3: 2000})),
        ],
        expect=["ATT-11", "ASK-03"],
        flags=["attack", "double-counting"],
    )
