"""The PettingZoo environment: PettingZoo's own tests, determinism, and the wood's invariants.

Every test runs on each bundled scenario; names, goods and spaces come
from the scenario's data.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("pettingzoo", reason="the env extra is not installed")

from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test

import woodmarket.scenario as scenario_room
from woodmarket import councils
from woodmarket.env import KINDS, Talk, WoodEnv, env, parallel_env
from woodmarket.errors import ActionError, WoodmarketError
from woodmarket.financier.whispers import legends_of
from woodmarket.policies.standin import StandinPolicy
from woodmarket.rules import Admission, band
from woodmarket.scenario import load_scenario
from woodmarket.types import Action, Gossip, Order
from woodmarket.wood import Wood

ROOT = Path(__file__).resolve().parent.parent


class Holding:
    """A trader rich in everything, so only the per-order rules can refuse."""

    def __init__(self, pebbles: int, each: int) -> None:
        self.pebbles = pebbles
        self.stores = _Every(each)


class _Every(dict):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def __missing__(self, good: str) -> int:
        return self.n


def bundled_scenarios() -> list[str]:
    """The bundled scenarios' keys: the scenario room's list when it has one, else its files."""
    listed = getattr(scenario_room, "bundled_scenarios", None)
    if listed is not None:
        return list(listed())
    folder = Path(scenario_room.__file__).parent / "scenarios"
    keys = {p.stem for p in folder.glob("*.toml")}
    keys |= {p.parent.name for p in folder.glob("*/*.toml") if p.stem == p.parent.name}
    return sorted(keys)


SCENARIOS = bundled_scenarios()


@pytest.fixture(params=SCENARIOS)
def key(request) -> str:
    return request.param


def gambits_of(key: str) -> list[str]:
    """The gambits of this scenario, by name."""
    return [g.name for g in load_scenario(key).gambits]


def collect(e: WoodEnv) -> list[dict]:
    """Every trace record of every turn the env plays from now on."""
    records: list[dict] = []
    e.wood.listeners.append(lambda t: records.extend(t.records))
    return records


def play(e: WoodEnv, seed: int, options=None, pick=None):
    """A whole episode with seeded random actions; every step's outputs, and the trace."""
    obs, infos = e.reset(seed=seed, options=options)
    records = collect(e)
    for i, a in enumerate(e.agents):
        e.action_space(a).seed(seed * 100 + i)
    steps = [(obs, infos)]
    while e.agents:
        actions = {a: (pick or e.action_space(a).sample)() for a in e.agents}
        steps.append((actions, *e.step(actions)))
    return steps, records


def same(x, y) -> bool:
    if isinstance(x, dict):
        return isinstance(y, dict) and x.keys() == y.keys() and all(same(x[k], y[k]) for k in x)
    if isinstance(x, list | tuple):
        return len(x) == len(y) and all(same(a, b) for a, b in zip(x, y, strict=True))
    if isinstance(x, np.ndarray):
        return isinstance(y, np.ndarray) and x.dtype == y.dtype and np.array_equal(x, y)
    return x == y


# -- PettingZoo's own tests ---------------------------------------------------


@pytest.mark.parametrize("text", [False, True])
def test_pettingzoo_parallel_api_test(key, text):
    parallel_api_test(parallel_env(key, text=text), num_cycles=100)


def test_pettingzoo_parallel_api_test_with_one_agent_and_the_showcase(key):
    sc = load_scenario(key)
    gambit = gambits_of(key)[0]
    parallel_api_test(parallel_env(key, agents=[sc.creatures[-1].name], gambit=gambit))


def test_pettingzoo_parallel_seed_test(key):
    parallel_seed_test(lambda: parallel_env(key, text=True))


@pytest.mark.parametrize("text", [False, True])
def test_pettingzoo_api_test_of_the_aec_conversion(key, text):
    api_test(env(key, text=text), num_cycles=100)


# -- spaces from the scenario ------------------------------------------------


