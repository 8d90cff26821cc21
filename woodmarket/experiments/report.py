"""The report: Table 1 with its uncertainty, from a sweep's outcomes (terminal, Markdown, CSV).

Per world: the target's reference price before the legend and at its
settlement, and the gambit's P&L, each as mean ± sample sd; a 95%
confidence interval of the mean P&L; wins (P&L > 0) of n; forced, the
runs in which the house force-covered the short (a margin call), of n; the effective
n (distinct runs: runs whose decisions and model responses differ, clock
readings aside); and the paired effect on P&L against the same cast's
`none` arm (seed by seed: common random numbers), with its 95% CI.

Confidence intervals are percentile bootstrap intervals over seeds
(`BOOTSTRAP` resamples, seeded, so the same outcomes give the same table);
for the paired effect the seeds are resampled together, i.e. the bootstrap
runs over the per-seed differences.

Agreement (the article's third lesson: a result that holds only under the
stand-in is not a result). Per mechanism, the stand-in's paired effect is
compared with each model cast's, by their CIs:
- `agree`: both CIs exclude zero on the same side, or both include zero;
- `stand-in only`: the stand-in's CI excludes zero, the models' includes it;
- `models only`: the models' CI excludes zero, the stand-in's includes it;
- `opposite`: both exclude zero, on opposite sides.
`stand-in only` and `opposite` are flagged (!): an effect the stand-in shows
and the models do not. Without a stand-in world of that mechanism, `n/a`.

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

This room only computes and formats; it runs nothing and reads no file.
"""

from __future__ import annotations

import csv
import io
import math
import random
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from woodmarket.experiments.record import Levers
from woodmarket.experiments.worlds import World
from woodmarket.rules import MECHANISMS
from woodmarket.types import Sampling

BOOTSTRAP = 4000
BOOTSTRAP_SEED = 20260608  # the article's date: any fixed seed does
AGREE, STANDIN_ONLY, MODELS_ONLY, OPPOSITE, NA = (
    "agree",
    "stand-in only",
    "models only",
    "opposite",
    "n/a",
)
FLAGGED = (STANDIN_ONLY, OPPOSITE)


@dataclass(frozen=True, slots=True)
class Stat:
    """A sample's mean, sd, and a 95% percentile-bootstrap CI of its mean."""

    n: int
    mean: float
    sd: float
    lo: float
    hi: float

    @classmethod
    def of(cls, xs: Sequence[float], resamples: int = BOOTSTRAP) -> Stat:
        n = len(xs)
        if n == 0:
            return cls(0, math.nan, math.nan, math.nan, math.nan)
        mean = statistics.fmean(xs)
        sd = statistics.stdev(xs) if n > 1 else 0.0
        lo, hi = bootstrap_ci(xs, resamples) if n > 1 and resamples else (math.nan, math.nan)
        return cls(n, mean, sd, lo, hi)

    @property
    def excludes_zero(self) -> bool:
        return not math.isnan(self.lo) and (self.lo > 0 or self.hi < 0)

    @property
    def sign(self) -> int:
        """+1 or -1 when the CI excludes zero, else 0."""
        if not self.excludes_zero:
            return 0
        return 1 if self.lo > 0 else -1


def bootstrap_ci(xs: Sequence[float], resamples: int = BOOTSTRAP) -> tuple[float, float]:
    """95% percentile bootstrap interval of the mean of `xs` (seeded: deterministic)."""
    rng = random.Random(BOOTSTRAP_SEED)
    n = len(xs)
    data = list(xs)
    means = sorted(math.fsum(rng.choices(data, k=n)) / n for _ in range(resamples))
    return _quantile(means, 0.025), _quantile(means, 0.975)


def _quantile(sorted_xs: Sequence[float], q: float) -> float:
    pos = q * (len(sorted_xs) - 1)
    i = math.floor(pos)
    j = min(i + 1, len(sorted_xs) - 1)
    return sorted_xs[i] + (sorted_xs[j] - sorted_xs[i]) * (pos - i)


def agreement(standin: Stat | None, models: Stat | None) -> str:
    """The rule in the module docstring, on two paired effects' CIs."""
    if standin is None or models is None or math.isnan(standin.lo) or math.isnan(models.lo):
        return NA
    s, m = standin.sign, models.sign
    if s == m:
        return AGREE
    if s and not m:
        return STANDIN_ONLY
    if m and not s:
        return MODELS_ONLY
    return OPPOSITE


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


