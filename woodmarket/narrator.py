"""The narrator: one headline per turn, written from public facts only.

It reads what any creature could see (reference prices before and after
the turn, public news, the auction's volumes and fills) and nothing of
the financier's book or the truth of tips. Templates are chosen by the
facts, not by chance, so the same turn always reads the same.

Two narrators beside the template `headline`:

- `ModelNarrator`: a model of the cast writes the headline from the same
  public facts (`public_facts`), under a short prompt; its call is traced
  as a `narration` record (system, user, response, tokens, latency) like
  any model output, and a failed or empty answer falls back to the
  template, with the reason recorded.
- `RecordedNarrator`: a replay's narrator, which re-reads the recorded
  headline of each turn instead of asking a model.

A narrator is any callable `(wood, turn) -> str`. The narrate phase of
`turn.py` asks the one in `wood.extensions["narrator"]`, the template
when there is none.

This room reads the wood and the turn; it writes only the turn's headline,
its `headline` and `narration` records and the wood's headline list.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from woodmarket.state import TurnState, WoodState
    from woodmarket.types import Backend

Narrator = Callable[["WoodState", "TurnState"], str]
HEADLINE_CHARS = 140
NARRATOR_TOKENS = 40
NARRATOR_SYSTEM = (
    "You write the one-line headline of the Wood Gazette, a woodland market's paper. "
    "Use only the facts given. One sentence, at most 20 words, no quotes, no lists."
)


def _pct(before: int, after: int) -> int:
    return round(100 * (after - before) / before) if before else 0


def headline(wood: WoodState, t: TurnState) -> str:
    """The turn's headline: public happenings first, then the market's biggest facts."""
    moves = [(g, t.opening[g], wood.prices[g]) for g in wood.goods]
    g, before, after = max(moves, key=lambda m: (abs(_pct(m[1], m[2])), m[0]))
    pct = _pct(before, after)
    fills = t.fills
    parts = list(t.public)
    if abs(pct) >= 20:
        verb = (
            "soars" if pct >= 50 else "climbs" if pct > 0 else "crashes" if pct <= -40 else "slides"
        )
        parts.append(f"{g.capitalize()} {verb} {before} -> {after}")
    scarce = [c.good for c in t.clearings.values() if c.demand and not c.supply]
    if scarce:
        parts.append(f"no seller of {scarce[0]} to be found")
    if fills:
        big = max(fills, key=lambda f: (f.price * f.qty, f.good, f.buyer, f.seller))
        if not parts or big.price * big.qty >= 20:
            parts.append(f"{big.buyer} buys {big.qty} {big.good} from {big.seller} at {big.price}")
    elif not parts:
        parts.append("a quiet market: nothing changes hands")
    cold = sum(1 for c in wood.creatures.values() if not c.warm)
    if cold >= 2:
        parts.append(f"{cold} creatures shiver")
    text = "; ".join(parts)
    return text[0].upper() + text[1:]


def public_facts(wood: WoodState, t: TurnState) -> list[str]:
    """What happened this turn that anyone in the wood could see: the narrator's whole input.

    Reference prices before and after, the auction's volumes and fills,
    public happenings (a legend told or landing), how many creatures are
    cold. Never the financier's book, positions, whispers or tip truths.
    """
    facts = [f"turn {t.turn}"]
    facts += [str(p) for p in t.public]
    for g in wood.goods:
        before, after = t.opening.get(g, wood.prices[g]), wood.prices[g]
        c = t.clearings.get(g)
        traded = f"{c.volume} traded" if c is not None and c.volume else "none traded"
        facts.append(f"{g}: {before} -> {after} pebbles, {traded}")
    for f in sorted(t.fills, key=lambda f: (-f.price * f.qty, f.good, f.buyer, f.seller))[:3]:
        facts.append(f"{f.buyer} bought {f.qty} {f.good} from {f.seller} at {f.price}")
    cold = sum(1 for c in wood.creatures.values() if not c.warm)
    if cold:
        facts.append(f"{cold} creatures are cold")
    return facts


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
        from woodmarket.types import CompletionRequest

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


class RecordedNarrator:
    """A replay's narrator: each turn's recorded narration, read back, no model asked.

    The `narration` record (with its call) is emitted again as recorded, so
    replay compares it like any other record; a turn without one is the
    template's.
    """

    def __init__(self, records: Iterable[Mapping[str, Any]]) -> None:
        self.said = {int(r["turn"]): r for r in records if r.get("kind") == "narration"}

    def __call__(self, wood: WoodState, t: TurnState) -> str:
        found = self.said.get(t.turn)
        if found is None:
            return headline(wood, t)
        fields = {k: v for k, v in found.items() if k not in ("turn", "kind")}
        t.emit("narration", **fields)
        return str(found.get("text", ""))


def narrator_model(cast: str) -> str:
    """The model of a cast that narrates: a single model's, or the council's first."""
    if cast.startswith("single:"):
        return cast.split(":", 1)[1]
    if cast == "council":
        from woodmarket.casts import COUNCIL

        return str(COUNCIL[0])
    from woodmarket.errors import WoodmarketError

    raise WoodmarketError(f"the {cast} cast has no model to narrate; the template narrates")


def attach_model_narrator(wood: WoodState, cast: str) -> ModelNarrator:
    """Let a model of `cast` write this wood's headlines, on a slot leased for the wood."""
    from woodmarket.backends.embedded import get_embedded

    model = narrator_model(cast)
    backend = get_embedded(model)
    lease = backend.lease(1, owner=wood)
    wood.resources.append(lease)
    narrator = ModelNarrator(backend, getattr(backend, "name", model), slot=lease.slots[0])
    use_narrator(wood, narrator)
    return narrator


def use_narrator(wood: WoodState, narrator: Narrator) -> None:
    """Make `narrator` write this wood's headlines from its next turn on."""
    wood.extensions["narrator"] = narrator
