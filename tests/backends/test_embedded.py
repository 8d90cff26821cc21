"""Tests for the embedded backend: real completions from each bundled model, in-process."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request

import pytest

from woodmarket.backends import embedded
from woodmarket.backends.embedded import EmbeddedBackend
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
    with pytest.raises(ModelMissing, match="gemma3, smollm2"):
        EmbeddedBackend("mistral", 1)


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
