"""Backends room: the OpenAI-style chat payload both backends speak.

Turns a `CompletionRequest` into a chat-completions body (with llama.cpp's
extension fields) and a response dict back into a `Completion`, raising
`BackendError` on anything that is not a usable answer: a caller never sees
another exception, text never carries a lone surrogate, and token counts
are non-negative ints. Pure functions: no I/O, no state.
"""

from __future__ import annotations

import reprlib
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
        # The temperature, and any other sampling knob only when it is set.
        **request.sampling.knobs(),
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


# No context holds two billion tokens: a larger count is nonsense, read as 0.
_MAX_COUNT = 2**31 - 1


def _count(value: object) -> int:
    """A token count as a non-negative int; anything that is not a whole number is 0."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, float) and value.is_integer():  # 12.0 from a loose server
        value = int(value)
    return value if isinstance(value, int) and 0 <= value <= _MAX_COUNT else 0


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def safe_text(text: str) -> str:
    """`text` with lone surrogates written as visible escapes (`\\ud83d`).

    JSON may carry a lone surrogate (`"\\ud83d"`), which no UTF-8 file can
    hold; escaping it keeps the text readable and every trace writable.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _content(value: object) -> str | None:
    """The text of a message's content, or None when it is not text.

    OpenAI allows content as a list of parts; the text parts are joined.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "backslashreplace")
    if isinstance(value, list) and value:
        parts = [
            p.get("text") if isinstance(p, Mapping) and p.get("type") == "text" else None
            for p in value
        ]
        texts = [t for t in parts if isinstance(t, str)]
        if len(texts) == len(value):
            return "".join(texts)
    return None


def error_message(payload: Mapping[str, Any]) -> str | None:
    """The server's own words when a payload is an error, else None."""
    err = payload.get("error")
    if isinstance(err, Mapping):
        text = _words(err.get("message") or "unknown error")
        extra = ", ".join(_words(err[k]) for k in ("type", "code") if err.get(k) is not None)
        return f"{text} ({extra})" if extra else text
    if err:
        return _words(err)
    # xllamacpp reports its own JSON failures as a flat {code, type, message}.
    if "choices" not in payload and "message" in payload:
        return f"{_words(payload.get('message'))} ({_words(payload.get('type', 'error'))})"
    return None


def _words(value: object) -> str:
    # A server's text as it is; anything else bounded, however deep or long.
    return value[:500] if isinstance(value, str) else _excerpt(value)


_REPR = reprlib.Repr()
_REPR.maxlevel = 4
_REPR.maxstring = 60
_REPR.maxother = 60
_REPR.maxdict = _REPR.maxlist = 6


def _excerpt(value: object) -> str:
    # Bounded in depth and length: a payload may be huge or deeply nested.
    return _REPR.repr(value)[:300]


def parse_chat(payload: object, *, model: str, latency_ms: float, where: str) -> Completion:
    """A chat-completions response -> Completion, with prompt-cache accounting.

    Any payload that is not a usable answer raises `BackendError` (and
    nothing else); a usable one gives text safe to write as UTF-8 and token
    counts that are non-negative ints. llama.cpp reports cached prompt
    tokens twice: OpenAI-style in `usage.prompt_tokens_details.cached_tokens`
    and natively in `timings.cache_n`. Either is taken; other servers may
    send neither (0).
    """
    try:
        return _parse(payload, model=model, latency_ms=latency_ms, where=where)
    except BackendError as e:
        raise BackendError(safe_text(str(e))) from None


def _parse(payload: object, *, model: str, latency_ms: float, where: str) -> Completion:
    if not isinstance(payload, Mapping):
        raise BackendError(f"{where}: expected a JSON object, got {type(payload).__name__}")
    message = error_message(payload)
    if message is not None:
        raise BackendError(f"{where}: {message}")
    choices = payload.get("choices")
    choice = choices[0] if isinstance(choices, list | tuple) and choices else None
    reply = choice.get("message") if isinstance(choice, Mapping) else None
    if not isinstance(choice, Mapping) or not isinstance(reply, Mapping) or "content" not in reply:
        raise BackendError(
            f"{where}: malformed completion (no choices[0].message.content) in "
            f"{_excerpt(dict(payload))}"
        )
    text = _content(reply["content"])
    if text is None:
        kind = type(reply["content"]).__name__
        raise BackendError(f"{where}: message content is {kind}, not text")

    usage = _mapping(payload.get("usage"))
    timings = _mapping(payload.get("timings"))
    details = _mapping(usage.get("prompt_tokens_details"))
    cached = _count(details.get("cached_tokens")) or _count(timings.get("cache_n"))
    prompt = _count(usage.get("prompt_tokens")) or (
        _count(timings.get("prompt_n")) + _count(timings.get("cache_n"))
    )
    generated = _count(usage.get("completion_tokens")) or _count(timings.get("predicted_n"))
    finish = choice.get("finish_reason")
    return Completion(
        text=safe_text(text),
        model=model,
        prompt_tokens=prompt,
        cached_tokens=cached,
        generated_tokens=generated,
        latency_ms=round(latency_ms, 3),
        finish_reason=safe_text(finish) if isinstance(finish, str) else "",
    )
