"""A random village: valid and invalid transactions of every kind, blocks and clock advances.

``VillageMachine`` drives the executable spec through its public entry points only
(``apply_transaction``, ``apply_block``, ``advance_clock``) and, after every step:

* checks every state invariant (``check_state`` == []) and the step invariants (``check_step``
  == []), which for a rejected input means *the state is exactly as it was*;
* checks that a rejection names a registered rule with that rule's own code;
* compares the outcome with a small independent model of the rule order for the kinds whose
  inputs it draws around their edges (the rule the model expects must be the rule the spec names),
  and checks the effect of accepted orders, cancels and payments on balances and lots.

Inputs are drawn near their edges on purpose: quantities around a lot's unsold Wh, amounts around
a balance, clock values around trading close, slots around the attestation window.

A green run can exercise nothing (PROOFS.md), so the run counts what it did and *fails* unless
every transaction kind was accepted, clearing produced trades, blocks were accepted and rejected,
and a list of rejection rules was each met at least once. ``--hypothesis-show-statistics`` shows
the per-step events. The CI profile runs ``max_examples`` programs of ``STEPS`` steps; the
``heavy`` profile (``pytest --hypothesis-profile=heavy``) runs many more.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from functools import cache

from _rules_plugin import rules
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from strategies import (
    METER,
    METER_CAPACITY_WH,
    TRADERS,
    WHEELING_FEE,
    ZONE,
    around,
    assert_known_rejection,
    entry,
    forge_block,
    lookup,
    quantities_around,
)

from conformance_tests.edwards import IDENTITY_KEY
from conformance_tests.scenario import (
    ATTESTATION_WINDOW_S,
    CHAIN_NAME,
    Ledger,
    key_of,
    seed_of,
    small_village,
)
from spec.blocks import apply_block
from spec.clearing import advance_clock, advance_clock_settling
from spec.crypto import is_valid_public_key, public_key_of, sign, verify
from spec.invariants import check_settlement, check_state, check_step
from spec.keys import rotation_bytes, signing_key
from spec.orders import MAX_OPEN_ORDERS_PER_MARKET, ORDER_FEE_MSEN
from spec.settlement import MarketRecord, SettlementRecord
from spec.state import (
    MAX_CORRECTIONS_PER_READING,
    Encumbrance,
    MarketStatus,
    Meter,
    NodeKind,
    OrderStatus,
    PendingValidator,
    Role,
    Side,
    Source,
    State,
    trading_close,
)
from spec.transactions import (
    KINDS,
    Kind,
    apply_transaction,
    decode_transaction,
    make_transaction,
    signing_bytes,
)
from spec.units import (
    MONEY_MAX_MSEN,
    PRICE_MAX_SEN_PER_KWH,
    SLOT_SECONDS,
    TIME_MAX_S,
    WH_MAX,
    Height,
    slot_end,
)
from spec.validators import approval_bytes, end_block, validators

pytest_plugins = ("_rules_plugin",)

STEPS = 44
"""Steps per generated program (44: the meter rule added in rule book 1.0 takes its share)."""
EXAMPLES_FACTOR = 3
"""Programs per run, as a multiple of the profile's max_examples (ci: 180, heavy: 6 000)."""
VALIDATORS = ("validator-1", "validator-2", "validator-3", "validator-4")
"""The genesis validators: four, the fewest whose set can change by one (VAL-07)."""
CANDIDATES = ("validator-5", "validator-6", "gina")
"""Accounts the validators may admit (gina is a newcomer the operator may register too)."""
CHAIN_ID = Ledger.new(CHAIN_NAME, validators=VALIDATORS).state.params.chain_id
ZONES = (1, 10)
NEWCOMERS = ("gina", "hank")
NAME_OF = {key_of(n): n for n in (*VALIDATORS, *CANDIDATES, *TRADERS, *NEWCOMERS)}

# Rejections every CI run must have provoked at least once (a guard against a vacuous run).
MUST_REJECT = {
    "TX-01", "TX-04", "TX-05", "TX-06",
    "ATT-02", "ATT-03", "ATT-04", "ATT-05", "ATT-06", "ATT-07",
    "ORD-01", "ORD-02", "ORD-03", "ASK-01", "ASK-02", "ASK-03", "ASK-04",
    "BID-01", "BID-02", "BID-04", "CAN-01", "CAN-02", "CAN-03",
    "ORD-06", "MNY-01", "MNY-02", "MNY-03", "MNY-04", "ROL-01", "ATT-11", "MTR-06",
    "BLK-02", "BLK-03", "BLK-04", "BLK-05", "BLK-07", "BLK-08", "BLK-09", "BLK-10",
    "VAL-02", "VAL-03", "VAL-04", "VAL-05", "VAL-06", "VAL-07",
    "KEY-02", "KEY-03", "ROL-02", "ROL-04",
    "MTR-07", "MTR-09", "COR-01",
}  # fmt: skip


FIT_METER = {name: meter + 1000 for name, meter in METER.items()}
"""Each trader's second meter: wind, registered under a feed-in tariff (ATT-11, ASK-03)."""


@cache
def base_state() -> State:
    """The small village with three validators and a second attestor (for ATT-03)."""
    ledger = small_village(Ledger.new(validators=VALIDATORS))
    ledger.must("operator", Kind.REGISTER_ACCOUNT, {0: key_of("attestor-2"), 1: Role.ATTESTOR})
    for name, meter in FIT_METER.items():
        node = METER[name] - 100
        body = {0: meter, 1: key_of(name), 2: key_of("attestor"), 3: node, 4: int(Source.WIND)}
        body[5], body[6] = METER_CAPACITY_WH, int(Encumbrance.FEED_IN_TARIFF)
        ledger.must("operator", Kind.REGISTER_METER, body)
    return ledger.state


@dataclass
class Stats:
    """What a whole run did, over all generated programs."""

    steps: int = 0
    accepted: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    trades: int = 0
    traded_wh: int = 0
    clearings: int = 0
    blocks_accepted: int = 0
    set_changes: int = 0
    """Block ends at which the validator set changed (VAL-08)."""


# --- The model: which rule should refuse an input (None: accept) ---------------------------------


def open_order(state: State, owner: bytes, zone: int, slot: int, side: Side) -> bool:
    return any(
        o.owner == owner and o.zone == zone and o.slot == slot and o.side is side
        for o in state.orders.values()
        if o.status is OrderStatus.OPEN
    )


def open_count(state: State, owner: bytes, zone: int, slot: int) -> int:
    return sum(
        1
        for o in state.orders.values()
        if o.status is OrderStatus.OPEN and o.owner == owner and (o.zone, o.slot) == (zone, slot)
    )


def out_of_horizon(state: State, slot: int) -> bool:
    """ORD-06, written out again for the oracle."""
    end = (slot + 1) * SLOT_SECONDS
    return end > state.time or end + state.params.trading_close_s > TIME_MAX_S


