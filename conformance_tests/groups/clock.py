"""The ``clock`` vectors: ticks of the clock and what they close."""

from __future__ import annotations

from conformance_tests.suite import (
    Suite,
    market,
    must,
    tick,
)
from spec.state import (
    trading_close,
)


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
