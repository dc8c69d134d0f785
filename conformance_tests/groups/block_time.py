"""Vectors of TIM-02: a block's time is the time its votes vouch for (RULEBOOK 13.5).

Every vote carries its validator's own clock reading ``[validator, time, signature]``, signed with
the header hash. With ``m`` the lower median of a block's vote times (index ``(s - 1) // 2`` of
the ``s`` times sorted ascending), TIM-02 accepts a timestamp ``T`` only if
``T <= m + MAX_VOTE_SKEW_S`` and ``T >= min(m, ledger time + MAX_BLOCK_JUMP_S) - MAX_VOTE_SKEW_S``.
Each expected outcome below is worked out from that text (MAX_VOTE_SKEW_S = 60,
MAX_BLOCK_JUMP_S = 86 400) and written in the vector's description; the generator only checks
that the spec agrees.
"""

from __future__ import annotations

from typing import Any

from conformance_tests.scenario import Ledger
from conformance_tests.suite import (
    Suite,
    block,
    forge_block,
    must,
    with_validators,
)
from spec.blocks import apply_block, decode_block
from spec.cbor import decode, encode
from spec.time import MAX_BLOCK_JUMP_S, MAX_VOTE_SKEW_S
from spec.units import TIME_MAX_S, slot_end

FOUR: tuple[str, ...] = tuple(f"validator-{i}" for i in range(1, 5))
SEVEN: tuple[str, ...] = tuple(f"validator-{i}" for i in range(1, 8))
DAY = MAX_BLOCK_JUMP_S
SKEW = MAX_VOTE_SKEW_S


def _market(validators: tuple[str, ...]) -> tuple[Ledger, int]:
    """The village with these validators, alice's 3 000 Wh offered at 20 sen/kWh and bob's bid
    for 2 000 Wh at 30 sen/kWh in zone 1 for the slot before the clock's; returns the ledger and
    that market's trading close."""
    ledger = with_validators(*validators)
    s = ledger.slot - 1
    must(ledger.attest([(103, s, 3000, 0), (104, s, 0, 2500)]))
    must(ledger.ask("alice", 103, s, 3000, 2000))
    must(ledger.bid("bob", 1, s, 2000, 3000))
    return ledger, slot_end(s) + ledger.state.params.trading_close_s


def _votes(names: tuple[str, ...], at: int) -> dict[str, int]:
    return dict.fromkeys(names, at)


def group_block_time(suite: Suite) -> None:
    """The hurry and delay attacks, the catch-up after a halt, a faulty minority, the bounds,
    malformed vote entries and a vote altered after signing."""
    _attacks(suite)
    _catch_up(suite)
    _minority(suite)
    _bounds(suite)
    _order(suite)
    _malformed(suite)


def _attacks(suite: Suite) -> None:
    v, close = _market(FOUR)
    now = int(v.state.time)
    real = close - 80 * 60
    assert real >= now
    suite.negative(
        "time/TIM-02/hurried-clearing",
        f"The proposer stamps the block with the market's trading close {close}, 80 minutes "
        f"early, to clear it now; all four votes carry the real time {real}. The lower median "
        f"of the votes is m = {real} and {close} > m + 60: TIM-02. Its twin, stamped with the "
        "real time, is accepted and leaves the market open.",
        v.state,
        block(forge_block(v.state, [], close, signers=FOUR, vote_times=_votes(FOUR, real))),
        block(forge_block(v.state, [], real, signers=FOUR, vote_times=_votes(FOUR, real))),
        "TIM-02",
        flags=["time", "attack", "clearing"],
    )
    late = now + 5 * 3600
    suite.negative(
        "time/TIM-02/delayed-clearing",
        f"The ledger's time is T0 = {now}; the market closes at T0 + 5 400. Five hours later "
        f"the votes carry {late} but the proposer stamps T0 + 120 to keep the market open. "
        f"m = {late} <= T0 + 86 400, so the timestamp must be at least m - 60 and T0 + 120 is "
        "not: TIM-02. Its twin, stamped with the votes' time, is accepted and clears the market.",
        v.state,
        block(forge_block(v.state, [], now + 120, signers=FOUR, vote_times=_votes(FOUR, late))),
        block(forge_block(v.state, [], late, signers=FOUR, vote_times=_votes(FOUR, late))),
        "TIM-02",
        flags=["time", "attack", "clearing"],
    )


