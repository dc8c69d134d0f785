"""``kwhledger settlement``: inclusion proofs of settlement records (SET-04).

A block that settles slots emits settlement records (what each market, order, lot, demand row
and reading of the slot became) and its header commits to their Merkle root (key 7, BLK-15). The
reference node keeps every block's records in its store after the state has forgotten them, so:

* ``prove STORE --height H (--order ID | --lot METER:SLOT | --market ZONE:SLOT | ...)`` writes
  the proof file of one record: ``{0: header, 1: record, 2: index, 3: count, 4: [hashes]}``;
* ``verify FILE [--header-hash HEX]`` checks a proof file with the executable spec
  (``spec.settlement``, the normative procedure): the record's audit path leads to the settlement
  root of the header in the file, and that header is the block the user trusts (its hash);
* ``list STORE --height H`` shows what a block settled, one record a line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from kwhledger.args import existing_file, non_negative_int, output_file, positive_int

MAX_PROOF_BYTES = 1 << 20
"""A proof file is a header, one record and at most 64 hashes: far below a MiB."""
TYPE_NAMES = {0: "market", 1: "order", 2: "lot", 3: "demand", 4: "reading"}
FIELD_NAMES = {
    0: ("zone", "slot", "price", "volume_wh", "amount_msen", "fees_msen"),
    1: (
        "order_id", "side", "owner", "zone", "slot", "lot_meter", "quantity_wh", "limit_price",
        "fee", "status", "filled_wh", "amount_msen", "fee_msen",
    ),
    2: (
        "meter", "slot", "owner", "zone", "node", "source", "encumbrance", "minted_wh",
        "sold_wh", "expired_wh",
    ),
    3: ("account", "zone", "slot", "imported_wh", "claimed_wh"),
    4: ("meter", "slot", "exported_wh", "imported_wh", "encumbrance", "corrections"),
}  # fmt: skip
"""The names of each record type's fields 1, 2, ... (the rule book's SET-02 table)."""


def _pair(text: str) -> tuple[int, int]:
    """``A:B``, two whole numbers."""
    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        first, second = int(parts[0]), int(parts[1])
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not two whole numbers A:B") from None
    if first < 0 or second < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: the numbers must not be negative")
    return first, second


def _hash(text: str) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError:
        raise argparse.ArgumentTypeError("the header hash is not hex") from None
    if len(value) != 32:
        raise argparse.ArgumentTypeError(
            f"the header hash is {len(value)} bytes; a header hash is 32 (64 hex digits)"
        )
    return value


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "settlement",
        help="inclusion proofs of settlement records: prove from a node's store, verify a file",
    )
    actions = parser.add_subparsers(dest="action", required=True)
    prove = actions.add_parser(
        "prove",
        help="write the inclusion proof of one settlement record of a stored block",
        description="Write the inclusion proof of one settlement record that block H of the "
        "store emitted: the block's header, the record, its index and count, and its audit "
        "path to the header's settlement root (key 7).",
    )
    prove.add_argument("store", type=existing_file, help="the reference node's store")
    prove.add_argument(
        "--height",
        type=positive_int,
        help="the block that settled the record (default for --lot, --market and --reading: the "
        "first block at or after the slot's trading close, which is the one that settled it)",
    )
    which = prove.add_mutually_exclusive_group(required=True)
    which.add_argument("--order", type=non_negative_int, metavar="ID", help="an order's record")
    which.add_argument("--lot", type=_pair, metavar="METER:SLOT", help="a lot's record")
    which.add_argument("--market", type=_pair, metavar="ZONE:SLOT", help="a market's record")
    which.add_argument("--reading", type=_pair, metavar="METER:SLOT", help="a reading's record")
    which.add_argument(
        "--index", type=non_negative_int, metavar="N", help="the block's N-th record (from 0)"
    )
    prove.add_argument(
        "--out", type=output_file, metavar="FILE", help="the proof file (default: standard output)"
    )
    prove.set_defaults(run=run_prove)
    verify = actions.add_parser(
        "verify",
        help="check a proof file against its header (and the block hash you trust)",
        description="Check a settlement proof with the executable spec: the record's audit path "
        "must lead to the settlement root (key 7) of the header in the file, and, with "
        "--header-hash, that header must be the block you trust. Exit 0 and one line when it "
        "holds; exit 1 and one line saying why not.",
    )
    verify.add_argument("file", type=existing_file, help="the proof file")
    verify.add_argument(
        "--header-hash",
        type=_hash,
        metavar="HEX",
        help="the hash of the block header the proof must be against (64 hex digits)",
    )
    verify.set_defaults(run=run_verify)
    listing = actions.add_parser("list", help="list the settlement records of a stored block")
    listing.add_argument("store", type=existing_file, help="the reference node's store")
    listing.add_argument("--height", type=positive_int, required=True, help="the block")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(run=run_list)


def _open(path: Path) -> Any:
    from reference.node import Node

    return Node.open(path)


def run_prove(args: argparse.Namespace) -> int:
    from reference.node import settlement_proof
    from reference.settlement import LOT, MARKET, ORDER, READING
    from reference.store import StoreError

    wanted: tuple[Any, ...] | int
    if args.order is not None:
        wanted = (ORDER, args.order)
    elif args.lot is not None:
        wanted = (LOT, *args.lot)
    elif args.market is not None:
        wanted = (MARKET, *args.market)
    elif args.reading is not None:
        wanted = (READING, *args.reading)
    else:
        wanted = args.index
    try:
        node = _open(args.store)
    except StoreError as refusal:
        print(f"kwhledger settlement prove: refused: {refusal}", file=sys.stderr)
        return 1
    try:
        height = args.height
        if height is None:
            if not isinstance(wanted, tuple) or wanted[0] == ORDER:
                raise LookupError("give --height for --order and --index")
            height = settling_height(node, wanted[-1])
        proof = settlement_proof(node.store, height, wanted)
    except (LookupError, StoreError) as problem:
        print(f"kwhledger settlement prove: {problem}", file=sys.stderr)
        return 1
    finally:
        node.close()
    if args.out is None:
        sys.stdout.buffer.write(proof)
    else:
        args.out.write_bytes(proof)
        print(f"wrote {args.out} ({len(proof)} bytes)")
    return 0


def settling_height(node: Any, slot: int) -> int:
    """The height of the block that settled ``slot``: the first whose timestamp is at or past
    the slot's trading close (PRN-01), found by bisection over the stored headers."""
    from reference.ledger import SLOT_SECONDS
    from reference.wire import decode_block

    close = (slot + 1) * SLOT_SECONDS + node.ledger.trading_close_s
    store = node.store
    low, high = 1, store.height()
    if high == 0:
        raise LookupError("the store holds no block")

    def timestamp(height: int) -> int:
        data = store.block_data(height)
        assert data is not None
        return int(decode_block(data).header[3])

    if timestamp(high) < close:
        raise LookupError(f"slot {slot} is not settled yet (its trading closes at {close})")
    while low < high:
        middle = (low + high) // 2
        if timestamp(middle) >= close:
            high = middle
        else:
            low = middle + 1
    return low


