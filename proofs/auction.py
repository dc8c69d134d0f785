"""The call auction of spec/clearing.py in Z3, and its properties for books of bounded size.

``call_auction`` below follows the spec's code step by step on symbolic books: rankings by
(price, order id) become rank terms (how many orders sort before), the Wh-by-Wh walk of CLR-03 is
unrolled ``asks + bids`` times (each pass finishes an ask or a bid, so that is enough, and an
obligation checks it), the price is CLR-04's midpoint, and ``_ration`` (CLR-05) is the pro-rata
share with the remainder given one Wh each in ascending order id. ``eligible_bids`` (CLR-02) caps
each bid by its buyer's unclaimed demand in ranking order; the greedy allocation of a buyer's
demand over its ranked bids has the closed form "prefix fill = min(demand, prefix quantity)".

The obligations prove, for every book of ``ASKS`` asks and ``BIDS`` bids with symbolic ids, limit
prices, quantities, owners and unclaimed demand (the bound; a book with fewer orders is the same
book with quantity-0 orders, which the auction skips):

* ``auction/one-price``: a market that trades has one price, between the marginal limits
  lo <= price <= hi of CLR-04, within the price bound; one that does not trade has none;
* ``auction/volume``: ask fills, bid fills and the volume are equal (CLR-03, CLR-05);
* ``auction/price-integrity``: every filled bid's limit >= price >= every filled ask's limit;
* ``auction/no-overfill``: no fill beyond the order's (eligible) quantity, no buyer beyond its
  unclaimed import;
* ``auction/maximal-volume``: at no price p would more trade: min(supply(p), demand(p)) <= V;
* ``auction/volume-on-offer``: the volume is offered and demanded at the clearing price;
* ``auction/arrival-order``: permuting the book (the order orders arrived in) changes nothing,
  and changing ids changes nothing as long as ties keep their id order (the stated tie-break);
* ``auction/contract``: the contract ``proofs.transitions.clearing`` assumes for settlement;
* ``auction/ranking-unique-asks-4`` / ``-bids-4``: two arrangements of 4 orders of one side that
  are both sorted by the ranking key are the same. With the ranked obligations this gives
  independence from arrival order at 4 + 4 (see ``ranking_unique``); the direct
  ``auction/arrival-order`` on the unranked encoding stays at 2 + 2.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import z3

from proofs.model import NONE, Obligation, Term, price, total
from spec.units import WH_MAX

ASKS = 4
BIDS = 4
"""The bound of the auction proofs: books of this many asks and bids."""


@dataclass(frozen=True)
class AuctionOrder:
    """spec.clearing.AuctionOrder, plus the buyer and its unclaimed demand for bids."""

    order_id: Term
    limit: Term
    quantity_wh: Term
    owner: Term = 0
    unclaimed_wh: Term = 0
    """The owner's imported minus claimed Wh in the market (bids only)."""


@dataclass(frozen=True)
class AuctionResult:
    """What the auction decided, per order in the order given (asks, then bids)."""

    volume_wh: Term
    price: Term
    """NONE when nothing trades."""
    eligible: tuple[Term, ...]
    fills: tuple[Term, ...]
    lo: Term
    hi: Term
    limits: tuple[Term, ...]
    """Each order's limit, asks then bids."""
    shares: tuple[tuple[ProRata, ...], tuple[ProRata, ...]]
    """The pro-rata divisions of each side (asks, bids)."""
    definitions: tuple[Term, ...] = ()
    """Equations defining named intermediate values (see ``call_auction``)."""


def _sum(terms: Sequence[Term]) -> Term:
    return total(list(terms))


def _min(a: Term, b: Term) -> Term:
    return z3.If(a <= b, a, b)


def _max(a: Term, b: Term) -> Term:
    return z3.If(a >= b, a, b)


def ask_before(a: AuctionOrder, b: AuctionOrder) -> Term:
    """ranked_asks: lowest limit first, then lowest order id."""
    return z3.Or(a.limit < b.limit, z3.And(a.limit == b.limit, a.order_id < b.order_id))


def bid_before(a: AuctionOrder, b: AuctionOrder) -> Term:
    """ranked_bids: highest limit first, then lowest order id."""
    return z3.Or(a.limit > b.limit, z3.And(a.limit == b.limit, a.order_id < b.order_id))


