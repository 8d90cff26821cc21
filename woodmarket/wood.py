"""The wood: one world, as a caller holds it. Build it, step it, observe it, close it.

`Wood` is the public front over `WoodState` (state.py): it loads a
scenario, seats the policies (the rule-based stand-in for every creature
given none), runs a turn through the phase list of `turn.py`, and hands
out read-only observations. It adds no state of its own. Because it seats
a policy it sits above the engine, with the builder (build.py builds a
whole run's wood from a spec through it).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from woodmarket.policies.standin import StandinPolicy
from woodmarket.scenario import Scenario, load_scenario
from woodmarket.state import Creature, TurnState, WoodState
from woodmarket.turn import observation, run_turn
from woodmarket.types import Action, Observation

__all__ = ["Creature", "Wood"]


class Wood(WoodState):
    """One world. Build it with `Wood.from_scenario`, advance it with `step`.

    `policies` maps each creature to a policy: an object with
    `decide(observation) -> Action`, or a plain function of the same shape;
    without it, every creature is the stand-in, drawing from its own stream.
    """

    def __init__(
        self, scenario: Scenario, seed: int = 0, policies: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(scenario, seed)
        if policies is None:
            policies = {n: StandinPolicy(self.rng("policy", n)) for n in self.names}
        self.seat(policies)

    @classmethod
    def from_scenario(
        cls,
        scenario: str | Path | Scenario = "oona",
        seed: int = 0,
        policies: Mapping[str, Any] | None = None,
    ) -> Wood:
        if not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario)
        return cls(scenario, seed, policies)

    def step(self, actions: Mapping[str, Action] | None = None) -> TurnState:
        """Run one turn. `actions` overrides the policies of the creatures it names."""
        return run_turn(self, actions)

    def observe(self, name: str) -> Observation:
        """What `name` would see if it decided now (read-only; the wood is not changed)."""
        if name not in self.creatures:
            raise KeyError(f"no creature {name!r}; creatures are {', '.join(self.names)}")
        return observation(self, name, self.turn + 1)

    def __enter__(self) -> Wood:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
