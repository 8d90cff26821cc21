"""Casts: which policy drives each creature, and how its model is reached.

    standin          the rule-based stand-in for every creature
    single:MODEL     one model drives all creatures (a registry key such as
                     `smollm2`, or a path to any GGUF file)
    council2         two labs share the creatures: SmolLM2 (Hugging Face) and
                     Gemma 3 (Google), alternating in scenario order
    council3         three labs share them: SmolLM2, Gemma 3 and Qwen (Alibaba),
                     seated as `councils.SEATING` says
    council          the default council (`councils.DEFAULT`)
    replay:DIR       the recorded decisions of a run folder
    FILE.toml        a cast file: per creature a policy, model and backend

A cast file (errors name the file and key):

    [defaults]                      # optional, applies to every creature
    backend = "openai"              # embedded | openai
    base_url = "http://127.0.0.1:8080/v1"
    api_key_env = "MY_KEY"          # the key is read from this variable at call time

    [creatures.Oona]
    policy = "llm"                  # llm | standin (default llm)
    model = "gpt-oss-20b"

    [creatures.Rusk]
    policy = "standin"              # llm | standin | a class by import path:

    [creatures.Pip]
    policy = "mypkg.agents:Lowball" # any importable class or function; a class is
                                    # called with no arguments, a function is the policy

Creatures a cast file does not name keep the stand-in. A seat may set any
sampling knob of `Sampling` (`temperature`, `top_p`, `min_p`); the run's
sampling (a sweep's, say) gives every knob a seat does not set. Embedded
creatures on the same model share one in-process server, each pinned to
its own slot.

A reproducible run (`Sampling.serial`: a sweep's) asks creatures of one
model together only where batched answers are known to equal lone ones:
an embedded model's probed verdict for this machine (`woodmarket models
--probe`), or a served seat's `batch_invariant = true` in the cast file
(say, a vLLM server in its batch-invariant mode), recorded in run.json
as declared. The game batches everything.
"""

from __future__ import annotations

import importlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from woodmarket import councils
from woodmarket.backends.batching import batch_invariant
from woodmarket.backends.embedded import get_embedded
from woodmarket.backends.openai import OpenAIBackend
from woodmarket.backends.slots import SlotLease
from woodmarket.errors import ScenarioError, WoodmarketError
from woodmarket.policies.llm import DEFAULT_MAX_TOKENS, LLMPolicy
from woodmarket.policies.replay import replay_policies
from woodmarket.policies.standin import StandinPolicy
from woodmarket.textfiles import read_text_file
from woodmarket.traces import read_trace
from woodmarket.types import Backend, Policy, Sampling, as_policy

if TYPE_CHECKING:
    from woodmarket.state import WoodState

BACKENDS = ("embedded", "openai")
# A seat's keys; the sampling knobs (the temperature, ...) are `Sampling`'s own.
_SEAT_KEYS = {
    "policy",
    "model",
    "backend",
    "base_url",
    "api_key_env",
    "max_tokens",
    "timeout_s",
    "retries",
    "batch_invariant",
    *Sampling.KNOBS,
}


@dataclass(frozen=True, slots=True)
class Seat:
    """How one creature decides."""

    creature: str
    policy: str = "standin"  # standin | llm | replay | import (model = MODULE:NAME)
    model: str = ""
    backend: str = "embedded"
    base_url: str = ""
    api_key_env: str = ""
    max_tokens: int = 0
    timeout_s: float = 30.0
    retries: int = 2
    # Sampling knobs the cast file set for this seat: they win over the run's.
    sampling: tuple[tuple[str, float], ...] = ()
    # A served model's batching, as the cast file declares it (None: not declared).
    # Embedded models are probed instead (`woodmarket models --probe`).
    batch_invariant: bool | None = None

    def describe(self) -> dict[str, Any]:
        """For run.json: everything but secrets (only the variable's name is kept)."""
        out: dict[str, Any] = {"policy": self.policy}
        if self.policy == "import":
            out["path"] = self.model
        if self.policy == "llm":
            out |= {"model": self.model, "backend": self.backend}
            if self.backend == "openai":
                out |= {"base_url": self.base_url, "api_key_env": self.api_key_env}
                if self.batch_invariant is not None:
                    out["batch_invariant"] = self.batch_invariant
        return out