def _before(
    orders: Sequence[AuctionOrder],
    ranked: bool,
    order_before: Callable[[AuctionOrder, AuctionOrder], Term],
) -> Callable[[int, int], Term]:
    """Whether order j ranks before order i: computed from prices and ids, or, for a book
    presented in ranking order, simply j < i."""
    if ranked:
        return lambda j, i: z3.BoolVal(j < i)
    return lambda j, i: order_before(orders[j], orders[i])


def eligible_bids(bids: Sequence[AuctionOrder], ranked: bool = False) -> list[Term]:
    """CLR-02: each bid capped by what its buyer's better-ranked bids left of its demand."""
    out = []
    before_bid = _before(bids, ranked, bid_before)
    for i, b in enumerate(bids):
        before = _sum(
            [
                z3.If(z3.And(c.owner == b.owner, before_bid(j, i)), c.quantity_wh, 0)
                for j, c in enumerate(bids)
                if j != i
            ]
        )
        demand = b.unclaimed_wh
        out.append(_min(demand, before + b.quantity_wh) - _min(demand, before))
    return out


@dataclass(frozen=True)
class ProRata:
    """One pro-rata share ``rest * quantity / total`` (CLR-05), kept so that obligations can
    replace the division by a fresh integer bound by the pro-rata lemmas."""

    share: Term
    rest: Term
    quantity: Term
    total: Term
    at_margin: Term


@dataclass(frozen=True)
class _Side:
    """One side of the book: orders, eligible quantities, and where each order's Wh sit in the
    ranking laid end to end (Wh ``start + 1 .. start + quantity``)."""

    orders: list[AuctionOrder]
    quantities: list[Term]
    starts: list[Term]
    total: Term

    def live(self, i: int) -> Term:
        """Ranked at all: spec.clearing skips orders of quantity 0."""
        return self.quantities[i] > 0

    def end(self, i: int) -> Term:
        return self.starts[i] + self.quantities[i]

    def limit_of_wh(self, k: Term) -> Term:
        """The limit of the order holding the k-th Wh of the ranking (a_k or b_k)."""
        term: Term = z3.IntVal(0)
        for i, o in enumerate(self.orders):
            holds = z3.And(self.live(i), self.starts[i] < k, k <= self.end(i))
            term = z3.If(holds, o.limit, term)
        return term


def _side(
    orders: Sequence[AuctionOrder],
    quantities: Sequence[Term],
    before: Callable[[int, int], Term],
) -> _Side:
    starts = [
        _sum(
            [
                z3.If(z3.And(quantities[j] > 0, before(j, i)), quantities[j], 0)
                for j in range(len(orders))
                if j != i
            ]
        )
        for i in range(len(orders))
    ]
    total = _sum([z3.If(q > 0, q, 0) for q in quantities])
    return _Side(list(orders), list(quantities), starts, total)


def _ration(
    side: _Side,
    volume: Term,
    marginal: Term,
    better: Callable[[Term, Term], Term],
    ranked: bool,
) -> tuple[list[Term], list[ProRata]]:
    """spec.clearing._ration: strictly better than the marginal limit fills fully; the rest is
    shared pro rata at the margin, the remainder one Wh each in ascending order id."""
    n = len(side.orders)
    full = [z3.And(side.live(i), better(side.orders[i].limit, marginal)) for i in range(n)]
    at_margin = [z3.And(side.live(i), side.orders[i].limit == marginal) for i in range(n)]
    rest = volume - _sum([z3.If(full[i], side.quantities[i], 0) for i in range(n)])
    total = _sum([z3.If(at_margin[i], side.quantities[i], 0) for i in range(n)])
    divisions = [rest * side.quantities[i] / total for i in range(n)]
    shares = [z3.If(at_margin[i], divisions[i], 0) for i in range(n)]
    leftover = rest - _sum(shares)
    fills = []
    for i in range(n):
        # Orders at one limit rank by ascending id, so in a ranked book id order is index order.
        if ranked:
            position = _sum([z3.If(at_margin[j], 1, 0) for j in range(i)])
        else:
            position = margin_position(side.orders, at_margin, i)
        extra = z3.If(z3.And(at_margin[i], position < leftover), 1, 0)
        fills.append(z3.If(full[i], side.quantities[i], shares[i] + extra))
    records = [
        ProRata(divisions[i], rest, side.quantities[i], total, at_margin[i]) for i in range(n)
    ]
    if _RECORDER is not None:
        _RECORDER.append(tuple(records))
    return fills, records


