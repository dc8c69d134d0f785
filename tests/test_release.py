"""Release bundles: deterministic, signed, and refused after any change (issue: signed releases)."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from kwhledger.cli import main
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


def test_release_command_bundles_the_published_artifacts_and_verifies(tmp_path: Path) -> None:
    key = tmp_path / "release.key"
    key.write_text(SEED.hex() + "\n")
    proofs = tmp_path / "proofs"
    proofs.mkdir()
    (proofs / "proofs.json").write_text('{"summary": "stand-in for a proof report"}\n')
    out = tmp_path / "out"
    assert main(["release", "--key", str(key), "--out", str(out), "--proofs", str(proofs)]) == 0
    (archive,) = out.glob("*.tar")
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    for expected in (
        "RULEBOOK.md",
        "schema/kwhledger.cddl",
        "conformance/FORMAT.md",
        "conformance/index.cbor",
        "conformance/manifest.cbor",
        "proofs/proofs.json",
    ):
        assert expected in names
    assert any(name.startswith("conformance/vectors/") for name in names)
    public = public_key_hex(SEED)
    assert main(["release", "verify", str(archive), "--public-key", public]) == 0
    assert (
        main(["release", "verify", str(archive), "--public-key", public_key_hex(OTHER_SEED)]) == 1
    )
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x80
    tampered = tmp_path / "tampered.tar"
    tampered.write_bytes(bytes(data))
    signature = archive.with_name(archive.name + ".sig")
    command = ["release", "verify", str(tampered), "--public-key", public]
    assert main([*command, "--signature", str(signature)]) == 1
