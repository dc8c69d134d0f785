"""What one change of the validator set leaves of the quorum argument (INV-17, chapter 13).

INV-17 shows that a step changes the validator set by at most one validator, and only a set of
more than three. The obligations here show what that buys, for sets of any size: the old set
``O`` and the new set ``N`` differ in at most one validator and ``|O| > 3``.

Sets are encoded by the sizes of the regions of their Venn diagram (one non-negative integer per
combination of memberships), which is exact for finite sets: every family of finite sets gives
such sizes, and any such sizes are those of some family. So the obligations are about sets of
every size, with linear arithmetic only.

* ``validators/consecutive-sets-share-two-thirds``: the validators in both sets are more than two
  thirds of each, ``3 |O & N| > 2 |O|`` and ``3 |O & N| > 2 |N|``.
* ``validators/quorums-share-an-honest-validator``: if fewer than a third of each set is faulty
  (A-1 at both heights), any two thirds of ``O`` (a quorum of BLK-07 or VAL-05) and any two
  thirds of ``N`` share a validator that is not faulty.

What is *not* true, and therefore not claimed: that the two quorums share more than a third of
``O`` (when one validator joins or leaves a set of six, a quorum of the old set and one of the
new may share only 2 validators, exactly a third), or that they share an honest validator when
only the old set is known to have fewer than a third faulty (removing an honest validator from
four leaves one faulty of three; quorums of 3 of 4 and 2 of 3 may share only that one).
``tests/test_proofs_validators.py`` asks Z3 for both counterexamples.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import z3

from proofs.model import Obligation, Term, total

SETS = ("old", "new", "q_old", "q_new", "faulty")
"""The old and new validator sets, a quorum of each, and the faulty accounts."""


@dataclass(frozen=True)
class Venn:
    """Region sizes of the Venn diagram of ``SETS``."""

    regions: dict[tuple[bool, ...], Term]

    def size(self, *members: str, outside: tuple[str, ...] = ()) -> Term:
        """The number of elements in every set of ``members`` and in none of ``outside``."""
        want = [SETS.index(m) for m in members]
        avoid = [SETS.index(m) for m in outside]
        return total(
            [
                r
                for bits, r in self.regions.items()
                if all(bits[i] for i in want) and not any(bits[i] for i in avoid)
            ]
        )

    def facts(self) -> list[Term]:
        """Sizes are non-negative; a quorum of a set holds members of that set only."""
        out = [r >= 0 for r in self.regions.values()]
        out.append(self.size("q_old", outside=("old",)) == 0)
        out.append(self.size("q_new", outside=("new",)) == 0)
        return out


def venn(prefix: str) -> Venn:
    regions = {
        bits: z3.Int(f"{prefix}[{''.join('1' if b else '0' for b in bits)}]")
        for bits in itertools.product((False, True), repeat=len(SETS))
    }
    return Venn(regions)


def one_change(v: Venn) -> list[Term]:
    """INV-17: the sets differ in at most one validator, and the old one has more than three."""
    differ = v.size("old", outside=("new",)) + v.size("new", outside=("old",))
    return [differ <= 1, v.size("old") > 3]


def quorums(v: Venn) -> list[Term]:
    """Two thirds of each set (BLK-07, VAL-05: 3 x signers >= 2 x validators)."""
    return [3 * v.size("q_old") >= 2 * v.size("old"), 3 * v.size("q_new") >= 2 * v.size("new")]


def fewer_than_a_third_faulty(v: Venn, which: tuple[str, ...] = ("old", "new")) -> list[Term]:
    """A-1 at the heights of ``which``."""
    return [3 * v.size(s, "faulty") < v.size(s) for s in which]


def _show(v: Venn) -> dict[str, object]:
    return {
        "tx": {
            f"|{'&'.join(s for s, b in zip(SETS, bits, strict=True) if b) or '-'}|": r
            for bits, r in v.regions.items()
        }
    }


def consecutive_sets() -> Obligation:
    v = venn("sets")
    shared = v.size("old", "new")
    return Obligation(
        name="validators/consecutive-sets-share-two-thirds",
        rule_ids=("INV-17", "VAL-06", "VAL-07"),
        about=("INV-17",),
        hypotheses=[*v.facts(), *one_change(v)],
        goal=z3.And(3 * shared > 2 * v.size("old"), 3 * shared > 2 * v.size("new")),
        show=_show(v),
    )


def honest_in_both_quorums() -> Obligation:
    v = venn("sets")
    return Obligation(
        name="validators/quorums-share-an-honest-validator",
        rule_ids=("INV-17", "VAL-05", "VAL-06", "VAL-07", "BLK-07"),
        about=("INV-17",),
        hypotheses=[*v.facts(), *one_change(v), *quorums(v), *fewer_than_a_third_faulty(v)],
        goal=v.size("q_old", "q_new", outside=("faulty",)) >= 1,
        show=_show(v),
    )


OBLIGATIONS: dict[str, Callable[[], Obligation]] = {
    "validators/consecutive-sets-share-two-thirds": consecutive_sets,
    "validators/quorums-share-an-honest-validator": honest_in_both_quorums,
}