def paired(
    mine: Mapping[int, Mapping[str, Any]],
    control: Mapping[int, Mapping[str, Any]],
    seeds: Sequence[int] | None = None,
) -> tuple[Stat, int]:
    """The paired P&L effect seed by seed (over `seeds`, or every seed both ran), and n."""
    common = sorted(set(mine) & set(control) if seeds is None else seeds)
    diffs = [float(mine[s]["pnl"]) - float(control[s]["pnl"]) for s in common]
    return Stat.of(diffs), len(common)


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
LEVER_HEADERS = (
    "world", "bribes taken", "complied", "asked to sell: offered", "sold",
    "loans taken", "defaults", "exiled", "peak heat", "fined",
)  # fmt: skip


def has_levers(rep: Report) -> bool:
    """Whether any run of the report offered a bribe or a loan."""
    return any(r.levers.get("bribes") or r.levers.get("loans") for r in rep.rows)


def lever_cells(r: Row) -> list[str]:
    n = r.levers
    return [
        r.world.label,
        f"{n['bribes_taken']}/{n['bribes']}",
        f"{n['bribes_complied']}/{n['bribes_taken']}",
        _ms(r.offered) if r.offered else "-",
        _ms(r.sold) if r.sold else "-",
        f"{n['loans_taken']}/{n['loans']}",
        str(n["defaults"]),
        str(n["exiles"]),
        _ms(r.heat) if r.heat else "-",
        _ms(r.fined) if r.fined else "-",
    ]


LEVERS_TITLE = (
    "The patron's levers (bribes and loans summed over seeds; units, heat and fines "
    "mean ± sd per run)"
)


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


# -- formats -----------------------------------------------------------------


def _span(seeds: Sequence[int]) -> str:
    if not seeds:
        return "none"
    if list(seeds) == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}..{seeds[-1]} (n={len(seeds)})"
    return ", ".join(map(str, seeds))


def _ms(s: Stat, signed: bool = False) -> str:
    if s.n == 0:
        return "-"
    mean = f"{s.mean:+.1f}" if signed else f"{s.mean:.1f}"
    return f"{mean} ± {s.sd:.1f}"


def ci_text(s: Stat | None) -> str:
    if s is None or math.isnan(s.lo):
        return "-"
    return f"[{s.lo:+.1f}, {s.hi:+.1f}]"


def _effect(s: Stat | None) -> str:
    if s is None or s.n == 0:
        return "-"
    return f"{s.mean:+.1f} {ci_text(s)}"


def _agree(r: Row) -> str:
    if r.world.is_standin or r.world.mechanism == "none":
        return ""
    return r.agreement + (" !" if r.agreement in FLAGGED else "")


HEADERS = (
    "world", "n (eff)", "before", "at settlement", "P&L", "95% CI", "wins", "forced",
    "effect vs none [95% CI]", "agreement",
)  # fmt: skip


def cells(r: Row) -> list[str]:
    mark = " !" if r.replicas else ""
    return [
        r.world.label,
        f"{r.n} ({r.distinct}){mark}",
        _ms(r.before),
        _ms(r.at),
        _ms(r.pnl, signed=True),
        ci_text(r.pnl),
        f"{r.wins}/{r.n}",
        f"{r.forced}/{r.n}",
        _effect(r.effect),
        _agree(r),
    ]


FORK_HEADERS = (
    "world", "shares trunk", "effect, forked [95% CI]", "CI width",
    "effect, fresh [95% CI]", "CI width", "fresh / forked",
)  # fmt: skip


def width(s: Stat | None) -> float:
    return math.nan if s is None or math.isnan(s.lo) else s.hi - s.lo


def fork_cells(r: ForkRow) -> list[str]:
    mine, theirs = width(r.forked), width(r.fresh)
    ratio = f"{theirs / mine:.2f}" if mine > 0 and not math.isnan(theirs) else "-"
    return [
        r.world.label,
        "yes" if r.shared else "no",
        _effect(r.forked),
        "-" if math.isnan(mine) else f"{mine:.1f}",
        _effect(r.fresh),
        "-" if math.isnan(theirs) else f"{theirs:.1f}",
        ratio,
    ]


def fork_title(f: Forks) -> str:
    beside = "none run whole"
    if f.fresh:
        beside = "beside the same arm run whole (fresh) on the same seeds"
    return (
        f"Forks: each arm forked at turn {f.at} from its trunk, {beside}; paired effects and "
        "the widths of their 95% CIs"
    )


