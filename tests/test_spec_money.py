"""Deposits, withdrawals and transfers (MNY-01 .. MNY-04), with amounts drawn around the balance
and around MONEY_MAX_MSEN."""

from __future__ import annotations

from _rules_plugin import rules
from hypothesis import given
from hypothesis import strategies as st
from strategies import (
    START_BALANCE_MSEN,
    TRADERS,
    accept_tx,
    around,
    money_amounts,
    reject_tx,
    send,
    village,
)

from conformance_tests.scenario import key_of
from spec.transactions import Kind
from spec.units import MONEY_MAX_MSEN

pytest_plugins = ("_rules_plugin",)

VILLAGE_DEPOSITS = len(TRADERS) * START_BALANCE_MSEN
"""What small_village deposited in all."""


@rules("MNY-01")
def test_credit_to_an_unregistered_account() -> None:
    ledger = village()
    send(ledger, "operator", Kind.DEPOSIT, {0: key_of("mallory"), 1: 5}, "MNY-01")
    send(ledger, "alice", Kind.TRANSFER, {0: key_of("mallory"), 1: 5}, "MNY-01")


@rules("MNY-02")
def test_zero_amounts() -> None:
    ledger = village()
    send(ledger, "operator", Kind.DEPOSIT, {0: key_of("alice"), 1: 0}, "MNY-02")
    send(ledger, "alice", Kind.WITHDRAW, {0: 0}, "MNY-02")
    send(ledger, "alice", Kind.TRANSFER, {0: key_of("bob"), 1: 0}, "MNY-02")


@rules("MNY-03")
@given(amount=around(START_BALANCE_MSEN), transfer=st.booleans())
def test_overdraft_edge(amount: int, transfer: bool) -> None:
    ledger = village()
    if transfer:
        tx = ledger.make("alice", Kind.TRANSFER, {0: key_of("bob"), 1: amount})
    else:
        tx = ledger.make("alice", Kind.WITHDRAW, {0: amount})
    if amount > START_BALANCE_MSEN:
        reject_tx(ledger.state, tx, "MNY-03")
        return
    after = accept_tx(ledger.state, tx)
    assert after.accounts[key_of("alice")].balance == START_BALANCE_MSEN - amount
    if transfer:
        assert after.accounts[key_of("bob")].balance == START_BALANCE_MSEN + amount
        assert after.total_withdrawn == 0
    else:
        assert after.total_withdrawn == amount


@rules("MNY-04")
def test_total_deposits_bound() -> None:
    ledger = village()
    room = MONEY_MAX_MSEN - VILLAGE_DEPOSITS
    send(ledger, "operator", Kind.DEPOSIT, {0: key_of("alice"), 1: room + 1}, "MNY-04")
    ledger.must("operator", Kind.DEPOSIT, {0: key_of("alice"), 1: room})
    assert ledger.state.total_deposited == MONEY_MAX_MSEN
    assert ledger.state.accounts[key_of("alice")].balance == START_BALANCE_MSEN + room
    send(ledger, "operator", Kind.DEPOSIT, {0: key_of("bob"), 1: 1}, "MNY-04")
    # money moved out and back in still counts against the bound: deposits are a running total
    ledger.must("alice", Kind.WITHDRAW, {0: 10})
    send(ledger, "operator", Kind.DEPOSIT, {0: key_of("bob"), 1: 1}, "MNY-04")


@rules("MNY-02", "MNY-04")
@given(amount=money_amounts())
def test_deposit_any_amount(amount: int) -> None:
    ledger = village()
    tx = ledger.make("operator", Kind.DEPOSIT, {0: key_of("carol"), 1: amount})
    if amount == 0:
        reject_tx(ledger.state, tx, "MNY-02")
    elif VILLAGE_DEPOSITS + amount > MONEY_MAX_MSEN:
        reject_tx(ledger.state, tx, "MNY-04")
    else:
        after = accept_tx(ledger.state, tx)
        assert after.accounts[key_of("carol")].balance == START_BALANCE_MSEN + amount
        assert after.total_deposited == VILLAGE_DEPOSITS + amount


@rules("MNY-03", "INV-06")
@given(amount=around(START_BALANCE_MSEN, low=1))
def test_self_transfer_changes_nothing_but_the_nonce(amount: int) -> None:
    ledger = village()
    tx = ledger.make("dave", Kind.TRANSFER, {0: key_of("dave"), 1: amount})
    if amount > START_BALANCE_MSEN:
        reject_tx(ledger.state, tx, "MNY-03")
        return
    after = accept_tx(ledger.state, tx)
    assert after.accounts[key_of("dave")].balance == START_BALANCE_MSEN
    assert after.accounts[key_of("dave")].nonce == ledger.state.accounts[key_of("dave")].nonce + 1


@rules("MNY-01", "INV-12")
def test_deposit_needs_no_signature_of_the_credited_account_but_withdraw_does() -> None:
    ledger = village()
    # the operator cannot withdraw from alice: a WITHDRAW debits its own sender only
    before = ledger.state.accounts[key_of("alice")].balance
    after = accept_tx(
        ledger.state, ledger.make("operator", Kind.DEPOSIT, {0: key_of("alice"), 1: 3})
    )
    assert after.accounts[key_of("alice")].balance == before + 3
    send(ledger, "operator", Kind.WITHDRAW, {0: 1}, "MNY-03")  # the operator holds nothing
