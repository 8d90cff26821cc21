"""Tests of the llm policy room: prompts, the request, failures as holds, real models.

Unit tests drive `LLMPolicy` through `FunctionBackend`. The `models`
tests run both bundled models in-process and measure what the design
cares about: uncached prompt tokens per creature-turn, generated tokens,
and the share of answers that parse as valid actions (all of them).
"""

from __future__ import annotations

import re
import statistics
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from wood_obs import CAST, PRICES, grammar_regex, make_obs, order_ok, varied_observations

from woodmarket.backends.fake import FunctionBackend
from woodmarket.errors import BackendError
from woodmarket.policies.grammar import WORD_PIECE_BIAS, WORD_PIECES, answer_chars, grammar_for
from woodmarket.policies.llm import (
    DEFAULT_LINES,
    LLMPolicy,
    call_seed,
    system_prompt,
    user_prompt,
)
from woodmarket.types import (
    Action,
    Completion,
    CompletionRequest,
    Gossip,
    Order,
    Policy,
    Sampling,
)

# What the financier and the legends keep off every prompt (see the privacy
# tests of the engine): none of these may come from the policy's own text.
PRIVATE = re.compile(
    r"verified|truth|\bTrue\b|\bFalse\b|factor|delay|mechanism|margin|maintenance|P&L|"
    r"position|entry|shortfall|house|financier|legend|settle|glut",
    re.IGNORECASE,
)


def policy(fn, **kw) -> tuple[LLMPolicy, FunctionBackend]:
    backend = FunctionBackend(fn)
    return LLMPolicy(backend, "tiny-model", "fake", slot=kw.pop("slot", 2), **kw), backend


def reply(text: str, **kw) -> Completion:
    return Completion(text=text, model="tiny-model", prompt_tokens=300, cached_tokens=250, **kw)


# --------------------------------------------------------------------------
# decide


def test_a_reply_becomes_a_parsed_action_with_its_call_record() -> None:
    pol, backend = policy(
        lambda r: reply(
            "buy 1 berries at 5\nsell 3 honey at 10", generated_tokens=16, latency_ms=80.5
        )
    )
    obs = make_obs("Oona")
    action = pol.decide(obs)
    assert action.orders == (
        Order("Oona", "buy", "berries", 1, 5),
        Order("Oona", "sell", "honey", 3, 10),
    )
    assert action.valid and action.reason == ""
    call = action.call
    assert call is not None and call.error == ""
    assert (call.model, call.backend) == ("tiny-model", "fake")
    assert call.response == "buy 1 berries at 5\nsell 3 honey at 10"
    assert (call.prompt_tokens, call.cached_tokens, call.generated_tokens) == (300, 250, 16)
    assert call.latency_ms == 80.5
    (request,) = backend.requests
    assert (call.system, call.user) == (request.system, request.user)
    assert (call.system, call.user) == (system_prompt(obs), user_prompt(obs))


def test_the_request_carries_grammar_slot_limits_and_a_derived_seed() -> None:
    pol, backend = policy(lambda r: "hold", slot=3, max_tokens=100, sampling=Sampling(0.2), seed=11)
    obs = make_obs("Pip")
    pol.decide(obs)
    (request,) = backend.requests
    assert request.slot == 3 and request.max_tokens == 100 and request.temperature == 0.2
    assert request.grammar == grammar_for(obs, DEFAULT_LINES, talk="none", thoughts=False)
    assert request.grammar == pol.grammar(obs)
    assert request.seed == call_seed(11, "Pip", obs.turn)
    assert request == pol.request(obs)


def test_whole_word_bias_only_for_models_that_spell_in_pieces() -> None:
    obs = make_obs("Pip")
    assert policy(lambda r: "hold")[0].request(obs).logit_bias == ()
    speller = LLMPolicy(FunctionBackend(lambda r: "hold"), "smollm2", "fake")
    bias = speller.request(obs).logit_bias
    assert bias == tuple((p, WORD_PIECE_BIAS) for p in WORD_PIECES) and bias
    assert policy(lambda r: "hold", whole_words=True)[0].request(obs).logit_bias == bias
    assert speller.request(obs).grammar == policy(lambda r: "hold")[0].request(obs).grammar


def test_seeds_are_stable_and_differ_by_creature_and_turn() -> None:
    assert call_seed(7, "Oona", 3) == call_seed(7, "Oona", 3) == 1923633410
    seeds = {call_seed(7, name, turn) for name in CAST for turn in range(20)}
    assert len(seeds) == 100
    assert all(0 <= s < 2**31 for s in seeds)
    assert call_seed(8, "Oona", 3) != call_seed(7, "Oona", 3)


@pytest.mark.parametrize(
    "error", [BackendError("server is down"), RuntimeError("segfault-ish"), TimeoutError()]
)
def test_any_backend_failure_is_a_recorded_hold(error: Exception) -> None:
    def fail(request: CompletionRequest) -> Completion:
        raise error

    pol, _ = policy(fail)
    obs = make_obs("Birch")
    action = pol.decide(obs)
    name = type(error).__name__
    assert action == Action.hold(f"backend: {name}: {error}")
    assert not action.valid and action.orders == ()
    assert action.call is not None
    assert action.call.error == f"{name}: {error}"
    assert action.call.response == "" and action.call.user == user_prompt(obs)
    assert action.call.latency_ms >= 0


