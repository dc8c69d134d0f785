"""Accounts: registering them (ACC-01 .. ACC-03), the VALIDATOR role left to the validators (VAL-01:
the validators admit validators, ``spec.validators``), separation of duties (ROL-01) and the one
lookup of the key that signs for an account (``signing_key``). Only the operator registers (TX-06).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from spec import wire
from spec.crypto import PUBLIC_KEY_BYTES, is_valid_public_key
from spec.errors import require
from spec.state import ALL_ROLES, Account, AccountId, Role, State, role_conflict
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


def signing_key(state: State, account_id: AccountId) -> bytes:
    """The public key that must sign for ``account_id`` (TX-04, and every other signature check
    of an account). An account's id is the key it was registered with; every signature check goes
    through this one function, so that a key rotation changes exactly one place."""
    del state  # no key has been rotated in this rule book: the id is the key
    return account_id


def register_account(state: State, sender: AccountId, body: RegisterAccount) -> State:
    """Add an account with no money and nonce 0."""
    require(body.account not in state.accounts, "ACC-01")
    require(is_valid_public_key(body.account), "ACC-02")
    require(body.roles != 0 and body.roles & ~ALL_ROLES == 0, "ACC-03", f"roles {body.roles}")
    require(body.roles & Role.VALIDATOR == 0, "VAL-01", "only the validators admit a validator")
    conflict = role_conflict(body.roles)
    require(conflict is None, "ROL-01", f"roles {body.roles}: {conflict}")
    account = Account(roles=body.roles, nonce=Nonce(0), balance=MilliSen(0))
    return replace(state, accounts=state.accounts.set(body.account, account))
