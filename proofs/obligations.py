"""Every proof obligation, by name: Init => Inv, Inv and Step => Inv' per kind and invariant,
the lemmas the ghost totals rest on, the auction's properties (``proofs/auction.py``) and the
block time's (INV-18, ``proofs/block_time.py``).

An obligation is ``hypotheses => goal``; the runner proves it by showing ``hypotheses and not
goal`` unsatisfiable, and checks ``hypotheses`` satisfiable (vacuity). Obligations are built by
name, on demand, so that worker processes can rebuild them (Z3 terms do not cross processes).

Axioms the unbounded obligations use (each listed in the report):

* SUM-UPDATE: a ghost total kept by ``write_balance``/``write_order``/``write_demand`` equals the
  sum it stands for (the update lemma of a finite sum; bounded check ``lemma/sum-update``).
* SUM-SUBSET: in a state where every term of a sum is non-negative (INV-07), the terms at
  distinct keys add up to at most the total (bounded check ``lemma/sum-subset``). Instantiated in
  pre-states only, where the full invariant holds.
* SIG: a valid signature on the ledger's chain authenticates the sender (TX-01, TX-04 are not
  modelled); KEY: ACC-02's point check is an opaque predicate; POINT: MTR-06's search for a
  meter of the same source in service at the service point is an opaque predicate, and MTR-14's
  first slot an opaque value.
* BOOK: clearing obligations cover markets of up to ``clearing.BOOK_SIDE`` open asks and as many
  open bids, and take the auction's outcome through its contract (proved in ``auction``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from types import ModuleType
from typing import Any

import z3

from proofs import auction, block_time, quorums
from proofs.invariants import (
    END_BLOCK,
    PRUNED_INVARIANT,
    STATE_INVARIANTS,
    STEP_INVARIANTS,
    Actor,
    all_state_invariants,
    inv24,
)
from proofs.model import (
    ASK,
    FIELD_NAMES,
    NONE,
    OPEN,
    Ledger,
    Obligation,
    Term,
    constant_table,
    field_arity,
    get,
    parameter_domain,
    read_order,
    symbolic_ledger,
    total,
)
from proofs.transitions import (
    attest,
    cancel,
    clearing,
    clock,
    correct_reading,
    deposit,
    place_ask,
    place_bid,
    register_account,
    register_meter,
    register_node,
    retire_meter,
    revoke_role,
    rotate_key,
    set_meter_encumbrance,
    transfer,
    validator_update,
    withdraw,
)
from proofs.transitions._common import Points
from spec.units import MONEY_MAX_MSEN

TX_KINDS: tuple[ModuleType, ...] = (
    register_account,
    register_node,
    register_meter,
    attest,
    place_ask,
    place_bid,
    cancel,
    deposit,
    withdraw,
    transfer,
    revoke_role,
    rotate_key,
    validator_update,
    retire_meter,
    set_meter_encumbrance,
    correct_reading,
)


# --- Points -------------------------------------------------------------------------------------


def fresh_points(prefix: str) -> Points:
    """One free key per table (two for nodes, for the pairwise rank clause)."""

    def i(name: str) -> Term:
        return z3.Int(f"{prefix}.{name}")

    return Points(
        accounts=[i("account")],
        nodes=[i("node"), i("node2")],
        meters=[i("meter")],
        readings=[(i("lot_meter"), i("lot_slot"))],
        demands=[(i("demand_account"), i("demand_zone"), i("demand_slot"))],
        orders=[i("order")],
        markets=[(i("market_zone"), i("market_slot"))],
        slots=[i("slot")],
    )


def closure(s: Ledger, p: Points) -> Points:
    """``p`` and the keys its rows point to (an order's lot, market, owner and demand; a node's
    parent and zone; a lot's meter and owner), where the pre-state invariant is assumed too."""
    extra = Points()
    for x in p.orders:
        o = read_order(s, x)
        extra.accounts.append(o.owner)
        extra.readings.append((o.lot_meter, o.slot))
        extra.markets.append((o.zone, o.slot))
        extra.demands.append((o.owner, o.zone, o.slot))
        extra.slots.append(o.slot)
    for n in p.nodes:
        extra.nodes += [get(s.node_parent, n), get(s.node_zone, n)]
    for k in p.readings:
        extra.meters.append(k[0])
        extra.accounts.append(get(s.lot_owner, *k))
        extra.slots.append(k[1])
    for d in p.demands:
        extra.slots.append(d[2])
    for m in p.markets:
        extra.slots.append(m[1])
    return p.merge(extra)


# --- Axiom instances ------------------------------------------------------------------------------


def sum_subset(s: Ledger, orders: list[Term], accounts: list[Term]) -> list[Term]:
    """SUM-SUBSET in the pre-state for orders known to be distinct and for accounts: the ghost
    totals are at least the sum of these terms."""
    facts = []
    rows = [read_order(s, x) for x in orders]
    if rows:
        facts.append(s.escrow_total >= total([z3.If(o.exists, o.escrow, 0) for o in rows]))
    for o in rows:
        same_lot = [
            z3.If(
                z3.And(
                    r.exists,
                    r.side == ASK,
                    r.status == OPEN,
                    r.lot_meter == o.lot_meter,
                    r.slot == o.slot,
                ),
                r.quantity,
                0,
            )
            for r in rows
        ]
        facts.append(get(s.lot_open_ask_wh, o.lot_meter, o.slot) >= total(same_lot))
    for a in accounts:
        facts.append(s.balance_total >= get(s.account_balance, a))
    if len(accounts) == 2:
        a, b = accounts
        facts.append(
            z3.Implies(
                a != b,
                s.balance_total >= get(s.account_balance, a) + get(s.account_balance, b),
            )
        )
    return facts


# --- Builders -------------------------------------------------------------------------------------


def _tx_terms(tx: Any, prefix: str = "tx") -> dict[str, Term]:
    out: dict[str, Term] = {}
    for f in fields(tx):
        value = getattr(tx, f.name)
        if isinstance(value, tuple):
            for i, item in enumerate(value):
                if hasattr(item, "__dataclass_fields__"):
                    out.update(_tx_terms(item, f"{prefix}.{f.name}[{i}]"))
                else:
                    out[f"{prefix}.{f.name}[{i}]"] = item
        else:
            out[f"{prefix}.{f.name}"] = value
    return out


def _show(pre: Ledger, post: Ledger | None, points: Points, tx: dict[str, Term]) -> dict[str, Any]:
    return {"pre": pre, "post": post, "points": points, "tx": tx}


@dataclass
class Setting:
    """A transition instantiated symbolically: pre-state, accepted guards, post-state."""

    pre: Ledger
    post: Ledger
    hypotheses: list[Term]
    points: Points
    """Where the pre-state invariant is assumed."""
    fresh: Points
    """Where the goal is checked."""
    actor: Actor
    tx: dict[str, Term]
    rules: tuple[str, ...]
    scope: str = "unbounded"


def tx_setting(module: ModuleType, transition: Callable[..., Any] | None = None) -> Setting:
    """Pre-state satisfying the invariant at the relevant points, an accepted transaction of the
    kind, and the post-state."""
    pre = symbolic_ledger("pre")
    tx = module.symbolic("tx")
    step = transition or module.step
    result = step(pre, tx)
    fresh = fresh_points("x")
    touched = module.touched(pre, tx)
    points = closure(pre, touched.merge(fresh))
    orders = touched.orders[:1]
    kind_axioms = getattr(module, "axioms", None)
    hypotheses = [
        parameter_domain(pre),
        module.domain(tx),
        all_state_invariants(pre, points),
        *sum_subset(pre, orders, touched.accounts[:2]),
        *(kind_axioms(pre, tx, fresh) if kind_axioms is not None else []),
        pre.clock_horizon == pre.time,  # transactions run between clock advances (BLK-12)
        result.accepted,
    ]
    rules = tuple(dict.fromkeys(r for r, _ in result.guards))
    actor = Actor(tx.sender, tx.nonce, module.KIND)
    return Setting(pre, result.after, hypotheses, points, fresh, actor, _tx_terms(tx), rules)


def clearing_setting(
    side: int = clearing.BOOK_SIDE, settle: Callable[..., Any] | None = None
) -> Setting:
    """A market with ``side`` open asks and ``side`` open bids, all of its open orders, cleared
    with an outcome that meets the auction's contract."""
    pre = symbolic_ledger("pre")
    book, outcome = clearing.symbolic("book", side)
    fresh = fresh_points("x")
    touched = clearing.touched(pre, book)
    points = closure(pre, touched.merge(fresh))
    result = clearing.step(pre, book, outcome)
    after = result.after if settle is None else settle(pre, book, outcome)
    hypotheses = [
        parameter_domain(pre),
        all_state_invariants(pre, points),
        clearing.book_is_market(pre, book, fresh.orders),
        clearing.contract(pre, book, outcome),
        *sum_subset(pre, list(book.orders), []),
        *book_complete(pre, book, points),
        *refund_facts(pre, book, outcome),
        result.accepted,
    ]
    tx = {"market.zone": book.zone, "market.slot": book.slot, "price": outcome.price}
    for i, k in enumerate(book.orders):
        tx[f"order[{i}]"] = k
        tx[f"fill[{i}]"] = outcome.fills[i]
        tx[f"eligible[{i}]"] = outcome.eligible[i]
    rules = ("CLR-01", "CLR-02", "CLR-03", "CLR-04", "CLR-05", "CLR-06", "CLR-07", "CLR-08")
    scope = f"bounded: markets of up to {side} open asks and {side} open bids"
    return Setting(
        pre, after, hypotheses, points, fresh, Actor(None, None, "clear_market"), tx, rules, scope
    )


def clock_start_setting() -> Setting:
    """advance_clock begins: BLK-04 checked, the horizon set to ``now``."""
    pre = symbolic_ledger("pre")
    tx = clock.symbolic("tx")
    fresh = fresh_points("x")
    points = closure(pre, fresh)
    result = clock.start(pre, tx)
    hypotheses = [
        parameter_domain(pre),
        clock.domain(tx),
        all_state_invariants(pre, points),
        result.accepted,
    ]
    actor = Actor(None, None, "advance_clock.start")
    tx_terms = {"tx.now": tx.now}
    return Setting(
        pre, result.after, hypotheses, points, fresh, actor, tx_terms, ("BLK-04", "BLK-12")
    )


def clock_finish_setting() -> Setting:
    """advance_clock ends: no market due by the horizon is open, the time becomes the horizon."""
    pre = symbolic_ledger("pre")
    fresh = fresh_points("x")
    points = closure(pre, fresh)
    result = clock.finish(pre, list(points.markets))
    hypotheses = [parameter_domain(pre), all_state_invariants(pre, points), result.accepted]
    actor = Actor(None, None, "advance_clock.finish")
    tx_terms = {"horizon": pre.clock_horizon}
    return Setting(pre, result.after, hypotheses, points, fresh, actor, tx_terms, ("CLR-01",))


def end_block_setting() -> Setting:
    """A block ends: the height moves to the block's and a due change of the validator set takes
    effect (VAL-08), after the block's transactions, so between clock advances."""
    pre = symbolic_ledger("pre")
    fresh = fresh_points("x")
    points = closure(pre, validator_update.end_block_touched(pre).merge(fresh))
    result = validator_update.end_block(pre)
    hypotheses = [
        parameter_domain(pre),
        all_state_invariants(pre, points),
        pre.clock_horizon == pre.time,
        result.accepted,
    ]
    actor = Actor(None, None, END_BLOCK)
    tx_terms = {"pending account": pre.pending_account, "height": pre.height}
    return Setting(pre, result.after, hypotheses, points, fresh, actor, tx_terms, ("VAL-08",))


def book_complete(s: Ledger, book: clearing.Book, points: Points) -> list[Term]:
    """SUM-COMPLETE under BOOK: the book lists every open order of the market, and every open
    ask on a lot of the market is such an order (INV-03: an ask's zone is its lot's), so a lot of
    the market has exactly the book's asks on it as open asks."""
    facts = []
    asks = [read_order(s, k) for k in book.asks]
    for k in points.readings:
        of_market = z3.And(
            get(s.lot_exists, *k), k[1] == book.slot, get(s.lot_zone, *k) == book.zone
        )
        on_lot = [z3.If(z3.And(o.lot_meter == k[0], o.slot == k[1]), o.quantity, 0) for o in asks]
        facts.append(z3.Implies(of_market, get(s.lot_open_ask_wh, *k) == total(on_lot)))
    return facts


def refund_covered(f: Term, q: Term, p: Term, limit: Term, fee: Term) -> Term:
    """An instance of lemma/refund: a fill within the quantity at a price within the limit costs
    at most the escrow, f*p + f*fee <= q*(limit + fee)."""
    premise = z3.And(f >= 0, f <= q, p >= 0, z3.Implies(f > 0, p <= limit), limit >= 0, fee >= 0)
    return z3.Implies(premise, f * p + f * fee <= q * (limit + fee))


def refund_facts(s: Ledger, book: clearing.Book, out: clearing.Outcome) -> list[Term]:
    """lemma/refund at each bid of the book, with the very terms settlement forms."""
    price = clearing.settlement_price(out)
    facts = []
    for k, filled in zip(book.bids, out.fills[len(book.asks) :], strict=True):
        o = read_order(s, k)
        facts.append(refund_covered(filled, o.quantity, price, o.limit, o.fee))
    return facts


def genesis() -> tuple[Ledger, list[Term]]:
    """spec.state.genesis: the given accounts with their roles, nonce 0 and no money; nothing
    else; order ids from 1. Which accounts and roles is the genesis' choice (left free)."""
    s = symbolic_ledger("genesis")
    values: dict[str, Term] = {}
    for name in FIELD_NAMES:
        if name in ("attestation_window_s", "trading_close_s", "fee_account", "time"):
            continue
        if name in (
            "account_registered",
            "account_operator",
            "account_attestor",
            "account_trader",
            "account_key_valid",
        ):
            continue
        if name == "account_key":  # every genesis account signs with its id
            k = z3.Int("genesis.k")
            values[name] = z3.Lambda([k], k)
            continue
        if name == "key_holder":  # and holds its id, nobody else's
            k = z3.Int("genesis.k")
            values[name] = z3.Lambda([k], z3.If(get(s.account_registered, k), k, NONE))
            continue
        if name == "account_validator":
            continue  # who holds which role is the genesis' choice
        if name == "validator_count":
            continue  # the number of genesis validators: free, as their choice is
        if name in ("pending_height", "pending_account", "pending_since"):
            values[name] = z3.IntVal(NONE)
            continue
        arity = field_arity(name)
        if name == "clock_horizon":
            values[name] = s.time
            continue
        if arity == 0:
            values[name] = z3.IntVal(1 if name == "next_order_id" else 0)
            continue
        if name.endswith(("_exists", "_registered")):
            value: Term = z3.BoolVal(False)
        else:
            value = z3.IntVal(0)  # (a literal: other solvers want values in constant arrays)
        values[name] = constant_table(arity, value)
    g = replace(s, **values)
    return g, [
        parameter_domain(g),
        get(g.account_registered, g.fee_account),
        g.validator_count >= 0,
    ]


# --- The registry ---------------------------------------------------------------------------------

BUILDERS: dict[str, Callable[[], Obligation]] = {}


def _register(name: str, build: Callable[[], Obligation]) -> None:
    BUILDERS[name] = build


_SETTINGS_BUILT: dict[str, Setting] = {}
"""Settings already built in this process: every invariant of a kind shares one."""


def setting(kind: str, make: Callable[[], Setting]) -> Setting:
    """The kind's setting, built once per process (``forget_settings`` empties the cache, which
    the runner does whenever it applies a different seeded bug)."""
    if kind not in _SETTINGS_BUILT:
        _SETTINGS_BUILT[kind] = make()
    return _SETTINGS_BUILT[kind]


def forget_settings() -> None:
    _SETTINGS_BUILT.clear()


def state_obligation(kind: str, make: Callable[[], Setting], rule_id: str) -> Obligation:
    st = setting(kind, make)
    inv = next(i for i in STATE_INVARIANTS if i.rule_id == rule_id)
    return Obligation(
        name=f"{kind}/{rule_id}",
        rule_ids=(rule_id, *st.rules),
        about=(rule_id,),
        hypotheses=st.hypotheses,
        goal=inv.holds(st.post, st.fresh),
        scope=st.scope,
        show=_show(st.pre, st.post, st.points, st.tx),
    )


def step_obligation(kind: str, make: Callable[[], Setting], rule_id: str) -> Obligation:
    st = setting(kind, make)
    inv = next(i for i in STEP_INVARIANTS if i.rule_id == rule_id)
    return Obligation(
        name=f"{kind}/{rule_id}-step",
        rule_ids=(rule_id, *st.rules),
        about=(rule_id,),
        hypotheses=st.hypotheses,
        goal=inv.holds(st.pre, st.post, st.fresh, st.actor),
        scope=st.scope,
        show=_show(st.pre, st.post, st.points, st.tx),
    )


def init_obligation(rule_id: str) -> Obligation:
    g, facts = genesis()
    fresh = fresh_points("x")
    inv = next(i for i in STATE_INVARIANTS if i.rule_id == rule_id)
    # Genesis gives roles only to registered accounts, never an incompatible pair, and no trader
    # role to the fee account (spec.state.genesis refuses those); instantiated at the fresh
    # account and the fee account.
    a = fresh.accounts[0]
    roles = z3.Implies(
        z3.Not(get(g.account_registered, a)),
        z3.Not(
            z3.Or(
                get(g.account_operator, a),
                get(g.account_attestor, a),
                get(g.account_trader, a),
                get(g.account_validator, a),
            )
        ),
    )
    compatible = [
        register_account.roles_compatible(
            get(g.account_operator, x), get(g.account_attestor, x), get(g.account_trader, x)
        )
        for x in (a, g.fee_account)
    ]
    fee_no_trader = z3.Not(get(g.account_trader, g.fee_account))
    # Genesis refuses an account id that is not a valid public key (ACC-02).
    valid_ids = z3.Implies(
        get(g.account_registered, a), z3.And(a >= 0, get(g.account_key_valid, a))
    )
    return Obligation(
        name=f"init/{rule_id}",
        rule_ids=(rule_id,),
        hypotheses=[*facts, roles, *compatible, fee_no_trader, valid_ids],
        goal=inv.holds(g, fresh),
        show=_show(g, None, fresh, {}),
    )


def balance_bound() -> Obligation:
    """INV-08 for balances: a state meeting the invariant has every balance <= MONEY_MAX_MSEN."""
    s = symbolic_ledger("pre")
    fresh = fresh_points("x")
    a = fresh.accounts[0]
    return Obligation(
        name="bounds/balance",
        rule_ids=("INV-08", "MNY-04"),
        hypotheses=[
            parameter_domain(s),
            all_state_invariants(s, closure(s, fresh)),
            *sum_subset(s, [], [a]),
        ],
        goal=get(s.account_balance, a) <= MONEY_MAX_MSEN,
        show=_show(s, None, fresh, {}),
    )


def _settings() -> dict[str, Callable[[], Setting]]:
    out: dict[str, Callable[[], Setting]] = {}
    for module in TX_KINDS:
        out[module.KIND] = functools.partial(tx_setting, module)
    out[clearing.KIND] = clearing_setting
    out["advance_clock.start"] = clock_start_setting
    out["advance_clock.finish"] = clock_finish_setting
    out[END_BLOCK] = end_block_setting
    return out


SETTINGS = _settings()

for _inv in STATE_INVARIANTS:
    _register(f"init/{_inv.rule_id}", functools.partial(init_obligation, _inv.rule_id))
for _kind, _make in SETTINGS.items():
    for _inv in STATE_INVARIANTS:
        _register(
            f"{_kind}/{_inv.rule_id}",
            functools.partial(state_obligation, _kind, _make, _inv.rule_id),
        )
    for _sinv in STEP_INVARIANTS:
        _register(
            f"{_kind}/{_sinv.rule_id}-step",
            functools.partial(step_obligation, _kind, _make, _sinv.rule_id),
        )
_register("bounds/balance", balance_bound)


def pruned_obligation(kind: str, make: Callable[[], Setting]) -> Obligation:
    """INV-24 across one transition: no reading, lot, order or market of a slot whose trading
    closed is in the post-state. For the end of a clock advance the goal is stated after the
    pruning step (PRN-01, PRN-02: ``clock.prune`` at the new time); every other transition keeps
    the time and must create rows of open slots only, which is what keeps a pruned slot from
    being attested, offered or bid for again."""
    st = setting(kind, make)
    post = clock.prune(st.post, st.post.time) if kind == "advance_clock.finish" else st.post
    rules = (PRUNED_INVARIANT, *st.rules)
    if kind == "advance_clock.finish":
        rules = (*rules, "PRN-01", "PRN-02")
    return Obligation(
        name=f"{kind}/{PRUNED_INVARIANT}",
        rule_ids=rules,
        about=(PRUNED_INVARIANT,),
        hypotheses=[*st.hypotheses, inv24(st.pre, st.points)],
        goal=inv24(post, st.fresh),
        scope=st.scope,
        show=_show(st.pre, post, st.points, st.tx),
    )


def pruned_init() -> Obligation:
    """INV-24 at genesis: no per-slot record at all."""
    g, facts = genesis()
    fresh = fresh_points("x")
    return Obligation(
        name=f"init/{PRUNED_INVARIANT}",
        rule_ids=(PRUNED_INVARIANT,),
        hypotheses=facts,
        goal=inv24(g, fresh),
        show=_show(g, None, fresh, {}),
    )


_register(f"init/{PRUNED_INVARIANT}", pruned_init)
for _kind, _make in SETTINGS.items():
    _register(f"{_kind}/{PRUNED_INVARIANT}", functools.partial(pruned_obligation, _kind, _make))


def aliasing_obligation(name: str, kind: str, case: Callable[[Setting], Term]) -> Obligation:
    """Money conservation in an aliasing case on purpose, with the case in the hypotheses so
    that its vacuity witness is an instance of it."""
    st = setting(kind, SETTINGS[kind])
    inv = next(i for i in STATE_INVARIANTS if i.rule_id == "INV-06")
    return Obligation(
        name=name,
        rule_ids=("INV-06", *st.rules),
        about=("INV-06",),
        hypotheses=[*st.hypotheses, case(st)],
        goal=inv.holds(st.post, st.fresh),
        scope=st.scope,
        show=_show(st.pre, st.post, st.points, st.tx),
    )


def _self_transfer(st: Setting) -> Term:
    return st.tx["tx.to"] == st.tx["tx.sender"]


def _self_trade(st: Setting) -> Term:
    """The first ask's owner also owns the first bid, and the trade happens."""
    ask, bid = st.tx["order[0]"], st.tx[f"order[{clearing.BOOK_SIDE}]"]
    fill = st.tx["fill[0]"]
    return z3.And(
        read_order(st.pre, ask).owner == read_order(st.pre, bid).owner,
        fill > 0,
        st.tx["price"] > 0,
    )


_register(
    "transfer/INV-06-self-transfer",
    functools.partial(
        aliasing_obligation, "transfer/INV-06-self-transfer", "transfer", _self_transfer
    ),
)
_register(
    "clear_market/INV-06-self-trade",
    functools.partial(
        aliasing_obligation, "clear_market/INV-06-self-trade", "clear_market", _self_trade
    ),
)
for _name, _build in auction.OBLIGATIONS.items():
    _register(_name, _build)
for _name, _build in block_time.OBLIGATIONS.items():
    _register(_name, _build)
for _name, _build in quorums.OBLIGATIONS.items():
    _register(_name, _build)


def lemma_sum_update(n: int = 8) -> Obligation:
    """SUM-UPDATE on a universe of ``n`` keys: sum(Store(f, k, v)) = sum(f) - f[k] + v."""
    f = z3.Array("f", z3.IntSort(), z3.IntSort())
    k, v = z3.Ints("k v")

    def sum_of(a: Term) -> Term:
        return total([z3.Select(a, i) for i in range(n)])

    return Obligation(
        name="lemma/sum-update",
        rule_ids=("INV-06", "INV-02", "INV-03", "INV-05"),
        hypotheses=[k >= 0, k < n],
        goal=sum_of(z3.Store(f, k, v)) == sum_of(f) - z3.Select(f, k) + v,
        scope=f"bounded: {n} keys",
        show={"tx": {"k": k, "v": v}},
    )


def lemma_sum_subset(n: int = 8, m: int = 3) -> Obligation:
    """SUM-SUBSET on ``n`` keys: non-negative terms at ``m`` distinct keys add up to at most the
    sum."""
    f = z3.Array("f", z3.IntSort(), z3.IntSort())
    keys = z3.Ints(" ".join(f"k{i}" for i in range(m)))
    hyps = [z3.Distinct(*keys)] + [z3.And(k >= 0, k < n) for k in keys]
    hyps += [z3.Select(f, i) >= 0 for i in range(n)]
    return Obligation(
        name="lemma/sum-subset",
        rule_ids=("INV-06", "INV-07", "INV-08", "INV-01"),
        hypotheses=hyps,
        goal=total([z3.Select(f, k) for k in keys]) <= total([z3.Select(f, i) for i in range(n)]),
        scope=f"bounded: {n} keys, {m} chosen",
        show={"tx": {f"k{i}": k for i, k in enumerate(keys)}},
    )


def lemma_refund() -> Obligation:
    """A bid's settlement never takes more than its escrow (CLR-06 with INV-10)."""
    f, q, p, limit, fee = z3.Ints("filled quantity price limit fee")
    premise = z3.And(f >= 0, f <= q, p >= 0, z3.Implies(f > 0, p <= limit), limit >= 0, fee >= 0)
    return Obligation(
        name="lemma/refund",
        rule_ids=("INV-07", "INV-12", "CLR-06"),
        hypotheses=[premise],
        goal=f * p + f * fee <= q * (limit + fee),
        show={"tx": {"filled": f, "quantity": q, "price": p, "limit": limit, "fee": fee}},
    )


def lemma_one_key_one_account() -> Obligation:
    """INV-19 as the rule book states it, from its pointwise form: where ``inv19`` holds at two
    registered accounts a != b, their keys differ and neither's key is the other's id."""
    s = symbolic_ledger("pre")
    a, b = z3.Ints("a b")
    inv = next(i for i in STATE_INVARIANTS if i.rule_id == "INV-19")
    key_a, key_b = get(s.account_key, a), get(s.account_key, b)
    return Obligation(
        name="lemma/one-key-one-account",
        rule_ids=("INV-19",),
        hypotheses=[
            inv.holds(s, Points(accounts=[a, b])),
            get(s.account_registered, a),
            get(s.account_registered, b),
            a != b,
        ],
        goal=z3.And(key_a != key_b, key_a != b, key_b != a),
        show={"tx": {"a": a, "b": b, "key of a": key_a, "key of b": key_b}},
    )


_register("lemma/one-key-one-account", lemma_one_key_one_account)
_register("lemma/refund", lemma_refund)
_register("lemma/sum-update", lemma_sum_update)
_register("lemma/sum-subset", lemma_sum_subset)


def build(name: str) -> Obligation:
    """The obligation called ``name``."""
    return BUILDERS[name]()


def names() -> list[str]:
    """Every obligation's name, in a stable order."""
    return list(BUILDERS)
