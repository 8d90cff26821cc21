"""Backends room: the real llama.cpp HTTP server on loopback, as a context manager.

`serve_http` starts llama-server's own HTTP front end through xllamacpp on
127.0.0.1 and yields its OpenAI-style base URL. It is the honest peer for
the `openai` backend's tests, and a quick way for users to expose a bundled
model to other tools. It touches nothing but the server it starts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from woodmarket import models
from woodmarket.backends.embedded import (
    DEFAULT_N_CTX,
    build_params,
    import_xllamacpp,
    wait_listening,
)
from woodmarket.errors import BackendError

__all__ = ["serve_http"]


@contextmanager
def serve_http(
    model: str | os.PathLike[str],
    n_parallel: int = 1,
    *,
    n_ctx: int = DEFAULT_N_CTX,
    threads: int | None = None,
    port: int = 0,
    api_key: str | None = None,
) -> Iterator[str]:
    """Serve `model` (registry key or `.gguf` path) on 127.0.0.1; yield `http://127.0.0.1:PORT/v1`.

    With `port=0` the OS picks a free port at bind time (no probe-then-bind
    race). With `api_key`, requests must carry `Authorization: Bearer KEY`.
    The server is ready when the URL is yielded and stopped on exit.
    """
    path = models.resolve(model)
    params = build_params(path, n_parallel, n_ctx=n_ctx, threads=threads, port=port)
    params.hostnames = ["127.0.0.1"]
    if api_key:
        params.api_keys = [api_key]
    try:
        server: Any = import_xllamacpp().Server(params)
    except Exception as e:
        raise BackendError(f"llama.cpp HTTP server could not start for {path}: {e}") from e
    try:
        # listening_address is "http://127.0.0.1:PORT"; the constructor
        # returns once the model is loaded and the socket is bound, and the
        # accept loop runs once it has answered (else stopping could hang).
        wait_listening(server.listening_address)
        yield f"{server.listening_address.rstrip('/')}/v1"
    finally:
        del server
