"""Recorded decisions, played back: one replayer for replay, resume, forks and the `replay:` cast.

A run's `decision` records hold every action as it was taken and, for
model-driven creatures, the raw model output. `RecordedPolicy` makes a
creature's decisions again from them, as far as they can be made:

- a stand-in's (record labelled `standin`) by the stand-in itself, from
  its own random stream, when one is given (a replay, a fork's prefix);
  taken as recorded otherwise (the `replay:DIR` cast, driving another wood);
- a model's (`llm`) from its recorded reply, parsed again against the
  observation it is now given, with its prompt rebuilt from that
  observation (no model is loaded: if the wood drifted, so does this);
- any other policy's (a replay cast, an imported class) as recorded, a
  recorded reply still parsed again.

A turn without a record is a `hold` whose reason says so. The decision's
label follows the record's (so a relabelled record stands out in a
replay), or stays `replay` for the cast. The first record of a creature's
turn is the one played. This room reads records and observations; it
touches no wood.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from woodmarket.policies.llm import system_prompt, user_prompt
from woodmarket.policies.parse import parse
from woodmarket.types import Action, Answer, Gossip, ModelCall, Observation, Order, Policy

NO_DECISION = "replay: no decision on the record"
# The reasons of holds made by the turn, not the policy (turn._collect, turn._ask).
UNTIMED = ("no decision within the deadline;", "policy error:")


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


class RecordedPolicy:
    """A creature's decisions made again from the record, as far as they can be.

    The label of the turn's decision record picks how: `standin` runs the
    `standin` given (or takes the record), `llm` parses the recorded reply
    again; any other label is a policy replay cannot run, so its decision is
    taken as recorded (a recorded reply still parsed again) under the label
    the creature had in most turns (`usual`), so that one relabelled record
    stands out. `fixed`: the label is always `usual` (the `replay:` cast).
    """

    concurrent = False

    def __init__(
        self,
        decisions: Mapping[int, Mapping[str, Any]],
        usual: str = "replay",
        standin: Policy | None = None,
        *,
        fixed: bool = False,
    ) -> None:
        self.decisions = decisions
        self.usual = usual
        self.label = usual
        self.standin = standin
        self.fixed = fixed

    def decide(self, obs: Observation) -> Action:
        record = self.decisions.get(obs.turn)
        self.label = self.usual
        if record is None:
            return Action.hold(NO_DECISION)
        label = record.get("policy")
        if label == "standin" and self.standin is not None:
            self.label = self.usual if self.fixed else "standin"
            return self.standin.decide(obs)
        if label == "llm":
            self.label = self.usual if self.fixed else "llm"
            return self._model(record, obs)
        recorded = action_from_record(record)
        call = recorded.call
        if call is None:
            return recorded
        call = _shaped(call)
        if call.error:
            return replace(recorded, call=call)
        return replace(parse(call.response, obs), call=call)

    def _model(self, record: Mapping[str, Any], obs: Observation) -> Action:
        """A model's decision: its reply parsed again, its prompt rebuilt from `obs`."""
        raw = record.get("call")
        if not isinstance(raw, Mapping):
            # Only a call abandoned at its deadline or a policy that broke leaves no call;
            # when and whether that happens is the machine's doing, so the hold is taken.
            reason = str(record.get("reason", ""))
            if reason.startswith(UNTIMED) and not record.get("offers"):
                return Action.hold(reason)
            return Action.hold("replay: a model's decision without its call")
        call = _shaped(ModelCall(**raw))
        thoughts = call.system == system_prompt(obs, thoughts=True)
        call = replace(call, system=system_prompt(obs, thoughts=thoughts), user=user_prompt(obs))
        if call.error:
            # A failed call has no reply and no tokens; only its latency was measured.
            call = replace(call, response="", prompt_tokens=0, cached_tokens=0, generated_tokens=0)
            return Action.hold(f"backend: {call.error}", call=call)
        return replace(parse(call.response, obs), call=call)


