"""The reference node against the published conformance vectors, and its runtime independence.

The full suite runs with ``kwhledger conform --impl "kwhledger adapter reference"`` and, in
process, in ``test_conformance_every_vector.py``.
"""

from __future__ import annotations

import subprocess
import sys


def test_the_reference_runs_without_the_spec_in_the_process() -> None:
    """Importing the node, its adapter (with the protocol loop) and its tools loads no ``spec``."""
    code = (
        "import sys\n"
        "import reference.adapter, reference.node, reference.simulate, reference.bench, "
        "reference.plot, reference.devchain\n"
        "import conformance_tests.adapter\n"
        "loaded = [m for m in sys.modules if m == 'spec' or m.startswith('spec.')]\n"
        "assert loaded == [], loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