_RECORDER: list[tuple[ProRata, ...]] | None = None
"""While an obligation is built, every side's pro-rata divisions (see ``abstract_divisions``)."""


def pro_rata_facts(group: Sequence[ProRata], fresh: Sequence[Term]) -> list[Term]:
    """Instances of lemma/pro-rata-term and lemma/pro-rata-sum for one side's shares, stated
    about ``fresh`` integers standing for the divisions."""
    if not group:
        return []
    rest, total = group[0].rest, group[0].total
    premise = z3.And(rest >= 0, rest <= total, total > 0)
    facts = []
    for r, s in zip(group, fresh, strict=True):
        q = r.quantity
        facts.append(
            z3.Implies(
                z3.And(premise, r.at_margin),
                z3.And(
                    s >= 0,
                    s <= q,
                    z3.Implies(s >= q, rest == total),
                    z3.Implies(rest == total, s == q),
                ),
            )
        )
    flagged = _sum([z3.If(r.at_margin, s, 0) for r, s in zip(group, fresh, strict=True)])
    count = _sum([z3.If(r.at_margin, 1, 0) for r in group])
    facts.append(z3.Implies(premise, z3.And(flagged <= rest, rest - flagged < count)))
    return facts


def abstract_divisions(
    terms: list[Term], groups: list[tuple[ProRata, ...]]
) -> tuple[list[Term], list[Term]]:
    """Replace each pro-rata division in ``terms`` by a fresh integer and return the facts the
    pro-rata lemmas give about it: the obligation becomes linear, and stays sound because the
    fresh integers can take every value the divisions take (and more)."""
    pairs = []
    facts = []
    for g, group in enumerate(groups):
        fresh = [z3.Int(f"share.{g}.{i}") for i in range(len(group))]
        pairs += [(r.share, f) for r, f in zip(group, fresh, strict=True)]
        facts += pro_rata_facts(group, fresh)
    # Congruence: equal operands give equal shares (a division is a function).
    records = [r for group in groups for r in group]
    for i, (r1, (_, s1)) in enumerate(zip(records, pairs, strict=True)):
        for r2, (_, s2) in list(zip(records, pairs, strict=True))[i + 1 :]:
            same = z3.And(r1.rest == r2.rest, r1.quantity == r2.quantity, r1.total == r2.total)
            facts.append(z3.Implies(same, s1 == s2))
    out = [z3.substitute(t, *pairs) if pairs else t for t in terms]
    facts = [z3.substitute(f, *pairs) if pairs else f for f in facts]
    return out, facts


def midpoint(lo: Term, hi: Term) -> Term:
    """CLR-04: floor((lo + hi) / 2); both are non-negative, so Z3's division floors too."""
    return (lo + hi) / 2


def margin_position(side_orders: Sequence[AuctionOrder], at_margin: list[Term], i: int) -> Term:
    """CLR-05: how many orders at the margin come before order i in ascending order id."""
    o = side_orders[i]
    return _sum(
        [
            z3.If(z3.And(at_margin[j], side_orders[j].order_id < o.order_id), 1, 0)
            for j in range(len(side_orders))
            if j != i
        ]
    )


