"""The report: Table 1 with its uncertainty, from a sweep's outcomes (its rows and notes).

Per world: the target's reference price before the legend and at its
settlement, and the gambit's P&L, each as mean ± sample sd; a 95%
confidence interval of the mean P&L; wins (P&L > 0) of n; forced, the
runs in which the house force-covered the short (a margin call), of n; the effective
n (distinct runs: runs whose decisions and model responses differ, clock
readings aside); and the paired effect on P&L against the same cast's
`none` arm (seed by seed: common random numbers), with its 95% CI.

The intervals, paired effects and the agreement rule are stats.py's; the
terminal table, Markdown and CSV are render.py's.

The patron's levers: when a gambit offers bribes or loans, a second table
gives, per world, the bribes taken and complied with (of those offered,
summed over seeds), the units a creature bribed to `sell` put up for sale
and sold on the bribed turns, loans taken, defaults and exiles (sums), and
the magistrate's peak heat and fines (mean ± sd per run). Read with the
first table's target price at settlement: a bribe that buys a dump moves
that price; one that only buys selling does not.

Replicas: when a world's runs do not all differ (effective n below n, as at
temperature 0), its intervals are false precision; the table marks the row
and says so below it.

A move arm (a world with moves of its own from the fork's turn) is paired
with the same world without them, so its effect is the intervention's.

Forks: a sweep forked at turn K adds a table of the paired effects from
the forked arms (every arm's turns before K its trunk's) beside the same
effects from arms run whole on the same seeds (`--compare-fresh`), with
each CI's width, and the model calls forking saved: the trunks made the
prefix's calls once, where each arm run whole makes them again. Forked
arms share their trunk's randomness: a paired difference isolates what
changes from K, it is not more independent data; and where runs repeat
themselves (serial sampling, the stand-in) arms run whole already share
their history up to where they first differ, so forking narrows nothing
there. Both are said below the table.

This room only computes; it runs nothing, reads no file and formats no table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from woodmarket.experiments.stats import BOOTSTRAP, FLAGGED, Stat, agreement, paired
from woodmarket.experiments.worlds import World
from woodmarket.rules import MECHANISMS
from woodmarket.types import Sampling


@dataclass
class Row:
    """One world's line of the table."""

    world: World
    seeds: list[int]
    before: Stat
    at: Stat
    pnl: Stat
    wins: int
    distinct: int
    effect: Stat | None  # paired P&L effect against the control arm (None for the control)
    paired: int = 0  # seeds in the paired effect
    agreement: str = ""
    calls: int = 0
    prompt_tokens: int = 0
    generated_tokens: int = 0
    wall_s: float = 0.0
    settle_holds: tuple[int, int] | None = None  # (seeds where price = factor x pre, of n)
    pnl_values: list[float] = field(default_factory=list)
    levers: dict[str, int] = field(default_factory=dict)  # the patron's counts, summed over seeds
    offered: Stat | None = None  # units a bribed creature put up for sale, per run
    sold: Stat | None = None
    heat: Stat | None = None  # the magistrate's peak heat, per run
    fined: Stat | None = None
    forced: int = 0  # runs in which the house force-covered a short

    @property
    def n(self) -> int:
        return len(self.seeds)

    @property
    def replicas(self) -> bool:
        return self.n > 1 and self.distinct < self.n


@dataclass(frozen=True)
class ForkSetup:
    """What the report is told of a forked sweep: the turn, whether each world forks from
    its control's trunk, the trunks' and fresh arms' outcomes, whether fresh arms were
    asked for, and whether its runs repeat themselves (serial sampling, the stand-in)."""

    at: int
    shared: Mapping[str, bool]
    others: Sequence[Mapping[str, Any]]
    fresh: bool
    reproducible: bool


@dataclass
class ForkRow:
    """One world's paired effect from forked arms and from arms run whole, same seeds."""

    world: World
    shared: bool  # the world and its control fork from one trunk
    forked: Stat
    fresh: Stat | None


@dataclass
class Forks:
    """A forked sweep's comparison and savings."""

    at: int
    rows: list[ForkRow]
    trunks: int  # trunk runs
    trunk_calls: int  # model calls the trunks made, once each
    prefix_calls: int  # calls the arms' prefixes hold, rebuilt from the trunks without a model
    arm_calls: int  # calls the arms made from turn K
    fresh_calls: int | None  # calls the arms run whole made, when they ran
    rebuilt_turns: int  # arms x (K-1): turns made from a record, not run
    trunk_turns: int
    notes: list[str]
    fresh: bool = False  # the arms were also run whole

    @property
    def saved(self) -> int:
        """Calls a sweep of whole arms would make that this one did not."""
        return self.prefix_calls - self.trunk_calls


@dataclass
class Report:
    title: list[str]
    target: str
    rows: list[Row]
    notes: list[str]
    by_mechanism: list[tuple[str, Stat | None, list[tuple[str, Stat | None, str]]]]
    forks: Forks | None = None


