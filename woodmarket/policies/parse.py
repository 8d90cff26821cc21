"""The answer syntax a model writes: its printer (`render`) and tolerant parser (`parse`).

This room turns model text into a validated `Action` and back. It reads
an `Observation` (asking `orders.py` whether an order is valid and
`talk.py` what was heard) and builds value objects from
`woodmarket.types`; it touches no state of the wood.

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
lines (or `hold`), then at most one `say` and one `think`. A `say` whose
words are a number passes on that item of `talk.heard_items` whole; a
number is never free gossip.

`parse` keeps an order only if `orders.order_problem` accepts it, at most
one order per good (so no self-trade and no price ladders) and
`max_orders` in all; gossip goes to `all` or another creature; texts are
one printable line. It is tolerant of what a grammar-less model writes
(any case, singular or plural goods, `at` / `@` / `for` / `x` around
numbers, the good before the quantity, bullets, bold, code fences,
chatter around an order, several orders on one line) but clamps nothing:
an invalid order is dropped and the reason recorded as "line N: ...", a
sign is never dropped ("sell -5 honey 3" is invalid, not 5). If no valid
order remains and the reply was not an explicit `hold`, the result is
`Action.hold(reason)`. It never raises on model output, and hostile
input is refused cheaply: a reply is read up to `MAX_REPLY_CHARS`, a
number up to `_MAX_DIGITS` digits, a line past `_MAX_LABELS` labels.
"""

from __future__ import annotations

import re
from itertools import pairwise

from woodmarket.policies.orders import order_problem
from woodmarket.policies.talk import heard_items, one_line
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

__all__ = ["MAX_REPLY_CHARS", "escaped", "parse", "render"]

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
