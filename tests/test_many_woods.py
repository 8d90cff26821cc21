"""Many woods in one process on the same bundled model: leased slots, kept prompt caches."""

from __future__ import annotations

import threading

import pytest

from woodmarket.build import build
from woodmarket.errors import BackendError
from woodmarket.spec import RunSpec

pytestmark = pytest.mark.models


def _cached(wood, turns: int) -> dict[str, int]:
    """Cached prompt tokens per creature on the last of `turns` turns (a warm turn)."""
    state = None
    for _ in range(turns):
        state = wood.step()
    assert state is not None
    return {
        r["creature"]: r["call"]["cached_tokens"]
        for r in state.records
        if r["kind"] == "decision" and "call" in r
    }


def test_two_woods_lease_their_own_slots_and_keep_their_caches():
    spec = RunSpec.make("oona", cast="single:smollm2", seed=4, turns=2)
    alone = build(spec)
    try:
        cached_alone = _cached(alone, 2)
    finally:
        alone.close()
    woods = [build(spec), build(spec)]
    try:
        slots = [{p.slot for p in w.policies.values()} for w in woods]
        assert len(slots[0]) == len(slots[1]) == 5 and not slots[0] & slots[1]
        # A third wood finds no slot free: a clear error, never an eviction.
        with pytest.raises(BackendError, match="slots are leased"):
            build(spec)
        results: list[dict[str, int]] = [{}, {}]

        def go(i: int) -> None:
            results[i] = _cached(woods[i], 2)

        threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for w in woods:
            w.close()
    for got in results:
        assert set(got) == set(cached_alone)
        for name, n in cached_alone.items():
            # The static prompt stays cached in each creature's own slot, as when alone
            # (a few tokens of the turn's facts may match or not, as the answers went).
            assert n > 50 and abs(got[name] - n) <= 4, (name, got[name], n)
    # Closed woods give their slots back: a new wood leases again.
    again = build(spec)
    again.close()