def call_auction(
    asks: Sequence[AuctionOrder],
    bids: Sequence[AuctionOrder],
    name: str | None = None,
    ranked: bool = False,
) -> AuctionResult:
    """spec.clearing.call_auction after eligible_bids (CLR-02 .. CLR-05), as the rule book
    states it: V is the largest k with b_k >= a_k. The spec's code finds it by walking both
    rankings; here it is the largest end of a pair (ask i, bid j) with bid limit >= ask limit,
    min(end_i, end_j): every Wh up to there pairs a bid limit >= its ask limit, and the V-th Wh
    itself lies in such a pair. tests/test_proofs_model_vs_spec.py checks the two agree.

    With a ``name``, intermediate values (eligible quantities, volume, marginal limits) are
    fresh constants and ``definitions`` equates each with its term: the same function, but the
    solver reasons about the named values instead of re-expanding their terms everywhere."""
    definitions: list[Term] = []

    def named(label: str, term: Term) -> Term:
        if name is None:
            return term
        const = z3.Int(f"{name}.{label}")
        definitions.append(const == term)
        return const

    eligible = [named(f"eligible{j}", e) for j, e in enumerate(eligible_bids(bids, ranked))]
    sell = _side(asks, [a.quantity_wh for a in asks], _before(asks, ranked, ask_before))
    buy = _side(bids, eligible, _before(bids, ranked, bid_before))
    if name is not None:
        sell = replace(sell, starts=[named(f"ask_start{i}", x) for i, x in enumerate(sell.starts)])
        buy = replace(buy, starts=[named(f"bid_start{i}", x) for i, x in enumerate(buy.starts)])
    # CLR-03.
    volume: Term = z3.IntVal(0)
    for i, a in enumerate(asks):
        for j, b in enumerate(bids):
            pair = z3.And(sell.live(i), buy.live(j), b.limit >= a.limit)
            reach = _min(sell.end(i), buy.end(j))
            volume = z3.If(z3.And(pair, reach > volume), reach, volume)
    volume = named("volume", volume)
    # CLR-04.
    marginal_ask = named("marginal_ask", sell.limit_of_wh(volume))
    marginal_bid = named("marginal_bid", buy.limit_of_wh(volume))
    more_bids, more_asks = volume + 1 <= buy.total, volume + 1 <= sell.total
    next_bid = named("next_bid", buy.limit_of_wh(volume + 1))
    next_ask = named("next_ask", sell.limit_of_wh(volume + 1))
    lo = named("lo", z3.If(more_bids, _max(marginal_ask, next_bid), marginal_ask))
    hi = named("hi", z3.If(more_asks, _min(marginal_bid, next_ask), marginal_bid))
    clearing_price = z3.If(volume == 0, NONE, midpoint(lo, hi))
    # CLR-05.
    bid_fills, bid_shares = _ration(buy, volume, marginal_bid, lambda x, m: x > m, ranked)
    ask_fills, ask_shares = _ration(sell, volume, marginal_ask, lambda x, m: x < m, ranked)
    traded = volume > 0
    fills = tuple(z3.If(traded, f, 0) for f in ask_fills + bid_fills)
    all_eligible = tuple(a.quantity_wh for a in asks) + tuple(eligible)
    limits = tuple(o.limit for o in (*asks, *bids))
    return AuctionResult(
        volume,
        clearing_price,
        all_eligible,
        fills,
        lo,
        hi,
        limits,
        (tuple(ask_shares), tuple(bid_shares)),
        tuple(definitions),
    )


# --- The book and its properties --------------------------------------------------------------


def symbolic_book(
    prefix: str, asks: int = ASKS, bids: int = BIDS, ranked: bool = True
) -> tuple[list[AuctionOrder], list[AuctionOrder], Term]:
    """Symbolic orders and their domain: distinct ids, bounded limits and quantities, a
    non-negative unclaimed demand per buyer (one value per owner: an array)."""
    unclaimed = z3.Array(f"{prefix}.unclaimed", z3.IntSort(), z3.IntSort())

    def order(side: str, k: int, bid: bool) -> AuctionOrder:
        name = f"{prefix}.{side}{k}"
        owner = z3.Int(f"{name}.owner") if bid else z3.IntVal(0)
        return AuctionOrder(
            z3.Int(f"{name}.id"),
            z3.Int(f"{name}.limit"),
            z3.Int(f"{name}.quantity"),
            owner,
            z3.Select(unclaimed, owner) if bid else z3.IntVal(0),
        )

    ask_list = [order("ask", k, False) for k in range(asks)]
    bid_list = [order("bid", k, True) for k in range(bids)]
    everyone = ask_list + bid_list
    domain = [z3.Distinct(*[o.order_id for o in everyone])]
    for o in everyone:
        domain += [o.order_id >= 1, price(o.limit), o.quantity_wh >= 0, o.quantity_wh <= WH_MAX]
    for b in bid_list:
        domain += [b.unclaimed_wh >= 0, b.unclaimed_wh <= WH_MAX]
    # Presented in ranking order (see the module docstring: the encoding is symmetric in the
    # presentation, and auction/arrival-order checks a reordering gives the same result).
    if ranked:
        domain += [ask_before(x, y) for x, y in itertools.pairwise(ask_list)]
        domain += [bid_before(x, y) for x, y in itertools.pairwise(bid_list)]
    return ask_list, bid_list, z3.And(*domain)


