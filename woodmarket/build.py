"""The builder: a `RunSpec` in, the wood it describes out. The one place a run is built.

`build(spec)` is called by the runner, replay, resume, forks, the
environment, the sweep's tasks and the app's sessions alike, so a
recorded run and its replay are configured by exactly the same code from
the same spec:

1. the scenario, from the spec's own texts;
2. the wood, every creature seated as the stand-in (`Wood`);
3. the cast: model creatures on their backends (each leasing its slot),
   with the spec's `Sampling` whole and its `thoughts`, unless `policies`
   are given (a replay seats its own);
4. the financier, when the run plays one: every move by turn
   (`script_of`: the gambit's, a mechanism of the spec overriding its
   legend's, then the spec's own `moves` as a player's; for a fork, its
   parent's before its turn and its own from it, the mechanism switching
   there too);
5. the narrator: the spec's (`model`: a model of the cast, on a slot of
   its own), unless one is given (a replay reads its record back).

`played(spec, records, upto)` is the spec of a run that was played: its
recorded player moves up to a turn, the spec's own after it (replay,
resume and forks rebuild from it). `reset_slots(wood)` starts every model
creature's slot afresh, as a reproducible run begins (a slot's numbers
depend on its whole history).

This room builds; it runs nothing (runner.py does) and writes no file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from woodmarket.backends._chat import chat_body
from woodmarket.backends.embedded import get_embedded
from woodmarket.casts import apply_cast, narrator_model, parse_cast
from woodmarket.commands import Spring, parse_command
from woodmarket.errors import ActionError
from woodmarket.financier import Financier, recorded_moves
from woodmarket.financier.script import Script, merge, script_from
from woodmarket.legendbook import LegendBook
from woodmarket.narrators import ModelNarrator
from woodmarket.spec import RunSpec, by_turn
from woodmarket.state import Handler, Narrator, TurnState, WoodState
from woodmarket.types import Policy, Sampling
from woodmarket.wood import Wood


def build(
    spec: RunSpec,
    policies: Mapping[str, Policy] | None = None,
    *,
    narrator: Narrator | None = None,
) -> Wood:
    """The wood `spec` describes, before its first turn.

    `policies` given (a replay's) win over the spec's cast, and `narrator`
    over its narrator; neither then loads a model.
    """
    scenario = spec.load_scenario()
    wood = Wood(scenario, spec.seed, policies)
    wood.serial = spec.sampling.serial
    try:
        if policies is None and spec.cast != "standin":
            seats = parse_cast(spec.cast, wood.names, spec.cast_text or None)
            apply_cast(wood, seats, spec.sampling, spec.thoughts)
        if spec.plays:
            (_, first), *later = overrides(spec)
            if later:  # a fork: legends told from its turn on take its mechanism
                wood.seams.add("before_decide", _switch(later))
            lineage = spec.lineage
            at, joins = next(
                (i, t) for i, (t, s) in enumerate(lineage) if s.gambit or s.financier or s.moves
            )
            if at == 0:  # the run it all began with plays: its financier was there at the start
                _seat_financier(wood, first, script_of(spec))
            else:  # a fork of a run without one: the financier comes in at the fork's turn
                then = [ov for t, ov in overrides(spec) if t <= joins][-1]
                wood.seams.add("before_decide", _joining(joins, then, script_of(spec)))
        if narrator is not None:
            wood.narrator = narrator
        elif spec.narrator == "model" and policies is None:
            attach_model_narrator(wood, spec.cast)
    except BaseException:
        wood.close()  # model slots leased so far go back
        raise
    return wood


def script_of(spec: RunSpec) -> Script:
    """Every move the run makes, turn by turn, each with its source.

    A gambit's moves (source `gambit`, its legend's springs dropped in the
    world without it), then the spec's own moves as a player's (`player`:
    recorded as typed, made again by a replay). A fork makes its parent's
    moves before its turn, and from it its own (a player's moves of the
    parent it keeps were copied into them when it was made) and, when it
    keeps them, its parent's gambit's (their springs dropped, when its world
    has no legend).
    """
    own = script_from(spec.moves_by_turn(), "player")
    if spec.fork is None:
        gambit = spec.the_gambit()
        scripted = gambit.script(spec.mechanism) if gambit is not None else {}
        return merge(script_from(scripted, "gambit"), own)
    at, parent = spec.fork.at, script_of(spec.fork.parent)
    kept = {t: ms for t, ms in parent.items() if t < at}
    if spec.fork.keep_moves:
        # Its parent's player's moves from K on are the fork's own (its `moves`, copied
        # when it was made); the gambit's stay the gambit's.
        drop = spec.mechanism == "none"
        for t, ms in parent.items():
            if t >= at:
                kept[t] = tuple(
                    m for m in ms if m[1] == "gambit" and not (drop and springs_any(m[0]))
                )
    return merge(kept, own)


def overrides(spec: RunSpec) -> list[tuple[int, str | None]]:
    """(first turn, the mechanism overriding every legend's from then), oldest first."""
    return [(t, None if s.mechanism in (None, "none") else s.mechanism) for t, s in spec.lineage]


def _seat_financier(wood: WoodState, override: str | None, script: Script) -> None:
    fin = Financier.attach(wood, override=override)
    fin.script = script


def _joining(turn: int, override: str | None, script: Script) -> Handler:
    """A `before_decide` handler seating the financier as turn `turn` begins (its own
    handler, added to the seam it runs in, runs right after: its moves are made then)."""

    def join(wood: WoodState, t: TurnState) -> None:
        if t.turn == turn:
            _seat_financier(wood, override, script)

    return join


def _switch(schedule: list[tuple[int, str | None]]) -> Handler:
    """A `before_decide` handler that sets the legend book's override as each fork begins."""
    starts = dict(schedule)

    def switch(wood: WoodState, t: TurnState) -> None:
        if t.turn in starts and wood.legends is not None:  # (none yet: it joins with it)
            LegendBook.of(wood).override = starts[t.turn]

    return switch


def springs_any(command: str) -> bool:
    """Whether a command line (as a player typed it) tells a legend."""
    try:
        return isinstance(parse_command(command), Spring)
    except ActionError:
        return False  # a refused line stays a move: it is refused again


def attach_model_narrator(wood: Wood, cast: str) -> ModelNarrator:
    """Let a model of `cast` write this wood's headlines, on a slot leased for the wood."""
    model = narrator_model(cast)
    backend = get_embedded(model)
    lease = backend.lease(1, owner=wood)
    wood.resources.append(lease)
    narrator = ModelNarrator(backend, getattr(backend, "name", model), slot=lease.slots[0])
    wood.narrator = narrator
    return narrator


def played(spec: RunSpec, records: Iterable[Mapping[str, Any]], upto: int) -> RunSpec:
    """The spec of a played run: its recorded player moves up to turn `upto`, the spec's after.

    A player's moves are decisions like a model's replies: what was typed,
    refused lines included, is made again from the record. A fork's moves
    before its turn are its parent's, already in its spec.
    """
    start = spec.fork.at if spec.fork is not None else 1
    recorded = {t: cmds for t, cmds in recorded_moves(records).items() if start <= t <= upto}
    later = {t: cmds for t, cmds in spec.moves if t > upto}
    return spec.but(moves=by_turn({**recorded, **later}))


def reset_slots(wood: Wood) -> int:
    """Start every embedded model creature's slot afresh: its static prompt computed anew.

    llama.cpp's numbers depend on how a prompt was split between cached and
    new tokens (measured: a warm worker's rerun of a spec sampled other
    tokens than its cold run, at turn 1), so a run that began on whatever an
    earlier run left in a slot would depend on which worker ran it before.
    Each creature's system prompt is sent with `cache_prompt` off (and one
    token generated); the run's first turn then finds exactly that in its
    slot, in any worker. Servers behind the `openai` backend are left as
    they are. Returns the slots reset.
    """
    reset = 0
    for name, policy in wood.policies.items():
        backend: Any = getattr(policy, "backend", None)
        if getattr(policy, "label", "") != "llm" or not hasattr(backend, "chat"):
            continue
        if not hasattr(policy, "request"):
            continue
        request = dataclasses.replace(
            policy.request(wood.observe(name)),
            user="",
            grammar=None,
            max_tokens=1,
            sampling=Sampling(),
            logit_bias=(),
        )
        backend.chat(chat_body(request, model=backend.name, cache_prompt=False))
        reset += 1
    return reset
