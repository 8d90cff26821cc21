"""The patron's levers: loans, bribes and pacts; defaults, seizures and exile.

Every test runs on every bundled scenario. Creatures answer under the
stand-in's documented rules, or under plain functions that accept, decline,
comply or ignore, so both sides of every rule are exercised.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from patronkit import accepting_policy, with_debtor, with_strict_magistrate

from woodmarket.build import build
from woodmarket.financier import FINANCIER, Financier
from woodmarket.financier.patron import BRIBE_COMPLIED, BRIBE_IGNORED
from woodmarket.policies.standin import LOAN_RATE, PURSE
from woodmarket.replay import replay
from woodmarket.rules import interest
from woodmarket.runner import run
from woodmarket.scenario import load_scenario, parse_scenario
from woodmarket.spec import RunSpec
from woodmarket.traces import TRACE
from woodmarket.types import Action, Answer, Gossip, Observation, Order
from woodmarket.wood import Wood

NEW_KINDS = ("loan", "bribe", "pact", "exile", "magistrate")


def _wood(key, seed=0, script=None, scenario=None):
    wood = Wood(scenario or load_scenario(key), seed)
    fin = Financier.attach(wood, script=script, source="player")
    return wood, fin


def _records(wood, turns):
    out = []
    for _ in range(turns):
        out += wood.step().records
    return out


def _of(records, kind, **match):
    return [
        r for r in records if r["kind"] == kind and all(r.get(k) == v for k, v in match.items())
    ]


def _declining(obs: Observation) -> Action:
    return Action(answers=tuple(Answer("decline", o.id) for o in obs.offers))


def _thin(wood):
    """A creature with a purse thin enough for the stand-in to borrow."""
    return min(wood.names, key=lambda n: (wood.creatures[n].account.pebbles, n))


# -- loans -------------------------------------------------------------------------


def test_the_standin_takes_a_cheap_loan_on_a_thin_purse_and_declines_a_dear_one(scenario_key):
    wood, _ = _wood(scenario_key)
    who = _thin(wood)
    rich = max(wood.names, key=lambda n: wood.creatures[n].account.pebbles)
    assert wood.creatures[who].account.pebbles < PURSE <= wood.creatures[rich].account.pebbles
    fin = wood.financier
    other = next(n for n in wood.names if n not in (who, rich))
    for line in (f"lend {who} 10 {LOAN_RATE} 3", f"lend {other} 10 {LOAN_RATE + 1} 3"):
        assert fin.submit(line).ok, line
    assert fin.submit(f"lend {rich} 10 5 3").ok
    before = wood.creatures[who].account.pebbles
    records = _records(wood, 1)
    answers = {r["creature"]: r["answer"] for r in _of(records, "loan", event="answered")}
    assert answers == {who: "accept", other: "decline", rich: "decline"}
    made = _of(records, "loan", event="answered", made=True)
    assert [r["creature"] for r in made] == [who]
    assert fin.patron.loan_of(who).owed == 10
    # The loan arrived after the auction: the turn's trades did not touch it.
    paid = sum(
        f["price"] * f["qty"] * (1 if f["seller"] == who else -1)
        for f in _of(records, "fill")
        if who in (f["buyer"], f["seller"])
    )
    assert wood.creatures[who].account.pebbles == before + paid + 10


def test_interest_is_simple_rounded_up_and_the_debt_repaid_at_term(scenario_key):
    wood, fin = _wood(scenario_key)
    who = wood.names[0]
    fin.add_script({1: [f"lend {who} 15 10 3"]}, "player")
    wood.policies[who] = accepting_policy()
    assert interest(15, 10) == 2  # 1.5 rounded up, in the lender's favour
    offered = []
    wood.listeners.append(lambda t: offered.extend(t.observations[who].offers))
    records = _records(wood, 5)
    (offer,) = offered
    assert (offer.kind, offer.pebbles, offer.rate, offer.repay, offer.due) == (
        "loan",
        15,
        10,
        21,
        4,
    )
    owed = [(r["turn"], r["owed"]) for r in _of(records, "loan", event="interest")]
    assert owed == [(2, 17), (3, 19), (4, 21)]
    (repaid,) = _of(records, "loan", event="repaid")
    assert (repaid["turn"], repaid["paid"]) == (4, 21)
    assert fin.patron.open_loans() == [] and wood.debts == {}
    assert fin.pebbles == 100 + 6  # the interest is the financier's


def test_a_debtor_sees_its_own_debt_and_nobody_else_does(scenario_key):
    wood, fin = _wood(scenario_key)
    who = wood.names[1]
    wood.policies[who] = accepting_policy()
    fin.submit(f"lend {who} 12 20 4")
    seen = []
    wood.listeners.append(lambda t: seen.append(t.observations))
    _records(wood, 3)
    for turn, observations in enumerate(seen, 1):
        for name, obs in observations.items():
            mine = name == who
            assert bool(obs.offers) == (mine and turn == 1)
            assert bool(obs.debts) == (mine and turn > 1)
    assert seen[2][who].debts[0].owed == 12 + interest(12, 20)


def test_a_default_seizes_stores_dearest_first_and_exiles_an_emptied_debtor(scenario_key):
    scenario, cheapest = with_debtor(scenario_key)
    wood, fin = _wood(scenario_key, scenario=scenario, script={1: ["lend Moth 5 50 4"]})
    wood.policies["Moth"] = accepting_policy()
    start = wood.ledger.start_pebbles
    records = _records(wood, 5)
    (default,) = _of(records, "loan", event="defaulted")
    price = wood.prices[cheapest]
    assert default["turn"] == 5 and default["paid"] == 5 and default["seized"] == {cheapest: 1}
    assert default["value"] == price and default["written_off"] == 5 + 4 * 3 - 5 - price
    (ex,) = _of(records, "exile")
    assert ex["creature"] == "Moth" and ex["owed"] == default["written_off"]
    assert "Moth" not in wood.names and "Moth" not in wood.creatures
    assert wood.exiled == ["Moth"]
    acct = wood.ledger.accounts["Moth"]
    assert acct.pebbles == 0 and not any(acct.stores.values())
    assert fin.stores[cheapest] >= 1
    assert any("Moth leaves the wood" in h for h in wood.headlines)
    # The wood runs on without it: every phase, every observation, the ledger.
    seen = []
    wood.listeners.append(lambda t: seen.append(set(t.observations)))
    records = _records(wood, 4)
    assert all(s == set(wood.names) and "Moth" not in s for s in seen)
    assert not [r for r in records if r.get("creature") == "Moth"]
    assert wood.ledger.total_pebbles() == start
    assert fin.submit("lend Moth 5 10 2").ok is False
    assert "Moth has left the wood (exiled)" in fin.submit("bribe Moth 5 sell acorns").message


def test_a_default_that_leaves_dearer_stores_writes_off_the_rest(scenario_key):
    scenario, cheapest = with_debtor(scenario_key)
    dear = max(scenario.goods, key=lambda g: g.price).name
    text = scenario.text.replace(f"stores = {{ {cheapest} = 1 }}", f"stores = {{ {dear} = 1 }}")
    scenario = parse_scenario(text, scenario.path, scenario.files)
    wood, _ = _wood(scenario_key, scenario=scenario, script={1: ["lend Moth 1 50 1"]})
    wood.policies["Moth"] = accepting_policy()
    records = _records(wood, 2)
    (default,) = _of(records, "loan", event="defaulted")
    # Owes 2, pays 1: its one unit is dearer than the 1 still owed, so nothing is seized.
    assert default["paid"] == 1 and default["seized"] == {} and default["written_off"] == 1
    assert "Moth" in wood.names and not _of(records, "exile")


def test_a_creature_owes_one_loan_at_a_time(scenario_key):
    wood, fin = _wood(scenario_key)
    who = wood.names[0]
    wood.policies[who] = accepting_policy()
    assert fin.submit(f"lend {who} 5 10 4").ok
    assert "already offered" in fin.submit(f"lend {who} 5 10 4").message
    _records(wood, 1)
    assert "already owes you" in fin.submit(f"lend {who} 5 10 4").message


# -- bribes ------------------------------------------------------------------------


def _maker(wood):
    """A creature and a good it makes and holds."""
    for n in wood.names:
        for g in wood.makes[n]:
            if wood.creatures[n].account.stores[g] > 0:
                return n, g
    raise AssertionError("no maker holds its good")


def test_the_standin_takes_a_bribe_and_complies_with_a_sell_ask(scenario_key):
    wood, fin = _wood(scenario_key)
    who, good = _maker(wood)
    price = wood.prices[good]
    assert fin.submit(f"bribe {who} {price} sell {good}").ok
    before = wood.memory.score(who, FINANCIER)
    records = _records(wood, 1)
    (answered,) = _of(records, "bribe", event="answered")
    assert answered["answer"] == "accept" and answered["paid"]
    (ruling,) = _of(records, "bribe", event="complied")
    assert ruling["creature"] == who and ruling["ask"] == f"sell {good}"
    sells = [o for o in _of(records, "order", creature=who) if o["side"] == "sell"]
    assert [o["good"] for o in sells][:1] == [good]
    assert sells[0]["price"] == max(1, price // 3, price // 2)
    assert wood.memory.score(who, FINANCIER) >= before + BRIBE_COMPLIED - 3  # fills may sour it


def test_the_standin_takes_the_pebbles_and_ignores_a_gossip_ask(scenario_key):
    wood, fin = _wood(scenario_key)
    who = wood.names[0]
    assert fin.submit(f"bribe {who} 3 gossip the harvest was poor").ok
    records = _records(wood, 1)
    assert _of(records, "bribe", event="answered")[0]["paid"] is True
    (ruling,) = _of(records, "bribe", event="ignored")
    assert ruling["measured"] == "gossip not passed on" and ruling["feeling"] == BRIBE_IGNORED
    assert fin.pebbles == 100 - 3


def test_a_cheap_bribe_buys_nothing_from_the_standin(scenario_key):
    wood, fin = _wood(scenario_key)
    who, good = _maker(wood)
    assert fin.submit(f"bribe {who} 1 hold {good}").ok
    records = _records(wood, 1)
    # It takes the pebble; the ask is worth less than one unit, so it trades as it would.
    ruling = _of(records, "bribe", creature=who)[-1]
    sold = [o for o in _of(records, "order", creature=who) if o["side"] == "sell"]
    assert ruling["event"] == ("ignored" if any(o["good"] == good for o in sold) else "complied")


@pytest.mark.parametrize("comply", [True, False])
def test_a_function_policy_takes_a_bribe_and_compliance_is_read_from_its_actions(
    scenario_key, comply
):
    wood, fin = _wood(scenario_key)
    who = wood.names[0]

    def bribed(obs: Observation) -> Action:
        answers = tuple(Answer("accept", o.id) for o in obs.offers)
        said = Gossip("all", "they say the harvest was poor" if comply else "lovely weather")
        return Action(gossip=said, answers=answers)

    from woodmarket.types import as_policy

    wood.policies[who] = as_policy(bribed)
    fin.submit(f"bribe {who} 4 gossip the harvest was poor")
    records = _records(wood, 1)
    (ruling,) = [r for r in _of(records, "bribe") if r["event"] in ("complied", "ignored")]
    assert ruling["event"] == ("complied" if comply else "ignored")
    delta = BRIBE_COMPLIED if comply else BRIBE_IGNORED
    assert wood.memory.score(who, FINANCIER) == delta


def test_a_declined_bribe_pays_nothing(scenario_key):
    wood, fin = _wood(scenario_key)
    who = wood.names[0]
    from woodmarket.types import as_policy

    wood.policies[who] = as_policy(_declining)
    fin.submit(f"bribe {who} 9 sell {wood.goods[0]}")
    records = _records(wood, 1)
    assert _of(records, "bribe", event="answered")[0]["answer"] == "decline"
    assert not [r for r in _of(records, "bribe") if r["event"] in ("complied", "ignored")]
    assert fin.pebbles == 100


# -- pacts -------------------------------------------------------------------------


def test_a_pact_forms_when_both_accept_and_allies_hear_each_other_first(scenario_key):
    wood, fin = _wood(scenario_key)
    a, b, c = wood.names[:3]
    from woodmarket.types import as_policy

    def talker(obs: Observation) -> Action:
        answers = tuple(Answer("accept", o.id) for o in obs.offers)
        return Action(gossip=Gossip(c, "a secret for you alone"), answers=answers)

    wood.policies[a] = as_policy(talker)
    wood.policies[b] = accepting_policy()
    wood.policies[c] = as_policy(lambda obs: Action(gossip=Gossip(b, "hello from me")))
    assert fin.submit(f"ally {a} {b}").ok
    assert "already offered" in fin.submit(f"ally {b} {a}").message
    records = _records(wood, 1)
    (formed,) = _of(records, "pact", event="formed")
    assert formed["creatures"] == [a, b] or formed["creatures"] == [b, a]
    assert wood.allies(a) == (b,) and wood.allies(b) == (a,)
    assert "allies already" in fin.submit(f"ally {a} {b}").message
    records = _records(wood, 1)
    (said,) = _of(records, "gossip", creature=a)
    assert set(said["listeners"]) == {c, b}  # b overhears its ally
    seen = []
    wood.listeners.append(lambda t: seen.append(t.observations[b]))
    _records(wood, 1)
    obs = seen[0]
    assert obs.allies == (a,)
    assert obs.heard[0].startswith(f"{a}:")  # the ally's line first
    assert any(line.startswith(f"{c}:") for line in obs.heard)
    assert obs.offers == () and obs.debts == ()


def test_a_refused_pact_is_not_made(scenario_key):
    wood, fin = _wood(scenario_key)
    a, b = wood.names[:2]
    from woodmarket.types import as_policy

    wood.policies[a] = accepting_policy()
    wood.policies[b] = as_policy(_declining)
    fin.submit(f"ally {a} {b}")
    records = _records(wood, 1)
    (refused,) = _of(records, "pact", event="refused")
    assert sorted(refused["answers"]) == ["accept", "decline"]
    assert wood.pacts == set()


def test_a_broken_pact_sours_both_on_each_other_and_on_the_financier(scenario_key):
    wood, fin = _wood(scenario_key)
    a, b = wood.names[:2]
    wood.policies[a] = accepting_policy()
    wood.policies[b] = accepting_policy()
    fin.submit(f"ally {a} {b}")
    _records(wood, 1)
    before = {(x, y): wood.memory.score(x, y) for x in (a, b) for y in (a, b, FINANCIER)}
    records = wood.step({a: Action(answers=(Answer("break", b),))}).records
    (broken,) = _of(records, "pact", event="broken")
    assert broken["by"] == a and wood.pacts == set()
    for x, y in ((a, b), (b, a)):
        assert wood.memory.score(x, y) <= before[(x, y)] - 20 + 2
        assert wood.memory.score(x, FINANCIER) <= before[(x, FINANCIER)] - 10 + 2


def test_the_standin_answers_a_pact_by_its_rule(scenario_key):
    wood, fin = _wood(scenario_key)
    a, b = wood.names[:2]
    fin.submit(f"ally {a} {b}")
    records = _records(wood, 1)
    assert _of(records, "pact", event="formed")
    wood.memory.feel(a, b, -30)  # now a is wary of b: it breaks the pact
    records = _records(wood, 1)
    assert _of(records, "pact", event="broken", by=a)


# -- the command language -------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("lend", "usage: lend CREATURE AMOUNT RATE TURNS"),
        ("lend {c} 0 10 3", "amount must be a whole number >= 1"),
        ("lend {c} 10 x 3", "rate must be a whole number >= 0"),
        ("lend {c} 10 51 3", "above this wood's limit of 50%"),
        ("lend {c} 10 5 11", "above this wood's limit of 10"),
        ("lend {c} 500 5 3", "not enough pebbles: lending 500 needs 500; you have 100 free"),
        ("lend Nobody 10 5 3", "unknown creature 'Nobody'"),
        ("bribe {c} 5", "usage: bribe CREATURE AMOUNT"),
        ("bribe {c} 5 dance", "the ask is `sell GOOD`, `hold GOOD` or `gossip TEXT`"),
        ("bribe {c} 5 sell", "usage: sell GOOD"),
        ("bribe {c} 5 sell gold", "unknown good 'gold'"),
        ("bribe {c} 5 gossip", "a gossip ask needs the words to pass on"),
        ("bribe {c} 5 gossip " + "x" * 81, "at most 80 characters"),
        ("bribe {c} 101 hold {g}", "not enough pebbles: a bribe of 101 needs 101"),
        ("ally {c}", "usage: ally CREATURE CREATURE"),
        ("ally {c} {c}", "a pact needs two different creatures"),
    ],
)
def test_patron_commands_are_refused_with_reasons(scenario_key, line, message):
    wood, fin = _wood(scenario_key)
    out = fin.submit(line.format(c=wood.names[0], g=wood.goods[0]))
    assert not out.ok and message in out.message, out.message


def test_offers_hold_pebbles_like_margin(scenario_key):
    wood, fin = _wood(scenario_key)
    a, b = wood.names[:2]
    assert fin.submit(f"lend {a} 60 5 3").ok
    assert fin.free_pebbles() == 40
    assert "you have 40 free" in fin.submit(f"bribe {b} 41 hold {wood.goods[0]}").message


def test_a_resentful_creature_will_not_deal(scenario_key):
    wood, fin = _wood(scenario_key)
    who = wood.names[0]
    wood.memory.feel(who, FINANCIER, -60)
    for line in (f"lend {who} 5 5 3", f"bribe {who} 5 hold {wood.goods[0]}"):
        assert "will not deal with you" in fin.submit(line).message


# -- the ledger through every path (property) -------------------------------------------

MOVES = st.lists(
    st.tuples(
        st.sampled_from(["lend", "bribe", "ally", "short", "cover"]),
        st.integers(0, 5),
        st.integers(0, 5),
        st.integers(1, 60),
        st.integers(0, 60),
        st.integers(1, 4),
    ),
    max_size=6,
)


def _line(wood, move):
    verb, i, j, amount, rate, turns = move
    names = wood.scenario.creature_names
    goods = wood.goods
    who, other = names[i % len(names)], names[j % len(names)]
    good = goods[(i + j) % len(goods)]
    if verb == "lend":
        return f"lend {who} {amount} {rate} {turns}"
    if verb == "bribe":
        ask = ("sell", "hold", "gossip")[turns % 3]
        return f"bribe {who} {amount} {ask} {good if ask != 'gossip' else 'prices fall'}"
    if verb == "ally":
        return f"ally {who} {other}"
    if verb == "short":
        return f"short {good} {1 + amount % 10}"
    return f"cover {good}"


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.data(),
    seed=st.integers(0, 10_000),
    key=st.sampled_from(["oona", "reedmere"]),
)
def test_the_ledger_holds_through_loans_defaults_seizures_fines_and_exile(data, seed, key):
    scenario = with_strict_magistrate(key, fine_at=5, freeze_at=30)
    wood, fin = _wood(key, seed=seed, scenario=scenario)
    rng = __import__("random").Random(seed)

    def whim(obs: Observation) -> Action:
        answers = tuple(Answer(rng.choice(["accept", "decline"]), o.id) for o in obs.offers)
        breaks = tuple(Answer("break", a) for a in obs.allies if rng.random() < 0.2)
        sells = tuple(
            Order(obs.creature, "sell", g, min(n, obs.max_qty), obs.bands[g][0])
            for g, n in obs.stores.items()
            if n and rng.random() < 0.3
        )[: obs.max_orders]
        return Action(orders=sells, answers=answers + breaks)

    from woodmarket.types import as_policy

    for n in data.draw(st.lists(st.sampled_from(wood.names), max_size=4, unique=True)):
        wood.policies[n] = as_policy(whim)
    wood.policies["Moth"] = accepting_policy()
    fin.submit("lend Moth 5 50 4")
    legend = wood.scenario.legends[0]
    fin.submit(f"short {legend.target} 5")
    fin.submit(f"spring {legend.id} settle")
    start = wood.ledger.start_pebbles
    records = []
    for _ in range(8):
        for move in data.draw(MOVES):
            fin.submit(_line(wood, move))
        t = wood.step()  # the ledger checks conservation at every turn's end
        records += t.records
        for name, acct in wood.ledger.accounts.items():
            assert name == "house" or acct.pebbles >= 0
            assert all(n >= 0 for n in acct.stores.values())
        assert all(ln.owed >= 0 for ln in fin.patron.loans)
        assert set(t.observations) - set(wood.exiled) == set(wood.names)
        assert not set(wood.exiled) & set(wood.creatures)
    assert wood.ledger.total_pebbles() == start
    for kind, ev in (("exile", None), ("loan", "defaulted"), ("magistrate", "fined")):
        event(f"{kind} {ev or ''}: {bool(_of(records, kind, **({'event': ev} if ev else {})))}")
    # Every exile follows a default that left debt after emptying the debtor's stores.
    for ex in _of(records, "exile"):
        (default,) = _of(records, "loan", event="defaulted", creature=ex["creature"])
        assert default["turn"] == ex["turn"] and default["written_off"] == ex["owed"] > 0
        assert not any(wood.ledger.accounts[ex["creature"]].stores.values())
        later = [
            r for r in records if r["turn"] > ex["turn"] and r.get("creature") == ex["creature"]
        ]
        assert later == []


# -- traces and replay ----------------------------------------------------------------


def test_a_patron_run_replays_exactly_and_every_new_kind_is_checked(tmp_path, scenario_key):
    scenario, _ = with_debtor(scenario_key)
    text = scenario.text.replace("fine_at = 40", "fine_at = 20")
    spec = RunSpec.make(
        parse_scenario(text, scenario.path, scenario.files), seed=4, turns=6, financier=True
    )
    wood = build(spec)
    wood.policies["Moth"] = accepting_policy()
    fin: Financier = wood.financier
    a, b = wood.names[:2]
    who, good = _maker(wood)
    legend = wood.scenario.legends[0]
    fin.add_script(
        {
            1: [
                "lend Moth 5 50 2",
                f"ally {a} {b}",
                f"bribe {who} 20 sell {good}",
                f"short {legend.target} 6",
                f"whisper {a} {legend.id}",
            ],
            2: [f"spring {legend.id} settle", f"lend {_thin(wood)} 10 10 2"],
        },
        "player",
    )
    out = tmp_path / "run"
    run(spec, out, wood=wood)
    records = [json.loads(line) for line in (out / TRACE).read_text().splitlines()]
    kinds = {r["kind"] for r in records}
    assert set(NEW_KINDS) <= kinds, set(NEW_KINDS) - kinds
    report = replay(out)
    assert report.passed, report.line()
    for kind in NEW_KINDS:
        edited = [dict(r) for r in records]
        i = next(k for k, r in enumerate(edited) if r["kind"] == kind)
        numbers = [f for f, v in edited[i].items() if type(v) is int and f != "turn"]
        field = numbers[0] if numbers else "event"
        edited[i][field] = edited[i][field] + 1 if numbers else "forged"
        bad = tmp_path / f"bad-{kind}"
        bad.mkdir()
        for f in out.iterdir():
            (bad / f.name).write_bytes(f.read_bytes())
        (bad / TRACE).write_text("".join(json.dumps(r) + "\n" for r in edited))
        report = replay(bad)
        assert not report.passed and kind in report.line(), (kind, report.line())


def test_a_loan_to_a_standin_replays_from_run_json(tmp_path, scenario_key):
    spec = RunSpec.make(scenario_key, seed=2, turns=5, financier=True)
    wood = build(spec)
    fin: Financier = wood.financier
    fin.add_script(
        {1: [f"lend {_thin(wood)} 10 10 2", f"ally {wood.names[0]} {wood.names[1]}"]}, "player"
    )
    out = tmp_path / "run"
    run(spec, out, wood=wood)
    assert replay(out).passed


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    seed=st.integers(0, 10_000),
    key=st.sampled_from(["oona", "reedmere"]),
)
def test_random_patron_games_replay_exactly(data, seed, key):
    import tempfile
    from pathlib import Path

    scenario = with_strict_magistrate(key, fine_at=5, freeze_at=25)
    spec = RunSpec.make(scenario, seed=seed, turns=7, financier=True)
    wood = build(spec)
    wood.policies["Moth"] = accepting_policy()
    legend = wood.scenario.legends[0]
    moves = {1: ["lend Moth 5 50 3", f"short {legend.target} 5", f"spring {legend.id} settle"]}
    for turn in range(1, 7):
        moves.setdefault(turn, []).extend(_line(wood, m) for m in data.draw(MOVES))
    wood.financier.add_script(moves, "player")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        run(spec, out, wood=wood)
        report = replay(out)
        assert report.passed, report.line()


# -- a model answers through its grammar ------------------------------------------


def _model(reply):
    from woodmarket.backends.fake import FunctionBackend
    from woodmarket.policies.llm import LLMPolicy

    return LLMPolicy(FunctionBackend(reply), "fake", "fake")


@pytest.mark.parametrize("word", ["accept", "decline"])
def test_a_model_answers_a_loan_with_a_line_its_grammar_admits(scenario_key, word):
    wood, fin = _wood(scenario_key)
    who = wood.names[0]
    requests = []

    def reply(request):
        requests.append(request)
        return f"{word} L1\nhold" if "Offer L1" in request.user else "hold"

    wood.policies[who] = _model(reply)
    fin.submit(f"lend {who} 12 10 3")
    records = _records(wood, 2)
    (answered,) = _of(records, "loan", event="answered")
    assert answered["answer"] == word and answered["made"] == (word == "accept")
    first, second = requests
    assert "Offer L1: the financier lends you 12 pebbles; you repay 18 at turn 4" in first.user
    assert 'root ::= ("accept" | "decline") " L1\\n" (' in first.grammar
    if word == "accept":
        assert "You owe the financier 12; 18 due at turn 4" in second.user
    assert "accept" not in second.grammar  # no offer pending, no answer line
    (decision,) = [r for r in records if r["kind"] == "decision" and r["creature"] == who][:1]
    assert decision["answers"] == [{"word": word, "ref": "L1"}]


@pytest.mark.parametrize("comply", [True, False])
def test_a_model_takes_a_bribe_and_its_compliance_is_measured(scenario_key, comply):
    wood, fin = _wood(scenario_key)
    who, good = _maker(wood)
    price = wood.prices[good]

    def reply(request):
        if "Offer B1" not in request.user:
            return "hold"
        return f"accept B1\n{f'sell 1 {good} {price}' if comply else 'hold'}"

    wood.policies[who] = _model(reply)
    fin.submit(f"bribe {who} {price} sell {good}")
    records = _records(wood, 1)
    (ruling,) = [r for r in _of(records, "bribe") if r["event"] in ("complied", "ignored")]
    assert ruling["event"] == ("complied" if comply else "ignored")
    assert fin.pebbles == 100 - price


def test_answer_lines_parse_render_and_fit_the_budget(scenario_key):
    from woodmarket.policies.grammar import answer_chars
    from woodmarket.policies.parse import parse, render

    wood, fin = _wood(scenario_key)
    a, b = wood.names[:2]
    wood.policies[a] = accepting_policy()
    wood.policies[b] = accepting_policy()
    fin.submit(f"ally {a} {b}")
    _records(wood, 1)
    fin.submit(f"lend {a} 5 10 2")
    fin.submit(f"bribe {a} 3 hold {wood.goods[0]}")
    seen = []
    wood.listeners.append(lambda t: seen.append(t.observations[a]))
    _records(wood, 1)
    obs = seen[0]
    ids = [o.id for o in obs.offers]
    assert len(ids) == 2 and obs.allies == (b,)
    action = parse(f"Accept {ids[0]}.\ndecline {ids[1]}\nbreak {b.lower()}\nhold", obs)
    assert [(x.word, x.ref) for x in action.answers] == [
        ("accept", ids[0]),
        ("decline", ids[1]),
        ("break", b),
    ]
    assert action.valid and parse(render(action), obs) == action
    odd = parse("accept Z9\naccept " + ids[0] + "\naccept " + ids[0] + "\nhold", obs)
    assert [x.ref for x in odd.answers] == [ids[0]]
    assert "no offer 'Z9'" in odd.reason and "second answer" in odd.reason
    longest = f"decline {ids[0]}\ndecline {ids[1]}\nbreak {b}\nhold"
    assert answer_chars(obs, talk="none", thoughts=False) >= len(longest)