def parse_cast(spec: str, names: tuple[str, ...], text: str | None = None) -> list[Seat]:
    """Seats for `names` from a cast spec (see the module docstring).

    For a cast file, `text` is its content when already read (a run spec
    carries it); otherwise the file is read now.
    """
    if spec == "standin":
        return [Seat(n) for n in names]
    if councils.is_council(spec):
        models = councils.seats(spec, len(names))
        return [Seat(n, "llm", m) for n, m in zip(names, models, strict=True)]
    if spec.startswith("single:"):
        model = spec.removeprefix("single:")
        if not model:
            raise ScenarioError("--cast", spec, "single:MODEL with a model key or GGUF path")
        return [Seat(n, "llm", model) for n in names]
    if spec.startswith("replay:"):
        return [Seat(n, "replay", spec.removeprefix("replay:")) for n in names]
    if spec.endswith(".toml"):
        return _cast_file(Path(spec), names, text)
    raise ScenarioError(
        "--cast",
        spec,
        "standin, council (council2, council3), single:MODEL, replay:DIR or a cast FILE.toml",
    )


def _cast_file(path: Path, names: tuple[str, ...], text: str | None = None) -> list[Seat]:
    where = str(path)
    if text is None:
        text = read_text_file(where, "a cast file")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(where, "(syntax)", f"valid TOML: {exc}") from None
    defaults = data.get("defaults", {})
    creatures = data.get("creatures", {})
    if not isinstance(defaults, dict):
        raise ScenarioError(where, "defaults", "a table")
    if not isinstance(creatures, dict):
        raise ScenarioError(where, "creatures", "a table of [creatures.NAME] tables")
    for name in creatures:
        if name not in names:
            raise ScenarioError(where, f"creatures.{name}", f"one of {', '.join(names)}")
    seats = []
    for n in names:
        if n not in creatures:
            seats.append(Seat(n))
            continue
        table = creatures[n]
        if not isinstance(table, dict):
            raise ScenarioError(where, f"creatures.{n}", "a table")
        seats.append(_seat(where, n, {**defaults, **table}))
    return seats


def _seat(where: str, name: str, table: dict[str, Any]) -> Seat:
    def key(k: str) -> str:
        return f"creatures.{name}.{k}"

    unknown = sorted(set(table) - _SEAT_KEYS)
    if unknown:
        raise ScenarioError(where, key(unknown[0]), f"one of {', '.join(sorted(_SEAT_KEYS))}")
    for k in ("policy", "model", "backend", "base_url", "api_key_env"):
        if k in table and not isinstance(table[k], str):
            raise ScenarioError(where, key(k), "a string")
    policy = table.get("policy", "llm")
    if policy == "standin":
        return Seat(name)
    if ":" in policy:
        import_policy(policy, where, key("policy"))  # a bad path is refused now
        return Seat(name, "import", policy)
    if policy != "llm":
        raise ScenarioError(
            where, key("policy"), f"llm, standin or a MODULE:NAME import path, got {policy!r}"
        )
    backend = table.get("backend", "embedded")
    if backend not in BACKENDS:
        raise ScenarioError(where, key("backend"), f"embedded or openai, got {backend!r}")
    if not table.get("model"):
        raise ScenarioError(
            where, key("model"), "a model name (a key, a GGUF path, or a served name)"
        )
    if backend == "openai" and not table.get("base_url"):
        raise ScenarioError(
            where, key("base_url"), "the server's URL, e.g. http://127.0.0.1:8080/v1"
        )
    for k in ("timeout_s", *Sampling.KNOBS):
        if k in table and (isinstance(table[k], bool) or not isinstance(table[k], int | float)):
            raise ScenarioError(where, key(k), "a number")
    for k in ("max_tokens", "retries"):
        if k in table and (isinstance(table[k], bool) or not isinstance(table[k], int)):
            raise ScenarioError(where, key(k), "a whole number")
    declared = table.get("batch_invariant")
    if declared is not None and (not isinstance(declared, bool) or backend != "openai"):
        raise ScenarioError(
            where,
            key("batch_invariant"),
            'true or false, only with backend = "openai" '
            "(embedded models are probed: woodmarket models --probe)",
        )
    own = tuple((k, float(table[k])) for k in Sampling.KNOBS if k in table)
    try:
        Sampling().but(**dict(own))  # each knob in its range, checked now
    except WoodmarketError as exc:
        raise ScenarioError(where, key(own[0][0] if own else "temperature"), str(exc)) from None
    return Seat(
        name,
        "llm",
        table["model"],
        backend,
        table.get("base_url", ""),
        table.get("api_key_env", ""),
        int(table.get("max_tokens", 0)),
        float(table.get("timeout_s", 30.0)),
        int(table.get("retries", 2)),
        own,
        declared,
    )


