"""Hashing and signatures, each bound to its purpose by a domain tag.

Hash: BLAKE2b with a 256-bit digest over ``tag || 0x00 || data``; tags are ASCII without NUL, so no
two purposes can produce the same hash input. Expansion (for the state root's LtHash): the ChaCha20
keystream of RFC 8439 under a key that is such a tagged hash. Signatures: Ed25519 exactly as
libsodium's ``crypto_sign_verify_detached`` accepts them (SIG-01), because "Ed25519" alone does not
say which edge-case signatures a node must accept, and a consensus rule has to.
"""

from __future__ import annotations

import hashlib
from typing import Final

from nacl.bindings import (
    crypto_core_ed25519_is_valid_point,
    crypto_sign_open,
    randombytes_buf_deterministic,
)
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey

from spec.rules import implements

PUBLIC_KEY_BYTES: Final = 32
SIGNATURE_BYTES: Final = 64
HASH_BYTES: Final = 32

TAG_TX_SIGNING: Final = b"kwhledger/tx-signing/v1"
TAG_TX_ID: Final = b"kwhledger/tx-id/v1"
TAG_MERKLE_LEAF: Final = b"kwhledger/merkle-leaf/v1"
TAG_MERKLE_NODE: Final = b"kwhledger/merkle-node/v1"
TAG_BLOCK_HEADER: Final = b"kwhledger/block-header/v1"
TAG_BLOCK_VOTE: Final = b"kwhledger/block-vote/v2"
TAG_STATE_ENTRY: Final = b"kwhledger/state-entry/v2"
TAG_STATE_ROOT: Final = b"kwhledger/state-root/v1"
TAG_GENESIS: Final = b"kwhledger/genesis/v1"
TAG_SETTLEMENT_RECORD: Final = b"kwhledger/settlement-record/v1"
TAG_SETTLEMENT_ROOT: Final = b"kwhledger/settlement-root/v1"


def tagged_hash(tag: bytes, data: bytes) -> bytes:
    """BLAKE2b-256 of ``tag || 0x00 || data``."""
    return hashlib.blake2b(tag + b"\x00" + data, digest_size=HASH_BYTES).digest()


EXPAND_NONCE: Final = b"LibsodiumDRG"
"""The 12-byte ChaCha20 nonce of ``expand``: the one libsodium's ``randombytes_buf_deterministic``
uses, so that libsodium computes an expansion in one call."""


def expand(tag: bytes, data: bytes, length: int) -> bytes:
    """The first ``length`` bytes of the ChaCha20 keystream (RFC 8439 section 2.4: 96-bit nonce
    ``EXPAND_NONCE``, block counter from 0) under the key ``tagged_hash(tag, data)``.

    A hash-then-stream expansion: the 32-byte hash binds the input, the stream cipher stretches it.
    It is about four times cheaper than SHAKE-256 for the 2048 bytes each state entry needs, and a
    node expands every entry a block changes.
    """
    return bytes(randombytes_buf_deterministic(length, tagged_hash(tag, data)))


def is_valid_public_key(key: bytes) -> bool:
    """ACC-02: a canonical encoding of a point of large prime order (no small-order keys)."""
    return len(key) == PUBLIC_KEY_BYTES and bool(crypto_core_ed25519_is_valid_point(key))


@implements("SIG-01")
def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """SIG-01: whether libsodium accepts ``signature`` by ``public_key`` over ``message``."""
    if len(public_key) != PUBLIC_KEY_BYTES or len(signature) != SIGNATURE_BYTES:
        return False
    try:
        # crypto_sign_open runs libsodium's crypto_sign_verify_detached on (signature, message).
        crypto_sign_open(signature + message, public_key)
    except (BadSignatureError, ValueError):
        return False
    return True


def sign(seed: bytes, message: bytes) -> bytes:
    """Sign with the key derived from a 32-byte seed (for tools and tests, not the rules)."""
    return bytes(SigningKey(seed).sign(message).signature)


def public_key_of(seed: bytes) -> bytes:
    """The account id of the key derived from a 32-byte seed."""
    return bytes(SigningKey(seed).verify_key)


@implements("HSH-02")
def merkle_root(leaves: list[bytes]) -> bytes:
    """HSH-02: RFC 6962 style Merkle root, split at the largest power of two below the count.

    Leaves and inner nodes are hashed under different tags, so a leaf can never pose as a node;
    the empty list has the root ``tagged_hash(TAG_MERKLE_LEAF, b"")``.
    """
    if not leaves:
        return tagged_hash(TAG_MERKLE_LEAF, b"")
    if len(leaves) == 1:
        return tagged_hash(TAG_MERKLE_LEAF, leaves[0])
    split = 1
    while split * 2 < len(leaves):
        split *= 2
    return tagged_hash(TAG_MERKLE_NODE, merkle_root(leaves[:split]) + merkle_root(leaves[split:]))
