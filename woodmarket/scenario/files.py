"""Where scenarios are: the bundled ones by key, their levels, and paths.

A bundled scenario is the folder KEY under `woodmarket/scenarios/`
holding KEY.toml; a level of it, `KEY:LEVEL`, is LEVEL.toml beside it.
Anything else is taken as a path. This room only looks at names on disk
(it lists the bundled folders and asks whether a path exists); it reads
no file's text.
"""

from __future__ import annotations

from pathlib import Path

SCENARIO_DIR = Path(__file__).parent.parent / "scenarios"
# The bundled scenarios, by key; the first is the default everywhere.
BUNDLED = ("oona", "reedmere")
# A level of a bundled scenario, `KEY:LEVEL`, is the file LEVEL.toml beside KEY.toml.
LEVEL_SEP = ":"


def _exists(p: Path) -> bool:
    """Whether `p` exists; a path the system cannot even look up (too long) does not."""
    try:
        return p.exists()
    except (OSError, ValueError):
        return False


def bundled_scenarios() -> tuple[str, ...]:
    """The bundled scenarios' keys, as `--scenario` accepts them; the first is the default."""
    return BUNDLED


def scenario_path(key_or_path: str | Path) -> Path:
    """A bundled scenario's key (`oona`), a level of one (`oona:hard`) or a path to a TOML file."""
    text = str(key_or_path)
    if text in BUNDLED:
        return SCENARIO_DIR / text / f"{text}.toml"
    key, sep, level = text.partition(LEVEL_SEP)
    if sep and key in BUNDLED and level.isidentifier():
        return SCENARIO_DIR / key / f"{level}.toml"
    return Path(text)


def bundled_levels(key: str) -> tuple[str, ...]:
    """A bundled scenario's difficulty levels as `--scenario` accepts them, itself first."""
    folder = SCENARIO_DIR / key
    extra = sorted(p.stem for p in folder.glob("*.toml") if p.stem != key and p.stem.isidentifier())
    return (key, *(f"{key}{LEVEL_SEP}{lv}" for lv in extra))


def _key_of(path: str) -> str:
    for key in BUNDLED:
        for name in bundled_levels(key):
            if path == str(scenario_path(name)):
                return name
    return ""
