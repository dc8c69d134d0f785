"""The CDDL schema ``spec/kwhledger.cddl`` describes every object the spec puts on the wire.

Objects come from the spec itself (a village that registers, attests, trades, cancels, moves money
and clears in a block), so a field the spec adds or renumbers without the schema makes a test fail.
Negative cases show that the validator can fail, and most of them are also run through the spec's
own schema checks, so that the CDDL and the code are seen to accept and reject the same objects.

Validator: ``cddl-verifier`` (pure Python, whole RFC 8610 grammar). ``pycddl`` 0.6.4 was tried and
accepts ``-1`` for ``uint .le 1000000``, which would hide the bound checks this file is about.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import spec
from conformance_tests.scenario import Ledger, key_of, seed_of, small_village
from spec.attestation import MAX_BATCH_READINGS
from spec.blocks import MAX_BLOCK_TXS, apply_block
from spec.cbor import decode, encode
from spec.crypto import sign
from spec.errors import Rejected
from spec.keys import rotation_bytes
from spec.rules import RULES
from spec.settlement import (
    DemandRecord,
    LotRecord,
    MarketRecord,
    OrderRecord,
    ReadingRecord,
    decode_record,
    make_proof,
    verify_proof,
)
from spec.settlement import record_to_cbor as settlement_record_to_cbor
from spec.state import (
    ALL_ROLES,
    CHAIN_ID_MAX_BYTES,
    Encumbrance,
    MarketStatus,
    NodeKind,
    OrderStatus,
    Role,
    Side,
    Source,
    State,
    decode_state,
    encode_state,
    entries,
)
from spec.transactions import KINDS, MAX_TX_BYTES, Kind, decode_transaction
from spec.units import (
    COUNTER_MAX,
    ID_MAX,
    MONEY_MAX_MSEN,
    PRICE_MAX_SEN_PER_KWH,
    SLOT_SECONDS,
    TIME_MAX_S,
    WH_MAX,
)

try:  # a missing validator is a failure of this test module, never a silent skip
    import cddl_verifier
except ImportError as missing:
    raise ImportError(
        "cddl-verifier is missing: install the test tools, pip install -e '.[test]'"
    ) from missing

SCHEMA_PATH = Path(spec.__file__).with_name("kwhledger.cddl")
SLOT_MAX = TIME_MAX_S // SLOT_SECONDS


@pytest.fixture(scope="module")
def schema() -> Any:
    return cddl_verifier.Validator(SCHEMA_PATH)


def problems(schema: Any, value: object, root: str) -> list[str]:
    """The validator's complaints about ``value`` (bytes are validated as they are)."""
    data = value if isinstance(value, bytes) else encode(value)
    result = schema.validate(data, root_type=root)
    return [] if result.valid else [f"{d.path_text}: {d.message}" for d in result.diagnostics]


def conforms(schema: Any, value: object, root: str) -> bool:
    return not problems(schema, value, root)


# --- A village that uses every kind of transaction, a block and a clearing ---------------------


@dataclass
class Village:
    """The ledger plus every transaction, state and block the scenario produced."""

    ledger: Ledger
    transactions: list[bytes] = field(default_factory=list)
    states: list[State] = field(default_factory=list)
    blocks: list[bytes] = field(default_factory=list)
    block_receipts: list[Any] = field(default_factory=list)
    slot: int = 0
    """The slot that was attested, traded and cleared."""

    def do(self, sender: str, kind: Kind, body: object) -> None:
        tx = self.ledger.make(sender, kind, body)
        receipt = self.ledger.submit(tx, sender)
        assert receipt.accepted, receipt
        self.transactions.append(tx)


VALIDATORS = ("validator-1", "validator-2", "validator-3", "validator-4")


