"""Tests for the embedded backend: real completions from each bundled model, in-process."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from woodmarket.backends import embedded
from woodmarket.backends.embedded import EmbeddedBackend
from woodmarket.backends.slots import SlotLease
from woodmarket.errors import BackendError, ModelMissing
from woodmarket.types import Backend, Completion, CompletionRequest

pytestmark = pytest.mark.models

ACTION_GRAMMAR = 'root ::= "hold" | "buy honey " [1-9]'
SYSTEM = (
    "You are Oona, an old owl who keeps the honey of the wood. You trade with "
    "acorns, berries, mushrooms, honey and firewood, paid in pebbles. "
    "Answer with one action: hold, or buy GOOD N."
)


def ask(user: str, **kw: object) -> CompletionRequest:
    return CompletionRequest(system=SYSTEM, user=user, **kw)  # type: ignore[arg-type]


def test_real_completion_with_token_accounting(embedded_backend: EmbeddedBackend) -> None:
    assert isinstance(embedded_backend, Backend)
    c = embedded_backend.complete(ask("Turn 1. You have 3 honey. What do you do?", max_tokens=8))
    assert c.text.strip()
    assert c.model == embedded_backend.name in ("smollm2", "gemma3")
    assert c.prompt_tokens > 20
    assert 1 <= c.generated_tokens <= 8
    assert c.latency_ms > 0
    assert c.finish_reason in ("stop", "length")


def test_grammar_constrains_the_output(embedded_backend: EmbeddedBackend) -> None:
    # Forced text may fall back to one token per character: leave room.
    for turn in (1, 2):
        c = embedded_backend.complete(
            ask(f"Turn {turn}. You have no honey.", grammar=ACTION_GRAMMAR, max_tokens=16, slot=0)
        )
        assert re.fullmatch(r"hold|buy honey [1-9]", c.text), c.text
        assert c.finish_reason == "stop"


def test_same_slot_reuses_the_cached_prefix(embedded_backend: EmbeddedBackend) -> None:
    first = embedded_backend.complete(ask("Turn 7. Berries are dear.", max_tokens=4, slot=1))
    second = embedded_backend.complete(ask("Turn 8. Acorns are cheap.", max_tokens=4, slot=1))
    # The system prompt is the shared prefix; only the turn facts are new.
    assert second.cached_tokens > 0
    assert second.cached_tokens < second.prompt_tokens
    assert second.cached_tokens >= first.prompt_tokens // 2


def test_concurrent_requests_on_different_slots(embedded_backend: EmbeddedBackend) -> None:
    slots = embedded_backend.n_parallel
    assert slots >= 2
    barrier = threading.Barrier(slots)
    results: dict[int, Completion | BaseException] = {}

    def run(slot: int) -> None:
        barrier.wait()
        try:
            results[slot] = embedded_backend.complete(
                ask(f"Creature {slot}: what do you do?", max_tokens=6, slot=slot, seed=slot)
            )
        except BaseException as e:  # recorded, asserted below
            results[slot] = e

    threads = [threading.Thread(target=run, args=(s,)) for s in range(slots)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(results) == list(range(slots))
    for result in results.values():
        assert isinstance(result, Completion), result
        assert result.text and result.generated_tokens >= 1


def test_slot_out_of_range_is_refused(embedded_backend: EmbeddedBackend) -> None:
    slots = embedded_backend.n_parallel
    with pytest.raises(BackendError, match=f"slot {slots} is out of range"):
        embedded_backend.complete(ask("hi", slot=slots))
    with pytest.raises(BackendError, match="slot -1 is out of range"):
        embedded_backend.complete(ask("hi", slot=-1))


def test_llama_cpp_errors_become_backend_errors(embedded_backend: EmbeddedBackend) -> None:
    with pytest.raises(BackendError, match="grammar") as err:
        embedded_backend.complete(ask("hi", grammar="root ::= (", max_tokens=2))
    assert embedded_backend.name in str(err.value)
    too_long = " ".join(["acorn"] * (embedded_backend.n_ctx + 200))
    with pytest.raises(BackendError, match="context"):
        embedded_backend.complete(ask(too_long, max_tokens=2, slot=0))


def test_shared_server_per_model(embedded_backend: EmbeddedBackend) -> None:
    b = embedded_backend
    assert embedded.get_embedded(b.model_path, 1, n_ctx=b.n_ctx) is b
    assert embedded.get_embedded(b.name, b.n_parallel, n_ctx=b.n_ctx) is b
    assert embedded.get_embedded(b.name, n_ctx=b.n_ctx, threads=b.threads) is b


def test_more_slots_than_the_shared_server_has_is_an_error_not_a_second_server(
    embedded_backend: EmbeddedBackend,
) -> None:
    b = embedded_backend
    for ask_for in ({"n_parallel": b.n_parallel + 1}, {"slots": b.n_parallel + 1}):
        with pytest.raises(
            BackendError,
            match=rf"^{b.name}: {b.n_parallel + 1} slots asked for, but its shared server has "
            rf"{b.n_parallel}; set WOODMARKET_SLOTS",
        ):
            embedded.get_embedded(b.name, n_ctx=b.n_ctx, **ask_for)  # type: ignore[arg-type]
    assert embedded.get_embedded(b.name, n_ctx=b.n_ctx) is b


def test_in_process_server_refuses_other_local_callers(embedded_backend: EmbeddedBackend) -> None:
    # xllamacpp binds a loopback port even in-process; a random key guards it.
    url = embedded_backend._server.listening_address + "/v1/chat/completions"
    body = json.dumps({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1})
    request = urllib.request.Request(url, data=body.encode(), method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=30)
    assert err.value.code == 401
    err.value.close()


def test_close_stops_the_backend() -> None:
    backend = EmbeddedBackend("smollm2", 1, n_ctx=256, threads=1)
    assert backend.complete(CompletionRequest(system="", user="Hi", max_tokens=2)).text
    backend.close()
    backend.close()  # idempotent
    assert backend.closed and "closed" in repr(backend)
    with pytest.raises(BackendError, match="closed"):
        backend.complete(CompletionRequest(system="", user="Hi", max_tokens=2))
    with pytest.raises(BackendError, match="closed"):
        backend.lease(1)


def test_close_waits_for_a_running_request() -> None:
    backend = EmbeddedBackend("smollm2", 1, n_ctx=256, threads=1)
    result: list[Completion] = []
    worker = threading.Thread(
        target=lambda: result.append(
            backend.complete(CompletionRequest(system="", user="Tell a story.", max_tokens=24))
        )
    )
    worker.start()
    deadline = time.monotonic() + 30
    while not backend._inflight and worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.001)
    backend.close()  # must not free the server under the running request
    worker.join(timeout=60)
    assert len(result) == 1 and result[0].generated_tokens >= 1
    assert backend.closed


def test_unknown_model_is_model_missing_before_any_load() -> None:
    with pytest.raises(ModelMissing, match="gemma3, qwen, smollm2"):
        EmbeddedBackend("mistral", 1)


# --- slot leases: several woods on one server ---------------------------------

# Two woods' static prompts (one per wood, the same for its creatures).
WOODS = {
    "oona": (
        "You are a creature of Oona's Wood, where owls, voles and badgers trade "
        "honey, acorns and berries for pebbles. Answer with one action: hold, or buy GOOD N."
    ),
    "fen": (
        "You are a creature of the Fen, where herons, otters and newts trade reeds, "
        "eels and peat for pebbles at the water market. Answer with one action: hold, "
        "or sell GOOD N."
    ),
}
ROUNDS = 3


@pytest.fixture(scope="module", params=["smollm2", "gemma3"])
def leased_backend(request: pytest.FixtureRequest) -> Iterator[EmbeddedBackend]:
    """A four-slot server without llama.cpp's RAM prompt cache.

    That cache would restore a prefix another prompt evicted, hiding an
    eviction from the token counts these tests compare.
    """
    backend = EmbeddedBackend(request.param, 4, n_ctx=512, cache_ram_mib=0)
    yield backend
    backend.close()


def play_turn(backend: EmbeddedBackend, wood: str, slots: tuple[int, ...], turn: int) -> list[int]:
    """One turn of a wood's creatures, each pinned to its slot: cached tokens per call."""
    cached = []
    for creature, slot in enumerate(slots):
        c = backend.complete(
            CompletionRequest(
                system=WOODS[wood],
                user=f"Creature {creature}, turn {turn}. You have {turn + 3} pebbles. Act.",
                max_tokens=3,
                slot=slot,
            )
        )
        assert 0 <= c.cached_tokens < c.prompt_tokens
        cached.append(c.cached_tokens)
    return cached


