"""Backends room: slot leases, so several woods share one model server.

A llama.cpp server keeps one prompt cache per slot. A wood pins each of its
creatures to a slot so the creature's static prompt prefix stays cached
from turn to turn; two woods on the same server must therefore never pin
creatures to the same slot. `SlotPool` hands a server's slots out as
`SlotLease`s: the slots of live leases never overlap, a lease that does not
fit waits (up to its timeout, first come first served) for others to be
released, and a released or garbage-collected lease gives its slots back.
Pure bookkeeping under one lock: no model, no I/O.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
import weakref
from collections import deque
from typing import Any

from woodmarket.errors import BackendError

__all__ = ["SlotLease", "SlotPool"]


class SlotLease:
    """Slots of one server held by one holder (a wood) until released.

    `slots` are the slot numbers to put in `CompletionRequest.slot`. Use it
    as a context manager, or call `release()` (idempotent) when the holder
    is done. A lease lives as long as its `owner` (when one was given) or
    as long as something refers to it: once collected, it gives its slots
    back, so a lease nobody keeps is a lease nobody has.
    """

    def __init__(self, pool: SlotPool, slots: tuple[int, ...], owner: object = None) -> None:
        self.slots = slots
        self.name = pool.name
        self._pool = pool
        # The pool is told on release or on collection, whichever comes first.
        self._finalizer = weakref.finalize(self, pool._collected, slots)
        self._finalizer.atexit = False  # at exit the server goes too
        self._owned: weakref.finalize[Any, Any] | None = None
        if owner is not None:
            # The owner's finalizer keeps this lease alive until the owner goes.
            self._owned = weakref.finalize(owner, self._let_go)
            self._owned.atexit = False

    @property
    def released(self) -> bool:
        return not self._finalizer.alive

    def release(self) -> None:
        """Give the slots back to the pool; a second call does nothing."""
        if self._owned is not None:
            self._owned.detach()
        if self._finalizer.detach() is not None:  # only one caller wins
            self._pool._give_back(self.slots)

    def _let_go(self) -> None:
        # The owner was collected: give back as a collected lease does.
        if self._finalizer.detach() is not None:
            self._pool._collected(self.slots)

    def __enter__(self) -> SlotLease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        state = " released" if self.released else ""
        return f"<SlotLease {self.name} slots={self.slots}{state}>"


class SlotPool:
    """The slots `0..size-1` of one server, leased to holders that never overlap.

    `hint` ends the message of a lease that cannot be had (what the user
    can do about it). Safe to use from many threads.
    """

    def __init__(self, name: str, size: int, *, hint: str = "release a lease") -> None:
        if size < 1:
            raise BackendError(f"{name}: a slot pool needs at least 1 slot, got {size}")
        self.name = name
        self.size = size
        self.hint = hint
        # A plain lock, not an RLock: a lease collected while this thread
        # holds it must not re-enter the bookkeeping halfway (see _collected).
        self._cond = threading.Condition(threading.Lock())
        self._free = set(range(size))
        self._queue: deque[int] = deque()  # tickets of waiting leases, oldest first
        self._tickets = 0
        self._closed = False

    def __repr__(self) -> str:
        with self._cond:
            return f"<SlotPool {self.name} free={len(self._free)}/{self.size}>"

    @property
    def free(self) -> int:
        """How many slots no lease holds."""
        with self._cond:
            return len(self._free)

    @property
    def waiting(self) -> int:
        """How many leases are waiting for slots."""
        with self._cond:
            return len(self._queue)

    def lease(
        self, n: int = 1, timeout_s: float | None = 0.0, *, owner: object = None
    ) -> SlotLease:
        """`n` slots no other lease holds, the lowest free numbers.

        When they are not free, wait up to `timeout_s` (0: not at all, None
        or `math.inf`: until they are) behind earlier waiters, then raise a
        `BackendError` saying how many slots are held. With an `owner` (a
        wood), the lease is held until it is released or the owner is
        garbage-collected.
        """
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= self.size:
            raise BackendError(
                f"{self.name}: a lease takes 1 to {self.size} slots (the server has "
                f"{self.size}), not {n!r}; {self.hint}"
            )
        if timeout_s is None:
            timeout_s = math.inf
        if not timeout_s >= 0:  # NaN too
            raise BackendError(f"{self.name}: timeout_s must be >= 0, got {timeout_s}")
        if owner is not None:
            try:
                weakref.ref(owner)
            except TypeError:
                raise BackendError(
                    f"{self.name}: a lease's owner must allow weak references; "
                    f"{type(owner).__name__} does not"
                ) from None
        end = time.monotonic() + timeout_s
        with self._cond:
            ticket = self._tickets
            self._tickets += 1
            self._queue.append(ticket)
            try:
                while True:
                    if self._closed:
                        raise BackendError(f"{self.name}: the server is closed")
                    if self._queue[0] == ticket and len(self._free) >= n:
                        taken = tuple(sorted(self._free)[:n])
                        self._free.difference_update(taken)
                        return SlotLease(self, taken, owner)
                    left = end - time.monotonic()
                    if left <= 0:
                        raise BackendError(self._refusal(n, timeout_s))
                    self._cond.wait(None if math.isinf(left) else left)
            finally:
                self._queue.remove(ticket)
                self._cond.notify_all()  # the next in line may fit now

    def _refusal(self, n: int, timeout_s: float) -> str:
        free, ahead = len(self._free), len(self._queue) - 1
        held = (
            f"all {self.size} slots are leased"
            if not free
            else f"{free} of {self.size} slots are free, {n} were asked for"
        )
        if ahead and free >= n:
            held += f" and {ahead} earlier lease{'s' if ahead > 1 else ''} wait first"
        waited = f" after waiting {timeout_s:g} s" if timeout_s else ""
        return f"{self.name}: {held}{waited}; {self.hint}"

    def close(self) -> None:
        """Refuse new leases and wake the waiting ones with an error."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _give_back(self, slots: tuple[int, ...]) -> None:
        with self._cond:
            self._free.update(slots)
            self._cond.notify_all()

    def _collected(self, slots: tuple[int, ...]) -> None:
        # A lease was garbage-collected unreleased. Collection may run in any
        # thread at any allocation, even in this pool's own locked code: take
        # the lock only if it is free now, else let a short thread wait for it.
        if self._cond.acquire(blocking=False):
            try:
                self._free.update(slots)
                self._cond.notify_all()
            finally:
                self._cond.release()
            return
        # At interpreter shutdown no thread can start, and nothing waits then.
        with contextlib.suppress(RuntimeError):
            threading.Thread(target=self._give_back, args=(slots,), daemon=True).start()