def contract(
    asks: Sequence[AuctionOrder], bids: Sequence[AuctionOrder], result: AuctionResult
) -> Term:
    """What settlement assumes (``proofs.transitions.clearing.contract``, book-level)."""
    return z3.And(
        no_overfill(asks, bids, result),
        volume_balance(asks, result),
        price_integrity(asks, result),
        one_price(result),
    )


def one_price(r: AuctionResult) -> Term:
    """CLR-04: with trade, lo <= price <= hi within bounds; without, no price."""
    return z3.If(
        r.volume_wh == 0,
        r.price == NONE,
        z3.And(r.lo <= r.price, r.price <= r.hi, price(r.price)),
    )


def volume_balance(asks: Sequence[AuctionOrder], r: AuctionResult) -> Term:
    """CLR-03/CLR-05: sum of ask fills = sum of bid fills = volume."""
    n = len(asks)
    return z3.And(_sum(r.fills[:n]) == r.volume_wh, _sum(r.fills[n:]) == r.volume_wh)


def price_integrity(asks: Sequence[AuctionOrder], r: AuctionResult) -> Term:
    """INV-09: filled bids' limits >= price >= filled asks' limits."""
    n = len(asks)
    parts = []
    for k, (f, limit) in enumerate(zip(r.fills, r.limits, strict=True)):
        parts.append(z3.Implies(f > 0, limit <= r.price if k < n else limit >= r.price))
    return z3.And(*parts)


def no_overfill(
    asks: Sequence[AuctionOrder], bids: Sequence[AuctionOrder], r: AuctionResult
) -> Term:
    """CLR-02/CLR-05: 0 <= fill <= eligible <= quantity, asks eligible in full, and a buyer's
    eligible Wh within its unclaimed import."""
    everyone = list(asks) + list(bids)
    parts = []
    for k, o in enumerate(everyone):
        f, e = r.fills[k], r.eligible[k]
        parts += [f >= 0, f <= e, e <= o.quantity_wh]
    for b in bids:
        same = [z3.If(c.owner == b.owner, r.eligible[len(asks) + j], 0) for j, c in enumerate(bids)]
        parts.append(_sum(same) <= b.unclaimed_wh)
    return z3.And(*parts)


# --- Obligations ----------------------------------------------------------------------------------


def _book_terms(asks: Sequence[AuctionOrder], bids: Sequence[AuctionOrder]) -> dict[str, Term]:
    terms: dict[str, Term] = {}
    for side, orders in (("ask", asks), ("bid", bids)):
        for k, o in enumerate(orders):
            terms[f"{side}[{k}].id"] = o.order_id
            terms[f"{side}[{k}].limit"] = o.limit
            terms[f"{side}[{k}].quantity_wh"] = o.quantity_wh
            if side == "bid":
                terms[f"{side}[{k}].owner"] = o.owner
                terms[f"{side}[{k}].unclaimed_wh"] = o.unclaimed_wh
    return terms


Property = Callable[[Sequence[AuctionOrder], Sequence[AuctionOrder], AuctionResult], Term]


