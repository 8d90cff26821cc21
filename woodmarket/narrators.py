"""The model narrator: a model of the cast writes each turn's headline from public facts.

`ModelNarrator` gives a model exactly what the template narrator reads
(`narrator.public_facts`: prices before and after, volumes, fills, public
happenings) under a short prompt, on a slot of its own so it never evicts
a creature's cached prompt. Its call is traced as a `narration` record
(system, user, response, tokens, latency) like any model output; a failed
or empty answer falls back to the template, with the reason recorded.
The builder attaches it (`build.attach_model_narrator`) when a spec asks
for `narrator = "model"`; a replay reads the record back instead
(`narrator.RecordedNarrator`).

This room sits with the policies and backends: it calls a backend and
writes the turn's `narration` record; it changes nothing else.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from woodmarket.narrator import headline, public_facts
from woodmarket.types import Backend, CompletionRequest

if TYPE_CHECKING:
    from woodmarket.state import TurnState, WoodState

HEADLINE_CHARS = 140
NARRATOR_TOKENS = 40
NARRATOR_SYSTEM = (
    "You write the one-line headline of the Wood Gazette, a woodland market's paper. "
    "Use only the facts given. One sentence, at most 20 words, no quotes, no lists."
)


def clean_headline(text: str) -> str:
    """A model's answer as one printable headline line ("" when nothing usable is left)."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = "".join(ch for ch in line if ch.isprintable()).strip().strip("\"'*#").strip()
    if len(line) > HEADLINE_CHARS:
        line = line[: HEADLINE_CHARS - 3].rstrip() + "..."
    return line


class ModelNarrator:
    """Headlines written by a model from `public_facts`; the template when it fails."""

    def __init__(
        self,
        backend: Backend,
        model: str,
        backend_name: str = "embedded",
        slot: int | None = None,
    ) -> None:
        self.backend, self.model, self.backend_name = backend, model, backend_name
        self.slot = slot  # its own leased slot: it never evicts a creature's cached prompt

    def prompt(self, wood: WoodState, t: TurnState) -> tuple[str, str]:
        facts = public_facts(wood, t)
        user = "Facts of the turn:\n" + "\n".join(f"- {f}" for f in facts) + "\nHeadline:"
        return NARRATOR_SYSTEM, user

    def __call__(self, wood: WoodState, t: TurnState) -> str:
        system, user = self.prompt(wood, t)
        request = CompletionRequest(
            system=system,
            user=user,
            max_tokens=NARRATOR_TOKENS,
            seed=wood.seed + t.turn,
            slot=self.slot,
        )
        start = time.perf_counter()
        response, error, tokens = "", "", (0, 0, 0)
        try:
            done = self.backend.complete(request)
            response = done.text
            tokens = (done.prompt_tokens, done.cached_tokens, done.generated_tokens)
        except Exception as exc:  # a model failure must not stop the wood; it is traced
            error = f"{type(exc).__name__}: {exc}"
        text = clean_headline(response)
        fallback = "" if text else (error or "no usable headline in the answer")
        if not text:
            text = headline(wood, t)
        t.emit(
            "narration",
            text=text,
            fallback=fallback,
            call={
                "model": self.model,
                "backend": self.backend_name,
                "system": system,
                "user": user,
                "response": response,
                "prompt_tokens": tokens[0],
                "cached_tokens": tokens[1],
                "generated_tokens": tokens[2],
                "latency_ms": round((time.perf_counter() - start) * 1000, 1),
                "error": error,
            },
        )
        return text