@pytest.fixture(scope="module")
def village() -> Village:
    v = Village(Ledger.new(validators=VALIDATORS))
    v.states.append(v.ledger.state)  # genesis: empty tables
    small_village(v.ledger)
    v.states.append(v.ledger.state)
    slot = v.slot = v.ledger.slot - 1
    v.do("operator", Kind.REGISTER_ACCOUNT, {0: key_of("grace"), 1: int(Role.TRADER)})
    v.do("operator", Kind.REGISTER_NODE, {0: 7, 1: int(NodeKind.SERVICE_POINT), 2: 2, 3: 0})
    meter = {0: 107, 1: key_of("grace"), 2: key_of("attestor"), 3: 7, 4: 1, 5: 5000, 6: 1}
    v.do("operator", Kind.REGISTER_METER, meter)
    v.do("operator", Kind.DEPOSIT, {0: key_of("grace"), 1: 1_000_000})
    readings = [
        {0: 103, 1: slot, 2: 3000, 3: 0, 4: int(Encumbrance.NONE)},
        {0: 104, 1: slot, 2: 0, 3: 2500, 4: int(Encumbrance.NONE)},
        {0: 105, 1: slot, 2: 0, 3: 1000, 4: int(Encumbrance.NONE)},
        {0: 106, 1: slot, 2: 0, 3: 100, 4: int(Encumbrance.NONE)},
        {0: 107, 1: slot, 2: 700, 3: 0, 4: int(Encumbrance.FEED_IN_TARIFF)},
    ]
    v.do("attestor", Kind.ATTEST, {0: readings})
    v.do("attestor", Kind.CORRECT_READING, {0: 105, 1: slot, 2: 0, 3: 1200, 4: 0})
    change = {0: 106, 1: slot + 2, 2: int(Encumbrance.J_CREDIT)}
    v.do("operator", Kind.SET_METER_ENCUMBRANCE, change)  # from the next slot on
    v.do("operator", Kind.RETIRE_METER, {0: 107, 1: slot + 1})  # from the current slot on
    v.do("alice", Kind.PLACE_ASK, {0: 103, 1: slot, 2: 3000, 3: 2000})
    v.do("bob", Kind.PLACE_BID, {0: 1, 1: slot, 2: 2500, 3: 2500})
    v.do("carol", Kind.PLACE_BID, {0: 1, 1: slot, 2: 1000, 3: 2400})
    v.do("dave", Kind.PLACE_BID, {0: 1, 1: slot, 2: 100, 3: 2000})
    v.do("dave", Kind.CANCEL, {0: 4})
    v.do("bob", Kind.WITHDRAW, {0: 1000})
    v.do("alice", Kind.TRANSFER, {0: key_of("grace"), 1: 500})
    update = v.ledger.validator_update("validator-1", key_of("validator-5"), 1, VALIDATORS[1:])
    assert v.ledger.submit(update, "validator-1").accepted
    v.transactions.append(update)
    new_key, chain = key_of("validator-2-new"), v.ledger.state.params.chain_id
    message = rotation_bytes(
        chain, key_of("validator-2"), v.ledger.nonces.get("validator-2", 0), new_key
    )
    v.do("validator-2", Kind.ROTATE_KEY, {0: new_key, 1: sign(seed_of("validator-2-new"), message)})
    v.do("operator", Kind.REVOKE_ROLE, {0: key_of("grace"), 1: int(Role.TRADER)})
    v.states.append(v.ledger.state)  # open market with orders
    # Rejected transactions, for their receipts: a replay (TX-05) and bytes that are not CBOR.
    assert v.ledger.submit(v.transactions[-1]).code == 205
    assert v.ledger.submit(b"\xff").code == 101
    # A block two hours later clears the market, and carries two more transactions.
    in_block = [
        v.ledger.make("erin", Kind.TRANSFER, {0: key_of("frank"), 1: 1}),
        v.ledger.make("frank", Kind.WITHDRAW, {0: 2}),
    ]
    block, receipt = v.ledger.block(in_block, v.ledger.state.time + 7200, VALIDATORS[:3])
    assert receipt.accepted, receipt
    v.ledger.nonces["erin"] = v.ledger.nonces.get("erin", 0) + 1
    v.ledger.nonces["frank"] = v.ledger.nonces.get("frank", 0) + 1
    v.transactions += in_block
    v.blocks.append(block)
    v.block_receipts.append(receipt)
    v.states.append(v.ledger.state)  # cleared market, its slot pruned into the settlement
    # The same block again is rejected (BLK-02): a rejecting block receipt.
    _, again = apply_block(v.ledger.state, block)
    assert again.rule_id == "BLK-02"
    v.block_receipts.append(again)
    return v