def book_obligation(
    name: str,
    rule_ids: tuple[str, ...],
    prop: Property,
    asks: int = ASKS,
    bids: int = BIDS,
    ranked: bool = True,
) -> Obligation:
    """``prop`` of the auction's result on every book of ``asks`` asks and ``bids`` bids
    (presented in ranking order unless ``ranked`` is false)."""
    global _RECORDER
    a, b, domain = symbolic_book("book", asks, bids, ranked)
    _RECORDER = []
    try:
        result = call_auction(a, b, "auction", ranked)
        goal = prop(a, b, result)
        groups = _RECORDER
    finally:
        _RECORDER = None
    (goal, *definitions), facts = abstract_divisions([goal, *result.definitions], groups)
    show = _book_terms(a, b)
    show.update({"price": result.price, "volume_wh": result.volume_wh})
    show.update({f"fill[{k}]": f for k, f in enumerate(result.fills)})
    return Obligation(
        name=name,
        rule_ids=rule_ids,
        about=tuple(r for r in rule_ids if r not in CITED_ONLY),
        hypotheses=[domain, *definitions, *facts],
        goal=goal,
        scope=f"bounded: books of {asks} asks and {bids} bids",
        show={"tx": show},
    )


def _supply(asks: Sequence[AuctionOrder], at: Term) -> Term:
    """Ask Wh on offer at price ``at``."""
    return _sum([z3.If(a.limit <= at, a.quantity_wh, 0) for a in asks])


def _demand(
    asks: Sequence[AuctionOrder], bids: Sequence[AuctionOrder], r: AuctionResult, at: Term
) -> Term:
    """Eligible bid Wh demanded at price ``at``."""
    n = len(asks)
    return _sum([z3.If(b.limit >= at, r.eligible[n + k], 0) for k, b in enumerate(bids)])


def maximal_volume(
    asks: Sequence[AuctionOrder], bids: Sequence[AuctionOrder], r: AuctionResult
) -> Term:
    """CLR-03: at every price p, min(supply(p), eligible demand(p)) <= V. (That V is on offer
    and demanded at the clearing price is auction/volume-on-offer: two smaller problems.)"""
    p = z3.Int("any_price")
    return _min(_supply(asks, p), _demand(asks, bids, r, p)) <= r.volume_wh


def volume_on_offer(
    asks: Sequence[AuctionOrder], bids: Sequence[AuctionOrder], r: AuctionResult
) -> Term:
    """CLR-03: the volume is achievable: V Wh are on offer and demanded at the clearing price."""
    return z3.Implies(
        r.volume_wh > 0,
        z3.And(
            r.volume_wh <= _supply(asks, r.price), r.volume_wh <= _demand(asks, bids, r, r.price)
        ),
    )


def arrival_order(
    asks: Sequence[AuctionOrder], bids: Sequence[AuctionOrder], r: AuctionResult
) -> Term:
    """INV-15: the same orders given in another order (reversed) get the same price and fills."""
    other = call_auction(list(reversed(asks)), list(reversed(bids)), "reversed")
    n, m = len(asks), len(bids)
    same = [r.price == other.price]
    same += [r.fills[k] == other.fills[n - 1 - k] for k in range(n)]
    same += [r.fills[n + k] == other.fills[n + m - 1 - k] for k in range(m)]
    return z3.Implies(z3.And(*other.definitions), z3.And(*same))


def tie_break_only(
    asks: Sequence[AuctionOrder], bids: Sequence[AuctionOrder], r: AuctionResult
) -> Term:
    """INV-15: other order ids change nothing as long as orders of one side at one limit keep
    their id order (ids matter only as the stated tie-break)."""
    renamed_asks = [
        AuctionOrder(z3.Int(f"renamed.ask{k}.id"), a.limit, a.quantity_wh, a.owner, a.unclaimed_wh)
        for k, a in enumerate(asks)
    ]
    renamed_bids = [
        AuctionOrder(z3.Int(f"renamed.bid{k}.id"), b.limit, b.quantity_wh, b.owner, b.unclaimed_wh)
        for k, b in enumerate(bids)
    ]
    ties = [z3.Distinct(*[o.order_id for o in renamed_asks + renamed_bids])]
    for old, new in ((asks, renamed_asks), (bids, renamed_bids)):
        for i in range(len(old)):
            for j in range(len(old)):
                if i != j:
                    kept = (old[i].order_id < old[j].order_id) == (
                        new[i].order_id < new[j].order_id
                    )
                    ties.append(z3.Implies(old[i].limit == old[j].limit, kept))
    other = call_auction(renamed_asks, renamed_bids, "renamed")
    same = [r.price == other.price, *[f == g for f, g in zip(r.fills, other.fills, strict=True)]]
    return z3.Implies(z3.And(*ties, *other.definitions), z3.And(*same))


