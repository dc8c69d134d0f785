"""The typed rejection every check raises.

A rejection is data, not a crash: it names the rule that was broken and carries that rule's code,
which is what receipts and conformance vectors compare.
"""

from __future__ import annotations

from spec.rules import Rule, rule


class Rejected(Exception):
    """An input broke a validity rule; the state it was applied to is unchanged."""

    rule: Rule
    detail: str

    def __init__(self, rule_id: str, detail: str = "") -> None:
        found = rule(rule_id)
        if found.code is None:
            raise ValueError(f"{rule_id} is not a validity rule and cannot reject")
        super().__init__(f"{rule_id} {found.code_name}: {detail}" if detail else rule_id)
        self.rule = found
        self.detail = detail

    @property
    def code(self) -> int:
        """The numeric rejection code of the broken rule."""
        assert self.rule.code is not None
        return self.rule.code


def require(condition: bool, rule_id: str, detail: str = "") -> None:
    """Reject with ``rule_id`` unless ``condition`` holds."""
    if not condition:
        raise Rejected(rule_id, detail)
