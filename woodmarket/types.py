"""The interfaces of the wood, in one small module.

Value objects (frozen, self-validating) that cross room boundaries:
`Order`, `Fill`, `Gossip`, `ModelCall`, `Answer`, `Action`, `Offer`,
`Debt`, `Observation`, `Sampling` (how models decode: from a run's spec,
whole, to every completion request), and the backend's
`CompletionRequest` / `Completion`. Plus the two one-method
plug-in protocols: a `Policy` decides, a `Backend` completes; a plain
function `observation -> Action` is accepted as a policy (`as_policy`).

Nothing here touches the wood's mutable state. An `Observation` is
read-only all the way down: its mappings are read-only views, so a policy
cannot change what another creature sees.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar, NamedTuple, Protocol, runtime_checkable

from woodmarket.errors import ActionError, WoodmarketError

SIDES = ("buy", "sell")
# How a creature answers the financier's offers (`Offer.id`) or ends a pact (an ally's name).
ANSWERS = ("accept", "decline", "break")
OFFER_KINDS = ("loan", "bribe", "pact")
# Room for a whisper or a legend's rumour passed on whole: a scenario may
# allow them up to 2,000 characters (`whisper_chars`), heard with a short
# label. Free gossip is bounded far shorter by the grammar, and what a
# creature is shown of gossip heard by the prompt's budget.
MAX_GOSSIP_CHARS = 2100
MAX_THOUGHT_CHARS = 200


def _whole(name: str, value: object, minimum: int) -> None:
    # bool is an int subclass; True pebbles is a bug, not a price.
    if type(value) is not int or value < minimum:
        raise ActionError(f"{name} must be a whole number >= {minimum}, got {value!r}")


@dataclass(frozen=True, slots=True)
class Order:
    """One limit order in a good's call auction: whole quantity, whole price."""

    creature: str
    side: str
    good: str
    qty: int
    price: int

    def __post_init__(self) -> None:
        if self.side not in SIDES:
            raise ActionError(f"order side must be buy or sell, got {self.side!r}")
        _whole("order quantity", self.qty, 1)
        _whole("order price", self.price, 1)

    def to_dict(self) -> dict[str, Any]:
        """The original traces dataset's `offers` item shape."""
        return {
            "creature": self.creature,
            "side": self.side,
            "good": self.good,
            "price": self.price,
            "qty": self.qty,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Order:
        return cls(d["creature"], d["side"], d["good"], d["qty"], d["price"])


@dataclass(frozen=True, slots=True)
class Fill:
    """Goods moved from seller to buyer at the auction's uniform price."""

    good: str
    price: int
    qty: int
    buyer: str
    seller: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "good": self.good,
            "price": self.price,
            "qty": self.qty,
            "buyer": self.buyer,
            "seller": self.seller,
        }


@dataclass(frozen=True, slots=True)
class Gossip:
    """One line of gossip, to one creature or to `all`; delivered next turn."""

    to: str
    text: str

    def __post_init__(self) -> None:
        if not self.to:
            raise ActionError("gossip needs a recipient (a creature name or 'all')")
        # Printable rules out line breaks of every kind, control characters
        # and lone surrogates: gossip is read by others and kept in traces.
        text = self.text
        if type(text) is not str or not text.strip() or not text.isprintable():
            raise ActionError("gossip must be one non-empty line of printable text")
        if len(text) > MAX_GOSSIP_CHARS:
            raise ActionError(f"gossip must be at most {MAX_GOSSIP_CHARS} characters")


