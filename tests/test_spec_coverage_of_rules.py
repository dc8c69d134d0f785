"""Every rule of the rule book is exercised by at least one test.

Tests claim rules with the ``rules`` marker. This test imports every ``test_*.py`` module next to
it (so running this file alone still checks all of them), collects the rule ids that the markers
on its test functions and test classes name, and fails if a rule of ``spec.rules.RULES`` is
claimed by none, or if a marker names an id the rule book does not have.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from types import ModuleType

from _rules_plugin import claimed_rule_ids, rules

from spec.rules import RULES, RULES_BY_ID

pytest_plugins = ("_rules_plugin",)

HERE = Path(__file__).resolve().parent
OWN_PREFIX = "test_spec_"
"""Modules of the spec's own suite: these must import; other test modules are scanned if they do."""


def test_modules() -> list[ModuleType]:
    found = []
    for path in sorted(HERE.glob("test_*.py")):
        try:
            found.append(importlib.import_module(path.stem))
        except Exception:
            if path.stem.startswith(OWN_PREFIX):
                raise
    return found


test_modules.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def claims(module: ModuleType) -> dict[str, set[str]]:
    """Rule ids claimed per test (``module::name``) in one module."""
    out: dict[str, set[str]] = {}
    for name, obj in vars(module).items():
        if getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(obj) and name.startswith("test"):
            out[f"{module.__name__}::{name}"] = claimed_rule_ids(obj)
        elif inspect.isclass(obj) and name.startswith("Test"):
            ids = claimed_rule_ids(obj)
            for method_name, method in vars(obj).items():
                if method_name.startswith("test") and callable(method):
                    ids |= claimed_rule_ids(method)
            out[f"{module.__name__}::{name}"] = ids
    module_marks = claimed_rule_ids(module)
    return {test: ids | module_marks for test, ids in out.items()}


def all_claims() -> dict[str, set[str]]:
    merged: dict[str, set[str]] = {}
    for module in test_modules():
        merged.update(claims(module))
    return merged


@rules("TX-07")  # and every other rule, through the others
def test_every_rule_is_exercised_by_a_test() -> None:
    claimed = set().union(*all_claims().values())
    never = [r.id for r in RULES if r.id not in claimed]
    assert never == [], f"rules no test claims with @rules(...): {never}"


def test_markers_name_only_real_rules() -> None:
    unknown = {
        test: sorted(ids - set(RULES_BY_ID))
        for test, ids in all_claims().items()
        if ids - set(RULES_BY_ID)
    }
    assert unknown == {}


def test_own_modules_are_found() -> None:
    """Guard against a silent empty scan (a wrong directory would make the checks vacuous)."""
    names = {m.__name__ for m in test_modules()}
    assert {"test_spec_transactions", "test_spec_clearing", "test_spec_stateful"} <= names
    assert len(all_claims()) > 50