def unbacked_import(state: State, owner: bytes, zone: int, slot: int) -> int:
    demand = lookup(state.demand, (owner, zone, slot))
    held = sum(
        o.quantity_wh
        for o in state.orders.values()
        if o.status is OrderStatus.OPEN
        and o.side is Side.BID
        and o.owner == owner
        and (o.zone, o.slot) == (zone, slot)
    )
    return (demand.imported_wh - demand.claimed_wh if demand else 0) - held


def expected_attest(state: State, sender: bytes, readings: list[dict[int, int]]) -> str | None:
    seen: set[tuple[int, int]] = set()
    for r in readings:
        meter = lookup(state.meters, r[0])
        if meter is None:
            return "ATT-02"
        if meter.attestor != sender:
            return "ATT-03"
        end = slot_end(r[1])
        if state.time < end:
            return "ATT-04"
        if state.time >= end + state.params.attestation_window_s:
            return "ATT-05"
        retired = meter.retired_from
        if r[1] < meter.first_slot or (retired is not None and r[1] >= retired):
            return "MTR-11"
        if (r[0], r[1]) in state.readings or (r[0], r[1]) in seen:
            return "ATT-06"
        if r[2] > meter.capacity_wh or r[3] > meter.capacity_wh:
            return "ATT-07"
        if r[4] != scheduled(meter, r[1]):
            return "ATT-11"
        seen.add((r[0], r[1]))
    return None


def scheduled(meter: Meter, slot: int) -> Encumbrance:
    """MTR-13, written out again for the oracle."""
    change = meter.encumbrance_change
    return change.encumbrance if change and slot >= change.from_slot else meter.encumbrance


def expected_correction(state: State, sender: bytes, body: dict[int, int]) -> str | None:
    meter = lookup(state.meters, body[0])
    if meter is None:
        return "ATT-02"
    if meter.attestor != sender:
        return "ATT-03"
    end = slot_end(body[1])
    if state.time < end:
        return "ATT-04"
    if state.time >= end + state.params.attestation_window_s:
        return "ATT-05"
    reading = lookup(state.readings, (body[0], body[1]))
    if reading is None:
        return "COR-01"
    if reading.corrections >= MAX_CORRECTIONS_PER_READING:
        return "COR-02"
    if any(o.lot_meter == body[0] and o.slot == body[1] for o in state.orders.values()):
        return "COR-03"
    if body[2] > meter.capacity_wh or body[3] > meter.capacity_wh:
        return "ATT-07"
    if body[4] != scheduled(meter, body[1]):
        return "ATT-11"
    if (body[2], body[3]) == (reading.exported_wh, reading.imported_wh):
        return "COR-04"
    demand = lookup(state.demand, (meter.owner, meter.zone, body[1]))
    imported = (demand.imported_wh if demand else 0) - reading.imported_wh + body[3]
    claimed = demand.claimed_wh if demand else 0
    unbacked = unbacked_import(state, meter.owner, meter.zone, body[1])
    held = (demand.imported_wh - claimed if demand else 0) - unbacked  # open bids' Wh
    if imported < claimed + held:
        return "COR-05"
    return "ATT-10" if imported > WH_MAX else None


def expected_meter_change(state: State, kind: Kind, body: dict[int, int]) -> str | None:
    meter = lookup(state.meters, body[0])
    if meter is None:
        return "MTR-07"
    if meter.retired_from is not None:
        return "MTR-08"
    if body[1] < state.time // SLOT_SECONDS:
        return "MTR-09"
    change = meter.encumbrance_change
    window = state.params.attestation_window_s
    folds = kind is Kind.SET_METER_ENCUMBRANCE and change and change.from_slot < body[1]
    if folds and state.time < change.from_slot * SLOT_SECONDS + window:  # type: ignore[union-attr]
        return "MTR-10"
    return None


def expected_ask(state: State, sender: bytes, body: dict[int, int]) -> str | None:
    lot = lookup(state.lots, (body[0], body[1]))
    if lot is None:
        return "ASK-01"
    if lot.owner != sender:
        return "ASK-02"
    if lot.encumbrance is not Encumbrance.NONE:
        return "ASK-03"
    if body[2] == 0:
        return "ORD-01"
    if state.time >= trading_close(state.params, body[1]):
        return "ORD-02"
    if out_of_horizon(state, body[1]):
        return "ORD-06"
    if body[2] > lot.unsold_wh:
        return "ASK-04"
    if open_order(state, sender, lot.zone, body[1], Side.BID):
        return "ORD-03"
    if open_count(state, sender, lot.zone, body[1]) >= MAX_OPEN_ORDERS_PER_MARKET:
        return "ORD-07"
    return None


def expected_bid(state: State, sender: bytes, body: dict[int, int]) -> str | None:
    zone = lookup(state.nodes, body[0])
    if zone is None or zone.kind is not NodeKind.SUBSTATION:
        return "BID-01"
    if body[2] == 0:
        return "ORD-01"
    if state.time >= trading_close(state.params, body[1]):
        return "ORD-02"
    if out_of_horizon(state, body[1]):
        return "ORD-06"
    if open_order(state, sender, body[0], body[1], Side.ASK):
        return "ORD-03"
    if open_count(state, sender, body[0], body[1]) >= MAX_OPEN_ORDERS_PER_MARKET:
        return "ORD-07"
    if body[2] > unbacked_import(state, sender, body[0], body[1]):
        return "BID-04"
    escrow = body[2] * (body[3] + zone.wheeling_fee)
    if escrow > state.accounts[sender].balance:
        return "BID-02"
    if escrow + ORDER_FEE_MSEN > state.accounts[sender].balance:
        return "BID-05"
    return None


def expected_cancel(state: State, sender: bytes, order_id: int) -> str | None:
    order = lookup(state.orders, order_id)
    if order is None:
        return "CAN-01"
    if order.owner != sender:
        return "CAN-02"
    if order.status is not OrderStatus.OPEN:
        return "CAN-03"
    return None


def expected_payment(state: State, kind: Kind, sender: bytes, to: bytes, amount: int) -> str | None:
    if kind is not Kind.WITHDRAW and to not in state.accounts:
        return "MNY-01"
    if amount == 0:
        return "MNY-02"
    if kind is Kind.DEPOSIT:
        return "MNY-04" if state.money_outstanding + amount > MONEY_MAX_MSEN else None
    return "MNY-03" if amount > state.accounts[sender].balance else None