def runs_by_world(
    outcomes: Sequence[Mapping[str, Any]], need: Sequence[str] = ("pnl",)
) -> dict[str, dict[int, Mapping[str, Any]]]:
    """Runs that have every figure in `need` (a P&L, by default), by world label, then seed."""
    out: dict[str, dict[int, Mapping[str, Any]]] = {}
    for o in outcomes:
        if all(o.get(k) is not None for k in need):
            out.setdefault(str(o["world"]), {})[int(o["seed"])] = o
    return out


def build_report(
    outcomes: Sequence[Mapping[str, Any]],
    worlds: Sequence[World],
    *,
    gambit: Any,
    gambit_name: str,
    scenario: str,
    turns: int,
    sampling: Sampling,
    live: frozenset[str] = frozenset(),
    factor: Any = None,
    forked: ForkSetup | None = None,
) -> Report:
    """Table 1 from outcomes (dicts with world, seed, before, at_settlement, pnl, ...);
    with `forked`, the forks' table too."""
    from woodmarket.legends import settle_price

    found = runs_by_world(outcomes)
    by_world = {w.label: found.get(w.label, {}) for w in worlds}
    rows: dict[str, Row] = {}
    for w in worlds:
        runs = [by_world[w.label][s] for s in sorted(by_world[w.label])]
        pnl = [float(r["pnl"]) for r in runs]
        row = Row(
            world=w,
            seeds=[int(r["seed"]) for r in runs],
            before=Stat.of([r["before"] for r in runs], 0),
            at=Stat.of([r["at_settlement"] for r in runs], 0),
            pnl=Stat.of(pnl),
            wins=sum(x > 0 for x in pnl),
            distinct=len({r.get("behaviour") for r in runs}),
            effect=None,
            calls=sum(r.get("calls", 0) for r in runs),
            prompt_tokens=sum(r.get("prompt_tokens", 0) for r in runs),
            generated_tokens=sum(r.get("generated_tokens", 0) for r in runs),
            wall_s=sum(r.get("wall_s", 0.0) for r in runs),
            pnl_values=pnl,
            levers={k: sum(int(r.get(k) or 0) for r in runs) for k in LEVER_COUNTS},
            offered=Stat.of([r.get("asked_offered") or 0 for r in runs], 0),
            sold=Stat.of([r.get("asked_sold") or 0 for r in runs], 0),
            heat=Stat.of([r.get("heat") or 0 for r in runs], 0),
            fined=Stat.of([r.get("fined") or 0 for r in runs], 0),
            forced=sum(bool(r.get("forced_covers")) for r in runs),
        )
        if w.mechanism == "settle" and factor is not None and not w.arm:  # (its moves decide)
            ok = sum(r["at_settlement"] == settle_price(r["before"], factor) for r in runs)
            row.settle_holds = (ok, len(runs))
        control = by_world.get(w.control.label)
        if w.control != w and control:
            row.effect, row.paired = paired(by_world[w.label], control)
        rows[w.label] = row
    # Agreement: each model world against the stand-in's world of the same mechanism.
    by_mech: list[tuple[str, Stat | None, list[tuple[str, Stat | None, str]]]] = []
    for mech in MECHANISMS:
        stand = next(
            (
                r
                for r in rows.values()
                if r.world.is_standin and r.world.mechanism == mech and not r.world.arm
            ),
            None,
        )
        others = []
        for r in rows.values():
            if r.world.is_standin or r.world.mechanism != mech:
                continue
            same = next(
                (
                    s
                    for s in rows.values()
                    if s.world.is_standin
                    and s.world.mechanism == mech
                    and s.world.short == r.world.short
                    and s.world.arm == r.world.arm
                ),
                None if r.world.arm else stand,
            )
            r.agreement = agreement(same.effect if same else None, r.effect)
            others.append((r.world.label, r.effect, r.agreement))
        if stand is not None or others:
            by_mech.append((mech, stand.effect if stand else None, others))
    target = getattr(gambit, "target", "") or gambit.the_legend().target
    seeds = sorted({s for r in rows.values() for s in r.seeds})
    title = [
        f"Table 1: the {gambit_name} gambit across {len(worlds)} worlds",
        f"  {scenario}, {turns} turns; legend sprung on turn {gambit.spring_turn}, "
        f"settlement on turn {gambit.reckoning}; {target} is the target",
        f"  seeds {_span(seeds)} (the same seeds in every world: common random numbers)",
        f"  mean ± sd; 95% CI: percentile bootstrap over seeds ({BOOTSTRAP} resamples)",
        "  effect: P&L minus the same cast's none arm"
        + (" (a move arm: minus its world without the moves)" if any(w.arm for w in worlds) else "")
        + ", seed by seed; n (eff): distinct runs",
    ]
    if live:
        mode = "one at a time (reproducible)" if sampling.serial else "in parallel slots"
        knobs = ", ".join(f"{k.replace('_', '-')} {v:g}" for k, v in sampling.knobs().items())
        title.append(f"  model casts sample at {knobs}, asked {mode}")
    forks = None
    if forked is not None:
        title.append(
            f"  arms forked at turn {forked.at}: {_before(forked.at)} their trunk's (run once "
            "per seed), byte for byte; the table of forks is below"
        )
        forks = _forks(list(rows.values()), by_world, forked)
    notes = _notes(list(rows.values()), sampling.temperature, live)
    return Report(title, target, list(rows.values()), notes, by_mech, forks)


