"""Release bundles: deterministic, signed, and refused after any change (issue: signed releases)."""

from __future__ import annotations

import pytest
from nacl.signing import SigningKey

from kwhledger.release import (
    ReleaseError,
    build_bundle,
    public_key_hex,
    signing_message,
    verify_bundle,
)

SEED = bytes(range(32))
OTHER_SEED = bytes(range(1, 33))
MEMBERS = {
    "RULEBOOK.md": b"# Rule book\n",
    "conformance/vectors/a.cbor": bytes([0xA1, 0x00, 0x01]),
    "proofs/report.json": b"{}\n",
}


def test_bundle_verifies_and_is_deterministic() -> None:
    archive, signature = build_bundle(MEMBERS, "1.2.3", SEED)
    again, signature_again = build_bundle(MEMBERS, "1.2.3", SEED)
    assert (archive, signature) == (again, signature_again)
    verified = verify_bundle(archive, signature, public_key_hex(SEED))
    assert verified.version == "1.2.3"
    assert verified.files == len(MEMBERS)


def test_another_key_does_not_verify() -> None:
    archive, signature = build_bundle(MEMBERS, "1.2.3", SEED)
    with pytest.raises(ReleaseError, match="signature"):
        verify_bundle(archive, signature, public_key_hex(OTHER_SEED))


def test_every_single_byte_change_is_refused() -> None:
    archive, signature = build_bundle(MEMBERS, "1.2.3", SEED)
    # Flipping any byte (header, padding or content) must break verification; test a spread of
    # positions across the whole archive, including the last byte.
    positions = sorted({*range(0, len(archive), 97), len(archive) - 1})
    for position in positions:
        tampered = bytearray(archive)
        tampered[position] ^= 0x01
        with pytest.raises(ReleaseError):
            verify_bundle(bytes(tampered), signature, public_key_hex(SEED))


def test_content_changed_and_resigned_is_refused_by_the_sums() -> None:
    # A member that no longer matches its sums is refused even under a valid signature (a signer
    # who packed inconsistent parts, or a bug in packing).
    archive, _ = build_bundle(MEMBERS, "1.2.3", SEED)
    tampered = archive.replace(b"# Rule book\n", b"# Rule bock\n")
    assert tampered != archive
    signature = bytes(SigningKey(SEED).sign(signing_message(tampered)).signature).hex()
    with pytest.raises(ReleaseError, match=r"RULEBOOK\.md"):
        verify_bundle(tampered, signature, public_key_hex(SEED))
