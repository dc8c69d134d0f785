"""Shared test settings: Hypothesis profiles.

``ci`` (the default) is derandomized so that every run of the suite is the same run; ``heavy`` is
for long local or nightly runs: ``pytest --hypothesis-profile=heavy``; ``audit`` is the fixed
budget ``kwhledger audit`` gives the differential check.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
# The other profiles differ from ci only in budget and, for heavy, fresh randomness.
settings.register_profile(
    "heavy", parent=settings.get_profile("ci"), derandomize=False, max_examples=2000
)
# The audit's differential step: derandomized like ci, with a larger fixed budget.
settings.register_profile("audit", parent=settings.get_profile("ci"), max_examples=300)
settings.load_profile("ci")
