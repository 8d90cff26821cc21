"""Replay: re-run a recorded run from its decisions and check it, turn by turn.

The scenario copy and seed come from the run folder; every creature's
policy becomes its recorded decisions (no model is loaded). Each turn's
state records (orders, fills, prices, holdings) are compared with the
recorded ones; the first difference is reported with what differed.
A run that died mid-way replays up to its last finished turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from woodmarket.errors import ReplayError, ScenarioError
from woodmarket.financier import Financier, recorded_moves
from woodmarket.policies.replay import replay_policies
from woodmarket.runner import build_wood
from woodmarket.scenario import parse_scenario
from woodmarket.spec import RunSpec
from woodmarket.traces import by_turn, read_run, read_trace

STATE_KINDS = ("order", "fill", "price", "holdings")


@dataclass(frozen=True)
class ReplayReport:
    turns: int
    checked: int
    mismatch_turn: int | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.mismatch_turn is None and self.checked == self.turns


def _state(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r["kind"] in STATE_KINDS]


def _difference(recorded: list[dict[str, Any]], rerun: list[dict[str, Any]]) -> str:
    for a, b in zip(recorded, rerun, strict=False):
        if a != b:
            keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            return f"{a['kind']} record differs in {', '.join(keys)}: recorded {a} vs replayed {b}"
    return f"recorded {len(recorded)} state records, replay produced {len(rerun)}"


def replay(folder: str | Path) -> ReplayReport:
    folder = Path(folder)
    meta = read_run(folder)
    scenario_file = folder / "scenario.toml"
    try:
        if "scenario_text" in meta:  # the spec holds the scenario and its legend files' texts
            scenario = RunSpec.from_dict(meta).load_scenario()
        else:
            scenario = parse_scenario(scenario_file.read_text(encoding="utf-8"), str(scenario_file))
    except FileNotFoundError:
        raise ReplayError(f"{scenario_file}: missing (is {folder} a run folder?)") from None
    except ScenarioError as exc:
        raise ReplayError(f"the recorded scenario is broken: {exc}") from None
    records = list(read_trace(folder))
    turns = by_turn(records)
    recorded_turns = sorted(
        t for t in turns if t > 0 and any(r["kind"] == "holdings" for r in turns[t])
    )
    names = tuple(c.name for c in scenario.creatures)
    wood = build_wood(spec_of(meta, scenario), replay_policies(records, names))
    # The moves a player typed are decisions too: they are made again in their turns.
    moves = recorded_moves(records)
    if moves:
        fin = wood.extensions.get("financier") or Financier.attach(wood)
        fin.add_script(moves, "player")
    checked = 0
    for t in recorded_turns:
        state = wood.step()
        want, got = _state(turns[t]), _state(state.records)
        if want != got:
            return ReplayReport(len(recorded_turns), checked, t, _difference(want, got))
        checked += 1
    return ReplayReport(len(recorded_turns), checked)


def spec_of(meta: dict[str, Any], scenario: Any) -> RunSpec:
    """The spec a run folder was made from (folders before specs: rebuilt from its meta)."""
    if "scenario_text" in meta:
        return RunSpec.from_dict(meta)
    return RunSpec(
        scenario=str(meta.get("scenario_arg", scenario.name)),
        scenario_text=scenario.text,
        cast=str(meta.get("cast", "standin")),
        seed=int(meta["seed"]),
        turns=int(meta.get("turns", scenario.turns)),
        gambit=meta.get("gambit"),
        mechanism=meta.get("mechanism"),
        financier=bool(meta.get("financier")),
    )
