"""Shared test configuration: hypothesis profiles and process-wide safety settings."""
import os

from hypothesis import HealthCheck, settings

# "ci" keeps property tests thorough but bounded on CI's two cores; "dev" is quicker.
settings.register_profile("ci", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=25, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
