"""The environment starts an episode from a recorded history: `reset(options={"fork": ...})`."""

from __future__ import annotations

import pytest

from woodmarket.env import parallel_env
from woodmarket.errors import WoodmarketError
from woodmarket.runner import run
from woodmarket.scenario import load_scenario
from woodmarket.spec import RunSpec
from woodmarket.traces import read_trace


def test_an_episode_begins_where_the_record_says(tmp_path, scenario_key):
    parent = tmp_path / "parent"
    run(RunSpec.make(scenario_key, seed=4, turns=8, gambit="showcase"), parent)
    recorded = list(read_trace(parent))
    agent = load_scenario(scenario_key).creature_names[1]
    env = parallel_env(scenario_key, agents=[agent], turns=8)
    obs, _ = env.reset(options={"fork": (str(parent), 4)})
    assert list(obs) == [agent]
    wood = env.wood
    assert wood.turn == 3 and env.agents == [agent]
    # The wood is the recorded one at the end of turn 3: its holdings, as the record has them.
    held = next(r for r in recorded if r["kind"] == "holdings" and r["turn"] == 3)["holders"]
    assert wood.holdings() == held
    assert env.creature_observation(agent).turn == 4
    steps = 0
    while env.agents:
        env.step({agent: None})
        steps += 1
    assert steps == 5 and wood.turn == 8  # turns 4 to 8, the agent holding
    # The parent's moves go on from K: its gambit's cover on turn 4 was made.
    assert not wood.financier.positions  # type: ignore[union-attr]


def test_a_fork_is_refused_with_a_seed_or_a_record_of_another_wood(tmp_path, scenario_key):
    parent = tmp_path / "parent"
    run(RunSpec.make(scenario_key, seed=1, turns=4), parent)
    env = parallel_env(scenario_key, turns=4)
    with pytest.raises(WoodmarketError, match="seed with a fork"):
        env.reset(seed=3, options={"fork": (str(parent), 2)})
    with pytest.raises(WoodmarketError, match=r"must be \(run_dir, K\)"):
        env.reset(options={"fork": str(parent)})
    other = "reedmere" if scenario_key == "oona" else "oona"
    with pytest.raises(WoodmarketError, match="another scenario"):
        parallel_env(other, turns=4).reset(options={"fork": (str(parent), 2)})
    with pytest.raises(WoodmarketError, match="a fork starts at a turn from 1 to 4"):
        env.reset(options={"fork": (str(parent), 9)})
    obs, _ = env.reset(options={"fork": (str(parent), 2)})  # and then one that holds
    assert env.wood.turn == 1 and set(obs) == set(env.agents)
