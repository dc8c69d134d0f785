"""Transactions: the signed envelope, its kinds, and ``apply_transaction`` (TX-01 .. TX-07).

A transaction is a CBOR map::

    {0: chain_id (text), 1: kind (uint), 2: sender (32 bytes), 3: nonce (uint),
     4: body (map, per kind), 5: signature (64 bytes), ? 6: valid_until (timestamp)}

The sender signs ``tag || 0x00 || encode([chain_id, kind, sender, nonce, body])`` (with
``valid_until`` as a sixth element when the envelope carries it) where the tag is
``kwhledger/tx-signing/v1/`` followed by the kind's name: a signature made for one kind can never
be replayed as another (domain separation), nor on another chain (the chain id, which derives from
the chain's genesis, TX-08), nor twice (the nonce), nor after its horizon (TX-09).

``apply_transaction`` checks, in this order, and stops at the first rule broken:

1. size, CBOR strictness and the envelope's schema (ENC rules);
2. the kind is known (TX-02), then the body's schema (ENC rules);
3. chain id (TX-01), registered sender (TX-03), signature (TX-04), nonce (TX-05), horizon
   (TX-09), role (TX-06);
4. the kind's own rules, in the order its module states.

A rejected transaction leaves the state exactly as it was, nonce included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final

from spec import wire
from spec.accounts import REGISTER_ACCOUNT_FIELDS, RegisterAccount, register_account, signing_key
from spec.attestation import ATTEST_FIELDS, Attest, attest
from spec.cbor import CborKey, CborValue, decode, encode
from spec.corrections import CORRECT_READING_FIELDS, CorrectReading, correct_reading
from spec.crypto import (
    PUBLIC_KEY_BYTES,
    SIGNATURE_BYTES,
    TAG_TX_ID,
    TAG_TX_SIGNING,
    public_key_of,
    sign,
    tagged_hash,
    verify,
)
from spec.errors import Rejected, require
from spec.grid import REGISTER_NODE_FIELDS, RegisterNode, register_node
from spec.keys import ROTATE_KEY_FIELDS, RotateKey, rotate_key
from spec.meter_lifecycle import (
    RETIRE_METER_FIELDS,
    SET_METER_ENCUMBRANCE_FIELDS,
    RetireMeter,
    SetMeterEncumbrance,
    retire_meter,
    set_meter_encumbrance,
)
from spec.meters import REGISTER_METER_FIELDS, RegisterMeter, register_meter
from spec.money import (
    DEPOSIT_FIELDS,
    TRANSFER_FIELDS,
    WITHDRAW_FIELDS,
    Deposit,
    Transfer,
    Withdraw,
    deposit,
    transfer,
    withdraw,
)
from spec.orders import (
    CANCEL_FIELDS,
    PLACE_ASK_FIELDS,
    PLACE_BID_FIELDS,
    Cancel,
    PlaceAsk,
    PlaceBid,
    cancel,
    place_ask,
    place_bid,
)
from spec.roles import REVOKE_ROLE_FIELDS, RevokeRole, revoke_role
from spec.rules import implements
from spec.state import CHAIN_ID_MAX_BYTES, AccountId, Role, State, with_account
from spec.units import COUNTER_MAX, Nonce, Timestamp
from spec.validators import VALIDATOR_UPDATE_FIELDS, ValidatorUpdate, validator_update

MAX_TX_BYTES: Final = 65_536
"""Largest transaction (ENC-09); a full attestation batch of 1 024 readings fits."""


class Kind(IntEnum):
    """Transaction kinds (TX-02)."""

    REGISTER_ACCOUNT = 1
    REGISTER_NODE = 2
    REGISTER_METER = 3
    ATTEST = 4
    PLACE_ASK = 5
    PLACE_BID = 6
    CANCEL = 7
    DEPOSIT = 8
    WITHDRAW = 9
    TRANSFER = 10
    VALIDATOR_UPDATE = 11
    ROTATE_KEY = 12
    REVOKE_ROLE = 13
    RETIRE_METER = 14
    SET_METER_ENCUMBRANCE = 15
    CORRECT_READING = 16


@dataclass(frozen=True)
class KindRule:
    """What one kind needs: its body schema, the role its sender must hold, its transition."""

    body: type[Any]
    fields: tuple[wire.Field, ...]
    role: Role | None
    """``None``: any registered account may send it."""
    apply: Callable[[State, AccountId, Any], State]


KINDS: Final[dict[Kind, KindRule]] = {
    Kind.REGISTER_ACCOUNT: KindRule(
        RegisterAccount, REGISTER_ACCOUNT_FIELDS, Role.OPERATOR, register_account
    ),
    Kind.REGISTER_NODE: KindRule(RegisterNode, REGISTER_NODE_FIELDS, Role.OPERATOR, register_node),
    Kind.REGISTER_METER: KindRule(
        RegisterMeter, REGISTER_METER_FIELDS, Role.OPERATOR, register_meter
    ),
    Kind.ATTEST: KindRule(Attest, ATTEST_FIELDS, Role.ATTESTOR, attest),
    Kind.PLACE_ASK: KindRule(PlaceAsk, PLACE_ASK_FIELDS, Role.TRADER, place_ask),
    Kind.PLACE_BID: KindRule(PlaceBid, PLACE_BID_FIELDS, Role.TRADER, place_bid),
    Kind.CANCEL: KindRule(Cancel, CANCEL_FIELDS, Role.TRADER, cancel),
    Kind.DEPOSIT: KindRule(Deposit, DEPOSIT_FIELDS, Role.OPERATOR, deposit),
    Kind.WITHDRAW: KindRule(Withdraw, WITHDRAW_FIELDS, None, withdraw),
    Kind.TRANSFER: KindRule(Transfer, TRANSFER_FIELDS, None, transfer),
    Kind.VALIDATOR_UPDATE: KindRule(
        ValidatorUpdate, VALIDATOR_UPDATE_FIELDS, Role.VALIDATOR, validator_update
    ),
    Kind.ROTATE_KEY: KindRule(RotateKey, ROTATE_KEY_FIELDS, None, rotate_key),
    Kind.REVOKE_ROLE: KindRule(RevokeRole, REVOKE_ROLE_FIELDS, Role.OPERATOR, revoke_role),
    Kind.RETIRE_METER: KindRule(RetireMeter, RETIRE_METER_FIELDS, Role.OPERATOR, retire_meter),
    Kind.SET_METER_ENCUMBRANCE: KindRule(
        SetMeterEncumbrance,
        SET_METER_ENCUMBRANCE_FIELDS,
        Role.OPERATOR,
        set_meter_encumbrance,
    ),
    Kind.CORRECT_READING: KindRule(
        CorrectReading, CORRECT_READING_FIELDS, Role.ATTESTOR, correct_reading
    ),
}


@dataclass(frozen=True)
class Transaction:
    """A decoded transaction."""

    chain_id: str
    kind: Kind
    sender: AccountId
    nonce: Nonce
    body: Any
    """The kind's body dataclass."""
    body_cbor: CborValue
    """The body as it was on the wire, for the signature check."""
    signature: bytes
    valid_until: Timestamp | None = None
    """The last ledger time at which the transaction may be applied (TX-09); ``None``: no limit."""