def test_the_scenario_uses_every_transaction_kind_and_fills_every_state_table(
    village: Village,
) -> None:
    kinds = {decode_transaction(tx).kind for tx in village.transactions}
    assert kinds == set(Kind)
    full = village.states[-2]  # before the block that clears and prunes the slot
    tables = ("accounts", "nodes", "meters", "readings", "lots", "demand", "orders", "markets")
    assert all(len(getattr(full, name)) > 0 for name in tables)
    settled = village.block_receipts[0].settlement
    assert {type(r) for r in settled} == {
        MarketRecord,
        OrderRecord,
        LotRecord,
        DemandRecord,
        ReadingRecord,
    }
    market = next(r for r in settled if isinstance(r, MarketRecord) and r.zone == 1)
    assert (market.slot, market.price) == (village.slot, 2400)


def test_settlement_records_and_proofs_conform(schema: Any, village: Village) -> None:
    """Every record the clearing block settled, and a proof file of each, match the schema;
    a record with a field missing or added does not, and the spec's decoder rejects it too."""
    settled = village.block_receipts[0].settlement
    header = decode(village.blocks[0], max_size=2**24)[0]
    assert isinstance(header, dict)
    for index, record in enumerate(settled):
        encoded = settlement_record_to_cbor(record)
        assert problems(schema, encoded, "settlement-record") == [], record
        proof = make_proof(header, settled, index)
        assert verify_proof(proof)
        assert problems(schema, proof.to_cbor(), "settlement-proof") == []
        for bad in [
            *({k: v for k, v in encoded.items() if k != drop} for drop in encoded if drop),
            {**encoded, len(encoded): 0},
        ]:
            assert not conforms(schema, bad, "settlement-record"), bad
            with pytest.raises(Rejected):
                decode_record(bad)


def test_every_transaction_conforms(schema: Any, village: Village) -> None:
    for tx in village.transactions:
        assert problems(schema, tx, "transaction") == [], decode_transaction(tx).kind


def test_every_signing_payload_conforms(schema: Any, village: Village) -> None:
    for tx in village.transactions:
        parsed = decode_transaction(tx)
        payload = [parsed.chain_id, int(parsed.kind), parsed.sender, parsed.nonce, parsed.body_cbor]
        assert problems(schema, payload, "signing-payload") == []


def test_blocks_and_block_receipts_conform(schema: Any, village: Village) -> None:
    for block in village.blocks:
        assert problems(schema, block, "block") == []
    assert [r.code for r in village.block_receipts] == [0, 702]
    for receipt in village.block_receipts:
        assert problems(schema, receipt.to_cbor(), "block-receipt") == []


def test_transaction_receipts_conform_accepted_and_rejected(schema: Any, village: Village) -> None:
    receipts = village.ledger.receipts
    assert {r.code for r in receipts} >= {0, 101, 205}
    for receipt in receipts:
        assert problems(schema, receipt.to_cbor(), "receipt") == []


def test_every_state_and_every_state_entry_conforms(schema: Any, village: Village) -> None:
    for state in village.states:
        assert problems(schema, encode_state(state), "state") == []
        for table, key, value in entries(state):
            assert problems(schema, [int(table), key, value], "state-entry") == []


# --- Negative cases: the validator fails, and fails where the spec's schema check fails ----------


def envelope(kind: int, body: object, chain_id: object = "kwhledger-test") -> bytes:
    """A transaction with a dummy sender and signature (schema checks do not look at them)."""
    return encode({0: chain_id, 1: kind, 2: bytes(32), 3: 0, 4: body, 5: bytes(64)})


def spec_schema_accepts(tx: bytes) -> bool:
    """Whether the spec's decoder and schema checks (ENC rules, TX-02) accept ``tx``."""
    try:
        decode_transaction(tx)
    except Rejected:
        return False
    return True


