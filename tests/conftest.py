"""Shared test configuration: Hypothesis profiles and corpus locations."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, settings

# CI: deterministic and bounded. Locally ("dev", the default): more examples.
settings.register_profile(
    "ci", derandomize=True, max_examples=200, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev", max_examples=500, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("fast", max_examples=30, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

TESTS = Path(__file__).resolve().parent
#: The corpus copied into the repository (see tests/corpus/README.md).
CORPUS = TESTS / "corpus"
#: The workplace's shared corpus; holds extra files that may not be copied.
SHARED_CORPUS = Path(os.environ.get("MIMEKIT_SHARED_CORPUS",
                                    TESTS.parent.parent / "shared" / "corpus"))