def _catch_up(suite: Suite) -> None:
    v, _ = _market(FOUR)
    ledger_time = int(v.state.time)
    real = ledger_time + 3 * DAY
    state = v.state
    blocks = []
    for day in range(1, 4):
        stamp = ledger_time + day * DAY
        data = forge_block(state, [], stamp, signers=FOUR, vote_times=_votes(FOUR, real + day))
        blocks.append(block(data))
        state, receipt = apply_block(state, data)
        assert receipt.accepted, receipt
    suite.add(
        "time/valid/catch-up-after-a-three-day-halt",
        f"The chain halted three days: the ledger's time is L = {ledger_time} and the votes "
        f"say L + 3 days (plus a second per block). Block 1 is stamped L + 1 day: m = L + 3 days "
        "+ 1 exceeds L + 86 400, so TIM-02's floor is L + 86 400 - 60 and its ceiling m + 60; "
        "TIM-01 allows at most L + 86 400. Blocks 2 and 3 catch up a day each; block 3 lands "
        "within a minute of the votes. All three are accepted; block 1 clears the market.",
        v.state,
        blocks,
        expect=[None, None, None],
        flags=["time", "valid"],
    )
    votes = _votes(FOUR, real)
    suite.negative(
        "time/TIM-02/catch-up-too-slow",
        "After the same three-day halt a block stamped L + 3 600 (the proposer holds the clock "
        "back): the floor is min(L + 3 days, L + 86 400) - 60 = L + 86 340: TIM-02. Twin: "
        "stamped L + 86 400.",
        v.state,
        block(forge_block(v.state, [], ledger_time + 3600, signers=FOUR, vote_times=votes)),
        block(forge_block(v.state, [], ledger_time + DAY, signers=FOUR, vote_times=votes)),
        "TIM-02",
        flags=["time", "attack"],
    )
    suite.negative(
        "time/TIM-02/catch-up-one-second-short",
        "After the three-day halt a block stamped L + 86 339, one second below the floor "
        "L + 86 400 - 60: TIM-02. Twin: stamped L + 86 340, the floor exactly, is accepted.",
        v.state,
        block(
            forge_block(v.state, [], ledger_time + DAY - SKEW - 1, signers=FOUR, vote_times=votes)
        ),
        block(forge_block(v.state, [], ledger_time + DAY - SKEW, signers=FOUR, vote_times=votes)),
        "TIM-02",
        flags=["time", "boundary"],
    )
    at_max = _votes(FOUR, TIME_MAX_S)
    suite.negative(
        "time/ENC-15/vote-time-over-time-max",
        "Every vote says TIME_MAX_S + 1: a vote's time is a uint <= TIME_MAX_S (section 9.4), "
        "ENC-15. Twin: votes at TIME_MAX_S exactly, block stamped L + 86 400: m = TIME_MAX_S, "
        "the floor is L + 86 400 - 60, so it is accepted (a catch-up block).",
        v.state,
        block(
            forge_block(
                v.state,
                [],
                ledger_time + DAY,
                signers=FOUR,
                vote_times=_votes(FOUR, TIME_MAX_S + 1),
            )
        ),
        block(forge_block(v.state, [], ledger_time + DAY, signers=FOUR, vote_times=at_max)),
        "ENC-15",
        flags=["time", "encoding", "boundary"],
    )


