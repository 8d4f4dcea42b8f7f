"""Hypothesis profiles for the property tests.

``ci`` (chosen when ``CI`` is set, as tox passes it through, or with
``HYPOTHESIS_PROFILE=ci``) runs few, derandomized examples so that the whole
directory takes a few seconds and a failure reproduces on every run; ``dev``
(the default on a workstation) explores more; ``HYPOTHESIS_PROFILE=thorough``
runs many. The backend fixture returns a backend object that examples only
read, so its being function-scoped is harmless.
"""
import os

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, settings  # noqa: E402

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                      HealthCheck.too_slow])
settings.register_profile("ci", max_examples=8, derandomize=True, database=None,
                          print_blob=True, **_COMMON)
settings.register_profile("dev", max_examples=40, **_COMMON)
settings.register_profile("thorough", max_examples=400, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE",
                                     "ci" if os.environ.get("CI") else "dev"))
