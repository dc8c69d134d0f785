"""``kwhledger``: one program, one subcommand per job.

Each subcommand lives in its own module ``kwhledger/cmd_<name>.py`` exposing
``register(subparsers)``, which adds its parser and sets ``run`` to a function of the parsed
arguments returning the exit code.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

COMMAND_MODULES = ("kwhledger.cmd_rules",)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kwhledger",
        description="Rule book, proofs, conformance suite and reference node of the kwhledger "
        "local energy trading ledger.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
