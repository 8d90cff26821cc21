"""Shared pieces of the patron's tests: a debtor to lend to, and a creature that accepts.

A module of its own name (not a conftest), so tests in any folder import it.
"""

from __future__ import annotations

from woodmarket.scenario import Scenario, load_scenario, parse_scenario
from woodmarket.types import Action, Answer, Observation, Policy, as_policy


def accepting(obs: Observation) -> Action:
    """Accepts every offer and holds: never spends the pebbles it is lent."""
    return Action(answers=tuple(Answer("accept", o.id) for o in obs.offers))


def accepting_policy() -> Policy:
    return as_policy(accepting)


def with_debtor(key: str) -> tuple[Scenario, str]:
    """The scenario with one more creature, Moth: no pebbles, one unit of its cheapest good."""
    sc = load_scenario(key)
    cheapest = min(sc.goods, key=lambda g: (g.price, g.name)).name
    extra = f"""
[[creatures]]
name = "Moth"
species = "moth"
role = "debtor"
pebbles = 0
produces = {{}}
stores = {{ {cheapest} = 1 }}
"""
    return parse_scenario(sc.text + extra, sc.path, sc.files), cheapest


def with_strict_magistrate(key: str, fine_at: int, freeze_at: int) -> Scenario:
    """The debtor's scenario with the magistrate's fine and freeze thresholds lowered."""
    scenario, _ = with_debtor(key)
    text = scenario.text.replace("fine_at = 40", f"fine_at = {fine_at}").replace(
        "freeze_at = 60", f"freeze_at = {freeze_at}"
    )
    return parse_scenario(text, scenario.path, scenario.files)
