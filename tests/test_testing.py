"""The contract checks users run on their own parts, held to broken parts of ours."""

from __future__ import annotations

import math
import random

import pytest

from woodmarket.backends.fake import FunctionBackend
from woodmarket.errors import BackendError
from woodmarket.policies.llm import LLMPolicy
from woodmarket.policies.standin import StandinPolicy
from woodmarket.testing import ContractError, check_backend, check_policy, check_scenario
from woodmarket.types import Action, Completion, Order


def test_the_stand_in_and_a_plain_function_pass(scenario_key):
    assert "policy ok" in check_policy(StandinPolicy(random.Random(1)), scenario_key, turns=6)
    assert "policy ok" in check_policy(lambda obs: Action(), scenario_key, turns=3)


def test_the_llm_policy_over_a_function_backend_passes(scenario_key):
    backend = FunctionBackend(lambda request: "hold")
    policy = LLMPolicy(backend, model="fake", backend_name="fake")
    assert "policy ok" in check_policy(policy, scenario_key, turns=3, seeds=(0,))
    assert backend.requests  # the model was really asked


class _Writer:
    def decide(self, obs):
        obs.stores[obs.goods[0]] = 999  # tries to change what it (and others) see
        return Action()


class _Thief:
    def decide(self, obs):
        other = obs.others[0]
        return Action(orders=(Order(other, "buy", obs.goods[0], 1, obs.prices[obs.goods[0]]),))


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (_Writer(), "writes to its observation"),
        (lambda obs: None, "returned NoneType, not an Action"),
        (lambda obs: 1 / 0, "decide raised ZeroDivisionError"),
        (_Thief(), "an order for"),
    ],
)
def test_broken_policies_are_named(policy, message):
    with pytest.raises(ContractError, match=message):
        check_policy(policy, "oona", turns=2)


def test_a_sound_fake_backend_passes_and_a_refusing_one_is_fine_but_not_a_mute_one():
    assert "backend ok: 2 answered" in check_backend(FunctionBackend(lambda r: "hold"))

    def refuse(request):
        raise BackendError("down")

    with pytest.raises(ContractError, match="no request was answered"):
        check_backend(FunctionBackend(refuse))


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (lambda r: 42, "returned int, not a Completion"),
        (lambda r: Completion(text=b"hold", model="x"), "text is bytes"),  # type: ignore[arg-type]
        (lambda r: Completion(text="hi \ud83d", model="x"), "cannot be written as UTF-8"),
        (lambda r: Completion(text="hold", model="x", prompt_tokens=-1), "prompt_tokens is -1"),
        (lambda r: Completion(text="hold", model="x", latency_ms=math.nan), "latency_ms is nan"),
        (lambda r: {}["missing"], "complete raised KeyError"),
    ],
)
def test_broken_backends_are_named(answer, message):
    class Raw:
        def complete(self, request):
            return answer(request)

    with pytest.raises(ContractError, match=message):
        check_backend(Raw())
    with pytest.raises(ContractError, match="no complete"):
        check_backend(object())


def test_bundled_scenarios_pass(scenario_key):
    assert "conserved and repeatable" in check_scenario(scenario_key, turns=12, seeds=(0, 1))


def test_a_scenario_whose_seam_breaks_conservation_is_caught():
    def counterfeit(wood):
        def handler(wood, turn):
            wood.ledger.accounts[wood.names[0]].pebbles += 1  # a pebble from nowhere

        wood.seams.add("settle", handler)

    with pytest.raises(ContractError, match="seed 0: turn 1: pebbles not conserved"):
        check_scenario("oona", turns=3, seeds=(0,), setup=counterfeit)


def test_a_scenario_that_does_not_repeat_is_caught():
    calls = []

    def jitter(wood):
        calls.append(1)
        if len(calls) % 2 == 0:
            wood.prices[wood.goods[0]] += 1  # the second run of a seed starts elsewhere

    with pytest.raises(ContractError, match="seed 0: two runs of the same seed gave different"):
        check_scenario("oona", turns=3, seeds=(0,), setup=jitter)


def test_a_broken_scenario_file_is_named(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[wood]\nname = 3\n")
    with pytest.raises(ContractError, match=r"does not load: .*broken\.toml"):
        check_scenario(path)


@pytest.mark.models
def test_the_bundled_embedded_backend_passes():
    from woodmarket.backends.embedded import get_embedded

    assert "backend ok: 2 answered" in check_backend(get_embedded("smollm2"))
