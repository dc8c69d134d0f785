"""The rule book as data: every rule of the ledger with its stable id.

Each rule has an id (``AREA-NN``), a title, a kind and one normative sentence written with the
RFC 2119 words. A *validity* rule can reject an input and then names the rejection code it raises;
an *invariant* is a property every reachable state keeps; a *procedure* says how the ledger computes
something (clearing, roots) and rejects nothing.

Ids and codes are stable: a rule that is withdrawn keeps its id and is never reused. The normative
document ``spec/RULEBOOK.md`` presents the same rules; a test keeps the two in agreement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Any, Final, TypeVar


class RuleKind(Enum):
    """What sort of statement a rule is."""

    VALIDITY = "validity"
    INVARIANT = "invariant"
    PROCEDURE = "procedure"


@dataclass(frozen=True)
class Rule:
    """One numbered rule of the rule book."""

    id: str
    """Stable identifier, ``AREA-NN``."""
    title: str
    """A few words for tables and reports."""
    kind: RuleKind
    """Validity rule, invariant or procedure."""
    code: int | None
    """Numeric rejection code carried in receipts; ``None`` unless the rule can reject."""
    code_name: str | None
    """Symbolic name of the rejection code."""
    statement: str
    """The normative sentence."""


V, INV, P = RuleKind.VALIDITY, RuleKind.INVARIANT, RuleKind.PROCEDURE

# (id, title, kind, code, code name, statement). Codes are grouped by hundreds per area.
# fmt: off
_TABLE: Final = (
    ("ENC-01", "Well-formed CBOR", V, 101, "MALFORMED",
     "An input MUST be a well-formed CBOR data item: no truncation, no reserved head, no "
     "declared length or count beyond the bytes that remain."),
    ("ENC-02", "Shortest integer and length encoding", V, 102, "NON_SHORTEST",
     "Every integer, length and count MUST use the shortest encoding (RFC 8949 section 4.2.1)."),
    ("ENC-03", "Definite lengths only", V, 103, "INDEFINITE_LENGTH",
     "Strings, arrays and maps MUST have definite lengths."),
    ("ENC-04", "Map keys in bytewise order", V, 104, "UNSORTED_KEYS",
     "Map keys MUST appear sorted by the bytewise lexicographic order of their encodings."),
    ("ENC-05", "No duplicate map keys", V, 105, "DUPLICATE_KEY",
     "A map MUST NOT contain the same key twice."),
    ("ENC-06", "Only the wire subset of items", V, 106, "UNSUPPORTED_ITEM",
     "Floats, undefined and simple values other than false, true and null MUST NOT appear."),
    ("ENC-07", "No tags", V, 107, "TAG_NOT_ALLOWED",
     "Tagged data items (major type 6) MUST NOT appear."),
    ("ENC-08", "No trailing bytes", V, 108, "TRAILING_BYTES",
     "The input MUST end exactly where its one data item ends."),
    ("ENC-09", "Size limit", V, 109, "INPUT_TOO_LARGE",
     "A transaction MUST NOT exceed MAX_TX_BYTES bytes and a block MAX_BLOCK_BYTES bytes."),
    ("ENC-10", "Nesting limit", V, 110, "NESTING_TOO_DEEP",
     "Arrays and maps MUST NOT nest deeper than MAX_DEPTH levels."),
    ("ENC-11", "Text is valid UTF-8", V, 111, "INVALID_UTF8",
     "Text strings MUST be valid UTF-8."),
    ("ENC-12", "No unknown fields", V, 112, "UNKNOWN_FIELD",
     "A wire object MUST NOT contain a key its schema does not define."),
    ("ENC-13", "No missing fields", V, 113, "MISSING_FIELD",
     "A wire object MUST contain every key its schema defines."),
    ("ENC-14", "Field types", V, 114, "WRONG_TYPE",
     "Every field MUST have the CBOR type its schema gives (a boolean is not an integer)."),
    ("ENC-15", "Field bounds", V, 115, "OUT_OF_BOUNDS",
     "Every integer field MUST lie within the bounds of its unit, and every byte string MUST "
     "have its schema's length."),
    ("ENC-16", "Item budget", V, 116, "TOO_MANY_ITEMS",
     "An input MUST NOT hold more data items, map keys included, than its object's item budget "
     "(MAX_BLOCK_ITEMS for a block); the decoder rejects it before reading the first item over "
     "the budget."),
    ("TX-01", "Chain id", V, 201, "WRONG_CHAIN",
     "A transaction MUST carry the chain id of the ledger it is applied to."),
    ("TX-02", "Known kind", V, 202, "UNKNOWN_KIND",
     "A transaction's kind MUST be one of the kinds this rule book defines."),
    ("TX-03", "Registered sender", V, 203, "UNKNOWN_SENDER",
     "A transaction's sender MUST be a registered account."),
    ("TX-04", "Valid signature", V, 204, "BAD_SIGNATURE",
     "The signature MUST be a valid Ed25519 signature by the sender over the domain-separated "
     "signing bytes (which include the horizon when the envelope carries one), as accepted by "
     "the verification procedure of SIG-01."),
    ("TX-05", "Next nonce", V, 205, "BAD_NONCE",
     "A transaction's nonce MUST equal the sender's nonce in the state, which MUST be below "
     "COUNTER_MAX; this rejects replays and reordering."),
    ("TX-06", "Sender role", V, 206, "ROLE_REQUIRED",
     "The sender MUST hold the role that the transaction's kind requires."),
    ("TX-07", "Nonce advances", P, None, None,
     "An accepted transaction MUST increase its sender's nonce by exactly one."),
    ("TX-08", "Chain id derived from the genesis", P, None, None,
     "A chain's id MUST be its name (1 to 23 bytes, no colon), a colon and the 40 lowercase hex "
     "digits of the first 20 bytes of H(TAG_GENESIS, encoded genesis state whose chain id is the "
     "name)."),
    ("TX-09", "Validity horizon", V, 209, "EXPIRED",
     "A transaction that carries a horizon (envelope key 6) MUST NOT be applied once the "
     "ledger's time is past it."),
    ("SIG-01", "Ed25519 verification procedure", P, None, None,
     "A signature is valid exactly when S < L, A and R are canonical encodings of curve points "
     "neither of which is of small order, and the cofactorless equation [S]B = R + [k]A holds "
     "with k = SHA-512(R || A || message) mod L; this is what libsodium 1.0.20's "
     "crypto_sign_verify_detached accepts when built without ED25519_COMPAT."),
    ("ACC-01", "New account", V, 301, "ACCOUNT_EXISTS",
     "A registered account id MUST NOT be registered again."),
    ("ACC-02", "Valid public key", V, 302, "INVALID_PUBLIC_KEY",
     "An account id MUST be the canonical encoding (y < p) of a point of the curve that lies in "
     "the prime-order subgroup (L x A is the identity) and is not the identity: exactly what "
     "libsodium's crypto_core_ed25519_is_valid_point accepts. Small-order and mixed-order keys "
     "(a torsion component) are refused."),
    ("ACC-03", "Known roles", V, 303, "INVALID_ROLES",
     "An account's roles MUST be a non-empty set of operator, attestor, validator and trader."),
    ("ROL-01", "Compatible roles", V, 1801, "INCOMPATIBLE_ROLES",
     "An account MUST NOT hold both the attestor and the trader role, nor both the operator and "
     "the trader role; a registration that would give it such a pair is rejected."),
    ("ROL-02", "Revocable roles", V, 1802, "ROLE_NOT_REVOCABLE",
     "A REVOKE_ROLE MUST name exactly one role, TRADER (8) or ATTESTOR (2): VALIDATOR leaves only "
     "by a VALIDATOR_UPDATE of power 0 and OPERATOR is never revoked."),
    ("ROL-03", "Known account", V, 1803, "ROLE_ACCOUNT_UNKNOWN",
     "A REVOKE_ROLE MUST name a registered account."),
    ("ROL-04", "Role held", V, 1804, "ROLE_NOT_HELD",
     "A REVOKE_ROLE MUST name a role the account holds."),
    ("ROL-05", "Revocation", P, None, None,
     "An accepted REVOKE_ROLE MUST remove the role from the account and change nothing else: "
     "its money, nonce, key, meters, lots, demand and open orders stay, and open orders clear at "
     "their market's close; from then on TX-06 refuses what the role allowed."),
    ("KEY-01", "Valid new key", V, 2201, "BAD_NEW_KEY",
     "A ROTATE_KEY's new key MUST be a valid public key as ACC-02 says: the canonical encoding of "
     "a point of large prime order."),
    ("KEY-02", "Key not in use", V, 2202, "KEY_IN_USE",
     "A ROTATE_KEY's new key MUST NOT be the id or the current key of any registered account "
     "(the sender's included), the account a pending change of the validator set names, nor the "
     "previous key of a pending validator key rotation."),
    ("KEY-03", "Proof of possession", V, 2203, "NO_PROOF_OF_POSSESSION",
     "A ROTATE_KEY MUST carry a valid signature by the new key over the rotation bytes "
     "(key-rotation tag, 0x00, encode([chain id, sender, sender's nonce, new key]))."),
    ("KEY-04", "Validator keys one at a time", V, 2204, "KEY_CHANGE_PENDING",
     "A validator MUST NOT rotate its key while a validator key rotation is pending, and the "
     "account a pending change of the validator set names MUST NOT rotate its key before the "
     "change takes effect."),
    ("KEY-05", "Rotation", P, None, None,
     "An accepted ROTATE_KEY MUST make the new key the sender's current key at once: every later "
     "transaction of the account and every approval it gives verifies against the new key only; "
     "its id, roles, nonce and money stay."),
    ("KEY-06", "A validator's votes follow two heights later", P, None, None,
     "When a validator rotates its key in block H (outside a block: at height H - 1), its votes "
     "for block H + 1 MUST verify against its previous key and its votes from block H + 2 on "
     "against the new key; the pending rotation is dropped at the end of block H + 1."),
    ("KEY-07", "New accounts take no key in use", V, 2207, "KEY_TAKEN",
     "A REGISTER_ACCOUNT, and a VALIDATOR_UPDATE that adds an account new to the ledger, MUST "
     "NOT name an account whose id is a registered account's current key or the previous key of "
     "a pending validator key rotation."),
    ("GRD-01", "New node", V, 311, "NODE_EXISTS",
     "A grid node id MUST NOT be registered twice."),
    ("GRD-02", "Known parent", V, 312, "PARENT_UNKNOWN",
     "A node other than the root MUST name a registered parent node."),
    ("GRD-03", "One substation root", V, 313, "BAD_ROOT",
     "The first node registered MUST be a substation without parent; every later node MUST have "
     "a parent."),
    ("GRD-04", "Wheeling fee on substations only", V, 314, "BAD_WHEELING_FEE",
     "Only a substation MAY carry a non-zero wheeling fee."),
    ("GRD-05", "Parent kind", V, 315, "BAD_PARENT_KIND",
     "A service point MUST NOT be the parent of another node."),
    ("MTR-01", "New meter", V, 321, "METER_EXISTS",
     "A meter id MUST NOT be registered twice."),
    ("MTR-02", "Owner is a trader", V, 322, "OWNER_NOT_TRADER",
     "A meter's owner MUST be a registered account with the trader role."),
    ("MTR-03", "Attestor role", V, 323, "NOT_AN_ATTESTOR",
     "A meter's attestor MUST be a registered account with the attestor role."),
    ("MTR-04", "Meter at a service point", V, 324, "NODE_NOT_SERVICE_POINT",
     "A meter MUST sit at a registered service point node."),
    ("MTR-05", "Positive capacity", V, 325, "BAD_CAPACITY",
     "A meter's capacity per slot MUST be at least 1 Wh."),
    ("MTR-06", "One meter per service point and source", V, 326, "METER_AT_POINT_EXISTS",
     "A meter MUST NOT be registered at a service point where a meter of the same source is "
     "registered and not retired."),
    ("MTR-07", "Known meter to change", V, 327, "METER_NOT_REGISTERED",
     "A RETIRE_METER or SET_METER_ENCUMBRANCE transaction MUST name a registered meter."),
    ("MTR-08", "Meter not retired", V, 328, "METER_RETIRED",
     "A RETIRE_METER or SET_METER_ENCUMBRANCE transaction MUST NOT name a meter that is already "
     "retired."),
    ("MTR-09", "No change to the past", V, 329, "CHANGE_BACKDATED",
     "The from_slot of a RETIRE_METER or SET_METER_ENCUMBRANCE transaction MUST NOT be before "
     "the current slot: from_slot >= now // SLOT_SECONDS."),
    ("MTR-10", "One scheduled encumbrance change", V, 330, "ENCUMBRANCE_CHANGE_PENDING",
     "A SET_METER_ENCUMBRANCE MUST NOT be accepted while its meter has a scheduled change whose "
     "from_slot is before the new from_slot, unless every slot before that change's from_slot "
     "is past its attestation window: now >= change.from_slot x SLOT_SECONDS + "
     "attestation_window_s."),
    ("MTR-11", "Reading while in service", V, 331, "METER_OUT_OF_SERVICE",
     "A reading MUST be for a slot of its meter's service: slot >= first_slot and, for a retired "
     "meter, slot < retired_from."),
    ("MTR-12", "Retirement", P, None, None,
     "An accepted RETIRE_METER MUST record from_slot as the meter's retired_from and change "
     "nothing else: the meter's readings, lots and orders stay as they are."),
    ("MTR-13", "Encumbrance schedule", P, None, None,
     "A meter's encumbrance for slot s MUST be its scheduled change's encumbrance when it has "
     "one and s >= the change's from_slot, else its encumbrance. An accepted "
     "SET_METER_ENCUMBRANCE MUST first fold a scheduled change with an earlier from_slot into "
     "the meter's encumbrance (MTR-10 allows it), then schedule the new change."),
    ("MTR-14", "A replacement's first slot", P, None, None,
     "A registered meter's first_slot MUST be the largest retired_from of the retired meters of "
     "the same source at its service point, or 0 if there are none."),
    ("ATT-01", "Batch size", V, 401, "BAD_BATCH_SIZE",
     "An attestation batch MUST hold between 1 and MAX_BATCH_READINGS readings."),
    ("ATT-02", "Known meter", V, 402, "METER_UNKNOWN",
     "Every reading MUST name a registered meter."),
    ("ATT-03", "Meter's own attestor", V, 403, "NOT_METER_ATTESTOR",
     "Only the attestor registered for a meter MAY attest its readings."),
    ("ATT-04", "Slot has ended", V, 404, "SLOT_NOT_ENDED",
     "A reading MUST NOT be attested before its slot has ended: now >= slot_end(slot)."),
    ("ATT-05", "Attestation window", V, 405, "ATTESTATION_WINDOW_CLOSED",
     "A reading MUST be attested before slot_end(slot) + attestation_window_s."),
    ("ATT-06", "Once per meter and slot", V, 406, "ALREADY_ATTESTED",
     "A (meter, slot) MUST NOT be attested twice, in different transactions or in one batch."),
    ("ATT-07", "Within capacity", V, 407, "OVER_CAPACITY",
     "A reading's exported and imported Wh MUST each be at most the meter's capacity."),
    ("ATT-10", "Demand bound", V, 408, "DEMAND_OVER_BOUND",
     "A trader's total imported Wh in one (zone, slot) MUST NOT exceed WH_MAX."),
    ("ATT-11", "Encumbrance is the meter's", V, 409, "ENCUMBRANCE_MISMATCH",
     "A reading's encumbrance MUST equal its meter's encumbrance for the reading's slot "
     "(MTR-13)."),
    ("ATT-08", "Export mints a lot", P, None, None,
     "An accepted reading with exported Wh > 0 MUST mint one lot owned by the meter's owner, "
     "with the meter's source, node and zone, the reading's slot and encumbrance; all of it "
     "unsold."),
    ("ATT-09", "Import records demand", P, None, None,
     "An accepted reading with imported Wh > 0 MUST add them to its owner's demand in the "
     "meter's zone and slot, creating that demand record if there is none; an import of 0 "
     "creates and changes no demand record."),
    ("ATT-20", "Reading stored", P, None, None,
     "An accepted reading MUST be stored under (meter, slot) with its exported Wh, imported Wh "
     "and encumbrance, also when both amounts are 0."),
    ("COR-01", "A reading to correct", V, 2401, "NO_READING_TO_CORRECT",
     "A CORRECT_READING MUST name a (meter, slot) that has an attested reading."),
    ("COR-02", "Corrections per reading", V, 2402, "TOO_MANY_CORRECTIONS",
     "A reading MUST NOT be corrected more than MAX_CORRECTIONS_PER_READING times."),
    ("COR-03", "Lot never offered", V, 2403, "LOT_OFFERED",
     "A reading MUST NOT be corrected once an ask has been placed on its lot, whatever that "
     "ask's status."),
    ("COR-04", "A real correction", V, 2404, "NOTHING_TO_CORRECT",
     "A correction MUST change the reading's exported Wh or imported Wh."),
    ("COR-05", "Import still backs the bids", V, 2405, "IMPORT_BACKS_BIDS",
     "A correction MUST NOT lower the owner's imported Wh in the meter's zone and the slot below "
     "the Wh claimed there plus the quantities of the owner's open bids there."),
    ("COR-06", "Correction replaces", P, None, None,
     "An accepted correction MUST replace the reading (its correction count plus one), replace "
     "its lot by the lot the corrected export mints (none for 0 Wh; the market created as by "
     "ATT-08), and change the owner's demand in the zone and slot by the difference in import, "
     "removing the demand record when its imported and claimed Wh become 0."),
    ("ORD-01", "Positive quantity", V, 501, "ZERO_QUANTITY",
     "An order's quantity MUST be at least 1 Wh."),
    ("ORD-02", "Trading window", V, 502, "TRADING_CLOSED",
     "An order MUST be placed before slot_end(slot) + trading_close_s of its market."),
    ("ORD-03", "No self-trade", V, 503, "SELF_TRADE",
     "An account MUST NOT hold an open ask and an open bid in the same market."),
    ("ORD-04", "Order ids", P, None, None,
     "An accepted order MUST get the ledger's next order id, which then grows by one."),
    ("ORD-05", "Order id space", V, 504, "ORDER_IDS_EXHAUSTED",
     "An order MUST NOT be placed once the ledger's next order id has reached COUNTER_MAX."),
    ("ORD-06", "Slot horizon", V, 505, "SLOT_OUT_OF_HORIZON",
     "An order MUST name a slot that has ended (slot_end(slot) <= now) and whose trading close "
     "slot_end(slot) + trading_close_s is at most TIME_MAX_S."),
    ("ORD-07", "Open orders per account and market", V, 506, "TOO_MANY_OPEN_ORDERS",
     "An account MUST NOT hold more than MAX_OPEN_ORDERS_PER_MARKET open orders in one market."),
    ("ASK-01", "Known lot", V, 511, "LOT_UNKNOWN",
     "An ask MUST name an existing lot."),
    ("ASK-02", "Lot owner", V, 512, "NOT_LOT_OWNER",
     "Only a lot's owner MAY offer it."),
    ("ASK-03", "Unencumbered energy only", V, 513, "LOT_ENCUMBERED",
     "Energy exported under a feed-in tariff or encumbered by another scheme MUST NOT be "
     "offered."),
    ("ASK-04", "Within unsold energy", V, 514, "INSUFFICIENT_ENERGY",
     "An ask's quantity MUST NOT exceed the unsold Wh of its lot."),
    ("ASK-05", "Reservation", P, None, None,
     "An accepted ask MUST move its quantity from the lot's unsold to its reserved Wh."),
    ("BID-01", "Known zone", V, 521, "ZONE_UNKNOWN",
     "A bid MUST name a registered substation as its zone."),
    ("BID-02", "Escrow covered", V, 522, "INSUFFICIENT_BALANCE",
     "A bid's escrow, quantity x (max price + zone wheeling fee), MUST NOT exceed the buyer's "
     "balance."),
    ("BID-03", "Escrow", P, None, None,
     "An accepted bid MUST move its escrow from the buyer's balance to the bid."),
    ("BID-04", "Backed by unclaimed import", V, 523, "BID_OVER_DEMAND",
     "A bid's quantity plus the quantities of the buyer's open bids in the market MUST NOT exceed "
     "the buyer's attested import in the market minus its claimed Wh."),
    ("BID-05", "Order fee covered", V, 524, "ORDER_FEE_UNCOVERED",
     "A bid's escrow plus ORDER_FEE_MSEN MUST NOT exceed the buyer's balance."),
    ("BID-06", "Order fee", P, None, None,
     "An accepted bid MUST move ORDER_FEE_MSEN from the buyer's balance to the fee account; the "
     "fee is never refunded."),
    ("CAN-01", "Known order", V, 531, "ORDER_UNKNOWN",
     "A cancel MUST name an existing order."),
    ("CAN-02", "Order owner", V, 532, "NOT_ORDER_OWNER",
     "Only an order's owner MAY cancel it."),
    ("CAN-03", "Open order", V, 533, "ORDER_NOT_OPEN",
     "Only an open order MAY be cancelled; an order stays open until its market clears."),
    ("CAN-04", "Release", P, None, None,
     "Cancelling an ask MUST return its quantity to the lot's unsold Wh; cancelling a bid MUST "
     "return its escrow to the buyer's balance."),
    ("MNY-01", "Known recipient", V, 601, "ACCOUNT_UNKNOWN",
     "A deposit or transfer MUST credit a registered account."),
    ("MNY-02", "Positive amount", V, 602, "ZERO_AMOUNT",
     "A deposit, withdrawal or transfer MUST move at least 1 milli-sen."),
    ("MNY-03", "No overdraft", V, 603, "INSUFFICIENT_FUNDS",
     "A withdrawal or transfer MUST NOT exceed the sender's balance."),
    ("MNY-04", "Money outstanding bound", V, 604, "AMOUNT_OVER_BOUND",
     "A deposit MUST NOT bring the money outstanding (deposits minus withdrawals) above "
     "MONEY_MAX_MSEN; it is rejected, never wrapped or clamped. Every balance and escrow is part "
     "of that sum, so none can exceed the bound."),
    ("CLR-01", "When markets clear", P, None, None,
     "When the ledger's clock reaches slot_end(slot) + trading_close_s, every open market of "
     "that slot MUST be cleared, in ascending (slot, zone) order, before any later transaction."),
    ("CLR-02", "Eligible quantities", P, None, None,
     "A bid's eligible quantity MUST be its quantity capped by its buyer's unclaimed demand in "
     "the market, allocated to the buyer's bids in priority order (price descending, order id "
     "ascending)."),
    ("CLR-03", "Maximal volume", P, None, None,
     "The cleared volume MUST be the largest V such that the V-th best eligible bid Wh has a "
     "limit at least the V-th best offered Wh's limit."),
    ("CLR-04", "Clearing price", P, None, None,
     "The clearing price MUST be floor((lo + hi) / 2) where lo = max(a_V, b_V+1) and hi = "
     "min(b_V, a_V+1), a_k and b_k being the limits of the k-th best offered and demanded Wh (a "
     "missing b_V+1 is ignored, a missing a_V+1 is ignored)."),
    ("CLR-05", "Rationing at the margin", P, None, None,
     "On each side, orders strictly better than the marginal limit MUST fill fully; orders at "
     "the marginal limit MUST share the rest pro rata to their eligible quantity, rounded down, "
     "the remaining Wh given one each in ascending order id."),
    ("CLR-06", "Settlement", P, None, None,
     "Each seller MUST receive fill x price; each buyer MUST pay fill x (price + wheeling fee) "
     "out of escrow, the fee to the operator, and get back the rest of the escrow."),
    ("CLR-07", "Expiry", P, None, None,
     "After clearing, every lot of the market MUST move its unsold Wh to expired and every order "
     "of the market MUST be closed as filled, partly filled or expired."),
    ("CLR-08", "Claim against demand", P, None, None,
     "A buyer's filled Wh MUST be added to its claimed demand in the market."),
    ("PRN-01", "When slots are pruned", P, None, None,
     "When the ledger's clock advances to now, after the due markets are cleared (CLR-01), every "
     "slot whose trading close slot_end(slot) + trading_close_s is at or before now and that "
     "still has a reading, lot, demand row, order or market MUST be settled (SET-01) and pruned "
     "(PRN-02), in ascending slot order, before any later transaction."),
    ("PRN-02", "What pruning removes", P, None, None,
     "Pruning a slot MUST remove every reading, lot, demand row, order and market of that slot "
     "from the state and MUST change no other entry."),
    ("SET-01", "Settlement records and their order", P, None, None,
     "A clock advance's settlement MUST be, per pruned slot in ascending order, the slot's market "
     "records (ascending zone), order records (ascending order id), lot records (ascending "
     "meter), demand records (ascending (account, zone)) and reading records (ascending meter), "
     "each made from the record as it is after clearing and before pruning."),
    ("SET-02", "Settlement record contents", P, None, None,
     "A settlement record MUST be the CBOR map of RULEBOOK section 9.10, its type at key 0; an "
     "order's amount MUST be filled x its market's clearing price (0 without a price) and its "
     "fee filled x its fee rate; a lot's sold and expired MUST be the lot's own, as clearing "
     "left them; a market's amount MUST be volume x price and its fees the sum of its bids' "
     "fees."),
    ("SET-03", "Settlement root", P, None, None,
     "A settlement record's leaf MUST be BLAKE2b-256 over the settlement-record tag and the "
     "record's encoding; the settlement root MUST be BLAKE2b-256 over the settlement-root tag, "
     "the number of records as 8 bytes big-endian and the Merkle root of section 9.7 over the "
     "leaves in emission order (the empty root for an empty settlement)."),
    ("SET-04", "Inclusion proof", P, None, None,
     "An inclusion proof of record i of n MUST carry the RFC 6962 audit path of leaf i; a "
     "verifier MUST accept it exactly when the settlement root recomputed from the record, i, n "
     "and the path equals the settlement root of the block header it names."),
    ("BLK-01", "Chain id", V, 701, "BLOCK_WRONG_CHAIN",
     "A block header MUST carry the ledger's chain id."),
    ("BLK-02", "Next height", V, 702, "BAD_HEIGHT",
     "A block's height MUST be one more than the ledger's height."),
    ("BLK-03", "Parent hash", V, 703, "BAD_PARENT",
     "A block MUST name the hash of the ledger's last block header as its parent."),
    ("BLK-04", "Time never goes back", V, 704, "BAD_TIMESTAMP",
     "A block's timestamp (or a clock advance) MUST NOT be less than the ledger's time."),
    ("BLK-05", "Proposer is a validator", V, 705, "BAD_PROPOSER",
     "A block's proposer MUST be a registered validator."),
    ("BLK-06", "Validator signatures", V, 706, "BAD_BLOCK_SIGNATURE",
     "Every block vote MUST be a valid signature by a registered validator over the vote bytes "
     "(block-vote tag, 0x00, header hash, the vote's time as 8 bytes big-endian), listed once, "
     "in ascending order of validator id."),
    ("BLK-07", "Quorum", V, 707, "NO_QUORUM",
     "A block MUST be signed by at least two thirds of the registered validators: 3 x signers >= "
     "2 x validators."),
    ("BLK-08", "Transaction root", V, 708, "BAD_TX_ROOT",
     "A block header's transaction root MUST be the Merkle root of its transactions' ids."),
    ("BLK-09", "Every transaction valid", V, 709, "INVALID_TRANSACTION",
     "Every transaction of a block MUST be accepted, in order, by the state the previous ones "
     "left."),
    ("BLK-10", "State root", V, 710, "BAD_STATE_ROOT",
     "A block header's state root MUST be the root of the state after the block."),
    ("BLK-11", "Block size", V, 711, "TOO_MANY_TRANSACTIONS",
     "A block MUST NOT hold more than MAX_BLOCK_TXS transactions; the decoder rejects the block "
     "when it reads a transaction array head that claims more."),
    ("BLK-12", "Block application", P, None, None,
     "Applying a block MUST advance the clock to its timestamp (clearing what is due), then "
     "apply its transactions in order; a block with any rejection changes nothing."),
    ("BLK-13", "Proposer among the signers", V, 713, "PROPOSER_NOT_SIGNER",
     "A block's proposer MUST be one of its signers."),
    ("BLK-14", "A block is its header", P, None, None,
     "A block MUST be identified by its header hash alone: blocks with the same header and "
     "different valid signature lists are the same block, and nothing the ledger keeps depends on "
     "which signatures a block carried."),
    ("BLK-15", "Settlement root", V, 715, "BAD_SETTLEMENT_ROOT",
     "A block header's settlement root MUST be the settlement root (SET-03) of the records its "
     "clock advance emitted (SET-01)."),
    ("HSH-01", "State root", P, None, None,
     "The state root MUST be BLAKE2b-256 over a domain tag and the LtHash-16 multiset hash of "
     "the canonical encodings of every state entry."),
    ("HSH-02", "Transaction id and root", P, None, None,
     "A transaction id MUST be BLAKE2b-256 over a domain tag and the transaction bytes; the "
     "transaction root MUST be the RFC 6962 style Merkle root of the ids."),
    ("INV-01", "Energy conservation per lot", INV, None, None,
     "For every lot, minted = unsold + reserved + sold + expired, all non-negative."),
    ("INV-02", "Energy balance per slot", INV, None, None,
     "For every slot of the state, the Wh claimed by buyers MUST equal the Wh sold by sellers; "
     "for every pruned slot, the claimed Wh of its demand records MUST equal the sold Wh of its "
     "lot records."),
    ("INV-03", "No double-sell", INV, None, None,
     "For every lot, reserved Wh MUST equal the sum of the quantities of its open asks, and sold "
     "Wh the sum of its asks' fills."),
    ("INV-04", "No double-attestation", INV, None, None,
     "Every (meter, slot) MUST be attested at most once in the ledger's history and MUST have "
     "minted at most one lot: its reading is in the state until its slot is pruned, and a pruned "
     "slot's attestation window has closed (INV-24)."),
    ("INV-05", "No double-claim", INV, None, None,
     "For every (account, zone, slot), in the state and in every demand record of a settlement, "
     "claimed Wh MUST NOT exceed attested imported Wh."),
    ("INV-06", "Money conservation", INV, None, None,
     "The sum of all balances and all escrow MUST equal the money outstanding, total deposits "
     "minus total withdrawals."),
    ("INV-07", "No overdraft, no negative amount", INV, None, None,
     "Every balance, escrow, energy amount and total MUST be non-negative."),
    ("INV-08", "Bounds", INV, None, None,
     "Every amount MUST stay within the bound of its unit."),
    ("INV-09", "Price integrity", INV, None, None,
     "In every cleared market, every filled bid's limit >= the clearing price >= every filled "
     "ask's limit, and the market has exactly one price."),
    ("INV-10", "Escrow backs open bids", INV, None, None,
     "Every open bid's escrow MUST equal quantity x (max price + fee); a closed order holds "
     "none."),
    ("INV-11", "Nonce monotonicity", INV, None, None,
     "An account's nonce MUST never decrease and MUST grow by one per accepted transaction."),
    ("INV-12", "Authorization", INV, None, None,
     "Only an account's own transactions MAY lower its balance, open or close its orders or "
     "reserve its lots; only the operator registers and changes meters, except that the end of "
     "a block registers the validator a VALIDATOR_UPDATE admitted (VAL-08); only a meter's "
     "attestor attests or corrects its readings."),
    ("INV-13", "Time", INV, None, None,
     "No reading is attested outside its window; no open order remains in a market whose trading "
     "has closed."),
    ("INV-14", "Grid is a tree", INV, None, None,
     "The registered grid MUST be a tree rooted at a substation; every node's zone is its "
     "nearest substation ancestor (itself if it is one)."),
    ("INV-15", "Determinism", INV, None, None,
     "The same state and the same input MUST give the same output bytes on every implementation."),
    ("INV-16", "The validator set changes only with a quorum", INV, None, None,
     "No transaction, clearing or clock advance MAY change the set of validators; the end of a "
     "block changes it only by applying the pending change (VAL-08), which at least two thirds "
     "of that same set approved (3 x distinct approving validators >= 2 x validators)."),
    ("INV-17", "The validator set changes by one validator at a time", INV, None, None,
     "At most one change of the validator set MAY be pending, and it is never replaced or "
     "dropped; it adds or removes one validator of a set of more than three, takes effect at "
     "the end of the block after the one that carried it, and no step changes the set by more "
     "than that one validator."),
    ("INV-18", "Time within what honest validators signed", INV, None, None,
     "Under A-1, an accepted block's timestamp lies within MAX_VOTE_SKEW_S of the range of "
     "times its honest voters signed, unless the ledger's clock is catching up after a halt."),
    ("INV-20", "Separation of duties", INV, None, None,
     "No account holds an incompatible pair of roles (ROL-01); the fee account never holds the "
     "trader role, so it never owns a meter, a lot or an order; no meter's attestor is its "
     "owner."),
    ("INV-19", "One key, one account", INV, None, None,
     "Every account's key is a valid public key; no two accounts have the same key and no "
     "account's key is another account's id; only the account's own transaction changes its "
     "key."),
    ("INV-21", "Encumbrance follows the meter", INV, None, None,
     "Every lot carries the encumbrance of its reading."),
    ("INV-22", "A settled lot balances", INV, None, None,
     "Every lot record of a settlement MUST have sold + expired = minted, with sold equal to the "
     "sum of the fills of the lot's ask records."),
    ("INV-23", "A settled market's money balances", INV, None, None,
     "For every market record of a settlement, the fills of its ask records and those of its bid "
     "records MUST each sum to its volume, the amounts of its ask records and those of its bid "
     "records MUST each sum to volume x price, and the fees of its bid records MUST sum to its "
     "fees."),
    ("INV-24", "Pruned slots are gone", INV, None, None,
     "No state MUST hold a reading, lot, demand row, order or market of a slot whose trading "
     "close is at or before the state's time, so nothing of a pruned slot can be attested, "
     "offered, bid for or cancelled again."),
    ("INV-25", "Open bids are backed", INV, None, None,
     "For every (account, zone, slot), the quantities of the account's open bids plus its "
     "claimed Wh MUST NOT exceed its attested imported Wh."),
    ("INV-26", "Open orders are capped", INV, None, None,
     "No account MAY hold more than MAX_OPEN_ORDERS_PER_MARKET open orders in one market."),
    ("INV-27", "Readings follow the meter's schedule", INV, None, None,
     "Every reading is for a slot of its meter's service (MTR-11), and every reading whose "
     "attestation window is still open carries its meter's encumbrance for its slot (MTR-13)."),
    ("INV-28", "Readings, lots and demand agree", INV, None, None,
     "For every (account, zone, slot), the demand's imported Wh MUST equal the sum of the "
     "imported Wh of the readings of the account's meters in that zone and slot, and every "
     "reading with positive export has a lot that minted exactly that export."),
    ("INV-29", "Every lot has its market", INV, None, None,
     "Every lot's zone and slot MUST have a market, so that the lot expires when the market "
     "clears."),
    ("MKT-01", "Market created", P, None, None,
     "A (zone, slot) market MUST be created, OPEN with no price and a volume of 0, by the first "
     "accepted transaction that mints a lot in that zone and slot (ATT-08, COR-06) or places an "
     "order in it (ASK-05, BID-03), and by nothing else; a market is removed only with its slot "
     "(PRN-02)."),
    ("PRE-01", "Meter's accounts and node", V, 1501, "PRE_METER",
     "In a loaded state, every meter's owner and attestor MUST be registered accounts and its "
     "node a registered grid node whose zone is the meter's zone."),
    ("PRE-02", "Reading's meter", V, 1502, "PRE_READING",
     "In a loaded state, every reading MUST belong to a registered meter."),
    ("PRE-03", "Lot's meter and reading", V, 1503, "PRE_LOT_ORIGIN",
     "In a loaded state, every lot MUST have a registered meter and a reading of that meter and "
     "slot."),
    ("PRE-04", "Lot matches its meter and reading", V, 1504, "PRE_LOT_FIELDS",
     "In a loaded state, every lot's owner, zone, node and source MUST be its meter's and its "
     "encumbrance its reading's."),
    ("PRE-05", "Lot's energy adds up", V, 1505, "PRE_LOT_ENERGY",
     "In a loaded state, every lot's unsold, reserved, sold and expired Wh MUST add up to its "
     "minted Wh."),
    ("PRE-06", "Order's owner and lot", V, 1506, "PRE_ORDER",
     "In a loaded state, every order's owner MUST be a registered account; an ask MUST name an "
     "existing lot of the same owner and zone; a bid MUST name no lot."),
    ("PRE-07", "Reservations match open asks", V, 1507, "PRE_RESERVATION",
     "In a loaded state, every lot's reserved Wh MUST equal the quantities of its open asks."),
    ("PRE-08", "Order ids below the next", V, 1508, "PRE_ORDER_ID",
     "In a loaded state, every order id MUST be below the next order id."),
    ("PRE-09", "Demand's account", V, 1509, "PRE_DEMAND",
     "In a loaded state, every demand row MUST belong to a registered account."),
    ("PRE-10", "No record of a settled slot", V, 1510, "PRE_STALE_SLOT",
     "In a loaded state, no reading, lot, demand row, order or market MUST belong to a slot whose "
     "trading close slot_end(slot) + trading_close_s is at or before the state's time."),
    ("PRE-11", "Keys in a loaded state", V, 1511, "PRE_KEY",
     "In a loaded state, no account's key MAY be another account's key or id; a pending key "
     "rotation MUST name a registered validator, and its previous key MUST be no account's key "
     "nor another account's id."),
    ("PRE-12", "Every lot has its market", V, 1512, "PRE_LOT_MARKET",
     "In a loaded state, every lot's zone and slot MUST have a market."),
    ("TIM-01", "Bounded clock step", V, 2101, "TIME_JUMP_TOO_LARGE",
     "A block's timestamp MUST NOT exceed the ledger's time by more than MAX_BLOCK_JUMP_S."),
    ("TIM-02", "Time the votes vouch for", V, 2102, "TIME_NOT_VOUCHED",
     "With m the lower median of a block's vote times, its timestamp T MUST satisfy T <= m + "
     "MAX_VOTE_SKEW_S and T >= min(m, ledger time + MAX_BLOCK_JUMP_S) - MAX_VOTE_SKEW_S."),
    ("VAL-01", "Only validators admit validators", V, 1601, "VALIDATOR_ROLE_RESERVED",
     "A REGISTER_ACCOUNT transaction MUST NOT grant the VALIDATOR role; only a VALIDATOR_UPDATE "
     "approved by the validators does."),
    ("VAL-02", "Valid validator key", V, 1602, "BAD_VALIDATOR_KEY",
     "A VALIDATOR_UPDATE for an account that is not registered MUST name a valid public key (as "
     "ACC-02)."),
    ("VAL-03", "A real change", V, 1603, "NO_CHANGE",
     "A VALIDATOR_UPDATE MUST add an account that is not a validator (power 1) or remove one "
     "that is (power 0), and an account that gains the role MUST be allowed to hold it with its "
     "other roles."),
    ("VAL-04", "Approvals by validators", V, 1604, "BAD_APPROVAL",
     "Every approval MUST be a valid signature by a current validator over the approval bytes "
     "(approval tag, 0x00, encode([chain id, sender, sender's nonce, account, power])), listed "
     "once, in ascending order of validator id."),
    ("VAL-05", "Approval quorum", V, 1605, "NO_APPROVAL_QUORUM",
     "A VALIDATOR_UPDATE MUST carry the approvals of at least two thirds of the current "
     "validators: 3 x approvals >= 2 x validators."),
    ("VAL-06", "One change at a time", V, 1606, "CHANGE_PENDING",
     "A VALIDATOR_UPDATE MUST NOT be accepted while another change of the set is pending."),
    ("VAL-07", "Less than a third at once", V, 1607, "CHANGE_TOO_LARGE",
     "A change of one validator MUST be less than a third of the current set: 3 x 1 < "
     "validators."),
    ("VAL-08", "Changes take effect two heights later", P, None, None,
     "A change accepted in block H (outside a block: at height H - 1) MUST take effect at the "
     "end of block H + 1, so that block H + 1 is signed by the set before it and block H + 2 by "
     "the set after; an account new to the ledger joins with the VALIDATOR role alone, nonce 0 "
     "and no money."),
)
# fmt: on


def _build() -> tuple[Rule, ...]:
    rules = tuple(
        Rule(id=i, title=t, kind=k, code=c, code_name=n, statement=s)
        for (i, t, k, c, n, s) in _TABLE
    )
    ids = [r.id for r in rules]
    codes = [r.code for r in rules if r.code is not None]
    if len(set(ids)) != len(ids) or len(set(codes)) != len(codes):
        raise RuntimeError("rule ids and rejection codes must be unique")
    for r in rules:
        if (r.code is None) != (r.kind is not RuleKind.VALIDITY):
            raise RuntimeError(f"{r.id}: exactly the validity rules carry a code")
    return rules


RULES: Final[tuple[Rule, ...]] = _build()
"""Every rule, in rule book order."""

RULES_BY_ID: Final = MappingProxyType({r.id: r for r in RULES})
RULES_BY_CODE: Final = MappingProxyType({r.code: r for r in RULES if r.code is not None})


def rule(rule_id: str) -> Rule:
    """The rule with this id; an unknown id is a programming error."""
    return RULES_BY_ID[rule_id]


_F = TypeVar("_F", bound=Callable[..., Any])


def implements(*rule_ids: str) -> Callable[[_F], _F]:
    """Mark the spec function that carries out a procedure or keeps a rule that no single check
    raises (``@implements("CLR-06")``). It changes nothing at run time; the audit reads these
    marks, with the ids each function raises through ``require`` and ``Rejected``, to say which
    functions enforce each rule. An unknown id fails at import."""
    for rule_id in rule_ids:
        rule(rule_id)

    def mark(function: _F) -> _F:
        return function

    return mark
