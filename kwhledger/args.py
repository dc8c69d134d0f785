"""Argument types and errors shared by the subcommands.

Every argument is checked when it is parsed, before any work starts: a number out of range, an
output file in a folder that does not exist, an input folder that is not there, a malformed key.
A problem found later raises ``CliError``; ``kwhledger.cli.main`` prints either as one line on
stderr and exits non-zero, never with a traceback.
"""

from __future__ import annotations

import argparse
from pathlib import Path


class CliError(Exception):
    """A problem with what the user asked for: printed as one line, exit status 2."""


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def positive_int(text: str) -> int:
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not at least 1")
    return value


def non_negative_int(text: str) -> int:
    value = _whole(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not above 0")
    return value


def output_file(text: str) -> Path:
    """A file to write: its folder must exist, and it must not be a folder."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder, not a file")
    parent = path.parent
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"folder {parent} does not exist")
    return path


def output_dir(text: str) -> Path:
    """A folder to write into (created if missing): it must not be a file."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a folder")
    return path


def existing_dir(text: str) -> Path:
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"folder {text} does not exist")
    return path


def existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"file {text} does not exist")
    return path


def suite_dir(text: str) -> Path:
    """A conformance suite folder: it holds index.cbor."""
    path = existing_dir(text)
    if not (path / "index.cbor").is_file():
        raise argparse.ArgumentTypeError(f"{text} is not a conformance suite (no index.cbor)")
    return path


def public_key(text: str) -> str:
    """An Ed25519 public key as 64 hex digits."""
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise argparse.ArgumentTypeError("the public key is not hex") from None
    if len(key) != 32:
        raise argparse.ArgumentTypeError(
            f"the public key is {len(key)} bytes; an Ed25519 key is 32 (64 hex digits)"
        )
    return text.lower()
