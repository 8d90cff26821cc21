"""The compact action syntax a model answers in: its grammar, parser and printer.

This room turns model text into a validated `Action` and back. It reads an
`Observation` and builds value objects from `woodmarket.types`; it touches
no state of the wood.

The syntax, one instruction per line (the canonical form `render` writes)::

    buy 2 berries 5           an order: side, quantity, good, limit price
    sell 3 honey 10           (whole numbers; at most `max_orders` order lines)
    hold                      no orders this turn (instead of order lines)
    say all: honey is scarce  optional gossip, to `all` or one creature by name
    say Pip: 2                passes on item 2 of what it heard, whole
    think: winter is near     optional short thought
    accept L1                 answers the financier's offer L1 (or `decline L1`)
    break Pip                 ends a pact with an ally

Answer lines come first, one for each of the financier's offers pending
(`Observation.offers`, in their order), each `accept ID` or `decline ID`,
then at most one `break ALLY`; they count against no cap. Then order
lines (or `hold`), then at most one `say` and one `think`.
What a creature heard this turn is numbered (`heard_items`: whispers,
news, then gossip heard, its speakers named once); a `say` whose words
are a number passes that item on whole, so a rumour travels for a few
generated tokens however long it is, and a replay resolves the number
from the observation alone. Free gossip (a number is never free gossip)
stays short: the grammar bounds it at `GRAMMAR_TEXT_CHARS`.
Quantity before the good reads as English ("buy 2 berries"), which is the
order small models drift to anyway; and every word follows a space, so it
can be one token (" berries") rather than a space plus word pieces. No
"at" before the price: it cost a token a line, and the models copy a
bare price from their facts ("Short 2 berries 5") as readily. With the
bundled tokenizers (every digit its own token) an order line is 6 tokens
and a two-order answer 14, when the sampler keeps to whole words (Gemma 3
nearly always does; SmolLM2 under a grammar sometimes spells "b", "u",
"y" and doubles that).

Validity, shared by the grammar and the parser: the good is real; a
creature never buys what it produces; the quantity is 1..`max_qty` and a
sale never exceeds the stores on hand; the price lies in the good's band
(inclusive); at most one order per good (so no self-trade and no price
ladders); gossip goes to `all` or another creature; texts are one
printable line.

`grammar_for` writes a llama.cpp GBNF grammar that admits only such
answers, with caps on lines and on order lines, and gossip that is free
(short text or a heard item's number), limited to passing on what the
creature heard (`phrases`: a heard item's number), or absent;
`answer_chars` bounds its longest answer, for a token budget that never
cuts one short.
`parse` is tolerant of what a grammar-less model writes (any case,
singular or plural goods, `at` / `@` / `for` / `x` around numbers, the good
before the quantity, bullets, bold, code fences, chatter around an order,
several orders on one line) but clamps nothing: an invalid order is
dropped and the reason recorded as "line N: ...", a sign is never
dropped ("sell -5 honey 3" is invalid, not 5). If no valid order
remains and the reply was not an explicit `hold`, the result is
`Action.hold(reason)`. It never raises on model output, and hostile
input is refused cheaply: a reply is read up to `MAX_REPLY_CHARS`, a
number up to `_MAX_DIGITS` digits, a line past `_MAX_LABELS` labels.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from itertools import pairwise
from typing import NamedTuple

from woodmarket.rules import order_problem as market_problem
from woodmarket.types import (
    ANSWERS,
    MAX_GOSSIP_CHARS,
    MAX_THOUGHT_CHARS,
    Action,
    Answer,
    Gossip,
    Observation,
    Order,
)

__all__ = [
    "GOSSIP_HEARD_CHARS",
    "GRAMMAR_TEXT_CHARS",
    "MAX_REPLY_CHARS",
    "TALK_MODES",
    "WORD_PIECES",
    "WORD_PIECE_BIAS",
    "Heard",
    "answer_chars",
    "escaped",
    "grammar_for",
    "heard_items",
    "int_range",
    "one_line",
    "order_problem",
    "parse",
    "phrases",
    "render",
]

# Free gossip and thoughts are bounded in the grammar (the parser takes up
# to the types' limits): every character a model writes is paid for in
# generated tokens. Passing on what was heard costs a number instead.
GRAMMAR_TEXT_CHARS = 48
# Gossip heard that a creature is shown per turn, in characters of its
# lines ("Pip, Rusk: honey is scarce"): whole items only, the oldest
# dropped first, the freshest always shown. Room for a whole forwarded
# rumour and a few short lines; whispers and news are never budgeted.
GOSSIP_HEARD_CHARS = 400
# A reply is cut to this many characters before it is read (a grammar-
# bound answer is under 200; a runaway or hostile one is not read whole).
MAX_REPLY_CHARS = 4096
# A quantity or price needs a few digits; a longer run is refused before
# int() (which refuses over 4,300 digits, and is slow well before that).
_MAX_DIGITS = 6
# Labels read past at the start of a line ("Answer: Action: buy ...").
_MAX_LABELS = 4
# A word of the reply quoted in a reason is cut to this many characters.
_QUOTE_CHARS = 24
# Word pieces a grammar admits where a whole word is meant. Under a grammar
# SmolLM2 often starts a line "b" "uy" or "se" "ll" rather than "buy" or
# "sell", each piece a generation step. A bias against them, not a ban,
# makes it take the whole-word token; where the grammar allows nothing
# else they are still written, so what an answer may say is unchanged.
# (A bias against the bare " " it also writes before a good, " " "hon"
# "ey", saved another half token but changed which goods it chose, and
# fewer orders met.)
WORD_PIECES = ("b", "bu", "s", "se", "sel")
WORD_PIECE_BIAS = -10.0
# Tracking which goods already have an order costs one grammar rule per
# subset of goods; beyond this many subsets fall back to a plain repeat
# and let the parser drop a second order for a good.
_MAX_GRAMMAR_STATES = 512
# Notes beyond this many are summarised, so a flood of garbage cannot
# make a reason longer than the reply.
_MAX_NOTES = 6

_SIDES = {"buy": "buy", "bid": "buy", "purchase": "buy", "sell": "sell"}
_HOLDS = frozenset({"hold", "pass", "skip"})
_SAYS = frozenset({"say", "tell", "gossip", "whisper", "shout"})
_THINKS = frozenset({"think", "thought", "thinking", "note", "reason"})
_EVERYONE = frozenset({"all", "everyone", "everybody"})
# Words a model puts around quantity and price that carry no meaning here.
_FILLER = frozenset(
    "at for of each per a an the some x qty quantity price pebbles pebble p units unit "
    "more and to with".split()
)

_FENCE = re.compile(r"^\s*(```|~~~)")
_BULLET = re.compile(r"^(?:[-*•>]+|\(?\d{1,2}[.)])\s+")
_LABEL = re.compile(r"^[A-Za-z][A-Za-z ]{0,15}:\s*")
# A minus sign stays on its number (ASCII, or the typographic minus).
_WORDS = re.compile(r"[a-z]+|[-\u2212]?[0-9]+(?:\.[0-9]+)?")
# Gossip words that are a reference to a heard item: "2", "#2", "2.".
_REFERENCE = re.compile(r"#?([0-9]+)[.!]?")
_SIDE_WORD = re.compile(r"\b(buy|bid|purchase|sell)\b", re.IGNORECASE)
_FIRST_WORD = re.compile(r"[A-Za-z]+")


# --------------------------------------------------------------------------
# validity


def _band(obs: Observation, good: str) -> tuple[int, int] | None:
    band = obs.bands.get(good)
    if band is None:
        return None
    lo, hi = max(1, int(band[0])), int(band[1])
    return (lo, hi) if lo <= hi else None


def order_problem(order: Order, obs: Observation) -> str:
    """Why `order` is not valid for this creature now; "" when it is.

    The market's rules for one order (a good of the wood, the quantity
    limit, the price band) come from `rules.order_problem`, stated once;
    a creature's own rules are added: only its own orders, never buying
    what it makes, never selling more than it holds.
    """
    if order.creature != obs.creature:
        return f"order for {order.creature}, not {obs.creature}"
    problem = market_problem(order, obs.goods, obs.bands, obs.max_qty)
    if problem:
        return problem
    good = order.good
    if order.side == "buy" and good in obs.produces:
        return f"never buy {good}: you make it"
    if order.side == "sell" and order.qty > obs.stores.get(good, 0):
        return f"sell {order.qty} {good} but have {obs.stores.get(good, 0)}"
    return ""


# --------------------------------------------------------------------------
# grammar


def _digit_runs(lo: str, hi: str) -> list[str]:
    """GBNF sequences matching the integers lo..hi, both with the same digit count."""
    if len(lo) == 1:
        return [f'"{lo}"' if lo == hi else f"[{lo}-{hi}]"]
    if lo[0] == hi[0]:
        return [f'"{lo[0]}" {rest}' for rest in _digit_runs(lo[1:], hi[1:])]
    n = len(lo) - 1
    runs: list[str] = []
    low_tail, high_tail = lo[1:], hi[1:]
    first, last = int(lo[0]), int(hi[0])
    # Full decades in the middle collapse to one class per digit position.
    if low_tail != "0" * n:
        runs += [f'"{lo[0]}" {rest}' for rest in _digit_runs(low_tail, "9" * n)]
        first += 1
    if high_tail != "9" * n:
        tail_runs = [f'"{hi[0]}" {rest}' for rest in _digit_runs("0" * n, high_tail)]
        last -= 1
    else:
        tail_runs = []
    if first <= last:
        head = f'"{first}"' if first == last else f"[{first}-{last}]"
        runs.append(f"{head} {' '.join(['[0-9]'] * n)}")
    return runs + tail_runs


def int_range(lo: int, hi: int) -> str:
    """A GBNF alternation matching exactly the whole numbers lo..hi (no leading zeros)."""
    if lo < 0 or hi < lo:
        raise ValueError(f"bad range {lo}..{hi}")
    runs: list[str] = []
    for digits in range(len(str(lo)), len(str(hi)) + 1):
        a = max(lo, 10 ** (digits - 1) if digits > 1 else 0)
        b = min(hi, 10**digits - 1)
        runs += _digit_runs(str(a), str(b))
    return " | ".join(runs)


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


TALK_MODES = ("free", "phrases", "none")
# Stock gossip a small model can pick in "phrases" mode, per good.
_PHRASES = ("{} {} scarce", "{} will rise", "{} will fall")


class Heard(NamedTuple):
    """One thing a creature heard this turn, as its prompt numbers it."""

    label: str  # "Whisper", "News", or who said it ("Pip, Rusk"); "" for nobody named
    text: str  # the words alone, whole, on one printable line


def one_line(text: str) -> str:
    """`text` on one printable line: each unprintable character (a line break,
    a control character, a lone surrogate) becomes a space; the ends are stripped.

    Nothing is cut, and ordinary spaces are kept as written, so what is
    passed on or rendered reads back the same.
    """
    if not text.isprintable():
        text = "".join(c if c.isprintable() else " " for c in text)
    return text.strip()


def heard_items(obs: Observation) -> tuple[Heard, ...]:
    """What the creature heard this turn, in the order its prompt numbers it (from 1).

    Whispers, then news, freshest first, each whole and never budgeted;
    then gossip heard, each text once with all who said it ("Pip, Rusk:
    honey is scarce"), in the order heard, whole items within
    `GOSSIP_HEARD_CHARS`, the oldest dropped first; gossip repeating a
    whisper or news item only adds its speakers to that item. A function of the
    observation alone, so a `say all: 2` read again in a replay finds the
    same item.
    """
    items = [Heard("Whisper", one_line(w)) for w in reversed(obs.whispers)]
    items += [Heard("News", one_line(n)) for n in reversed(obs.news)]
    said: dict[str, list[str]] = {}  # text -> speakers, in the order first heard
    for line in obs.heard:
        speaker, sep, words = line.partition(": ")
        if not sep:
            speaker, words = "", line
        text = one_line(words)
        speakers = said.setdefault(text, [])
        if speaker and speaker not in speakers:
            speakers.append(speaker)
    # Gossip repeating a whisper or news item is folded into it ("News (also
    # Pip, Rusk): ..."): a spreading rumour is read once, with who repeats it.
    for i, item in enumerate(items):
        if said.get(item.text):
            items[i] = Heard(f"{item.label} (also {', '.join(said[item.text])})", item.text)
        said.pop(item.text, None)
    gossip: list[Heard] = []
    left = GOSSIP_HEARD_CHARS
    for text, speakers in reversed(said.items()):
        item = Heard(", ".join(speakers), text)
        size = len(item.label) + len(": ") + len(text)
        if gossip and size > left:
            break  # this and everything older is dropped, whole
        gossip.append(item)
        left -= size + 1
    return tuple(i for i in (*items, *reversed(gossip)) if i.text)


def phrases(obs: Observation) -> tuple[str, ...]:
    """Stock gossip lines offered in "phrases" mode when nothing was heard; else none.

    What a creature heard it passes on by number (see `heard_items`); the
    stock lines ("honey is scarce") are offered only when there is nothing
    to pass on, since a small model picks them over anything else.
    """
    if heard_items(obs):
        return ()
    # "berries are scarce", "honey is scarce": plural goods end in s.
    return tuple(
        p.format(g, "are" if g.endswith("s") else "is") for g in obs.goods for p in _PHRASES
    )


class _Key(NamedTuple):
    """Only what changes the grammar: tradable goods, caps, bands, names, limits."""

    goods: tuple[tuple[str, bool, int, tuple[int, int]], ...]  # good, buyable, sell cap, band
    max_qty: int
    orders: int
    cap: int
    others: tuple[str, ...]
    talk: str | tuple[str, ...]  # "free", "none" or the stock phrases on offer
    refs: int  # heard items a `say` may pass on by number (0 with talk "none")
    thoughts: bool
    answers: tuple[str, ...] = ()  # the offers to answer first, by id
    allies: tuple[str, ...] = ()  # pacts it may break


def _grammar_key(
    obs: Observation, lines: int | None, orders: int | None, talk: str, thoughts: bool
) -> _Key:
    if talk not in TALK_MODES:
        raise ValueError(f"talk must be one of {TALK_MODES}, got {talk!r}")
    goods: list[tuple[str, bool, int, tuple[int, int]]] = []
    for good in obs.goods:
        band = _band(obs, good)
        if band is None:
            continue
        buy = good not in obs.produces
        sell_cap = min(obs.max_qty, obs.stores.get(good, 0))
        if buy or sell_cap > 0:
            goods.append((good, buy, max(0, sell_cap), band))
    others = tuple(n for n in obs.others if n != obs.creature)
    limit = obs.max_orders
    for cap_ in (lines, orders):
        limit = limit if cap_ is None else min(limit, cap_)
    limit = max(0, limit)
    cap = limit + 2 if lines is None else max(1, lines)
    said = phrases(obs) if talk == "phrases" else talk
    refs = 0 if talk == "none" else len(heard_items(obs))
    answers = tuple(o.id for o in obs.offers)
    return _Key(
        tuple(goods), obs.max_qty, limit, cap, others, said, refs, thoughts, answers, obs.allies
    )


def grammar_for(
    obs: Observation,
    lines: int | None = None,
    *,
    orders: int | None = None,
    talk: str = "free",
    thoughts: bool = True,
) -> str:
    """The GBNF grammar of every valid answer for this creature now.

    `lines` caps the answer's lines (orders, `say`, `think` together; `hold`
    counts as one) below what the market allows: each line costs about
    six generated tokens and small models fill whatever room they are
    given. `orders` caps the order lines alone (so a line can be kept for
    gossip). `talk` is "free" (a short line, or a heard item's number),
    "phrases" (a heard item's number, or stock lines when nothing was
    heard: see `phrases`) or "none"; `thoughts` offers a `think` line.
    """
    return _grammar(_grammar_key(obs, lines, orders, talk, thoughts))


def answer_chars(
    obs: Observation,
    lines: int | None = None,
    *,
    orders: int | None = None,
    talk: str = "free",
    thoughts: bool = True,
) -> int:
    """The longest answer `grammar_for` (same arguments) admits, in characters.

    The grammar's text is ASCII, so no token is shorter than a character:
    a token budget of this plus one (the end token) can never cut a
    grammar-bound answer short.
    """
    key = _grammar_key(obs, lines, orders, talk, thoughts)
    first = sum(len(f"decline {a}\n") for a in key.answers)
    first += max((len(f"break {n}\n") for n in key.allies), default=0)
    order_line = max(
        (len(f"sell {key.max_qty} {good} {hi}") for good, _, _, (_, hi) in key.goods),
        default=0,
    )
    n_orders = min(key.orders, len(key.goods), key.cap)
    extras = []
    if key.talk != "none":
        text = GRAMMAR_TEXT_CHARS if key.talk == "free" else max(map(len, key.talk), default=0)
        text = max(text, len(str(key.refs)) if key.refs else 0)
        name = max(map(len, ("all", *key.others)))
        extras.append(len(f"\nsay {'x' * name}: ") + text)
    if key.thoughts:
        extras.append(len("\nthink: ") + GRAMMAR_TEXT_CHARS)
    extras.sort(reverse=True)
    # Fewer orders leave room for more extras, which may be longer: try
    # every count, "hold" (0) included.
    return first + max(
        (k * (order_line + 1) - 1 if k else len("hold"))
        + sum(extras[: max(0, key.cap - max(1, k))])
        for k in range(n_orders + 1)
    )


@lru_cache(maxsize=512)
def _grammar(key: _Key) -> str:
    goods, max_qty, orders, cap, others, talk, refs, thoughts, answers, allies = key
    rules: list[str] = []
    order_rules: list[str] = []
    qty_caps: set[int] = set()
    for i, (good, buy, sell_cap, (lo, hi)) in enumerate(goods):
        alts = []
        if buy:
            alts.append(f'"buy " q{max_qty} " {good} " p{i}')
            qty_caps.add(max_qty)
        if sell_cap >= 1:
            alts.append(f'"sell " q{sell_cap} " {good} " p{i}')
            qty_caps.add(sell_cap)
        if alts:
            rules.append(f"o{i} ::= " + " | ".join(alts))
            rules.append(f"p{i} ::= {int_range(lo, hi)}")
            order_rules.append(f"o{i}")
    rules += [f"q{c} ::= {int_range(1, c)}" for c in sorted(qty_caps)]

    extras = _extras(talk != "none", thoughts, rules)

    def after(used: int) -> str:
        # What may follow once `used` lines are written and no order can.
        return f" {extras}{min(2, cap - used)}?" if extras and cap > used else ""

    head = f'"hold"{after(1)}'
    if order_rules and orders >= 1:
        head += " | " + _orders(order_rules, orders, after, rules)
    first = "".join(f'("accept" | "decline") " {a}\\n" ' for a in answers)
    if allies:
        first += '("break " (' + " | ".join(_literal(n) for n in allies) + ') "\\n")? '
    top = [f"root ::= {first}({head})" if first else f"root ::= {head}"]
    if talk != "none":
        said = [_literal(t) for t in talk] if talk != "free" else []
        if talk == "free":
            said.append(f"[A-Za-z] [A-Za-z ,.'!?-]{{0,{GRAMMAR_TEXT_CHARS - 1}}}")
        if refs:
            said.append("ref")
            rules.append(f"ref ::= {int_range(1, refs)}")
        text = "(" + " | ".join(said) + ")"
        targets = " | ".join(_literal(name) for name in ("all", *others))
        # The space after ':' is written glued to the first word (" honey"
        # is one token; " " then "honey" is three).
        top.append(f'say ::= "say " ({targets}) ": " {text}')
    if thoughts:
        # No digits: a small model's digits in free text run away ("2000000").
        top.append(f'think ::= "think: " [A-Za-z] [A-Za-z ,.\'!?-]{{0,{GRAMMAR_TEXT_CHARS - 1}}}')
    return "\n".join(top + sorted(rules, key=_rule_order)) + "\n"


def _extras(talk: bool, thoughts: bool, rules: list[str]) -> str:
    """Rules x1 (one more line) and x2 (two): a `say` line, then a `think` line."""
    if not (talk or thoughts):
        return ""
    one = [alt for alt, on in (('"\\n" say', talk), ('"\\n" think', thoughts)) if on]
    rules.append("x1 ::= " + " | ".join(one))
    two = ['"\\n" say ("\\n" think)?' if thoughts else '"\\n" say'] if talk else []
    rules.append("x2 ::= " + " | ".join([*two, *(['"\\n" think'] if thoughts else [])]))
    return "x"


def _rule_order(rule: str) -> tuple[str, int]:
    name = rule.split(" ", 1)[0]
    digits = name.lstrip("abcdefghijklmnopqrstuvwxyz-")
    return (name[: len(name) - len(digits)], int(digits) if digits.isdigit() else -1)


def _orders(
    order_rules: list[str], limit: int, after: Callable[[int], str], rules: list[str]
) -> str:
    """The order lines: each good at most once, at most `limit` lines.

    One rule per set of goods already used (a bit mask); when there would
    be too many sets, any order may repeat and the parser drops repeats.
    """
    n = len(order_rules)
    limit = min(n, limit)
    if sum(_choose(n, k) for k in range(1, limit)) > _MAX_GRAMMAR_STATES:
        rules.append("o ::= " + " | ".join(order_rules))
        more = f' ("\\n" o){{0,{limit - 1}}}' if limit > 1 else ""
        return f"o{more}"  # the extras cannot be placed exactly; none offered

    def ref(mask: int) -> str:
        used = bin(mask).count("1")
        return f" m{mask}" if used < limit else after(used)

    seen: set[int] = set()
    pending = [1 << i for i in range(n)]
    while pending:
        mask = pending.pop()
        used = bin(mask).count("1")
        if mask in seen or used >= limit:
            continue
        seen.add(mask)
        alts = []
        for i in range(n):
            if not mask & (1 << i):
                alts.append(f"{order_rules[i]}{ref(mask | 1 << i)}")
                pending.append(mask | 1 << i)
        tail = after(used).strip().rstrip("?")
        inner = f'"\\n" ({" | ".join(alts)})' + (f" | {tail}" if tail else "")
        rules.append(f"m{mask} ::= ({inner})?")
    return " | ".join(f"{order_rules[i]}{ref(1 << i)}" for i in range(n))


def _choose(n: int, k: int) -> int:
    out = 1
    for j in range(k):
        out = out * (n - j) // (j + 1)
    return out


# --------------------------------------------------------------------------
# printing


def render(action: Action) -> str:
    """The canonical text of an action; `parse(render(a), obs) == a` for valid ones."""
    lines = [f"{a.word} {a.ref}" for a in action.answers]
    lines += [f"{o.side} {o.qty} {o.good} {o.price}" for o in action.orders] or ["hold"]
    if action.gossip is not None:
        lines.append(f"say {action.gossip.to}: {action.gossip.text}")
    if action.thought:
        lines.append(f"think: {action.thought}")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# parsing


class _Reader:
    """One parse: the observation's lookups plus what has been read so far."""

    def __init__(self, obs: Observation) -> None:
        self.obs = obs
        self.aliases = _aliases(obs.goods)
        self.names = {n.lower(): n for n in obs.others if n != obs.creature}
        self.orders: list[Order] = []
        self.goods_used: set[str] = set()
        self.gossip: Gossip | None = None
        self.thought = ""
        self.held = False
        self.notes: list[str] = []
        self.answers: list[Answer] = []

    def note(self, lineno: int, message: str) -> None:
        self.notes.append(f"line {lineno}: {message}")

    def result_reason(self) -> str:
        notes = self.notes
        if len(notes) > _MAX_NOTES:
            notes = [*notes[:_MAX_NOTES], f"and {len(notes) - _MAX_NOTES} more"]
        return "; ".join(notes)

    # -- one segment of one line -------------------------------------------

    def read(self, lineno: int, segment: str) -> None:
        # A loop, not a recursion per label: a line of thousands of "a: "
        # costs a few regex matches and a note.
        for _ in range(_MAX_LABELS + 1):
            word, end = _first_word(segment)
            rest = segment[end:]
            if word in _SIDES:
                self.order(lineno, _SIDES[word], rest)
            elif word in _HOLDS:
                self.held = True
            elif word in _SAYS:
                self.say(lineno, rest)
            elif word in _THINKS:
                self.think(lineno, rest)
            elif word in ANSWERS:
                self.answer(lineno, word, rest)
            elif (label := _LABEL.match(segment)) and segment[label.end() :].strip():
                # "Action: buy honey 2 at 9" or "Answer: hold": read past the label.
                segment = segment[label.end() :]
                continue
            else:
                self.chatter(lineno, segment)
            return
        self.note(lineno, f"more than {_MAX_LABELS} labels, skipped")

    def chatter(self, lineno: int, segment: str) -> None:
        # "I will buy honey 2 at 9" still counts; prose that merely mentions
        # buying does not, unless it carries numbers like an attempted order.
        m = _SIDE_WORD.search(segment)
        if m is None:
            return
        side = _SIDES[m.group(1).lower()]
        rest = segment[m.end() :]
        order, problem = self.make_order(side, rest)
        if order is not None:
            self.accept(lineno, order)
        elif re.search(r"\d", rest):
            self.note(lineno, problem)

    def order(self, lineno: int, side: str, rest: str) -> None:
        order, problem = self.make_order(side, rest)
        if order is None:
            self.note(lineno, problem)
        else:
            self.accept(lineno, order)

    def make_order(self, side: str, rest: str) -> tuple[Order | None, str]:
        words = _WORDS.findall(rest.lower())
        good = self.find_good(words)
        if good is None:
            unknown = next((w for w in words if w.isalpha() and w not in _FILLER), None)
            if unknown is None:
                return None, f"{side} without a good"
            return None, f"unknown good '{_quote(unknown)}'"
        numbers = [w for w in words if not w[0].isalpha()]
        if len(numbers) < 2:
            return None, f"{side} {good} needs a quantity and a price"
        if len(numbers) > 2:
            shown = " ".join(_quote(n) for n in numbers[:4]) + (" ..." if len(numbers) > 4 else "")
            return None, f"{side} {good}: too many numbers ({shown})"
        if any(len(n.lstrip("-\u2212").split(".")[0]) > _MAX_DIGITS for n in numbers):
            return None, f"{side} {good}: a number longer than {_MAX_DIGITS} digits"
        if any("." in n for n in numbers):
            return None, f"{side} {good}: quantity and price must be whole numbers"
        qty, price = (int(n.replace("\u2212", "-")) for n in numbers)
        if qty < 1:
            return None, f"{side} {good}: quantity {qty} below 1"
        if price < 1:
            return None, f"{side} {good}: price {price} below 1"
        order = Order(self.obs.creature, side, good, qty, price)
        problem = order_problem(order, self.obs)
        return (None, problem) if problem else (order, "")

    def find_good(self, words: list[str]) -> str | None:
        for i, a in enumerate(words):
            b = words[i + 1] if i + 1 < len(words) else ""
            if (good := self.aliases.get(a + b)) is not None:
                return good  # "fire wood"
            if (good := self.aliases.get(a)) is not None:
                return good
        return None

    def accept(self, lineno: int, order: Order) -> None:
        if order.good in self.goods_used:
            self.note(lineno, f"second order for {order.good}, dropped")
        elif len(self.orders) >= self.obs.max_orders:
            self.note(lineno, f"more than {self.obs.max_orders} orders, dropped")
        else:
            self.orders.append(order)
            self.goods_used.add(order.good)

    def say(self, lineno: int, rest: str) -> None:
        if self.gossip is not None:
            self.note(lineno, "only one gossip line, dropped")
            return
        rest = rest.strip().lstrip(",-").strip()
        if rest.lower().startswith("to "):
            rest = rest[3:]
        if ":" in rest:
            who, text = rest.split(":", 1)
            who = who.strip()
        else:
            first, _, tail = rest.partition(" ")
            bare = first.strip(",.!").lower()
            if bare in _EVERYONE or bare in self.names:
                who, text = first.strip(",.!"), tail
            else:
                who, text = "", rest
        to = self.recipient(who)
        if to is None:
            self.note(lineno, f"gossip to unknown creature '{_quote(who.strip())}', dropped")
            return
        if to == "":
            self.note(lineno, "gossip to yourself, dropped")
            return
        text = one_line(_unquote(text.strip()))
        if (ref := _REFERENCE.fullmatch(text)) is not None:
            text = self.heard(lineno, ref.group(1))
            if not text:
                return  # noted by `heard`
        if not text:
            self.note(lineno, "empty gossip, dropped")
            return
        if len(text) > MAX_GOSSIP_CHARS:
            self.note(lineno, f"gossip cut to {MAX_GOSSIP_CHARS} characters")
            text = text[: MAX_GOSSIP_CHARS + 1].rsplit(" ", 1)[0][:MAX_GOSSIP_CHARS].rstrip()
        self.gossip = Gossip(to, text)

    def heard(self, lineno: int, number: str) -> str:
        """The words of heard item `number` (from 1), whole; "" with a note if there is none."""
        items = heard_items(self.obs)
        n = int(number) if len(number) <= _MAX_DIGITS else 0
        if not 1 <= n <= len(items):
            self.note(lineno, f"gossip passes on item {_quote(number)}, but {len(items)} heard")
            return ""
        return items[n - 1].text

    def recipient(self, who: str) -> str | None:
        """Canonical recipient; "" for oneself; None when nobody by that name."""
        key = who.lower().strip().strip(".,!@")
        if key in ("", *_EVERYONE):
            return "all"
        if key == self.obs.creature.lower():
            return ""
        return self.names.get(key)

    def think(self, lineno: int, rest: str) -> None:
        if self.thought:
            self.note(lineno, "only one thought, dropped")
            return
        rest = rest.strip()
        if rest[:1] in (":", "-"):
            rest = rest[1:]
        text = one_line(_unquote(rest.strip()))
        if len(text) > MAX_THOUGHT_CHARS:
            self.note(lineno, f"thought cut to {MAX_THOUGHT_CHARS} characters")
            text = text[:MAX_THOUGHT_CHARS].rstrip()
        self.thought = text

    def answer(self, lineno: int, word: str, rest: str) -> None:
        """`accept ID` / `decline ID` an offer pending, or `break ALLY`."""
        ref = rest.strip().strip(".,!:").split(" ")[0] if rest.strip() else ""
        if word == "break":
            allies = {a.lower(): a for a in self.obs.allies}
            found = allies.get(ref.lower())
            what = "no pact with"
        else:
            ids = {o.id.lower(): o.id for o in self.obs.offers}
            found = ids.get(ref.lower())
            what = "no offer"
        if found is None:
            self.note(lineno, f"{word}: {what} '{_quote(ref)}', dropped")
        elif any(a.ref == found for a in self.answers):
            self.note(lineno, f"a second answer to {found}, dropped")
        else:
            self.answers.append(Answer(word, found))

    # -- the whole reply -----------------------------------------------------

    def result(self) -> Action:
        reason = self.result_reason()
        answers = tuple(self.answers)
        if not self.orders and not self.held:
            if answers:  # answers alone are a decision: no orders this turn
                return Action(answers=answers, reason=reason)
            return Action.hold(reason or "no order and no hold found")
        return Action(
            tuple(self.orders),
            self.gossip,
            self.thought,
            valid=True,
            reason=reason,
            answers=answers,
        )


def _aliases(goods: tuple[str, ...]) -> dict[str, str]:
    """Spellings a model uses for each good: singular, plural, any case."""
    out: dict[str, str] = {}
    for good in goods:
        g = good.lower()
        forms = {g, g.replace(" ", "").replace("_", "").replace("-", "")}
        if g.endswith("ies"):
            forms.add(g[:-3] + "y")
        elif g.endswith("s"):
            forms.add(g[:-1])
        elif g.endswith("y"):
            forms.add(g[:-1] + "ies")
        else:
            forms.add(g + "s")
        for form in forms:
            out.setdefault(form, good)
    for good in goods:
        out[good.lower()] = good  # an exact name always wins over another's alias
    return out


def _first_word(segment: str) -> tuple[str, int]:
    """The leading word, lower-cased, and where it ends; "" if the line starts otherwise."""
    m = _FIRST_WORD.search(segment)
    if m is None or segment[: m.start()].strip(" *_#>-.:") != "":
        return "", 0
    return m.group(0).lower(), m.end()


def escaped(text: str) -> str:
    """`text` safe to store as UTF-8: a lone surrogate becomes its visible escape (\\ud83d)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _quote(word: str) -> str:
    """A word of the reply as a reason quotes it: short, one line, storable."""
    word = one_line(escaped(word))
    return word if len(word) <= _QUOTE_CHARS else word[: _QUOTE_CHARS - 3] + "..."


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1].strip()
    return text


def _clean(line: str) -> str:
    line = line.replace("**", "").replace("`", "").strip()
    line = _BULLET.sub("", line)
    return line.strip()


def _segments(line: str) -> list[str]:
    """Split a line holding several orders ("buy a 1 at 2; sell b 3 at 4")."""
    word, _ = _first_word(line)
    if word in _SAYS or word in _THINKS:
        return [line]
    parts: list[str] = []
    for chunk in line.split(";"):
        starts = [m.start() for m in _SIDE_WORD.finditer(chunk)]
        cuts = [0, *starts[1:], len(chunk)]
        parts += [chunk[a:b].strip(" ,") for a, b in pairwise(cuts)]
    return [p for p in (s.strip() for s in parts) if p]


def parse(text: object, obs: Observation) -> Action:
    """Read a model's reply into a valid Action; never raises.

    Dropped lines are named in `reason` ("line 2: unknown good 'sap'").
    Only the first `MAX_REPLY_CHARS` characters are read, with a note.
    """
    try:
        return _parse(text, obs)
    except Exception as exc:  # a parser bug must cost one creature one turn, not the run
        return Action.hold(f"unreadable reply ({type(exc).__name__})")


def _parse(text: object, obs: Observation) -> Action:
    if not isinstance(text, str):
        return Action.hold("empty reply")
    reader = _Reader(obs)
    if len(text) > MAX_REPLY_CHARS:
        text = text[:MAX_REPLY_CHARS]
        reader.notes.append(f"reply cut to {MAX_REPLY_CHARS} characters")
    if not text.strip():
        return Action.hold("empty reply")
    for lineno, raw in enumerate(text.splitlines(), 1):
        if _FENCE.match(raw):
            continue
        line = _clean(raw)
        for segment in _segments(line):
            reader.read(lineno, segment)
    if reader.held and reader.orders:
        reader.notes.append("hold ignored: the reply also has orders")
    return reader.result()
