"""The rule book's entries as data: section, statement and rationale of every rule.

``spec/RULEBOOK.md`` writes each rule as a heading ``#### ID — Title``, a kind line, the quoted
normative statement and an informative rationale (``*Why.* ...``); ``tests/test_rulebook.py`` keeps
the headings, kinds and statements equal to ``spec/rules.py``. This module reads the entries for
the commands that print or link a rule (``kwhledger rules ID``, the audit report).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import spec

RULEBOOK = Path(spec.__file__).with_name("RULEBOOK.md")
_HEADING = re.compile(r"^#### (?P<id>[A-Z]+-\d\d) — (?P<title>.+)$")
_SECTION = re.compile(r"^#{2,3} (?P<title>\d+(?:\.\d+)*[a-z]?\.? .+)$")


@dataclass(frozen=True)
class Entry:
    """One rule as the rule book presents it."""

    id: str
    title: str
    section: str
    """The numbered section that holds the entry, e.g. ``11.7 Attestation (ATT)``."""
    line: int
    """Line of the heading in RULEBOOK.md (1-based)."""
    kind_line: str
    statement: str
    rationale: str

    @property
    def slug(self) -> str:
        """The anchor a Markdown renderer such as GitHub's gives the heading."""
        text = f"{self.id} — {self.title}".lower()
        text = re.sub(r"[^\w\- ]", "", text)
        return text.replace(" ", "-")


def entries(path: Path = RULEBOOK) -> dict[str, Entry]:
    """Every rule entry of the rule book by id (fenced examples are skipped)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out: dict[str, Entry] = {}
    section = ""
    in_fence = False
    for number, line in enumerate(lines):
        if line.startswith("```"):
            in_fence = not in_fence
        if in_fence:
            continue
        heading_of_section = _SECTION.match(line)
        if heading_of_section:
            section = heading_of_section["title"]
            continue
        heading = _HEADING.match(line)
        if not heading:
            continue
        body: list[str] = []
        for text in lines[number + 1 :]:
            if text.startswith("#"):
                break
            body.append(text)
        paragraphs = [p.strip() for p in "\n".join(body).split("\n\n") if p.strip()]
        kind_line = paragraphs[0].strip("*") if paragraphs else ""
        statement = ""
        rest: list[str] = []
        for paragraph in paragraphs[1:]:
            if paragraph.startswith("> ") and not statement:
                statement = " ".join(x.removeprefix("> ").strip() for x in paragraph.splitlines())
            else:
                rest.append(paragraph)
        rationale = "\n\n".join(rest).removeprefix("*Why.*").strip()
        out[heading["id"]] = Entry(
            heading["id"], heading["title"], section, number + 1, kind_line, statement, rationale
        )
    return out