def reading(**changes: object) -> dict[int, object]:
    names = {"meter": 0, "slot": 1, "exported_wh": 2, "imported_wh": 3, "encumbrance": 4}
    body: dict[int, object] = {0: 103, 1: 100, 2: 10, 3: 0, 4: 0}
    for name, value in changes.items():
        body[names[name]] = value
    return body


# (what, transaction bytes, whether it conforms)
TRANSACTION_CASES = [
    ("money at its bound", envelope(9, {0: MONEY_MAX_MSEN}), True),
    ("money above its bound", envelope(9, {0: MONEY_MAX_MSEN + 1}), False),
    ("negative money", envelope(9, {0: -1}), False),
    ("boolean for an integer", envelope(9, {0: True}), False),
    ("unknown body key", envelope(9, {0: 5, 1: 0}), False),
    ("missing body key", envelope(9, {}), False),
    ("price at its bound", envelope(5, {0: 103, 1: 9, 2: 1, 3: PRICE_MAX_SEN_PER_KWH}), True),
    (
        "price above its bound",
        envelope(5, {0: 103, 1: 9, 2: 1, 3: PRICE_MAX_SEN_PER_KWH + 1}),
        False,
    ),
    ("energy at its bound", envelope(4, {0: [reading(exported_wh=WH_MAX)]}), True),
    ("energy above its bound", envelope(4, {0: [reading(imported_wh=WH_MAX + 1)]}), False),
    ("slot at its bound", envelope(6, {0: 1, 1: SLOT_MAX, 2: 1, 3: 1}), True),
    ("slot above its bound", envelope(6, {0: 1, 1: SLOT_MAX + 1, 2: 1, 3: 1}), False),
    ("unknown encumbrance", envelope(4, {0: [reading(encumbrance=4)]}), False),
    ("unknown key in a reading", envelope(4, {0: [{**reading(), 5: 0}]}), False),
    ("unknown node kind", envelope(2, {0: 1, 1: 3, 2: None, 3: 0}), False),
    ("null parent", envelope(2, {0: 1, 1: 0, 2: None, 3: 0}), True),
    ("text parent", envelope(2, {0: 1, 1: 0, 2: "1", 3: 0}), False),
    ("node id above its bound", envelope(2, {0: 2**32, 1: 0, 2: None, 3: 0}), False),
    ("order id 0", envelope(7, {0: 0}), False),
    ("order id at its bound", envelope(7, {0: COUNTER_MAX}), True),
    ("account id of 31 bytes", envelope(10, {0: bytes(31), 1: 1}), False),
    ("roles: any 64-bit value on the wire", envelope(1, {0: bytes(32), 1: 2**64 - 1}), True),
    ("chain id of 64 bytes", envelope(9, {0: 1}, chain_id="é" * 32), True),
    ("chain id of 65 bytes", envelope(9, {0: 1}, chain_id="é" * 32 + "x"), False),
    ("empty chain id", envelope(9, {0: 1}, chain_id=""), False),
    ("unknown kind", envelope(15, {0: 1}), False),
    (
        "unknown envelope key",
        encode({0: "c", 1: 9, 2: bytes(32), 3: 0, 4: {0: 1}, 5: bytes(64), 7: 0}),
        False,
    ),
    (
        "nonce above its bound",
        encode({0: "c", 1: 9, 2: bytes(32), 3: 2**63, 4: {0: 1}, 5: bytes(64)}),
        False,
    ),
]


@pytest.mark.parametrize(
    ("tx", "expected"),
    [pytest.param(tx, ok, id=what) for what, tx, ok in TRANSACTION_CASES],
)
def test_the_schema_and_the_spec_agree_on_a_transaction(
    schema: Any, tx: bytes, expected: bool
) -> None:
    assert conforms(schema, tx, "transaction") is expected
    assert spec_schema_accepts(tx) is expected


