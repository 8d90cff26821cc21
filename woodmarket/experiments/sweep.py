"""The sweep: one gambit across worlds x seeds, one ordinary run folder per (world, seed).

    DIR/sweep.json                     the plan: base spec, gambit, worlds, seeds, sampling
    DIR/runs/WORLD/seed-S/             a run folder (`replay` and `export` accept it),
                                       plus timings.jsonl and outcome.json (record.py)
    DIR/trunks/TRUNK/seed-S/           with --fork-at K: turns 1 to K-1, run once (a run folder)
    DIR/fresh/WORLD/seed-S/            with --compare-fresh: each arm run whole, to compare
    DIR/report.md, report.csv, runs.csv, table.txt, plots/*.png   (report.py, render.py, plots.py)

Common random numbers: a seed is the wood's seed in every world, and the
wood's random streams are named by purpose, so two worlds of one seed share
their scenario randomness and differ by cast and mechanism only.

Model casts sample at a stated temperature (`DEFAULT_TEMPERATURE` unless
set) with a per-call seed derived from the run's seed, creature and turn,
so seeds are independent draws of the population's behaviour; and they
are asked one at a time (`Sampling.serial`) so that the same spec on the
same machine gives the same trace.jsonl. Clock readings go to
timings.jsonl, not into the trace (record.Timings).

Forked (`fork_at` K): per seed, the history up to turn K-1 is run once
per trunk (a cast and short size, and a mechanism when the legend is told
before K: `Plan.trunk_of`), and each arm's run folder is a fork of it at K
(fork.py): its turns before K rebuilt from the trunk's record without a
model, byte for byte, its turns from K its own. So arms differ only from
K, even on a backend that does not repeat itself. Trunks (and, with
`fresh`, every arm run whole beside them) run first, the forks after.

Each finished run is written as it ends (outcome.json last); running the
same command again skips finished runs and redoes any run that was in
flight when a sweep was killed (an arm whose trunk is made again is made
again too). Runs go through a local process pool by
default (`pool.py`), or Ray (`ray.py`); both call `task.run_task`, and
the report sorts by world and seed, so the executor never shapes a result.

This room writes only inside the sweep's folder.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from woodmarket.errors import ReplayError, WoodmarketError
from woodmarket.experiments.record import OUTCOME, outcome_of
from woodmarket.experiments.task import Task, land, with_trunk
from woodmarket.experiments.worlds import (
    Trunk,
    World,
    check_casts,
    is_live,
    short_size,
    sized_script,
    with_controls,
)
from woodmarket.fork import move_problem
from woodmarket.spec import Moves, RunSpec, by_turn
from woodmarket.traces import read_run, write_whole
from woodmarket.types import Sampling

SWEEP_JSON = "sweep.json"
SWEEP_VERSION = 1
DEFAULT_TEMPERATURE = 0.7


@dataclass(frozen=True)
class Plan:
    """A sweep's whole definition; what sweep.json holds. Build it with `Plan.make`."""

    base: RunSpec  # scenario, gambit and turns; cast, seed and mechanism are per task
    gambit: str
    worlds: tuple[World, ...]
    seeds: tuple[int, ...]
    # How the live casts decode (the stand-in's worlds decode nothing).
    sampling: Sampling = field(default_factory=lambda: Sampling(DEFAULT_TEMPERATURE, serial=True))
    cast_texts: tuple[tuple[str, str], ...] = ()
    live: frozenset[str] = field(default_factory=frozenset)  # casts that put a model to work
    fork_at: int | None = None  # arms forked at this turn from their trunks (None: run whole)
    fresh: bool = False  # a forked sweep runs every arm whole too, beside, to compare

    @classmethod
    def make(
        cls,
        scenario: str = "oona",
        *,
        gambit: str = "showcase",
        worlds: Sequence[World],
        seeds: Sequence[int],
        turns: int | None = None,
        sampling: Sampling | None = None,
        fork_at: int | None = None,
        fresh: bool = False,
    ) -> Plan:
        """Check everything a sweep needs now (worlds, casts, turns, the fork's turn and
        the move arms' moves), before any run starts."""
        from woodmarket.textfiles import read_text_file

        if not worlds:
            raise WoodmarketError("no worlds to sweep; try --worlds article")
        if not seeds:
            raise WoodmarketError("no seeds to sweep")
        base = RunSpec.make(scenario, gambit=gambit, turns=turns)
        g = base.gambit_of()
        if base.turns < g.reckoning:
            raise WoodmarketError(
                f"{base.turns} turns end before the legend's settlement (turn {g.reckoning}); "
                f"use --turns {g.reckoning} or more"
            )
        all_worlds = tuple(with_controls(worlds))
        names = tuple(c.name for c in base.load_scenario().creatures)
        check_casts([*worlds, *all_worlds], names)  # the user's own worlds named first
        check_fork(base, all_worlds, fork_at, fresh)
        texts = {
            w.cast: read_text_file(w.cast, "a cast file")
            for w in all_worlds
            if w.cast.endswith(".toml")
        }
        live = frozenset(
            w.cast for w in all_worlds if is_live(w.cast, names, texts.get(w.cast) or None)
        )
        return cls(
            base,
            gambit,
            all_worlds,
            tuple(dict.fromkeys(seeds)),
            sampling or Sampling(DEFAULT_TEMPERATURE, serial=True),
            tuple(sorted(texts.items())),
            live,
            fork_at,
            fresh,
        )

    # -- what runs -----------------------------------------------------

    @property
    def turns(self) -> int:
        return self.base.turns

    def the_gambit(self) -> Any:
        return self.base.the_gambit()

    def own_short(self) -> int | None:
        return short_size(self.the_gambit().script())

    def spec(self, world: World, seed: int) -> RunSpec:
        """The spec of one (world, seed), run whole. A resized short runs the gambit as
        typed moves; so does a move arm: the gambit's moves before the fork's turn, then
        its own. (A forked arm is a fork of its trunk that equals this spec from turn K.)"""
        return self._spec(world.cast, world.mechanism, world.short, seed, world.moves)

    def _spec(
        self, cast: str, mechanism: str | None, short: int | None, seed: int, moves: Moves = ()
    ) -> RunSpec:
        live = cast in self.live
        spec = self.base.but(
            cast=cast,
            cast_text=dict(self.cast_texts).get(cast, ""),
            seed=seed,
            mechanism=mechanism,
            sampling=self.sampling if live else Sampling(),
        )
        sized = short is not None and short != self.own_short()
        if sized or moves:
            script = self.the_gambit().script(mechanism)
            if sized:
                script = sized_script(script, short)
            if moves:
                at = self.fork_at or 1
                script = {t: c for t, c in script.items() if t < at} | dict(moves)
            spec = spec.but(gambit=None, financier=True, moves=by_turn(script))
        return spec

    def folder(self, world: World, seed: int) -> str:
        return f"runs/{world.slug}/seed-{seed}"

    def tasks(self) -> list[Task]:
        """The arms. Seed by seed, every world of a seed together: a sweep stopped early
        is balanced. In a forked sweep each is a fork of its trunk (`trunk_tasks`)."""
        models = self.models()
        out = []
        for s in self.seeds:
            for w in self.worlds:
                task = Task(self.spec(w, s), w, self.gambit, self.folder(w, s), models)
                if self.fork_at is not None:
                    trunk = self.trunk_folder(self.trunk_of(w), s)
                    task = replace(task, trunk=trunk, fork_at=self.fork_at)
                out.append(task)
        return out

    # -- forks ---------------------------------------------------------

    def trunk_of(self, world: World) -> Trunk:
        """The history `world`'s arm shares: its cast and short size, and its mechanism
        when the gambit's legend is told before the fork's turn (then it is history)."""
        told = self.fork_at is not None and self.the_gambit().spring_turn < self.fork_at
        return Trunk(world.cast, world.short, world.mechanism if told else None)

    def trunks(self) -> list[Trunk]:
        return list(dict.fromkeys(self.trunk_of(w) for w in self.worlds))

    def trunk_folder(self, trunk: Trunk, seed: int) -> str:
        return f"trunks/{trunk.slug}/seed-{seed}"

    def trunk_tasks(self) -> list[Task]:
        """Per seed, each trunk: the gambit as it is (a mechanism only when the trunk has
        one), run to turn K-1. None when the sweep is not forked."""
        if self.fork_at is None:
            return []
        models = self.models()
        out = []
        for s in self.seeds:
            for trunk in self.trunks():
                spec = self._spec(trunk.cast, trunk.mechanism, trunk.short, s)
                folder = self.trunk_folder(trunk, s)
                spec = spec.but(turns=self.fork_at - 1)
                out.append(Task(spec, trunk, self.gambit, folder, models, role="trunk"))
        return out

    def fresh_tasks(self) -> list[Task]:
        """Every arm run whole on the same seeds (`fresh`), to set the forked arms' CIs
        beside; none unless asked."""
        if not self.fresh:
            return []
        models = self.models()
        return [
            Task(self.spec(w, s), w, self.gambit, f"fresh/{w.slug}/seed-{s}", models, role="fresh")
            for s in self.seeds
            for w in self.worlds
        ]

    def models(self) -> tuple[tuple[str, int], ...]:
        """(embedded model, slots) for the sweep's live casts: the most slots any cast needs."""
        from woodmarket.casts import parse_cast

        names = tuple(c.name for c in self.base.load_scenario().creatures)
        texts = dict(self.cast_texts)
        need: dict[str, int] = {}
        for cast in sorted(self.live):
            count: dict[str, int] = {}
            for seat in parse_cast(cast, names, texts.get(cast) or None):
                if seat.policy == "llm" and seat.backend == "embedded":
                    count[seat.model] = count.get(seat.model, 0) + 1
            for model, n in count.items():
                need[model] = max(need.get(model, 0), n)
        return tuple(sorted(need.items()))

    # -- sweep.json ----------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": SWEEP_VERSION,
            "base": self.base.to_dict(),
            "gambit": self.gambit,
            "worlds": [w.to_dict() for w in self.worlds],
            "seeds": list(self.seeds),
            "turns": self.turns,
            "sampling": self.sampling.to_dict(),
            "cast_texts": dict(self.cast_texts),
            "live": sorted(self.live),
        } | ({"fork_at": self.fork_at, "fresh": self.fresh} if self.fork_at else {})

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = SWEEP_JSON) -> Plan:
        try:
            return cls(
                RunSpec.from_dict(data["base"], where),
                data["gambit"],
                tuple(World.from_dict(w) for w in data["worlds"]),
                tuple(int(s) for s in data["seeds"]),
                _sampling(data, where),
                tuple(sorted(data.get("cast_texts", {}).items())),
                frozenset(data.get("live", ())),
                data.get("fork_at"),
                bool(data.get("fresh", False)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise WoodmarketError(f"{where}: not a sweep plan ({exc})") from None

    @classmethod
    def load(cls, folder: str | Path) -> Plan:
        path = Path(folder) / SWEEP_JSON
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise WoodmarketError(f"{path}: missing (is {folder} a sweep folder?)") from None
        except ValueError as exc:
            raise WoodmarketError(f"{path}: not valid JSON: {exc}") from None
        return cls.from_dict(data, str(path))

    def union(self, other: Plan) -> Plan:
        """This plan's worlds and seeds, then `other`'s new ones (what a folder holds)."""
        return replace(
            self,
            worlds=tuple(dict.fromkeys(self.worlds + other.worlds)),
            seeds=tuple(dict.fromkeys(self.seeds + other.seeds)),
            cast_texts=tuple(sorted({**dict(self.cast_texts), **dict(other.cast_texts)}.items())),
            live=self.live | other.live,
            fresh=self.fresh or other.fresh,
        )

    def same_runs_as(self, other: Plan) -> str:
        """Why `other` (a folder's plan) cannot share runs with this one; "" if it can."""
        mine, theirs = self.base, other.base
        if mine.scenario_sha256 != theirs.scenario_sha256:
            return "a different scenario"
        for name in ("gambit", "turns", "sampling", "fork_at"):
            if getattr(self, name) != getattr(other, name):
                return f"a different {name} ({getattr(other, name)!r})"
        mine_texts, theirs_texts = dict(self.cast_texts), dict(other.cast_texts)
        if any(theirs_texts.get(k, v) != v for k, v in mine_texts.items()):
            return "a different text of a cast file"
        return ""


def check_fork(base: RunSpec, worlds: Sequence[World], fork_at: int | None, fresh: bool) -> None:
    """The fork's turn and every move arm's moves, checked before any run (one line)."""
    armed = [w for w in worlds if w.arm]
    if fork_at is None:
        if fresh:
            raise WoodmarketError(
                "--compare-fresh sets whole arms beside forked ones: add --fork-at K"
            )
        if armed:
            raise WoodmarketError(
                f"world {armed[0].label!r}: a move arm replaces the gambit's moves from the "
                "fork's turn on: add --fork-at K"
            )
        return
    if isinstance(fork_at, bool) or not isinstance(fork_at, int) or not 2 <= fork_at <= base.turns:
        raise WoodmarketError(
            f"--fork-at {fork_at}: arms fork at a turn from 2 to {base.turns} (the sweep's "
            "turns); the turns before it are the history they share, and turn 1 has none"
        )
    scenario = base.load_scenario()
    for w in armed:
        bad = move_problem(scenario, dict(w.moves), fork_at, base.turns)
        if bad:
            raise WoodmarketError(f"--arm {w.arm}:{bad}")


def _sampling(data: dict[str, Any], where: str) -> Sampling:
    """A plan's sampling; sweep folders written before it was kept whole held two keys."""
    if "sampling" in data:
        return Sampling.from_dict(data["sampling"], f"{where}: sampling")
    return Sampling(float(data["temperature"]), serial=bool(data["serial"]))


# -- the sweep ---------------------------------------------------------------


@dataclass
class SweepResult:
    plan: Plan
    folder: Path
    outcomes: list[dict[str, Any]]  # the arms' (Table 1's)
    errors: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0  # finished before this invocation
    ran: int = 0
    stopped: str = ""  # why the sweep stopped before every run finished ("" if it did not)
    elapsed_s: float = 0.0
    others: list[dict[str, Any]] = field(default_factory=list)  # trunks' and fresh arms'
    spent: int = 0  # tokens the runs of this invocation spent (the budget's count)

    @property
    def tokens(self) -> int:
        """Tokens the models processed in all finished runs (see cost.spent)."""
        from woodmarket.experiments.cost import spent

        return sum(spent(o) for o in [*self.outcomes, *self.others])


def collect(root: Path, tasks: Sequence[Task]) -> tuple[list[dict[str, Any]], list[Task]]:
    """Outcomes of finished runs on disk, and the tasks without one."""
    done, todo = [], []
    for t in tasks:
        try:
            done.append(json.loads((root / t.folder / OUTCOME).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            todo.append(t)
    return done, todo


def finished(
    root: Path, tasks: Sequence[Task], again: frozenset[str] = frozenset()
) -> tuple[list[dict[str, Any]], list[Task]]:
    """As `collect`, and the folders of unfinished runs (in flight at a kill) cleared.

    A fork whose trunk is in `again` (made again now) is made again too: its
    prefix must be the new trunk's.
    """
    stale = {t.folder for t in tasks if t.trunk and t.trunk in again}
    done, todo = collect(root, [t for t in tasks if t.folder not in stale])
    redo = stale | {t.folder for t in todo}
    todo = [t for t in tasks if t.folder in redo]
    for t in todo:
        if (root / t.folder).exists():
            shutil.rmtree(root / t.folder)
    return done, todo


def pending(root: Path, plan: Plan) -> tuple[list[dict[str, Any]], list[list[Task]]]:
    """Finished runs' outcomes, and the runs to make in order, phase by phase: the trunks
    and fresh arms first, then the arms (forks of the trunks: they need them whole)."""
    beside = [*plan.trunk_tasks(), *plan.fresh_tasks()]
    done, first = finished(root, beside)
    again = frozenset(t.folder for t in first if t.role == "trunk")
    arms_done, arms = finished(root, plan.tasks(), again)
    return [*done, *arms_done], [first, arms]


def prepare(plan: Plan, out: str | Path) -> Path:
    """The sweep folder, with sweep.json; one clear error if it holds another sweep.

    A folder swept again with more worlds or seeds holds them all: its
    sweep.json becomes the union (what `--replay` reports).
    """
    root = Path(out)
    if root.exists() and not root.is_dir():
        raise WoodmarketError(f"--out {root}: a file is there, not a folder")
    path = root / SWEEP_JSON
    whole = plan
    if path.exists():
        before = Plan.load(root)
        why = plan.same_runs_as(before)
        if why:
            raise WoodmarketError(
                f"--out {root} holds a sweep with {why}; use a new folder to change it"
            )
        whole = before.union(plan)
    elif root.exists() and any(root.iterdir()):
        raise WoodmarketError(f"--out {root}: folder exists, is not empty and holds no sweep")
    try:
        root.mkdir(parents=True, exist_ok=True)
        write_whole(path, json.dumps(whole.to_dict(), indent=1, sort_keys=True) + "\n")
    except OSError as exc:
        raise WoodmarketError(f"--out {root}: cannot write there: {exc.strerror or exc}") from None
    return root


Executor = Callable[[Sequence[Task]], Iterator[dict[str, Any]]]


def execute(
    plan: Plan,
    out: str | Path,
    *,
    workers: int | None = None,
    ray: bool = False,
    ray_address: str | None = None,
    budget_tokens: int | None = None,
    progress: bool = True,
    mixed_threads: bool = False,
    before: Callable[[list[dict[str, Any]], list[Task], Executor], bool | None] | None = None,
) -> SweepResult:
    """Run the plan's pending tasks into `out`; finished runs are kept, not redone.

    `before(done, todo, executor)` is called once the pending runs are known
    (the CLI prints its cost estimate there); if it returns False, no run
    starts. With `budget_tokens`, no new
    run starts once the runs of this invocation have spent that many tokens.
    A sweep whose finished live runs ran on another thread count than its
    new ones would is refused unless `mixed_threads` (`check_threads`).
    A forked sweep runs its trunks first; each arm then gets its trunk's
    files when its worker may not share the sweep's folder (Ray).
    """
    root = prepare(plan, out)
    start = time.perf_counter()
    done, phases = pending(root, plan)
    todo = [t for phase in phases for t in phase]
    result = SweepResult(plan, root, [], skipped=len(done))
    if todo:
        ship = bool(ray or ray_address)
        executor = _executor(plan, root, workers, ray, ray_address)
        if not mixed_threads:
            check_threads(root, plan, todo, getattr(executor, "threads", None))
        bar = _bar(len(done) + len(todo), len(done)) if progress else None
        try:
            if before is not None and before(done, todo, executor) is False:
                result.stopped = "stopped before the first run"
            for phase in phases:
                if result.stopped or not phase:
                    continue
                ready = [with_trunk(root, t) if ship else t for t in _runnable(root, phase, result)]
                _drain(root, executor(ready), result, budget_tokens, bar)
        except KeyboardInterrupt:
            result.stopped = (
                "interrupted; finished runs are on disk: run the same command to continue"
            )
            raise
        finally:
            close = getattr(executor, "close", None)
            if close is not None:
                close()
            if bar is not None:
                bar.close()
    result.elapsed_s = time.perf_counter() - start
    # Runs still in flight when the loop stopped finished on closing: count them too.
    result.outcomes = collect(root, plan.tasks())[0]
    result.others = collect(root, [*plan.trunk_tasks(), *plan.fresh_tasks()])[0]
    whole = len(result.outcomes) + len(result.others) == len(done) + len(todo)
    if not whole and not result.stopped:
        result.stopped = f"{len(result.errors)} runs failed"
    return result


def recorded_threads(root: Path, plan: Plan) -> dict[int, int]:
    """How many of the sweep's finished live runs ran on each thread count (run.json)."""
    counts: dict[int, int] = {}
    for t in [*plan.trunk_tasks(), *plan.fresh_tasks(), *plan.tasks()]:
        run = root / t.folder
        if t.world.cast not in plan.live or not (run / OUTCOME).exists():
            continue
        try:
            meta = read_run(run)
        except ReplayError:  # unreadable: its run is made again, not counted
            continue
        n = (meta.get("provenance") or {}).get("threads")
        if isinstance(n, int):
            counts[n] = counts.get(n, 0) + 1
    return counts


def check_threads(root: Path, plan: Plan, todo: Sequence[Task], threads: int | None) -> None:
    """Refuse to add live runs on `threads` threads to finished ones on another count.

    llama.cpp's sums depend on how many threads split them, so the same spec
    gives other bytes on another count: a sweep resumed with another
    `--workers` would mix two populations of traces without a word. `None`
    (a Ray cluster's machines) cannot be known here and is not checked.
    """
    if threads is None or not any(t.world.cast in plan.live for t in todo):
        return
    other = {n: k for n, k in recorded_threads(root, plan).items() if n != threads}
    if other:
        had = ", ".join(f"{k} on {n}" for n, k in sorted(other.items()))
        raise WoodmarketError(
            f"--out {root}: finished live runs ran on other thread counts ({had}) than these "
            f"would ({threads} each), and the thread count changes a run's bytes: use the "
            "--workers they ran with (one per core runs 1 thread each, a single worker all "
            "cores), or --mixed-threads to mix them"
        )


def _executor(
    plan: Plan, root: Path, workers: int | None, ray: bool, ray_address: str | None
) -> Executor:
    n = workers or default_workers(plan)
    if ray or ray_address:
        from woodmarket.experiments.ray import RayExecutor

        return RayExecutor(n, ray_address)
    from woodmarket.experiments.pool import PoolExecutor

    return PoolExecutor(n, str(root))


def _bar(total: int, initial: int) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=initial,
        desc="runs",
        unit="run",
        file=sys.stderr,
        smoothing=0.1,
        leave=False,
    )


def _runnable(root: Path, tasks: Sequence[Task], result: SweepResult) -> list[Task]:
    """The tasks that can run: a fork whose trunk did not finish fails, said so, unrun."""
    out = []
    for t in tasks:
        if t.trunk and not (root / t.trunk / OUTCOME).exists():
            result.errors.append({**t.head(), "error": f"its trunk {t.trunk} did not finish"})
        else:
            out.append(t)
    return out


def _drain(
    root: Path,
    results: Iterator[dict[str, Any]],
    result: SweepResult,
    budget_tokens: int | None,
    bar: Any,
) -> None:
    """Land each run's result as it comes; stop starting runs once the budget is spent."""
    from woodmarket.experiments.cost import spent as tokens_spent

    for r in results:
        r = land(root, r)
        if "error" in r:
            result.errors.append(r)
        else:
            result.ran += 1
            result.spent += tokens_spent(r)
        if bar is not None:
            bar.update(1)
            if result.spent:
                bar.set_postfix(tokens=result.spent, refresh=False)
        if budget_tokens is not None and result.spent >= budget_tokens:
            result.stopped = (
                f"token budget reached ({result.spent} of {budget_tokens} spent); "
                "run the same command again to continue"
            )
            return


def default_workers(plan: Plan) -> int:
    """One process per core this process may use."""
    from woodmarket.backends.embedded import default_threads

    return max(1, default_threads())


def recorded(folder: str | Path) -> tuple[Plan, list[dict[str, Any]]]:
    """The plan and the arms' outcomes of a sweep folder, recomputed from its traces (no
    model loaded)."""
    plan, arms, _ = recorded_all(folder)
    return plan, arms


def recorded_all(folder: str | Path) -> tuple[Plan, list[dict[str, Any]], list[dict[str, Any]]]:
    """As `recorded`, and the outcomes of the runs beside the arms (trunks, fresh arms)."""
    root = Path(folder)
    plan = Plan.load(root)
    beside = [*plan.trunk_tasks(), *plan.fresh_tasks()]
    return plan, _recorded(root, plan.tasks()), _recorded(root, beside)


def _recorded(root: Path, tasks: Sequence[Task]) -> list[dict[str, Any]]:
    outcomes = []
    for t in tasks:
        run = root / t.folder
        if not (run / "trace.jsonl").exists():
            continue
        gambit = t.spec.but(gambit=t.gambit).the_gambit()
        o = t.head() | outcome_of(run, gambit, t.fork_at or None)
        if o["complete"]:
            outcomes.append(o)
    return outcomes
