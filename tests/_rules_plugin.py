"""The ``rules`` marker: which rule-book ids a test exercises.

Every test of the executable spec carries ``@rules("ATT-04", "ATT-05")``; the test
``test_spec_coverage_of_rules`` fails when a rule of ``spec.rules.RULES`` is claimed by no test.

Test modules load this plugin with ``pytest_plugins = ("_rules_plugin",)`` so that the marker is
registered (``pytest --markers`` lists it). pytest reads that variable only after importing the
module, when its decorators have already run, so ``rules`` builds the mark with pytest's
unknown-marker warning silenced instead of warning once per run. The module has no asserts to
rewrite: PYTEST_DONT_REWRITE (it is imported before pytest registers it as a plugin).
"""

from __future__ import annotations

import warnings

import pytest

MARKER = "rules"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}(*rule_ids): rule-book ids this test exercises")


def rules(*rule_ids: str) -> pytest.MarkDecorator:
    """Mark a test (function or class) as exercising ``rule_ids``."""
    if not rule_ids:
        raise ValueError("name at least one rule id")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)
        mark: pytest.MarkDecorator = getattr(pytest.mark, MARKER)(*rule_ids)
    return mark


def claimed_rule_ids(obj: object) -> set[str]:
    """The rule ids the ``rules`` marks on ``obj`` (a function or class) name."""
    marks = getattr(obj, "pytestmark", [])
    if not isinstance(marks, list):
        marks = [marks]
    return {str(rule_id) for mark in marks if mark.name == MARKER for rule_id in mark.args}
