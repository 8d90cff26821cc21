"""The sweep: one gambit across worlds x seeds, one ordinary run folder per (world, seed).

    DIR/sweep.json                     the plan: base spec, gambit, worlds, seeds, sampling
    DIR/runs/WORLD/seed-S/             a run folder (`replay` and `export` accept it),
                                       plus timings.jsonl and outcome.json (record.py)
    DIR/report.md, report.csv, runs.csv, table.txt, plots/*.png   (report.py, plots.py)

Common random numbers: a seed is the wood's seed in every world, and the
wood's random streams are named by purpose, so two worlds of one seed share
their scenario randomness and differ by cast and mechanism only.

Model casts sample at a stated temperature (`DEFAULT_TEMPERATURE` unless
set) with a per-call seed derived from the run's seed, creature and turn,
so seeds are independent draws of the population's behaviour; and they
are asked one at a time (`Sampling.serial`) so that the same spec on the
same machine gives the same trace.jsonl. Clock readings go to
timings.jsonl, not into the trace (record.Timings).

Each finished run is written as it ends (outcome.json last); running the
same command again skips finished runs and redoes any run that was in
flight when a sweep was killed. Runs go through a local process pool by
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

from woodmarket.errors import WoodmarketError
from woodmarket.experiments.record import OUTCOME, outcome_of
from woodmarket.experiments.task import Task, land
from woodmarket.experiments.worlds import (
    World,
    check_casts,
    is_live,
    short_size,
    sized_script,
    with_controls,
)
from woodmarket.spec import RunSpec, by_turn
from woodmarket.traces import write_whole
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
    ) -> Plan:
        """Check everything a sweep needs now (worlds, casts, turns), before any run starts."""
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
        """The spec of one (world, seed). A resized short runs the gambit as typed moves."""
        live = world.cast in self.live
        spec = self.base.but(
            cast=world.cast,
            cast_text=dict(self.cast_texts).get(world.cast, ""),
            seed=seed,
            mechanism=world.mechanism,
            sampling=self.sampling if live else Sampling(),
        )
        if world.short is not None and world.short != self.own_short():
            moves = sized_script(self.the_gambit().script(world.mechanism), world.short)
            spec = spec.but(gambit=None, financier=True, moves=by_turn(moves))
        return spec

    def folder(self, world: World, seed: int) -> str:
        return f"runs/{world.slug}/seed-{seed}"

    def tasks(self) -> list[Task]:
        """Seed by seed, every world of a seed together: a sweep stopped early is balanced."""
        models = self.models()
        return [
            Task(self.spec(w, s), w, self.gambit, self.folder(w, s), models)
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
        }

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
        )

    def same_runs_as(self, other: Plan) -> str:
        """Why `other` (a folder's plan) cannot share runs with this one; "" if it can."""
        mine, theirs = self.base, other.base
        if mine.scenario_sha256 != theirs.scenario_sha256:
            return "a different scenario"
        for name in ("gambit", "turns", "sampling"):
            if getattr(self, name) != getattr(other, name):
                return f"a different {name} ({getattr(other, name)!r})"
        mine_texts, theirs_texts = dict(self.cast_texts), dict(other.cast_texts)
        if any(theirs_texts.get(k, v) != v for k, v in mine_texts.items()):
            return "a different text of a cast file"
        return ""


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
    outcomes: list[dict[str, Any]]
    errors: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0  # finished before this invocation
    ran: int = 0
    stopped: str = ""  # why the sweep stopped before every run finished ("" if it did not)
    elapsed_s: float = 0.0

    @property
    def tokens(self) -> int:
        """Tokens the models processed in all finished runs (see cost.spent)."""
        from woodmarket.experiments.cost import spent

        return sum(spent(o) for o in self.outcomes)


def collect(root: Path, tasks: Sequence[Task]) -> tuple[list[dict[str, Any]], list[Task]]:
    """Outcomes of finished runs on disk, and the tasks without one."""
    done, todo = [], []
    for t in tasks:
        try:
            done.append(json.loads((root / t.folder / OUTCOME).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            todo.append(t)
    return done, todo


def finished(root: Path, tasks: Sequence[Task]) -> tuple[list[dict[str, Any]], list[Task]]:
    """As `collect`, and the folders of unfinished runs (in flight at a kill) cleared."""
    done, todo = collect(root, tasks)
    for t in todo:
        if (root / t.folder).exists():
            shutil.rmtree(root / t.folder)
    return done, todo


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
    before: Callable[[list[dict[str, Any]], list[Task], Executor], bool | None] | None = None,
) -> SweepResult:
    """Run the plan's pending tasks into `out`; finished runs are kept, not redone.

    `before(done, todo, executor)` is called once the pending runs are known
    (the CLI prints its cost estimate there); if it returns False, no run
    starts. With `budget_tokens`, no new
    run starts once the runs of this invocation have spent that many tokens.
    """
    from woodmarket.experiments.cost import spent as tokens_spent

    root = prepare(plan, out)
    start = time.perf_counter()
    done, todo = finished(root, plan.tasks())
    result = SweepResult(plan, root, list(done), skipped=len(done))
    if not todo:
        result.elapsed_s = time.perf_counter() - start
        return result
    n = workers or default_workers(plan)
    executor: Executor
    if ray or ray_address:
        from woodmarket.experiments.ray import RayExecutor

        executor = RayExecutor(n, ray_address)
    else:
        from woodmarket.experiments.pool import PoolExecutor

        executor = PoolExecutor(n, str(root))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(
            total=len(done) + len(todo),
            initial=len(done),
            desc="runs",
            unit="run",
            file=sys.stderr,
            smoothing=0.1,
            leave=False,
        )
    spent = 0
    try:
        if before is not None and before(done, todo, executor) is False:
            result.stopped = "stopped before the first run"
            return result
        for r in executor(todo):
            r = land(root, r)
            if "error" in r:
                result.errors.append(r)
            else:
                result.outcomes.append(r)
                result.ran += 1
                spent += tokens_spent(r)
            if bar is not None:
                bar.update(1)
                if spent:
                    bar.set_postfix(tokens=spent, refresh=False)
            if budget_tokens is not None and spent >= budget_tokens:
                result.stopped = (
                    f"token budget reached ({spent} of {budget_tokens} spent); "
                    "run the same command again to continue"
                )
                break
    except KeyboardInterrupt:
        result.stopped = "interrupted; finished runs are on disk: run the same command to continue"
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
    if len(result.outcomes) < len(done) + len(todo) and not result.stopped:
        result.stopped = f"{len(result.errors)} runs failed"
    return result


def default_workers(plan: Plan) -> int:
    """One process per core this process may use."""
    from woodmarket.backends.embedded import default_threads

    return max(1, default_threads())


def recorded(folder: str | Path) -> tuple[Plan, list[dict[str, Any]]]:
    """The plan and outcomes of a sweep folder, recomputed from its traces (no model loaded)."""
    root = Path(folder)
    plan = Plan.load(root)
    outcomes = []
    for t in plan.tasks():
        run = root / t.folder
        if not (run / "trace.jsonl").exists():
            continue
        gambit = t.spec.but(gambit=t.gambit).the_gambit()
        o = {"world": t.world.label, "seed": t.spec.seed, "folder": t.folder}
        o |= outcome_of(run, gambit)
        if o["complete"]:
            outcomes.append(o)
    return plan, outcomes
