"""TIM-02: a block's time is the time its votes vouch for; INV-18: within what honest validators
signed (RULEBOOK chapter 3, sections 9.8, 11.19, 13.5)."""

from __future__ import annotations

import pytest
import z3
from _rules_plugin import rules
from hypothesis import given
from hypothesis import strategies as st

from conformance_tests.scenario import Ledger, small_village
from conformance_tests.suite import forge_block
from proofs import block_time as model
from spec.blocks import apply_block, decode_block, vote_bytes
from spec.cbor import decode, encode
from spec.crypto import TAG_BLOCK_VOTE
from spec.errors import Rejected
from spec.time import (
    MAX_BLOCK_JUMP_S,
    MAX_VOTE_SKEW_S,
    check_block_jump,
    check_vote_time,
    earliest_allowed,
    latest_allowed,
    lower_median,
    median_index,
)
from spec.units import TIME_MAX_S

pytest_plugins = ("_rules_plugin",)

FOUR = tuple(f"validator-{i}" for i in range(1, 5))
DAY = MAX_BLOCK_JUMP_S
SKEW = MAX_VOTE_SKEW_S


def _state() -> object:
    return small_village(Ledger.new(validators=FOUR)).state


def _code(state: object, data: bytes) -> str | None:
    return apply_block(state, data)[1].rule_id  # type: ignore[arg-type]


@rules("TIM-02")
def test_the_lower_median_is_the_lower_middle() -> None:
    assert [median_index(s) for s in range(1, 8)] == [0, 0, 1, 1, 2, 2, 3]
    assert lower_median([7]) == 7
    assert lower_median([9, 1]) == 1
    assert lower_median([5, 1, 9]) == 5
    assert lower_median([40, 10, 30, 20]) == 20
    assert lower_median([3, 3, 3, 100, 100]) == 3


@rules("TIM-02")
def test_the_bounds_follow_the_votes_and_catch_up_after_a_halt() -> None:
    ledger = 1_000_000
    assert latest_allowed(ledger + 10) == ledger + 70
    assert earliest_allowed(ledger + 10, ledger) == ledger - 50
    # three days of halt: the floor is a day on, less the skew
    assert earliest_allowed(ledger + 3 * DAY, ledger) == ledger + DAY - 60
    check_vote_time(ledger, ledger + DAY - 60, [ledger + 3 * DAY])
    for timestamp, times in (
        (ledger + DAY - 61, [ledger + 3 * DAY]),
        (ledger + 71, [ledger + 10]),
        (ledger + 120, [ledger + 5 * 3600] * 3),
    ):
        with pytest.raises(Rejected) as caught:
            check_vote_time(ledger, timestamp, times)
        assert (caught.value.rule.id, caught.value.code) == ("TIM-02", 2102)


@rules("TIM-02", "BLK-06")
def test_blocks_hurried_or_delayed_against_their_votes_are_refused() -> None:
    state = _state()
    now = int(state.time)  # type: ignore[attr-defined]
    real = now + 3600
    votes = dict.fromkeys(FOUR, real)
    assert _code(state, forge_block(state, [], real, signers=FOUR, vote_times=votes)) is None
    assert _code(state, forge_block(state, [], real + 61, signers=FOUR, vote_times=votes)) == (
        "TIM-02"
    )
    assert _code(state, forge_block(state, [], real - 61, signers=FOUR, vote_times=votes)) == (
        "TIM-02"
    )
    # three days of halt: a day on (less up to a minute) is the only way forward
    halted = dict.fromkeys(FOUR, now + 3 * DAY)
    for stamp, expected in ((now + DAY, None), (now + DAY - 60, None), (now + 3600, "TIM-02")):
        block = forge_block(state, [], stamp, signers=FOUR, vote_times=halted)
        assert _code(state, block) == expected, stamp
    # the time in a vote is signed: changing it afterwards breaks the signature
    good = forge_block(state, [], real, signers=FOUR, vote_times=votes)
    value = decode(good, max_size=2**24)
    assert isinstance(value, dict)
    entry = list(value[2][0])
    entry[1] = real + 1
    value[2] = [entry, *value[2][1:]]
    assert _code(state, encode(value)) == "BLK-06"


