"""Role revocation (ROL-02 .. ROL-05): the operator takes the trader or attestor role back.

The operator grants TRADER and ATTESTOR when it registers an account; REVOKE_ROLE takes one of
them back, for a household that leaves the scheme or an attestor that is compromised or retired.
VALIDATOR is never the operator's to take (only the validators remove a validator, VAL-03 with
power 0) and OPERATOR is never revoked (the ledger would lose its registrar and gateway).

A revocation takes effect at once and changes nothing but the role: it is a stop, not a
confiscation. From the next transaction on, TX-06 refuses what the role allowed (a revoked trader
places and cancels no order, a revoked attestor attests nothing). What the account holds stays
its own: its money (WITHDRAW and TRANSFER need no role), its lots, demand and meters, and its
open orders, which were backed when placed (escrow, reserved energy) and clear at their market's
close like any other (CLR-01 .. CLR-08), so no counterparty loses a match it had and nobody can
delay a revocation by keeping orders open. A meter whose attestor lost the role gets no readings
until the operator gives it another attestor; a meter whose owner lost TRADER keeps being
attested, and its lots expire unsold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from spec import wire
from spec.crypto import PUBLIC_KEY_BYTES
from spec.errors import require
from spec.rules import implements
from spec.state import AccountId, Role, State, with_account

REVOCABLE_ROLES: Final = (Role.TRADER, Role.ATTESTOR)
"""The roles REVOKE_ROLE may take back (ROL-02), one per transaction."""


@dataclass(frozen=True)
class RevokeRole:
    """Body of a REVOKE_ROLE transaction (operator only)."""

    account: AccountId
    role: int
    """The one ``Role`` bit to take back."""


REVOKE_ROLE_FIELDS: Final = (
    wire.Field(0, "account", wire.fixed_bytes(PUBLIC_KEY_BYTES)),
    wire.Field(1, "role", wire.plain_uint(2**64 - 1)),
)


@implements("ROL-05")
def revoke_role(state: State, sender: AccountId, body: RevokeRole) -> State:
    """Take one revocable role from a registered account that holds it."""
    require(body.role in REVOCABLE_ROLES, "ROL-02", f"role {body.role}")
    account = state.accounts.get(body.account)
    require(account is not None, "ROL-03")
    assert account is not None
    require(account.roles & body.role != 0, "ROL-04", f"roles {account.roles}")
    return with_account(state, body.account, roles=account.roles & ~body.role)
