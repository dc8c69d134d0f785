"""The ``settlement`` vector that pins the order of demand records between accounts (SET-01).

SET-01 orders a slot's demand records by (account id, zone), the account id compared as bytes. A
node that numbers its accounts internally (by load order, then by registration) and sorts by that
number agrees with SET-01 on every state it loaded, since a loaded state lists its accounts in
byte order, but not once an account registered later has a smaller id than an older one. This
vector registers such an account, gives it and bob demand in one (zone, slot) and settles it.
"""

from __future__ import annotations

from conformance_tests.scenario import key_of
from conformance_tests.suite import GenerationError, Suite, must, tick, tx, village
from spec.clearing import advance_clock_settling
from spec.settlement import DemandRecord
from spec.state import NodeKind, trading_close

CANDIDATES = ("gina", "hana", "ivan", "june", "kaito", "lena", "mika", "nori", "oto", "piet")
"""Names tried in turn for a key smaller than bob's (test keys are hashes of the names)."""


def group_settlement_order(suite: Suite) -> None:
    """A newly registered account whose id sorts before bob's: its demand record comes first."""
    vector_id = "settlement/valid/demand-order-of-a-new-account"
    name = next((n for n in CANDIDATES if key_of(n) < key_of("bob")), None)
    if name is None:
        raise GenerationError(f"{vector_id}: no candidate key sorts before bob's")
    v = village()
    pre = v.state
    s = v.slot - 1
    close = trading_close(pre.params, s)
    sent: list[bytes] = []
    submit = v.submit

    def recording(data: bytes, sender: str | None = None) -> object:
        sent.append(data)
        return submit(data, sender)

    v.submit = recording  # type: ignore[method-assign,assignment]
    must(v.register(name))
    must(v.node(7, NodeKind.SERVICE_POINT, 2))
    must(v.meter(107, name, 7))
    must(v.attest([(104, s, 0, 2500), (107, s, 0, 900)]))
    records = advance_clock_settling(v.state, close)[1]
    # SET-01 by hand: bob (2500 Wh imported, nothing claimed) and the new account (900 Wh), both
    # in zone 1; the new account's id is the smaller, so its record is first.
    demand = [(r.account, r.zone, r.imported_wh) for r in records if isinstance(r, DemandRecord)]
    want = [(key_of(name), 1, 900), (key_of("bob"), 1, 2500)]
    if demand != want:
        raise GenerationError(f"{vector_id}: demand records {demand!r}, the rule book {want!r}")
    suite.add(
        vector_id,
        f"The operator registers {name} (an account id that sorts before bob's), a service "
        "point and a meter for it; the attestor records 2500 Wh imported by bob and 900 Wh by "
        f"{name} in zone 1, slot s. At trading_close(s) the slot is settled: the demand records "
        f"come in ascending account id, {name}'s first, though {name} registered after bob "
        "(SET-01). The settlement root pins the order.",
        pre,
        [*(tx(data) for data in sent), tick(close)],
        expect=[None] * (len(sent) + 1),
        rules=["SET-01"],
        flags=["time"],
    )
