"""The conformance vector format in code: one vector, its steps, and their CBOR form.

FORMAT.md is the normative description and vectors.cddl the schema; this module is the one place
the Python tools read and write the format, so that the generator, the runner and the tests agree.
A vector is a CBOR map with text keys, encoded deterministically (``spec.cbor.encode``), and read
back with the strict decoder so that a vector file that is not in canonical form is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from conformance_tests.adapter import STEP_KINDS, Step
from spec.cbor import CborValue, decode, encode

FORMAT_VERSION: Final = 1
"""Bumped on any incompatible change of FORMAT.md."""

MAX_VECTOR_BYTES: Final = 64 * 1024 * 1024
"""Largest vector file the tools read (the committed suite stays far below)."""

ROOT_BYTES: Final = 32


class FormatError(ValueError):
    """A vector file that does not follow FORMAT.md."""


SETTLING_KINDS: Final = ("block", "tick")
"""The step kinds that advance the clock, and so settle and prune (expect key settlement_root)."""


@dataclass(frozen=True)
class Outcome:
    """What applying one step gives: accepted (code 0, rule null) or rejected, and the root."""

    code: int
    rule: str | None
    root: bytes
    """State root (HSH-01) after the step; for a rejected step, the root before it."""
    block_receipt: CborValue = None
    """For block steps, the block receipt's wire form (``BlockReceipt.to_cbor``)."""
    settlement_root: bytes | None = None
    """For block and tick steps, the settlement root (SET-03) of what the step's clock advance
    pruned; the empty root when it pruned nothing or was rejected."""

    def to_cbor(self, kind: str) -> dict[str, CborValue]:
        out: dict[str, CborValue] = {"code": self.code, "rule": self.rule, "root": self.root}
        if kind == "block":
            out["block_receipt"] = self.block_receipt
        if kind in SETTLING_KINDS:
            out["settlement_root"] = self.settlement_root
        return out


@dataclass(frozen=True)
class Vector:
    """One conformance vector."""

    id: str
    description: str
    rules: tuple[str, ...]
    flags: tuple[str, ...]
    pre_state: bytes
    pre_state_root: bytes
    steps: tuple[tuple[Step, Outcome], ...]
    post_state: bytes
    post_state_root: bytes
    transitions: tuple[str, ...] = ()
    twin: str | None = None
    """For a negative vector: the id of the vector whose input has the one defect repaired."""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_cbor(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": FORMAT_VERSION,
            "id": self.id,
            "description": self.description,
            "rules": list(self.rules),
            "flags": list(self.flags),
            "pre_state": self.pre_state,
            "pre_state_root": self.pre_state_root,
            "steps": [
                {**step.to_cbor(), "expect": outcome.to_cbor(step.kind)}
                for step, outcome in self.steps
            ],
            "post_state": self.post_state,
            "post_state_root": self.post_state_root,
            "transitions": list(self.transitions),
        }
        if self.twin is not None:
            out["twin"] = self.twin
        return out

    def encode(self) -> bytes:
        return encode(self.to_cbor())


def _need(value: dict[Any, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in value:
        raise FormatError(f"{where}: missing {key!r}")
    item = value[key]
    if (isinstance(item, bool) and kind is not bool) or not isinstance(item, kind):
        raise FormatError(f"{where}: {key!r} has the wrong type")
    return item


def _root(value: dict[Any, Any], key: str, where: str) -> bytes:
    root: bytes = _need(value, key, bytes, where)
    if len(root) != ROOT_BYTES:
        raise FormatError(f"{where}: {key!r} must be {ROOT_BYTES} bytes")
    return root


def _texts(value: dict[Any, Any], key: str, where: str) -> tuple[str, ...]:
    items = _need(value, key, list, where)
    if not all(isinstance(item, str) for item in items):
        raise FormatError(f"{where}: {key!r} must hold text strings")
    return tuple(items)


_VECTOR_KEYS: Final = {
    "format",
    "id",
    "description",
    "rules",
    "flags",
    "pre_state",
    "pre_state_root",
    "steps",
    "post_state",
    "post_state_root",
    "transitions",
    "twin",
}


def vector_from_cbor(value: CborValue) -> Vector:
    """Check a decoded vector against FORMAT.md and return it."""
    if not isinstance(value, dict):
        raise FormatError("a vector is a map")
    unknown = sorted(str(k) for k in value if k not in _VECTOR_KEYS)
    if unknown:
        raise FormatError(f"unknown keys {unknown}")
    where = str(value.get("id", "vector"))
    if _need(value, "format", int, where) != FORMAT_VERSION:
        raise FormatError(f"{where}: format {value['format']!r} is not {FORMAT_VERSION}")
    steps = []
    for index, raw in enumerate(_need(value, "steps", list, where)):
        at = f"{where} step {index}"
        if not isinstance(raw, dict):
            raise FormatError(f"{at}: a step is a map")
        kind = _need(raw, "kind", str, at)
        if kind not in STEP_KINDS:
            raise FormatError(f"{at}: unknown kind {kind!r}")
        allowed = {"kind", "expect", "time" if kind == "tick" else "input"}
        if set(raw) - allowed:
            raise FormatError(f"{at}: unknown keys {sorted(set(raw) - allowed)}")
        if kind == "tick":
            time = _need(raw, "time", int, at)
            if time < 0:
                raise FormatError(f"{at}: negative time")
            step = Step("tick", time=time)
        else:
            step = Step(kind, input=_need(raw, "input", bytes, at))
        expect = _need(raw, "expect", dict, at)
        expect_keys = {"code", "rule", "root"} | ({"block_receipt"} if kind == "block" else set())
        if kind in SETTLING_KINDS:
            expect_keys.add("settlement_root")
        if set(expect) != expect_keys:
            raise FormatError(f"{at}: expect must have exactly {sorted(expect_keys)}")
        code = _need(expect, "code", int, at)
        rule_id = expect["rule"]
        if (code == 0) != (rule_id is None) or not (rule_id is None or isinstance(rule_id, str)):
            raise FormatError(f"{at}: code 0 goes with rule null, any other code with a rule id")
        outcome = Outcome(
            code,
            rule_id,
            _root(expect, "root", at),
            expect.get("block_receipt"),
            _root(expect, "settlement_root", at) if kind in SETTLING_KINDS else None,
        )
        steps.append((step, outcome))
    twin = value.get("twin")
    if twin is not None and not isinstance(twin, str):
        raise FormatError(f"{where}: twin must be text")
    return Vector(
        id=_need(value, "id", str, where),
        description=_need(value, "description", str, where),
        rules=_texts(value, "rules", where),
        flags=_texts(value, "flags", where),
        pre_state=_need(value, "pre_state", bytes, where),
        pre_state_root=_root(value, "pre_state_root", where),
        steps=tuple(steps),
        post_state=_need(value, "post_state", bytes, where),
        post_state_root=_root(value, "post_state_root", where),
        transitions=_texts(value, "transitions", where),
        twin=twin,
    )


def read_vector(data: bytes) -> Vector:
    """Decode a vector file strictly (it must be in deterministic encoding) and check it."""
    try:
        value = decode(data, max_size=MAX_VECTOR_BYTES)
    except Exception as problem:  # a Rejected from the strict decoder: not canonical CBOR
        raise FormatError(f"not deterministic CBOR: {problem}") from None
    return vector_from_cbor(value)


def vector_path(vector_id: str) -> str:
    """The file of a vector, relative to the suite directory."""
    return f"vectors/{vector_id}.cbor"