def _minority(suite: Suite) -> None:
    """Seven validators, fewer than a third faulty: at most two. A block of five votes (a
    quorum: 3 x 5 >= 2 x 7) with three honest and two faulty."""
    v, _ = _market(SEVEN)
    ledger_time = int(v.state.time)
    real = ledger_time + 3600
    honest = {"validator-1": real - 10, "validator-2": real, "validator-3": real + 10}
    signers = (*honest, "validator-4", "validator-5")
    hurry = {**honest, "validator-4": real + 5 * 3600, "validator-5": real + 5 * 3600}
    hold = {**honest, "validator-4": ledger_time + 60, "validator-5": ledger_time + 60}
    suite.add(
        "time/valid/faulty-minority-votes-late",
        f"Honest votes R - 10, R, R + 10 (R = {real}); the two faulty votes say R + 5 h. Sorted, "
        "the lower median (index 2 of 5) is R + 10, the greatest honest time; the block is "
        "stamped R, the honest median, within 60 s of it: accepted.",
        v.state,
        [block(forge_block(v.state, [], real, signers=signers, vote_times=hurry))],
        expect=[None],
        rules=["INV-18"],
        flags=["time", "valid"],
    )
    suite.negative(
        "time/TIM-02/follows-faulty-minority-late",
        "The same five votes (two faulty at R + 5 h), but the block follows the faulty time: "
        "stamped R + 5 h while m = R + 10: TIM-02. Twin: stamped R.",
        v.state,
        block(forge_block(v.state, [], real + 5 * 3600, signers=signers, vote_times=hurry)),
        None,
        "TIM-02",
        twin_id="time/valid/faulty-minority-votes-late",
        flags=["time", "attack"],
    )
    suite.add(
        "time/valid/faulty-minority-votes-early",
        "Honest votes R - 10, R, R + 10; the two faulty votes say L + 60 (holding the clock "
        "back). Sorted, the lower median is R - 10, the least honest time; the block stamped R "
        "is accepted.",
        v.state,
        [block(forge_block(v.state, [], real, signers=signers, vote_times=hold))],
        expect=[None],
        rules=["INV-18"],
        flags=["time", "valid"],
    )
    suite.negative(
        "time/TIM-02/follows-faulty-minority-early",
        "The same five votes (two faulty at L + 60), the block stamped L + 60 as they say: "
        "m = R - 10 and L + 60 < m - 60: TIM-02. Twin: stamped R.",
        v.state,
        block(forge_block(v.state, [], ledger_time + 60, signers=signers, vote_times=hold)),
        None,
        "TIM-02",
        twin_id="time/valid/faulty-minority-votes-early",
        flags=["time", "attack"],
    )


def _bounds(suite: Suite) -> None:
    v, _ = _market(FOUR)
    real = int(v.state.time) + 3600
    votes = _votes(FOUR, real)

    def at(stamp: int) -> bytes:
        return forge_block(v.state, [], stamp, signers=FOUR, vote_times=votes)

    suite.negative(
        "time/TIM-02/one-second-past-skew-late",
        f"All votes at R = {real}; the block stamped R + 61, one second over m + 60: TIM-02. "
        "Twin: R + 60 exactly, accepted.",
        v.state,
        block(at(real + SKEW + 1)),
        block(at(real + SKEW)),
        "TIM-02",
        flags=["time", "boundary"],
    )
    suite.negative(
        "time/TIM-02/one-second-past-skew-early",
        f"All votes at R = {real}; the block stamped R - 61, one second under m - 60 (m is far "
        "below the ledger's time + 86 400, so no catch-up): TIM-02. Twin: R - 60 exactly, "
        "accepted.",
        v.state,
        block(at(real - SKEW - 1)),
        block(at(real - SKEW)),
        "TIM-02",
        flags=["time", "boundary"],
    )
    spread = {"validator-1": real - 100, "validator-2": real - 100}
    spread |= {"validator-3": real + 100, "validator-4": real + 100}

    def spread_at(stamp: int) -> bytes:
        return forge_block(v.state, [], stamp, signers=FOUR, vote_times=spread)

    suite.negative(
        "time/TIM-02/lower-median-of-four",
        "Four votes at R - 100, R - 100, R + 100, R + 100: the median is the LOWER middle "
        "(index (4 - 1) // 2 = 1), R - 100, so the block stamped R + 100 is more than m + 60: "
        "TIM-02 (a node taking the upper middle, R + 100, would accept it). Twin: stamped "
        "R - 100, accepted.",
        v.state,
        block(spread_at(real + 100)),
        block(spread_at(real - 100)),
        "TIM-02",
        flags=["time", "boundary"],
    )
    good = at(real)
    altered = _decoded(good)
    key, _, signature = altered[2][0]
    altered[2][0] = [key, real + 1, signature]
    suite.negative(
        "time/BLK-06/vote-time-altered-after-signing",
        "Validator 1 signed its vote with time R; the time in its entry was changed to R + 1, "
        "which the signature does not cover: BLK-06. Twin: the vote as signed.",
        v.state,
        block(encode(altered)),
        block(good),
        "BLK-06",
        flags=["time", "signature"],
    )


