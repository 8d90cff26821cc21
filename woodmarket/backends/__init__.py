"""Backends room: how an llm policy reaches a model.

Two one-method plug-ins (`complete(request) -> Completion`): `embedded`
runs llama.cpp in this process through xllamacpp, `openai` talks to any
OpenAI-compatible server. `serve_http` puts a model behind the real
llama.cpp HTTP server on loopback. This package touches only model servers;
xllamacpp is imported when a server is first started, not here.
"""

from woodmarket.backends.embedded import EmbeddedBackend, close_all, get_embedded
from woodmarket.backends.openai import OpenAIBackend
from woodmarket.backends.serve import serve_http

__all__ = ["EmbeddedBackend", "OpenAIBackend", "close_all", "get_embedded", "serve_http"]
