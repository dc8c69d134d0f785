"""Accounts: registering them (ACC-01 .. ACC-03), the VALIDATOR role left to the validators (VAL-01:
the validators admit validators, ``spec.validators``), separation of duties (ROL-01) and no new
account named by a key another account signs with (KEY-07). Only the operator registers (TX-06).
The key that signs for an account, and its rotation, are ``spec.keys``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from spec import wire
from spec.crypto import PUBLIC_KEY_BYTES, is_valid_public_key
from spec.errors import require
from spec.keys import key_in_use, signing_key
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


__all__ = ["REGISTER_ACCOUNT_FIELDS", "RegisterAccount", "register_account", "signing_key"]


def register_account(state: State, sender: AccountId, body: RegisterAccount) -> State:
    """Add an account with no money and nonce 0."""
    require(body.account not in state.accounts, "ACC-01")
    require(not key_in_use(state, body.account), "KEY-07", "another account signs with it")
    require(is_valid_public_key(body.account), "ACC-02")
    require(body.roles != 0 and body.roles & ~ALL_ROLES == 0, "ACC-03", f"roles {body.roles}")
    require(body.roles & Role.VALIDATOR == 0, "VAL-01", "only the validators admit a validator")
    conflict = role_conflict(body.roles)
    require(conflict is None, "ROL-01", f"roles {body.roles}: {conflict}")
    account = Account(roles=body.roles, nonce=Nonce(0), balance=MilliSen(0), key=body.account)
    return replace(state, accounts=state.accounts.set(body.account, account))
