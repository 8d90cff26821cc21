"""The builder: a `RunSpec` in, the wood it describes out. The one place a run is built.

`build(spec)` is called by the runner, replay, resume, forks, the
environment, the sweep's tasks and the app's sessions alike, so a
recorded run and its replay are configured by exactly the same code from
the same spec:

1. the scenario, from the spec's own texts;
2. the wood, every creature seated as the stand-in (`Wood`);
3. the cast: model creatures on their backends (each leasing its slot),
   with the spec's `Sampling` whole, unless `policies` are given (a replay
   seats its own);
4. the financier, when the run plays one: the gambit's moves (a
   mechanism of the spec overriding its legend's), then the spec's own
   `moves` as a player's, turn by turn;
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
from woodmarket.financier import Financier, recorded_moves
from woodmarket.narrators import ModelNarrator
from woodmarket.spec import RunSpec, by_turn
from woodmarket.state import Narrator
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
            apply_cast(wood, seats, spec.sampling)
        if spec.plays:
            gambit = spec.the_gambit(scenario)
            script = gambit.script(spec.mechanism) if gambit is not None else {}
            override = None if spec.mechanism in (None, "none") else spec.mechanism
            fin = Financier.attach(wood, override=override, script=script, source="gambit")
            # A player's moves: recorded as typed (source `player`), made again by a replay.
            fin.add_script(spec.moves_by_turn(), "player")
        if narrator is not None:
            wood.narrator = narrator
        elif spec.narrator == "model" and policies is None:
            attach_model_narrator(wood, spec.cast)
    except BaseException:
        wood.close()  # model slots leased so far go back
        raise
    return wood


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
    refused lines included, is made again from the record.
    """
    recorded = {t: cmds for t, cmds in recorded_moves(records).items() if t <= upto}
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