def _before(at: int) -> str:
    return "turn 1 is" if at == 2 else f"turns 1 to {at - 1} are"


def _forks(
    rows: list[Row], forked_runs: Mapping[str, Mapping[int, Mapping[str, Any]]], setup: ForkSetup
) -> Forks:
    """Each effect from the forked arms and from the fresh ones on the same seeds; the calls."""
    roles: dict[str, list[Mapping[str, Any]]] = {"trunk": [], "fresh": []}
    for o in setup.others:
        roles.setdefault(str(o.get("role", "")), []).append(o)
    fresh = runs_by_world(roles["fresh"])
    out = []
    for r in rows:
        w = r.world
        mine, control = forked_runs.get(w.label, {}), forked_runs.get(w.control.label, {})
        if w.control == w or not control:
            continue
        seeds = set(mine) & set(control)
        whole, whole_control = fresh.get(w.label, {}), fresh.get(w.control.label, {})
        if whole and whole_control:
            seeds &= set(whole) & set(whole_control)
        effect, _ = paired(mine, control, sorted(seeds))
        other = paired(whole, whole_control, sorted(seeds))[0] if whole and whole_control else None
        out.append(ForkRow(w, bool(setup.shared.get(w.label)), effect, other))
    arms = [o for runs in forked_runs.values() for o in runs.values()]
    trunks, whole_runs = roles["trunk"], roles["fresh"]
    forks = Forks(
        at=setup.at,
        rows=out,
        trunks=len(trunks),
        trunk_calls=sum(int(o.get("calls") or 0) for o in trunks),
        prefix_calls=sum(int(o.get("prefix_calls") or 0) for o in arms),
        arm_calls=sum(int(o.get("calls") or 0) for o in arms),
        fresh_calls=sum(int(o.get("calls") or 0) for o in whole_runs) if whole_runs else None,
        rebuilt_turns=len(arms) * (setup.at - 1),
        trunk_turns=len(trunks) * (setup.at - 1),
        notes=[],
        fresh=setup.fresh,
    )
    forks.notes = _fork_notes(forks, setup)
    return forks


def _fork_notes(forks: Forks, setup: ForkSetup) -> list[str]:
    at = setup.at
    notes = [
        "forked arms share their trunk's randomness: a paired difference isolates what changes "
        f"from turn {at}; it is not more independent data (n is still the seeds)"
    ]
    if setup.reproducible:
        notes.append(
            "this sweep's runs repeat themselves (serial sampling, or the stand-in): arms run "
            "whole already share their history up to where they first differ (a mechanism's: "
            "up to the spring), so expect no narrower CI from forking here; it saves the "
            "prefix's model calls"
        )
    for r in forks.rows:
        if not r.shared:
            notes.append(
                f"{r.world.label} forks from another trunk than {r.world.control.label} (the "
                f"legend is told before turn {at}, so each mechanism has its own): this paired "
                "effect shares no history"
            )
    if not setup.fresh:
        notes.append(
            "fresh widths: run the same sweep with --compare-fresh (each arm also run whole "
            "on the same seeds, in fresh/)"
        )
    return notes


LEVER_COUNTS = (
    "bribes", "bribes_taken", "bribes_complied", "loans", "loans_taken", "defaults", "exiles",
)  # fmt: skip


def has_levers(rep: Report) -> bool:
    """Whether any run of the report offered a bribe or a loan."""
    return any(r.levers.get("bribes") or r.levers.get("loans") for r in rep.rows)


def _notes(rows: list[Row], temperature: float, live: frozenset[str]) -> list[str]:
    notes = []
    for r in rows:
        if r.replicas:
            greedy = r.world.cast in live and not temperature
            why = " (temperature 0: greedy decoding)" if greedy else ""
            notes.append(
                f"! {r.world.label}: only {r.distinct} distinct runs of {r.n}{why}; its runs are "
                "replicas and its sd and CIs are false precision"
            )
        if r.n == 1:
            notes.append(f"! {r.world.label}: one seed; no interval (an anecdote, not a result)")
        if r.settle_holds and r.settle_holds[0] != r.settle_holds[1]:
            notes.append(
                f"! {r.world.label}: the settlement price is the legend's factor x the "
                f"pre-settlement reference in only {r.settle_holds[0]} of {r.settle_holds[1]} seeds"
            )
    flagged = [r for r in rows if r.agreement in FLAGGED]
    for r in flagged:
        notes.append(
            f"! {r.world.label}: the stand-in's effect under {r.world.mechanism} does not hold "
            f"for this cast ({r.agreement}): a stand-in-only result is not a result"
        )
    return notes


def _span(seeds: Sequence[int]) -> str:
    if not seeds:
        return "none"
    if list(seeds) == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}..{seeds[-1]} (n={len(seeds)})"
    return ", ".join(map(str, seeds))
