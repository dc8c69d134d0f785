"""Release bundles: deterministic, signed, and refused after any change (issue: signed releases)."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from collections.abc import Callable
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


@pytest.fixture(scope="module")
def proved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A real proof report of the init/ obligations, and their names."""
    from proofs import obligations

    folder = tmp_path_factory.mktemp("proofs")
    names = [n for n in obligations.names() if n.startswith("init/")]
    assert main(["prove", "--only", "init/", "--jobs", "1", "--out", str(folder)]) == 0
    return folder, names


@pytest.fixture
def registry_of(monkeypatch: pytest.MonkeyPatch) -> Callable[[list[str]], None]:
    """Make the obligation registry hold ``names`` (a small registry the tests can prove)."""
    from proofs import obligations

    def set_names(names: list[str]) -> None:
        monkeypatch.setattr(obligations, "names", lambda: list(names))

    return set_names


def test_release_command_bundles_the_published_artifacts_and_verifies(
    tmp_path: Path,
    proved: tuple[Path, list[str]],
    registry_of: Callable[[list[str]], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder, names = proved
    registry_of(names)
    (folder / "smt2" / "stale.smt2").write_text("; from an earlier run\n")
    key = tmp_path / "release.key"
    key.write_text(SEED.hex() + "\n")
    out = tmp_path / "out"
    capsys.readouterr()
    assert main(["release", "--key", str(key), "--out", str(out), "--proofs", str(folder)]) == 0
    printed = capsys.readouterr().out
    assert f"{len(names)} obligations, all proved" in printed and len(printed.splitlines()) == 4
    (archive,) = out.glob("*.tar")
    with tarfile.open(archive) as tar:
        names_in = set(tar.getnames())
    for expected in (
        "RULEBOOK.md",
        "schema/kwhledger.cddl",
        "conformance/FORMAT.md",
        "conformance/index.cbor",
        "conformance/manifest.cbor",
        "proofs/proofs.json",
    ):
        assert expected in names_in
    assert any(name.startswith("conformance/vectors/") for name in names_in)
    smt2 = {n for n in names_in if n.startswith("proofs/smt2/")}
    assert len(smt2) == len(names) and "proofs/smt2/stale.smt2" not in smt2
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


def _release(tmp_path: Path, folder: Path) -> int:
    key = tmp_path / "release.key"
    key.write_text(SEED.hex() + "\n")
    return main(
        ["release", "--key", str(key), "--out", str(tmp_path / "o"), "--proofs", str(folder)]
    )


def test_a_partial_report_is_not_released(
    tmp_path: Path,
    proved: tuple[Path, list[str]],
    registry_of: Callable[[list[str]], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder, names = proved
    registry_of([*names, "deposit/INV-01"])  # the registry has one more than the report
    assert _release(tmp_path, folder) == 1
    err = capsys.readouterr().err
    assert f"has {len(names)} obligations, the registry {len(names) + 1}" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "o").exists()


def test_a_report_with_a_changed_smt2_file_or_from_other_sources_is_not_released(
    tmp_path: Path,
    proved: tuple[Path, list[str]],
    registry_of: Callable[[list[str]], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    import shutil

    source, names = proved
    registry_of(names)
    folder = tmp_path / "copy"
    shutil.copytree(source, folder)
    report = json.loads((folder / "proofs.json").read_text())
    victim = folder / report["obligations"][0]["smt2_file"]
    victim.write_text(victim.read_text() + "(assert false)\n")
    assert _release(tmp_path, folder) == 1
    assert "SMT-LIB file missing or not the one reported" in capsys.readouterr().err
    shutil.rmtree(folder)
    shutil.copytree(source, folder)
    report["summary"]["sources_sha256"] = "0" * 64
    (folder / "proofs.json").write_text(json.dumps(report))
    assert _release(tmp_path, folder) == 1
    assert "made from other sources" in capsys.readouterr().err
    report = json.loads((source / "proofs.json").read_text())
    report["obligations"][0]["status"] = "unknown"
    (folder / "proofs.json").write_text(json.dumps(report))
    assert _release(tmp_path, folder) == 1
    assert "not proved with a vacuity witness" in capsys.readouterr().err


def test_without_proofs_the_release_runs_them_and_prints_only_a_summary(
    tmp_path: Path,
    proved: tuple[Path, list[str]],
    registry_of: Callable[[list[str]], None],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import shutil

    import kwhledger.cmd_release

    source, names = proved
    registry_of(names)
    scratch: list[Path] = []

    def run_proofs(folder: Path) -> None:  # the small registry's proofs, as the command would
        scratch.append(folder)
        shutil.copytree(source, folder)

    monkeypatch.setattr(kwhledger.cmd_release, "_run_proofs", run_proofs)
    key = tmp_path / "release.key"
    key.write_text(SEED.hex() + "\n")
    capsys.readouterr()
    assert main(["release", "--key", str(key), "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 4 and str(scratch[0]) not in out
    assert not scratch[0].exists()


VERIFY = [sys.executable, "-m", "kwhledger.cli", "release", "verify"]


def test_a_bad_public_key_is_named_as_such(tmp_path: Path) -> None:
    archive = tmp_path / "a.tar"
    archive.write_bytes(b"")
    for key, says in (("zz", "not hex"), ("abcd", "2 bytes")):
        done = subprocess.run(
            [*VERIFY, str(archive), "--public-key", key],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 2 and says in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "signature" not in done.stderr
