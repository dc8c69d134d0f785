"""Keys: the key that signs for an account, and its rotation (KEY-01 .. KEY-07, INV-19).

An account is named by the public key it was registered with (its id, the table key, the
``sender`` of its transactions) and signs with its *current* key, the ``key`` of its record. A
ROTATE_KEY transaction, signed with the current key, replaces it (KEY-05). The new key must be a
valid prime-order key (KEY-01, as ACC-02), free (KEY-02: no account's id or key), and the
transaction must prove that the sender holds it (KEY-03: a signature by the new key over the
chain id, the account and its nonce), so nobody rotates to a key they cannot sign with, such as
another account's or a key they saw on the wire.

Old signatures are void after a rotation: every later transaction, and every approval the account
gives (VAL-04), verifies against the new key only, and what the old key signed before carries a
nonce that has already passed (TX-05) or names the old key as the one it proves (KEY-03).

A validator's block votes follow two heights later (KEY-06), as CometBFT applies the validator
updates of block H from H + 2: the ledger keeps the previous key in ``State.pending_key`` and
BLK-06 verifies the validator's votes for block H + 1 against it. One validator rotation waits at
a time (KEY-04).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from spec import wire
from spec.cbor import encode
from spec.crypto import PUBLIC_KEY_BYTES, SIGNATURE_BYTES, is_valid_public_key, verify
from spec.errors import require
from spec.indexes import accounts_by_key
from spec.rules import implements
from spec.state import AccountId, PendingKey, Role, State
from spec.units import Height

TAG_KEY_ROTATION: Final = b"kwhledger/key-rotation/v1"
VOTE_KEY_DELAY: Final = 2
"""Heights between the block that rotates a validator's key and the first block whose votes the
new key signs: VAL-08's delay, CometBFT's H + 2."""


@dataclass(frozen=True)
class RotateKey:
    """Body of a ROTATE_KEY transaction (any registered account, for itself)."""

    key: bytes
    """The new public key."""
    proof: bytes
    """A signature by the new key over ``rotation_bytes`` (KEY-03)."""


ROTATE_KEY_FIELDS: Final = (
    wire.Field(0, "key", wire.fixed_bytes(PUBLIC_KEY_BYTES)),
    wire.Field(1, "proof", wire.fixed_bytes(SIGNATURE_BYTES)),
)


def signing_key(state: State, account_id: AccountId) -> bytes:
    """The public key that must sign for ``account_id`` now (TX-04, VAL-04): its current key
    (KEY-05). Every signature check of an account's transactions and approvals goes through this
    one function."""
    return state.accounts[account_id].key


def vote_key(state: State, validator: AccountId) -> bytes:
    """KEY-06: the key that must sign ``validator``'s votes for the next block (BLK-06): the key
    it held before a rotation that waits for its height, else its current key."""
    pending = state.pending_key
    if pending is not None and pending.account == validator:
        return pending.previous_key
    return signing_key(state, validator)


def key_in_use(state: State, key: bytes) -> bool:
    """Whether ``key`` names or signs for an account: an account's id, an account's current key,
    or the previous key with which a validator still signs its votes (KEY-02, KEY-07)."""
    if key in state.accounts or key in accounts_by_key(state):
        return True
    pending = state.pending_key
    return pending is not None and pending.previous_key == key


def rotation_bytes(chain_id: str, account: AccountId, nonce: int, key: bytes) -> bytes:
    """What the new key signs (KEY-03): the rotation, bound to the chain, the account and the one
    transaction (its nonce) that may carry it."""
    return TAG_KEY_ROTATION + b"\x00" + encode([chain_id, account, nonce, key])


@implements("KEY-05")
def rotate_key(state: State, sender: AccountId, body: RotateKey) -> State:
    """Replace the sender's key by a new one it proves to hold; a validator's votes follow two
    heights later (KEY-06)."""
    require(is_valid_public_key(body.key), "KEY-01", "not a valid public key")
    pending_change = state.pending_validator
    joining = pending_change is not None and pending_change.account == body.key
    require(not key_in_use(state, body.key) and not joining, "KEY-02")
    account = state.accounts[sender]
    message = rotation_bytes(state.params.chain_id, sender, account.nonce, body.key)
    require(verify(body.key, message, body.proof), "KEY-03", "not signed by the new key")
    named = pending_change is not None and pending_change.account == sender
    require(not named, "KEY-04", "a change of the validator set naming the account is pending")
    if account.roles & Role.VALIDATOR:
        require(state.pending_key is None, "KEY-04", "a validator key rotation is pending")
        height = Height(state.height + 1 + VOTE_KEY_DELAY)
        state = replace(state, pending_key=PendingKey(height, sender, account.key))
    rotated = replace(account, key=body.key)
    return replace(state, accounts=state.accounts.set(sender, rotated))


@implements("KEY-06")
def drop_due_vote_key(state: State) -> State:
    """KEY-06: at the end of a block, a pending previous key whose height is the next one is
    dropped, so the validator's votes from that height on verify against its current key.

    ``state.height`` is the height of the block just applied.
    """
    pending = state.pending_key
    if pending is None or pending.height > state.height + 1:
        return state
    return replace(state, pending_key=None)
