"""Shared test configuration: hypothesis profiles (derandomized in CI so a run is reproducible)."""

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, suppress_health_check=[HealthCheck.too_slow], deadline=None)
settings.register_profile("dev", suppress_health_check=[HealthCheck.too_slow], deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture
def one_torch_thread():
    """One torch intra-op thread for the test (restored after): on a shared 2-core machine torch's
    spinning thread pool stalls badly. Test modules that train use it with ``pytestmark``."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
