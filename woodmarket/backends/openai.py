"""Backends room: any OpenAI-compatible `/v1/chat/completions` server over stdlib HTTP.

`OpenAIBackend` reaches llama-server, vLLM or a hosted API with `urllib`
(no new dependency). `timeout_s` is the whole call's wall-clock budget,
retries and backoff included: every socket wait is cut to the time left, so
a server that trickles bytes cannot hold a call past it, and no attempt or
backoff starts that the budget cannot hold. Within the budget it retries,
with exponential backoff, what may pass (connection errors, 5xx, 408/429)
and never what will not (other 4xx, a 200 with nonsense, an answer over
`MAX_RESPONSE_BYTES`). The API key is read from a named environment
variable at call time and is never kept on the object. This module touches
only the network; it knows nothing of the wood.
"""

from __future__ import annotations

import functools
import http.client
import io
import json
import os
import socket
import time
import urllib.error
import urllib.request
from typing import Any

from woodmarket.backends._chat import chat_body, error_message, parse_chat, safe_text
from woodmarket.errors import BackendError
from woodmarket.types import Completion, CompletionRequest

__all__ = ["MAX_RESPONSE_BYTES", "OpenAIBackend"]

# A chat answer is a few kilobytes; a reply above this is refused unread.
MAX_RESPONSE_BYTES = 1 << 20  # 1 MiB

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

    def _attempt(self, data: bytes, deadline: _Deadline) -> object:
        """One POST; returns the decoded JSON, raises _Retryable or BackendError."""
        req = urllib.request.Request(self.url, data=data, headers=self._headers(), method="POST")
        try:
            with _opener(deadline).open(req) as resp:
                raw = self._read(resp)
        except urllib.error.HTTPError as e:
            detail = _http_error_detail(e)
            if e.code >= 500 or e.code in _RETRY_STATUS:
                raise _Retryable(f"HTTP {e.code}: {detail}") from e
            raise BackendError(f"{self.url} refused the request: HTTP {e.code}: {detail}") from e
        except urllib.error.URLError as e:
            if isinstance(e.reason, TimeoutError):
                raise _Retryable("no complete answer by the deadline") from e
            raise _Retryable(f"cannot connect: {e.reason}") from e
        except TimeoutError as e:
            raise _Retryable("no complete answer by the deadline") from e
        except (OSError, http.client.HTTPException) as e:
            raise _Retryable(f"connection broke: {type(e).__name__}: {e}") from e
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):
            raise BackendError(f"{self.url} answered with invalid JSON: {raw[:120]!r}") from None

    def _read(self, resp: http.client.HTTPResponse) -> bytes:
        """The body, refused unread when it says it is too long, or once it proves so."""
        if resp.length is not None and resp.length > MAX_RESPONSE_BYTES:
            raise self._too_long(f"{resp.length} bytes")
        raw = resp.read(MAX_RESPONSE_BYTES + 1)
        if len(raw) > MAX_RESPONSE_BYTES:
            raise self._too_long("more")
        return raw

    def _too_long(self, size: str) -> BackendError:
        return BackendError(
            f"{self.url} answered with {size}, over the {MAX_RESPONSE_BYTES} byte limit "
            "(MAX_RESPONSE_BYTES) for one chat answer"
        )

    def complete(self, request: CompletionRequest) -> Completion:
        """One chat completion within `timeout_s`, retrying transient failures."""
        body = chat_body(
            request,
            model=self.model,
            slot_field=self.slot_field,
            cache_prompt=self.cache_prompt,
        )
        data = json.dumps(body).encode()
        deadline = _Deadline(self.timeout_s)
        start = time.perf_counter()
        attempts = 0
        while True:
            attempts += 1
            try:
                payload = self._attempt(data, deadline)
                break
            except _Retryable as e:
                cause = str(e)
            tried = f"{attempts} attempt{'s' if attempts > 1 else ''}"
            last = attempts > self.retries
            wait = self.backoff_s * 2 ** (attempts - 1)
            # Never sleep past the deadline, nor start an attempt it cannot hold.
            if deadline.left() <= (0 if last else wait):
                raise BackendError(
                    f"POST {self.url} failed after {tried}, out of its "
                    f"{self.timeout_s:g} s budget (timeout_s): {cause}"
                )
            if last:
                raise BackendError(f"POST {self.url} failed after {tried}: {cause}")
            _sleep(wait)
        latency_ms = (time.perf_counter() - start) * 1000
        return parse_chat(payload, model=self.model, latency_ms=latency_ms, where=self.url)


def _http_error_detail(e: urllib.error.HTTPError) -> str:
    try:
        raw = e.read(64 * 1024)  # the start is all a message needs
    except (OSError, http.client.HTTPException):
        raw = b""
    finally:
        e.close()  # an HTTPError holds the open response
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError):
        return raw[:200].decode("utf-8", "replace") or str(e.reason)
    message = error_message(payload) if isinstance(payload, dict) else None
    return safe_text(message) if message else raw[:200].decode("utf-8", "replace")


# --- the deadline, down to the socket ------------------------------------------


class _Deadline:
    """The wall-clock end of one call; each socket wait gets only the time left."""

    def __init__(self, budget_s: float) -> None:
        self.end = time.monotonic() + budget_s

    def left(self) -> float:
        return self.end - time.monotonic()

    def wait_s(self) -> float:
        """The time left as a socket timeout; TimeoutError when none is left."""
        left = self.left()
        if left <= 0:  # settimeout(0) would mean non-blocking, not "now"
            raise TimeoutError("the deadline has passed")
        return left


class _DeadlineReader(io.RawIOBase):
    """A socket's read side whose every receive ends by the deadline.

    urllib's own timeout applies to each receive anew, so a peer sending a
    byte now and then would never trip it; here each one gets the time left.
    """

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock = sock
        self._raw = sock.makefile("rb", buffering=0)  # keeps the socket open while read
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        self._sock.settimeout(self._deadline.wait_s())
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _DeadlineSocket:
    """A connected socket as http.client uses it, with sends and reads cut at the deadline."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock = sock
        self._deadline = deadline

    def makefile(self, mode: str = "rb", *args: object, **kwargs: object) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))

    def sendall(self, data: bytes) -> None:
        # Since Python 3.5 a socket timeout bounds the whole sendall.
        self._sock.settimeout(self._deadline.wait_s())
        self._sock.sendall(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)  # close, setsockopt, ...


class _DeadlineConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, deadline: _Deadline, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline = deadline

    def connect(self) -> None:
        self.timeout = self._deadline.wait_s()  # the connect (and TLS handshake) too
        super().connect()
        self.sock = _DeadlineSocket(self.sock, self._deadline)


class _DeadlineHTTPSConnection(_DeadlineConnection, http.client.HTTPSConnection):
    pass


class _DeadlineHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(functools.partial(_DeadlineConnection, deadline=self._deadline), req)


class _DeadlineHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(
            functools.partial(_DeadlineHTTPSConnection, deadline=self._deadline),
            req,
            context=self._context,  # type: ignore[attr-defined]  # set by HTTPSHandler
        )


def _opener(deadline: _Deadline) -> urllib.request.OpenerDirector:
    """urllib as usual (proxies, redirects, HTTP errors), every wait cut at `deadline`."""
    return urllib.request.build_opener(
        _DeadlineHTTPHandler(deadline), _DeadlineHTTPSHandler(deadline)
    )
