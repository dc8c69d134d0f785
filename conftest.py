"""Lets ``pytest`` run the test suite from any folder of the clone, as the README says.

Pytest applies ``testpaths`` only when it is started in the clone's root; started in a subfolder
with no arguments it would collect that folder alone (and find no tests). Here the suite's folder
is given instead, so the same command runs the same suite wherever it is typed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

ROOT = Path(__file__).resolve().parent

# Hypothesis keeps its files in the clone's root wherever pytest starts, never inside the
# published suite's folders (the manifest lists every file under conformance_tests/vectors).
set_hypothesis_home_dir(str(ROOT / ".hypothesis"))


def pytest_configure(config: pytest.Config) -> None:
    started_in_subfolder = Path(config.invocation_params.dir).resolve() != ROOT
    if started_in_subfolder and config.args_source is pytest.Config.ArgsSource.INVOCATION_DIR:
        config.args[:] = [str(ROOT / "tests")]
