"""The expansion of rule book section 9.5 against RFC 8439 written out independently
(``tests/chacha20.py``)."""

from __future__ import annotations

import hashlib

import chacha20
import pytest
from _rules_plugin import rules
from hypothesis import given
from hypothesis import strategies as st

from spec.crypto import EXPAND_NONCE, TAG_STATE_ENTRY, expand, tagged_hash


def test_the_independent_chacha20_gives_the_rfc_8439_block() -> None:
    """RFC 8439 section 2.3.2: key 00..1f, nonce 000000090000004a00000000, counter 1."""
    key = bytes(range(32))
    nonce = bytes.fromhex("000000090000004a00000000")
    expected = bytes.fromhex(
        "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
        "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e"
    )
    assert chacha20.block(key, 1, nonce) == expected


def test_the_independent_keystream_gives_the_rfc_8439_encryption() -> None:
    """RFC 8439 section 2.4.2: the first bytes of the sunscreen plaintext's ciphertext."""
    key = bytes(range(32))
    nonce = bytes.fromhex("000000000000004a00000000")
    plaintext = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip"
    stream = chacha20.keystream(key, nonce, len(plaintext), counter=1)
    ciphertext = bytes(p ^ k for p, k in zip(plaintext, stream, strict=True))
    expected = "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b"
    assert ciphertext.hex().startswith(expected)


@rules("HSH-01")
@pytest.mark.parametrize("length", [0, 1, 63, 64, 65, 2048])
def test_expand_is_the_keystream_the_rule_book_names(length: int) -> None:
    data = b"\x83\x01\x58\x20" + bytes(32) + b"\xa3\x00\x01\x01\x00\x02\x00"
    key = hashlib.blake2b(TAG_STATE_ENTRY + b"\x00" + data, digest_size=32).digest()
    assert key == tagged_hash(TAG_STATE_ENTRY, data)
    assert EXPAND_NONCE == b"LibsodiumDRG"
    assert expand(TAG_STATE_ENTRY, data, length) == chacha20.keystream(key, EXPAND_NONCE, length)


@rules("HSH-01")
@given(st.binary(max_size=80))
def test_expand_agrees_with_the_independent_keystream_on_any_entry(data: bytes) -> None:
    key = tagged_hash(TAG_STATE_ENTRY, data)
    assert expand(TAG_STATE_ENTRY, data, 256) == chacha20.keystream(key, EXPAND_NONCE, 256)


def test_expand_depends_on_the_tag_and_the_data() -> None:
    outputs = {
        expand(TAG_STATE_ENTRY, b"a", 64),
        expand(TAG_STATE_ENTRY, b"b", 64),
        expand(b"kwhledger/state-entry/v1", b"a", 64),
    }
    assert len(outputs) == 3
