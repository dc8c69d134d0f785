"""The normative document ``spec/RULEBOOK.md`` and the executable spec cannot drift apart.

The document presents each rule in one fixed, machine-checkable form::

    #### ATT-04 — Slot has ended
    *validity · rejects with 404 SLOT_NOT_ENDED*

    > A reading MUST NOT be attested before its slot has ended: now >= slot_end(slot).

(``*procedure · rejects nothing*`` for rules that cannot reject). These tests parse that form and
compare it with ``spec.rules.RULES``; check that every rule id the code raises exists and that
every validity rule is raised somewhere; recompute the document's worked clearing examples and its
table of constants with the spec; and read the spec's source with ``ast`` to keep floats,
wall-clock time, randomness and the reference implementation out of it.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from dataclasses import dataclass, replace
from dataclasses import fields as dataclass_fields
from pathlib import Path

import pytest

import spec
from spec import blocks, cbor, crypto, orders, state, transactions, units, wire
from spec import time as block_time
from spec.attestation import MAX_BATCH_READINGS, READING_FIELDS
from spec.clearing import AuctionOrder, call_auction, eligible_bids
from spec.crypto import public_key_of
from spec.fmap import FrozenMap
from spec.rules import RULES, RULES_BY_ID, RuleKind
from spec.state import ChainParams, Demand, Order, OrderStatus, Side, genesis
from spec.units import MilliSen, NodeId, OrderId, PriceSenPerKwh, Slot, Wh
from spec.version import SPEC_VERSION

SPEC_DIR = Path(spec.__file__).parent
RULEBOOK = SPEC_DIR / "RULEBOOK.md"
REPO = SPEC_DIR.parent
SOURCES = sorted(SPEC_DIR.glob("*.py"))

HEADING = re.compile(r"^#### (?P<id>[A-Z]+-\d\d) — (?P<title>.+)$")
RULE_LIKE_HEADING = re.compile(r"^#+\s*[A-Z]+-\d+\b")
KIND_LINE = re.compile(
    r"^\*(?P<kind>validity|invariant|procedure) · "
    r"(?:rejects with (?P<code>\d+) (?P<name>[A-Z][A-Z0-9_]*)|rejects nothing)\*$"
)


@dataclass(frozen=True)
class DocumentedRule:
    """A rule as the document presents it."""

    id: str
    title: str
    kind: str
    code: int | None
    code_name: str | None
    statement: str
    line: int


def rulebook_lines() -> list[str]:
    return RULEBOOK.read_text(encoding="utf-8").splitlines()


def parse_rules(lines: list[str]) -> list[DocumentedRule]:
    """Every rule entry of the document; a malformed entry fails with its line number.

    Lines inside fenced code blocks are examples, not rules.
    """
    found = []
    in_fence = False
    for number, line in enumerate(lines):
        if line.startswith("```"):
            in_fence = not in_fence
        if in_fence or not RULE_LIKE_HEADING.match(line):
            continue
        heading = HEADING.match(line)
        assert heading, f"line {number + 1}: rule heading not in the form '#### ID — Title'"
        rest = [(n, text) for n, text in enumerate(lines[number + 1 :], number + 1) if text.strip()]
        (kind_at, kind_text), (quote_at, quote_text) = rest[0], rest[1]
        kind = KIND_LINE.match(kind_text)
        assert kind, f"line {kind_at + 1}: expected '*kind · rejects ...*', got {kind_text!r}"
        assert quote_text.startswith("> "), f"line {quote_at + 1}: expected '> statement'"
        found.append(
            DocumentedRule(
                id=heading["id"],
                title=heading["title"],
                kind=kind["kind"],
                code=int(kind["code"]) if kind["code"] else None,
                code_name=kind["name"],
                statement=quote_text[2:],
                line=number + 1,
            )
        )
    return found


@pytest.fixture(scope="module")
def documented() -> list[DocumentedRule]:
    return parse_rules(rulebook_lines())


# --- The document against the registry ---------------------------------------------------------


def test_every_rule_is_documented_exactly_once(documented: list[DocumentedRule]) -> None:
    counts = Counter(r.id for r in documented)
    assert [i for i, n in counts.items() if n > 1] == [], "duplicated rules"
    assert sorted(set(RULES_BY_ID) - set(counts)) == [], "rules missing from RULEBOOK.md"
    assert sorted(set(counts) - set(RULES_BY_ID)) == [], "unknown rules in RULEBOOK.md"


def test_each_documented_rule_says_what_the_registry_says(
    documented: list[DocumentedRule],
) -> None:
    for entry in documented:
        registered = RULES_BY_ID[entry.id]
        where = f"RULEBOOK.md line {entry.line}, {entry.id}"
        assert entry.title == registered.title, where
        assert entry.kind == registered.kind.value, where
        assert entry.code == registered.code, where
        assert entry.code_name == registered.code_name, where
        assert entry.statement == registered.statement, where


def test_every_rule_has_a_rationale(documented: list[DocumentedRule]) -> None:
    lines = rulebook_lines()
    for entry in documented:
        after_quote = [t for t in lines[entry.line :] if t.strip()][2:]
        assert after_quote and after_quote[0].startswith("*Why.*"), entry.id


def test_every_rejection_code_has_exactly_one_rule(documented: list[DocumentedRule]) -> None:
    for source in (RULES, documented):
        codes = Counter(r.code for r in source if r.code is not None)
        assert [c for c, n in codes.items() if n > 1] == []
        names = Counter(r.code_name for r in source if r.code_name is not None)
        assert [c for c, n in names.items() if n > 1] == []
    for rule in RULES:
        has_code = rule.code is not None and rule.code_name is not None
        assert has_code is (rule.kind is RuleKind.VALIDITY), rule.id
        assert rule.code is None or 100 < rule.code < 10_000, rule.id


def test_rules_are_grouped_by_area(documented: list[DocumentedRule]) -> None:
    """Each area's rules form one run in the document, so a reader finds them together."""
    areas = [r.id.split("-")[0] for r in documented]
    runs = [a for i, a in enumerate(areas) if i == 0 or areas[i - 1] != a]
    assert len(runs) == len(set(runs)), runs


