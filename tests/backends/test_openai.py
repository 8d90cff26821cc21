"""Tests for the OpenAI-compatible backend: the real llama.cpp HTTP server, and scripted peers."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Callable

import pytest
from fakes import FakeServer, Reply, completion_json

from woodmarket.backends import openai
from woodmarket.backends.openai import OpenAIBackend, chat_url
from woodmarket.errors import BackendError
from woodmarket.types import Backend, CompletionRequest, Sampling

ACTION_GRAMMAR = 'root ::= "hold" | "buy honey " [1-9]'
SYSTEM = (
    "You are Mossback, a tortoise who farms acorns and distrusts hype. "
    "Answer with one action: hold, or buy GOOD N."
)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the backoff waits instead of sleeping through them."""
    waits: list[float] = []
    monkeypatch.setattr(openai, "_sleep", waits.append)
    return waits


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_chat_url_accepts_host_v1_or_endpoint() -> None:
    assert chat_url("http://h:1") == "http://h:1/v1/chat/completions"
    assert chat_url("http://h:1/v1/") == "http://h:1/v1/chat/completions"
    assert chat_url("http://h:1/v1/chat/completions") == "http://h:1/v1/chat/completions"


# --- the real llama.cpp HTTP server ---------------------------------------


@pytest.mark.models
def test_real_llama_server_completion(llama_http: tuple[str, str], monkeypatch) -> None:
    url, key = llama_http
    monkeypatch.setenv("WOODMARKET_TEST_KEY", key)
    backend = OpenAIBackend(url, "smollm2", api_key_env="WOODMARKET_TEST_KEY")
    assert isinstance(backend, Backend)
    c = backend.complete(CompletionRequest(system=SYSTEM, user="Turn 1. Act.", max_tokens=8))
    assert c.text.strip() and c.model == "smollm2"
    assert c.prompt_tokens > 20 and 1 <= c.generated_tokens <= 8
    assert c.latency_ms > 0


@pytest.mark.models
def test_real_llama_server_grammar_and_prompt_cache(
    llama_http: tuple[str, str], monkeypatch
) -> None:
    url, key = llama_http
    monkeypatch.setenv("WOODMARKET_TEST_KEY", key)
    backend = OpenAIBackend(url, "smollm2", api_key_env="WOODMARKET_TEST_KEY")
    texts, cached = [], []
    for turn in (3, 4):
        c = backend.complete(
            CompletionRequest(
                system=SYSTEM,
                user=f"Turn {turn}. Acorns are cheap.",
                grammar=ACTION_GRAMMAR,
                max_tokens=16,
                slot=1,
            )
        )
        texts.append(c.text)
        cached.append(c.cached_tokens)
    assert all(re.fullmatch(r"hold|buy honey [1-9]", t) for t in texts), texts
    assert cached[1] > 0  # the same slot kept the system prompt's KV


@pytest.mark.models
def test_real_llama_server_rejects_a_wrong_key(llama_http: tuple[str, str], monkeypatch) -> None:
    url, _key = llama_http
    monkeypatch.setenv("WOODMARKET_TEST_KEY", "wrong")
    backend = OpenAIBackend(url, "smollm2", api_key_env="WOODMARKET_TEST_KEY")
    with pytest.raises(BackendError, match="HTTP 401"):
        backend.complete(CompletionRequest(system="", user="hi", max_tokens=2))


# --- failures and retries ---------------------------------------------------


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_dead_server_fails_after_bounded_retries(sleeps: list[float], scheme: str) -> None:
    url = f"{scheme}://127.0.0.1:{closed_port()}/v1"
    backend = OpenAIBackend(url, "m", timeout_s=2, retries=2, backoff_s=0.05)
    start = time.monotonic()
    with pytest.raises(BackendError) as err:
        backend.complete(CompletionRequest(system="", user="hi"))
    assert time.monotonic() - start < 5
    message = str(err.value)
    assert url in message and "after 3 attempts" in message
    assert "cannot connect" in message
    assert sleeps == [0.05, 0.1]  # exponential, and none after the last attempt


def test_dead_server_really_waits_with_backoff() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    backend = OpenAIBackend(url, "m", timeout_s=1, retries=2, backoff_s=0.1)
    start = time.monotonic()
    with pytest.raises(BackendError, match="after 3 attempts"):
        backend.complete(CompletionRequest(system="", user="hi"))
    assert 0.3 <= time.monotonic() - start < 3  # 0.1 + 0.2 of backoff


def test_500_then_200_succeeds_on_retry(
    fake_server: Callable[..., FakeServer], sleeps: list[float]
) -> None:
    fake = fake_server(
        Reply(500, b'{"error": {"message": "slot busy", "code": 500}}'),
        Reply(200, completion_json("buy honey 2", cached=9)),
    )
    c = OpenAIBackend(fake.url, "m", backoff_s=0.01).complete(
        CompletionRequest(system="s", user="u")
    )
    assert c.text == "buy honey 2"
    assert (c.prompt_tokens, c.cached_tokens, c.generated_tokens) == (12, 9, 2)
    assert c.finish_reason == "stop"
    assert len(fake.requests) == 2 and sleeps == [0.01]