@dataclass(frozen=True)
class Receipt:
    """The outcome of one transaction: accepted (code 0) or rejected with a code and rule."""

    tx_id: bytes
    code: int
    rule_id: str | None
    detail: str = ""
    """Human-readable context; not part of the receipt's encoding."""

    @property
    def accepted(self) -> bool:
        return self.code == 0

    def to_cbor(self) -> dict[CborKey, CborValue]:
        """The receipt's wire form: {0: tx id, 1: code, 2: rule id or null}."""
        return {0: self.tx_id, 1: self.code, 2: self.rule_id}


_ENVELOPE_HEAD: Final = (
    wire.Field(0, "chain_id", wire.text(CHAIN_ID_MAX_BYTES)),
    wire.Field(1, "kind", wire.plain_uint(2**64 - 1)),
    wire.Field(2, "sender", wire.fixed_bytes(PUBLIC_KEY_BYTES)),
    wire.Field(3, "nonce", wire.uint(Nonce)),
    wire.Field(4, "body", lambda value: value),
    wire.Field(5, "signature", wire.fixed_bytes(SIGNATURE_BYTES)),
    wire.Field(6, "valid_until", wire.uint(Timestamp), optional=True),
)


def signing_bytes(
    chain_id: str,
    kind: Kind,
    sender: bytes,
    nonce: int,
    body: object,
    valid_until: int | None = None,
) -> bytes:
    """What the sender signs: the kind's domain tag, then the envelope without the signature
    (its horizon last, when it has one)."""
    tag = TAG_TX_SIGNING + b"/" + kind.name.encode("ascii")
    fields: list[CborValue] = [chain_id, int(kind), sender, nonce, body]  # type: ignore[list-item]
    if valid_until is not None:
        fields.append(valid_until)
    return tag + b"\x00" + encode(fields)


