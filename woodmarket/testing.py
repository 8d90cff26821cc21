"""Contract checks for your own parts: policies, backends, scenarios, and the files you write.

As PettingZoo ships its API tests, woodmarket ships the checks its own
parts pass, for users to run on theirs:

    from woodmarket.testing import check_policy, check_backend, check_scenario
    check_policy(MyPolicy())                 # decides for every creature, many turns
    check_backend(MyBackend())               # answers completions the way policies need
    check_scenario("my_wood.toml")           # loads, conserves, repeats under a seed
    check_file("my_cast.toml")               # a scenario, legend or cast file: does it load?

Each runs real woods (stand-in creatures unless told otherwise) and raises
`ContractError` with a message naming what broke, where, and on which
turn; it returns a short summary of what it checked when all is well.
This room builds its own woods and touches nothing else.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import tomllib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from woodmarket.casts import parse_cast
from woodmarket.errors import BackendError, LedgerError, ScenarioError, WoodmarketError
from woodmarket.legends import parse_legend
from woodmarket.scenario import Scenario, bundled_scenarios, load_scenario
from woodmarket.textfiles import read_text_file
from woodmarket.types import Action, Backend, Completion, CompletionRequest, Observation, as_policy
from woodmarket.wood import Wood

__all__ = ["ContractError", "check_backend", "check_file", "check_policy", "check_scenario"]


class ContractError(WoodmarketError):
    """A user's part breaks a contract the engine relies on; the message says which."""


def _scenario(scenario: str | Path | Scenario) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


# -- policies ---------------------------------------------------------------


def check_policy(
    policy: object,
    scenario: str | Path | Scenario = "oona",
    *,
    turns: int = 12,
    seeds: Sequence[int] = (0, 1),
) -> str:
    """Drive every creature with `policy` for `turns` turns per seed and check each decision.

    A decision must be an `Action` (not an exception), place orders only for
    its own creature, and leave the observation as it was (observations are
    read-only: a policy that writes gets the error here, not a silent change
    of what other creatures see). The wood must stay consistent (the ledger
    checks conservation every turn).
    """
    sc = _scenario(scenario)
    chosen = as_policy(policy)
    decisions = 0
    for seed in seeds:
        wood = Wood(sc, seed)
        try:
            for turn in range(1, turns + 1):
                actions = {}
                for name in wood.names:
                    obs = wood.observe(name)
                    actions[name] = _one_decision(chosen, obs, seed, turn)
                    decisions += 1
                try:
                    wood.step(actions)
                except LedgerError as exc:
                    raise ContractError(
                        f"seed {seed}, turn {turn}: the ledger broke: {exc}"
                    ) from None
        finally:
            wood.close()
    return f"policy ok: {decisions} decisions over {len(seeds)} seeds x {turns} turns on {sc.name}"


def _one_decision(policy: Any, obs: Observation, seed: int, turn: int) -> Action:
    where = f"seed {seed}, turn {turn}, {obs.creature}"
    before = repr(obs)
    try:
        action = policy.decide(obs)
    except TypeError as exc:
        if "does not support item assignment" in str(exc) or "immutable" in str(exc):
            raise ContractError(f"{where}: the policy writes to its observation ({exc})") from None
        raise ContractError(f"{where}: decide raised TypeError: {exc}") from None
    except (dataclasses.FrozenInstanceError, AttributeError) as exc:
        raise ContractError(f"{where}: the policy writes to its observation ({exc})") from None
    except Exception as exc:
        raise ContractError(f"{where}: decide raised {type(exc).__name__}: {exc}") from None
    if repr(obs) != before:
        raise ContractError(f"{where}: the policy changed its observation")
    if not isinstance(action, Action):
        raise ContractError(f"{where}: decide returned {type(action).__name__}, not an Action")
    strays = [o for o in action.orders if o.creature != obs.creature]
    if strays:
        raise ContractError(f"{where}: an order for {strays[0].creature}, not {obs.creature}")
    return action


# -- backends ---------------------------------------------------------------

_PROBES = (
    CompletionRequest(system="You trade in a wood.", user="30 pebbles\nShort 2 sap 5"),
    CompletionRequest(
        system="You trade in a wood.",
        user="Reply hold.",
        grammar='root ::= "hold"\n',
        max_tokens=8,
        seed=7,
        slot=None,
    ),
)


def check_backend(backend: object, requests: Iterable[CompletionRequest] = _PROBES) -> str:
    """Send a few completions; each must come back as a sound `Completion` or a BackendError.

    A sound completion has text (str, writable as UTF-8), whole non-negative
    token counts (cached at most the prompt) and a finite latency. Any other
    exception, or a malformed answer, is a broken backend: policies would
    have to guess.
    """
    if not isinstance(backend, Backend):
        raise ContractError(f"{type(backend).__name__} has no complete(request) method")
    answered = failed = 0
    for i, request in enumerate(requests, 1):
        try:
            done = backend.complete(request)
        except BackendError:
            failed += 1
            continue
        except Exception as exc:
            raise ContractError(
                f"request {i}: complete raised {type(exc).__name__} ({exc}); "
                "a backend must raise BackendError"
            ) from None
        problem = _completion_problem(done)
        if problem:
            raise ContractError(f"request {i}: {problem}")
        answered += 1
    if not answered:
        raise ContractError(f"no request was answered ({failed} raised BackendError)")
    return f"backend ok: {answered} answered, {failed} refused with BackendError"