def test_the_token_budget_is_raised_to_the_longest_answer_the_grammar_admits() -> None:
    pol, backend = policy(lambda r: "hold", max_tokens=8)
    for obs in varied_observations():
        request = pol.request(obs)
        bound = answer_chars(obs, **pol.grammar_args(obs))
        assert request.max_tokens == bound + 1 > 8
        # Two of the longest order lines this creature could write fit, or
        # one and a line passing on what it heard.
        longest = len("sell 10 mushrooms 18")
        if obs.news or obs.whispers:
            assert bound >= len("sell 9 honey 18\nsay Oona: 1")
        else:
            assert bound >= 2 * longest + 1
    wide = LLMPolicy(backend, "m", "fake", max_tokens=500)
    assert wide.request(make_obs("Oona")).max_tokens == 500


def test_nonsense_from_the_model_is_an_invalid_hold_with_the_raw_text_kept() -> None:
    pol, _ = policy(lambda r: "I'm sorry, I cannot trade today.")
    action = pol.decide(make_obs("Oona"))
    assert action == Action.hold("no order and no hold found")
    assert action.call is not None and action.call.response == "I'm sorry, I cannot trade today."


def test_policy_protocol_and_concurrency() -> None:
    pol, backend = policy(lambda r: "hold")
    assert isinstance(pol, Policy) and pol.concurrent is True
    observations = [make_obs(name) for name in CAST]
    with ThreadPoolExecutor(5) as pool:
        actions = list(pool.map(pol.decide, observations))
    assert all(a == Action() for a in actions)
    assert len(backend.requests) == 5


def test_bad_configuration_is_refused_early() -> None:
    with pytest.raises(ValueError):
        LLMPolicy(FunctionBackend(lambda r: "hold"), "m", "fake", talk="shout")
    with pytest.raises(ValueError):
        LLMPolicy(FunctionBackend(lambda r: "hold"), "m", "fake", lines=0)


# --------------------------------------------------------------------------
# prompts


def test_system_prompt_is_identical_turn_after_turn_for_one_creature() -> None:
    first = system_prompt(make_obs("Oona", turn=1))
    for later in (
        make_obs("Oona", turn=7, pebbles=3, stores={"honey": 1}, mood=10, burn=3),
        make_obs("Oona", turn=9, prices={**PRICES, "honey": 3}, news=("drought",)),
        make_obs("Oona", turn=12, heard=("Pip: hi",), whispers=("psst",), feelings="resents Rusk"),
    ):
        assert system_prompt(later) == first
    assert system_prompt(make_obs("Mossback")) != first


def test_system_prompt_names_persona_what_it_makes_and_one_worked_example() -> None:
    text = system_prompt(make_obs("Pip"))
    assert "You are Pip the hedgehog, forager of the wood." in text
    assert "You make berries and mushrooms: sell them, never buy them." in text
    example = text.split("Example reply:\n", 1)[1]
    assert example == "buy 2 acorns 4\nsell 3 berries 5"  # its own goods
    assert "You make nothing" in system_prompt(make_obs("Rusk"))


def test_user_prompt_has_the_turns_facts_and_the_exact_shortages() -> None:
    obs = make_obs(
        "Oona",
        prices={**PRICES, "honey": 8, "firewood": 6},
        news=("A rumor says Oona's vault is empty.",),
    )
    text = user_prompt(obs)
    assert obs.short_of == {"berries": 1, "mushrooms": 2}
    assert text.splitlines() == [
        "40 pebbles",
        "Short 1 berries 5, 2 mushrooms 6",
        "Spare 10 honey 8 down, 1 firewood 6 up",
        "Also acorns 4",
        "1. News: A rumor says Oona's vault is empty.",
    ]


def test_user_prompt_every_number_comes_from_the_observation() -> None:
    for obs in varied_observations():
        text = user_prompt(obs)
        allowed = (
            {obs.pebbles}
            | set(obs.stores.values())
            | set(obs.short_of.values())
            | {n - obs.wants.get(g, 0) for g, n in obs.stores.items()}
            | set(obs.prices.values())
        )
        numbers = {int(n) for n in re.findall(r"\d+", text)}
        assert numbers <= allowed, (text, numbers - allowed)
        for good, n in obs.short_of.items():
            assert f"{n} {good} {obs.prices[good]}" in text
        for good, n in obs.stores.items():
            if good not in obs.short_of and n > obs.wants.get(good, 0):
                assert f"{n - obs.wants[good]} {good} {obs.prices[good]}" in text


def test_prompts_carry_no_private_tokens() -> None:
    for obs in varied_observations():
        for text in (system_prompt(obs), user_prompt(obs)):
            assert not PRIVATE.search(text), PRIVATE.search(text)


