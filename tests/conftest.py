"""Shared test configuration: hypothesis profiles (derandomized in CI so a run is reproducible)."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, suppress_health_check=[HealthCheck.too_slow], deadline=None)
settings.register_profile("dev", suppress_health_check=[HealthCheck.too_slow], deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))
