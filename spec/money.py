"""Money: deposits, withdrawals and transfers (MNY-01 .. MNY-04, INV-06).

The operator runs the fiat gateway: a DEPOSIT, signed by the operator, credits an account after
the operator received the yen; a WITHDRAW, signed by the account itself, debits it and asks the
gateway to pay out. Only an account's own signature lowers its balance (INV-12). The ledger keeps
the money outstanding (deposits minus withdrawals), so that money conservation is a checkable
equation: balances + escrow = money outstanding.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from spec import wire
from spec.crypto import PUBLIC_KEY_BYTES
from spec.errors import require
from spec.state import AccountId, State, with_account
from spec.units import MONEY_MAX_MSEN, MilliSen


@dataclass(frozen=True)
class Deposit:
    """Body of a DEPOSIT transaction (operator only)."""

    account: AccountId
    amount: MilliSen


@dataclass(frozen=True)
class Withdraw:
    """Body of a WITHDRAW transaction (the account itself)."""

    amount: MilliSen


@dataclass(frozen=True)
class Transfer:
    """Body of a TRANSFER transaction."""

    to: AccountId
    amount: MilliSen


DEPOSIT_FIELDS: Final = (
    wire.Field(0, "account", wire.fixed_bytes(PUBLIC_KEY_BYTES)),
    wire.Field(1, "amount", wire.uint(MilliSen)),
)
WITHDRAW_FIELDS: Final = (wire.Field(0, "amount", wire.uint(MilliSen)),)
TRANSFER_FIELDS: Final = (
    wire.Field(0, "to", wire.fixed_bytes(PUBLIC_KEY_BYTES)),
    wire.Field(1, "amount", wire.uint(MilliSen)),
)


def deposit(state: State, sender: AccountId, body: Deposit) -> State:
    """Credit an account with money received through the gateway."""
    require(body.account in state.accounts, "MNY-01")
    require(body.amount >= 1, "MNY-02")
    # Every balance and escrow is part of the money outstanding (INV-06), so bounding it bounds
    # them all; money withdrawn leaves the bound, so the bound never fills up for good.
    outstanding = state.money_outstanding + body.amount
    require(outstanding <= MONEY_MAX_MSEN, "MNY-04", f"money outstanding {outstanding}")
    balance = state.accounts[body.account].balance
    state = with_account(state, body.account, balance=MilliSen(balance + body.amount))
    return replace(state, money_outstanding=MilliSen(outstanding))


def withdraw(state: State, sender: AccountId, body: Withdraw) -> State:
    """Debit the sender's balance for a payout through the gateway."""
    require(body.amount >= 1, "MNY-02")
    balance = state.accounts[sender].balance
    require(body.amount <= balance, "MNY-03")
    state = with_account(state, sender, balance=MilliSen(balance - body.amount))
    return replace(state, money_outstanding=MilliSen(state.money_outstanding - body.amount))


def transfer(state: State, sender: AccountId, body: Transfer) -> State:
    """Move money between accounts; a transfer to oneself changes nothing but the nonce."""
    require(body.to in state.accounts, "MNY-01")
    require(body.amount >= 1, "MNY-02")
    require(body.amount <= state.accounts[sender].balance, "MNY-03")
    # Read each balance after the previous write, so that sender == recipient stays exact.
    state = with_account(
        state, sender, balance=MilliSen(state.accounts[sender].balance - body.amount)
    )
    return with_account(
        state, body.to, balance=MilliSen(state.accounts[body.to].balance + body.amount)
    )