@rules("TIM-02", "BLK-06")
def test_the_vote_bytes_end_with_the_time_big_endian() -> None:
    header_hash = bytes(range(32))
    message = vote_bytes(header_hash, 1_764_255_660)
    assert len(message) == 64
    assert message == TAG_BLOCK_VOTE + b"\x00" + header_hash + bytes.fromhex("00000000692867ac")


@rules("ENC-14", "ENC-15")
def test_malformed_vote_entries_are_refused_by_the_schema() -> None:
    state = _state()
    good = forge_block(state, [], int(state.time), signers=FOUR)  # type: ignore[attr-defined]
    value = decode(good, max_size=2**24)
    assert isinstance(value, dict)
    key, at, signature = value[2][0]
    for entry, rule_id in (
        ([key, signature], "ENC-15"),
        ([key, TIME_MAX_S + 1, signature], "ENC-15"),
        ([key, -1, signature], "ENC-15"),
        ([key, True, signature], "ENC-14"),
        ([key, str(at), signature], "ENC-14"),
        ([key, signature, at], "ENC-14"),
    ):
        with pytest.raises(Rejected) as caught:
            decode_block(encode({**value, 2: [entry, *value[2][1:]]}))
        assert caught.value.rule.id == rule_id, entry


# --- INV-18 ---------------------------------------------------------------------------------


@st.composite
def _votes(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    """Honest and faulty vote times, fewer than half of them faulty."""
    count = draw(st.integers(1, 15))
    faulty = draw(st.integers(0, (count - 1) // 2))
    base = draw(st.integers(0, TIME_MAX_S - 3600))
    honest = draw(st.lists(st.integers(base, base + 3600), min_size=count - faulty,
                           max_size=count - faulty))  # fmt: skip
    wild = draw(st.lists(st.integers(0, TIME_MAX_S), min_size=faulty, max_size=faulty))
    return honest, wild


@rules("INV-18", "TIM-02")
@given(_votes(), st.data())
def test_a_faulty_minority_cannot_move_the_time_outside_the_honest_range(
    votes: tuple[list[int], list[int]], data: st.DataObject
) -> None:
    honest, wild = votes
    m = lower_median(honest + wild)
    assert min(honest) <= m <= max(honest)
    # any timestamp TIM-02 accepts while not catching up is within the skew of the honest range
    ledger_time = data.draw(st.integers(max(0, m - DAY), m))
    low, high = earliest_allowed(m, ledger_time), latest_allowed(m)
    timestamp = data.draw(st.integers(low, high))
    assert min(honest) - SKEW <= timestamp <= max(honest) + SKEW


@rules("INV-18")
def test_half_of_the_votes_faulty_can_move_it() -> None:
    """The property needs fewer than half: with half the votes faulty it fails (so the test above
    can fail)."""
    honest, wild = [100, 100], [0, 0]
    assert lower_median(honest + wild) == 0 < min(honest)


@rules("TIM-02", "INV-18")
@given(
    st.lists(st.integers(0, 4 * DAY), min_size=1, max_size=10),
    st.integers(0, 2 * DAY),
    st.integers(-200, 3 * DAY),
)
def test_the_proofs_model_of_the_time_rules_is_the_spec(
    times: list[int], ledger_time: int, offset: int
) -> None:
    """proofs/block_time.accepts, evaluated on concrete values, accepts exactly the timestamps
    BLK-04, TIM-01 and TIM-02 of the spec accept."""
    timestamp = ledger_time + offset
    try:
        if timestamp < ledger_time:
            raise Rejected("BLK-04")
        check_block_jump(ledger_time, timestamp)
        check_vote_time(ledger_time, timestamp, times)
        spec_accepts = True
    except Rejected:
        spec_accepts = False
    term = model.accepts([z3.IntVal(t) for t in sorted(times)], z3.IntVal(ledger_time),
                         z3.IntVal(timestamp))  # fmt: skip
    assert z3.is_true(z3.simplify(term)) == spec_accepts
