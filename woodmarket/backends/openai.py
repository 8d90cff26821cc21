"""Backends room: any OpenAI-compatible `/v1/chat/completions` server over stdlib HTTP.

`OpenAIBackend` reaches llama-server, vLLM or a hosted API with `urllib`
(no new dependency). It retries, with exponential backoff, what may pass
(connection errors, timeouts, 5xx, 408/429) and never what will not (other
4xx, a 200 with nonsense). The API key is read from a named environment
variable at call time and is never kept on the object. This module touches
only the network; it knows nothing of the wood.
"""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.error
import urllib.request

from woodmarket.backends._chat import chat_body, error_message, parse_chat
from woodmarket.errors import BackendError
from woodmarket.types import Completion, CompletionRequest

__all__ = ["OpenAIBackend"]

# Statuses worth another try: request timeout, rate limit, server trouble.
_RETRY_STATUS = frozenset({408, 429})

# Module-level so tests can count the waits without sleeping.
_sleep = time.sleep


class _Retryable(Exception):
    """One attempt failed in a way that may pass; carries the cause's text."""


def chat_url(base_url: str) -> str:
    """`http://host:port`, `.../v1` or the full endpoint -> the chat-completions URL."""
    url = base_url.rstrip("/")
    if url.endswith("/chat/completions"):
        return url
    if not url.endswith("/v1"):
        url += "/v1"
    return url + "/chat/completions"


class OpenAIBackend:
    """Chat completions from an OpenAI-compatible server.

    `slot_field` sends llama.cpp's `id_slot` and text-keyed `logit_bias`
    (turn it off for servers that reject unknown fields or want token ids);
    `cache_prompt=None` leaves that field out too.
    """

    backend_name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str | None = None,
        timeout_s: float = 30.0,
        retries: int = 2,
        backoff_s: float = 0.5,
        *,
        slot_field: bool = True,
        cache_prompt: bool | None = True,
    ) -> None:
        if retries < 0 or timeout_s <= 0 or backoff_s < 0:
            raise ValueError("retries >= 0, timeout_s > 0 and backoff_s >= 0 are required")
        self.url = chat_url(base_url)
        self.model = model
        self.api_key_env = api_key_env
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.slot_field = slot_field
        self.cache_prompt = cache_prompt

    def __repr__(self) -> str:
        key = f" key from ${self.api_key_env}" if self.api_key_env else ""
        return f"<OpenAIBackend {self.model} at {self.url}{key}>"

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key_env:
            key = os.environ.get(self.api_key_env)
            if not key:
                raise BackendError(
                    f"{self.url}: environment variable {self.api_key_env} (the API key) is not set"
                )
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _attempt(self, data: bytes) -> object:
        """One POST; returns the decoded JSON, raises _Retryable or BackendError."""
        req = urllib.request.Request(self.url, data=data, headers=self._headers(), method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            detail = _http_error_detail(e)
            if e.code >= 500 or e.code in _RETRY_STATUS:
                raise _Retryable(f"HTTP {e.code}: {detail}") from e
            raise BackendError(f"{self.url} refused the request: HTTP {e.code}: {detail}") from e
        except urllib.error.URLError as e:
            raise _Retryable(f"cannot connect: {e.reason}") from e
        except TimeoutError as e:
            raise _Retryable(f"no answer within {self.timeout_s:g} s") from e
        except (ConnectionError, http.client.HTTPException) as e:
            raise _Retryable(f"connection broke: {type(e).__name__}: {e}") from e
        try:
            return json.loads(raw)
        except ValueError:
            raise BackendError(f"{self.url} answered with invalid JSON: {raw[:120]!r}") from None

    def complete(self, request: CompletionRequest) -> Completion:
        """One chat completion, with bounded retries on transient failures."""
        body = chat_body(
            request,
            model=self.model,
            slot_field=self.slot_field,
            cache_prompt=self.cache_prompt,
        )
        data = json.dumps(body).encode()
        attempts = self.retries + 1
        payload: object = None
        cause = ""
        start = time.perf_counter()
        for attempt in range(attempts):
            try:
                payload = self._attempt(data)
                break
            except _Retryable as e:
                cause = str(e)
                if attempt + 1 < attempts:
                    _sleep(self.backoff_s * 2**attempt)
        else:
            raise BackendError(f"POST {self.url} failed after {attempts} attempts: {cause}")
        latency_ms = (time.perf_counter() - start) * 1000
        return parse_chat(payload, model=self.model, latency_ms=latency_ms, where=self.url)


def _http_error_detail(e: urllib.error.HTTPError) -> str:
    try:
        raw = e.read()
    except OSError:
        raw = b""
    finally:
        e.close()  # an HTTPError holds the open response
    try:
        payload = json.loads(raw)
    except ValueError:
        return raw[:200].decode("utf-8", "replace") or str(e.reason)
    message = error_message(payload) if isinstance(payload, dict) else None
    return message or raw[:200].decode("utf-8", "replace")
