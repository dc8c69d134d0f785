"""The version of the rule book and of everything derived from it.

``MAJOR.MINOR.PATCH``, changed by these rules (the release notes say which applied):

- MAJOR: a change that can make an implementation that passed the previous suite fail it: a rule
  added, removed or changed in meaning, a rejection code or rule id changed, a wire, state or vector
  format changed, a bound or a chain parameter's meaning changed.
- MINOR: more coverage without a change of rules: new vectors, tests or proof obligations, new
  chapters or examples in the rule book.
- PATCH: a fix that changes no rule and no vector's expected result: wording, tooling, reports.
"""

from __future__ import annotations

from typing import Final

SPEC_VERSION: Final = "2.0.0"
