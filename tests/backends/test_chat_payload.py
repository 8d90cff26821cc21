"""Tests for the chat payload both backends share: request bodies and response parsing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# --- malformed payloads: a BackendError or a usable Completion, nothing else ---


def usage(prompt: object = 40, completion: object = 3, cached: object = 31) -> dict[str, object]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "prompt_tokens_details": {"cached_tokens": cached},
    }


@pytest.mark.parametrize(
    ("content", "text"),
    [
        (None, ""),
        (b"buy honey 2", "buy honey 2"),
        (b"bad \xff byte", "bad \\xff byte"),
        ("hi \ud83d", "hi \\ud83d"),
        ([{"type": "text", "text": "hold"}, {"type": "text", "text": " now"}], "hold now"),
    ],
)
def test_content_that_becomes_text(content: object, text: str) -> None:
    c = parse({"choices": choice(content), "usage": usage()})
    assert c.text == text
    c.text.encode("utf-8")  # writable to any trace


@pytest.mark.parametrize(
    "content", [3, 2.5, True, [], ["hold"], [{"type": "image", "url": "x"}], {"text": "hold"}]
)
def test_content_that_is_not_text_is_refused(content: object) -> None:
    with pytest.raises(BackendError, match=r"^here: message content is \w+, not text$"):
        parse({"choices": choice(content)})


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        ("40", 0),
        (40.0, 40),
        (40.5, 0),
        (float("nan"), 0),
        (float("inf"), 0),
        (-3, 0),
        (True, 0),
        (10**40, 0),
        (1e300, 0),
        ({"n": 4}, 0),
        (None, 0),
    ],
)
def test_token_counts_are_non_negative_ints(count: object, expected: int) -> None:
    c = parse({"choices": choice(), "usage": usage(count, count, count)})
    for value in (c.prompt_tokens, c.cached_tokens, c.generated_tokens):
        assert type(value) is int and value == expected


@pytest.mark.parametrize(
    "payload",
    [
        {"choices": "hold"},
        {"choices": {"0": {"message": {"content": "hold"}}}},
        {"choices": [None]},
        {"choices": [{"message": "hold"}]},
        {"choices": [{"message": {"role": "assistant"}}]},
        {"choices": [[{"message": {"content": "hold"}}]]},
    ],
)
def test_choices_of_the_wrong_shape_are_malformed(payload: object) -> None:
    with pytest.raises(BackendError, match=r"^here: malformed completion"):
        parse(payload)


def test_a_deep_or_huge_error_makes_a_short_message() -> None:
    deep: object = "x" * 10_000
    for _ in range(5_000):
        deep = [deep]
    for err in ({"message": deep}, deep, {"message": "m", "code": deep}):
        with pytest.raises(BackendError) as e:
            parse({"error": err})
        assert len(str(e.value)) < 1_000


def test_a_lone_surrogate_in_an_error_is_escaped() -> None:
    with pytest.raises(BackendError) as e:
        parse({"error": {"message": "bad \udc80 byte"}})
    assert str(e.value) == "here: bad \\udc80 byte"


def test_finish_reason_is_text_or_empty() -> None:
    assert parse({"choices": choice(finish={"x": 1})}).finish_reason == ""  # type: ignore[arg-type]
    assert parse({"choices": choice(finish="stop \ud800")}).finish_reason == "stop \\ud800"


# Text of every kind, lone surrogates included (Hypothesis leaves them out by default).
TEXT = st.one_of(
    st.text(max_size=20),
    st.text(st.characters(categories=["Cs", "Ll"]), max_size=8),
)
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
    st.binary(max_size=8),
)
JSON = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)
COUNTS = st.dictionaries(
    st.sampled_from(["prompt_tokens", "completion_tokens", "cache_n", "prompt_n", "predicted_n"]),
    st.one_of(st.integers(min_value=-5, max_value=5000), st.floats(0, 5000), JSON),
    max_size=3,
)
# Near-valid payloads reach the deep paths that arbitrary values rarely do.
NEAR = st.fixed_dictionaries(
    {
        "choices": st.lists(
            st.fixed_dictionaries(
                {"message": st.fixed_dictionaries({"content": st.one_of(TEXT, JSON)})},
                optional={"finish_reason": JSON},
            ),
            min_size=1,
            max_size=2,
        )
    },
    optional={
        "usage": st.one_of(
            JSON,
            COUNTS,
            st.fixed_dictionaries(
                {
                    "prompt_tokens_details": st.one_of(
                        JSON,
                        st.fixed_dictionaries(
                            {"cached_tokens": st.one_of(st.integers(0, 99), JSON)}
                        ),
                    )
                }
            ),
        ),
        "timings": st.one_of(JSON, COUNTS),
        "error": st.one_of(st.none(), JSON),
    },
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(JSON, NEAR))
def test_any_payload_gives_a_backend_error_or_a_clean_completion(payload: object) -> None:
    try:
        c = parse(payload)
    except BackendError as e:
        str(e).encode("utf-8")  # the message too is writable as it is
        return
    assert isinstance(c.text, str)
    c.text.encode("utf-8")
    c.finish_reason.encode("utf-8")
    for n in (c.prompt_tokens, c.cached_tokens, c.generated_tokens):
        assert type(n) is int and n >= 0