def check_proof(data: bytes, header_hash: bytes | None) -> tuple[bool, str]:
    """The executable spec's verdict on a proof file, with one line saying what it proves or
    why it fails."""
    from spec.cbor import decode
    from spec.errors import Rejected
    from spec.settlement import decode_proof, record_to_cbor, verify_proof

    try:
        proof = decode_proof(decode(data, max_size=MAX_PROOF_BYTES))
    except Rejected as rejection:
        return False, f"not a settlement proof ({rejection})"
    if header_hash is not None and proof.header_hash() != header_hash:
        return False, (
            f"the proof's header has hash {proof.header_hash().hex()}, not the trusted "
            f"{header_hash.hex()}"
        )
    if not verify_proof(proof, header_hash):
        return False, (
            f"record {proof.index} of {proof.count}: its audit path does not lead to the "
            "settlement root of the proof's header"
        )
    record = record_to_cbor(proof.record)
    height = str(proof.header.get(1))
    return True, (
        f"{describe(record)} is record {proof.index} of {proof.count} settled by block "
        f"{height} (header {proof.header_hash().hex()})"
    )


def run_verify(args: argparse.Namespace) -> int:
    data = args.file.read_bytes()
    if len(data) > MAX_PROOF_BYTES:
        print(f"kwhledger settlement verify: FAILED: {args.file} is too large", file=sys.stderr)
        return 1
    ok, line = check_proof(data, args.header_hash)
    if not ok:
        print(f"kwhledger settlement verify: FAILED: {line}", file=sys.stderr)
        return 1
    print(f"verified: {line}")
    return 0


def describe(record: dict[Any, Any]) -> str:
    """One line naming a record and its main figures."""
    kind = record.get(0)
    name = TYPE_NAMES.get(kind, f"type {kind}") if isinstance(kind, int) else "record"
    names = FIELD_NAMES.get(kind, ()) if isinstance(kind, int) else ()

    def label(key: int) -> str:
        return names[key - 1] if 0 < key <= len(names) else str(key)

    fields = ", ".join(
        f"{label(k)}={v.hex()[:16] + '..' if isinstance(v, bytes) else v}"
        for k, v in sorted(record.items())
        if k != 0
    )
    return f"{name} ({fields})"


def run_list(args: argparse.Namespace) -> int:
    import cbor2

    from reference.store import StoreError

    try:
        node = _open(args.store)
    except StoreError as refusal:
        print(f"kwhledger settlement list: refused: {refusal}", file=sys.stderr)
        return 1
    try:
        records = node.store.settlement(args.height)
    finally:
        node.close()
    if records is None:
        problem = f"{args.store} holds no block {args.height}"
        print(f"kwhledger settlement list: {problem}", file=sys.stderr)
        return 1
    decoded = [cbor2.loads(r) for r in records]
    if args.json:
        rows = []
        for r in decoded:
            names = FIELD_NAMES.get(r.get(0), ())
            row: dict[str, Any] = {"type": TYPE_NAMES.get(r.get(0), r.get(0))}
            for k, v in sorted(r.items()):
                if k:
                    key = names[k - 1] if k <= len(names) else str(k)
                    row[key] = v.hex() if isinstance(v, bytes) else v
            rows.append(row)
        json.dump({"height": args.height, "records": rows}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    print(f"block {args.height}: {len(records)} settlement records")
    for index, record in enumerate(decoded):
        print(f"  {index:>6}  {describe(record)}")
    return 0