RANKING_SIDES = (4,)
"""The bound of auction/ranking-unique-*: arrangements of 4 orders of one side, the side of the
ranked auction obligations. (With 8 orders Z3 returns unknown within 30 s.)"""


def _order_at(orders: Sequence[AuctionOrder], position: Term) -> AuctionOrder:
    """The order an index variable points at (an If-chain over the book: no arrays)."""
    order_id, limit = orders[-1].order_id, orders[-1].limit
    for k in range(len(orders) - 2, -1, -1):
        order_id = z3.If(position == k, orders[k].order_id, order_id)
        limit = z3.If(position == k, orders[k].limit, limit)
    return AuctionOrder(order_id, limit, 0)


def ranking_unique(side: str, n: int) -> Obligation:
    """INV-15 by decomposition: two arrangements of one side's ``n`` orders that are both
    sorted by the ranking key are the same arrangement, position by position.

    spec.clearing.call_auction ranks each side with ``sorted`` (ranked_asks: (limit, id);
    ranked_bids: (-limit, id); eligible_bids ranks bids by the same key) and from then on reads
    only the ranked lists; the fills it returns are a map by order id. So if the sorted
    arrangement is unique, every arrival order of a book yields the same ranked lists and the
    same result, and that result is the one the ranked obligations (auction/one-price, volume,
    price-integrity, no-overfill, maximal-volume, volume-on-offer: books of 4 + 4 in ranking
    order) are about.
    ``sorted`` guarantees only that no order ranks before its predecessor; uniqueness needs the
    key to be a strict total order on the book, which the unique order id makes it."""
    before = ask_before if side == "ask" else bid_before
    orders = [
        AuctionOrder(z3.Int(f"{side}{k}.id"), z3.Int(f"{side}{k}.limit"), 0) for k in range(n)
    ]
    domain = [z3.Distinct(*[o.order_id for o in orders])]
    domain += [z3.And(o.order_id >= 1, price(o.limit)) for o in orders]
    arrangements = {
        label: [z3.Int(f"{label}[{t}]") for t in range(n)] for label in ("first", "second")
    }
    for positions in arrangements.values():
        domain.append(z3.Distinct(*positions))
        domain += [z3.And(x >= 0, x < n) for x in positions]
        # What sorted() guarantees: no order ranks before the one in front of it.
        for x, y in itertools.pairwise(positions):
            domain.append(z3.Not(before(_order_at(orders, y), _order_at(orders, x))))
    first, second = arrangements["first"], arrangements["second"]
    show: dict[str, Term] = {}
    for k, o in enumerate(orders):
        show[f"{side}[{k}].id"] = o.order_id
        show[f"{side}[{k}].limit"] = o.limit
    show.update(
        {f"{label}[{t}]": x for label, xs in arrangements.items() for t, x in enumerate(xs)}
    )
    return Obligation(
        name=f"auction/ranking-unique-{side}s-{n}",
        rule_ids=("INV-15", "CLR-02", "CLR-03"),
        about=("CLR-02", "CLR-03"),
        hypotheses=domain,
        goal=z3.And(*[x == y for x, y in zip(first, second, strict=True)]),
        scope=f"bounded: {n} {side}s with symbolic limits and distinct ids",
        show={"tx": show},
    )


CITED_ONLY = ("INV-15",)
"""Rules these obligations support but do not prove: determinism across implementations is
outside the model (``proofs/scope.py``); order independence of the auction is a part of it."""

PROPERTIES: dict[str, tuple[tuple[str, ...], Property]] = {
    "auction/one-price": (("INV-09", "CLR-04"), lambda a, b, r: one_price(r)),
    "auction/volume": (("INV-02", "CLR-03", "CLR-05"), lambda a, b, r: volume_balance(a, r)),
    "auction/price-integrity": (("INV-09", "CLR-04"), lambda a, b, r: price_integrity(a, r)),
    "auction/no-overfill": (("INV-05", "INV-03", "CLR-02", "CLR-05"), no_overfill),
    "auction/maximal-volume": (("CLR-03",), maximal_volume),
    "auction/volume-on-offer": (("CLR-03", "CLR-04"), volume_on_offer),
    "auction/arrival-order": (("INV-15", "CLR-02", "CLR-05"), arrival_order),
    "auction/tie-break": (("INV-15", "CLR-02", "CLR-05"), tie_break_only),
}
"""On books of ASKS + BIDS orders the contract settlement assumes is the conjunction of
no-overfill, volume, price-integrity and one-price, each proved on its own; on the book size of
the clearing obligations it is proved as one obligation (``auction/contract-3x3``)."""