def test_the_document_names_the_spec_version() -> None:
    text = RULEBOOK.read_text(encoding="utf-8")
    assert f"Rule book version {SPEC_VERSION}" in text


# --- Rule ids in the code ----------------------------------------------------------------------


def _trees() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(encoding="utf-8"))) for path in SOURCES]


def _raised_rule_ids() -> list[tuple[str, str]]:
    """(where, rule id) for every ``require(..., "ID")`` and ``Rejected("ID")`` in spec/.

    A schema's array bound (``wire.BoundedArray(inner, most, "ID")``) counts as raising its rule:
    the strict decoder raises it (``Rejected(bound.rule)``) at the array's head."""
    raised = []
    for path, tree in _trees():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            if isinstance(node.func, ast.Name):
                name = node.func.id
            elif isinstance(node.func, ast.Attribute):
                name = node.func.attr
            else:
                continue
            position = {"require": 1, "Rejected": 0, "BoundedArray": 2}.get(name)
            if position is None:
                continue
            where = f"{path.name}:{node.lineno}"
            argument = node.args[position] if len(node.args) > position else None
            if path.name == "errors.py" and isinstance(argument, ast.Name):
                continue  # ``require`` itself forwards its argument
            if path.name == "cbor.py" and isinstance(argument, ast.Attribute):
                continue  # the decoder raises the rule a schema's array bound names
            assert isinstance(argument, ast.Constant) and isinstance(argument.value, str), (
                f"{where}: the rule id must be a string literal"
            )
            raised.append((where, argument.value))
    return raised


def test_every_raised_rule_id_is_a_validity_rule() -> None:
    raised = _raised_rule_ids()
    assert len(raised) > 50
    for where, rule_id in raised:
        assert rule_id in RULES_BY_ID, f"{where}: unknown rule {rule_id}"
        assert RULES_BY_ID[rule_id].kind is RuleKind.VALIDITY, f"{where}: {rule_id} cannot reject"