def _shaped(call: ModelCall) -> ModelCall:
    """The call with each field replay must take from the record reset to its default
    when it has not the shape a backend gives it (a count below 0, a latency that is no
    number), so that an edit of that kind shows as a difference in that very field."""
    fixes: dict[str, Any] = {}
    for name in ("prompt_tokens", "cached_tokens", "generated_tokens"):
        value = getattr(call, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            fixes[name] = 0
    ms = call.latency_ms
    if isinstance(ms, bool) or not isinstance(ms, int | float) or not 0 <= ms < math.inf:
        fixes["latency_ms"] = 0.0
    for name in ("model", "backend", "system", "user", "response", "error"):
        if not isinstance(getattr(call, name), str):
            fixes[name] = ""
    return replace(call, **fixes) if fixes else call


def decisions_of(
    records: Sequence[Mapping[str, Any]], names: Sequence[str]
) -> tuple[dict[str, dict[int, Mapping[str, Any]]], dict[str, str]]:
    """Each creature's first decision record of each turn, and the label it had most."""
    table: dict[str, dict[int, Mapping[str, Any]]] = {n: {} for n in names}
    labels: dict[str, Counter[str]] = {n: Counter() for n in names}
    for r in records:
        if r["kind"] == "decision" and r.get("creature") in table:
            table[r["creature"]].setdefault(r["turn"], r)
            labels[r["creature"]][str(r.get("policy"))] += 1
    usual = {n: labels[n].most_common(1)[0][0] if labels[n] else "replay" for n in names}
    return table, usual


def replay_policies(
    records: Sequence[Mapping[str, Any]],
    names: Sequence[str],
    standins: Mapping[str, Policy] | None = None,
) -> dict[str, RecordedPolicy]:
    """A recorded policy per creature: with `standins`, a replay's (stand-ins decide again,
    labels as recorded); without, the `replay:` cast's (every decision as recorded)."""
    table, usual = decisions_of(records, names)
    if standins is None:
        return {n: RecordedPolicy(table[n], "replay", fixed=True) for n in names}
    return {n: RecordedPolicy(table[n], usual[n], standins[n]) for n in names}


class Prefixed:
    """A creature's policy after a prefix of recorded turns: the record up to `upto`, then itself.

    Resume and forks make their first turns again from a run's record. In
    that prefix, a policy that calls a model plays back its recorded reply;
    with `reask` the model is asked again too, and its answer compared with
    the record (a difference goes to `diverged`), so that the model's slot
    does exactly the work it did the first time. A policy of the recorded
    kind (the stand-in, an imported class) decides again, so its random
    stream and any state of its own advance as they did; any other (a fork
    that changed the cast) takes the record. The decision's label is the
    record's in the prefix, the policy's own after it.
    """

    def __init__(
        self,
        live: Policy,
        recorded: RecordedPolicy,
        upto: int,
        reask: bool = False,
        diverged: list[str] | None = None,
    ) -> None:
        self.live = live
        self.recorded = recorded
        self.upto = upto
        self.own = getattr(live, "label", "policy")
        self.label = self.own
        self.concurrent = getattr(live, "concurrent", False)
        timeout = getattr(live, "timeout_s", None)
        if timeout is not None:
            self.timeout_s = timeout
        self.asks = self.own == "llm" or getattr(live, "backend", None) is not None
        self.reask = reask and hasattr(live, "request")
        self.diverged = [] if diverged is None else diverged

    def decide(self, observation: Observation) -> Action:
        if observation.turn > self.upto:
            self.label = self.own
            return self.live.decide(observation)
        record = self.recorded.decisions.get(observation.turn)
        kind = None if record is None else record.get("policy")
        if kind == self.own and not self.asks:
            self.label = self.own
            return self.live.decide(observation)
        action = self.recorded.decide(observation)
        self.label = self.recorded.label
        if self.asks and self.reask:
            again = self.live.decide(observation)
            said = again.call.response if again.call is not None else None
            if action.call is None or said != action.call.response:
                self.diverged.append(f"{observation.creature} on turn {observation.turn}")
        return action