ORDER_PROPERTIES = ("auction/arrival-order", "auction/tie-break")
"""Properties about presentation and ids, proved on books in any order (not ranked)."""
ORDER_BOOK_SIDE = 2
"""Their bound: with unranked books of 3 + 3 orders Z3 returns unknown within 60 s."""


def _obligations() -> dict[str, Callable[[], Obligation]]:
    out: dict[str, Callable[[], Obligation]] = {}
    for name, (rules, prop) in PROPERTIES.items():
        if name in ORDER_PROPERTIES:
            sizes = ORDER_BOOK_SIDE, ORDER_BOOK_SIDE
            out[name] = functools.partial(book_obligation, name, rules, prop, *sizes, False)
        else:
            out[name] = functools.partial(book_obligation, name, rules, prop)
    # Settlement's obligations assume the contract for their own book size: prove it there too.
    from proofs.transitions.clearing import BOOK_SIDE

    small = f"auction/contract-{BOOK_SIDE}x{BOOK_SIDE}"
    rules = ("INV-02", "INV-05", "INV-09", "CLR-02", "CLR-05")
    out[small] = functools.partial(book_obligation, small, rules, contract, BOOK_SIDE, BOOK_SIDE)
    for n in RANKING_SIDES:
        for side in ("ask", "bid"):
            out[f"auction/ranking-unique-{side}s-{n}"] = functools.partial(ranking_unique, side, n)
    return out


def lemma_pro_rata_term() -> Obligation:
    """One share: 0 <= rest * q / total <= q; it reaches q only if rest = total, and then it is
    q (unbounded: q, rest, total are any integers with 1 <= q <= total, 0 <= rest <= total)."""
    q, rest, total = z3.Ints("quantity rest total")
    s = rest * q / total
    goal = z3.And(
        s >= 0, s <= q, z3.Implies(s >= q, rest == total), z3.Implies(rest == total, s == q)
    )
    return Obligation(
        name="lemma/pro-rata-term",
        rule_ids=("CLR-05",),
        hypotheses=[q >= 1, q <= total, rest >= 0, rest <= total],
        goal=goal,
        show={"tx": {"quantity": q, "rest": rest, "total": total}},
    )


def lemma_pro_rata_sum(n: int = max(ASKS, BIDS)) -> Obligation:
    """Shares at the margin add up to at most the rest, and less than one Wh per order below it
    (so handing out the remainder one Wh each in id order gives it all out)."""
    quantities = [z3.Int(f"quantity{i}") for i in range(n)]
    flags = [z3.Bool(f"at_margin{i}") for i in range(n)]
    rest = z3.Int("rest")
    total = _sum([z3.If(f, q, 0) for f, q in zip(flags, quantities, strict=True)])
    shares = [z3.If(f, rest * q / total, 0) for f, q in zip(flags, quantities, strict=True)]
    count = _sum([z3.If(f, 1, 0) for f in flags])
    hypotheses = [*[q >= 1 for q in quantities], total > 0, rest >= 0, rest <= total]
    tx: dict[str, Term] = {"rest": rest}
    tx.update({f"quantity{i}": q for i, q in enumerate(quantities)})
    return Obligation(
        name="lemma/pro-rata-sum",
        rule_ids=("CLR-05", "INV-02"),
        hypotheses=hypotheses,
        goal=z3.And(_sum(shares) <= rest, rest - _sum(shares) < count),
        scope=f"bounded: up to {n} orders at the margin",
        show={"tx": tx},
    )


OBLIGATIONS: dict[str, Callable[[], Obligation]] = _obligations()
OBLIGATIONS["lemma/pro-rata-term"] = lemma_pro_rata_term
OBLIGATIONS["lemma/pro-rata-sum"] = lemma_pro_rata_sum
