"""``kwhledger``: one program, one subcommand per job.

Each subcommand lives in its own module ``kwhledger/cmd_<name>.py`` exposing
``register(subparsers)``, which adds its parser and sets ``run`` to a function of the parsed
arguments returning the exit code. Modules are found by name, in sorted order.

Errors are one line on stderr and a non-zero exit, never a traceback: a bad argument (exit 2,
found while parsing, before any work), a ``CliError`` (exit 2), a file that cannot be read or
written (exit 1), an interruption (exit 130). Set ``KWHLEDGER_DEBUG=1`` to see the traceback of
an unexpected error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import traceback
from collections.abc import Sequence
from typing import Any, NoReturn

from kwhledger.args import CliError


def version() -> str:
    from spec.version import SPEC_VERSION

    try:
        from importlib.metadata import version as installed

        package = installed("kwhledger")
    except Exception:
        package = "not installed"
    return f"kwhledger {package} (rule book {SPEC_VERSION})"


class HelpFormatter(argparse.HelpFormatter):
    """Shows every option's default unless its help already says it or there is none."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "default" in text
            or default is None
            or default is False
            or default == []
            or default is argparse.SUPPRESS
            or action.option_strings == []
        ):
            return text
        return f"{text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def command_modules() -> list[str]:
    """The ``kwhledger.cmd_*`` modules, sorted."""
    package = importlib.import_module("kwhledger")
    names = (m.name for m in pkgutil.iter_modules(package.__path__) if m.name.startswith("cmd_"))
    return [f"kwhledger.{name}" for name in sorted(names)]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="kwhledger",
        description="Rule book, proofs, conformance suite and reference node of the kwhledger "
        "local energy trading ledger.",
    )
    parser.add_argument("--version", action="version", version=version())
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name in command_modules():
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    action = getattr(args, "vectors_command", None) or getattr(args, "action", None)
    name = f"kwhledger {args.command}" + (f" {action}" if action else "")
    try:
        result: int = args.run(args)
    except BrokenPipeError:  # the reader (``| head``) went away: not an error of ours
        sys.stderr.close()
        return 0
    except CliError as problem:
        print(f"{name}: error: {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130
    except OSError as problem:
        where = f": {problem.filename}" if problem.filename else ""
        print(f"{name}: error: {problem.strerror or problem}{where}", file=sys.stderr)
        return 1
    except Exception as problem:
        if os.environ.get("KWHLEDGER_DEBUG"):
            traceback.print_exc()
        else:
            print(
                f"{name}: internal error: {type(problem).__name__}: {problem} "
                "(KWHLEDGER_DEBUG=1 shows the traceback)",
                file=sys.stderr,
            )
        return 1
    return result


if __name__ == "__main__":
    raise SystemExit(main())
