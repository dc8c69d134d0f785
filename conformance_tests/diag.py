"""CBOR diagnostic notation (RFC 8949 section 8) and the first difference between two states.

cbor2 has no diagnostic printer, and a failing vector is read by a person: ``diag`` renders a
decoded value as ``{0: h'ab12', 1: [1, "text", null]}``, shortening long byte strings and deep
structures so a diff stays on a screen. ``state_difference`` walks two canonical state encodings
table by table and names the first entry that differs, by table name and key.
"""

from __future__ import annotations

from typing import Any

TABLE_NAMES = (
    "ledger",
    "accounts",
    "nodes",
    "meters",
    "readings",
    "lots",
    "demand",
    "orders",
    "markets",
)
"""Names of the state's tables by number (spec/state.py, ``Table``); 9 is the tip hash."""


def diag(value: Any, max_bytes: int = 16, max_items: int = 12, depth: int = 6) -> str:
    """``value`` in diagnostic notation, abbreviated beyond the given sizes with ``...``."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        shown = bytes(value[:max_bytes]).hex()
        return f"h'{shown}...'({len(value)} bytes)" if len(value) > max_bytes else f"h'{shown}'"
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if depth == 0:
        return "[...]" if isinstance(value, (list, tuple)) else "{...}"
    if isinstance(value, (list, tuple)):
        items = [diag(v, max_bytes, max_items, depth - 1) for v in value[:max_items]]
        if len(value) > max_items:
            items.append(f"... {len(value) - max_items} more")
        return "[" + ", ".join(items) + "]"
    if isinstance(value, dict):
        inner = depth - 1
        pairs = [
            f"{diag(k, max_bytes, max_items, inner)}: {diag(v, max_bytes, max_items, inner)}"
            for k, v in list(value.items())[:max_items]
        ]
        if len(value) > max_items:
            pairs.append(f"... {len(value) - max_items} more")
        return "{" + ", ".join(pairs) + "}"
    return repr(value)


def first_difference(expected: Any, actual: Any, path: str = "") -> tuple[str, Any, Any] | None:
    """The path to the first place two decoded values differ, with both sides there."""
    if type(expected) is not type(actual):
        return path or "(top)", expected, actual
    if isinstance(expected, dict):
        for key in list(expected) + [k for k in actual if k not in expected]:
            if key not in actual or key not in expected:
                return f"{path}[{diag(key)}]", expected.get(key), actual.get(key)
            found = first_difference(expected[key], actual[key], f"{path}[{diag(key)}]")
            if found:
                return found
        return None
    if isinstance(expected, list):
        for index, (a, b) in enumerate(zip(expected, actual, strict=False)):
            found = first_difference(a, b, f"{path}[{index}]")
            if found:
                return found
        if len(expected) != len(actual):
            return f"{path}.length", len(expected), len(actual)
        return None
    return None if expected == actual else (path or "(top)", expected, actual)


def state_difference(expected: Any, actual: Any) -> str | None:
    """The first differing entry of two decoded canonical states, in words and diagnostic
    notation; ``None`` if they are equal."""
    if not isinstance(expected, dict) or not isinstance(actual, dict):
        found = first_difference(expected, actual)
        return None if found is None else _describe(*found)
    for table in sorted(set(expected) | set(actual), key=str):
        name = TABLE_NAMES[table] if isinstance(table, int) and table < len(TABLE_NAMES) else None
        if name is None:
            found = first_difference(expected.get(table), actual.get(table), f"[{table}]")
            if found:
                return _describe(*found)
            continue
        rows_expected = _rows(expected.get(table))
        rows_actual = _rows(actual.get(table))
        for key in sorted(set(rows_expected) | set(rows_actual), key=lambda k: diag(k)):
            where = f"{name} {diag(key)}"
            if key not in rows_actual:
                return f"{where}: expected {diag(rows_expected[key])}, missing"
            if key not in rows_expected:
                return f"{where}: unexpected entry {diag(rows_actual[key])}"
            found = first_difference(rows_expected[key], rows_actual[key], where)
            if found:
                return _describe(*found)
    return None


def _rows(table: Any) -> dict[Any, Any]:
    """A table's ``[[key, value], ...]`` as a dict keyed by a hashable form of the key."""
    rows: dict[Any, Any] = {}
    for row in table if isinstance(table, list) else []:
        if isinstance(row, list) and len(row) == 2:
            rows[_hashable(row[0])] = row[1]
    return rows


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value


def _describe(path: str, expected: Any, actual: Any) -> str:
    return f"{path}: expected {diag(expected)}, got {diag(actual)}"
