"""Through a whole wood: every creature hears each whisper and rumour whole, and passes it on.

The showcase gambit whispers a tip to Oona on turn 1 and springs the Run
on Oona's Hoard on turn 2. Every creature is driven by an `LLMPolicy`
behind a `FunctionBackend` that records each request and, on turn 2,
passes on its first heard item by number; the test reads the prompts the
models were sent and the gossip heard the next turn.
"""

from __future__ import annotations

from woodmarket.backends.fake import FunctionBackend
from woodmarket.build import build
from woodmarket.policies.llm import LLMPolicy
from woodmarket.spec import RunSpec
from woodmarket.types import CompletionRequest


def _showcase(seed: int = 3):
    wood = build(RunSpec.make("oona", seed=seed, gambit="showcase"))
    backends: dict[str, FunctionBackend] = {}
    for name in wood.names:

        def answer(request: CompletionRequest) -> str:
            # Pass on item 1 whenever the grammar lets it (a turn with news or a whisper).
            return "hold\nsay all: 1" if "ref ::=" in (request.grammar or "") else "hold"

        backends[name] = FunctionBackend(answer)
        wood.policies[name] = LLMPolicy(backends[name], model="fake", backend_name="fake")
    return wood, backends


def test_whisper_and_rumour_reach_every_prompt_whole_and_travel_whole() -> None:
    wood, backends = _showcase()
    legend = next(x for x in wood.scenario.legends if x.id == "oona_run")
    tip, rumour = legend.tips[0], legend.rumor
    assert len(rumour) > 80 and len(tip) > 60  # far past the old 40-character cut
    wood.step()  # turn 1: the short and the whisper to Oona
    oona_1 = backends["Oona"].requests[0].user
    assert tip in oona_1
    assert tip not in backends["Pip"].requests[0].user  # a whisper reaches one creature
    second = wood.step()  # turn 2: the legend is sprung
    for name, backend in backends.items():
        (_, request) = backend.requests
        assert rumour in request.user, (name, request.user)
    # On turn 1 Oona passed on her item 1, the whisper: the others hear the tip whole.
    for name in wood.names:
        if name != "Oona":
            assert any(tip in line for line in second.observations[name].heard), name
    third = wood.step()  # turn 3: what was passed on by number is heard, whole
    for name, obs in third.observations.items():
        heard = " ".join(obs.heard)
        assert rumour in heard, (name, obs.heard)
    # The others repeating the news reach Oona as who repeats it, not a second copy.
    oona = backends["Oona"].requests[2].user
    assert oona.count(rumour) == 1
    assert f"1. News (also Mossback, Birch, Pip, Rusk): {rumour}" in oona.splitlines()
