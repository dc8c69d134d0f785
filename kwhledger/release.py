"""Release bundles: one signed, versioned archive the consortium signs off.

A bundle is a POSIX tar archive written deterministically (members sorted by name, mtime 0, owner
0, mode 0644) so that the same inputs give the same bytes. It holds:

- ``RELEASE.json``: version, spec version, rule count and the SHA-256 of every other member;
- ``SHA256SUMS``: the same hashes in the format of ``sha256sum``;
- the normative document, the CDDL schemas, the conformance vectors with their index and manifest,
  and the proof report.

The signature is detached, in ``<archive>.sig``: hex of an Ed25519 signature by the release key
over ``kwhledger/release/v1 || 0x00 || SHA-256(archive)``. ``verify_bundle`` checks the signature
against a public key obtained out of band, then every member against ``SHA256SUMS`` and
``RELEASE.json``, and that no member is missing or extra.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from spec.rules import RULES
from spec.version import SPEC_VERSION

RELEASE_TAG: Final = b"kwhledger/release/v1"
MANIFEST_NAME: Final = "RELEASE.json"
SUMS_NAME: Final = "SHA256SUMS"


class ReleaseError(Exception):
    """A bundle could not be built or does not verify; the message says why."""


@dataclass(frozen=True)
class VerifiedBundle:
    """What a successful verification established."""

    version: str
    spec_version: str
    files: int


def signing_message(archive: bytes) -> bytes:
    """What the release key signs: the domain tag and the archive's SHA-256."""
    return RELEASE_TAG + b"\x00" + hashlib.sha256(archive).digest()


def load_seed(path: Path) -> bytes:
    """A release key file: the 32-byte Ed25519 seed in hex, alone on its line."""
    try:
        seed = bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError) as problem:
        raise ReleaseError(f"cannot read release key {path}: {problem}") from None
    if len(seed) != 32:
        raise ReleaseError(f"release key {path} must hold 32 bytes in hex, not {len(seed)}")
    return seed


def public_key_hex(seed: bytes) -> str:
    """The public key of a release key, in hex (what verifiers need)."""
    return bytes(SigningKey(seed).verify_key).hex()


def collect(sources: Iterable[tuple[str, Path]]) -> dict[str, bytes]:
    """Read the files to bundle: (name in the archive, path) pairs; directories recurse."""
    members: dict[str, bytes] = {}
    for name, path in sources:
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                members[f"{name}/{file.relative_to(path).as_posix()}"] = file.read_bytes()
        elif path.is_file():
            members[name] = path.read_bytes()
        else:
            raise ReleaseError(f"missing release input: {path}")
    for reserved in (MANIFEST_NAME, SUMS_NAME):
        if reserved in members:
            raise ReleaseError(f"{reserved} is written by the release tool, not an input")
    return members


def build_bundle(members: dict[str, bytes], version: str, seed: bytes) -> tuple[bytes, str]:
    """The archive bytes and the hex signature of a bundle of ``members``."""
    hashes = {name: hashlib.sha256(data).hexdigest() for name, data in sorted(members.items())}
    manifest = {
        "version": version,
        "spec_version": SPEC_VERSION,
        "rules": len(RULES),
        "files": hashes,
    }
    contents = dict(members)
    contents[MANIFEST_NAME] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    contents[SUMS_NAME] = "".join(f"{h}  {n}\n" for n, h in hashes.items()).encode()
    archive = _tar(contents)
    signature = SigningKey(seed).sign(signing_message(archive)).signature
    return archive, bytes(signature).hex()


def _tar(contents: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(contents):
            info = tarfile.TarInfo(name)
            info.size = len(contents[name])
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(contents[name]))
    return buffer.getvalue()