def test_persistent_5xx_names_the_server_message(
    fake_server: Callable[..., FakeServer], sleeps: list[float]
) -> None:
    fake = fake_server(Reply(503, b'{"error": {"message": "loading model", "code": 503}}'))
    backend = OpenAIBackend(fake.url, "m", retries=1, backoff_s=0.01)
    with pytest.raises(BackendError, match=r"after 2 attempts: HTTP 503: loading model"):
        backend.complete(CompletionRequest(system="s", user="u"))
    assert len(fake.requests) == 2


def test_4xx_is_not_retried(fake_server: Callable[..., FakeServer], sleeps: list[float]) -> None:
    fake = fake_server(Reply(400, b'{"error": {"message": "bad grammar", "type": "invalid"}}'))
    with pytest.raises(BackendError, match="HTTP 400: bad grammar") as err:
        OpenAIBackend(fake.url, "m").complete(CompletionRequest(system="s", user="u"))
    assert fake.url in str(err.value)
    assert len(fake.requests) == 1 and sleeps == []


def test_429_is_retried(fake_server: Callable[..., FakeServer], sleeps: list[float]) -> None:
    fake = fake_server(Reply(429, b"slow down"), Reply(200, completion_json()))
    backend = OpenAIBackend(fake.url, "m", backoff_s=0.01)
    c = backend.complete(CompletionRequest(system="", user="u"))
    assert c.text == "hold" and len(fake.requests) == 2


def test_garbage_json_is_a_clear_error(
    fake_server: Callable[..., FakeServer], sleeps: list[float]
) -> None:
    fake = fake_server(Reply(200, b"<html>gateway</html>"))
    with pytest.raises(BackendError, match=r"invalid JSON: b'<html>gateway</html>'") as err:
        OpenAIBackend(fake.url, "m").complete(CompletionRequest(system="s", user="u"))
    assert fake.url in str(err.value)
    assert len(fake.requests) == 1  # nonsense is not transient


def test_json_without_choices_is_a_clear_error(fake_server: Callable[..., FakeServer]) -> None:
    fake = fake_server(Reply(200, b'{"object": "chat.completion", "choices": []}'))
    with pytest.raises(BackendError, match=r"malformed completion \(no choices\[0\]"):
        OpenAIBackend(fake.url, "m").complete(CompletionRequest(system="s", user="u"))


@pytest.mark.parametrize("retries", [0, 2])
def test_a_silent_server_fails_at_the_deadline(
    fake_server: Callable[..., FakeServer], sleeps: list[float], retries: int
) -> None:
    fake = fake_server(Reply(200, completion_json(), delay_s=1.0))
    backend = OpenAIBackend(fake.url, "m", timeout_s=0.2, retries=retries, backoff_s=0.01)
    start = time.monotonic()
    with pytest.raises(
        BackendError,
        match=r"after 1 attempt, out of its 0\.2 s budget \(timeout_s\): no complete answer",
    ):
        backend.complete(CompletionRequest(system="s", user="u"))
    assert time.monotonic() - start < 0.7
    assert len(fake.requests) == 1 and sleeps == []  # no attempt without time for it


# --- the budget is a deadline: whole call, retries and backoff included -----


@pytest.mark.parametrize("trickle_head", [False, True], ids=["body", "head"])
def test_a_trickling_server_is_cut_off_at_the_deadline(
    fake_server: Callable[..., FakeServer], trickle_head: bool
) -> None:
    # One byte every 0.2 s never trips a per-read timeout; the deadline stops it.
    fake = fake_server(Reply(200, completion_json(), trickle_s=0.2, trickle_head=trickle_head))
    backend = OpenAIBackend(fake.url, "m", timeout_s=1, retries=2, backoff_s=0.01)
    start = time.monotonic()
    with pytest.raises(BackendError) as err:
        backend.complete(CompletionRequest(system="s", user="u"))
    elapsed = time.monotonic() - start
    assert 0.9 <= elapsed < 1.5
    message = str(err.value)
    assert fake.url in message and "1 s budget" in message
    assert len(fake.requests) == 1
    assert fake.wait_answers(1) == [False]


def test_retries_and_backoff_stay_within_the_budget(
    fake_server: Callable[..., FakeServer],
) -> None:
    fake = fake_server(Reply(500, b'{"error": {"message": "busy"}}', delay_s=0.3))
    backend = OpenAIBackend(fake.url, "m", timeout_s=1, retries=10, backoff_s=0.05)
    start = time.monotonic()
    with pytest.raises(BackendError, match=r"out of its 1 s budget"):
        backend.complete(CompletionRequest(system="s", user="u"))
    assert time.monotonic() - start < 1.5
    # 0.3 s + 0.05 + 0.3 + 0.1 + (cut at 1 s): three attempts, never eleven.
    assert 2 <= len(fake.requests) <= 3


