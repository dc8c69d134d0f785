"""The strict deterministic CBOR codec (ENC-01 .. ENC-11)."""

from __future__ import annotations

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spec.cbor import decode, encode
from spec.errors import Rejected

LIMIT = 1 << 16

# Each malformed or non-deterministic encoding with the rule its first violation breaks.
CORPUS = [
    ("18", "ENC-01"),  # truncated argument
    ("42ab", "ENC-01"),  # byte string shorter than declared
    ("1c", "ENC-01"),  # reserved additional information 28
    ("ff", "ENC-01"),  # stray break
    ("9bffffffffffffffff", "ENC-01"),  # count beyond the input
    ("1801", "ENC-02"),  # 1 in two bytes
    ("190017", "ENC-02"),  # 23 in three bytes
    ("1a0000ffff", "ENC-02"),
    ("1b00000000ffffffff", "ENC-02"),
    ("3800", "ENC-02"),  # -1 in two bytes
    ("5800", "ENC-02"),  # empty byte string with a one-byte length
    ("5f41ffff", "ENC-03"),  # indefinite byte string
    ("9f01ff", "ENC-03"),  # indefinite array
    ("bf0101ff", "ENC-03"),  # indefinite map
    ("a2010002", "ENC-01"),  # map with one entry missing
    ("a202000100", "ENC-04"),  # keys 2, 1
    ("a2616201616101", "ENC-04"),  # keys "b", "a"
    ("a2616101182001", "ENC-04"),  # "a" before 32: bytewise order puts 32 (0x1820) first
    ("a201000100", "ENC-05"),  # key 1 twice
    ("f93c00", "ENC-06"),  # half float
    ("fb3ff0000000000000", "ENC-06"),  # double
    ("f7", "ENC-06"),  # undefined
    ("f820", "ENC-06"),  # simple value 32
    ("c11a00000000", "ENC-07"),  # tag 1
    ("0101", "ENC-08"),
    ("61ff", "ENC-11"),  # invalid UTF-8
    ("a1f500", "ENC-14"),  # boolean map key
    ("a18000", "ENC-14"),  # array map key
]


@pytest.mark.parametrize(("hex_input", "rule_id"), CORPUS)
def test_malformed_input_is_rejected_with_its_rule(hex_input: str, rule_id: str) -> None:
    with pytest.raises(Rejected) as caught:
        decode(bytes.fromhex(hex_input), max_size=LIMIT)
    assert caught.value.rule.id == rule_id


def test_size_limit_is_checked_before_anything_else() -> None:
    with pytest.raises(Rejected) as caught:
        decode(b"\xff" * 11, max_size=10)
    assert caught.value.rule.id == "ENC-09"
    assert decode(encode(b"x" * 8), max_size=10) == b"x" * 8


def test_nesting_limit() -> None:
    nested: object = 0
    for _ in range(5):
        nested = [nested]
    assert decode(encode(nested), max_size=LIMIT, max_depth=5) == nested
    with pytest.raises(Rejected) as caught:
        decode(encode([nested]), max_size=LIMIT, max_depth=5)
    assert caught.value.rule.id == "ENC-10"


def test_map_keys_sort_bytewise_not_length_first() -> None:
    # RFC 8949 4.2.1: 24 encodes as 0x1818, "" as 0x60, so 24 comes first.
    assert encode({"": 2, 24: 1}) == bytes.fromhex("a2181801600" + "2")


values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64 - 1)
    | st.binary(max_size=40)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.integers(0, 2**64 - 1) | st.text(max_size=5), inner, max_size=5)
    ),
    max_leaves=20,
)


@given(values)
def test_round_trip(value: object) -> None:
    data = encode(value)
    assert decode(data, max_size=len(data)) == value
    assert encode(decode(data, max_size=len(data))) == data


uint_keyed_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**64), 2**64 - 1) | st.binary(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.integers(0, 2**64 - 1), inner, max_size=5)
    ),
    max_leaves=20,
)


@given(uint_keyed_values)
def test_agrees_with_cbor2_where_orders_coincide(value: object) -> None:
    # With only unsigned integer keys, cbor2's length-first order and the bytewise order agree.
    assert encode(value) == cbor2.dumps(value, canonical=True)


@given(st.binary(max_size=64))
def test_decoder_accepts_only_its_own_encoding(data: bytes) -> None:
    try:
        value = decode(data, max_size=64)
    except Rejected as rejection:
        assert rejection.rule.id.startswith("ENC-")
    else:
        assert encode(value) == data
