"""Tests for the chat payload both backends share: request bodies and response parsing."""

from __future__ import annotations

import pytest

from woodmarket.backends._chat import chat_body, parse_chat
from woodmarket.errors import BackendError
from woodmarket.types import CompletionRequest


def choice(text: object = "hold", finish: str = "stop") -> list[dict[str, object]]:
    return [{"message": {"role": "assistant", "content": text}, "finish_reason": finish}]


def parse(payload: object):
    return parse_chat(payload, model="m", latency_ms=12.3456, where="here")


def test_body_without_system_slot_or_grammar() -> None:
    body = chat_body(CompletionRequest(system="", user="u"), cache_prompt=None)
    assert body == {
        "messages": [{"role": "user", "content": "u"}],
        "max_tokens": 32,
        "temperature": 0.0,
        "seed": 0,
        "stream": False,
    }


def test_slot_zero_is_still_sent() -> None:
    assert chat_body(CompletionRequest(system="s", user="u", slot=0))["id_slot"] == 0
    assert "id_slot" not in chat_body(
        CompletionRequest(system="s", user="u", slot=0), slot_field=False
    )


def test_logit_bias_is_sent_by_text_only_with_llama_cpp_fields() -> None:
    request = CompletionRequest(system="s", user="u", logit_bias=((" ", -10.0), ("b", -2.5)))
    assert chat_body(request)["logit_bias"] == [[" ", -10.0], ["b", -2.5]]
    assert "logit_bias" not in chat_body(request, slot_field=False)
    assert "logit_bias" not in chat_body(CompletionRequest(system="s", user="u"))


def test_cached_tokens_from_openai_usage_details() -> None:
    c = parse(
        {
            "choices": choice(),
            "usage": {
                "prompt_tokens": 40,
                "completion_tokens": 3,
                "prompt_tokens_details": {"cached_tokens": 31},
            },
        }
    )
    assert (c.text, c.prompt_tokens, c.cached_tokens, c.generated_tokens) == ("hold", 40, 31, 3)
    assert c.latency_ms == 12.346 and c.model == "m" and c.finish_reason == "stop"


def test_cached_tokens_from_llama_cpp_timings_alone() -> None:
    c = parse({"choices": choice(), "timings": {"cache_n": 30, "prompt_n": 10, "predicted_n": 4}})
    assert (c.prompt_tokens, c.cached_tokens, c.generated_tokens) == (40, 30, 4)


def test_no_usage_at_all_counts_zero() -> None:
    c = parse({"choices": choice(None, "length")})
    assert (c.text, c.prompt_tokens, c.cached_tokens, c.finish_reason) == ("", 0, 0, "length")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"error": {"message": "failed to parse grammar", "code": 400}}, "failed to parse grammar"),
        ({"error": "boom"}, "here: boom"),
        ({"code": 500, "type": "server_error", "message": "bad json"}, "bad json"),
        ({"choices": []}, "malformed completion"),
        ({"choices": [{"text": "legacy"}]}, "malformed completion"),
        ({"choices": choice(["not", "text"])}, "not text"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_unusable_payloads_raise(payload: object, message: str) -> None:
    with pytest.raises(BackendError, match=message) as err:
        parse(payload)
    assert str(err.value).startswith("here: ")
