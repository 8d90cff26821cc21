"""The replay policy: a creature's recorded decisions, played back turn by turn.

A run's `decision` records hold every action as it was taken and, for
model-driven creatures, the raw model output, which is parsed again against
the replayed observation (no model is loaded). Playing them back with the
same scenario and seed must reproduce the run exactly; `replay.py` checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from woodmarket.errors import ReplayError
from woodmarket.types import Action, Answer, Gossip, ModelCall, Observation, Order


def action_from_record(r: Mapping[str, Any]) -> Action:
    """Rebuild the Action a decision record describes (validating it again)."""
    gossip = r.get("gossip")
    call = r.get("call")
    return Action(
        orders=tuple(Order.from_dict(o) for o in r["offers"]),
        gossip=None if gossip is None else Gossip(gossip["to"], gossip["text"]),
        thought=r.get("thought", ""),
        valid=r["valid"],
        reason=r.get("reason", ""),
        call=None if call is None else ModelCall(**call),
        answers=tuple(Answer(a["word"], a["ref"]) for a in r.get("answers", ())),
    )


class ReplayPolicy:
    label = "replay"
    concurrent = False

    def __init__(self, creature: str, decisions: Mapping[int, Mapping[str, Any]]) -> None:
        self.creature = creature
        self.decisions = decisions

    def decide(self, obs: Observation) -> Action:
        record = self.decisions.get(obs.turn)
        if record is None:
            raise ReplayError(f"no recorded decision for {self.creature} on turn {obs.turn}")
        recorded = action_from_record(record)
        call = recorded.call
        if call is None or call.error:
            return recorded
        # A model's decision is replayed from its raw output, parsed again
        # against the replayed observation: if the wood drifted, so does this.
        from woodmarket.policies.parse import parse

        again = parse(call.response, obs)
        return Action(
            again.orders,
            again.gossip,
            again.thought,
            again.valid,
            again.reason,
            call,
            again.answers,
        )


def replay_policies(
    records: Sequence[Mapping[str, Any]], names: tuple[str, ...]
) -> dict[str, ReplayPolicy]:
    table: dict[str, dict[int, Mapping[str, Any]]] = {n: {} for n in names}
    for r in records:
        if r["kind"] == "decision" and r["creature"] in table:
            table[r["creature"]][r["turn"]] = r
    return {n: ReplayPolicy(n, table[n]) for n in names}