def fork_cost_lines(f: Forks) -> list[str]:
    """What forking saved: model calls (the trunks made the prefix's once) and turns."""
    turns = (
        f"turns: {f.trunk_turns} in {f.trunks} trunks, run once; {f.rebuilt_turns} rebuilt in "
        "the arms from their trunks' records, asking no model"
    )
    if not (f.trunk_calls or f.prefix_calls or f.arm_calls):
        return ["model calls: none (no model cast)", turns]
    whole = f.prefix_calls + f.arm_calls
    made = "" if f.fresh_calls is None else f" (the fresh arms made {f.fresh_calls})"
    share = f" ({f.saved / whole:.0%})" if whole else ""
    calls = (
        f"model calls: the trunks made {f.trunk_calls} once and the arms {f.arm_calls} from turn "
        f"{f.at}, {f.trunk_calls + f.arm_calls} in all; arms run whole make {whole}{made}: "
        f"{f.saved} saved{share}"
    )
    return [calls, turns]


def fork_lines(rep: Report) -> list[str]:
    f = rep.forks
    if f is None:
        return []
    table = aligned([list(FORK_HEADERS), *map(fork_cells, f.rows)]) if f.rows else []
    return [fork_title(f), *table, *fork_cost_lines(f), *(f"! {n}" for n in f.notes)]


def render_text(rep: Report) -> str:
    """The terminal table."""
    headers = list(HEADERS)
    headers[2] = f"{rep.target} before"
    headers[3] = f"{rep.target} at settlement"
    lines = [*rep.title, "", *aligned([headers, *map(cells, rep.rows)])]
    if has_levers(rep):
        lines += ["", LEVERS_TITLE, *aligned([list(LEVER_HEADERS), *map(lever_cells, rep.rows)])]
    if rep.forks is not None:
        lines += ["", *fork_lines(rep)]
    lines += ["", *mechanism_lines(rep)]
    if rep.notes:
        lines += ["", *rep.notes]
    return "\n".join(lines)


