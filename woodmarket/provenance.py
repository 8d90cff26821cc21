"""Provenance: what a run ran on, for run.json (models' sha256, runtime, threads, CPU).

Two runs of one spec can only be compared when they ran the same model
files on comparable machines, so this is written beside the spec. It reads
package metadata, /proc/cpuinfo and the model registry; it loads no model
and hashes a model file only when the registry does not know its digest.
"""

from __future__ import annotations

import os
import platform
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from woodmarket.version import __version__

if TYPE_CHECKING:
    from woodmarket.casts import Seat
    from woodmarket.spec import RunSpec


@cache
def cpu_model() -> str:
    """The CPU's model name (these machines differ by up to 3x: print it with any figure)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return ""


def _seats(spec: RunSpec) -> list[Seat]:
    from woodmarket.casts import parse_cast
    from woodmarket.errors import WoodmarketError

    try:
        names = tuple(c.name for c in spec.load_scenario().creatures)
        return parse_cast(spec.cast, names, spec.cast_text or None)
    except WoodmarketError:
        return []


def _models(seats: list[Seat]) -> dict[str, str]:
    """model -> sha256 for embedded model seats (served models: their name only)."""
    from woodmarket import models
    from woodmarket.errors import WoodmarketError

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
    from woodmarket.backends.embedded import default_threads
    from woodmarket.casts import describe

    seats = _seats(spec)
    return {
        "woodmarket": __version__,
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "cpu": cpu_model(),
        "cores": os.cpu_count() or 0,
        "threads": default_threads(),
        "xllamacpp": _version("xllamacpp"),
        "seats": describe(seats),
        "models": _models(seats),
        "sampling": spec.sampling.knobs(),
    }