def verify_bundle(archive: bytes, signature_hex: str, public_key: str) -> VerifiedBundle:
    """Check the signature, then every member; raise ``ReleaseError`` on the first problem."""
    try:
        key = VerifyKey(bytes.fromhex(public_key.strip()))
        key.verify(signing_message(archive), bytes.fromhex(signature_hex.strip()))
    except (BadSignatureError, ValueError, TypeError) as problem:
        raise ReleaseError(
            f"the signature does not match this archive under this public key: {problem}"
        ) from None
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as tar:
            contents: dict[str, bytes] = {}
            for info in tar.getmembers():
                if not info.isfile() or info.name in contents:
                    raise ReleaseError(f"unexpected member {info.name!r}")
                extracted = tar.extractfile(info)
                assert extracted is not None
                contents[info.name] = extracted.read()
    except tarfile.TarError as problem:
        raise ReleaseError(f"not a readable archive: {problem}") from None
    try:
        manifest = json.loads(contents.pop(MANIFEST_NAME))
        sums = contents.pop(SUMS_NAME).decode()
    except (KeyError, ValueError) as problem:
        raise ReleaseError(f"manifest or sums missing or unreadable: {problem}") from None
    listed: dict[str, str] = {}
    for line in sums.splitlines():
        digest, _, name = line.partition("  ")
        listed[name] = digest
    if listed != manifest["files"]:
        raise ReleaseError("SHA256SUMS and RELEASE.json disagree")
    if set(listed) != set(contents):
        missing, extra = set(listed) - set(contents), set(contents) - set(listed)
        raise ReleaseError(f"members missing {sorted(missing)} or unlisted {sorted(extra)}")
    for name, data in sorted(contents.items()):
        if hashlib.sha256(data).hexdigest() != listed[name]:
            raise ReleaseError(f"{name}: content does not match its SHA-256")
    return VerifiedBundle(manifest["version"], manifest["spec_version"], len(contents))


@dataclass(frozen=True)
class ProofReport:
    """A proof report fit for a release: the files to bundle and a one-line summary."""

    members: dict[str, bytes]
    summary: str


def check_proof_report(folder: Path) -> ProofReport:
    """Accept only a complete report of the current obligations, every one proved.

    The report (``proofs.json`` written by ``kwhledger prove --out``) must name exactly the
    obligations the registry has now, each proved with a satisfiable vacuity witness; it must
    have been made from the current ``spec/`` and ``proofs/`` sources (their digest); and every
    SMT-LIB file it names must be there with the SHA-256 the report gives. Only the report and
    the files it names are bundled: a stale file left in the folder is not.
    """
    import json as json_

    from proofs import obligations
    from proofs.runner import sources_digest

    redo = f"run kwhledger prove --out {folder} (or leave out --proofs)"
    try:
        report_bytes = (folder / "proofs.json").read_bytes()
        report = json_.loads(report_bytes)
        obligations_ = {ob["name"]: ob for ob in report["obligations"]}
        summary = report["summary"]
    except (OSError, ValueError, KeyError, TypeError) as problem:
        raise ReleaseError(f"no readable proof report in {folder} ({problem}): {redo}") from None
    current = set(obligations.names())
    missing, extra = sorted(current - set(obligations_)), sorted(set(obligations_) - current)
    if missing or extra:
        raise ReleaseError(
            f"the proof report in {folder} has {len(obligations_)} obligations, the registry "
            f"{len(current)} ({len(missing)} missing, {len(extra)} not in the registry): {redo}"
        )
    if summary.get("sources_sha256") != sources_digest():
        raise ReleaseError(f"the proof report in {folder} was made from other sources: {redo}")
    not_proved = sorted(
        name
        for name, ob in obligations_.items()
        if ob.get("status") != "proved" or ob.get("vacuity") != "sat"
    )
    if not_proved:
        raise ReleaseError(
            f"{len(not_proved)} obligations are not proved with a vacuity witness "
            f"(first: {not_proved[0]}): no release"
        )
    members = {"proofs/proofs.json": report_bytes}
    for name in ("proofs.md",):
        if (folder / name).is_file():
            members[f"proofs/{name}"] = (folder / name).read_bytes()
    for name, ob in sorted(obligations_.items()):
        relative = ob.get("smt2_file") or ""
        try:
            data = (folder / relative).read_bytes() if relative else b""
        except OSError:
            data = b""
        if not relative or hashlib.sha256(data).hexdigest() != ob.get("smt2_sha256"):
            raise ReleaseError(f"{name}: SMT-LIB file missing or not the one reported: {redo}")
        members[f"proofs/{relative}"] = data
    return ProofReport(
        members,
        f"proof report: {len(obligations_)} obligations, all proved with a vacuity witness, "
        f"the registry's current set, {len(obligations_)} SMT-LIB files checked by SHA-256",
    )
