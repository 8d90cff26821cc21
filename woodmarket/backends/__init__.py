"""Backends room: how an llm policy reaches a model.

Two one-method plug-ins (`complete(request) -> Completion`): `embedded`
runs llama.cpp in this process through xllamacpp, one shared server per
model whose slots woods lease (`get_embedded(model).lease(n)`); `openai`
talks to any OpenAI-compatible server within a wall-clock budget.
`serve_http` puts a model behind the real llama.cpp HTTP server on loopback.
`batching` keeps each model file's batching verdict for this machine
(measured by `woodmarket.probe`). This package touches only model servers
and that verdicts file; xllamacpp is imported when a server is first
started, not here.
"""

from woodmarket.backends.embedded import (
    DEFAULT_SLOTS,
    EmbeddedBackend,
    close_all,
    get_embedded,
    shared_slots,
)
from woodmarket.backends.openai import MAX_RESPONSE_BYTES, OpenAIBackend
from woodmarket.backends.serve import serve_http
from woodmarket.backends.slots import SlotLease, SlotPool

__all__ = [
    "DEFAULT_SLOTS",
    "MAX_RESPONSE_BYTES",
    "EmbeddedBackend",
    "OpenAIBackend",
    "SlotLease",
    "SlotPool",
    "close_all",
    "get_embedded",
    "serve_http",
    "shared_slots",
]
