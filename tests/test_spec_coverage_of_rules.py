"""Every rule of the rule book is exercised by at least one test.

Tests claim rules with the ``rules`` marker. The claims are read from the source of every
``test_*.py`` next to this file by ``kwhledger.trace.test_claims`` (the audit reads them the same
way), without importing the modules: a module that would skip itself for a missing tool cannot
switch this gate off. The test fails if a rule of ``spec.rules.RULES`` is claimed by none, if a
marker names an id the rule book does not have, or if a marker cannot be read.
"""

from __future__ import annotations

from pathlib import Path

from _rules_plugin import rules

from kwhledger.trace import Claims, test_claims
from spec.rules import RULES, RULES_BY_ID

pytest_plugins = ("_rules_plugin",)

HERE = Path(__file__).resolve().parent


def all_claims() -> Claims:
    return test_claims(HERE)


all_claims.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


@rules("TX-07")  # and every other rule, through the others
def test_every_rule_is_exercised_by_a_test() -> None:
    claimed = set().union(*all_claims().by_test.values())
    never = [r.id for r in RULES if r.id not in claimed]
    assert never == [], f"rules no test claims with @rules(...): {never}"


def test_markers_can_be_read_and_name_only_real_rules() -> None:
    claims = all_claims()
    assert claims.problems == []
    unknown = {
        test: sorted(ids - set(RULES_BY_ID))
        for test, ids in claims.by_test.items()
        if ids - set(RULES_BY_ID)
    }
    assert unknown == {}


def test_claims_are_read_from_the_source_as_pytest_sees_them() -> None:
    """The reader agrees with the marks pytest attaches, on this folder's spec tests."""
    import importlib
    import inspect

    from _rules_plugin import claimed_rule_ids

    read = all_claims().by_test
    for path in sorted(HERE.glob("test_spec_*.py")):
        module = importlib.import_module(path.stem)
        for name, obj in vars(module).items():
            if getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj) and name.startswith("test"):
                assert read[f"{path.stem}::{name}"] == claimed_rule_ids(obj), name


def test_a_mark_that_is_not_literal_is_a_problem_not_a_guess(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text(
        "IDS = ('ATT-04',)\n\n@rules(*IDS)\ndef test_a():\n    pass\n\n"
        "@rules('ATT-05', *('ATT-06',))\ndef test_b():\n    pass\n"
    )
    claims = test_claims(tmp_path)
    assert claims.by_test == {"test_x::test_a": set(), "test_x::test_b": {"ATT-05", "ATT-06"}}
    assert claims.problems == ["tests/test_x.py:3: @rules(...) arguments must be literal strings"]
