"""Tests for slot leases: distinct slots per holder, waiting, release, collection (no model)."""

from __future__ import annotations

import gc
import math
import re
import threading
import time

import pytest

from woodmarket.backends.embedded import DEFAULT_SLOTS, shared_slots
from woodmarket.backends.slots import SlotLease, SlotPool
from woodmarket.errors import BackendError


def wait_until(check: object, timeout_s: float = 30.0) -> None:
    """Poll `check()` until true: syncs a test with a thread it started."""
    end = time.monotonic() + timeout_s
    while not check():  # type: ignore[operator]
        assert time.monotonic() < end, "the other thread never got there"
        time.sleep(0.001)


def in_thread(fn: object) -> tuple[threading.Thread, list[object]]:
    """Run `fn()` in a thread; its result or exception lands in the list."""
    out: list[object] = []

    def run() -> None:
        try:
            out.append(fn())  # type: ignore[operator]
        except BaseException as e:  # recorded, asserted by the test
            out.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def test_leases_take_the_lowest_free_slots() -> None:
    pool = SlotPool("m", 10)
    a, b = pool.lease(3), pool.lease(2)
    assert (a.slots, b.slots) == ((0, 1, 2), (3, 4))
    a.release()
    c = pool.lease(4)
    assert c.slots == (0, 1, 2, 5)
    assert pool.free == 10 - 2 - 4 and not b.released


