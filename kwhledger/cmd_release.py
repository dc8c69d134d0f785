"""``kwhledger release``: build, verify and key signed release bundles."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import conformance_tests
import spec
from kwhledger.args import CliError, existing_dir, existing_file, output_dir, public_key
from kwhledger.progress import heartbeat
from kwhledger.release import (
    ReleaseError,
    build_bundle,
    check_proof_report,
    collect,
    load_seed,
    public_key_hex,
    verify_bundle,
)
from spec.version import SPEC_VERSION

SPEC_DIR = Path(spec.__file__).parent
SUITE_DIR = Path(conformance_tests.__file__).parent


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "release",
        help="pack the rule book, schemas, vectors and proof report into a signed archive",
        description="Without an action: build a bundle. 'verify' checks one, 'keygen' makes a key.",
    )
    parser.add_argument("--key", type=existing_file, help="release key file (hex Ed25519 seed)")
    parser.add_argument("--out", type=output_dir, default=Path("out/release"), help="output folder")
    parser.add_argument("--version", help="release version (default: the rule book's version)")
    parser.add_argument(
        "--proofs",
        type=existing_dir,
        help="folder written by 'kwhledger prove --out', checked to be a complete report of the "
        "current obligations (default: run the proofs)",
    )
    parser.set_defaults(run=run_build)
    actions = parser.add_subparsers(dest="action")
    verify = actions.add_parser("verify", help="check an archive and its signature")
    verify.add_argument("archive", type=existing_file)
    verify.add_argument(
        "--public-key", required=True, type=public_key, help="release public key, 64 hex digits"
    )
    verify.add_argument(
        "--signature", type=existing_file, help="signature file (default: ARCHIVE.sig)"
    )
    verify.set_defaults(run=run_verify)
    keygen = actions.add_parser("keygen", help="write a new release key file")
    keygen.add_argument("key_file", type=Path)
    keygen.set_defaults(run=run_keygen)


def _fail(message: str) -> int:
    print(f"kwhledger release: {message}", file=sys.stderr)
    return 1


def _run_proofs(folder: Path) -> None:
    """Run every proof into ``folder``; its table and verdict go to a log there, not to stdout."""
    print("running the proofs for the bundle's report (a few minutes) ...", file=sys.stderr)
    command = [sys.executable, "-m", "kwhledger.cli", "prove", "--out", str(folder)]
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "prove.log").open("w") as log, heartbeat("proving", 15):
        done = subprocess.run(command, stdout=log, stderr=log, check=False)
    if done.returncode != 0:
        tail = (folder / "prove.log").read_text().strip().splitlines()[-1:]
        raise ReleaseError(f"the proofs did not all pass: no release ({' '.join(tail)})")


def run_build(args: argparse.Namespace) -> int:
    if args.key is None:
        raise CliError("--key is required to build a bundle (see 'kwhledger release keygen')")
    try:
        seed = load_seed(args.key)
        version = args.version or SPEC_VERSION
        with tempfile.TemporaryDirectory() as scratch:
            proofs = args.proofs
            if proofs is None:
                proofs = Path(scratch) / "proofs"
                _run_proofs(proofs)
            report = check_proof_report(proofs)
            members = collect(
                [
                    ("RULEBOOK.md", SPEC_DIR / "RULEBOOK.md"),
                    ("schema/kwhledger.cddl", SPEC_DIR / "kwhledger.cddl"),
                    ("conformance/FORMAT.md", SUITE_DIR / "FORMAT.md"),
                    ("conformance/ADAPTER.md", SUITE_DIR / "ADAPTER.md"),
                    ("conformance/vectors", SUITE_DIR / "vectors"),
                    ("conformance/index.cbor", SUITE_DIR / "index.cbor"),
                    ("conformance/manifest.cbor", SUITE_DIR / "manifest.cbor"),
                    ("conformance/SHA256SUMS", SUITE_DIR / "SHA256SUMS"),
                ]
                + [(f"schema/{p.name}", p) for p in sorted(SUITE_DIR.glob("*.cddl"))]
            )
            members.update(report.members)
        archive, signature = build_bundle(members, version, seed)
    except ReleaseError as problem:
        return _fail(str(problem))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"kwhledger-{version}.tar"
    path.write_bytes(archive)
    path.with_name(path.name + ".sig").write_text(signature + "\n")
    vectors = sum(1 for name in members if name.startswith("conformance/vectors/"))
    print(report.summary)
    print(f"{path}: {len(members)} files ({vectors} vectors), {len(archive)} bytes")
    print(f"signature: {path}.sig")
    print(f"verify with: kwhledger release verify {path} --public-key {public_key_hex(seed)}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    signature_path = args.signature or args.archive.with_name(args.archive.name + ".sig")
    try:
        archive = args.archive.read_bytes()
        signature = signature_path.read_text()
    except OSError as problem:
        raise CliError(f"cannot read {problem.filename}: {problem.strerror}") from None
    try:
        verified = verify_bundle(archive, signature, args.public_key)
    except ReleaseError as problem:
        print(f"FAILED: {problem}")
        return 1
    print(
        f"OK: kwhledger {verified.version} (rule book {verified.spec_version}), "
        f"{verified.files} files, signature and every SHA-256 verified"
    )
    return 0


def run_keygen(args: argparse.Namespace) -> int:
    if args.key_file.exists():
        raise CliError(f"{args.key_file} exists; refusing to overwrite a key")
    key = os.urandom(32)  # a tool, not a rule: fresh keys come from the OS
    args.key_file.parent.mkdir(parents=True, exist_ok=True)
    args.key_file.write_text(key.hex() + "\n")
    args.key_file.chmod(0o600)
    print(f"release key written to {args.key_file}; public key {public_key_hex(key)}")
    return 0
