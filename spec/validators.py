"""The validator set, governed by the validators (VAL-01 .. VAL-08).

Only the validators change their own set: a VALIDATOR_UPDATE transaction adds or removes one
validator and carries the approvals of at least two thirds of the current validators (VAL-04,
VAL-05). The operator can no longer grant the role (VAL-01). The set changes by one validator at a
time, and only while that is less than a third of it (VAL-06, VAL-07), so that a quorum of the old
set and a quorum of the new one share an honest validator whenever fewer than a third of each set
is faulty (INV-17, chapter 13).

A change takes effect two heights after the block that carries it, as CometBFT applies the
validator updates of block H from height H + 2 (VAL-08, chapter 14): the set that signs block
H + 1 is already fixed when block H is applied.

Every validator has one vote (voting power 1).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from spec import wire
from spec.cbor import encode
from spec.crypto import PUBLIC_KEY_BYTES, SIGNATURE_BYTES, is_valid_public_key, verify
from spec.errors import require
from spec.keys import drop_due_vote_key, key_in_use, signing_key
from spec.rules import implements
from spec.state import Account, AccountId, PendingValidator, Role, State, with_account
from spec.units import Height, MilliSen, Nonce

TAG_VALIDATOR_APPROVAL: Final = b"kwhledger/validator-approval/v1"
ACTIVATION_DELAY: Final = 2
"""Heights between the block that carries a change and the first block the new set signs."""


@dataclass(frozen=True)
class ValidatorUpdate:
    """Body of a VALIDATOR_UPDATE transaction."""

    account: AccountId
    """The validator to add or remove."""
    power: int
    """1: add the account to the set; 0: remove it."""
    approvals: tuple[tuple[AccountId, bytes], ...]
    """[validator, signature] pairs over ``approval_bytes``, ascending by validator id."""


_approval_pair = wire.tuple_of(
    wire.fixed_bytes(PUBLIC_KEY_BYTES), wire.fixed_bytes(SIGNATURE_BYTES)
)
VALIDATOR_UPDATE_FIELDS: Final = (
    wire.Field(0, "account", wire.fixed_bytes(PUBLIC_KEY_BYTES)),
    wire.Field(1, "power", wire.plain_uint(1)),
    wire.Field(2, "approvals", wire.array(_approval_pair)),
)


def validators(state: State) -> list[AccountId]:
    """The current validator set: the accounts holding the VALIDATOR role, ascending."""
    return sorted(k for k, a in state.accounts.items() if a.roles & Role.VALIDATOR)


def approval_bytes(
    chain_id: str, sender: AccountId, nonce: int, account: AccountId, power: int
) -> bytes:
    """What each approving validator signs: the change, bound to the chain and to the one
    transaction (sender and nonce) that may carry it, so that an approval is used at most once."""
    return TAG_VALIDATOR_APPROVAL + b"\x00" + encode([chain_id, sender, nonce, account, power])


def validator_update(state: State, sender: AccountId, body: ValidatorUpdate) -> State:
    """Schedule one change of the validator set, approved by two thirds of the current set."""
    current = validators(state)
    account = state.accounts.get(body.account)
    is_validator = body.account in current
    if account is None:
        require(is_valid_public_key(body.account), "VAL-02", "not a valid public key")
        require(not key_in_use(state, body.account), "KEY-07", "another account signs with it")
    require(is_validator != (body.power == 1), "VAL-03", "already in" if is_validator else "not in")
    # VALIDATOR is compatible with every role (ROL-01), so admitting one never makes a pair.
    require(state.pending_validator is None, "VAL-06", "a change is already pending")
    require(len(current) > 3, "VAL-07", f"one change is a third or more of {len(current)}")
    signers = [validator for validator, _ in body.approvals]
    require(signers == sorted(set(signers)), "VAL-04", "approvals must be ascending, distinct")
    message = approval_bytes(
        state.params.chain_id,
        sender,
        state.accounts[sender].nonce,
        body.account,
        body.power,
    )
    for validator, signature in body.approvals:
        require(validator in current, "VAL-04", "approval by a non-validator")
        key = signing_key(state, validator)
        require(verify(key, message, signature), "VAL-04", "bad approval signature")
    require(3 * len(signers) >= 2 * len(current), "VAL-05", f"{len(signers)} of {len(current)}")
    activation = Height(state.height + 1 + ACTIVATION_DELAY)
    return replace(state, pending_validator=PendingValidator(activation, body.account, body.power))


@implements("VAL-08")
def end_block(state: State) -> State:
    """VAL-08: at the end of each block, the pending change due at the next height takes effect.

    ``state.height`` is the height of the block just applied. A validator's rotated key that is
    due signs from the next height on (KEY-06).
    """
    state = drop_due_vote_key(state)
    pending = state.pending_validator
    if pending is None or pending.height > state.height + 1:
        return state
    state = replace(state, pending_validator=None)
    account = state.accounts.get(pending.account)
    if account is None:
        added = Account(
            roles=int(Role.VALIDATOR), nonce=Nonce(0), balance=MilliSen(0), key=pending.account
        )
        return replace(state, accounts=state.accounts.set(pending.account, added))
    if pending.power == 1:
        return with_account(state, pending.account, roles=account.roles | Role.VALIDATOR)
    return with_account(state, pending.account, roles=account.roles & ~Role.VALIDATOR)