def test_a_backoff_past_the_deadline_is_not_slept(
    fake_server: Callable[..., FakeServer], sleeps: list[float]
) -> None:
    fake = fake_server(Reply(503, b'{"error": {"message": "loading model"}}'))
    backend = OpenAIBackend(fake.url, "m", timeout_s=0.5, retries=3, backoff_s=10)
    with pytest.raises(
        BackendError, match=r"after 1 attempt, out of its 0\.5 s budget.*HTTP 503: loading model"
    ):
        backend.complete(CompletionRequest(system="s", user="u"))
    assert sleeps == [] and len(fake.requests) == 1


@pytest.mark.parametrize("length", [True, False], ids=["declared", "undeclared"])
def test_an_oversized_answer_is_refused_unread(
    fake_server: Callable[..., FakeServer], sleeps: list[float], length: bool
) -> None:
    huge = b'{"choices": [{"message": {"content": "' + b"a" * 20_000_000 + b'"}}]}'
    fake = fake_server(Reply(200, huge, length=length))
    with pytest.raises(
        BackendError, match=r"over the 1048576 byte limit \(MAX_RESPONSE_BYTES\)"
    ) as err:
        OpenAIBackend(fake.url, "m").complete(CompletionRequest(system="s", user="u"))
    assert fake.url in str(err.value)
    if length:
        assert f"{len(huge)} bytes" in str(err.value)
    assert len(fake.requests) == 1 and sleeps == []  # not transient: no retry
    assert fake.wait_answers(1) == [False]  # the client hung up; 20 MB were never read


def test_an_answer_at_the_limit_is_read(fake_server: Callable[..., FakeServer]) -> None:
    body = completion_json("hold")
    padded = body[:-1] + b" " * (openai.MAX_RESPONSE_BYTES - len(body)) + b"}"
    assert len(padded) == openai.MAX_RESPONSE_BYTES
    fake = fake_server(Reply(200, padded, length=False))
    assert (
        OpenAIBackend(fake.url, "m").complete(CompletionRequest(system="s", user="u")).text
        == "hold"
    )


# --- what is sent, and what is never kept -----------------------------------


def test_request_fields_sent(fake_server: Callable[..., FakeServer]) -> None:
    fake = fake_server(Reply(200, completion_json()))
    request = CompletionRequest(
        system="sys",
        user="usr",
        grammar=ACTION_GRAMMAR,
        max_tokens=12,
        sampling=Sampling(0.3),
        seed=42,
        slot=3,
        stop=("\n",),
    )
    OpenAIBackend(fake.url, "smol").complete(request)
    sent = fake.requests[0]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["json"] == {
        "model": "smol",
        "messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "usr"}],
        "max_tokens": 12,
        "temperature": 0.3,
        "seed": 42,
        "stream": False,
        "stop": ["\n"],
        "grammar": ACTION_GRAMMAR,
        "cache_prompt": True,
        "id_slot": 3,
    }
    assert "Authorization" not in sent["headers"]


def test_plain_openai_servers_get_no_llama_fields(fake_server: Callable[..., FakeServer]) -> None:
    fake = fake_server(Reply(200, completion_json()))
    backend = OpenAIBackend(fake.url, "gpt", slot_field=False, cache_prompt=None)
    backend.complete(CompletionRequest(system="", user="u", slot=1))
    sent = fake.requests[0]["json"]
    assert "id_slot" not in sent and "cache_prompt" not in sent and "grammar" not in sent
    assert sent["messages"] == [{"role": "user", "content": "u"}]


def test_api_key_is_sent_as_bearer_and_never_kept(
    fake_server: Callable[..., FakeServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-wood-0123456789"
    fake = fake_server(Reply(200, completion_json()))
    backend = OpenAIBackend(fake.url, "m", api_key_env="WOOD_API_KEY")
    monkeypatch.setenv("WOOD_API_KEY", secret)  # read at call time, not at construction
    c = backend.complete(CompletionRequest(system="s", user="u"))
    assert fake.requests[0]["headers"]["Authorization"] == f"Bearer {secret}"
    for text in (repr(backend), str(backend), repr(c), str(c), json.dumps(vars(backend))):
        assert secret not in text
    assert "WOOD_API_KEY" in repr(backend)
    # A rotated key is picked up on the next call.
    monkeypatch.setenv("WOOD_API_KEY", "sk-rotated")
    backend.complete(CompletionRequest(system="s", user="u"))
    assert fake.requests[1]["headers"]["Authorization"] == "Bearer sk-rotated"


def test_unset_key_variable_fails_before_sending(
    fake_server: Callable[..., FakeServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WOOD_API_KEY", raising=False)
    fake = fake_server(Reply(200, completion_json()))
    with pytest.raises(BackendError, match="WOOD_API_KEY"):
        OpenAIBackend(fake.url, "m", api_key_env="WOOD_API_KEY").complete(
            CompletionRequest(system="s", user="u")
        )
    assert fake.requests == []


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        OpenAIBackend("http://h", "m", retries=-1)
    with pytest.raises(ValueError):
        OpenAIBackend("http://h", "m", timeout_s=0)
