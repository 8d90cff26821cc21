"""Fixtures for the backends room's tests: models loaded once per session, fake HTTP peers."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer

import pytest
from fakes import FakeServer, start_fake

from woodmarket.backends import embedded, serve_http
from woodmarket.backends.embedded import EmbeddedBackend

N_CTX = 1024  # per slot; the tests' prompts are short
SLOTS = 2


@pytest.fixture(scope="session", params=["smollm2", "gemma3"])
def embedded_backend(request: pytest.FixtureRequest) -> Iterator[EmbeddedBackend]:
    """Each bundled model's shared server, loaded once for the whole session, with two slots."""
    backend = embedded.get_embedded(request.param, slots=SLOTS, n_ctx=N_CTX)
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def llama_http() -> Iterator[tuple[str, str]]:
    """The real llama.cpp HTTP server on loopback (SmolLM2), with an API key."""
    key = "test-key-7f3a"
    with serve_http("smollm2", SLOTS, n_ctx=N_CTX, api_key=key) as url:
        yield url, key


@pytest.fixture
def fake_server() -> Iterator[Callable[..., FakeServer]]:
    """Start scripted peers: `fake_server(Reply(500), Reply(200, body))`."""
    servers: list[ThreadingHTTPServer] = []
    yield functools.partial(start_fake, servers)
    for server in servers:
        server.shutdown()
        server.server_close()