def import_policy(path: str, where: str = "--cast", key: str = "policy") -> Any:
    """The class or function a `MODULE:NAME` path names; ScenarioError when it cannot be had."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ScenarioError(where, key, f"MODULE:NAME, got {path!r}")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # an ImportError, or the module's own error on import
        raise ScenarioError(
            where, key, f"an importable module; {module_name!r}: {type(exc).__name__}: {exc}"
        ) from None
    found = getattr(module, attr, None)
    if found is None or not callable(found):
        raise ScenarioError(where, key, f"a class or function {attr!r} in {module_name}")
    return found


def _imported(path: str) -> Policy:
    found = import_policy(path)
    return as_policy(found() if isinstance(found, type) else found)


def apply_cast(
    wood: WoodState, seats: list[Seat], sampling: Sampling | None = None, thoughts: bool = False
) -> None:
    """Replace the wood's policies per seat (stand-in seats keep their stream).

    Model seats on an embedded model lease their slots from the model's
    shared server for as long as the wood lives (or until `wood.close()`),
    so woods in one process never pin two creatures to one slot.
    """
    release_cast(wood)
    wood.policies.update(build_policies(wood, seats, sampling or Sampling(), thoughts))


def release_cast(wood: WoodState) -> None:
    """Give back the model slots a cast leased for this wood."""
    for lease in [r for r in wood.resources if isinstance(r, SlotLease)]:
        lease.release()
        wood.resources.remove(lease)


def build_policies(
    wood: WoodState, seats: list[Seat], sampling: Sampling, thoughts: bool = False
) -> dict[str, Policy]:
    out: dict[str, Policy] = {}
    embedded: dict[str, list[Seat]] = {}
    for s in seats:
        if s.policy == "llm" and s.backend == "embedded":
            embedded.setdefault(s.model, []).append(s)
    slots = _lease(wood, embedded)
    replays: dict[str, Policy] = {}
    for s in seats:
        if s.policy == "standin":
            out[s.creature] = StandinPolicy(wood.rng("policy", s.creature))
        elif s.policy == "import":
            out[s.creature] = _imported(s.model)
        elif s.policy == "replay":
            if not replays:
                replays = _replay_policies(s.model, wood.names)
            out[s.creature] = replays[s.creature]
        else:
            out[s.creature] = _llm(wood, s, slots.get(s.creature), sampling, thoughts)
    return out


def _lease(wood: WoodState, embedded: dict[str, list[Seat]]) -> dict[str, tuple[Any, int]]:
    """creature -> (its model's shared server, the slot leased for it), one lease per model."""
    out: dict[str, tuple[Any, int]] = {}
    taken = []
    try:
        for model, group in embedded.items():
            backend = get_embedded(model)
            lease = backend.lease(len(group), owner=wood)
            taken.append(lease)
            for seat, slot in zip(group, lease.slots, strict=True):
                out[seat.creature] = (backend, slot)
    except BaseException:
        for lease in taken:
            lease.release()
        raise
    wood.resources.extend(taken)
    return out


def _replay_policies(folder: str, names: tuple[str, ...]) -> dict[str, Policy]:
    return dict(replay_policies(list(read_trace(folder)), names))  # as recorded: the cast


def _llm(
    wood: WoodState,
    seat: Seat,
    leased: tuple[Any, int] | None,
    sampling: Sampling,
    thoughts: bool = False,
) -> Policy:
    backend: Backend
    slot: int | None = None
    timeout_s: float | None = None
    if leased is not None:
        backend, slot = leased
        model = getattr(backend, "name", seat.model)
        invariant = batch_invariant(seat.model, getattr(backend, "threads", None)) is True
    else:
        backend = OpenAIBackend(
            seat.base_url,
            seat.model,
            api_key_env=seat.api_key_env or None,
            timeout_s=seat.timeout_s,
            retries=seat.retries,
        )
        model, timeout_s = seat.model, seat.timeout_s
        invariant = seat.batch_invariant is True
    return LLMPolicy(
        backend,
        model=model,
        backend_name=seat.backend,
        slot=slot,
        max_tokens=seat.max_tokens or DEFAULT_MAX_TOKENS,
        sampling=sampling.but(**dict(seat.sampling)),
        thoughts=thoughts,
        seed=wood.seed,
        timeout_s=timeout_s,
        batch_invariant=invariant,
    )


def describe(seats: list[Seat]) -> dict[str, dict[str, Any]]:
    return {s.creature: s.describe() for s in seats}


def narrator_model(cast: str) -> str:
    """The model of a cast that narrates: a single model's, or the council's first."""
    if cast.startswith("single:"):
        return cast.split(":", 1)[1]
    if councils.is_council(cast):
        return councils.seats(cast, 1)[0]
    raise WoodmarketError(f"the {cast} cast has no model to narrate; the template narrates")
