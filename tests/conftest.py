"""Shared fixtures: every bundled scenario, so tests run on all of them."""

from __future__ import annotations

import pytest

from woodmarket.scenario import bundled_scenarios


@pytest.fixture(params=bundled_scenarios())
def scenario_key(request: pytest.FixtureRequest) -> str:
    """Each bundled scenario's key, in turn."""
    return str(request.param)