def _completion_problem(done: object) -> str:
    if not isinstance(done, Completion):
        return f"returned {type(done).__name__}, not a Completion"
    if not isinstance(done.text, str):
        return f"text is {type(done.text).__name__}, not str"
    try:
        done.text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"text cannot be written as UTF-8 ({exc.reason} at {exc.start})"
    for name in ("prompt_tokens", "cached_tokens", "generated_tokens"):
        value = getattr(done, name)
        if type(value) is not int or value < 0:
            return f"{name} is {value!r}, not a whole number >= 0"
    if done.cached_tokens > done.prompt_tokens > 0:
        return f"cached_tokens {done.cached_tokens} exceed prompt_tokens {done.prompt_tokens}"
    latency = done.latency_ms
    if not isinstance(latency, int | float) or not math.isfinite(latency) or latency < 0:
        return f"latency_ms is {latency!r}, not a finite number >= 0"
    return ""


# -- scenarios --------------------------------------------------------------


def check_scenario(
    scenario: str | Path | Scenario,
    *,
    turns: int | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    setup: Callable[[Wood], None] | None = None,
) -> str:
    """Load a scenario and run it under the stand-in: conservation, determinism, no crash.

    `setup` is called on each new wood before its first turn (attach your
    own seam handlers there: they are part of what is checked). Checks, for
    every seed: every turn runs without an exception escaping, the ledger
    proves conservation after every turn, and the same seed run twice gives
    the same records, byte for byte.
    """
    try:
        sc = _scenario(scenario)
    except ScenarioError as exc:
        raise ContractError(f"the scenario does not load: {exc}") from None
    n = turns or sc.turns
    for seed in seeds:
        first = _digest(sc, seed, n, setup)
        if _digest(sc, seed, n, setup) != first:
            raise ContractError(f"seed {seed}: two runs of the same seed gave different records")
    return f"scenario ok: {sc.name}, {len(seeds)} seeds x {n} turns, conserved and repeatable"


def _digest(sc: Scenario, seed: int, turns: int, setup: Callable[[Wood], None] | None) -> str:
    from woodmarket.traces import dumps

    h = hashlib.sha256()
    wood = Wood(sc, seed)
    try:
        if setup is not None:
            setup(wood)
        for turn in range(1, turns + 1):
            try:
                state = wood.step()
            except LedgerError as exc:
                raise ContractError(f"seed {seed}: {exc}") from None
            except Exception as exc:
                raise ContractError(
                    f"seed {seed}, turn {turn}: the turn raised {type(exc).__name__}: {exc}"
                ) from None
            for r in state.records:
                h.update(dumps(r).encode("utf-8"))
    finally:
        wood.close()
    return h.hexdigest()


def check_file(path: str, scenario: str | None = None) -> str:
    """Load a scenario, legend or cast file (told apart by its keys) without running it.

    A legend or a cast file is checked against `scenario` (the first bundled
    by default): its target a good there, its creatures there. Returns one
    line saying what the file is; a broken one raises `ScenarioError`
    naming the file, the key and what was expected.
    """
    against = scenario or bundled_scenarios()[0]
    text = read_text_file(path, "a scenario, legend or cast file")
    try:
        data = tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(path, "(syntax)", f"valid TOML: {exc}") from None
    if {"wood", "goods"} & set(data) or isinstance(data.get("creatures"), list):
        s = load_scenario(path)
        summary = (
            f"scenario {s.name!r}: {len(s.creatures)} creatures, {len(s.goods)} goods, "
            f"{len(s.legends)} legends, {len(s.gambits)} gambits"
        )
    elif {"id", "rumor", "mechanism", "tips"} & set(data):
        sc = load_scenario(against)
        legend = parse_legend(text, path, sc.financier.whisper_chars)
        if legend.target not in sc.good_names:
            goods = ", ".join(sc.good_names)
            raise ScenarioError(
                path, "target", f"a good of {sc.name} ({goods}); {legend.target!r} is not one"
            )
        summary = (
            f"legend {legend.id}: {legend.title!r}, target {legend.target}, {legend.mechanism}"
        )
    elif {"defaults", "creatures"} & set(data):
        sc = load_scenario(against)
        if not path.endswith(".toml"):
            raise ScenarioError(path, "(file)", "a cast file named *.toml")
        seats = parse_cast(path, sc.creature_names)
        summary = f"cast for {sc.name}: {len(seats)} creatures"
    else:
        raise ScenarioError(
            path,
            "(file)",
            "a scenario ([wood], [goods], [[creatures]]), a legend (id, rumor, tips, "
            "mechanism) or a cast ([defaults], [creatures.NAME])",
        )
    return f"{path}: ok ({summary})"