def test_batch_sizes_outside_att_01_do_not_conform(schema: Any) -> None:
    # The spec's decoder accepts these; ATT-01 (code 401) rejects them when the batch is applied.
    assert not conforms(schema, envelope(4, {0: []}), "transaction")
    assert not conforms(schema, envelope(4, {0: [reading()] * 1025}), "transaction")
    assert conforms(schema, envelope(4, {0: [reading()] * 1024}), "transaction")


def test_every_body_field_number_is_in_the_schema(schema: Any, village: Village) -> None:
    """Dropping any field of the *_FIELDS tuples, or adding the next number, breaks conformance."""
    for tx in village.transactions:
        value: Any = decode(tx, max_size=len(tx))
        assert isinstance(value, dict)
        body = value[4]
        assert isinstance(body, dict)
        kind = Kind(value[1])
        assert sorted(body) == [f.key for f in KINDS[kind].fields]
        for key in body:
            without = {**value, 4: {k: v for k, v in body.items() if k != key}}
            assert not conforms(schema, without, "transaction"), (kind, key)
        extra = {**value, 4: {**body, len(body): 0}}
        assert not conforms(schema, extra, "transaction"), kind


def test_every_record_field_number_is_in_the_schema(schema: Any, village: Village) -> None:
    """For each table's first row: each missing field and one extra field break the state."""
    encoded: Any = encode_state(village.states[-2])
    assert isinstance(encoded, dict)
    for table in range(1, 9):
        rows = encoded[table]
        assert isinstance(rows, list) and rows
        key, record = rows[0]
        assert isinstance(record, dict)
        for bad in [
            *({k: v for k, v in record.items() if k != drop} for drop in record),
            {**record, len(record): 0},
        ]:
            mutated = {**encoded, table: [[key, bad], *rows[1:]]}
            assert not conforms(schema, mutated, "state"), (table, bad)
            with pytest.raises(Rejected):
                decode_state(decode(encode(mutated), max_size=2**24))


def _state_mutations(encoded: dict[Any, Any]) -> Iterator[tuple[str, dict[Any, Any]]]:
    accounts = encoded[1]
    first_key, first_account = accounts[0]
    yield "roles above 15", {**encoded, 1: [[first_key, {**first_account, 0: 16}], *accounts[1:]]}
    yield (
        "balance above its bound",
        {
            **encoded,
            1: [[first_key, {**first_account, 2: MONEY_MAX_MSEN + 1}], *accounts[1:]],
        },
    )
    yield "tip hash of 31 bytes", {**encoded, 9: bytes(31)}
    yield "ledger row missing", {**encoded, 0: encoded[0][:-1]}
    yield "ledger rows out of order", {**encoded, 0: encoded[0][::-1]}
    yield "unknown table", {**encoded, 10: []}
    markets = encoded[8]
    market_key, market = markets[0]
    yield "market status 2", {**encoded, 8: [[market_key, {**market, 0: 2}], *markets[1:]]}


def test_broken_states_do_not_conform(schema: Any, village: Village) -> None:
    encoded = encode_state(village.states[-2])
    assert isinstance(encoded, dict)
    for what, mutated in _state_mutations(encoded):
        assert not conforms(schema, mutated, "state"), what
        with pytest.raises(Rejected):
            decode_state(decode(encode(mutated), max_size=2**24))


def test_receipts_pair_each_code_with_its_own_rule(schema: Any) -> None:
    tx_id = bytes(32)
    assert conforms(schema, {0: tx_id, 1: 205, 2: "TX-05"}, "receipt")
    assert not conforms(schema, {0: tx_id, 1: 205, 2: "TX-04"}, "receipt")
    assert not conforms(schema, {0: tx_id, 1: 0, 2: "TX-05"}, "receipt")
    assert not conforms(schema, {0: tx_id, 1: 709, 2: "BLK-09"}, "receipt")
    assert not conforms(schema, {0: tx_id, 1: 0, 2: None, 3: ""}, "receipt")
    assert conforms(schema, {0: 709, 1: "BLK-09", 2: [{0: tx_id, 1: 0, 2: None}]}, "block-receipt")
    assert not conforms(schema, {0: 205, 1: "TX-05", 2: []}, "block-receipt")


