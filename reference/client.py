"""What a client does: derive keys, encode and sign transactions (tools, not rules)."""

from __future__ import annotations

import hashlib
from typing import Any

from nacl.signing import SigningKey

from reference.cbor import encode
from reference.wire import KIND_NAMES, TAG_TX_SIGNING

REGISTER_ACCOUNT, REGISTER_NODE, REGISTER_METER, ATTEST = 1, 2, 3, 4
PLACE_ASK, PLACE_BID, CANCEL, DEPOSIT, WITHDRAW, TRANSFER = 5, 6, 7, 8, 9, 10


def seed_for(name: str, namespace: str = "kwhledger test key") -> bytes:
    """A deterministic 32-byte seed for a name (development chains and tests only)."""
    return hashlib.sha256(namespace.encode() + b"/" + name.encode()).digest()


class Signer:
    """One account's key and its next nonce."""

    __slots__ = ("account", "key", "nonce")

    def __init__(self, seed: bytes, nonce: int = 0) -> None:
        self.key = SigningKey(seed)
        self.account = bytes(self.key.verify_key)
        self.nonce = nonce

    def sign(self, chain_id: str, kind: int, body: Any) -> bytes:
        """Encode and sign a transaction with the next nonce (which then advances)."""
        tx = make_tx(self.key, chain_id, kind, self.nonce, body)
        self.nonce += 1
        return tx


def make_tx(key: SigningKey, chain_id: str, kind: int, nonce: int, body: Any) -> bytes:
    """``{0: chain, 1: kind, 2: sender, 3: nonce, 4: body, 5: signature}`` signed under the kind's
    domain tag."""
    sender = bytes(key.verify_key)
    signed = encode([chain_id, kind, sender, nonce, body])
    tag = TAG_TX_SIGNING + b"/" + KIND_NAMES[kind].encode("ascii") + b"\x00"
    signature = bytes(key.sign(tag + signed).signature)
    # The envelope is the signed array's fields under keys 0..4, then the signature.
    return encode({0: chain_id, 1: kind, 2: sender, 3: nonce, 4: body, 5: signature})