def test_agents_and_spaces_come_from_the_scenario(key):
    sc = load_scenario(key)
    e = parallel_env(key, text=True)
    names = [c.name for c in sc.creatures]
    assert e.possible_agents == names
    goods, m = sc.good_names, sc.market
    space = e.action_space(names[0])
    r = e.encoding.max_reference
    levels = (r - band(r, m.band)[0]) + (band(r, m.band)[1] - r) + 1
    assert list(space.nvec) == [len(KINDS), len(goods), m.max_qty, levels] * m.max_orders
    obs_space = e.observation_space(names[0])
    assert set(obs_space) == {"observation", "text"}
    assert isinstance(obs_space["text"], Talk)
    assert obs_space["observation"].shape == (len(e.feature_names),)
    for g in goods:
        for part in ("stores", "wants", "short_of", "produces", "price", "band_low", "band_high"):
            assert f"{part}.{g}" in e.feature_names
    # One space object per agent, the same one every time.
    assert e.action_space(names[0]) is e.action_space(names[0])
    assert e.action_space(names[0]) is not e.action_space(names[1])
    obs, _ = e.reset(seed=0)
    o = e.creature_observation(names[0])
    row = dict(zip(e.feature_names, obs[names[0]]["observation"].tolist(), strict=True))
    assert row["pebbles"] == o.pebbles and row["turn"] == 1 and row["mood"] == o.mood
    for g in goods:
        assert row[f"stores.{g}"] == o.stores[g]
        assert row[f"price.{g}"] == o.prices[g]
        assert (row[f"band_low.{g}"], row[f"band_high.{g}"]) == o.bands[g]
        assert row[f"history.{g}.7"] == o.prices[g]
    assert row["wealth"] == e.wood.wealth(names[0])


