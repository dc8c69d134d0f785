"""Clearing on crafted states that the rules no longer reach: CLR-02's cap and CLR-06's fee account.

BID-04 backs every bid at placement, so on a state the rules reach no open bid asks for more than
its buyer's unclaimed import and CLR-02's cap never binds; and INV-20 keeps the fee account from
bidding. An implementation must still clear such states right (a node may load a state from
elsewhere), so these vectors craft a pre-state whose demand is below the open bids, and one whose
fee account also bids, and clear them.
"""

from __future__ import annotations

from dataclasses import replace

from conformance_tests.scenario import key_of
from conformance_tests.suite import Suite, market, tick, tx
from spec.state import Demand, Role, trading_close
from spec.transactions import Kind
from spec.units import MilliSen, NodeId, Slot, Wh


def group_claim_cap(suite: Suite) -> None:
    ledger = market()  # alice's lot of 3 000 Wh and bob's import of 2 500 Wh in the last slot
    slot = ledger.slot - 1
    assert ledger.ask("alice", 103, slot, 3000, 2000).accepted
    assert ledger.bid("bob", 1, slot, 800, 2500).accepted
    assert ledger.bid("bob", 1, slot, 800, 2600).accepted
    key = (key_of("bob"), NodeId(1), Slot(slot))
    crafted = replace(ledger.state, demand=ledger.state.demand.set(key, Demand(Wh(1000), Wh(0))))
    # By hand (rule book 8.2 .. 8.7): bob's bids are capped in priority order by his 1 000 Wh of
    # import: the 2 600 bid takes 800, the 2 500 bid 200; volume 1 000; lo = 2 000 (the ask),
    # hi = min(2 500, 2 000); price 2 000. Uncapped, 1 600 Wh would trade.
    suite.add(
        "clearing/CLR-02/crafted-import-below-open-bids",
        "A crafted pre-state: bob's open bids (800 Wh at 2 600 and 800 Wh at 2 500) exceed his "
        "unclaimed import of 1 000 Wh. Clearing caps his bids in priority order (CLR-02): 800 + "
        "200 Wh fill at 2 000 sen/kWh and he claims all 1 000 Wh.",
        crafted,
        [tick(trading_close(crafted.params, slot))],
        expect=[None],
        rules=["CLR-02"],
        flags=["crafted"],
        crafted=True,
    )


def group_fee_account_buyer(suite: Suite) -> None:
    """A crafted pre-state in which the fee account holds the trader role (which INV-20 and the
    genesis rule forbid) and bids: clearing must credit it the wheeling fees and refund its
    unused escrow, both, without one write overwriting the other."""
    ledger = market()
    slot = ledger.slot - 1
    assert ledger.ask("alice", 103, slot, 3000, 2000).accepted
    fee_account = ledger.state.params.fee_account
    operator = ledger.state.accounts[fee_account]
    accounts = ledger.state.accounts.set(
        fee_account,
        replace(operator, roles=operator.roles | Role.TRADER, balance=MilliSen(10_000_000_000)),
    )
    key = (fee_account, NodeId(1), Slot(slot))
    crafted = replace(
        ledger.state,
        accounts=accounts,
        demand=ledger.state.demand.set(key, Demand(Wh(1000), Wh(0))),
        money_outstanding=MilliSen(ledger.state.money_outstanding + 10_000_000_000),
    )
    bid = ledger.make("operator", Kind.PLACE_BID, {0: 1, 1: slot, 2: 1000, 3: 2500})
    # By hand: the bid escrows 1 000 x (2 500 + 100) and pays the order fee to itself; at the
    # close 1 000 Wh trade at 2 000 (lo = hi = 2 000); the fee account pays 1 000 x 2 100, is
    # refunded 1 000 x 500 and is credited the wheeling fee 1 000 x 100: all three on one balance.
    suite.add(
        "clearing/CLR-06/fee-account-buyer-crafted",
        "A crafted pre-state whose fee account also holds the trader role bids and is filled: "
        "its refund of unused escrow and the wheeling fees credited to it at the same clearing "
        "must both reach its balance (CLR-06).",
        crafted,
        [tx(bid), tick(trading_close(crafted.params, slot))],
        expect=[None, None],
        rules=["CLR-06"],
        flags=["crafted", "fee-account"],
        crafted=True,
    )
