"""Policies for sweep tests, named by import path in cast files (`sweepfakes:Holder`)."""

from __future__ import annotations

from woodmarket.types import Action, ModelCall, Observation


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