def test_every_band_price_is_expressible_up_to_max_reference(key):
    e = parallel_env(key)
    e.reset(seed=0)
    name = e.possible_agents[0]
    enc = e.encoding
    goods = enc.goods
    width = e.scenario.market.band
    for ref in (1, 2, 3, 7, enc.max_reference // 2, enc.max_reference):
        prices = dict.fromkeys(goods, ref)
        lo, hi = band(ref, width)
        for price in range(lo, hi + 1):
            order = Order(name, "sell", goods[-1], enc.max_qty, price)
            point = enc.encode([order], prices)
            assert e.action_space(name).contains(point)
            orders, slots, problem = enc.decode(name, point, prices)
            assert (orders, slots, problem) == ((order,), [0], "")
    far = Order(name, "buy", goods[0], 1, enc.max_reference * width + 1)
    with pytest.raises(ActionError, match="cannot be expressed"):
        enc.encode([far], dict.fromkeys(goods, enc.max_reference))


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_point_of_the_space_decodes_to_orders_or_a_reason(data):
    """Over arbitrary points and references: decoding never raises; what decodes
    re-encodes to itself, and every order lies in its good's band or is refused."""
    key = data.draw(st.sampled_from(SCENARIOS))
    e = parallel_env(key)
    enc = e.encoding
    name = e.possible_agents[0]
    prices = {g: data.draw(st.integers(1, enc.max_reference)) for g in enc.goods}
    point = np.array([data.draw(st.integers(0, int(n) - 1)) for n in enc.nvec], dtype=np.int64)
    assert e.action_space(name).contains(point)
    orders, slots, problem = enc.decode(name, point, prices)
    if problem:
        assert orders == () and "below 1" in problem
        return
    assert len(orders) == int((point[::4] > 0).sum()) == len(slots)
    again = enc.decode(name, enc.encode(orders, prices), prices)[0]
    assert again == orders
    admission = Admission(enc.goods, prices, {name: Holding(10**9, 10**9)}, e.scenario.market)
    for o in orders:
        lo, hi = band(prices[o.good], e.scenario.market.band)
        refusal = admission.problem(o)
        assert (lo <= o.price <= hi) == ("outside the band" not in refusal)


def test_references_stay_within_max_reference_so_every_band_price_is_expressible(key):
    """The encoding is exact while references stay at or under max_reference: they do,
    over whole episodes of random agents (all, or one among stand-ins) and the showcase."""
    sc = load_scenario(key)
    highest = 0
    for agents in (None, [sc.creatures[0].name], [sc.creatures[-1].name]):
        e = parallel_env(key, agents=agents, gambit=gambits_of(key)[0])
        for seed in range(8):
            play(e, seed)
            highest = max(highest, *(max(h) for h in e.wood.history.values()))
    assert 0 < highest <= e.encoding.max_reference


# -- the market sees external orders ------------------------------------------


def test_an_env_replaying_the_standin_reproduces_the_bare_wood(key):
    """All creatures external, deciding as the stand-in would: the same wood, record by record."""
    seed = 4
    bare = Wood.from_scenario(key, seed)
    bare_records: list[dict] = []
    bare.listeners.append(lambda t: bare_records.extend(t.records))
    e = parallel_env(key)
    e.reset(seed=seed)
    records = collect(e)
    agents = {a: StandinPolicy(e.wood.rng("policy", a)) for a in e.agents}
    external = 0
    while e.agents:
        actions = {}
        for a in e.agents:
            decision = agents[a].decide(e.creature_observation(a))
            actions[a] = e.encode(a, decision)
            external += len(decision.orders)
        _, _, _, _, infos = e.step(actions)
        bare.step()
        assert all(i["valid"] for i in infos.values())
    assert external > 0
    assert len(records) == len(bare_records)
    for mine, theirs in zip(records, bare_records, strict=True):
        if mine["kind"] == "decision":
            assert (mine["policy"], theirs["policy"]) == ("external", "standin")
            mine, theirs = {**mine, "policy": ""}, {**theirs, "policy": ""}
        assert mine == theirs


def test_external_orders_are_accepted_orders_and_fills_of_the_real_market(key):
    sc = load_scenario(key)
    e = parallel_env(key, agents=[c.name for c in sc.creatures[:2]])
    e.reset(seed=1)
    records = collect(e)
    seller, buyer = e.agents
    good = next(g for g in sc.good_names if e.creature_observation(seller).stores[g] >= 1)
    lo, hi = band(e.wood.prices[good], sc.market.band)
    bid = min(hi, e.wood.ledger.accounts[buyer].pebbles)
    # The lowest ask and the highest bid the band allows: both first in line.
    placed = {
        seller: Order(seller, "sell", good, 1, lo),
        buyer: Order(buyer, "buy", good, 1, bid),
    }
    actions = {a: e.encode(a, [o]) for a, o in placed.items()}
    _, _, _, _, infos = e.step(actions)
    orders = [r for r in records if r["kind"] == "order" and r["creature"] in e.agents]
    assert sorted((r["creature"], r["side"], r["good"], r["qty"], r["price"]) for r in orders) == (
        sorted((o.creature, o.side, o.good, o.qty, o.price) for o in placed.values())
    )
    assert all(r["status"] == "accepted" for r in orders)
    decisions = {r["creature"]: r for r in records if r["kind"] == "decision"}
    assert decisions[seller]["policy"] == decisions[buyer]["policy"] == "external"
    fills = [r for r in records if r["kind"] == "fill" and r["good"] == good]
    assert sum(f["qty"] for f in fills if f["buyer"] == buyer) == 1
    assert sum(f["qty"] for f in fills if f["seller"] == seller) == 1
    price = fills[0]["price"]
    assert lo <= price <= bid
    assert infos[buyer]["fills"] == [{"side": "buy", "good": good, "qty": 1, "price": price}]
    assert infos[seller]["fills"] == [{"side": "sell", "good": good, "qty": 1, "price": price}]
    # Conservation, from outside: every pebble accounted for.
    ledger = e.wood.ledger
    assert ledger.total_pebbles() == ledger.start_pebbles


def test_uncontrolled_creatures_keep_their_cast(key):
    sc = load_scenario(key)
    me = sc.creatures[1].name
    e = parallel_env(key, agents=[me])
    e.reset(seed=2)
    records = collect(e)
    e.step({me: np.zeros_like(e.action_space(me).nvec)})
    policies = {r["creature"]: r["policy"] for r in records if r["kind"] == "decision"}
    assert policies.pop(me) == "external"
    assert set(policies) == {c.name for c in sc.creatures} - {me}
    assert set(policies.values()) == {"standin"}


def test_a_recorded_run_as_the_cast_of_the_others(key, tmp_path):
    """The other creatures replay a recorded run; an agent repeating its own recorded
    decisions gives back the recorded trace, record for record."""
    from woodmarket.runner import run
    from woodmarket.spec import RunSpec
    from woodmarket.traces import read_trace

    sc = load_scenario(key)
    recorded = run(RunSpec.make(key, seed=6, turns=5), tmp_path / "run").folder
    trace = [r for r in read_trace(recorded) if r["turn"] > 0]
    me = sc.creatures[0].name
    mine = {r["turn"]: r for r in trace if r["kind"] == "decision" and r["creature"] == me}
    e = parallel_env(key, agents=[me], cast=f"replay:{recorded}", turns=5)
    e.reset(seed=6)
    records = collect(e)
    while e.agents:
        turn = e.creature_observation(me).turn
        orders = [Order.from_dict(o) for o in mine[turn]["offers"]]
        e.step({me: e.encode(me, orders)})
    labels = {r["creature"]: r["policy"] for r in records if r["kind"] == "decision"}
    assert labels.pop(me) == "external" and set(labels.values()) == {"replay"}

    def plain(rs):
        return [{**r, "policy": ""} if r["kind"] == "decision" else r for r in rs]

    assert plain(records) == plain(trace)


@pytest.mark.models
def test_the_council_drives_the_others(key):
    sc = load_scenario(key)
    me = sc.creatures[0].name
    e = parallel_env(key, agents=[me], cast="council", turns=2)
    e.reset(seed=1)
    records = collect(e)
    while e.agents:
        e.step({me: None})
    e.close()
    others = [r for r in records if r["kind"] == "decision" and r["creature"] != me]
    assert len(others) == 2 * (len(sc.creatures) - 1)
    assert {r["policy"] for r in others} == {"llm"}
    seated = councils.seats("council", len(sc.creatures))
    assert {r["creature"]: r["call"]["model"] for r in others} == {
        c.name: m for c, m in zip(sc.creatures[1:], seated[1:], strict=True)
    }


@pytest.mark.parametrize("cast", ["standin", "replay"])
@pytest.mark.parametrize("mechanism", [None, "none", "glut"])
def test_the_env_builds_the_wood_the_runner_would(key, cast, mechanism, tmp_path):
    """The env builds its woods itself (the scenario parsed once); they must be
    `build.build`'s woods: the same trace, record for record."""
    from woodmarket.build import build
    from woodmarket.runner import run
    from woodmarket.spec import RunSpec

    if cast == "replay":
        cast = "replay:" + str(run(RunSpec.make(key, seed=8, turns=6), tmp_path / "r").folder)
    gambit = gambits_of(key)[0]
    me = load_scenario(key).creatures[1].name
    e = parallel_env(key, agents=[me], cast=cast, turns=6, gambit=gambit, mechanism=mechanism)
    e.reset(seed=8)
    records = collect(e)
    while e.agents:
        e.step({me: None})
    spec = RunSpec.make(key, cast=cast, seed=8, turns=6, gambit=gambit, mechanism=mechanism)
    wood = build(spec)
    theirs: list[dict] = []
    wood.listeners.append(lambda t: theirs.extend(t.records))
    for _ in range(6):
        wood.step({me: Action.hold()})
    assert records == theirs
    assert any(r["kind"] == "financier" for r in records)


def test_an_action_value_carries_orders_and_gossip(key):
    e = parallel_env(key)
    e.reset(seed=3)
    records = collect(e)
    a, b = e.agents[:2]
    o = e.creature_observation(a)
    good = next(g for g in o.goods if o.stores[g] >= 1)
    action = Action(orders=(Order(a, "sell", good, 1, o.prices[good]),), gossip=Gossip(b, "hello"))
    _, _, _, _, infos = e.step({a: action})
    assert infos[a]["valid"]
    assert any(r["kind"] == "gossip" and r["creature"] == a for r in records)
    assert any(
        r["kind"] == "order" and r["creature"] == a and r["status"] == "accepted" for r in records
    )
    assert any(h.startswith(f"{a}: hello") for h in e.creature_observation(b).heard)


# -- rewards -----------------------------------------------------------------


def wealth_from_records(records: list[dict], start: dict[str, int], start_prices) -> dict:
    """turn -> creature -> wealth, from the `holdings` and `price` records alone."""
    prices = {0: dict(start_prices)}
    held = {0: start}
    for r in records:
        if r["kind"] == "price":
            prices.setdefault(r["turn"], {})[r["good"]] = r["reference"]
        elif r["kind"] == "holdings":
            held[r["turn"]] = r["holders"]
    out = {}
    for turn, holders in held.items():
        p = prices[turn]
        out[turn] = {
            n: h["pebbles"] + sum(q * p[g] for g, q in h["stores"].items())
            if isinstance(h, dict)
            else h
            for n, h in holders.items()
        }
    return out


@pytest.mark.parametrize("seed", [0, 7])
def test_rewards_are_wealth_changes_from_the_holdings_records(key, seed):
    sc = load_scenario(key)
    e = parallel_env(key, gambit=gambits_of(key)[0])
    steps, records = play(e, seed)
    start = {c.name: {"pebbles": c.pebbles, "stores": c.stores} for c in sc.creatures}
    wealth = wealth_from_records(records, start, {g.name: g.price for g in sc.goods})
    assert len(steps) - 1 == sc.turns
    total = dict.fromkeys(e.possible_agents, 0.0)
    for turn, (_, _, rewards, _, _, infos) in enumerate(steps[1:], start=1):
        for a, r in rewards.items():
            assert r == wealth[turn][a] - wealth[turn - 1][a]
            assert infos[a]["wealth"] == wealth[turn][a]
            total[a] += r
    for a in e.possible_agents:
        assert total[a] == wealth[sc.turns][a] - wealth[0][a]
    assert any(r != 0 for _, _, rewards, *_ in steps[1:] for r in rewards.values())


def test_the_mood_reward_is_the_change_in_mood(key):
    sc = load_scenario(key)
    e = parallel_env(key, reward="mood")
    steps, records = play(e, 5)
    moods = {0: dict.fromkeys(e.possible_agents, sc.living.mood_start)}
    for r in records:
        if r["kind"] == "holdings":
            moods[r["turn"]] = {n: h["mood"] for n, h in r["holders"].items() if "mood" in h}
    for turn, (_, _, rewards, *_) in enumerate(steps[1:], start=1):
        assert rewards == {a: moods[turn][a] - moods[turn - 1][a] for a in rewards}
    assert any(r != 0 for _, _, rewards, *_ in steps[1:] for r in rewards.values())


# -- truncation, options, determinism ---------------------------------------


def test_truncation_at_the_scenarios_last_turn(key):
    sc = load_scenario(key)
    e = parallel_env(key)
    e.reset(seed=0)
    hold = {a: np.zeros_like(e.action_space(a).nvec) for a in e.agents}
    for turn in range(1, sc.turns + 1):
        obs, rewards, terms, truncs, infos = e.step(hold)
        assert set(obs) == set(rewards) == set(truncs) == set(e.possible_agents)
        assert not any(terms.values())
        assert all(truncs.values()) == (turn == sc.turns)
        assert all(i["turn"] == turn for i in infos.values())
    assert e.agents == [] and e.wood.turn == sc.turns
    with pytest.raises(WoodmarketError, match="call reset"):
        e.step(hold)
    short = parallel_env(key, turns=3)
    short.reset(seed=0)
    assert [all(short.step({})[3].values()) for _ in range(3)] == [False, False, True]


def test_the_showcase_through_reset_options(key):
    gambit = gambits_of(key)[0]
    sc = load_scenario(key)
    e = parallel_env(key, text=True)
    obs, _ = e.reset(seed=0, options={"gambit": gambit, "unknown": 1})
    records = collect(e)
    texts = {1: obs}
    while e.agents:
        obs, *_ = e.step({})
        if e.agents:
            texts[e.wood.turn + 1] = obs
    sprung = [r for r in records if r["kind"] == "legend" and r["event"] == "sprung"]
    assert len(sprung) == 1
    spring_turn = sprung[0]["turn"]
    assert any(r["kind"] == "financier" and r["ok"] for r in records)
    legend = next(lg for lg in legends_of(e.wood) if lg.id == sprung[0]["id"])
    # The rumour reaches every agent's text in the very turn it is told, whole.
    for a in e.possible_agents:
        assert f"News: {legend.rumor}" in texts[spring_turn][a]["text"]
        if spring_turn > 1:
            assert legend.rumor not in texts[spring_turn - 1][a]["text"]
    # The financier's whisper reaches its creature's text, whole, the turn it is made.
    whispered = [
        r for r in records if r["kind"] == "financier" and r["command"].startswith("whisper")
    ]
    assert whispered and whispered[0]["ok"]
    who, said = whispered[0]["outcome"].removeprefix("whispered to ").split(": ", 1)
    turn = whispered[0]["turn"]
    assert f'Whisper: the financier whispers: "{said}"' in texts[turn][who]["text"].splitlines()
    assert e.wood.turn == sc.turns
    # Without the option, no financier.
    e.reset(seed=0)
    assert e.wood.financier is None


def test_legends_and_moves_through_reset_options(key):
    e = parallel_env(key)
    e.reset(seed=0)
    legend = next(lg for lg in legends_of(e.wood) if lg.target in e.wood.goods)
    e.reset(seed=0, options={"legends": {3: legend.id}, "mechanism": "settle"})
    records = collect(e)
    for _ in range(4):
        e.step({})
    sprung = [r for r in records if r["kind"] == "legend" and r["event"] == "sprung"]
    assert [(r["turn"], r["id"], r["mechanism"]) for r in sprung] == [(3, legend.id, "settle")]
    name = e.possible_agents[0]
    e.reset(seed=0, options={"moves": {"1": [f"whisper {name} hello there"]}})
    assert any("hello there" in w for w in e.creature_observation(name).whispers)
    with pytest.raises(ActionError, match="unknown legend"):
        e.reset(options={"legends": {2: "no_such_legend"}})
    with pytest.raises(WoodmarketError, match="turn 99"):
        e.reset(options={"legends": {99: legend.id}})
    with pytest.raises(ActionError, match="unknown gambit"):
        e.reset(options={"gambit": "no_such_gambit"})
    with pytest.raises(WoodmarketError, match="call reset"):  # no half-made episode
        e.step({})


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_whole_episodes_repeat_under_a_seed(key, seed):
    gambit = gambits_of(key)[0]
    runs = [play(parallel_env(key, text=True, gambit=gambit), seed) for _ in range(2)]
    (steps1, records1), (steps2, records2) = runs
    assert same(steps1, steps2)
    assert records1 == records2
    _, other_records = play(parallel_env(key, text=True, gambit=gambit), seed + 10)
    assert other_records != records1


def test_unseeded_resets_follow_the_last_seed(key):
    a, b = parallel_env(key), parallel_env(key)
    a.reset(seed=9)
    b.reset(seed=9)
    a.reset()
    b.reset()
    assert a.wood.seed == b.wood.seed != 9
    c = parallel_env(key, seed=5)
    c.reset()
    assert c.wood.seed == 5


# -- bad input ---------------------------------------------------------------


def held(e: WoodEnv, action) -> tuple[dict, list[dict]]:
    a = e.agents[0]
    records = collect(e)
    _, _, _, _, infos = e.step({a: action})
    mine = [r for r in records if r.get("creature") == a]
    decision = next(r for r in mine if r["kind"] == "decision")
    assert decision["policy"] == "external"
    assert not decision["valid"] and decision["reason"] == infos[a]["reason"]
    assert not infos[a]["valid"]
    assert not [r for r in mine if r["kind"] == "order"]
    return infos[a], mine


def test_invalid_order_sets_become_traced_holds(key):
    e = parallel_env(key)
    e.reset(seed=0)
    a = e.agents[0]
    o = e.creature_observation(a)
    have = next(g for g in o.goods if o.stores[g] >= 1)
    ref = o.prices[have]
    both = [Order(a, "sell", have, 1, ref), Order(a, "buy", have, 1, ref)]
    info, _ = held(e, e.encode(a, both))
    assert "slot 1" in info["reason"] and "self-trade" in info["reason"]
    e.reset(seed=0)
    too_many = [Order(a, "sell", have, o.stores[have] + 1, ref)]
    info, _ = held(e, e.encode(a, too_many))
    assert f"not enough {have}" in info["reason"]
    e.reset(seed=0)
    point = np.zeros_like(e.action_space(a).nvec)
    point[:4] = (1, 0, 0, 0)  # a buy at the lowest price index: below 1
    info, _ = held(e, point)
    assert "below 1" in info["reason"]


@pytest.mark.parametrize(
    "bad, words",
    [
        ([1, 2], "expected"),
        ("buy", "expected"),
        ({"kind": 1}, "expected"),
        (None, None),
    ],
)
def test_actions_outside_the_space_become_traced_holds(key, bad, words):
    e = parallel_env(key)
    e.reset(seed=0)
    a = e.agents[0]
    if bad is None:  # None is an explicit hold, valid
        _, _, _, _, infos = e.step({a: None})
        assert infos[a]["valid"] and infos[a]["reason"] == ""
        return
    info, _ = held(e, bad)
    assert "outside the action space" in info["reason"] and words in info["reason"]
    e.reset(seed=0)
    floats = e.action_space(a).sample().astype(float)
    assert "outside the action space" in held(e, floats)[0]["reason"]
    e.reset(seed=0)
    big = np.zeros_like(e.action_space(a).nvec)
    big[0] = 3
    assert "component 0 is 3" in held(e, big)[0]["reason"]


def test_unknown_agents_and_bad_settings_are_one_clear_error(key):
    e = parallel_env(key)
    e.reset(seed=0)
    with pytest.raises(ActionError, match="unknown agent 'Nobody'; agents are"):
        e.step({"Nobody": None})
    with pytest.raises(ActionError, match="must map agents"):
        e.step([1, 2])  # type: ignore[arg-type]
    with pytest.raises(ActionError, match="unknown agent"):
        e.action_space("Nobody")
    with pytest.raises(WoodmarketError, match="unknown creature 'Nobody'"):
        parallel_env(key, agents=["Nobody"])
    with pytest.raises(WoodmarketError, match="unknown reward"):
        parallel_env(key, reward="pebbles")
    with pytest.raises(WoodmarketError, match="reset"):
        parallel_env(key).step({})
    with pytest.raises(WoodmarketError, match="unknown mechanism"):
        parallel_env(key, mechanism="panic")
    with pytest.raises(WoodmarketError, match="unknown mechanism"):
        e.reset(options={"mechanism": "panic"})
    with pytest.raises(WoodmarketError, match="turns must be"):
        parallel_env(key, turns=0)
    with pytest.raises(WoodmarketError, match="seed must be"):
        e.reset(seed=-1)
    with pytest.raises(WoodmarketError, match="max_reference"):
        parallel_env(key, max_reference=0)
    first = e.possible_agents[0]
    assert parallel_env(key, agents=first).possible_agents == [first]  # one name, not letters


# -- the example -------------------------------------------------------------


def test_the_bandit_example_learns_to_beat_a_random_agent():
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "bandit.py"), "--steps", "900", "--episodes", "8"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    lines = dict(
        line.split(":", 1)
        for line in out.stdout.splitlines()
        if ":" in line and " " not in line[:1]
    )
    assert int(lines["trained steps"]) >= 900
    learner, rand = float(lines["learner"].split()[0]), float(lines["random"].split()[0])
    assert learner > rand, out.stdout


