"""Backends room: the OpenAI-style chat payload both backends speak.

Turns a `CompletionRequest` into a chat-completions body (with llama.cpp's
extension fields) and a response dict back into a `Completion`, raising
`BackendError` on anything that is not a usable answer. Pure functions:
no I/O, no state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from woodmarket.errors import BackendError
from woodmarket.types import Completion, CompletionRequest


def chat_body(
    request: CompletionRequest,
    *,
    model: str | None = None,
    slot_field: bool = True,
    cache_prompt: bool | None = True,
) -> dict[str, Any]:
    """The JSON body of one non-streaming chat completion."""
    messages = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    messages.append({"role": "user", "content": request.user})
    body: dict[str, Any] = {
        "messages": messages,
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "seed": request.seed,
        "stream": False,
    }
    if model:
        body["model"] = model
    if request.stop:
        body["stop"] = list(request.stop)
    if request.grammar:
        # llama.cpp extension: a GBNF grammar the sampler must follow.
        body["grammar"] = request.grammar
    if cache_prompt is not None:
        body["cache_prompt"] = cache_prompt
    if slot_field and request.logit_bias:
        # llama.cpp extension: biases keyed by text (the server tokenizes
        # them), which a server that wants token ids would refuse.
        body["logit_bias"] = [[piece, bias] for piece, bias in request.logit_bias]
    if slot_field and request.slot is not None:
        # llama.cpp extension: pin the request to one slot so that slot's
        # KV cache still holds this creature's static prefix from last turn.
        body["id_slot"] = request.slot
    return body


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def error_message(payload: Mapping[str, Any]) -> str | None:
    """The server's own words when a payload is an error, else None."""
    err = payload.get("error")
    if isinstance(err, Mapping):
        text = str(err.get("message") or "unknown error")
        extra = ", ".join(str(err[k]) for k in ("type", "code") if err.get(k) is not None)
        return f"{text} ({extra})" if extra else text
    if err:
        return str(err)
    # xllamacpp reports its own JSON failures as a flat {code, type, message}.
    if "choices" not in payload and "message" in payload:
        return f"{payload.get('message')} ({payload.get('type', 'error')})"
    return None


def parse_chat(payload: object, *, model: str, latency_ms: float, where: str) -> Completion:
    """A chat-completions response -> Completion, with prompt-cache accounting.

    llama.cpp reports cached prompt tokens twice: OpenAI-style in
    `usage.prompt_tokens_details.cached_tokens` and natively in
    `timings.cache_n`. Either is taken; other servers may send neither (0).
    """
    if not isinstance(payload, Mapping):
        raise BackendError(f"{where}: expected a JSON object, got {type(payload).__name__}")
    message = error_message(payload)
    if message is not None:
        raise BackendError(f"{where}: {message}")
    try:
        choice = payload["choices"][0]
        text = choice["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise BackendError(
            f"{where}: malformed completion (no choices[0].message.content) in "
            f"{str(dict(payload))[:200]}"
        ) from None
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise BackendError(f"{where}: message content is {type(text).__name__}, not text")

    usage = _mapping(payload.get("usage"))
    timings = _mapping(payload.get("timings"))
    details = usage.get("prompt_tokens_details")
    cached = _int(details.get("cached_tokens")) if isinstance(details, Mapping) else 0
    cached = cached or _int(timings.get("cache_n"))
    prompt = _int(usage.get("prompt_tokens")) or (
        _int(timings.get("prompt_n")) + _int(timings.get("cache_n"))
    )
    generated = _int(usage.get("completion_tokens")) or _int(timings.get("predicted_n"))
    return Completion(
        text=text,
        model=model,
        prompt_tokens=prompt,
        cached_tokens=cached,
        generated_tokens=generated,
        latency_ms=round(latency_ms, 3),
        finish_reason=str(choice.get("finish_reason") or ""),
    )