def test_leases_from_many_threads_never_overlap() -> None:
    pool = SlotPool("m", 6)
    held: set[int] = set()
    lock = threading.Lock()
    overlaps: list[tuple[int, ...]] = []
    taken = [0]

    def wood(size: int) -> None:
        for _ in range(25):
            with pool.lease(size, timeout_s=math.inf) as lease:
                with lock:
                    if held & set(lease.slots):
                        overlaps.append(lease.slots)
                    held.update(lease.slots)
                    taken[0] += 1
                time.sleep(0)  # let another thread in while the slots are held
                with lock:
                    held.difference_update(lease.slots)

    threads = [threading.Thread(target=wood, args=(1 + i % 4,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert overlaps == [] and taken[0] == 8 * 25
    assert pool.free == 6 and pool.waiting == 0


def test_exhausting_then_releasing_lets_a_waiter_proceed() -> None:
    pool = SlotPool("smollm2", 4)
    first = pool.lease(4)
    thread, out = in_thread(lambda: pool.lease(2, timeout_s=30))
    wait_until(lambda: pool.waiting == 1)
    assert out == []  # still waiting: nothing is free
    first.release()
    thread.join(timeout=30)
    (lease,) = out
    assert isinstance(lease, SlotLease) and lease.slots == (0, 1)
    assert pool.free == 2


def test_a_lease_that_cannot_be_had_names_the_server_and_the_count() -> None:
    pool = SlotPool("smollm2", 10, hint="close a wood")
    held = pool.lease(10)
    with pytest.raises(BackendError, match=r"^smollm2: all 10 slots are leased; close a wood$"):
        pool.lease(1)
    start = time.monotonic()
    with pytest.raises(
        BackendError, match=r"^smollm2: all 10 slots are leased after waiting 0\.2 s; close a wood$"
    ):
        pool.lease(1, timeout_s=0.2)
    assert time.monotonic() - start >= 0.2  # it did wait its timeout out
    assert pool.waiting == 0 and not held.released


def test_a_partial_fit_says_how_many_are_free() -> None:
    pool = SlotPool("gemma3", 4)
    held = pool.lease(3)
    with pytest.raises(BackendError, match=r"^gemma3: 1 of 4 slots are free, 2 were asked for;"):
        pool.lease(2)
    assert held.slots == (0, 1, 2)


def test_waiters_are_served_first_come_first_served() -> None:
    pool = SlotPool("m", 2)
    small = pool.lease(1)
    thread, out = in_thread(lambda: pool.lease(2, timeout_s=30))
    wait_until(lambda: pool.waiting == 1)
    # One slot is free, but the earlier waiter for two comes first.
    with pytest.raises(BackendError, match=r"1 of 2 slots are free.* 1 earlier lease wait first"):
        pool.lease(1)
    small.release()
    thread.join(timeout=30)
    assert isinstance(out[0], SlotLease) and out[0].slots == (0, 1)


def test_release_is_idempotent_and_never_frees_a_later_holder() -> None:
    pool = SlotPool("m", 3)
    with pool.lease(2) as first:
        assert not first.released and "released" not in repr(first)
    assert first.released and "released" in repr(first) and pool.free == 3
    second = pool.lease(2)
    assert second.slots == first.slots
    first.release()  # a stale release must not hand out the second holder's slots
    assert pool.free == 1 and not second.released
    with pytest.raises(BackendError, match="1 of 3 slots are free"):
        pool.lease(2)


def test_a_collected_lease_gives_its_slots_back() -> None:
    pool = SlotPool("m", 4)
    lease = pool.lease(3)
    assert pool.free == 1
    del lease  # a lease nobody refers to is a lease nobody uses
    assert pool.free == 4
    cycle = pool.lease(2)
    cycle.me = cycle  # type: ignore[attr-defined]  # a wood that refers to itself
    del cycle
    gc.collect()
    assert pool.free == 4


def test_close_wakes_a_waiter_with_an_error() -> None:
    pool = SlotPool("m", 1)
    held = pool.lease(1)
    thread, out = in_thread(lambda: pool.lease(1, timeout_s=None))
    wait_until(lambda: pool.waiting == 1)
    pool.close()
    thread.join(timeout=30)
    assert isinstance(out[0], BackendError) and "closed" in str(out[0])
    with pytest.raises(BackendError, match="closed"):
        pool.lease(1, timeout_s=math.inf)
    assert not held.released


@pytest.mark.parametrize("n", [0, 5, -1, True, 1.5, "2"])
def test_a_lease_of_no_slots_or_too_many_is_refused(n: object) -> None:
    with pytest.raises(BackendError, match=r"^m: a lease takes 1 to 4 slots \(the server has 4\)"):
        SlotPool("m", 4).lease(n)  # type: ignore[arg-type]


@pytest.mark.parametrize("timeout_s", [-1.0, math.nan])
def test_a_bad_timeout_is_refused(timeout_s: float) -> None:
    with pytest.raises(BackendError, match="timeout_s must be >= 0"):
        SlotPool("m", 4).lease(1, timeout_s=timeout_s)


def test_a_lease_collected_while_the_pool_is_busy_neither_deadlocks_nor_is_lost() -> None:
    pool = SlotPool("m", 4)
    lease = pool.lease(2)
    with pool._cond:  # as if collection struck inside the pool's own locked code
        del lease
        assert len(pool._free) == 2  # not touched under the holder's feet
    wait_until(lambda: pool.free == 4)


def test_shared_server_slots_from_parameter_environment_or_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WOODMARKET_SLOTS", raising=False)
    assert shared_slots() == DEFAULT_SLOTS == 10
    monkeypatch.setenv("WOODMARKET_SLOTS", " 16 ")
    assert shared_slots() == 16
    assert shared_slots(4) == 4  # the parameter wins over the environment


@pytest.mark.parametrize("raw", ["0", "ten", "-2", "3.5", "257", "²"])
def test_a_bad_woodmarket_slots_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("WOODMARKET_SLOTS", raw)
    with pytest.raises(
        BackendError,
        match=rf"^environment variable WOODMARKET_SLOTS must be a whole number of slots "
        rf"from 1 to 256, got '{re.escape(raw)}'$",
    ):
        shared_slots()


@pytest.mark.parametrize("slots", [0, 257, True, 2.0])
def test_a_bad_slots_parameter_is_refused(slots: object) -> None:
    with pytest.raises(BackendError, match="slots must be a whole number from 1 to 256"):
        shared_slots(slots)  # type: ignore[arg-type]


def test_a_lease_with_an_owner_lives_as_long_as_the_owner() -> None:
    class Wood:
        pass

    pool = SlotPool("m", 4)
    wood = Wood()
    lease = pool.lease(3, owner=wood)
    del lease  # the wood holds it, not the caller
    gc.collect()
    assert pool.free == 1
    del wood
    gc.collect()
    assert pool.free == 4


def test_releasing_an_owned_lease_lets_the_owner_go_cleanly() -> None:
    class Wood:
        pass

    pool = SlotPool("m", 4)
    wood = Wood()
    first = pool.lease(2, owner=wood)
    first.release()
    second = pool.lease(2)  # the same slots, another holder
    assert second.slots == first.slots
    del wood  # the first lease's owner going must not free the second's slots
    gc.collect()
    assert pool.free == 2 and not second.released


def test_an_owner_without_weak_references_is_refused() -> None:
    with pytest.raises(BackendError, match="owner must allow weak references; int does not"):
        SlotPool("m", 4).lease(1, owner=12)
