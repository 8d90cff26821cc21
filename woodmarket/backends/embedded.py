"""Backends room: llama.cpp in-process through xllamacpp.

`EmbeddedBackend` holds one llama.cpp server (xllamacpp's `Server`) with a
fixed number of slots; each creature's requests are pinned to its slot with
`id_slot` and `cache_prompt`, so its static prompt prefix stays in that
slot's KV cache from turn to turn. `get_embedded` shares one server per
model file (and context size) in the process, with `DEFAULT_SLOTS` slots
unless `WOODMARKET_SLOTS` or `slots=` says otherwise; each wood takes the
slots for its creatures with `backend.lease(n)` (see `slots.py`), so woods
on the same model never pin creatures to the same slot, and a wood that
wants more slots than are free waits or gets a clear error, never a second
server. This module touches only the model server it starts; it knows
nothing of the wood.

Facts about xllamacpp this relies on (checked against 2026.10.11549):
- `Server.handle_chat_completions(dict)` releases the GIL and goes straight
  to llama.cpp's route handlers, which llama-server runs from its own HTTP
  thread pool: concurrent calls from Python threads are safe and are batched
  together by the server loop. Requests for a busy slot wait for it.
- Failures come back as a payload `{"error": {...}}`, not as exceptions.
- An `id_slot` outside the server's slots is silently ignored (any free slot
  is used), so slots are checked here.
- llama.cpp keeps a host-memory prompt cache (8 GiB by default, per
  server): a slot's prefix replaced by another prompt is saved there and
  restored when it comes back. `cache_ram_mib=0` turns it off. The shared
  servers run with it off (`SHARED_CACHE_RAM_MIB`): a wood's creatures
  each keep their own slot, so nothing comes back to be restored, while
  every fresh start of a slot (`build.reset_slots`, each run of a sweep)
  saved the slot's old prefix there, and a sweep worker serving four
  models grew by gigabytes until the machine ran out of memory.
- The server also listens on a loopback port even when only used in-process;
  it gets a random API key so no other local process can use it.
- That listener starts on its own thread. A server deleted before the thread
  enters its accept loop never stops it, and the delete hangs for good; so a
  server counts as started only once its listener has answered (`wait_listening`).
"""

from __future__ import annotations

import os
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from woodmarket import models
from woodmarket.backends._chat import chat_body, parse_chat
from woodmarket.backends.slots import SlotLease, SlotPool
from woodmarket.errors import BackendError
from woodmarket.types import Completion, CompletionRequest

__all__ = [
    "DEFAULT_N_CTX",
    "DEFAULT_SLOTS",
    "SLOTS_ENV",
    "EmbeddedBackend",
    "build_params",
    "close_all",
    "default_threads",
    "get_embedded",
    "shared_slots",
    "wait_listening",
]

DEFAULT_N_CTX = 2048
# Slots of a shared server: two woods of five creatures. Each slot costs its
# n_ctx tokens of KV cache up front: at 2048 tokens, about 45 MiB (SmolLM2)
# or 37 MiB (Gemma 3); 10 slots took SmolLM2 from 203 to 609 MiB resident.
DEFAULT_SLOTS = 10
# llama.cpp's host-memory prompt cache of a shared server, in MiB: off (see above).
SHARED_CACHE_RAM_MIB = 0
SLOTS_ENV = "WOODMARKET_SLOTS"
_MOST_SLOTS = 256


def shared_slots(slots: int | None = None) -> int:
    """The slots a shared server starts with: `slots`, else $WOODMARKET_SLOTS, else 10."""
    if slots is None:
        raw = os.environ.get(SLOTS_ENV, "").strip()
        if not raw:
            return DEFAULT_SLOTS
        try:
            n = int(raw)
        except ValueError:
            n = 0
        if not 1 <= n <= _MOST_SLOTS:
            raise BackendError(
                f"environment variable {SLOTS_ENV} must be a whole number of slots "
                f"from 1 to {_MOST_SLOTS}, got {raw!r}"
            )
        return n
    if isinstance(slots, bool) or not isinstance(slots, int) or not 1 <= slots <= _MOST_SLOTS:
        raise BackendError(f"slots must be a whole number from 1 to {_MOST_SLOTS}, got {slots!r}")
    return slots


