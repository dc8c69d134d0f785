"""Where each rule lives, read from the source without running it.

- ``find_clone``: the root of a kwhledger clone at or above a folder (the audit needs the clone's
  ``tests/``, which an installed package does not carry).
- ``enforcing_functions``: for each rule id, the spec functions that enforce it, found by walking
  the syntax tree of every ``spec/*.py``: the ids a function raises with ``require(cond, "ID")``,
  ``Rejected("ID", ...)`` or ``fail("ID", ...)`` (the invariant checks), and the ids of its
  ``@implements("ID", ...)`` mark (procedures). A rule id in a comment or docstring counts for
  nothing.
- ``test_claims``: for each test, the rule ids its ``@rules(...)`` marks name, read from the syntax
  tree of ``tests/test_*.py`` without importing them, so that a module that would skip itself
  (``pytest.importorskip``) or a missing test tool cannot hide a claim. An argument that is not a
  literal string is reported as a problem, never guessed.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

RAISING_CALLS = {"require": 1, "Rejected": 0, "fail": 0}
"""Call name -> position of the rule id argument."""
MARK = "implements"
CLAIM = "rules"


def find_clone(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` that holds a kwhledger clone (its
    ``pyproject.toml`` names the project and ``spec/`` and ``tests/`` are there)."""
    for folder in (start.resolve(), *start.resolve().parents):
        project = folder / "pyproject.toml"
        if not ((folder / "spec" / "rules.py").is_file() and (folder / "tests").is_dir()):
            continue
        try:
            if 'name = "kwhledger"' in project.read_text(encoding="utf-8"):
                return folder
        except OSError:
            continue
    return None


def _literal_ids(node: ast.Call) -> list[str] | None:
    """The string arguments of a call, or None if some argument is not a literal string."""
    out: list[str] = []
    for arg in node.args:
        parts = (
            arg.value.elts
            if isinstance(arg, ast.Starred) and isinstance(arg.value, (ast.Tuple, ast.List))
            else [arg]
        )
        for part in parts:
            if not (isinstance(part, ast.Constant) and isinstance(part.value, str)):
                return None
            out.append(part.value)
    return out


def _call_name(node: ast.AST) -> str:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


class _Functions(ast.NodeVisitor):
    """Rule ids per innermost enclosing function of one module."""

    def __init__(self, module: str) -> None:
        self.module = module
        self.stack: list[str] = []
        self.found: dict[str, set[str]] = defaultdict(set)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.stack.append(node.name)
        name = f"{self.module}.{'.'.join(self.stack)}"
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and _call_name(decorator) == MARK:
                for rule_id in _literal_ids(decorator) or []:
                    self.found[rule_id].add(name)
        for child in node.body:
            self.visit(child)
        self.stack.pop()

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()

    def visit_Call(self, node: ast.Call) -> None:
        position = RAISING_CALLS.get(_call_name(node))
        if position is not None and self.stack and len(node.args) > position:
            arg = node.args[position]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                self.found[arg.value].add(f"{self.module}.{'.'.join(self.stack)}")
        self.generic_visit(node)


def enforcing_functions(spec_dir: Path) -> dict[str, list[str]]:
    """Rule id -> the spec functions that raise it or carry its ``@implements`` mark."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in sorted(spec_dir.glob("*.py")):
        visitor = _Functions(f"spec.{path.stem}")
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        for rule_id, names in visitor.found.items():
            found[rule_id] |= names
    return {rule_id: sorted(names) for rule_id, names in sorted(found.items())}


@dataclass
class Claims:
    """What the ``@rules`` marks of a test folder claim."""

    by_test: dict[str, set[str]] = field(default_factory=dict)
    """``module::test`` (or ``module::Class``) -> rule ids."""
    problems: list[str] = field(default_factory=list)
    """Marks that could not be read: ``file:line: why``."""

    def by_rule(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for test, ids in sorted(self.by_test.items()):
            for rule_id in sorted(ids):
                out[rule_id].append(test)
        return dict(out)


def _marks(decorators: list[ast.expr], where: str, claims: Claims) -> set[str]:
    ids: set[str] = set()
    for decorator in decorators:
        if isinstance(decorator, ast.Call) and _call_name(decorator) == CLAIM:
            literal = _literal_ids(decorator)
            if literal is None:
                claims.problems.append(
                    f"{where}:{decorator.lineno}: @rules(...) arguments must be literal strings"
                )
            else:
                ids |= set(literal)
    return ids


def test_claims(tests_dir: Path) -> Claims:
    """The rule ids every test in ``tests_dir/test_*.py`` claims, read without importing."""
    claims = Claims()
    for path in sorted(tests_dir.glob("test_*.py")):
        where = f"tests/{path.name}"
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except SyntaxError as problem:
            claims.problems.append(f"{where}:{problem.lineno}: does not parse")
            continue
        module_ids: set[str] = set()
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
            ):
                values = node.value.elts if isinstance(node.value, ast.List) else [node.value]
                module_ids |= _marks(values, where, claims)
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith(
                "test"
            ):
                ids = _marks(node.decorator_list, where, claims)
                claims.by_test[f"{path.stem}::{node.name}"] = ids | module_ids
            elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                ids = _marks(node.decorator_list, where, claims)
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        ids |= _marks(item.decorator_list, where, claims)
                claims.by_test[f"{path.stem}::{node.name}"] = ids | module_ids
    return claims


test_claims.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
