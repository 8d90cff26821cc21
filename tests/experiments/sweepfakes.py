"""Policies for sweep tests, named by import path in cast files (`sweepfakes:Holder`)."""

from __future__ import annotations

import random

from woodmarket.backends.fake import FunctionBackend
from woodmarket.policies.llm import LLMPolicy
from woodmarket.types import Action, Completion, CompletionRequest, ModelCall, Observation


class Holder:
    """Never trades: a population that declines every lever (no glut moves it)."""

    label = "holder"

    def decide(self, observation: Observation) -> Action:
        return Action.hold()


class TokenSpender:
    """Holds, but reports a model call of fixed cost, as an llm policy would."""

    label = "llm"

    def decide(self, observation: Observation) -> Action:
        call = ModelCall(
            model="fake",
            backend="fake",
            system="sys",
            user=f"turn {observation.turn}",
            response="hold",
            prompt_tokens=100,
            cached_tokens=40,
            generated_tokens=10,
            latency_ms=12.5,
        )
        return Action(call=call)


GOODS = (
    "acorns", "berries", "mushrooms", "honey", "firewood",
    "minnows", "cress", "snails", "peat", "reeds",
)  # fmt: skip


def _jitter(request: CompletionRequest) -> Completion:
    good = random.choice(GOODS)
    text = random.choice(["hold", f"buy 1 {good} 30", f"sell 1 {good} 1"])
    latency = random.uniform(1.0, 5.0)
    cached = random.randint(0, 100)
    return Completion(text, "jitter", 120, cached, 4, latency)


class Jittery(LLMPolicy):
    """A model creature whose replies never repeat (an unseeded draw per call), as a model
    asked in parallel slots does not: real prompts, real parsing, no model loaded."""

    def __init__(self) -> None:
        super().__init__(FunctionBackend(_jitter, "jitter"), "jitter", "fake")
