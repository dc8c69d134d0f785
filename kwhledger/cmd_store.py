"""``kwhledger store``: check a reference node's store, or back it up while it may be in use."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: Any) -> None:
    parser = sub.add_parser("store", help="check or back up a reference node's store")
    actions = parser.add_subparsers(dest="action", required=True)
    check = actions.add_parser(
        "check",
        help="check a store as opening it does: row checksums, tip witness, state root against "
        "the last header (--full: also every stored block)",
    )
    check.add_argument("file", help="the store (an SQLite file)")
    check.add_argument(
        "--full",
        action="store_true",
        help="also check every stored block: checksum, header chain, transaction root, "
        "settlement records against the settlement root, transaction index",
    )
    check.set_defaults(run=run_check)
    backup = actions.add_parser(
        "backup", help="copy a store through SQLite's backup API (consistent while in use)"
    )
    backup.add_argument("file", help="the store to copy")
    backup.add_argument("destination", help="the new file (must not exist)")
    backup.set_defaults(run=run_backup)


def run_check(args: argparse.Namespace) -> int:
    from reference.node import check_store
    from reference.store import StoreError

    try:
        print(check_store(args.file, full=args.full))
    except StoreError as refusal:
        print(f"kwhledger store check: refused: {refusal}", file=sys.stderr)
        return 1
    return 0


def run_backup(args: argparse.Namespace) -> int:
    from reference.node import check_store
    from reference.store import Store, StoreError

    try:
        check_store(args.file)
        store = Store(args.file, create=False)
        try:
            store.backup(args.destination)
        finally:
            store.close()
        print(check_store(args.destination, full=True))
    except StoreError as refusal:
        print(f"kwhledger store backup: refused: {refusal}", file=sys.stderr)
        return 1
    return 0