@implements("HSH-02")
def tx_id(tx_bytes: bytes) -> bytes:
    """HSH-02: a transaction's id."""
    return tagged_hash(TAG_TX_ID, tx_bytes)


def decode_transaction(tx_bytes: bytes) -> Transaction:
    """Decode and schema-check a transaction, or raise ``Rejected`` (steps 1 and 2)."""
    value = decode(tx_bytes, max_size=MAX_TX_BYTES)
    head = wire.parse_map(value, _ENVELOPE_HEAD, "transaction")
    require(head["kind"] in Kind._value2member_map_, "TX-02", f"kind {head['kind']}")
    kind = Kind(head["kind"])
    rule = KINDS[kind]
    parsed = wire.parse_map(head["body"], rule.fields, kind.name)
    body = rule.body(**parsed)
    return Transaction(
        chain_id=head["chain_id"],
        kind=kind,
        sender=head["sender"],
        nonce=head["nonce"],
        body=body,
        body_cbor=head["body"],
        signature=head["signature"],
        valid_until=head["valid_until"],
    )


@implements("TX-07")
def execute(state: State, tx: Transaction) -> State:
    """Steps 3 and 4 on a decoded transaction; the new state, or ``Rejected``."""
    require(tx.chain_id == state.params.chain_id, "TX-01")
    account = state.accounts.get(tx.sender)
    require(account is not None, "TX-03")
    assert account is not None
    message = signing_bytes(tx.chain_id, tx.kind, tx.sender, tx.nonce, tx.body_cbor, tx.valid_until)
    require(verify(signing_key(state, tx.sender), message, tx.signature), "TX-04")
    require(tx.nonce == account.nonce and account.nonce < COUNTER_MAX, "TX-05")
    horizon = tx.valid_until
    require(horizon is None or state.time <= horizon, "TX-09", f"valid until {horizon}")
    rule = KINDS[tx.kind]
    require(rule.role is None or account.roles & rule.role != 0, "TX-06", tx.kind.name)
    after = rule.apply(state, tx.sender, tx.body)
    # TX-07: the nonce moves last, from the account as the transition left it.
    return with_account(after, tx.sender, nonce=Nonce(after.accounts[tx.sender].nonce + 1))


def apply_transaction(state: State, tx_bytes: bytes) -> tuple[State, Receipt]:
    """Apply one transaction at the ledger's current time.

    Returns the new state and an accepting receipt, or the unchanged state and a receipt naming
    the rejection code and rule.
    """
    identifier = tx_id(tx_bytes)
    try:
        after = execute(state, decode_transaction(tx_bytes))
    except Rejected as rejection:
        return state, Receipt(identifier, rejection.code, rejection.rule.id, rejection.detail)
    return after, Receipt(identifier, 0, None)


def make_transaction(
    seed: bytes,
    chain_id: str,
    kind: Kind,
    nonce: int,
    body: object,
    sender: bytes | None = None,
    valid_until: int | None = None,
) -> bytes:
    """Encode and sign a transaction with the key of ``seed`` (a tool for clients and tests).

    ``sender`` overrides the envelope's sender, to build transactions whose signature does not
    match it; ``valid_until`` gives the transaction a horizon (TX-09).
    """
    signer = public_key_of(seed)
    who = signer if sender is None else sender
    signature = sign(seed, signing_bytes(chain_id, kind, who, nonce, body, valid_until))
    envelope: dict[CborKey, CborValue] = {
        0: chain_id,
        1: int(kind),
        2: who,
        3: nonce,
        4: body,  # type: ignore[dict-item]
        5: signature,
    }
    if valid_until is not None:
        envelope[6] = valid_until
    return encode(envelope)