def test_render_and_observation_rows(key):
    sc = load_scenario(key)
    e = parallel_env(key, render_mode="ansi")
    obs, _ = e.reset(seed=0)
    a, b = e.agents[:2]
    before = obs[b]["observation"].copy()
    obs[a]["observation"][:] = 0  # an agent's array is its own
    assert np.array_equal(obs[b]["observation"], before)
    e.step({})
    text = e.render()
    assert text.startswith(f"turn 1 of {sc.turns}:")
    assert all(name in text for name in e.possible_agents)
    assert parallel_env(key).render() is None


def test_the_benchmark_runs():
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "env.py"), "--turns", "30", "--repeats", "1"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    assert out.startswith("CPU: ")
    for key in SCENARIOS:
        for loop in ("bare wood", "all external", "one external"):
            assert re.search(rf"{key}\s+{loop}\s+\d+\s+\d\.\d\d", out), (key, loop, out)


SMALL_WOOD = """
[wood]
name = "A small wood"
turns = 6

[market]
max_orders = 2
max_qty = 5
band = 2

[goods.nuts]
price = 3
food = true

[goods.fish]
price = 7
food = true
spoil_pct = 50
keep = 1

[goods.reeds]
price = 2

[[creatures]]
name = "Ash"
species = "squirrel"
role = "nut gatherer"
pebbles = 20
produces = { nuts = 3 }
stores = { nuts = 4, fish = 1 }

[[creatures]]
name = "Fen"
species = "otter"
role = "fisher"
pebbles = 25
produces = { fish = 2, reeds = 1 }
stores = { fish = 3, nuts = 1, reeds = 2 }

[[creatures]]
name = "Kip"
species = "heron"
role = "idler"
pebbles = 50
stores = { reeds = 1 }
"""