def test_gossip_is_offered_only_with_news_and_only_to_pass_it_on() -> None:
    answer = "hold\nsay all: 1"
    pol, backend = policy(lambda r: answer)
    pol.decide(make_obs("Mossback"))
    pol.decide(make_obs("Mossback", heard=("Pip: honey is scarce",)))
    for quiet in (backend.requests[0].grammar or "", backend.requests[1].grammar or ""):
        assert "say" not in quiet and quiet.startswith('root ::= "hold" | ')
    loud = pol.decide(make_obs("Mossback", news=("A drought withers the berry bushes.",)))
    grammar = backend.requests[2].grammar or ""
    assert "say ::=" in grammar and 'ref ::= "1"' in grammar
    assert loud.gossip == Gossip("all", "A drought withers the berry bushes.")
    # One of the two lines is kept for gossip: never a second order instead.
    rx = re.compile(grammar_regex(grammar))
    assert rx.fullmatch("buy 1 berries 5\nsay all: 1")
    assert rx.fullmatch("hold\nsay Pip: 1")
    assert not rx.fullmatch("buy 1 berries 5\nbuy 1 honey 10")
    assert not rx.fullmatch("buy 1 berries 5\nsay all: honey will fall")
    assert not rx.fullmatch("hold\nsay all: A drought withers the berry bushes.")


# --------------------------------------------------------------------------
# the bundled models, for real


@pytest.fixture(scope="module", params=["smollm2", "gemma3"])
def live(request: pytest.FixtureRequest):
    from woodmarket.backends.embedded import EmbeddedBackend

    backend = EmbeddedBackend(request.param, n_parallel=len(CAST), n_ctx=1024)
    yield request.param, backend
    backend.close()


@pytest.mark.models
def test_bundled_models_answer_valid_actions_in_few_tokens(live) -> None:
    model, backend = live
    slots = {name: i for i, name in enumerate(CAST)}
    policies = {
        name: LLMPolicy(backend, model, "embedded", slot=slot, seed=5)
        for name, slot in slots.items()
    }
    new_tokens, generated, valid = [], [], 0
    observations = varied_observations()
    for obs in observations:
        pol = policies[obs.creature]
        # Leave only the static part in the slot's cache, as after any
        # earlier turn: what the call then processes is this turn's cost.
        backend.complete(
            CompletionRequest(system_prompt(obs), "-", max_tokens=1, slot=slots[obs.creature])
        )
        action = pol.decide(obs)
        call = action.call
        assert call is not None and call.error == "", call
        assert re.fullmatch(grammar_regex(pol.request(obs).grammar or ""), call.response), call
        assert action.valid and action.reason == "", (call.response, action.reason)
        assert all(order_ok(o, obs) for o in action.orders)
        valid += action.valid
        new_tokens.append(call.prompt_tokens - call.cached_tokens)
        generated.append(call.generated_tokens)
        # The static system part (over 200 tokens) came from the slot's
        # cache; only the user part is new, under 120 tokens even with
        # whole talk (a stormy turn's news, gossip heard and feelings).
        assert call.prompt_tokens - call.cached_tokens <= 120, call
        assert call.generated_tokens < pol.request(obs).max_tokens  # ended, not cut
    # Quiet turns (turn 1) against stormy ones (turn 2: news, gossip heard,
    # a whisper to Rusk, feelings), every message whole.
    quiet = [n for n, o in zip(new_tokens, observations, strict=True) if o.turn == 1]
    stormy = [n for n, o in zip(new_tokens, observations, strict=True) if o.turn == 2]
    print(
        f"\n{model}: {len(observations)} creature-turns, valid {valid}/{len(observations)}; "
        f"new prompt tokens mean {statistics.mean(quiet):.1f} quiet, "
        f"{statistics.mean(stormy):.1f} stormy (max {max(new_tokens)}); "
        f"generated mean {statistics.mean(generated):.1f} (max {max(generated)})"
    )
    assert valid == len(observations)
    assert statistics.mean(quiet) <= 48  # about 40: the facts alone
    assert statistics.mean(stormy) <= 100  # about 85: the talk is whole
    # 16 is two lines in whole-word tokens (Gemma 3: 16 to 23); under a
    # grammar SmolLM2 sometimes spells in word pieces ("b", "u", "y"), up
    # to about 38 (mean about 27 here).
    assert statistics.mean(generated) <= 32


@pytest.mark.models
def test_bundled_models_decide_concurrently_in_their_own_slots(live) -> None:
    model, backend = live
    observations = [o for o in varied_observations() if o.turn == 2]
    policies = [
        LLMPolicy(backend, model, "embedded", slot=i, seed=5) for i in range(len(observations))
    ]
    barrier = threading.Barrier(len(observations))

    def decide(i: int) -> Action:
        barrier.wait()
        return policies[i].decide(observations[i])

    with ThreadPoolExecutor(len(observations)) as pool:
        actions = list(pool.map(decide, range(len(observations))))
    for obs, action in zip(observations, actions, strict=True):
        assert action.valid and action.reason == "", action
        assert all(o.creature == obs.creature and order_ok(o, obs) for o in action.orders)
