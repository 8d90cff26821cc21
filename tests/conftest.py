"""Shared fixtures: every bundled scenario, so tests run on all of them."""

from __future__ import annotations

import pytest

from woodmarket import scenario as _scenario

BUNDLED = tuple(getattr(_scenario, "bundled_scenarios", lambda: _scenario.BUNDLED)())


@pytest.fixture(params=BUNDLED)
def scenario_key(request: pytest.FixtureRequest) -> str:
    """Each bundled scenario's key, in turn."""
    return str(request.param)
