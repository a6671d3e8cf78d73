"""Hypothesis profiles for the fuzzing suite.

CI runs the "ci" profile: a fixed seed (derandomized) and each test's own budget of examples, a few
thousand cases over the suite in a few minutes. A longer run is one command:

    CNNKIT_FUZZ_SCALE=20 .venv/bin/python -m pytest tests/fuzz -q

which multiplies every test's budget by 20 and draws new random cases (not derandomized).
"""

import os

from hypothesis import HealthCheck, settings

SCALE = os.environ.get("CNNKIT_FUZZ_SCALE", "1")

_common = dict(deadline=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.function_scoped_fixture])
settings.register_profile("ci", derandomize=True, database=None, **_common)
settings.register_profile("long", derandomize=False, **_common)
settings.load_profile("ci" if SCALE == "1" else "long")