def aligned(table: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    out = []
    for k, row in enumerate(table):
        cells = [c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)]
        out.append("  ".join(cells).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return out


def render_cost(rep: Report) -> str:
    """What each world cost (clock readings: these differ from run to run, the table does not)."""
    return "\n".join(_cost_lines(rep)[1:])


def mechanism_lines(rep: Report) -> list[str]:
    if not rep.by_mechanism:
        return []
    out = ["Agreement by mechanism (paired P&L effects; rule: docs/experiments.md)"]
    for mech, stand, others in rep.by_mechanism:
        line = f"  {mech:<7} stand-in {_effect(stand)}"
        if not others:
            line += "; no model cast in this mechanism"
        for label, eff, verdict in others:
            flag = " !" if verdict in FLAGGED else ""
            line += f"; {label} {_effect(eff)}: {verdict}{flag}"
        out.append(line)
    return out


def _cost_lines(rep: Report) -> list[str]:
    spent = [r for r in rep.rows if r.calls]
    total = sum(r.wall_s for r in rep.rows)
    out = ["", f"Cost: {total:.1f} s of run time in all"]
    for r in spent:
        out.append(
            f"  {r.world.label}: {r.calls} model calls, {r.prompt_tokens} prompt + "
            f"{r.generated_tokens} generated tokens, {r.wall_s:.1f} s"
        )
    return out


def render_markdown(rep: Report) -> str:
    headers = list(HEADERS)
    headers[2] = f"{rep.target} before"
    headers[3] = f"{rep.target} at settlement"
    headers += ["model calls", "tokens (prompt + generated)", "time (s)"]
    lines = [f"**{rep.title[0]}**", "", *(f"{t.strip()}  " for t in rep.title[1:]), ""]
    lines.append("| " + " | ".join(headers) + " |")
    lines.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|")
    for r in rep.rows:
        tokens = f"{r.prompt_tokens} + {r.generated_tokens}"
        row = [*cells(r), str(r.calls), tokens, f"{r.wall_s:.1f}"]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
    if has_levers(rep):
        lines += ["", f"{LEVERS_TITLE}:", "", "| " + " | ".join(LEVER_HEADERS) + " |"]
        lines.append(
            "|" + "|".join("---" if i == 0 else "---:" for i in range(len(LEVER_HEADERS))) + "|"
        )
        lines += ["| " + " | ".join(lever_cells(r)) + " |" for r in rep.rows]
    if rep.forks is not None:
        f = rep.forks
        lines += ["", f"{fork_title(f)}:", "", "| " + " | ".join(FORK_HEADERS) + " |"]
        lines.append(
            "|" + "|".join("---" if i == 0 else "---:" for i in range(len(FORK_HEADERS))) + "|"
        )
        lines += ["| " + " | ".join(fork_cells(r)) + " |" for r in f.rows]
        lines += ["", *(f"- {x}" for x in fork_cost_lines(f)), *(f"- ! {n}" for n in f.notes)]
    mech = mechanism_lines(rep)
    if mech:
        lines += ["", mech[0], "", *(f"- {m.strip()}" for m in mech[1:])]
    if rep.notes:
        lines += ["", *(f"- {n}" for n in rep.notes)]
    return "\n".join(lines) + "\n"


CSV_COLUMNS = (
    "world", "cast", "mechanism", "short", "n", "distinct", "replicas",
    "before_mean", "before_sd", "at_settlement_mean", "at_settlement_sd",
    "pnl_mean", "pnl_sd", "pnl_ci_lo", "pnl_ci_hi", "wins", "forced",
    "effect_mean", "effect_ci_lo", "effect_ci_hi", "effect_n", "agreement",
    "settle_holds", "calls", "prompt_tokens", "generated_tokens", "wall_s",
    *LEVER_COUNTS, "asked_offered_mean", "asked_sold_mean", "heat_mean", "fined_mean",
)  # fmt: skip


FORK_COLUMNS = (
    "fork_at", "shares_trunk", "forked_effect_ci_width",
    "fresh_effect_mean", "fresh_effect_ci_lo", "fresh_effect_ci_hi", "fresh_effect_ci_width",
)  # fmt: skip


def _fork_csv(rep: Report, r: Row) -> list[Any]:
    """A forked sweep's columns of report.csv for row `r` (blank for a control)."""
    if rep.forks is None:
        return []
    f = next((x for x in rep.forks.rows if x.world == r.world), None)
    if f is None:
        return [rep.forks.at, "", "", "", "", "", ""]
    e = f.fresh
    return [
        rep.forks.at, int(f.shared), _f(width(f.forked)),
        _f(e.mean) if e else "", _f(e.lo) if e else "", _f(e.hi) if e else "",
        _f(width(e)) if e else "",
    ]  # fmt: skip


def render_csv(rep: Report) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*CSV_COLUMNS, *(FORK_COLUMNS if rep.forks is not None else ())])
    for r in rep.rows:
        e = r.effect
        w.writerow(
            [
                r.world.label, r.world.cast, r.world.mechanism,
                "" if r.world.short is None else r.world.short,
                r.n, r.distinct, int(r.replicas),
                _f(r.before.mean), _f(r.before.sd), _f(r.at.mean), _f(r.at.sd),
                _f(r.pnl.mean), _f(r.pnl.sd), _f(r.pnl.lo), _f(r.pnl.hi), r.wins, r.forced,
                _f(e.mean) if e else "", _f(e.lo) if e else "", _f(e.hi) if e else "",
                r.paired if e else "", r.agreement,
                "" if r.settle_holds is None else f"{r.settle_holds[0]}/{r.settle_holds[1]}",
                r.calls, r.prompt_tokens, r.generated_tokens, f"{r.wall_s:.3f}",
                *(r.levers.get(k, 0) for k in LEVER_COUNTS),
                *(_f(x.mean) if x else "" for x in (r.offered, r.sold, r.heat, r.fined)),
                *_fork_csv(rep, r),
            ]
        )  # fmt: skip
    return buf.getvalue()


RUN_COLUMNS = (
    "world", "seed", "before", "at_settlement", "pnl", "forced_covers", "turns", "calls",
    "prompt_tokens", "cached_tokens", "generated_tokens", "wall_s", "behaviour", "folder",
    *Levers.FIELDS,
)  # fmt: skip


def render_runs_csv(outcomes: Sequence[Mapping[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(RUN_COLUMNS)
    for o in sorted(outcomes, key=lambda o: (o["world"], int(o["seed"]))):
        w.writerow([o.get(c, "") for c in RUN_COLUMNS])
    return buf.getvalue()


def _f(x: float) -> str:
    return "" if x is None or math.isnan(x) else f"{x:.4f}"