def test_a_wood_of_another_shape(tmp_path):
    """Three creatures, three goods, no fuel, two order slots of up to 5 in a band of 2."""
    path = tmp_path / "small.toml"
    path.write_text(SMALL_WOOD)
    e = parallel_env(str(path), text=True)
    assert e.possible_agents == ["Ash", "Fen", "Kip"]
    r = e.encoding.max_reference
    assert r == 50  # the richest purse
    assert list(e.action_space("Kip").nvec) == [3, 3, 5, (r - r // 2) + r + 1] * 2
    assert len(e.feature_names) == 6 + 7 * 3 + 8 * 3
    parallel_api_test(e, num_cycles=20)
    api_test(env(str(path)), num_cycles=20)
    steps, records = play(parallel_env(str(path)), 3)
    decisions = [r for r in records if r["kind"] == "decision"]
    assert len(steps) == 7 and len(decisions) == 6 * 3
    assert {r["policy"] for r in decisions} == {"external"}
    again, records_again = play(parallel_env(str(path)), 3)
    assert same(steps, again) and records == records_again


def test_an_exiled_creature_leaves_the_episode_terminated(scenario_key):
    e = parallel_env(scenario=scenario_key)
    obs, _ = e.reset(seed=3)
    first = e.agents[0]
    hold = {a: np.zeros(e.action_space(a).shape, dtype=np.int64) for a in e.agents}
    e.step(hold)
    e.wood.exile(first)  # as a default with debts left over would
    obs, rewards, terms, truncs, infos = e.step(hold)
    assert terms[first] and not truncs[first] and first in obs and first in rewards
    assert infos[first]["wealth"] == e.wood.wealth(first)  # its account stays, settled
    assert first not in e.agents and all(not terms[a] for a in e.agents)
    assert e.wood.ledger.total_pebbles() == e.wood.ledger.start_pebbles
    rest = {a: hold[a] for a in e.agents}
    _, _, terms, _, _ = e.step(rest)  # the episode goes on without it
    assert first not in terms and set(terms) == set(e.agents)


def test_infos_carry_the_financiers_dealings_with_the_creature(scenario_key):
    e = parallel_env(scenario=scenario_key)
    debtor, other = e.possible_agents[0], e.possible_agents[1]
    e.reset(seed=2, options={"moves": {1: [f"lend {debtor} 10 10 3"]}})
    hold = {a: np.zeros(e.action_space(a).shape, dtype=np.int64) for a in e.agents}
    _, _, _, _, infos = e.step(hold)
    dealt = infos[debtor]["patron"]
    assert dealt and all(r["kind"] == "loan" and r["creature"] == debtor for r in dealt)
    assert dealt[0]["event"] == "offered" and infos[other]["patron"] == []
