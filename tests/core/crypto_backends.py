"""Test parameters over every crypto backend this machine runs: pure, and native on each SIMD path the CPU has."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from pli.core.crypto import primitives

# The backend fixtures hold no per-example state (only the SIMD path, fixed for the whole test), so
# hypothesis' warning about function-scoped fixtures does not apply.  max_examples comes from the profile.
property_settings = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])


def backend_params() -> list:
    params = [pytest.param("pure", id="pure")]
    paths = primitives.native_simd_paths()
    params += [pytest.param(f"native:{path}", id=f"native-{path}") for path in paths]
    if not paths:
        reason = f"native backend unavailable: {primitives.backend_info().native_error}"
        params.append(pytest.param("native:none", id="native", marks=pytest.mark.skip(reason=reason)))
    return params


def native_params() -> list:
    return [p for p in backend_params() if p.values[0].startswith("native")]


@pytest.fixture(params=backend_params())
def crypto(request):
    """The backend module to test (`crypto.aead_seal(...)`); native runs once per SIMD path."""
    yield from _use(request.param)


@pytest.fixture(params=native_params())
def native(request):
    yield from _use(request.param)


def _use(param: str):
    name, _, path = param.partition(":")
    if name == "pure":
        yield primitives.backend("pure")
        return
    primitives.select_simd_path(path)
    try:
        yield primitives.backend("native")
    finally:
        primitives.select_simd_path(None)
