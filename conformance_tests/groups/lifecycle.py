"""The ``lifecycle`` vectors: one short vector per lifecycle edge."""

from __future__ import annotations

from conformance_tests.scenario import key_of
from conformance_tests.suite import (
    Suite,
    craft_account,
    market,
    must,
    reading_map,
    tick,
    tx,
    village,
)
from spec.state import (
    Role,
    trading_close,
)
from spec.transactions import (
    Kind,
)
from spec.units import (
    COUNTER_MAX,
)


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
        [tx(v.make("attestor", Kind.ATTEST, {0: [reading_map(103, s, 10)]}))],
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
