"""Provenance: what a run ran on, for run.json (models' sha256, runtime, threads, CPU).

Two runs of one spec can only be compared when they ran the same model
files on comparable machines, so this is written beside the spec, with
each embedded model's batching verdict for this machine ("not probed" when
there is none: see `woodmarket.probe`). It reads package metadata,
/proc/cpuinfo, the model registry and the batching verdicts file; it loads
no model and hashes a model file only when the registry does not know its
digest.
"""

from __future__ import annotations

import os
import platform
from importlib import metadata
from typing import TYPE_CHECKING, Any

from woodmarket import models
from woodmarket.backends import batching

# Kept here by name too: benchmarks print it beside every figure.
from woodmarket.backends.batching import cpu_model
from woodmarket.backends.embedded import default_threads
from woodmarket.casts import Seat, describe, parse_cast
from woodmarket.errors import WoodmarketError
from woodmarket.version import __version__

if TYPE_CHECKING:
    from woodmarket.spec import RunSpec


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return ""


def _seats(spec: RunSpec) -> list[Seat]:

    try:
        names = tuple(c.name for c in spec.load_scenario().creatures)
        return parse_cast(spec.cast, names, spec.cast_text or None)
    except WoodmarketError:
        return []


def _models(seats: list[Seat]) -> dict[str, str]:
    """model -> sha256 for embedded model seats (served models: their name only)."""

    out: dict[str, str] = {}
    for seat in seats:
        if seat.policy != "llm" or seat.model in out:
            continue
        if seat.backend != "embedded":
            out[seat.model] = ""
            continue
        info = models.MODELS.get(seat.model)
        if info is not None:
            out[seat.model] = info.sha256
            continue
        try:
            out[seat.model] = models.sha256_of(models.resolve(seat.model))
        except (WoodmarketError, OSError):
            out[seat.model] = ""
    return out


def _batching(seats: list[Seat], threads: int) -> dict[str, Any]:
    """model -> its batching verdict: probed on this machine for an embedded model ("not
    probed": none), declared in the cast file for a served one ("not declared": none)."""
    out: dict[str, Any] = {}
    for seat in seats:
        if seat.policy != "llm" or seat.model in out:
            continue
        if seat.backend == "openai":
            declared = seat.batch_invariant
            out[seat.model] = "not declared" if declared is None else batching.declared(declared)
            continue
        try:
            out[seat.model] = batching.summary(batching.verdict_for(seat.model, threads))
        except (WoodmarketError, OSError) as e:
            out[seat.model] = f"unknown ({e})"
    return out


_SEEN: dict[tuple[Any, ...], dict[str, Any]] = {}


def provenance(spec: RunSpec) -> dict[str, Any]:
    """What `spec` runs on; computed once per cast, scenario and sampling in a process.

    It reads package metadata and parses the scenario, which costs as much as
    a short stand-in run; nothing in it depends on the seed or the turns.
    """
    key = (spec.cast, spec.cast_sha256, spec.scenario_sha256, tuple(spec.sampling.knobs().items()))
    found = _SEEN.get(key)
    if found is None:
        found = _SEEN[key] = _provenance(spec)
    return dict(found)


def _provenance(spec: RunSpec) -> dict[str, Any]:

    seats = _seats(spec)
    threads = default_threads()
    return {
        "woodmarket": __version__,
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "cpu": cpu_model(),
        "cores": os.cpu_count() or 0,
        "threads": threads,
        "xllamacpp": _version("xllamacpp"),
        "seats": describe(seats),
        "models": _models(seats),
        "batching": _batching(seats, threads),
        "sampling": spec.sampling.knobs(),
    }
