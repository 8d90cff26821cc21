"""The action grammar: a llama.cpp GBNF grammar of every valid answer, and a GBNF toolkit.

This room reads an `Observation` and writes grammar text; it touches no
state of the wood. It asks `orders.py` for the price bands and `talk.py`
for what was heard; nothing here parses a reply.

`grammar_for` writes a grammar that admits only valid answers in the
canonical syntax `parse.render` writes (see `parse.py`): one `accept ID`
or `decline ID` line per pending offer, in their order, and an optional
`break ALLY`; then `hold` or order lines for goods of the wood, priced
within `price_band`, never buying what the creature produces, never
selling more than its stores (so every order passes
`orders.order_problem`), each good at most once while that takes at
most `_MAX_GRAMMAR_STATES` rules (beyond, the parser drops a repeat);
then at most one gossip line, to `all` or another creature by name, and
one thought. Lines and order lines are capped; gossip (`TALK_MODES`) is
free (short text or a heard item's number), limited to passing on a
heard item by number (or, when nothing was heard, stock lines:
`talk.phrases`), or absent. `answer_chars` bounds its longest answer,
for a token budget that never cuts one short. `int_range` is the
toolkit's piece: a GBNF alternation of exactly the whole numbers in a
range.

The syntax is spelled for few generated tokens. Quantity before the good
reads as English ("buy 2 berries"), which is the order small models
drift to anyway; and every word follows a space, so it can be one token
(" berries") rather than a space plus word pieces. No "at" before the
price: it cost a token a line, and the models copy a bare price from
their facts ("Short 2 berries 5") as readily. With the bundled
tokenizers (every digit its own token) an order line is 6 tokens and a
two-order answer 14, when the sampler keeps to whole words (Gemma 3
nearly always does; SmolLM2 under a grammar sometimes spells "b", "u",
"y" and doubles that: see `WORD_PIECES`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple

from woodmarket.policies.orders import price_band
from woodmarket.policies.talk import heard_items, phrases
from woodmarket.types import Observation

__all__ = [
    "GRAMMAR_TEXT_CHARS",
    "TALK_MODES",
    "WORD_PIECES",
    "WORD_PIECE_BIAS",
    "answer_chars",
    "grammar_for",
    "int_range",
]

# Free gossip and thoughts are bounded in the grammar (the parser takes up
# to the types' limits): every character a model writes is paid for in
# generated tokens. Passing on what was heard costs a number instead.
GRAMMAR_TEXT_CHARS = 48
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
# What the grammar offers for gossip (see `grammar_for`).
TALK_MODES = ("free", "phrases", "none")


# --------------------------------------------------------------------------
# the GBNF toolkit


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


# --------------------------------------------------------------------------
# the action grammar


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
        band = price_band(obs, good)
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