def expected_validator_update(
    state: State, account: bytes, power: int, signers: list[bytes], signed_right: bool
) -> str | None:
    """The rule order of chapter 10 for VALIDATOR_UPDATE, written out again for the oracle."""
    council = {key for key, a in state.accounts.items() if a.roles & Role.VALIDATOR}
    if account not in state.accounts and not is_valid_public_key(account):
        return "VAL-02"
    if (account in council) == (power == 1):
        return "VAL-03"
    if state.pending_validator is not None:
        return "VAL-06"
    if len(council) <= 3:
        return "VAL-07"
    if signers != sorted(set(signers)) or not set(signers) <= council or not signed_right:
        return "VAL-04"
    if 3 * len(signers) < 2 * len(council):
        return "VAL-05"
    return None


def two_thirds(count: int) -> int:
    """The fewest of ``count`` validators that are a quorum: 3 x q >= 2 x count."""
    return -(-2 * count // 3)


# --- The machine ----------------------------------------------------------------------------------

traders = st.sampled_from(TRADERS)
limit_prices = st.integers(1_000, 3_000)


class VillageMachine(RuleBasedStateMachine):
    """Random programs over the small village; see the module docstring."""

    def __init__(self, stats: Stats) -> None:
        super().__init__()
        self.stats = stats
        self.state = base_state()
        self.accepted_txs: list[bytes] = []
        self.seeds: dict[str, bytes] = {}
        """The seed of each account's current key, once it rotated (KEY-05)."""
        self.rotations = 0
        self.strangers = 0

    # -- helpers ------------------------------------------------------------------------------

    @property
    def slot(self) -> int:
        return self.state.time // SLOT_SECONDS

    def council(self) -> list[str]:
        """The current validators' names, ascending by key (the order blocks list signers in)."""
        return [NAME_OF[key] for key in validators(self.state)]

    def nonce(self, name: str) -> int:
        account = self.state.accounts.get(key_of(name))
        return 0 if account is None else int(account.nonce)

    def make(self, name: str, kind: Kind, body: object, nonce_delta: int = 0) -> bytes:
        nonce = self.nonce(name) + nonce_delta
        seed = self.seeds.get(name, seed_of(name))
        return make_transaction(seed, CHAIN_ID, kind, nonce, body, sender=key_of(name))

    def signed_by_current_key(self, tx: bytes) -> bool:
        """Whether ``tx`` carries a signature by its sender's current key (KEY-05)."""
        d = decode_transaction(tx)
        message = signing_bytes(d.chain_id, d.kind, d.sender, d.nonce, d.body_cbor, d.valid_until)
        return verify(signing_key(self.state, d.sender), message, d.signature)

    def submit(self, tx: bytes, label: str, expected: str | bool | None = False) -> bool:
        """Apply one transaction and check the step. ``expected`` is the rule the model expects
        to refuse it, ``None`` for acceptance, ``False`` when the model has no opinion."""
        before = self.state
        after, receipt = apply_transaction(before, tx)
        self.stats.steps += 1
        if receipt.accepted:
            assert check_step(before, after, decode_transaction(tx), True) == []
            self.state = after
            self.accepted_txs.append(tx)
            self.stats.accepted[label] += 1
            event(f"accepted {label}")
        else:
            assert after == before, "a rejected transaction changed the state"
            assert check_step(before, after, None, False) == []
            assert_known_rejection(receipt.code, receipt.rule_id)
            assert receipt.rule_id is not None
            self.stats.rejected[receipt.rule_id] += 1
            event(f"rejected {receipt.rule_id}")
        if expected is not False:
            assert receipt.rule_id == expected, (label, receipt, expected)
        return receipt.accepted

    def record_clearing(self, before: State, settlement: tuple[SettlementRecord, ...]) -> None:
        """Count the markets a clock advance cleared: they left the state with their slot, so
        the settlement shows them (PRN-01); its records must balance (INV-22, INV-23)."""
        assert check_settlement(settlement) == []
        for record in settlement:
            if not isinstance(record, MarketRecord):
                continue
            old = before.markets.get((record.zone, record.slot))
            if old is None or old.status is not MarketStatus.OPEN:
                continue
            self.stats.clearings += 1
            if record.volume_wh:
                self.stats.trades += 1
                self.stats.traded_wh += record.volume_wh
                event("clearing traded")

    # -- transactions -------------------------------------------------------------------------

    @rule(data=st.data())
    def attest(self, data: st.DataObject) -> None:
        attestor = data.draw(st.sampled_from(["attestor"] * 6 + ["attestor-2", "alice"]))
        # slots now - 1 and now - 2 are inside the window; now has not ended, now - 3 is too late
        slots = [self.slot - 1] * 3 + [self.slot - 2] * 2 + [self.slot - 3, self.slot]
        energy = st.one_of(
            st.integers(0, METER_CAPACITY_WH),
            st.integers(0, 2_000),
            around(METER_CAPACITY_WH),
            st.just(0),
        )
        fresh = [
            (m, s)
            for s in (self.slot - 1, self.slot - 2)
            for m in METER.values()
            if (m, s) not in self.state.readings
        ]
        rest = st.fixed_dictionaries({2: energy, 3: energy, 4: st.sampled_from([0, 0, 0, 0, 1])})
        if fresh and data.draw(st.integers(0, 9)) < 8:
            # distinct (meter, slot) pairs not attested yet: valid unless an energy is too big
            places = data.draw(
                st.lists(st.sampled_from(fresh), min_size=1, max_size=3, unique=True)
            )
        else:
            # one kind of fault on purpose: a reading attested already (ATT-06), a slot that has
            # not ended or whose window has closed (ATT-04, ATT-05), or anything at all
            fault = data.draw(st.sampled_from(["again", "window", "anything"]))
            done = sorted((int(m), int(s)) for m, s in self.state.readings if s >= self.slot - 2)
            meter_ids = st.sampled_from([999, *METER.values()])  # an unknown meter first (ATT-02)
            if fault == "again" and done:
                where: st.SearchStrategy[tuple[int, int]] = st.sampled_from(done)
            elif fault == "window":
                where = st.tuples(meter_ids, st.sampled_from([self.slot - 3, self.slot]))
            else:
                where = st.tuples(meter_ids, st.sampled_from(slots))
            places = data.draw(st.lists(where, min_size=1, max_size=3))
        batch = [{0: m, 1: s, **data.draw(rest)} for m, s in places]
        tx = self.make(attestor, Kind.ATTEST, {0: batch})
        if not self.state.accounts[key_of(attestor)].roles & Role.ATTESTOR:
            expected: str | bool | None = "TX-06"  # alice, or attestor-2 after a revocation
        else:
            expected = expected_attest(self.state, key_of(attestor), batch)
        self.submit(tx, "ATTEST", expected)

    @rule(data=st.data())
    def meter_life(self, data: st.DataObject) -> None:
        """One rule for the meter lifecycle and corrections (one rule, so that the other rules
        keep their share of the steps): a correction, or a change of a meter."""
        if data.draw(st.booleans()):
            self.correct(data)
        else:
            self.change_meter(data)

    def correct(self, data: st.DataObject) -> None:
        """The attestor (or another) corrects a reading, mostly one that exists and is open."""
        attestor = data.draw(st.sampled_from(["attestor"] * 5 + ["attestor-2"]))
        done = sorted((int(m), int(s)) for m, s in self.state.readings if s >= self.slot - 2)
        if done and data.draw(st.integers(0, 9)) < 8:
            meter, slot = data.draw(st.sampled_from(done))
        else:
            meter = data.draw(st.sampled_from([999, *METER.values()]))
            slot = data.draw(st.sampled_from([self.slot - 3, self.slot - 1, self.slot]))
        energy = st.one_of(st.integers(0, 2_000), around(METER_CAPACITY_WH), st.just(0))
        body = {0: meter, 1: slot, 2: data.draw(energy), 3: data.draw(energy)}
        body[4] = data.draw(st.sampled_from([0, 0, 0, 1]))
        tx = self.make(attestor, Kind.CORRECT_READING, body)
        expected = expected_correction(self.state, key_of(attestor), body)
        self.submit(tx, "CORRECT_READING", expected)

    def change_meter(self, data: st.DataObject) -> None:
        """The operator schedules an encumbrance change, retires a meter or registers a
        replacement for a retired one."""
        retired = sorted(m for m, r in self.state.meters.items() if r.retired_from is not None)
        if retired and data.draw(st.integers(0, 3)) == 0:
            # a replacement for a retired meter, at its point and of its source (MTR-06, MTR-14)
            old = self.state.meters[data.draw(st.sampled_from(retired))]
            new_id = 2000 + len(self.state.meters)
            body = {0: new_id, 1: old.owner, 2: key_of("attestor"), 3: old.node}
            body[4], body[5], body[6] = int(old.source), METER_CAPACITY_WH, 0
            point = (old.node, old.source)
            twins = [r for r in self.state.meters.values() if (r.node, r.source) == point]
            active = any(r.retired_from is None for r in twins)
            tx = self.make("operator", Kind.REGISTER_METER, body)
            if self.submit(tx, "REGISTER_METER", "MTR-06" if active else None):
                last = max(r.retired_from or 0 for r in twins)
                assert self.state.meters[new_id].first_slot == last  # MTR-14
            return
        kind = data.draw(st.sampled_from([Kind.SET_METER_ENCUMBRANCE] * 3 + [Kind.RETIRE_METER]))
        meter = data.draw(st.sampled_from([999, *METER.values(), *FIT_METER.values()]))
        body = {0: meter, 1: data.draw(st.sampled_from([self.slot + d for d in (-1, 0, 1, 2)]))}
        if kind is Kind.SET_METER_ENCUMBRANCE:
            body[2] = data.draw(st.sampled_from([0, 1]))
        self.submit(
            self.make("operator", kind, body),
            kind.name,
            expected_meter_change(self.state, kind, body),
        )

    @rule(data=st.data())
    def market_round(self, data: st.DataObject) -> None:
        """A seller's export and a buyer's import attested for one slot, then an ask and a bid in
        that market with quantities and prices drawn around each other. Each transaction is its
        own checked step; the clock rules later clear the market."""
        zone = data.draw(st.sampled_from(ZONES))
        people = [n for n in TRADERS if ZONE[n] == zone]
        seller, buyer = data.draw(st.permutations(people))[:2]
        slot = self.slot - data.draw(st.sampled_from([1, 2]))
        if (METER[seller], slot) in self.state.readings or (
            METER[buyer],
            slot,
        ) in self.state.readings:
            return
        exported = data.draw(st.integers(1, METER_CAPACITY_WH))
        # mostly free to sell; else the seller's feed-in-tariff meter, its reading stating FIT,
        # or a wrong encumbrance (ATT-11)
        encumbrance = data.draw(st.sampled_from([0, 0, 0, 0, 1, 3]))
        meter = METER[seller] if encumbrance == 0 else FIT_METER[seller]
        if (meter, slot) in self.state.readings:
            return
        imported = data.draw(st.integers(1, METER_CAPACITY_WH))
        batch = [
            {0: meter, 1: slot, 2: exported, 3: 0, 4: encumbrance},
            {0: METER[buyer], 1: slot, 2: 0, 3: imported, 4: 0},
        ]
        expected = expected_attest(self.state, key_of("attestor"), batch)
        self.submit(self.make("attestor", Kind.ATTEST, {0: batch}), "ATTEST", expected)
        ask_price = data.draw(limit_prices)
        quantity = data.draw(st.integers(1, exported) | quantities_around(exported))
        ask = {0: meter, 1: slot, 2: quantity, 3: ask_price}
        expected = expected_ask(self.state, key_of(seller), ask)
        self.submit(self.make(seller, Kind.PLACE_ASK, ask), "PLACE_ASK", expected)
        bid_price = ask_price + data.draw(st.integers(-200, 1_000))
        wanted = data.draw(st.integers(1, imported) | quantities_around(imported))
        bid = {0: zone, 1: slot, 2: wanted, 3: bid_price}
        expected = expected_bid(self.state, key_of(buyer), bid)
        self.submit(self.make(buyer, Kind.PLACE_BID, bid), "PLACE_BID", expected)
        if data.draw(st.integers(0, 3)) == 0:
            # the seller tries to buy back in its own market: a self-trade (ORD-03)
            own = {0: zone, 1: slot, 2: 1, 3: bid_price}
            expected = expected_bid(self.state, key_of(seller), own)
            self.submit(self.make(seller, Kind.PLACE_BID, own), "PLACE_BID", expected)
        if data.draw(st.booleans()):
            self.advance(
                trading_close(self.state.params, slot) + data.draw(st.sampled_from([0, 1]))
            )

    @rule(data=st.data())
    def place_ask(self, data: st.DataObject) -> None:
        lots = sorted(self.state.lots)
        if lots and data.draw(st.integers(0, 9)) < 9:
            meter, slot = map(int, data.draw(st.sampled_from(lots)))
            lot = entry(self.state.lots, (meter, slot))
            owner = next(n for n in TRADERS if key_of(n) == lot.owner)
            name = data.draw(st.sampled_from([owner] * 6 + list(TRADERS)))
            # one past the unsold energy drawn on its own as well: ASK-04 must be provoked
            quantity = data.draw(quantities_around(lot.unsold_wh) | st.just(lot.unsold_wh + 1))
        else:
            name = data.draw(traders)
            meter, slot = METER[name], self.slot - data.draw(st.integers(0, 3))
            quantity = data.draw(st.integers(0, 100))
        body = {0: int(meter), 1: int(slot), 2: quantity, 3: data.draw(limit_prices)}
        expected = expected_ask(self.state, key_of(name), body)
        lot_before = lookup(self.state.lots, (meter, slot))
        if self.submit(self.make(name, Kind.PLACE_ASK, body), "PLACE_ASK", expected):
            lot = entry(self.state.lots, (meter, slot))
            assert lot_before is not None
            assert lot.unsold_wh == lot_before.unsold_wh - quantity  # ASK-05
            assert lot.reserved_wh == lot_before.reserved_wh + quantity

    @rule(data=st.data())
    def place_bid(self, data: st.DataObject) -> None:
        markets = sorted(k for k, m in self.state.markets.items() if m.status is MarketStatus.OPEN)
        if markets and data.draw(st.integers(0, 9)) < 8:
            zone, slot = map(int, data.draw(st.sampled_from(markets)))
            buyers = sorted(
                name for name in TRADERS if (key_of(name), zone, slot) in self.state.demand
            )
            name = data.draw(st.sampled_from(buyers or list(TRADERS)))
        else:
            zone = data.draw(st.sampled_from([1, 10, 1, 10, 2, 99]))
            slot = self.slot + data.draw(st.integers(-4, 1))
            name = data.draw(traders)
        if data.draw(st.integers(0, 19)) == 0:
            name = "operator"  # the fee account, which never holds the trader role (INV-20)
        price = data.draw(limit_prices)
        fee = WHEELING_FEE.get(zone, 0)
        affordable = self.state.accounts[key_of(name)].balance // (price + fee)
        quantity = data.draw(
            st.one_of(
                st.integers(0, 2_000),
                st.integers(1, 300),
                around(min(affordable, WH_MAX), 0, WH_MAX),
            )
        )
        demand = lookup(self.state.demand, (key_of(name), zone, slot))
        backed = demand.imported_wh - demand.claimed_wh if demand is not None else 0
        if backed > 0 and data.draw(st.integers(0, 4)) == 0:
            # backed by import (BID-04) but one sen per kWh too dear for the balance: BID-02
            # must be provoked now that an unbacked bid stops at BID-04 first
            quantity, price = backed, PRICE_MAX_SEN_PER_KWH
            need = quantity * (price + fee)
            balance = self.state.accounts[key_of(name)].balance
            if name != "operator" and balance >= need:
                # first send away all but one milli-sen short of the escrow
                away = {0: key_of("operator"), 1: balance - need + 1}
                self.submit(self.make(name, Kind.TRANSFER, away), "TRANSFER")
        body = {0: int(zone), 1: int(slot), 2: quantity, 3: price}
        expected = "TX-06" if name == "operator" else expected_bid(self.state, key_of(name), body)
        balance = self.state.accounts[key_of(name)].balance
        if self.submit(self.make(name, Kind.PLACE_BID, body), "PLACE_BID", expected):
            # BID-03, BID-06: exactly the escrow and the order fee leave the balance
            paid = quantity * (price + fee) + ORDER_FEE_MSEN
            if key_of(name) != self.state.params.fee_account:
                assert self.state.accounts[key_of(name)].balance == balance - paid

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        ids = sorted(self.state.orders)
        open_ids = [i for i in ids if self.state.orders[i].status is OrderStatus.OPEN]
        # A cleared order leaves the state with its slot (PRN-02), so a cancelled one waiting for
        # its slot's close is what CAN-03 can still meet: drawn more often on purpose.
        closed_ids = [i for i in ids if i not in open_ids]
        choices = [*open_ids, *ids, *closed_ids, *closed_ids, int(self.state.next_order_id)]
        order_id = data.draw(st.sampled_from(choices))
        order = lookup(self.state.orders, order_id)
        owner = next((n for n in TRADERS if order and key_of(n) == order.owner), None)
        name = data.draw(st.sampled_from([owner] * 4 + list(TRADERS) if owner else TRADERS))
        expected = expected_cancel(self.state, key_of(name), order_id)
        balance = self.state.accounts[key_of(name)].balance
        lot_before = None
        if order is not None and order.lot_meter is not None:
            lot_before = self.state.lots[(order.lot_meter, order.slot)]
        if self.submit(self.make(name, Kind.CANCEL, {0: order_id}), "CANCEL", expected):
            assert order is not None  # CAN-04: the release is exact
            if order.side is Side.BID:
                assert self.state.accounts[key_of(name)].balance == balance + order.escrow
            else:
                assert lot_before is not None
                lot = entry(self.state.lots, (order.lot_meter, order.slot))
                assert lot.unsold_wh == lot_before.unsold_wh + order.quantity_wh

    @rule(data=st.data())
    def pay(self, data: st.DataObject) -> None:
        kind = data.draw(st.sampled_from([Kind.DEPOSIT, Kind.WITHDRAW, Kind.TRANSFER]))
        if kind is Kind.DEPOSIT:
            sender = data.draw(st.sampled_from(["operator"] * 5 + ["alice"]))
        else:
            sender = data.draw(traders)
        to = data.draw(st.sampled_from([*TRADERS, "operator", "mallory", sender]))
        balance = self.state.accounts[key_of(sender)].balance
        room = MONEY_MAX_MSEN - self.state.money_outstanding
        edge = around(room if kind is Kind.DEPOSIT else balance, 0, MONEY_MAX_MSEN)
        amount = data.draw(st.one_of(st.integers(1, 10**9), edge, st.integers(0, 3)))
        body: dict[int, object]
        body = {0: amount} if kind is Kind.WITHDRAW else {0: key_of(to), 1: amount}
        if kind is Kind.DEPOSIT and sender != "operator":
            expected: str | None = "TX-06"
        else:
            expected = expected_payment(self.state, kind, key_of(sender), key_of(to), amount)
        before = self.state
        if self.submit(self.make(sender, kind, body), kind.name, expected):
            after = self.state
            paid = {Kind.DEPOSIT: 0, Kind.WITHDRAW: amount, Kind.TRANSFER: amount}[kind]
            got = {Kind.DEPOSIT: amount, Kind.WITHDRAW: 0, Kind.TRANSFER: amount}[kind]
            if kind is not Kind.WITHDRAW and to == sender:
                paid -= got
                got = 0
            sender_after = after.accounts[key_of(sender)].balance
            assert sender_after == before.accounts[key_of(sender)].balance - paid
            if kind is not Kind.WITHDRAW and to != sender:
                assert (
                    after.accounts[key_of(to)].balance == before.accounts[key_of(to)].balance + got
                )

    @rule(data=st.data())
    def register(self, data: st.DataObject) -> None:
        what = data.draw(
            st.sampled_from(["account", "node", "meter", "taken point", "incompatible"])
        )
        sender = data.draw(st.sampled_from(["operator"] * 5 + ["alice"]))
        if what == "account":
            name = data.draw(st.sampled_from([*NEWCOMERS, "alice"]))
            roles = data.draw(st.sampled_from([8, 8, 2, 9, 10, 0, 16]))
            kind, body = Kind.REGISTER_ACCOUNT, {0: key_of(name), 1: roles}
        elif what == "incompatible":
            # attestor and trader, or operator and trader, for a key never registered (ROL-01),
            # drawn on its own since the newcomers are soon registered (then ACC-01 comes first)
            self.strangers += 1
            name = f"stranger-{self.strangers}"
            kind, body = (
                Kind.REGISTER_ACCOUNT,
                {0: key_of(name), 1: data.draw(st.sampled_from([9, 10]))},
            )
        elif what == "node":
            node = data.draw(st.sampled_from([50, 51, 52, 3]))
            node_kind = data.draw(st.sampled_from([0, 1, 2]))
            parent = data.draw(st.sampled_from([1, 2, 11, 50, 51, 3, 99]))
            fee = data.draw(st.sampled_from([0, 0, 70]))
            kind, body = Kind.REGISTER_NODE, {0: node, 1: node_kind, 2: parent, 3: fee}
        elif what == "taken point":
            # a second solar meter at alice's service point, whose solar meter 103 is registered
            # (MTR-06), drawn on its own so that the rule is provoked in every run
            kind = Kind.REGISTER_METER
            body = {0: 151, 1: key_of("alice"), 2: key_of("attestor"), 3: 3, 4: 0}
            body[5], body[6] = METER_CAPACITY_WH, 0
        else:
            meter = data.draw(st.sampled_from([150, 151, 103]))
            owner = data.draw(st.sampled_from([*TRADERS, *NEWCOMERS, "attestor"]))
            node = data.draw(st.sampled_from([3, 12, 50, 51, 52, 2]))
            capacity = data.draw(st.sampled_from([METER_CAPACITY_WH, 1, 0]))
            body = {0: meter, 1: key_of(owner), 2: key_of("attestor"), 3: node, 4: 0, 5: capacity}
            body[4] = data.draw(st.sampled_from([2, 3, 2, 0, 1]))  # solar, wind taken (MTR-06)
            body[6] = data.draw(st.sampled_from([0, 1]))
            kind = Kind.REGISTER_METER
        expected: str | bool | None = "TX-06" if sender != "operator" else False
        if sender == "operator" and kind is Kind.REGISTER_ACCOUNT and body[1] in (9, 10):
            expected = "ACC-01" if key_of(name) in self.state.accounts else "ROL-01"
        self.submit(self.make(sender, kind, body), kind.name, expected)

    @rule(data=st.data())
    def govern(self, data: st.DataObject) -> None:
        """A VALIDATOR_UPDATE: mostly an approved addition or removal, else one fault on purpose
        (no real change, too few approvals, a trader's or a repeated or a stale approval, an
        invalid key, a trader as sender). An accepted change is often followed by the two blocks
        after which it has taken effect (VAL-08)."""
        council = self.council()
        quorum = two_thirds(len(council))
        outsiders = [n for n in CANDIDATES if key_of(n) not in validators(self.state)]
        faults = ["no change", "few", "stranger", "twice", "stale", "bad key", "trader sends"]
        what = data.draw(
            st.sampled_from(["add", "add", "add", "remove", "remove", "shrink", *faults])
        )
        # "shrink": take a set of four down to three for good (every later change then meets
        # VAL-07), once VAL-04 and VAL-05, which a set of three can no longer reach, were met.
        shrinking = (
            what == "shrink"
            and len(council) == 4
            and self.state.pending_validator is None
            and self.stats.rejected["VAL-04"] > 0
            and self.stats.rejected["VAL-05"] > 0
        )
        if what == "shrink":
            what = "remove"
        if what == "add" and not outsiders:
            what = "remove"
        sender = data.draw(st.sampled_from(council))
        approvers = data.draw(
            st.sampled_from([council, council[:quorum], council[len(council) - quorum :]])
        )
        account, power = key_of(data.draw(st.sampled_from(council))), 0
        twice, nonce_delta = False, 0
        if what == "add":
            account, power = key_of(data.draw(st.sampled_from(outsiders))), 1
        elif what == "no change":
            choices = [(key_of(council[0]), 1), (key_of("alice"), 0)]
            account, power = data.draw(st.sampled_from(choices))
        elif what == "few":
            approvers = council[: quorum - 1]
        elif what == "stranger":
            approvers = [*approvers, "alice"]
        elif what == "twice":
            twice = True
        elif what == "stale":
            nonce_delta = 1
        elif what == "bad key":
            account, power = IDENTITY_KEY, 1
        elif what == "trader sends":
            sender = data.draw(traders)
        message = approval_bytes(
            CHAIN_ID, key_of(sender), self.nonce(sender) + nonce_delta, account, power
        )
        pairs = sorted((key_of(n), sign(seed_of(n), message)) for n in approvers)
        if twice and pairs:
            pairs = sorted([*pairs, pairs[0]])
        body = {0: account, 1: power, 2: [list(pair) for pair in pairs]}
        signers = [key for key, _ in pairs]
        if sender not in council:
            expected: str | None = "TX-06"
        else:
            right = nonce_delta == 0
            expected = expected_validator_update(self.state, account, power, signers, right)
        tx = self.make(sender, Kind.VALIDATOR_UPDATE, body)
        if self.submit(tx, "VALIDATOR_UPDATE", expected):
            due = Height(self.state.height + 3)
            assert self.state.pending_validator == PendingValidator(due, account, power)
            if shrinking or data.draw(st.booleans()):
                for _ in range(2):
                    self.close_block(data)

    def close_block(self, data: st.DataObject) -> None:
        """An empty block at the ledger's time, signed by a quorum of the current set."""
        before = self.state
        council = self.council()
        signers = council[: two_thirds(len(council))]
        proposer = data.draw(st.sampled_from(signers))
        block = forge_block(before, [], int(before.time), proposer=proposer, signers=signers)
        after, receipt = apply_block(before, block)
        self.stats.steps += 1
        assert receipt.accepted, receipt
        self.accept_block(before, after, int(before.time), [], receipt.settlement)

    @rule(data=st.data())
    def rotate_key(self, data: st.DataObject) -> None:
        """A trader or newcomer rotates to a fresh key, to another trader's id (KEY-02), or
        without the new key's proof (KEY-03); later transactions sign with the new key."""
        name = data.draw(st.sampled_from([*TRADERS, *NEWCOMERS]))
        how = data.draw(st.sampled_from(["fresh", "fresh", "taken", "no proof"]))
        self.rotations += 1
        new_seed = seed_of(f"{name}/key-{self.rotations}")
        expected: str | None = None
        if how == "taken":
            other = data.draw(st.sampled_from([n for n in TRADERS if n != name]))
            new_seed, expected = seed_of(other), "KEY-02"
        new_key = public_key_of(new_seed)
        message = rotation_bytes(CHAIN_ID, key_of(name), self.nonce(name), new_key)
        proof = sign(new_seed if how != "no proof" else seed_of("nobody"), message)
        if how == "no proof":
            expected = "KEY-03"
        if key_of(name) not in self.state.accounts:
            expected = "TX-03"
        tx = self.make(name, Kind.ROTATE_KEY, {0: new_key, 1: proof})
        if self.submit(tx, "ROTATE_KEY", expected):
            self.seeds[name] = new_seed

    @rule(data=st.data())
    def revoke_role(self, data: st.DataObject) -> None:
        """The operator (or a trader, TX-06) revokes a role of a newcomer, the second attestor,
        a validator or itself; the traders of the machine keep theirs, so the market keeps
        running."""
        sender = data.draw(st.sampled_from(["operator"] * 4 + ["alice"]))
        targets = [*NEWCOMERS, *NEWCOMERS, "attestor-2", "validator-1", "operator"]
        target = data.draw(st.sampled_from(targets))
        role = data.draw(st.sampled_from([int(Role.TRADER), int(Role.ATTESTOR), 4]))
        account = self.state.accounts.get(key_of(target))
        expected: str | None = None
        if sender != "operator":
            expected = "TX-06"
        elif role == 4:
            expected = "ROL-02"
        elif account is None:
            expected = "ROL-03"
        elif not account.roles & role:
            expected = "ROL-04"
        tx = self.make(sender, Kind.REVOKE_ROLE, {0: key_of(target), 1: role})
        if self.submit(tx, "REVOKE_ROLE", expected):
            after = self.state.accounts[key_of(target)]
            assert account is not None and after == replace(account, roles=account.roles & ~role)

    # -- envelopes that must fail whatever their body -----------------------------------------

    @rule(data=st.data())
    def bad_envelope(self, data: st.DataObject) -> None:
        how = data.draw(st.sampled_from(["replay", "next nonce", "wrong signer", "other chain"]))
        name = data.draw(traders)
        body = {0: 1}
        if how == "replay":
            if not self.accepted_txs:
                return
            tx, expected = data.draw(st.sampled_from(self.accepted_txs)), "TX-05"
            if not self.signed_by_current_key(tx):
                expected = "TX-04"  # its sender rotated since: the old key signs no more
        elif how == "next nonce":
            tx, expected = self.make(name, Kind.WITHDRAW, body, nonce_delta=1), "TX-05"
        elif how == "wrong signer":
            thief = data.draw(st.sampled_from([n for n in TRADERS if n != name]))
            tx = make_transaction(
                seed_of(thief), CHAIN_ID, Kind.WITHDRAW, self.nonce(name), body, key_of(name)
            )
            expected = "TX-04"
        else:
            tx = make_transaction(seed_of(name), "x", Kind.WITHDRAW, self.nonce(name), body)
            expected = "TX-01"
        self.submit(tx, "bad envelope", expected)

    @rule(data=st.data())
    def garbled(self, data: st.DataObject) -> None:
        """A valid transaction cut short or with one bit flipped: never accepted, never a crash."""
        tx = self.make(data.draw(traders), Kind.WITHDRAW, {0: 1})
        if data.draw(st.booleans()):
            broken = tx[: data.draw(st.integers(0, len(tx) - 1))]
        else:
            bit = data.draw(st.integers(0, 8 * len(tx) - 1))
            flipped = bytearray(tx)
            flipped[bit // 8] ^= 1 << (bit % 8)
            broken = bytes(flipped)
        assert not self.submit(broken, "garbled")

    # -- time and blocks ----------------------------------------------------------------------

    def clock_targets(self) -> list[int]:
        """Seconds around the next trading close of an open market, and around the end of the
        attestation window of the last slot."""
        now = int(self.state.time)
        closes = sorted(
            trading_close(self.state.params, slot)
            for (_, slot), m in self.state.markets.items()
            if m.status is MarketStatus.OPEN
        )
        targets = [closes[0], closes[0] - 1, closes[0] + 1] if closes else []
        window_end = slot_end(self.slot - 1) + ATTESTATION_WINDOW_S
        targets += [now + 1, now + SLOT_SECONDS, window_end - 1, window_end, now, now + 60]
        # the first targets are the likeliest draws: clearing first, so that markets do clear
        return list(dict.fromkeys(t for t in targets if t >= now))

    @rule(data=st.data())
    def tick(self, data: st.DataObject) -> None:
        before = self.state
        now = data.draw(st.sampled_from([*self.clock_targets(), int(before.time) - 1]))
        self.stats.steps += 1
        if now < before.time:
            try:
                advance_clock(before, now)
            except Exception as rejection:  # must be the typed BLK-04 rejection
                assert getattr(getattr(rejection, "rule", None), "id", None) == "BLK-04"
                self.stats.rejected["BLK-04"] += 1
                return
            raise AssertionError("the clock went back")
        self.advance(now)

    def advance(self, now: int) -> None:
        """A checked clock advance to ``now`` (not before the ledger's time)."""
        before = self.state
        after, settlement = advance_clock_settling(before, max(now, before.time))
        assert check_step(before, after, None, True) == []
        self.record_clearing(before, settlement)
        self.state = after
        event("tick")

    def block_transactions(self, data: st.DataObject) -> list[bytes]:
        """Up to three transactions, each valid on the state the previous ones leave (deposits
        and small transfers by distinct senders, numbered from their current nonces)."""
        txs = []
        rich = [n for n in TRADERS if self.state.accounts[key_of(n)].balance >= 1000]
        candidates = ["operator", *rich]
        if self.state.money_outstanding > MONEY_MAX_MSEN - 3000:
            candidates.remove("operator")  # a deposit could break MNY-04
        if not candidates:
            return []
        senders = data.draw(st.lists(st.sampled_from(candidates), max_size=3, unique=True))
        for sender in senders:
            to = key_of(data.draw(traders))
            kind = Kind.DEPOSIT if sender == "operator" else Kind.TRANSFER
            txs.append(self.make(sender, kind, {0: to, 1: data.draw(st.integers(1, 1000))}))
        return txs

    @rule(data=st.data())
    def block(self, data: st.DataObject) -> None:
        before = self.state
        timestamp = data.draw(st.sampled_from(self.clock_targets()))
        txs = self.block_transactions(data)
        defect = data.draw(
            st.sampled_from(
                ["none", "none", "none", "quorum", "state root", "tx root", "height", "parent",
                 "proposer", "time", "replay"]
            )
        )  # fmt: skip
        council = self.council()
        quorum = two_thirds(len(council))
        signers = data.draw(
            st.sampled_from([council, council[:quorum], council[len(council) - quorum :]])
        )
        changes: dict[str, object] = {}
        proposer = data.draw(st.sampled_from(signers))
        expected: str | None = None
        if defect == "quorum":
            signers, expected = data.draw(st.sampled_from([[], council[: quorum - 1]])), "BLK-07"
        elif defect == "state root":
            changes["state_root"], expected = bytes(32), "BLK-10"
        elif defect == "tx root":
            changes["tx_root"], expected = bytes(32), "BLK-08"
        elif defect == "height":
            changes["height"] = data.draw(st.sampled_from([before.height, before.height + 2]))
            expected = "BLK-02"
        elif defect == "parent":
            changes["parent"], expected = b"\x01" * 32, "BLK-03"
        elif defect == "proposer":
            proposer, expected = "alice", "BLK-05"
        elif defect == "time":
            timestamp, expected = int(before.time) - 1, "BLK-04"
        elif defect == "replay" and self.accepted_txs:
            txs, expected = [*txs, data.draw(st.sampled_from(self.accepted_txs))], "BLK-09"
        if timestamp > int(before.time) + 10 * SLOT_SECONDS:  # never: targets are near now
            raise AssertionError(timestamp)
        block = forge_block(before, txs, timestamp, proposer=proposer, signers=signers, **changes)
        after, receipt = apply_block(before, block)
        self.stats.steps += 1
        if expected is not None:
            assert receipt.rule_id == expected, (defect, receipt)
            assert after == before, "a rejected block changed the state"
            assert_known_rejection(receipt.code, receipt.rule_id)
            assert receipt.rule_id is not None
            self.stats.rejected[receipt.rule_id] += 1
            event(f"block rejected {receipt.rule_id}")
            return
        assert receipt.accepted, receipt
        self.accept_block(before, after, timestamp, txs, receipt.settlement)

    def accept_block(
        self,
        before: State,
        after: State,
        timestamp: int,
        txs: list[bytes],
        settlement: tuple[SettlementRecord, ...],
    ) -> None:
        """The block is its clock advance, its transactions and its end (the height moves and a
        due change of the validator set takes effect): replay and check each step."""
        step, settled = advance_clock_settling(before, timestamp)
        assert settled == settlement
        assert check_step(before, step, None, True) == []
        self.record_clearing(before, settled)
        for tx in txs:
            nxt, tx_receipt = apply_transaction(step, tx)
            assert tx_receipt.accepted, tx_receipt
            assert check_step(step, nxt, decode_transaction(tx), True) == []
            step = nxt
            self.accepted_txs.append(tx)
        ended = end_block(replace(step, height=after.height))
        assert check_step(step, ended, None, True) == []
        if validators(ended) != validators(step):
            self.stats.set_changes += 1
            event("validator set changed")
        assert replace(ended, tip_hash=after.tip_hash) == after
        assert after.height == before.height + 1 and after.tip_hash != before.tip_hash
        self.state = after
        self.stats.blocks_accepted += 1
        event("block accepted")

    # -- after every step ---------------------------------------------------------------------

    @invariant()
    def state_invariants_hold(self) -> None:
        assert check_state(self.state) == []

    @invariant()
    def cleared_markets_hold_no_energy(self) -> None:
        """CLR-07, which check_state does not cover: once a market has cleared, none of its lots
        keeps unsold or reserved Wh (they were sold or expired)."""
        for (meter, slot), lot in self.state.lots.items():
            market = self.state.markets[(lot.zone, slot)]
            if market.status is MarketStatus.CLEARED:
                assert (lot.unsold_wh, lot.reserved_wh) == (0, 0), (meter, slot, lot)


KIND_RULES = tuple(sorted({"TX-01", "TX-02", "TX-03", "TX-04", "TX-05", "TX-06", "TX-07"}))


@rules(
    *("INV-01", "INV-02", "INV-03", "INV-04", "INV-05", "INV-06", "INV-07", "INV-08"),
    *("INV-09", "INV-10", "INV-11", "INV-12", "INV-13", "INV-14", "INV-25", "INV-26"),
    *("ATT-02", "ATT-03", "ATT-04", "ATT-05", "ATT-06", "ATT-07", "ATT-08", "ATT-09"),
    *("ORD-01", "ORD-02", "ORD-03", "ORD-04", "ASK-01", "ASK-02", "ASK-03", "ASK-04", "ASK-05"),
    *("BID-01", "BID-02", "BID-03", "BID-04", "BID-06", "CAN-01", "CAN-02", "CAN-03", "CAN-04"),
    *("ORD-06", "ROL-01", "INV-20", "ATT-11", "MTR-06", "INV-21"),
    *("MTR-07", "MTR-08", "MTR-09", "MTR-10", "MTR-11", "MTR-12", "MTR-13", "INV-27", "INV-28"),
    *("COR-01", "COR-02", "COR-03", "COR-04", "COR-05", "COR-06"),
    *("MNY-01", "MNY-02", "MNY-03", "MNY-04", "TX-01", "TX-04", "TX-05", "TX-06", "TX-07"),
    *("CLR-01", "CLR-02", "CLR-03", "CLR-04", "CLR-05", "CLR-06", "CLR-07", "CLR-08"),
    *("BLK-02", "BLK-03", "BLK-04", "BLK-05", "BLK-07", "BLK-08", "BLK-09", "BLK-10", "BLK-12"),
    *("VAL-02", "VAL-03", "VAL-04", "VAL-05", "VAL-06", "VAL-07", "VAL-08", "INV-16", "INV-17"),
    *("KEY-02", "KEY-03", "KEY-05", "ROL-02", "ROL-03", "ROL-04", "ROL-05", "INV-19"),
)
def test_random_village_keeps_every_invariant() -> None:
    stats = Stats()
    profile = settings.default
    assert profile is not None
    run_state_machine_as_test(  # type: ignore[no-untyped-call]
        lambda: VillageMachine(stats),
        settings=settings(
            profile,
            max_examples=EXAMPLES_FACTOR * profile.max_examples,
            stateful_step_count=STEPS,
        ),
    )
    print(
        f"\nstateful: {stats.steps} steps, accepted {dict(sorted(stats.accepted.items()))}, "
        f"{stats.clearings} clearings, {stats.trades} with trades ({stats.traded_wh} Wh), "
        f"{stats.blocks_accepted} blocks accepted, {stats.set_changes} validator set changes, "
        f"rejections {dict(sorted(stats.rejected.items()))}"
    )
    never_accepted = sorted(k.name for k in KINDS if stats.accepted[k.name] == 0)
    assert never_accepted == [], f"transaction kinds never accepted: {never_accepted}"
    assert stats.set_changes > 0, "no change of the validator set ever took effect"
    assert stats.trades > 0, "clearing never produced a trade"
    assert stats.blocks_accepted > 0, "no block was ever accepted"
    never_rejected = sorted(MUST_REJECT - set(stats.rejected))
    assert never_rejected == [], f"rejections never provoked: {never_rejected}"