def _order(suite: Suite) -> None:
    """Where TIM-02 stands in chapter 10: after BLK-07 and BLK-13, before BLK-08."""
    v, _ = _market(FOUR)
    real = int(v.state.time) + 3600
    wrong = real + 3600
    three = FOUR[:3]
    cases: list[tuple[str, str, dict[str, Any], str]] = [
        (
            "BLK-07-before-TIM-02/no-quorum",
            "Two votes of four (no quorum) carrying R, block stamped R + 3 600: BLK-07 comes "
            "before TIM-02.",
            {"signers": FOUR[:2]},
            "BLK-07",
        ),
        (
            "BLK-13-before-TIM-02/proposer-not-signer",
            "Three votes without the proposer's (validator 4), block stamped an hour after them: "
            "BLK-13 comes before TIM-02.",
            {"signers": three, "proposer": "validator-4"},
            "BLK-13",
        ),
        (
            "TIM-02-before-BLK-08/wrong-tx-root",
            "Four votes at R, block stamped R + 3 600 and a transaction root of zeros: TIM-02 "
            "comes before BLK-08.",
            {"signers": FOUR, "tx_root": bytes(32)},
            "TIM-02",
        ),
    ]
    for name, description, changes, rule_id in cases:
        times = _votes(changes["signers"], real)
        suite.add(
            f"checks/{name}",
            description,
            v.state,
            [block(forge_block(v.state, [], wrong, vote_times=times, **changes))],
            expect=[rule_id],
            flags=["time", "check-order", "block"],
        )


def _malformed(suite: Suite) -> None:
    v, _ = _market(FOUR)
    good = forge_block(v.state, [], int(v.state.time) + 60, signers=FOUR)
    base = "time/valid/four-votes"
    suite.add(
        base,
        "Four votes, each at the block's own timestamp (m = T): accepted.",
        v.state,
        [block(good)],
        expect=[None],
        flags=["time", "valid"],
    )
    key, at, signature = _decoded(good)[2][0]
    entries: list[tuple[str, list[Any], str, str]] = [
        ("vote-without-time", [key, signature], "ENC-15", "A vote of two elements, no time."),
        ("vote-time-negative", [key, -1, signature], "ENC-15", "A vote time of -1."),
        ("vote-time-is-text", [key, str(at), signature], "ENC-14", "A vote time as text."),
        ("vote-time-is-bool", [key, True, signature], "ENC-14", "A vote time of true."),
        ("vote-time-is-bytes", [key, at.to_bytes(8, "big"), signature], "ENC-14", "As bytes."),
        (
            "vote-time-after-signature",
            [key, signature, at],
            "ENC-14",
            "Time and signature swapped: a byte string where the time belongs.",
        ),
    ]
    for name, entry, rule_id, description in entries:
        value = _decoded(good)
        value[2][0] = entry
        suite.negative(
            f"time/{rule_id}/{name}",
            f"{description} (the first of four votes; a vote is [validator, time, signature]).",
            v.state,
            block(encode(value)),
            None,
            rule_id,
            twin_id=base,
            flags=["time", "encoding"],
        )


def _decoded(data: bytes) -> dict[Any, Any]:
    decode_block(data)  # a valid block's bytes
    value = decode(data, max_size=2**24)
    assert isinstance(value, dict) and isinstance(value[2], list)
    value[2] = [list(entry) for entry in value[2] if isinstance(entry, list)]
    return value