def play(backend: EmbeddedBackend, wood: str, slots: tuple[int, ...]) -> list[list[int]]:
    return [play_turn(backend, wood, slots, turn) for turn in range(ROUNDS)]


def test_two_woods_on_one_server_keep_their_cached_prefixes(
    leased_backend: EmbeddedBackend,
) -> None:
    backend = leased_backend
    alone = {}
    for wood in WOODS:
        with backend.lease(2) as lease:
            alone[wood] = play(backend, wood, lease.slots)
    # Warm rounds hold the wood's whole static prompt, not just the template.
    assert min(n for rounds in alone.values() for row in rounds[1:] for n in row) > 30

    together: dict[str, object] = {}
    leases = {wood: backend.lease(2) for wood in WOODS}
    assert set(leases["oona"].slots).isdisjoint(leases["fen"].slots)
    barrier = threading.Barrier(len(WOODS))

    def run(wood: str) -> None:
        barrier.wait()
        try:
            together[wood] = play(backend, wood, leases[wood].slots)
        except BaseException as e:  # recorded, asserted below
            together[wood] = e

    threads = [threading.Thread(target=run, args=(wood,)) for wood in WOODS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    for lease in leases.values():
        lease.release()
    assert backend.pool.free == backend.n_parallel
    for wood in WOODS:
        rounds = together[wood]
        assert isinstance(rounds, list), rounds
        # Every call of a warm round caches exactly what it caches alone.
        assert rounds[1:] == alone[wood][1:], (wood, rounds, alone[wood])


def test_woods_pinned_to_the_same_slots_lose_their_prefixes(
    leased_backend: EmbeddedBackend,
) -> None:
    # The failure leases prevent, on the same server: two woods numbering
    # their creatures' slots from 0 and taking turns evict each other.
    backend = leased_backend
    with backend.lease(2) as lease:
        alone = play(backend, "oona", lease.slots)
        shared = []
        for turn in range(ROUNDS):
            shared.append(play_turn(backend, "oona", lease.slots, turn))
            play_turn(backend, "fen", lease.slots, turn)
    for warm_alone, warm_shared in zip(alone[1:], shared[1:], strict=True):
        assert all(s < a // 2 for s, a in zip(warm_shared, warm_alone, strict=True)), (
            alone,
            shared,
        )


def test_a_server_closed_at_once_still_stops() -> None:
    # xllamacpp's listener thread, stopped before its accept loop runs, hung
    # the delete forever; the backend waits for the listener to answer first.
    def start_and_close() -> None:
        for _ in range(5):
            EmbeddedBackend("smollm2", 1, n_ctx=256, threads=1).close()

    worker = threading.Thread(target=start_and_close, daemon=True)
    worker.start()
    worker.join(timeout=120)
    assert not worker.is_alive(), "closing a fresh server hung"


def test_woodmarket_slots_sizes_the_shared_server_and_leases_share_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WOODMARKET_SLOTS", "3")
    backend = embedded.get_embedded("smollm2", n_ctx=256, threads=1)
    try:
        assert backend.n_parallel == 3
        first, second = backend.lease(2), backend.lease(1)
        assert (first.slots, second.slots) == ((0, 1), (2,))
        with pytest.raises(
            BackendError,
            match=r"^smollm2: all 3 slots are leased; release a lease \(close a wood that is "
            r"done\) or serve more slots with WOODMARKET_SLOTS before the model's first use$",
        ):
            backend.lease(1)
        waiter: list[object] = []
        thread = threading.Thread(target=lambda: waiter.append(backend.lease(1, timeout_s=60)))
        thread.start()
        deadline = time.monotonic() + 30
        while not backend.pool.waiting and time.monotonic() < deadline:
            time.sleep(0.001)
        second.release()
        thread.join(timeout=60)
        (lease,) = waiter
        assert isinstance(lease, SlotLease) and lease.slots == (2,)
        c = backend.complete(CompletionRequest(system="", user="Hi", max_tokens=2, slot=2))
        assert c.generated_tokens >= 1
        assert embedded.get_embedded("smollm2", n_ctx=256, threads=1) is backend
    finally:
        backend.close()
