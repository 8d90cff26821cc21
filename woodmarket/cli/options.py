"""The command line's shared options: argument types, the sampling knobs, thoughts.

Every subcommand room reads its numbers through these types, so a bad
number is refused by argparse in one line naming the option. Touches only
`Sampling`'s knob table.
"""

from __future__ import annotations

import argparse
from typing import Any

from woodmarket.types import Sampling


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def seed_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole-number seed, got {text!r}") from None


def _knob(name: str, low: float, high: float) -> Any:
    def read(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not low <= value <= high:  # (a NaN fails this too)
            raise argparse.ArgumentTypeError(f"expected {name} in {low:g}..{high:g}, got {text}")
        return value

    return read


def add_sampling(
    p: argparse.ArgumentParser, temperature: float | None, note: str = "", unset: str = ""
) -> None:
    """The sampling knobs of model creatures, one option each, read off `Sampling`.

    `temperature` None: no knob has a default (a fork keeps its parent's unless told).
    """
    for name, (low, high, what) in Sampling.KNOBS.items():
        default = temperature if name == "temperature" else None
        said = f"default {default:g}{note}" if default is not None else unset or "unset: not sent"
        p.add_argument(
            "--" + name.replace("_", "-"),
            type=_knob(name, low, high),
            default=default,
            help=f"{what} ({low:g}..{high:g}; {said})",
        )


def add_thoughts(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--thoughts",
        action="store_true",
        help="model creatures add one short line of why to each answer (`think: ...`, at most "
        "48 characters; a few more generated tokens a turn)",
    )


def sampling_of(args: argparse.Namespace, serial: bool = False) -> Sampling:
    """The parsed sampling options as the `Sampling` a spec carries."""
    return Sampling(**{name: getattr(args, name) for name in Sampling.KNOBS}, serial=serial)
