"""The llm policy: a creature decided by a small language model behind a backend.

This room builds the two prompts from an observation, asks the backend
once per turn under the action grammar, and parses the reply into a
validated `Action` carrying its `ModelCall`. It reads the observation and
calls the backend; it touches no state of the wood.

Prompt layout, shaped by llama.cpp's per-slot prompt cache and by what
small models can use:
- `system` is everything static for one creature: the rules of the wood,
  the answer syntax with one worked example, the persona and what it
  makes (and so never buys). Byte-identical turn after turn, so the slot
  keeps it cached and each turn pays only for the `user` part.
- `user` is the turn's facts, terse, in the worked example's layout:
  pebbles, the exact goods it is short of, the goods it can spare (a
  count it can copy into a sale), the other prices, each with a one-word
  trend; then what it heard, numbered as `say all: N` refers to it
  (`heard_items`), then its feelings::

      40 pebbles
      Short 1 berries 5, 2 mushrooms 6
      Spare 10 honey 8 down, 1 firewood 6 up
      Also acorns 4
      1. Whisper: the financier whispers: "Oona has promised honey to ..."
      2. News (also Pip, Rusk): Word spreads that Oona's honey vault is ...
      3. Birch: the river froze
      Feelings: trusts Oona

  (shown cut here; in a prompt every item is whole). Then, only in a turn
  that has them, the financier's offers to this creature alone, its debts
  and its pacts, and a line asking for one answer per offer (`_patron`);
  the grammar asks for those answers first. Whispers and news
  are never cut nor budgeted; gossip heard is kept whole within
  `GOSSIP_HEARD_CHARS` (400 characters a turn), the oldest items dropped
  first, and gossip repeating a whisper or the news only names who
  repeats it. A quiet turn is about 40 new prompt tokens on the bundled
  tokenizers, the only ones a turn pays for when the slot's cache holds
  the system part; a message costs what it costs (a 100-character rumour
  is about 25 tokens): the article's experiment is whether a creature
  that reads a rumour panics. The market's headline is left out: it
  retells price moves the trends already show, and cost about 10 tokens
  every turn.

A whisper reads "Whisper: " and its words, whatever the financier sent:
nothing here tells a true tip from a free rumour.

The grammar caps an answer at `lines` lines (two by default). In the
default "auto" talk mode, in a turn with news or a whisper, one of them
is kept for gossip, and then only for passing on what it heard, by its
number (`say all: 2`), which the parser resolves to the item's whole
words: small models write whatever they are offered, and their free text
is noise, but passing a rumour on whole is how a legend spreads, and a
number costs a token or two where the words would cost dozens. For
models that spell words in pieces under a grammar (`PIECE_SPELLERS`) the
request carries a bias toward whole-word tokens. The sampling seed is
derived from the policy's seed, the creature and the turn, so a run is
reproducible given the same model.

Whatever the backend answers becomes an `Action`, never an exception, and
one a replay rebuilds exactly from the trace: a reply that is not a
`Completion` with `str` text, or whose text cannot be stored as UTF-8 (a
lone surrogate), is a `hold` whose reason is "backend: " and the error
kept in `ModelCall.error`, with the raw text in it escaped (a lone
surrogate as its visible `\\ud83d`), as for a backend that failed; token
counts that are not whole non-negative numbers are recorded as 0 and a
latency that is not finite as the measured one, so a trace is always
strict JSON. A reply is cut to `MAX_REPLY_CHARS` (4,096) characters
before it is parsed, with a note in the reason; the trace keeps one
character more, so a replay parses it to the same cut and note.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import time
from typing import Any

from woodmarket.policies.grammar import (
    TALK_MODES,
    WORD_PIECE_BIAS,
    WORD_PIECES,
    answer_chars,
    grammar_for,
)
from woodmarket.policies.parse import MAX_REPLY_CHARS, escaped, parse
from woodmarket.policies.talk import heard_items, one_line
from woodmarket.types import (
    Action,
    Backend,
    Completion,
    CompletionRequest,
    ModelCall,
    Observation,
    Sampling,
)

__all__ = [
    "DEFAULT_LINES",
    "DEFAULT_MAX_TOKENS",
    "PIECE_SPELLERS",
    "LLMPolicy",
    "call_seed",
    "system_prompt",
    "user_prompt",
]

# An error message from a backend is kept to this many characters.
_ERROR_CHARS = 500
# Token budget per call, at least. Each request raises it to the longest
# answer its grammar admits, so an answer the sampler spells in word
# pieces is never cut mid-line (a cut line would be read as if meant, by
# the parser and by a replay alike); it binds only on a server that
# ignores the grammar. Generation stops at the end token: a typical answer
# is 16 to 30 tokens.
DEFAULT_MAX_TOKENS = 48
# Lines the grammar lets a model write per turn (orders and gossip); the
# market may allow more orders, but small models fill every line offered
# and each costs about six generated tokens.
DEFAULT_LINES = 2
# Models that under a grammar spell words in pieces ("b" "uy") unless
# biased toward whole-word tokens (see `WORD_PIECES`): two to four more
# generation steps a turn. Only these get the bias: Gemma 3 keeps to whole
# words anyway, and with its 262k-token vocabulary each forced " " the
# bias pushes out of first place costs a grammar pass over every token,
# slower than the pieces it would save. SmolLM2 requantized to Q4_0 is the
# same network and tokenizer, and spells the same way.
PIECE_SPELLERS = frozenset({"smollm2", "smollm2-q4_0"})


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _example(obs: Observation) -> tuple[str, str]:
    """One worked example in this creature's own goods: facts, then the reply.

    Built from static fields only (never this turn's numbers) so the
    system prompt stays identical turn after turn.
    """
    made = [g for g in obs.goods if g in obs.produces]
    buyable = [g for g in obs.goods if g not in obs.produces]
    spare = made[0] if made else (buyable[-1] if buyable else obs.goods[0])
    wanted = next((g for g in buyable if g != spare), spare)
    # Made-up prices of the same shape as real ones: 4, 5, 6, ...
    price = {g: 4 + i for i, g in enumerate(obs.goods)}
    facts = (
        f"30 pebbles\n"
        f"Short 2 {wanted} {price[wanted]}\n"
        f"Spare 3 {spare} {price[spare]}\n"
        f"Also {', '.join(f'{g} {price[g]}' for g in obs.goods if g not in (spare, wanted))}"
    )
    reply = f"buy 2 {wanted} {price[wanted]}\nsell 3 {spare} {price[spare]}"
    return facts, reply


def system_prompt(obs: Observation, *, thoughts: bool = False) -> str:
    """The static prompt for one creature: identical every turn (prompt cache).

    Uses only the observation's static fields (name, persona, goods, what
    it makes), never this turn's numbers.
    """
    made = _join(list(obs.produces))
    if made:
        it = "them" if len(obs.produces) > 1 else "it"
        role = f"You make {made}: sell {it}, never buy {it}."
    else:
        role = "You make nothing: buy low, sell high."
    foods = ", ".join(obs.foods[:-1]) + f" or {obs.foods[-1]}" if len(obs.foods) > 1 else ""
    fuel = f"; everyone burns {obs.fuel} each turn" if obs.fuel else ""
    facts, reply = _example(obs)
    return (
        f"You are {obs.creature} the {obs.species}, {obs.role} of the wood. {obs.personality}\n"
        f"Creatures trade {_join(list(obs.goods))} for pebbles. "
        f"A meal takes two different foods{f' ({foods})' if foods else ''}{fuel}.\n"
        f"{role}\n"
        "Each turn you see your pebbles, what you are short of, what you can spare "
        "(beyond two turns of use), the other prices and any news.\n"
        "Buy what you are short of and sell what you can spare, near the price.\n"
        "Reply with one order per line and nothing else, or hold to trade nothing.\n"
        "What you heard is numbered. After your orders you may pass on item N whole "
        "in one line: say all: N (or say NAME: N for one creature)"
        + (", and add one line starting think: for a short thought.\n" if thoughts else ".\n")
        + f"Example facts:\n{facts}\n"
        f"Example reply:\n{reply}"
    )


def _trend(obs: Observation, good: str) -> str:
    past = obs.history.get(good, ())
    now = obs.prices.get(good)
    before = past[-2] if len(past) >= 2 and past[-1] == now else (past[-1] if past else None)
    if now is None or before is None or before == now:
        return ""
    return " up" if now > before else " down"


def _talk(obs: Observation) -> str:
    """What the creature heard, numbered as `say all: N` refers to it, then its feelings.

    Every item whole (see `heard_items` for the order and the gossip
    budget); a heard gossip's label is who said it, so "Pip: honey is
    scarce" needs no other word.
    """
    lines = [
        f"{n}. {item.label}: {item.text}" if item.label else f"{n}. {item.text}"
        for n, item in enumerate(heard_items(obs), 1)
    ]
    if obs.feelings and obs.feelings != "no strong feelings":
        lines.append(f"Feelings: {one_line(obs.feelings)}")
    return "\n".join(lines)


def _priced(obs: Observation, good: str, qty: int) -> str:
    price = obs.prices.get(good)
    if price is None:
        return f"{qty} {good}"
    return f"{qty} {good} {price}{_trend(obs, good)}"


def user_prompt(obs: Observation) -> str:
    """This turn's facts, short and last (only this part is new to the cache).

    Each good appears once with its price, in the shape of an order line
    ("2 mushrooms 6" -> "buy 2 mushrooms 6"): goods short of, goods
    to spare (stores beyond what the creature wants on hand), then any
    other good's price. A producer sees its surplus as a count it can copy
    into a sale; shown only as stores, small models kept it. The price
    is bare, as in an order line: with "at" kept here but not in the
    answer, the models copied their facts less and fewer orders met.
    """
    short = {g: n for g in obs.goods if (n := obs.short_of.get(g, 0)) > 0}
    spare = {
        g: n
        for g in obs.goods
        if g not in short and (n := obs.stores.get(g, 0) - obs.wants.get(g, 0)) > 0
    }
    rest = [g for g in obs.goods if g not in short and g not in spare and g in obs.prices]
    # No full stops: the line breaks already separate, and each costs a token.
    lines = [f"{obs.pebbles} pebbles"]
    if short:
        lines.append("Short " + ", ".join(_priced(obs, g, n) for g, n in short.items()))
    if spare:
        lines.append("Spare " + ", ".join(_priced(obs, g, n) for g, n in spare.items()))
    if rest:
        lines.append("Also " + ", ".join(f"{g} {obs.prices[g]}{_trend(obs, g)}" for g in rest))
    talk = _talk(obs)
    if talk:
        lines.append(talk)
    lines += _patron(obs)
    return "\n".join(lines)


def _patron(obs: Observation) -> list[str]:
    """The financier's offers to this creature alone, its debts and pacts, when it has any.

    Only in a turn that has them, so every other prompt is as it was. The
    grammar then asks for one `accept ID` or `decline ID` line per offer,
    before the orders.
    """
    lines = []
    for o in obs.offers:
        if o.kind == "loan":
            what = f"lends you {o.pebbles} pebbles; you repay {o.repay} at turn {o.due}"
        elif o.kind == "bribe":
            what = f"pays you {o.pebbles} pebbles to {o.ask} this turn"
        else:
            what = f"proposes a pact with {o.ask}"
        lines.append(f"Offer {o.id}: the financier {what}")
    for d in obs.debts:
        lines.append(f"You owe the financier {d.owed}; {d.repay} due at turn {d.due}")
    if obs.allies:
        lines.append(f"Allies: {', '.join(obs.allies)} (break NAME ends a pact)")
    if obs.offers:
        ids = " ".join(o.id for o in obs.offers)
        lines.append(f"First answer each offer ({ids}): accept ID or decline ID")
    return lines


def call_seed(seed: int, creature: str, turn: int) -> int:
    """A sampling seed per creature-turn, stable across processes (no hash())."""
    digest = hashlib.blake2b(f"{seed}:{creature}:{turn}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") & 0x7FFFFFFF


class LLMPolicy:
    """Decides by asking a model once per turn, under the action grammar.

    Backend failures of any kind become a recorded `hold`; the turn goes on.
    """

    label = "llm"
    concurrent = True

    def __init__(
        self,
        backend: Backend,
        model: str,
        backend_name: str,
        slot: int | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        sampling: Sampling | None = None,
        seed: int = 0,
        lines: int = DEFAULT_LINES,
        talk: str = "auto",
        thoughts: bool = False,
        whole_words: bool | None = None,
        timeout_s: float | None = None,
        batch_invariant: bool = False,
    ) -> None:
        self.backend = backend
        # May a reproducible run ask it beside other creatures on the same server?
        # Only when batched answers are known to equal lone ones (a probe's yes, or
        # a served model declared so); otherwise a serial run asks one at a time.
        self.batch_invariant = batch_invariant
        self.model = model
        # The decision's wall-clock budget (a served model's): past it the turn
        # goes on with a traced hold. None: the turn waits (an in-process model).
        self.timeout_s = timeout_s
        self.backend_name = backend_name
        self.slot = slot
        self.max_tokens = max_tokens
        self.sampling = sampling or Sampling()
        self.seed = seed
        self.lines = lines
        self.talk = talk
        self.thoughts = thoughts
        # None: bias toward whole words only for models known to need it.
        self.whole_words = model in PIECE_SPELLERS if whole_words is None else whole_words
        if talk != "auto" and talk not in TALK_MODES:
            raise ValueError(f"talk must be 'auto' or one of {TALK_MODES}, got {talk!r}")
        if lines < 1:
            raise ValueError(f"lines must be at least 1, got {lines}")

    def __repr__(self) -> str:
        return f"<LLMPolicy {self.model} via {self.backend_name} slot={self.slot}>"

    def talk_mode(self, obs: Observation) -> str:
        """The grammar's talk mode this turn (see `grammar_for`).

        "auto": small models write a gossip line whenever one is offered,
        and free text from them is noise, so they may only pass on what
        they heard, and only in a turn with news or a whisper. (Gossip
        heard is not enough: it would make gossip every turn, each line
        taking the place of an order.)
        """
        if self.talk != "auto":
            return self.talk
        return "phrases" if obs.news or obs.whispers else "none"

    def grammar_args(self, obs: Observation) -> dict[str, Any]:
        """This turn's arguments for `grammar_for` and `answer_chars`."""
        talk = self.talk_mode(obs)
        orders = max(1, self.lines - (talk != "none"))
        lines = max(self.lines, orders + (talk != "none")) + self.thoughts
        return {"lines": lines, "orders": orders, "talk": talk, "thoughts": self.thoughts}

    def grammar(self, obs: Observation) -> str:
        """This turn's grammar: `lines` lines, one of them kept for gossip when talk is on.

        A small model writes as many orders as it may, so a line shared
        between orders and gossip would never be spent on gossip and
        rumours would stop travelling; an extra line on top would make
        every talkative turn three lines long.
        """
        return grammar_for(obs, **self.grammar_args(obs))

    def request(self, obs: Observation) -> CompletionRequest:
        """The exact request this policy sends for `obs` (also used by replay checks)."""
        return CompletionRequest(
            system=system_prompt(obs, thoughts=self.thoughts),
            user=user_prompt(obs),
            grammar=self.grammar(obs),
            max_tokens=max(self.max_tokens, answer_chars(obs, **self.grammar_args(obs)) + 1),
            sampling=self.sampling,
            seed=call_seed(self.seed, obs.creature, obs.turn),
            slot=self.slot,
            logit_bias=tuple((p, WORD_PIECE_BIAS) for p in WORD_PIECES) if self.whole_words else (),
        )

    def decide(self, observation: Observation) -> Action:
        """One model call, parsed; never raises on the backend's behalf.

        Any answer becomes an Action with a `ModelCall` that serialises as
        strict JSON and that a replay turns into the same Action (see the
        module docstring).
        """
        request = self.request(observation)
        start = time.perf_counter()
        try:
            completion = self.backend.complete(request)
        except Exception as exc:  # BackendError or a backend bug: a hold, never a crash
            return self._refused(request, _describe(exc), start)
        try:
            return self._read(request, completion, observation, start)
        except Exception as exc:  # a bug reading the answer costs one turn, never the run
            return self._refused(request, f"unreadable reply ({type(exc).__name__})", start)

    def _call(self, request: CompletionRequest, response: str, **fields: Any) -> ModelCall:
        return ModelCall(
            model=self.model,
            backend=self.backend_name,
            system=request.system,
            user=request.user,
            response=response,
            **fields,
        )

    def _refused(self, request: CompletionRequest, error: str, start: float) -> Action:
        """A hold for a call that gave no readable reply: `error` says why, with the raw text.

        Shaped as a replay rebuilds a failed call (reason "backend: " and
        the error, no response, no tokens, the latency as measured), so
        the replayed decision is the recorded one.
        """
        elapsed = round((time.perf_counter() - start) * 1000, 3)
        call = self._call(request, "", latency_ms=elapsed, error=error)
        return Action.hold(f"backend: {error}", call=call)

    def _read(
        self,
        request: CompletionRequest,
        completion: object,
        observation: Observation,
        start: float,
    ) -> Action:
        if not isinstance(completion, Completion):
            kind = type(completion).__name__
            return self._refused(request, f"answer is {kind}, not a Completion", start)
        text: object = completion.text
        if isinstance(text, bytes | bytearray):
            raw = bytes(text[: MAX_REPLY_CHARS + 1]).decode("utf-8", "backslashreplace")
            return self._refused(request, f'reply is bytes, not text: "{raw}"', start)
        if not isinstance(text, str):
            return self._refused(request, f"reply is {type(text).__name__}, not text", start)
        # One character past the bound is kept: `parse` cuts the reply to
        # the bound with a note, and a replay of the trace reads the same.
        text = str.__str__(text)[: MAX_REPLY_CHARS + 1]  # a str subclass could carry more
        safe = escaped(text)
        if safe != text:
            return self._refused(
                request, f'reply is not UTF-8 text (a lone surrogate): "{safe}"', start
            )
        # A count that is no whole number is recorded as 0 (as a replay
        # reads it); a latency that is no finite number as the measured one.
        prompt, cached, generated = (_count(getattr(completion, f, None)) for f in _COUNTS)
        latency = _latency(completion.latency_ms)
        if latency is None:
            latency = round((time.perf_counter() - start) * 1000, 3)
        call = self._call(
            request,
            text,
            prompt_tokens=prompt,
            cached_tokens=cached,
            generated_tokens=generated,
            latency_ms=latency,
        )
        return dataclasses.replace(parse(text, observation), call=call)


_COUNTS = ("prompt_tokens", "cached_tokens", "generated_tokens")


def _count(value: object) -> int:
    """A token count as a whole non-negative int; 0 if it is not one (bool is not)."""
    if type(value) is int:
        return value if value >= 0 else 0
    if type(value) is float and math.isfinite(value) and value >= 0 and value.is_integer():
        return int(value)
    return 0


def _latency(value: object) -> float | None:
    """Milliseconds as a finite non-negative float; None if the value is not one."""
    if type(value) not in (int, float):
        return None
    try:
        ms = float(value)  # type: ignore[arg-type]
    except OverflowError:  # an int beyond a float's range
        return None
    return round(ms, 3) if math.isfinite(ms) and ms >= 0 else None


def _describe(exc: BaseException) -> str:
    """An exception as one storable line: its type and (the start of) its message."""
    try:
        message = str(exc)
    except Exception:  # a broken __str__ must not undo the hold it explains
        message = ""
    line = f"{type(exc).__name__}: {one_line(escaped(message))}"
    return line[:_ERROR_CHARS]
