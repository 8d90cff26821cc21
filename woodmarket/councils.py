"""The councils: which bundled labs share a wood's creatures, by name.

    council2   SmolLM2 (Hugging Face) and Gemma 3 (Google), alternating
    council3   the three labs, seated as `SEATING` says (chosen by measurement:
               README, "A council of three labs"); its SmolLM2 is the Q4_0 copy
    council    the default council: a name a run never keeps, resolved to
               `DEFAULT` when a spec is made, so run.json always records
               which council ran (a game starts with `GAME`)

A run folder written before the councils had names records `council`, and
then meant the two-lab council: `LEGACY` says so, and a recorded spec read
back resolves it to that, so a recorded run (its replay, resume and forks)
keeps meaning the council it ran with.

A value room: names and model keys only; it knows nothing of the wood.
"""

from __future__ import annotations

ALIAS = "council"
# Model keys by seat, in the scenario's creature order, repeating past the end.
SEATING: dict[str, tuple[str, ...]] = {
    "council2": ("smollm2", "gemma3"),
    # Measured (benchmarks/seating.py): every seat valid in 100% of 72 decisions over
    # the article's worlds; of the 150 seatings of the three, the least serial turn.
    "council3": ("smollm2-q4_0", "smollm2-q4_0", "qwen", "gemma3", "smollm2-q4_0"),
}
DEFAULT = "council3"
# The council a game starts with: a player waits on every turn, and the two-lab
# council's turn is the quicker (README, "A council of three labs").
GAME = "council2"
LEGACY = "council2"
TITLES = {
    "council2": "the two-lab council (SmolLM2 + Gemma 3)",
    "council3": "the three-lab council (SmolLM2 Q4_0 + Gemma 3 + Qwen)",
}


# The casts a person picks by name (the web app's picker, `app --cast`): never files or paths.
PICKED = ("standin", "single:smollm2", "single:gemma3", "single:qwen", *SEATING)


def resolve(cast: str) -> str:
    """The council `cast` names when it is the alias; any other cast as it is."""
    return DEFAULT if cast == ALIAS else cast


def recorded(cast: str) -> str:
    """What a cast read back from a recorded run meant (the alias: the legacy council)."""
    return LEGACY if cast == ALIAS else cast


def is_council(cast: str) -> bool:
    return resolve(cast) in SEATING


def seats(cast: str, count: int) -> tuple[str, ...]:
    """The model of each of `count` creatures, in scenario order, under a council."""
    pattern = SEATING[resolve(cast)]
    return tuple(pattern[i % len(pattern)] for i in range(count))