def test_block_with_too_many_transactions_does_not_conform(schema: Any, village: Village) -> None:
    value = decode(village.blocks[0], max_size=2**24)
    assert isinstance(value, dict)
    assert conforms(schema, {**value, 1: [b""] * 4096}, "block")
    assert not conforms(schema, {**value, 1: [b""] * 4097}, "block")
    assert not conforms(schema, {**value, 1: [bytes(65_537)]}, "block")
    assert not conforms(schema, {**value, 2: [[bytes(32), bytes(63)]]}, "block")


# --- The schema's rejection codes follow the rule registry -------------------------------------


def _outcomes(name: str) -> list[tuple[int, str]]:
    text = SCHEMA_PATH.read_text(encoding="utf-8")
    match = re.search(rf"^{name} = \((.*?)^\)", text, re.MULTILINE | re.DOTALL)
    assert match, name
    pairs = re.findall(r'\(\d: (\d+), \d: "([A-Z]+-\d\d)"\)', match.group(1))
    return [(int(code), rule_id) for code, rule_id in pairs]


def test_receipt_outcomes_are_exactly_the_registry_codes() -> None:
    validity = [(r.code, r.id) for r in RULES if r.code is not None]
    # PRE rules refuse a loaded state, never a transaction or a block (rule book 11.18); TIM
    # rules refuse blocks.
    tx_side = [(c, i) for c, i in validity if not i.startswith(("BLK-", "PRE-", "TIM-"))]
    block_side = [(c, i) for c, i in validity if i.startswith(("ENC-", "BLK-", "TIM-"))]
    assert _outcomes("tx-outcome") == tx_side
    assert _outcomes("block-outcome") == block_side


def _rule_text(name: str) -> str:
    """The text of one CDDL rule, from its name to the next blank line."""
    text = SCHEMA_PATH.read_text(encoding="utf-8")
    match = re.search(rf"^{name} = (.*?)\n\n", text, re.MULTILINE | re.DOTALL)
    assert match, name
    return match.group(1)


def test_the_schema_enumerations_and_bounds_are_the_code_s() -> None:
    enums = {
        "node-kind": NodeKind,
        "source": Source,
        "encumbrance": Encumbrance,
        "side": Side,
        "order-status": OrderStatus,
        "market-status": MarketStatus,
    }
    for name, enum in enums.items():
        choices = re.findall(r"(\d+)\s*; ([A-Z_]+)", _rule_text(name))
        assert choices == [(str(m.value), m.name) for m in enum], name
    kinds = re.findall(r"envelope<(\d+), [a-z-]+>\s*; ([A-Z_]+)", SCHEMA_PATH.read_text())
    assert kinds == [(str(k.value), k.name) for k in Kind]
    bounds = {
        "wh": WH_MAX,
        "price": PRICE_MAX_SEN_PER_KWH,
        "money": MONEY_MAX_MSEN,
        "timestamp": TIME_MAX_S,
        "slot": SLOT_MAX,
        "height": COUNTER_MAX,
        "nonce": COUNTER_MAX,
        "node-id": ID_MAX,
        "meter-id": ID_MAX,
        "seconds": TIME_MAX_S,
        "roles": ALL_ROLES,
    }
    text = SCHEMA_PATH.read_text(encoding="utf-8")
    for name, bound in bounds.items():
        assert re.search(rf"^{name} = uint \.le {bound}\b", text, re.MULTILINE), name
    assert re.search(rf"^order-id = 1\.\.{COUNTER_MAX}\b", text, re.MULTILINE)
    assert re.search(rf"^chain-id = tstr \.size \(1\.\.{CHAIN_ID_MAX_BYTES}\)", text, re.MULTILINE)
    assert re.search(rf"^tx-bytes = bstr \.size \(0\.\.{MAX_TX_BYTES}\)", text, re.MULTILINE)
    assert f"[1*{MAX_BATCH_READINGS} attestation-reading]" in text
    assert f"[0*{MAX_BLOCK_TXS} tx-bytes]" in text
