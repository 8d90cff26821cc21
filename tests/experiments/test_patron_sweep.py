"""The patron gambit's row in a sweep: the levers counted from traces, against the wood's own books.

Every test runs on both bundled scenarios. The counts a sweep reports
(bribes taken and complied with, what the bribed keeper put up for sale
and sold, the magistrate's heat and fines, loans, defaults and exiles) are
checked against what the wood itself holds after the same spec is stepped
by hand: the financier's patron and magistrate, and each turn's accepted
orders and fills as objects, never the records the sweep counted.
"""

from __future__ import annotations

import pytest
from patronkit import accepting_policy, with_debtor
from sweepkit import cast_file

from woodmarket.build import build
from woodmarket.experiments import Plan, execute, recorded, report_of
from woodmarket.experiments.record import Levers, Outcome
from woodmarket.experiments.render import render_csv, render_markdown, render_text
from woodmarket.experiments.report import has_levers
from woodmarket.experiments.worlds import World
from woodmarket.financier import Financier
from woodmarket.spec import RunSpec
from woodmarket.wood import Wood

TURNS = 4
SEEDS = range(3)
WORLDS = [World("standin", "rumor"), World("standin", "settle")]


def by_hand(key: str, world: str, seed: int) -> dict[str, int]:
    """The patron gambit stepped directly: the levers as the wood's own books have them."""
    spec = RunSpec.make(key, gambit="patron", mechanism=world, seed=seed, turns=TURNS)
    wood = build(spec)
    fin = wood.financier
    heat = offered = sold = 0
    try:
        for _ in range(TURNS):
            t = wood.step()
            heat = max(heat, fin.heat)
            asked = {
                (b.creature, b.ask.what)
                for b in fin.patron.bribes
                if b.turn == t.turn and b.taken and b.ask.verb == "sell"
            }
            offered += sum(
                o.qty for o in t.accepted if o.side == "sell" and (o.creature, o.good) in asked
            )
            sold += sum(f.qty for f in t.fills if (f.seller, f.good) in asked)
    finally:
        wood.close()
    bribes = fin.patron.bribes
    return {
        "bribes": len(bribes),
        "bribes_taken": sum(b.taken for b in bribes),
        "bribes_complied": sum(bool(b.complied) for b in bribes),
        "asked_offered": offered,
        "asked_sold": sold,
        "heat": heat,
        "fined": fin.judge.fined,
    }


@pytest.fixture(scope="module", params=["oona", "reedmere"])
def patron_sweep(request, tmp_path_factory):
    key = request.param
    out = tmp_path_factory.mktemp(f"patron-{key}") / "sweep"
    plan = Plan.make(key, gambit="patron", worlds=WORLDS, seeds=SEEDS, turns=TURNS)
    result = execute(plan, out, workers=1, progress=False)
    return key, plan, result, out


def test_the_sweep_counts_the_levers_the_wood_books(patron_sweep):
    key, _, result, _ = patron_sweep
    assert len(result.outcomes) == len(SEEDS) * 3  # the none arm is added
    for o in result.outcomes:
        want = by_hand(key, o["world"].split(":")[1], int(o["seed"]))
        got = {k: o[k] for k in want}
        assert got == want, (o["world"], o["seed"])
        # The patron gambit bribes on two turns; the stand-in keeper takes and does both.
        assert o["bribes"] == 2 and o["bribes_taken"] == 2 and o["bribes_complied"] == 2
        assert o["asked_offered"] > 0 and 0 <= o["asked_sold"] <= o["asked_offered"]
        assert o["loans"] == o["loans_taken"] == o["defaults"] == o["exiles"] == 0


def test_the_settle_world_draws_heat_the_rumor_does_not_draw_as_much(patron_sweep):
    _, _, result, _ = patron_sweep
    heat: dict[str, list[int]] = {}
    for o in result.outcomes:
        heat.setdefault(o["world"], []).append(o["heat"])
    # A spring and a bribe behind the settlement's win: both levers count against it.
    assert min(heat["standin:settle"]) > max(heat["standin:rumor"])


def test_the_report_has_a_levers_table_that_sums_the_runs(patron_sweep):
    _, plan, result, _ = patron_sweep
    rep = report_of(plan, result.outcomes)
    assert has_levers(rep)
    for row in rep.rows:
        runs = [o for o in result.outcomes if o["world"] == row.world.label]
        assert row.levers["bribes_taken"] == sum(o["bribes_taken"] for o in runs)
        assert row.sold is not None and row.sold.mean == pytest.approx(
            sum(o["asked_sold"] for o in runs) / len(runs)
        )
    text = render_text(rep)
    assert "The patron's levers" in text
    below = text[text.index("The patron's levers") :].splitlines()
    settle = next(ln for ln in below if ln.startswith("standin:settle"))
    assert f"{2 * len(SEEDS)}/{2 * len(SEEDS)}" in settle
    assert "The patron's levers" in render_markdown(rep)
    header, *lines = render_csv(rep).splitlines()
    cols = header.split(",")
    for line in lines:
        cells = dict(zip(cols, line.split(","), strict=True))
        assert int(cells["bribes"]) == 2 * len(SEEDS)


def test_replay_recounts_the_same_levers_from_the_traces(patron_sweep):
    _, _, result, out = patron_sweep
    _, again = recorded(out)
    keep = (*Levers.FIELDS, "world", "seed")
    assert sorted(
        [{k: o[k] for k in keep} for o in again], key=lambda o: (o["world"], o["seed"])
    ) == sorted(
        [{k: o[k] for k in keep} for o in result.outcomes], key=lambda o: (o["world"], o["seed"])
    )


def test_a_cast_that_never_answers_takes_no_bribe_and_the_showcase_has_no_levers_table(tmp_path):
    holders = cast_file(tmp_path, "sweepfakes:Holder")
    plan = Plan.make("oona", gambit="patron", worlds=[World(holders, "rumor")], seeds=range(2))
    result = execute(plan, tmp_path / "p", workers=1, progress=False)
    assert {o["bribes"] for o in result.outcomes} == {2}
    assert {o["bribes_taken"] for o in result.outcomes} == {0}
    assert {o["asked_offered"] for o in result.outcomes} == {0}
    rep = report_of(plan, result.outcomes)
    assert has_levers(rep) and "0/4" in render_text(rep)
    plain = Plan.make("oona", gambit="showcase", worlds=[World("standin", "rumor")], seeds=[0])
    shown = report_of(plain, execute(plain, tmp_path / "s", workers=1, progress=False).outcomes)
    assert not has_levers(shown) and "The patron's levers" not in render_text(shown)


def test_loans_defaults_and_exiles_are_counted_as_the_books_have_them(scenario_key):
    """A loan to a debtor with one cheap unit and no pebbles: taken, defaulted, exiled."""
    scenario, _ = with_debtor(scenario_key)
    wood = Wood(scenario, 0)
    lender = wood.names[0]
    fin = Financier.attach(wood, script={1: ["lend Moth 5 50 2", f"lend {lender} 2 1 1"]})
    wood.policies["Moth"] = wood.policies[lender] = accepting_policy()
    acc = Outcome(RunSpec.make(scenario_key, gambit="patron").gambit_of())
    for _ in range(4):
        acc(wood.step())
    n, loans = acc.levers.result(), fin.patron.loans
    assert n["loans"] == len(loans) == 2
    assert n["loans_taken"] == 2
    assert n["defaults"] == sum(ln.state == "defaulted" for ln in loans) == 1
    assert n["exiles"] == len(wood.exiled) == 1 and wood.exiled == ["Moth"]
    assert n["bribes"] == n["heat"] == n["fined"] == 0
