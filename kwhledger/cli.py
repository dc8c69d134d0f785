"""``kwhledger``: one program, one subcommand per job.

Each subcommand lives in its own module ``kwhledger/cmd_<name>.py`` exposing
``register(subparsers)``, which adds its parser and sets ``run`` to a function of the parsed
arguments returning the exit code. Modules are found by name, in sorted order.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence


def command_modules() -> list[str]:
    """The ``kwhledger.cmd_*`` modules, sorted."""
    package = importlib.import_module("kwhledger")
    names = (m.name for m in pkgutil.iter_modules(package.__path__) if m.name.startswith("cmd_"))
    return [f"kwhledger.{name}" for name in sorted(names)]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kwhledger",
        description="Rule book, proofs, conformance suite and reference node of the kwhledger "
        "local energy trading ledger.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in command_modules():
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result: int = args.run(args)
    except BrokenPipeError:  # the reader (``| head``) went away: not an error of ours
        sys.stderr.close()
        return 0
    return result


if __name__ == "__main__":
    raise SystemExit(main())