@dataclass(frozen=True, slots=True)
class ModelCall:
    """What one model call cost and said; kept in the trace, never in state."""

    model: str
    backend: str
    system: str
    user: str
    response: str
    prompt_tokens: int = 0
    cached_tokens: int = 0
    generated_tokens: int = 0
    latency_ms: float = 0.0
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "backend": self.backend,
            "system": self.system,
            "user": self.user,
            "response": self.response,
            "prompt_tokens": self.prompt_tokens,
            "cached_tokens": self.cached_tokens,
            "generated_tokens": self.generated_tokens,
            "latency_ms": self.latency_ms,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class Answer:
    """A creature's answer: `accept`/`decline` an offer by its id, or `break` a pact."""

    word: str
    ref: str

    def __post_init__(self) -> None:
        if self.word not in ANSWERS:
            raise ActionError(f"an answer is one of {', '.join(ANSWERS)}, got {self.word!r}")
        if not self.ref or len(self.ref) > 40 or not self.ref.isprintable() or " " in self.ref:
            raise ActionError(f"an answer names an offer id or an ally, got {self.ref!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"word": self.word, "ref": self.ref}


@dataclass(frozen=True, slots=True)
class Action:
    """What a creature does in one turn: orders, an optional gossip line and thought.

    `answers` are its replies to the financier's offers pending this turn
    (`Observation.offers`) and any pact it breaks; an offer left without an
    answer lapses, as declined.

    An invalid decision is still an Action: `valid=False`, no orders, and
    `reason` saying what was wrong. The turn never crashes on a decision.
    """

    orders: tuple[Order, ...] = ()
    gossip: Gossip | None = None
    thought: str = ""
    valid: bool = True
    reason: str = ""
    call: ModelCall | None = field(default=None, compare=False)
    answers: tuple[Answer, ...] = ()

    def __post_init__(self) -> None:
        if len(self.thought) > MAX_THOUGHT_CHARS or "\n" in self.thought:
            raise ActionError(f"thought must be one line of at most {MAX_THOUGHT_CHARS} characters")
        if len({a.ref for a in self.answers}) != len(self.answers):
            raise ActionError("at most one answer to each offer or ally")

    @classmethod
    def hold(cls, reason: str = "", call: ModelCall | None = None) -> Action:
        """Do nothing this turn; with a reason, the decision counts as invalid."""
        return cls(valid=not reason, reason=reason, call=call)


class Offer(NamedTuple):
    """One of the financier's offers to one creature, pending its answer this turn.

    Private to that creature: no other creature's observation carries it.
    - `loan`: `pebbles` lent now; `repay` owed in all at the settlement of
      turn `due` (`rate` percent of `pebbles` a turn, each rounded up);
    - `bribe`: `pebbles` paid now for `ask` (`sell GOOD`, `hold GOOD`, or
      `gossip TEXT`), which the creature may ignore;
    - `pact`: an alliance with the creature named in `ask`.
    """

    id: str
    kind: str
    pebbles: int = 0
    repay: int = 0
    due: int = 0
    rate: int = 0
    ask: str = ""


class Debt(NamedTuple):
    """What a creature owes the financier: `owed` pebbles (interest so far included),
    `repay` in all at the settlement of turn `due`."""

    owed: int
    repay: int
    due: int


class Observation(NamedTuple):
    """Everything one creature may know at decision time, and nothing more.

    Built by the observe phase from public facts and the creature's own
    state. Private facts (truth of tips, the financier's book, hidden legend
    parameters) must never reach it: a test scans every observation.

    Immutable: a named tuple (every creature gets one every turn, and a
    frozen dataclass's field-by-field init was most of the cost of
    observing), its mappings read-only views. `obs._replace(...)` makes a
    changed copy.
    """

    turn: int
    creature: str
    species: str
    role: str
    personality: str
    produces: tuple[str, ...]
    pebbles: int
    stores: Mapping[str, int]
    goods: tuple[str, ...]
    foods: tuple[str, ...]
    fuel: str
    burn: int
    wants: Mapping[str, int]
    short_of: Mapping[str, int]
    mood: int
    prices: Mapping[str, int]
    history: Mapping[str, tuple[int, ...]]
    news: tuple[str, ...]
    headlines: tuple[str, ...]
    heard: tuple[str, ...]
    whispers: tuple[str, ...]
    feelings: str
    others: tuple[str, ...]
    max_orders: int
    max_qty: int
    bands: Mapping[str, tuple[int, int]]
    # The financier's offers to this creature alone, pending its answer this turn.
    offers: tuple[Offer, ...] = ()
    # Its own debts to the financier.
    debts: tuple[Debt, ...] = ()
    # The creatures it has a pact with (their gossip reaches it, first).
    allies: tuple[str, ...] = ()


@runtime_checkable
class Policy(Protocol):
    """Decides a creature's action from its observation: one method.

    Optional attributes a policy may carry, read with defaults: `concurrent`
    (True for model-backed policies, asked in parallel threads; the others
    are called inline, since a thread costs more than a rule), `timeout_s`
    (the decision's wall-clock budget; past it the turn goes on with a
    traced `hold`) and `label` (how the trace names the policy).
    """

    def decide(self, observation: Observation) -> Action: ...


class FunctionPolicy:
    """A plain function `observation -> Action` as a policy."""

    concurrent = False

    def __init__(self, fn: Callable[[Observation], Action]) -> None:
        self.fn = fn
        self.label = getattr(fn, "__name__", "function")

    def __repr__(self) -> str:
        return f"<FunctionPolicy {self.label}>"

    def decide(self, observation: Observation) -> Action:
        return self.fn(observation)


def as_policy(candidate: object) -> Policy:
    """A policy object as it is, a plain function wrapped; anything else is refused."""
    if isinstance(candidate, Policy):
        return candidate
    if callable(candidate):
        return FunctionPolicy(candidate)  # type: ignore[arg-type]  # checked at call time
    raise TypeError(
        f"a policy needs a decide(observation) method or must be a function; "
        f"got {type(candidate).__name__}"
    )


@dataclass(frozen=True, slots=True)
class Sampling:
    """How model creatures decode, whole: a run's spec carries it to every completion request.

    `temperature` 0 decodes greedily (play); sweeps sample, each call with a
    seed derived from the run's seed, the creature and the turn, so seeds
    are independent draws of a population's behaviour, not replicas.
    `top_p` and `min_p` are llama.cpp's (and vLLM's) nucleus and min-p
    filters; unset (None), they are not sent, so a request, a trace and a
    run.json without them are what they always were. `serial` asks model
    creatures one at a time, in creature order: batched decoding in
    parallel slots depends on request timing, so only this makes a live run
    repeat exactly on one machine.

    A new knob is a field here with its range in `KNOBS`; the command line,
    cast files and the request body read them off this class.
    """

    temperature: float = 0.0
    top_p: float | None = None
    min_p: float | None = None
    serial: bool = False

    # The knobs a completion request carries: each one's allowed range and what it does.
    KNOBS: ClassVar[dict[str, tuple[float, float, str]]] = {
        "temperature": (0.0, 5.0, "sampling temperature of model creatures (0: greedy)"),
        "top_p": (0.0, 1.0, "nucleus sampling: keep the likeliest tokens up to this mass"),
        "min_p": (0.0, 1.0, "keep tokens at least this fraction as likely as the likeliest"),
    }

    def __post_init__(self) -> None:
        for name, (low, high, _) in self.KNOBS.items():
            value = getattr(self, name)
            if value is None and name != "temperature":
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise WoodmarketError(f"{name} must be a number, got {value!r}")
            if not math.isfinite(value) or not low <= value <= high:
                raise WoodmarketError(f"{name} must lie in {low:g}..{high:g}, got {value}")
        if not isinstance(self.serial, bool):
            raise WoodmarketError(f"serial must be true or false, got {self.serial!r}")

    def knobs(self) -> dict[str, float]:
        """The knobs a request sends: the temperature, and any other that is set."""
        return {n: getattr(self, n) for n in self.KNOBS if getattr(self, n) is not None}

    def but(self, **changes: Any) -> Sampling:
        """This sampling with some knobs set (a cast seat's own, say); None keeps one."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        """Its JSON form, knobs left unset left out (run.json stays as it was without them)."""
        out: dict[str, Any] = self.knobs()
        out["serial"] = self.serial
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "sampling") -> Sampling:
        if not isinstance(data, Mapping):
            raise WoodmarketError(f"{where}: must be an object")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise WoodmarketError(f"{where}: unknown key {unknown[0]!r}; keys: {', '.join(names)}")
        return cls(**data)


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    """One chat completion: static system prompt first, turn facts last."""

    system: str
    user: str
    grammar: str | None = None
    max_tokens: int = 32
    sampling: Sampling = field(default_factory=Sampling)
    seed: int = 0
    slot: int | None = None
    stop: tuple[str, ...] = ()
    # (text piece, bias) pairs added to the logits of the piece's tokens.
    logit_bias: tuple[tuple[str, float], ...] = ()

    @property
    def temperature(self) -> float:
        return self.sampling.temperature


@dataclass(frozen=True, slots=True)
class Completion:
    """A backend's answer with its token accounting."""

    text: str
    model: str
    prompt_tokens: int = 0
    cached_tokens: int = 0
    generated_tokens: int = 0
    latency_ms: float = 0.0
    finish_reason: str = ""


@runtime_checkable
class Backend(Protocol):
    """Reaches a model: one request in, one completion out; raises BackendError."""

    def complete(self, request: CompletionRequest) -> Completion: ...