def test_every_validity_rule_is_raised_somewhere_in_the_spec() -> None:
    raised = {rule_id for _, rule_id in _raised_rule_ids()}
    validity = {r.id for r in RULES if r.kind is RuleKind.VALIDITY}
    assert sorted(validity - raised) == [], "rejection codes without a check"


RULE_MENTION = re.compile(r"\b([A-Z]{2,3}-\d\d)\b")


def test_every_rule_id_mentioned_in_spec_files_exists() -> None:
    """Docstrings, comments, the rule book and the CDDL may only cite rules that exist."""
    paths = [*SOURCES, RULEBOOK, SPEC_DIR / "kwhledger.cddl"]
    unknown = [
        f"{path.name}:{number}: {rule_id}"
        for path in paths
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for rule_id in RULE_MENTION.findall(line)
        if rule_id not in RULES_BY_ID
    ]
    assert unknown == []
    assert RULE_MENTION.findall("(ASK-06) SHA-512 UTF-8 ENC-01") == ["ASK-06", "ENC-01"]


# --- What the spec's source may not contain ----------------------------------------------------

_FORBIDDEN_MODULES = ("random", "secrets", "time", "datetime", "uuid")


def _purity_problems(path: Path, tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        where = f"{path.name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Constant) and isinstance(node.value, (float, complex)):
            found.append(f"{where}: float literal {node.value!r}")
        elif isinstance(node, (ast.BinOp, ast.AugAssign)) and isinstance(node.op, ast.Div):
            found.append(f"{where}: true division '/'")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in ("float", "complex", "__import__"):
                found.append(f"{where}: {node.func.id}(...)")
        elif isinstance(node, ast.Attribute) and node.attr in ("now", "utcnow", "today"):
            found.append(f"{where}: wall-clock .{node.attr}")
        elif isinstance(node, ast.Attribute) and node.attr in ("time", "time_ns", "monotonic"):
            if isinstance(node.value, ast.Name) and node.value.id == "time":
                found.append(f"{where}: time.{node.attr}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in _FORBIDDEN_MODULES:
                    found.append(f"{where}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in (
            _FORBIDDEN_MODULES
        ):
            found.append(f"{where}: from {node.module} import")
        elif isinstance(node, ast.ImportFrom):
            # libsodium's random bytes, except its deterministic generator (an expansion, 9.5)
            for alias in node.names:
                if "random" in alias.name and alias.name != "randombytes_buf_deterministic":
                    found.append(f"{where}: from {node.module} import {alias.name}")
    return found


def _imports_of_reference(path: Path, tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [("." * node.level) + (node.module or "")]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module":
            names = [str(a.value) for a in node.args if isinstance(a, ast.Constant)]
        for name in names:
            if name.split(".")[0] == "reference" or name.startswith(".."):
                found.append(f"{path.name}:{getattr(node, 'lineno', 0)}: imports {name}")
    return found


def test_the_spec_has_no_float_division_clock_or_randomness() -> None:
    problems = [p for path, tree in _trees() for p in _purity_problems(path, tree)]
    assert problems == []


def test_the_spec_does_not_import_the_reference_implementation() -> None:
    problems = [p for path, tree in _trees() for p in _imports_of_reference(path, tree)]
    assert problems == []


_SAMPLE = """
import random
from datetime import datetime
import reference.node
from reference import wire
x = 1.5
y = a / b
y /= 2
z = float("1")
t = time.time()
n = datetime.now()
from nacl.utils import random as noise
from nacl.bindings import randombytes_buf_deterministic
ok = a // b
"""


def test_the_source_checks_can_fail() -> None:
    tree = ast.parse(_SAMPLE)
    purity = _purity_problems(Path("sample.py"), tree)
    assert len(purity) == 9, purity
    assert len(_imports_of_reference(Path("sample.py"), tree)) == 2


# --- Numbers in the document that the code decides ---------------------------------------------

CONSTANTS: dict[str, object] = {
    "WH_MAX": units.WH_MAX,
    "PRICE_MAX_SEN_PER_KWH": units.PRICE_MAX_SEN_PER_KWH,
    "MONEY_MAX_MSEN": units.MONEY_MAX_MSEN,
    "TIME_MAX_S": units.TIME_MAX_S,
    "COUNTER_MAX": units.COUNTER_MAX,
    "ID_MAX": units.ID_MAX,
    "SLOT_SECONDS": units.SLOT_SECONDS,
    "JST_OFFSET_S": units.JST_OFFSET_S,
    "SLOT_MAX": units.Slot.MAX,
    "CHAIN_ID_MAX_BYTES": state.CHAIN_ID_MAX_BYTES,
    "MAX_OPEN_ORDERS_PER_MARKET": orders.MAX_OPEN_ORDERS_PER_MARKET,
    "ORDER_FEE_MSEN": orders.ORDER_FEE_MSEN,
    "MAX_DEPTH": cbor.MAX_DEPTH,
    "MAX_TX_BYTES": transactions.MAX_TX_BYTES,
    "MAX_BLOCK_BYTES": blocks.MAX_BLOCK_BYTES,
    "MAX_BLOCK_TXS": blocks.MAX_BLOCK_TXS,
    "MAX_BATCH_READINGS": MAX_BATCH_READINGS,
    "MAX_BLOCK_JUMP_S": block_time.MAX_BLOCK_JUMP_S,
    "MAX_VOTE_SKEW_S": block_time.MAX_VOTE_SKEW_S,
    "MAX_CORRECTIONS_PER_READING": state.MAX_CORRECTIONS_PER_READING,
    "LTHASH_LANES": state.LTHASH_LANES,
    "LTHASH_BYTES": state.LTHASH_BYTES,
    "HASH_BYTES": crypto.HASH_BYTES,
    "PUBLIC_KEY_BYTES": crypto.PUBLIC_KEY_BYTES,
    "SIGNATURE_BYTES": crypto.SIGNATURE_BYTES,
    "TAG_TX_SIGNING": crypto.TAG_TX_SIGNING.decode("ascii"),
    "TAG_TX_ID": crypto.TAG_TX_ID.decode("ascii"),
    "TAG_MERKLE_LEAF": crypto.TAG_MERKLE_LEAF.decode("ascii"),
    "TAG_MERKLE_NODE": crypto.TAG_MERKLE_NODE.decode("ascii"),
    "TAG_BLOCK_HEADER": crypto.TAG_BLOCK_HEADER.decode("ascii"),
    "TAG_BLOCK_VOTE": crypto.TAG_BLOCK_VOTE.decode("ascii"),
    "TAG_STATE_ENTRY": crypto.TAG_STATE_ENTRY.decode("ascii"),
    "TAG_STATE_ROOT": crypto.TAG_STATE_ROOT.decode("ascii"),
    "EXPAND_NONCE": crypto.EXPAND_NONCE.decode("ascii"),
}

CONSTANT_ROW = re.compile(r"^\| `(?P<name>[A-Z_0-9]+)` \| `(?P<value>[^`]*)` \|")


def test_the_constants_table_matches_the_code() -> None:
    rows = {}
    for line in rulebook_lines():
        match = CONSTANT_ROW.match(line)
        if match and match["name"] in CONSTANTS:
            assert match["name"] not in rows, f"{match['name']} listed twice"
            rows[match["name"]] = match["value"]
    assert sorted(set(CONSTANTS) - set(rows)) == [], "constants missing from RULEBOOK.md"
    for name, value in CONSTANTS.items():
        expected = str(value) if isinstance(value, str) else f"{value:_}".replace("_", " ")
        assert rows[name] == expected, name


def test_the_enumerations_in_the_document_match_the_code() -> None:
    text = RULEBOOK.read_text(encoding="utf-8")
    enums = (
        transactions.Kind,
        state.Role,
        state.NodeKind,
        state.Source,
        state.Encumbrance,
        state.Side,
        state.OrderStatus,
        state.MarketStatus,
        state.Table,
        state.LedgerKey,
    )
    for enum in enums:
        listed = re.search(rf"^`{enum.__name__}`: (.+)$", text, re.MULTILINE)
        assert listed, f"no line listing `{enum.__name__}`"
        pairs = re.findall(r"`([A-Z_]+)` = (\d+)", listed[1])
        assert pairs == [(m.name, str(m.value)) for m in enum], enum.__name__


# --- The worked clearing examples, recomputed --------------------------------------------------

_EXAMPLE = re.compile(r"^```clearing-example\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def _examples() -> list[str]:
    return _EXAMPLE.findall(RULEBOOK.read_text(encoding="utf-8"))


def _run_example(text: str) -> tuple[dict[str, object], dict[str, object]]:
    """Build the example's market, run CLR-02 and the call auction; return (claimed, computed)."""
    params = ChainParams("example", 1, 1, public_key_of(bytes(32)))
    owners: dict[str, bytes] = {}
    demand: dict[tuple[bytes, NodeId, Slot], Demand] = {}
    asks: list[AuctionOrder] = []
    bids: list[tuple[OrderId, Order]] = []
    claimed: dict[str, object] = {}
    zone, slot = NodeId(1), Slot(1)
    for raw in text.splitlines():
        words = raw.split("#")[0].split()
        if not words:
            continue
        if words[0] == "demand":  # demand <buyer> <unclaimed Wh>
            owner = owners.setdefault(words[1], bytes([len(owners) + 1]) * 32)
            demand[(owner, zone, slot)] = Demand(Wh(int(words[2])), Wh(0))
        elif words[0] == "ask":  # ask <id> limit <price> quantity <Wh>
            asks.append(AuctionOrder(int(words[1]), int(words[3]), int(words[5])))
        elif words[0] == "bid":  # bid <id> by <buyer> limit <price> quantity <Wh>
            owner = owners.setdefault(words[3], bytes([len(owners) + 1]) * 32)
            order = Order(
                side=Side.BID,
                owner=owner,
                zone=zone,
                slot=slot,
                lot_meter=None,
                quantity_wh=Wh(int(words[7])),
                limit_price=PriceSenPerKwh(int(words[5])),
                fee=PriceSenPerKwh(0),
                escrow=MilliSen(0),
                status=OrderStatus.OPEN,
                filled_wh=Wh(0),
            )
            bids.append((OrderId(int(words[1])), order))
        elif words[0] == "eligible":  # eligible <id>:<Wh> ...
            claimed["eligible"] = words[1:]
        elif words[0] in ("volume", "price"):
            claimed[words[0]] = words[1]
        elif words[0] == "fills":  # fills <id>:<Wh> ...
            claimed["fills"] = words[1:]
        else:
            raise AssertionError(f"unknown example line {raw!r}")
    market_state = replace(genesis(params, {params.fee_account: 1}, 0), demand=FrozenMap(demand))
    eligible = eligible_bids(market_state, bids)
    result = call_auction(asks, eligible)
    computed: dict[str, object] = {
        "eligible": [f"{int(o.order_id)}:{int(o.quantity_wh)}" for o in eligible],
        "volume": str(result.volume_wh),
        "price": "none" if result.price is None else str(result.price),
        "fills": [f"{int(k)}:{int(v)}" for k, v in sorted(result.fills.items())],
    }
    return claimed, {key: computed[key] for key in claimed}


def test_the_document_has_worked_clearing_examples() -> None:
    examples = _examples()
    assert len(examples) >= 2
    for text in examples:
        claimed, _ = _run_example(text)
        assert {"volume", "price", "fills"} <= set(claimed)


@pytest.mark.parametrize("index", range(len(_examples()) if RULEBOOK.exists() else 0))
def test_a_worked_clearing_example_is_what_the_spec_computes(index: int) -> None:
    claimed, computed = _run_example(_examples()[index])
    assert claimed == computed


def test_an_example_with_a_wrong_price_is_caught() -> None:
    text = "ask 1 limit 100 quantity 10\nbid 2 by x limit 300 quantity 10\ndemand x 10\n"
    claimed, computed = _run_example(text + "volume 10\nprice 200\nfills 1:10 2:10\n")
    assert claimed == computed
    claimed, computed = _run_example(text + "volume 10\nprice 201\nfills 1:10 2:10\n")
    assert claimed != computed


# --- The wire tables of chapter 9, against the schemas in the code -----------------------------


def _table_after(caption: str) -> list[list[str]]:
    """The cells of the first Markdown table after the line that starts with ``caption``."""
    lines = rulebook_lines()
    start = next(i for i, line in enumerate(lines) if line.startswith(caption))
    rows: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            break
    return rows[2:]  # without the header and the separator


def _keys_and_names(fields: tuple[wire.Field, ...]) -> list[tuple[str, str]]:
    return [(str(f.key), f.name) for f in fields]


def test_the_envelope_reading_and_header_tables_match_the_schemas() -> None:
    tables = {
        "**Transaction envelope**": transactions._ENVELOPE_HEAD,
        "**Attestation reading**": READING_FIELDS,
        "**Block header**": blocks._HEADER_FIELDS,
    }
    for caption, fields in tables.items():
        rows = _table_after(caption)
        assert [(key, name) for key, name, *_ in rows] == _keys_and_names(fields), caption


def test_the_transaction_body_table_matches_every_kind() -> None:
    documented: dict[str, list[tuple[str, str]]] = {}
    kind = ""
    for first, key, name, *_ in _table_after("**Transaction bodies**"):
        if first:
            kind = first.split(" ")[0]
            assert first == f"{kind} ({transactions.Kind[kind].value})", first
        documented.setdefault(kind, []).append((key, name))
    expected = {k.name: _keys_and_names(rule.fields) for k, rule in transactions.KINDS.items()}
    assert documented == expected


def test_the_record_table_matches_the_state_records() -> None:
    records = {
        "chain parameters": state.ChainParams,
        "account": state.Account,
        "grid node": state.GridNode,
        "meter": state.Meter,
        "encumbrance change": state.EncumbranceChange,
        "reading": state.Reading,
        "lot": state.Lot,
        "demand": state.Demand,
        "order": state.Order,
        "market": state.Market,
        "pending validator": state.PendingValidator,
        "pending key": state.PendingKey,
    }
    rows = {label: cells for label, cells in _table_after("**Records.**")}
    assert sorted(rows) == sorted(records)
    for label, record in records.items():
        documented = re.findall(r"(\d+): (\w+)", rows[label])
        expected = [(str(i), f.name) for i, f in enumerate(dataclass_fields(record))]
        assert documented == expected, label


def test_the_package_version_is_the_rule_book_version() -> None:
    """One version for the rule book, the spec, the vectors and the package (section 12)."""
    import tomllib

    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    assert project["project"]["version"] == SPEC_VERSION


def _named_vectors_and_obligations(text: str) -> list[str]:
    """Backquoted names in ``text`` that start with a vector group (``settlement/...``)."""
    vectors = REPO / "conformance_tests" / "vectors"
    groups = {p.name for p in vectors.iterdir() if p.is_dir()}
    found = re.findall(r"`([a-z_]+/[A-Za-z0-9_./*-]+)`", text)
    return [t for t in found if t.split("/")[0] in groups and not t.endswith((".py", ".md"))]


def test_every_vector_and_obligation_the_documents_name_exists() -> None:
    """A rule book or README sentence that cites a vector or proof obligation as evidence must
    cite one that exists (a name may end in ``*`` or ``-*`` for a family). The release notes
    (section 12.1) are history: they name vectors that were renamed or withdrawn since."""
    import fnmatch

    from proofs.obligations import names

    rulebook = RULEBOOK.read_text(encoding="utf-8")
    notes_start = rulebook.index("### 12.1 Release notes")
    notes_end = rulebook.index("\n## 13.", notes_start)
    current = rulebook[:notes_start] + rulebook[notes_end:]
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    root = REPO / "conformance_tests" / "vectors"
    known = {str(p.relative_to(root))[: -len(".cbor")] for p in root.rglob("*.cbor")}
    known |= set(names())
    cited = _named_vectors_and_obligations(current) + _named_vectors_and_obligations(readme)
    assert len(cited) > 100, len(cited)  # the rule book cites its evidence throughout
    missing = sorted(
        {
            name
            for name in cited
            if not any(fnmatch.fnmatchcase(k, name) or k.startswith(name) for k in known)
        }
    )
    assert not missing, missing
