"""Registering accounts (ACC-01 .. ACC-03, VAL-01). Only the operator registers (TX-06), and it
cannot grant the VALIDATOR role (VAL-01): the validators admit validators (``spec.validators``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from spec import wire
from spec.crypto import PUBLIC_KEY_BYTES, is_valid_public_key
from spec.errors import require
from spec.state import ALL_ROLES, Account, AccountId, Role, State
from spec.units import MilliSen, Nonce


@dataclass(frozen=True)
class RegisterAccount:
    """Body of a REGISTER_ACCOUNT transaction."""

    account: AccountId
    """The new account's Ed25519 public key."""
    roles: int
    """Bit set of ``Role``."""


REGISTER_ACCOUNT_FIELDS: Final = (
    wire.Field(0, "account", wire.fixed_bytes(PUBLIC_KEY_BYTES)),
    wire.Field(1, "roles", wire.plain_uint(2**64 - 1)),
)


def register_account(state: State, sender: AccountId, body: RegisterAccount) -> State:
    """Add an account with no money and nonce 0."""
    require(body.account not in state.accounts, "ACC-01")
    require(is_valid_public_key(body.account), "ACC-02")
    require(body.roles != 0 and body.roles & ~ALL_ROLES == 0, "ACC-03", f"roles {body.roles}")
    require(body.roles & Role.VALIDATOR == 0, "VAL-01", "only the validators admit a validator")
    account = Account(roles=body.roles, nonce=Nonce(0), balance=MilliSen(0))
    return replace(state, accounts=state.accounts.set(body.account, account))


def signing_key(state: State, account_id: AccountId) -> bytes:
    """The key that verifies ``account_id``'s signatures: every signature check of an account
    (transactions, block votes, validator approvals) goes through here. An account's key is its
    id."""
    del state
    return account_id