def default_threads() -> int:
    """The cores this process may run on (a container's share, not the host's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def import_xllamacpp() -> Any:
    try:
        import xllamacpp  # type: ignore[import-untyped]  # ships no stubs
    except ImportError as e:
        raise BackendError(
            "the embedded backend needs xllamacpp: pip install 'woodmarket[models]'"
        ) from e
    return xllamacpp


def build_params(
    model_path: Path,
    n_parallel: int,
    *,
    n_ctx: int = DEFAULT_N_CTX,
    threads: int | None = None,
    chat_template: str | None = None,
    port: int = 0,
    api_key: str | None = None,
    cache_ram_mib: int | None = None,
) -> Any:
    """xllamacpp `CommonParams` for serving `model_path` with `n_parallel` slots.

    `n_ctx` is per slot: llama.cpp splits its context evenly between slots,
    so the server is given `n_ctx * n_parallel`. `cache_ram_mib` sizes
    llama.cpp's host-memory prompt cache, which saves a slot's prefix when
    another prompt replaces it and restores it later (None: llama.cpp's
    default, 8 GiB; 0: off, so a replaced prefix is recomputed).
    """
    if n_parallel < 1:
        raise BackendError(f"n_parallel must be at least 1, got {n_parallel}")
    if n_ctx < 64:
        raise BackendError(f"n_ctx must be at least 64 tokens per slot, got {n_ctx}")
    xl = import_xllamacpp()
    threads = threads or default_threads()
    p = xl.CommonParams()
    p.model.path = str(model_path)
    p.n_parallel = n_parallel
    p.n_ctx = n_ctx * n_parallel
    p.cpuparams.n_threads = threads
    p.cpuparams_batch.n_threads = threads
    p.port = port  # 0: the OS picks a free port, reported by listening_address
    p.verbosity = -1  # llama.cpp's log is noise in a game's terminal
    # Sliding-window models (Gemma 3) cannot roll a trimmed SWA cache back to
    # a shared prefix, so without a full-size one every prompt is processed
    # from scratch. At a few thousand tokens per slot it costs little memory.
    p.swa_full = True
    if api_key:
        p.api_keys = [api_key]
    if cache_ram_mib is not None:
        p.cache_ram_mib = cache_ram_mib
    if chat_template is None:
        info = models.info_for(model_path)
        chat_template = info.chat_template if info else ""
    if chat_template:
        # A built-in template name is only understood by the non-Jinja path.
        p.use_jinja = False
        p.chat_template = chat_template
    return p


def wait_listening(address: str, timeout_s: float = 10.0) -> None:
    """Return once the llama.cpp HTTP listener at `address` has answered.

    Only then may the server be deleted without hanging (see the module
    docstring). Any answer will do, an error status too; after `timeout_s`
    of silence it returns anyway, as there is nothing better to do.
    """
    # Straight to loopback: a proxy from the environment must not be asked.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    end = time.monotonic() + timeout_s
    while True:
        try:
            with opener.open(address.rstrip("/") + "/health", timeout=1.0) as resp:
                resp.read()
            return
        except urllib.error.HTTPError as e:
            e.close()
            return
        except OSError:
            if time.monotonic() >= end:
                return
            time.sleep(0.005)


class EmbeddedBackend:
    """A llama.cpp server in this process with `n_parallel` slots.

    `model` is a registry key (`smollm2`, `gemma3`, `qwen`) or a `.gguf` path.
    `n_ctx` is the context of each slot. Holders take slots with `lease`;
    `complete` pins a request to `request.slot` whoever holds it. Safe to
    call from many threads.
    """

    backend_name = "embedded"

    def __init__(
        self,
        model: str | os.PathLike[str],
        n_parallel: int = 1,
        *,
        n_ctx: int = DEFAULT_N_CTX,
        threads: int | None = None,
        chat_template: str | None = None,
        name: str | None = None,
        cache_ram_mib: int | None = None,
    ) -> None:
        self.model_path = models.resolve(model)
        info = models.info_for(self.model_path)
        self.name = name or (info.key if info else self.model_path.stem)
        self.n_parallel = n_parallel
        self.n_ctx = n_ctx
        self.threads = threads or default_threads()
        params = build_params(
            self.model_path,
            n_parallel,
            n_ctx=n_ctx,
            threads=self.threads,
            chat_template=chat_template,
            api_key=secrets.token_hex(16),
            cache_ram_mib=cache_ram_mib,
        )
        try:
            self._server: Any = import_xllamacpp().Server(params)
        except Exception as e:  # xllamacpp raises RuntimeError with no detail
            raise BackendError(
                f"llama.cpp could not load {self.model_path} "
                f"({n_parallel} slots x {n_ctx} tokens): {e}"
            ) from e
        wait_listening(self._server.listening_address)
        self._cond = threading.Condition()
        self._inflight = 0
        self._closed = False
        self.pool = SlotPool(
            self.name,
            n_parallel,
            hint=f"release a lease (close a wood that is done) or serve more slots with "
            f"{SLOTS_ENV} before the model's first use",
        )

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return (
            f"<EmbeddedBackend {self.name} slots={self.n_parallel} n_ctx={self.n_ctx} "
            f"threads={self.threads}{state}>"
        )

    @property
    def closed(self) -> bool:
        return self._closed

    def lease(
        self, n: int = 1, timeout_s: float | None = 0.0, *, owner: object = None
    ) -> SlotLease:
        """`n` slots that no other holder of this server has, until released.

        A wood leases one slot per creature on this model (`owner=wood`, so
        the slots come back when the wood is garbage-collected) and pins each
        creature's requests to its slot. When `n` slots are not free, waits
        up to `timeout_s` (0: not at all, None: until they are), then raises
        `BackendError`; the default never waits, so whether a run gets its
        slots never depends on timing.
        """
        if self._closed:
            raise BackendError(f"{self!r} is closed")
        return self.pool.lease(n, timeout_s, owner=owner)

    @contextmanager
    def _in_flight(self) -> Iterator[Any]:
        # close() must not free the server under a running request.
        with self._cond:
            if self._closed:
                raise BackendError(f"{self!r} is closed")
            self._inflight += 1
            server = self._server
        try:
            yield server
        finally:
            with self._cond:
                self._inflight -= 1
                self._cond.notify_all()

    def complete(self, request: CompletionRequest) -> Completion:
        """One chat completion, pinned to `request.slot` when it is set."""
        if request.slot is not None and not 0 <= request.slot < self.n_parallel:
            raise BackendError(
                f"slot {request.slot} is out of range: {self.name} has "
                f"{self.n_parallel} slots (0..{self.n_parallel - 1})"
            )
        start = time.perf_counter()
        payload = self.chat(chat_body(request, model=self.name))
        latency_ms = (time.perf_counter() - start) * 1000
        return parse_chat(payload, model=self.name, latency_ms=latency_ms, where=self._where)

    @property
    def _where(self) -> str:
        return f"embedded llama.cpp ({self.name})"

    def chat(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """llama.cpp's raw answer to a chat-completions body, `timings` included.

        For benchmarks and diagnostics; the engine uses `complete`. Error
        payloads are returned as they are, not raised.
        """
        with self._in_flight() as server:
            try:
                payload: dict[str, Any] = server.handle_chat_completions(dict(body))
            except Exception as e:
                raise BackendError(f"{self._where}: {type(e).__name__}: {e}") from e
        return payload

    def close(self) -> None:
        """Wait for running requests, then stop the server and free the model.

        Leases waiting for slots fail; held leases just stop mattering.
        """
        self.pool.close()
        with self._cond:
            if self._closed:
                return
            self._closed = True
            while self._inflight:
                self._cond.wait()
            server, self._server = self._server, None
        del server  # the last reference: xllamacpp stops its loop and joins

    def __enter__(self) -> EmbeddedBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_shared_lock = threading.Lock()
_shared: dict[tuple[Path, int, int], EmbeddedBackend] = {}


def get_embedded(
    model: str | os.PathLike[str],
    n_parallel: int = 1,
    *,
    slots: int | None = None,
    n_ctx: int = DEFAULT_N_CTX,
    threads: int | None = None,
) -> EmbeddedBackend:
    """The process's shared server for a model file; take its slots with `.lease(n)`.

    Every caller on the same model file, context size and threads gets the
    same server (one copy of the weights, one batch per step). It starts
    with `shared_slots(slots)` slots: `slots`, else $WOODMARKET_SLOTS, else
    `DEFAULT_SLOTS`; that number is fixed while it runs. `n_parallel` (and
    `slots`, for a running server) only state how many slots the caller
    needs at most; more than the server has is a `BackendError`, never a
    second server.
    """
    path = models.resolve(model)
    size = shared_slots(slots)
    key = (path, n_ctx, threads or default_threads())
    with _shared_lock:
        backend = _shared.get(key)
        if backend is None or backend.closed:
            backend = EmbeddedBackend(
                path, size, n_ctx=n_ctx, threads=threads, cache_ram_mib=SHARED_CACHE_RAM_MIB
            )
            _shared[key] = backend
    need = max(n_parallel, slots or 0)
    if need > backend.n_parallel:
        raise BackendError(
            f"{backend.name}: {need} slots asked for, but its shared server has "
            f"{backend.n_parallel}; set {SLOTS_ENV} (or slots=) before the model's first use"
        )
    return backend


def close_all() -> None:
    """Close every shared server (tests, the end of a run)."""
    with _shared_lock:
        backends = list(_shared.values())
        _shared.clear()
    for backend in backends:
        backend.close()
