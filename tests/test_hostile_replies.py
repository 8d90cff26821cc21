"""Model output never kills a run: any backend answer becomes an Action and a strict-JSON trace.

Exact cases first (each kind of garbage a backend can return, with the
hold and reason it must become), then Hypothesis batteries: a
`FunctionBackend` answering arbitrary objects and text drives whole
showcase runs, and every turn must finish, every record serialise as
strict UTF-8 JSON, and the ledger hold (the wood checks conservation
every turn and raises `LedgerError` otherwise).
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from woodmarket.backends.fake import FunctionBackend
from woodmarket.build import build
from woodmarket.policies.llm import LLMPolicy
from woodmarket.policies.orders import order_problem
from woodmarket.policies.parse import MAX_REPLY_CHARS, parse, render
from woodmarket.spec import RunSpec
from woodmarket.types import Action, Completion, CompletionRequest, Observation

SHOWCASE = RunSpec.make("oona", gambit="showcase")


def _observation() -> Observation:
    wood = build(SHOWCASE.but(seed=1))
    return wood.step().observations["Oona"]  # turn 1: Oona holds the whisper


OONA = _observation()


def decide(answer: object, obs: Observation = OONA) -> Action:
    backend = FunctionBackend(lambda request: answer)  # type: ignore[arg-type, return-value]
    return LLMPolicy(backend, "tiny", "fake").decide(obs)


def strict(action: Action) -> str:
    assert action.call is not None
    record = {"reason": action.reason, "call": action.call.to_dict()}
    text = json.dumps(record, allow_nan=False)
    text.encode("utf-8")
    return text


def reply(text: object, **kw: object) -> Completion:
    return Completion(text=text, model="tiny", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (42, "answer is int, not a Completion"),
        (None, "answer is NoneType, not a Completion"),
        (reply(b"sell 2 honey 10\xff"), 'reply is bytes, not text: "sell 2 honey 10\\xff"'),
        (reply(None), "reply is NoneType, not text"),
        (reply(7), "reply is int, not text"),
        (reply(float("nan")), "reply is float, not text"),
        (reply("hi \ud83d"), 'reply is not UTF-8 text (a lone surrogate): "hi \\ud83d"'),
    ],
)
def test_unreadable_answers_become_a_hold_with_the_raw_text_escaped(
    answer: object, error: str
) -> None:
    action = decide(answer)
    # Shaped as a replay rebuilds a failed call: the same hold, no response, no tokens.
    assert action == Action.hold(f"backend: {error}")
    call = action.call
    assert call is not None and call.error == error and call.response == ""
    assert (call.prompt_tokens, call.cached_tokens, call.generated_tokens) == (0, 0, 0)
    assert math.isfinite(call.latency_ms)
    strict(action)


@pytest.mark.parametrize("bad", ["12", float("nan"), float("inf"), -1, True, 2.5, None, -0.5])
def test_token_counts_that_are_not_whole_numbers_are_recorded_as_zero(bad: object) -> None:
    answer = reply("sell 2 honey 10", prompt_tokens=bad, cached_tokens=5, generated_tokens=bad)
    action = decide(answer)
    assert action.valid and action.orders and action.reason == ""  # the answer is still read
    call = action.call
    assert call is not None
    assert (call.prompt_tokens, call.cached_tokens, call.generated_tokens) == (0, 5, 0)
    strict(action)


def test_whole_float_counts_are_kept_and_a_bad_latency_is_measured() -> None:
    for latency in (float("nan"), float("inf"), -3.0, "9", 10**400):
        action = decide(reply("hold", prompt_tokens=40.0, latency_ms=latency))
        call = action.call
        assert call is not None and call.prompt_tokens == 40 and type(call.prompt_tokens) is int
        assert math.isfinite(call.latency_ms) and 0 <= call.latency_ms < 10_000
        assert action.valid and action.reason == ""
        strict(action)


def test_a_huge_reply_is_cut_before_it_is_read_or_traced() -> None:
    action = decide(reply("sell 2 honey 10\n" + "x" * 20_000_000))
    assert action.valid and len(action.orders) == 1
    assert action.reason == f"reply cut to {MAX_REPLY_CHARS} characters"
    # One character past the bound is kept, so a replay parses it to the same cut.
    assert action.call is not None and len(action.call.response) == MAX_REPLY_CHARS + 1
    assert parse(action.call.response, OONA) == action


def test_the_parser_keeps_signs_and_refuses_deep_or_huge_input_cheaply() -> None:
    bad_sign = decide("sell -5 honey 3\nbuy 2 acorns -4")
    assert bad_sign.orders == () and not bad_sign.valid
    assert bad_sign.reason == (
        "line 1: sell honey: quantity -5 below 1; line 2: buy acorns: price -4 below 1"
    )
    labels = decide("a: " * 1300 + "sell 2 honey 10")
    assert labels.reason == "line 1: more than 4 labels, skipped"
    digits = decide("sell 2 honey " + "1" * 4000)
    assert digits.reason == "line 1: sell honey: a number longer than 6 digits"
    beyond_int = decide("sell 2 honey " + "1" * 5000)  # int() itself would refuse this one
    assert beyond_int.reason.endswith("line 1: sell honey: a number longer than 6 digits")
    assert decide("Answer: Oona: sell 2 honey 10").orders  # a label or two is still read


def test_a_broken_exception_from_the_backend_is_still_a_hold() -> None:
    class Broken(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no message")

    def fail(request: CompletionRequest) -> Completion:
        raise Broken

    action = LLMPolicy(FunctionBackend(fail), "tiny", "fake").decide(OONA)
    assert action == Action.hold("backend: Broken: ")
    strict(action)


# --------------------------------------------------------------------------
# batteries

_HOSTILE = st.one_of(
    st.sampled_from(list("0123456789-+:#\n\r\t .,")),
    st.sampled_from(["buy ", "sell ", "hold", "say all: ", "say Pip: ", "think: ", "honey"]),
    st.characters(),
    st.characters(categories=["Cs", "Cc", "Zl", "Zp"]),
)
TEXTS = st.one_of(
    st.lists(_HOSTILE, max_size=40).map("".join),
    st.sampled_from(
        ["hold\nsay all: 1", "sell 3 honey 10\nsay all: 2", "buy 2 acorns 4\nsay Pip: 9", "say 1"]
    ),
)
NUMBERS = st.one_of(
    st.integers(-(10**30), 10**30),
    st.floats(),
    st.text(max_size=3),
    st.none(),
    st.booleans(),
)
COMPLETIONS = st.builds(
    Completion,
    text=st.one_of(TEXTS, st.binary(max_size=30), st.none(), st.integers(), st.floats()),
    model=st.just("tiny"),
    prompt_tokens=NUMBERS,
    cached_tokens=NUMBERS,
    generated_tokens=NUMBERS,
    latency_ms=NUMBERS,
)
ANSWERS = st.one_of(
    TEXTS, COMPLETIONS, st.binary(max_size=20), st.none(), st.integers(), st.floats()
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ANSWERS, min_size=1, max_size=15), st.integers(0, 3))
def test_arbitrary_answers_never_crash_a_run_or_corrupt_its_trace(answers, seed) -> None:
    wood = build(SHOWCASE.but(seed=seed))

    def answer(request: CompletionRequest) -> object:
        # Keyed by the per-creature-turn seed, not by call order: the
        # policies are asked concurrently, and a Hypothesis example must replay.
        return answers[request.seed % len(answers)]

    for name in wood.names:
        backend = FunctionBackend(answer)  # type: ignore[arg-type]
        wood.policies[name] = LLMPolicy(backend, model="fake", backend_name="fake")
    for _ in range(4):  # whisper, legend, the talk after it, the reckoning
        state = wood.step()  # LedgerError if a pebble or a good went astray
        for record in state.records:
            json.dumps(record, allow_nan=False).encode("utf-8")
        for name, action in state.actions.items():
            obs = state.observations[name]
            assert all(order_problem(o, obs) == "" for o in action.orders)
            call = action.call
            assert call is not None
            # What a replay rebuilds from the trace alone is the same decision.
            if call.error:
                assert action == Action.hold(f"backend: {call.error}") and call.response == ""
            else:
                assert parse(call.response, obs) == action


@settings(max_examples=1000, deadline=None)
@given(st.one_of(TEXTS, st.text()))
def test_the_parser_survives_a_hostile_alphabet_and_its_orders_round_trip(text: str) -> None:
    action = parse(text, OONA)
    assert isinstance(action, Action)
    json.dumps(action.reason, allow_nan=False).encode("utf-8")
    for order in action.orders:
        assert order_problem(order, OONA) == ""
    again = parse(render(action), OONA)
    assert again.orders == action.orders
    if action.gossip is not None:
        json.dumps(action.gossip.text).encode("utf-8")
        assert again.gossip == action.gossip or action.gossip.text.isdigit()
    assert again.thought == action.thought


def test_same_observation_and_reply_give_the_same_action() -> None:
    for answer in (
        "sell 2 honey 10\nsay all: 1",
        reply("hi \ud83d"),
        reply("12", prompt_tokens="x"),
    ):
        assert decide(answer) == decide(answer)


def test_gossip_is_one_printable_line_within_its_bound() -> None:
    from woodmarket.errors import ActionError
    from woodmarket.types import MAX_GOSSIP_CHARS, Gossip

    assert Gossip("all", "w" * MAX_GOSSIP_CHARS).text
    for bad in (
        "",
        "  ",
        "a\nb",
        "a\rb",
        "a\u2028b",
        "hi \ud83d",
        "bell\x07",
        "w" * (MAX_GOSSIP_CHARS + 1),
    ):
        with pytest.raises(ActionError):
            Gossip("all", bad)


def test_a_run_of_hostile_answers_replays_exactly() -> None:
    from woodmarket.policies.replay import replay_policies

    answers: list[object] = [
        "sell 2 honey 10\nsay all: 1",
        reply("buy 1 acorns 4\nsay Pip: 2", prompt_tokens=float("nan")),
        reply(b"\xff"),
        reply("sell 1 firewood 5\n" + "x" * (MAX_REPLY_CHARS + 100)),
        "sell -5 honey 3",
        None,
        "hold\nsay all: 3",
        "hold\nsay all: 1",
        "hold\nsay Rusk: 2",
    ]

    def answer(request: CompletionRequest) -> object:
        return answers[request.seed % len(answers)]

    wood = build(SHOWCASE.but(seed=2))
    for name in wood.names:
        wood.policies[name] = LLMPolicy(FunctionBackend(answer), "fake", "fake")  # type: ignore[arg-type]
    records = [r for _ in range(5) for r in wood.step().records]
    assert any(r["kind"] == "gossip" for r in records)  # something was passed on
    again = build(SHOWCASE.but(seed=2), replay_policies(records, wood.names))
    replayed = [r for _ in range(5) for r in again.step().records]
    state = ("order", "fill", "price", "holdings", "gossip")
    assert [r for r in replayed if r["kind"] in state] == [r for r in records if r["kind"] in state]


def test_a_written_run_of_hostile_answers_passes_the_replay_check(tmp_path) -> None:
    from woodmarket.replay import replay
    from woodmarket.runner import run
    from woodmarket.traces import load_trace

    answers: list[object] = [
        "sell 2 honey 10\nsay all: 1",
        reply("buy 1 acorns 4\nsay Pip: 2", prompt_tokens=float("nan"), latency_ms=math.inf),
        reply(b"\xffsell"),
        reply("hi \ud83d"),
        reply("sell 1 firewood 5\n" + "x" * (MAX_REPLY_CHARS + 100)),
        "sell -5 honey 3\n" + "a: " * 2000,
        42,
        "hold\nsay all: 1",
    ]

    def answer(request: CompletionRequest) -> object:
        return answers[request.seed % len(answers)]

    spec = SHOWCASE.but(seed=4, turns=5)
    wood = build(spec)
    for name in wood.names:
        wood.policies[name] = LLMPolicy(FunctionBackend(answer), "fake", "fake")  # type: ignore[arg-type]
    run(spec, tmp_path / "run", wood=wood)
    records = load_trace(tmp_path / "run").records
    decisions = [r for r in records if r["kind"] == "decision"]
    assert any(r["call"]["error"].startswith("reply is bytes") for r in decisions)
    assert any(r["call"]["error"].startswith("reply is not UTF-8") for r in decisions)
    assert any("reply cut to" in r["reason"] for r in decisions)
    assert any(r["kind"] == "gossip" for r in records)
    report = replay(tmp_path / "run")
    assert report.passed, report
