"""Seeded bugs: each must make some obligation fail with a counterexample.

A proof that passes whatever the rules say proves nothing; these mutants are the evidence that the
obligations see the rules. Each mutant changes one thing in the model, the way a plausible slip in
the spec would, and names the invariant it should break. Some drop one check (a guard of a given
rule id), some change a computation through the small seams the model has for that purpose, and
two combine a harmless-looking slip with an aliasing case: a self-transfer whose second write
reads the pre-state, and a clearing that pays sellers from the balance before clearing (broken
only when one account holds two orders of the market, or trades with itself).

``kwhledger prove --mutants`` runs every mutant against the obligations of the kinds it touches and
fails unless each one is caught.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import z3

from proofs import auction, block_time, model
from proofs.transitions import (
    attest,
    clearing,
    clock,
    correct_reading,
    place_bid,
    register_node,
    retire_meter,
    revoke_role,
    set_meter_encumbrance,
    transfer,
    validator_update,
    withdraw,
)
from spec.units import SLOT_SECONDS

Patch = tuple[Any, str, Any]
"""(module or class, attribute, replacement)."""


@dataclass(frozen=True)
class Mutant:
    name: str
    description: str
    targets: str
    """The invariant (rule id) the bug should break."""
    scopes: tuple[str, ...]
    """Prefixes of the obligations to run it against."""
    patches: Callable[[], list[Patch]]

    def candidates(self, names: list[str]) -> list[str]:
        return [n for n in names if n.startswith(self.scopes)]


def without_check(rule_id: str) -> Callable[[], list[Patch]]:
    """The spec forgets the check of ``rule_id``: ``Checks.require`` ignores it."""
    original = model.Checks.require

    def require(self: model.Checks, condition: Any, rule: str) -> None:
        if rule != rule_id:
            original(self, condition, rule)

    return lambda: [(model.Checks, "require", require)]


def _transfer_reading_pre_state() -> list[Patch]:
    def step(s: model.Ledger, tx: transfer.Tx) -> model.Transition:
        checks = model.Checks()
        model.envelope(s, tx.sender, tx.nonce, None, checks)
        checks.require(model.get(s.account_registered, tx.to), "MNY-01")
        checks.require(tx.amount >= 1, "MNY-02")
        checks.require(tx.amount <= model.get(s.account_balance, tx.sender), "MNY-03")
        pre = s
        s = model.write_balance(s, tx.sender, model.get(pre.account_balance, tx.sender) - tx.amount)
        # The bug: the recipient's balance is read from the state before the first write.
        s = model.write_balance(s, tx.to, model.get(pre.account_balance, tx.to) + tx.amount)
        return checks.done(model.advance_nonce(s, tx.sender))

    return [(transfer, "step", step)]


def _seam(module: Any, name: str, replacement: Any) -> Callable[[], list[Patch]]:
    return lambda: [(module, name, replacement)]


def _pays_from_pre_state(
    s: model.Ledger, before: model.Ledger, owner: Any, filled: Any, price: Any
) -> Any:
    return model.get(before.account_balance, owner) + filled * price


def _tie_break_by_arrival(orders: Any, at_margin: list[Any], i: int) -> Any:
    return model.total([z3.If(at_margin[j], 1, 0) for j in range(i)])


def _ranking_without_id() -> list[Patch]:
    """Both sides ranked by limit alone: ties are left in whatever order they arrived."""
    return [
        (auction, "ask_before", lambda a, b: a.limit < b.limit),
        (auction, "bid_before", lambda a, b: a.limit > b.limit),
    ]


def _zone_is_parent(s: model.Ledger, tx: register_node.Tx) -> Any:
    is_zone = z3.Or(tx.parent == model.NONE, tx.kind == model.SUBSTATION)
    return z3.If(is_zone, tx.node, tx.parent)


MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "cancel-releases-twice",
        "cancel skips CAN-03, so a cancelled ask releases its reservation again",
        "INV-03",
        ("cancel/",),
        without_check("CAN-03"),
    ),
    Mutant(
        "ask-beyond-unsold",
        "place_ask skips ASK-04 and reserves more than the lot's unsold Wh",
        "INV-01",
        ("place_ask/",),
        without_check("ASK-04"),
    ),
    Mutant(
        "attest-twice",
        "attest skips ATT-06, so a (meter, slot) can be attested again",
        "INV-04",
        ("attest/",),
        without_check("ATT-06"),
    ),
    Mutant(
        "clearing-forgets-claim",
        "clearing does not add a buyer's fill to its claimed demand (CLR-08)",
        "INV-02",
        ("clear_market/",),
        _seam(clearing, "claimed_after", lambda claimed, filled: claimed),
    ),
    Mutant(
        "eligible-ignores-demand",
        "the auction does not cap bids by the buyer's unclaimed import (CLR-02)",
        "INV-05",
        ("auction/",),
        _seam(auction, "eligible_bids", lambda bids, ranked=False: [b.quantity_wh for b in bids]),
    ),
    Mutant(
        "self-transfer-reads-pre-state",
        "transfer reads the recipient's balance from before the debit (aliasing when to = sender)",
        "INV-06",
        ("transfer/",),
        _transfer_reading_pre_state,
    ),
    Mutant(
        "clearing-pays-bid-price",
        "clearing charges buyers their own limit instead of the clearing price",
        "INV-06",
        ("clear_market/",),
        _seam(clearing, "cost", lambda filled, price, order: filled * order.limit),
    ),
    Mutant(
        "clearing-pays-from-pre-state",
        "clearing pays each seller from its balance before clearing (aliasing: two asks of one "
        "seller, or a seller who also bids)",
        "INV-06",
        ("clear_market/",),
        _seam(clearing, "proceeds", _pays_from_pre_state),
    ),
    Mutant(
        "withdrawal-stays-outstanding",
        "withdraw leaves the money outstanding as it was (MNY-04 bounding a lifetime total of "
        "deposits, as rule book 0.x did), so money conservation no longer holds",
        "INV-06",
        ("withdraw/",),
        _seam(withdraw, "outstanding_after", lambda outstanding, amount: outstanding),
    ),
    Mutant(
        "withdraw-overdraft",
        "withdraw skips MNY-03",
        "INV-07",
        ("withdraw/",),
        without_check("MNY-03"),
    ),
    Mutant(
        "deposit-unbounded",
        "deposit skips MNY-04, so the money outstanding can exceed MONEY_MAX_MSEN",
        "INV-08",
        ("deposit/",),
        without_check("MNY-04"),
    ),
    Mutant(
        "price-not-halved",
        "the clearing price is lo + hi instead of their midpoint (CLR-04)",
        "INV-09",
        ("auction/",),
        _seam(auction, "midpoint", lambda lo, hi: lo + hi),
    ),
    Mutant(
        "escrow-without-fee",
        "a bid escrows quantity x max price, without the wheeling fee (BID-02)",
        "INV-10",
        ("place_bid/",),
        _seam(place_bid, "escrow_of", lambda quantity, max_price, fee: quantity * max_price),
    ),
    Mutant(
        "missing-nonce-check",
        "the envelope skips TX-05, so a replayed transaction is accepted",
        "INV-11",
        ("withdraw/", "transfer/"),
        without_check("TX-05"),
    ),
    Mutant(
        "bid-without-import",
        "place_bid skips BID-04, so a trader without import can bid (the spoofing bid)",
        "INV-25",
        ("place_bid/",),
        without_check("BID-04"),
    ),
    Mutant(
        "bids-uncapped",
        "place_bid skips ORD-07, so one account can open any number of bids in a market",
        "INV-26",
        ("place_bid/",),
        without_check("ORD-07"),
    ),
    Mutant(
        "asks-uncapped",
        "place_ask skips ORD-07, so one account can open any number of asks in a market",
        "INV-26",
        ("place_ask/",),
        without_check("ORD-07"),
    ),
    Mutant(
        "order-fee-vanishes",
        "place_bid takes the order fee from the buyer but credits nobody (BID-06)",
        "INV-06",
        ("place_bid/",),
        _seam(place_bid, "collect_order_fee", lambda s: s),
    ),
    Mutant(
        "cancel-by-anyone",
        "cancel skips CAN-02, so anybody can cancel an order",
        "INV-12",
        ("cancel/",),
        without_check("CAN-02"),
    ),
    Mutant(
        "bid-after-close",
        "place_bid skips ORD-02, so a bid opens a market after its trading closed (for asks the "
        "same slip is harmless: a lot's market is open until its close, and empty after it)",
        "INV-13",
        ("place_bid/",),
        without_check("ORD-02"),
    ),
    Mutant(
        "attest-before-slot-end",
        "attest skips ATT-04, so a slot is attested before it ended",
        "INV-13",
        ("attest/",),
        without_check("ATT-04"),
    ),
    Mutant(
        "clearing-skips-expiry",
        "clearing leaves the market's unsold Wh in its lots (CLR-07)",
        "INV-13",
        ("clear_market/",),
        _seam(clearing, "expire", lambda s, book: s),
    ),
    Mutant(
        "zone-is-parent",
        "a new node's zone is its parent's id instead of its parent's zone",
        "INV-14",
        ("register_node/",),
        _seam(register_node, "zone_of", _zone_is_parent),
    ),
    Mutant(
        "attestor-may-trade",
        "register_account skips ROL-01, so one account can attest readings and trade them "
        "(roles 10), or run the market and trade on it (roles 9)",
        "INV-20",
        ("register_account/",),
        without_check("ROL-01"),
    ),
    Mutant(
        "rotate-to-key-in-use",
        "rotate_key skips KEY-02, so an account can rotate to another account's id or key and "
        "one key signs for two accounts",
        "INV-19",
        ("rotate_key/",),
        without_check("KEY-02"),
    ),
    Mutant(
        "rotate-to-invalid-key",
        "rotate_key skips KEY-01, so an account can sign with a small-order key",
        "INV-19",
        ("rotate_key/",),
        without_check("KEY-01"),
    ),
    Mutant(
        "register-current-key",
        "register_account skips KEY-07, so a new account's id can be the key another account "
        "signs with",
        "INV-19",
        ("register_account/",),
        without_check("KEY-07"),
    ),
    Mutant(
        "revoke-toggles-role",
        "revoke_role skips ROL-04 and flips the role instead of removing it, so revoking "
        "TRADER from an attestor makes it a trader",
        "INV-20",
        ("revoke_role/",),
        lambda: [
            *without_check("ROL-04")(),
            (revoke_role, "revoked", lambda held, named: z3.Xor(held, named)),
        ],
    ),
    Mutant(
        "reading-sets-encumbrance",
        "attest skips ATT-11, so a reading of a feed-in-tariff meter can say NONE and mint a "
        "sellable lot",
        "INV-27",
        ("attest/",),
        without_check("ATT-11"),
    ),
    Mutant(
        "lot-ignores-schedule",
        "attest mints the lot with the meter's registered encumbrance instead of its schedule's "
        "for the slot, so after a change the lot and its reading disagree",
        "INV-21",
        ("attest/",),
        _seam(attest, "encumbrance_of", lambda s, r: model.get(s.meter_encumbrance, r.meter)),
    ),
    Mutant(
        "attestation-ignores-schedule",
        "ATT-11 compares a reading with the meter's registered encumbrance, not its schedule "
        "for the slot (MTR-13)",
        "INV-27",
        ("attest/",),
        _seam(
            attest, "scheduled_encumbrance", lambda s, r: model.get(s.meter_encumbrance, r.meter)
        ),
    ),
    Mutant(
        "retired-meter-attested",
        "attest skips MTR-11, so a retired meter mints the export of slots after its retirement",
        "INV-27",
        ("attest/",),
        without_check("MTR-11"),
    ),
    Mutant(
        "meter-change-backdated",
        "the current slot of MTR-09 is one too early, so a change reaches a slot that may "
        "already be attested",
        "INV-27",
        ("set_meter_encumbrance/", "retire_meter/"),
        _seam(retire_meter, "current_slot", lambda s: s.time / SLOT_SECONDS - 1),
    ),
    Mutant(
        "change-folded-while-open",
        "set_meter_encumbrance folds a scheduled change while slots before it can still be "
        "attested (MTR-10 always allows it)",
        "INV-27",
        ("set_meter_encumbrance/",),
        _seam(set_meter_encumbrance, "fold_allowed", lambda s, scheduled_from: z3.BoolVal(True)),
    ),
    Mutant(
        "correction-of-offered-lot",
        "correct_reading skips COR-03, so a lot with asks on it is minted again",
        "INV-03",
        ("correct_reading/",),
        without_check("COR-03"),
    ),
    Mutant(
        "correction-replaces-demand",
        "a correction sets the owner's demand to the corrected reading's import instead of "
        "moving it by the difference",
        "INV-28",
        ("correct_reading/",),
        _seam(correct_reading, "imported_after", lambda total, old, new: new),
    ),
    Mutant(
        "attest-without-market",
        "attest mints a lot but does not create its market (MKT-01), so clearing never expires it",
        "INV-29",
        ("attest/",),
        _seam(attest, "open_market", lambda s, market, when=None: s),
    ),
    Mutant(
        "correction-without-market",
        "a correction that mints a lot where the reading had none does not create its market",
        "INV-29",
        ("correct_reading/",),
        _seam(correct_reading, "open_market", lambda s, market, when=None: s),
    ),
    Mutant(
        "correction-ignores-bids",
        "correct_reading skips COR-05, so import can fall below the open bids it backs",
        "INV-25",
        ("correct_reading/",),
        without_check("COR-05"),
    ),
    Mutant(
        "tie-break-by-arrival",
        "the pro-rata remainder goes to orders in arrival order instead of ascending id",
        "INV-15",
        ("auction/arrival-order", "auction/tie-break"),
        _seam(auction, "margin_position", _tie_break_by_arrival),
    ),
    Mutant(
        "ranking-without-id",
        "the ranking key has no order-id tie-break, so orders at one limit stay in arrival "
        "order (two arrivals of one book give two rankings)",
        "INV-15",
        ("auction/ranking-unique",),
        _ranking_without_id,
    ),
    Mutant(
        "vote-time-off-by-one",
        "TIM-02 takes the vote time one place above the lower median, (s + 1) // 2 (for three "
        "votes the greatest), which one faulty vote of three can choose",
        "INV-18",
        ("time/median-within-honest-",),
        _seam(block_time, "median_position", lambda s: min((s + 1) // 2, s - 1)),
    ),
)

VALIDATOR_MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "operator-grants-validator",
        "register_account skips VAL-01, so the operator makes validators alone",
        "INV-16",
        ("register_account/",),
        without_check("VAL-01"),
    ),
    Mutant(
        "validator-quorum-one-half",
        "VAL-05 asks for half of the validators (2 x approvals >= validators) instead of two "
        "thirds",
        "INV-16",
        ("validator_update/",),
        _seam(
            validator_update, "quorum", lambda approvals, validators: 2 * approvals >= validators
        ),
    ),
    Mutant(
        "approvals-counted-with-duplicates",
        "VAL-04 does not require ascending, distinct approvers, so one validator's approval "
        "listed three times counts three times",
        "INV-16",
        ("validator_update/",),
        _seam(validator_update, "approvals_by_validators", lambda tx: tx.valid == tx.approvals),
    ),
    Mutant(
        "approvals-by-anyone",
        "validator_update skips VAL-04, so approvals by non-validators or with bad signatures "
        "count",
        "INV-16",
        ("validator_update/",),
        without_check("VAL-04"),
    ),
    Mutant(
        "no-change-pending",
        "validator_update skips VAL-03, so adding a validator or removing a non-validator is "
        "accepted as the pending change",
        "INV-17",
        ("validator_update/",),
        without_check("VAL-03"),
    ),
    Mutant(
        "set-shrinks-to-nothing",
        "validator_update skips VAL-07, so a set of three or fewer (down to the last validators) "
        "changes, one validator being a third or more of it",
        "INV-17",
        ("validator_update/",),
        without_check("VAL-07"),
    ),
    Mutant(
        "second-change-replaces-pending",
        "validator_update skips VAL-06, so a second change is accepted while one is pending and "
        "replaces it",
        "INV-17",
        ("validator_update/",),
        without_check("VAL-06"),
    ),
    Mutant(
        "change-effective-at-next-height",
        "a change accepted in block H is effective from H + 1 instead of H + 2 (VAL-08): the "
        "block that carries it already changes the set",
        "INV-17",
        ("validator_update/", "end_block/"),
        _seam(validator_update, "activation", lambda s: s.height + 2),
    ),
    Mutant(
        "pending-change-applied-at-once",
        "end_block applies a pending change whatever its height (VAL-08)",
        "INV-17",
        ("end_block/",),
        _seam(validator_update, "due", lambda s: s.pending_height != model.NONE),
    ),
    Mutant(
        "removal-adds",
        "end_block gives the account the VALIDATOR role whatever the change's power (VAL-08)",
        "INV-16",
        ("end_block/",),
        _seam(validator_update, "end_block_role", lambda s, new, apply: z3.Or(new, apply)),
    ),
)

MUTANTS = MUTANTS + VALIDATOR_MUTANTS


def _prune_forgetting_orders() -> list[Patch]:
    original = clock.prune

    def prune(s: model.Ledger, now: Any) -> model.Ledger:
        pruned = original(s, now)
        return replace(pruned, order_exists=s.order_exists)

    return [(clock, "prune", prune)]


MUTANTS = (
    *MUTANTS,
    Mutant(
        "prune-forgets-orders",
        "pruning removes a closed slot's readings, lots and markets but keeps its orders",
        "INV-24",
        ("advance_clock.finish/INV-24",),
        _prune_forgetting_orders,
    ),
    Mutant(
        "attest-after-window",
        "attest forgets ATT-05, so a reading of a slot already pruned can be attested again",
        "INV-24",
        ("attest/INV-24",),
        without_check("ATT-05"),
    ),
)

BY_NAME = {m.name: m for m in MUTANTS}


@contextlib.contextmanager
def applied(name: str) -> Iterator[None]:
    """Apply the mutant called ``name`` (nothing for the empty name) for the duration."""
    if not name:
        yield
        return
    patches = BY_NAME[name].patches()
    saved = [(target, attr, getattr(target, attr)) for target, attr, _ in patches]
    try:
        for target, attr, replacement in patches:
            setattr(target, attr, replacement)
        yield
    finally:
        for target, attr, original in saved:
            setattr(target, attr, original)
