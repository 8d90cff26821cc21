"""The season told from its records: why each loss happened, and how the season went.

`explain(records, turn)` says, in a sentence or two built only from the
trace's records, what caused each loss the player suffered on `turn`: a
forced cover (the trades that moved the mark, who, how many, at what
price, and the margin arithmetic), a fine or a freeze (the win and the
levers behind the heat), a loan that defaulted, a creature exiled, a
season lost. `recap(records, spec)` is the season at its end: the
player's moves, the target good's price path with the spring and the
settlement, what each creature did with the target, and why the
objective was met or missed.

The terminal game, the web app and the story page (story.py) all tell
the season through this room, so they say the same. It reads record
dicts only; it touches no wood and writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from woodmarket.drawing import esc
from woodmarket.rules import MAINTENANCE_PCT, ceil_pct

Record = Mapping[str, Any]


def of_kind(records: Iterable[Record], kind: str, turn: int | None = None) -> list[Record]:
    return [r for r in records if r["kind"] == kind and (turn is None or r["turn"] == turn)]


def explain(records: Sequence[Record], turn: int) -> list[str]:
    """Each loss of `turn`, explained from the records up to it (one or two sentences each)."""
    out = []
    for r in records:
        if r["turn"] != turn:
            continue
        kind, event = r["kind"], r.get("event")
        if kind == "financier" and r.get("source") == "margin":
            out.append(_forced(records, turn, r))
        elif kind == "magistrate" and event in ("fined", "frozen"):
            out.append(_ruling(records, turn, r))
        elif kind == "magistrate" and event == "lost":
            out.append(f"Turn {turn}: the season is lost: {r['why']}.")
        elif kind == "loan" and event == "defaulted":
            out.append(_default(r, turn))
        elif kind == "exile":
            out.append(
                f"Turn {turn}: {r['creature']} left the wood, its stores seized and "
                f"{r['owed']} pebbles of its debt to you still unpaid: that is written off."
            )
    return out


def _book(records: Sequence[Record], before: int) -> Record | None:
    books = [r for r in records if r["kind"] == "book" and r["turn"] < before]
    return books[-1] if books else None


def _forced(records: Sequence[Record], turn: int, r: Record) -> str:
    good = str(r["command"]).split()[-1]
    last = _book(records, turn)
    held = [p for p in (last or {}).get("positions", ()) if p["good"] == good]
    fills = [f for f in of_kind(records, "fill", turn) if f["good"] == good]
    settled = [x for x in of_kind(records, "legend", turn) if x.get("event") == "settled"]
    settled = [x for x in settled if x["target"] == good]
    closed = _closed(r["outcome"])
    exit_price, qty = closed.get("at", 0), closed.get("qty", 0)
    parts = [f"Turn {turn}: forced cover of your {good} short."]
    if held:
        p = held[0]
        moved = f"{good.capitalize()}'s mark went {p['mark']} -> {exit_price}"
        if settled:
            moved += f" (the legend's settlement set it: {settled[0]['cleared']} cleared first)"
        elif fills:
            said = "; ".join(
                f"{f['buyer']} bought {f['qty']} {good} from {f['seller']} at {f['price']}"
                for f in fills
            )
            trades = "one trade" if len(fills) == 1 else f"{len(fills)} trades"
            moved += f" on {trades}: {said}"
        else:
            moved += " with no trade (the reference drifts toward unfilled orders)"
        reference = _reference(r["outcome"])
        if reference is not None:
            moved += (
                f"; the reference went to {reference}, and the mark steps toward it by at most "
                "the scenario's share a settlement"
            )
        loss = p["qty"] * (exit_price - p["mark"])
        have, need = _margin(r["outcome"])
        own = ceil_pct(qty * exit_price, MAINTENANCE_PCT)
        rule = f"{MAINTENANCE_PCT}% of {qty} x {exit_price}" + (
            "" if own == need else f" = {own}, and your other shorts'"
        )
        parts.append(
            f"{moved}. Your short of {p['qty']} {good} (entry {p['entry']}) lost {loss} on it, "
            f"leaving {have} pebbles, below the maintenance of {need} ({rule}); "
            f"the house covered {qty} {good} at {exit_price}: P&L {closed.get('pnl', '?')}."
        )
        later = [
            x
            for x in of_kind(records, "legend")
            if x.get("event") == "sprung" and x["target"] == good and x["reckoning"] > turn
        ]
        if later:
            parts.append(
                f"The legend you told on turn {later[0]['turn']} settles on turn "
                f"{later[0]['reckoning']}: every settlement marks your short, and this one "
                "came first."
            )
    else:
        parts.append(str(r["outcome"]))
    return " ".join(parts)


def _closed(outcome: str) -> dict[str, Any]:
    """qty, at and pnl of a forced cover's outcome line (the book's own words)."""
    words = outcome.replace(",", "").split()
    out: dict[str, Any] = {}
    if "covered" in words:
        i = words.index("covered")
        out["qty"] = int(words[i + 1])
        out["at"] = int(words[i + 4])
    if "P&L" in words:
        out["pnl"] = words[words.index("P&L") + 1].rstrip(".")
    return out


def _reference(outcome: str) -> int | None:
    """The reference a forced cover's outcome names when it paid a lagging mark (else None)."""
    words = outcome.replace(")", " ").replace(",", " ").split()
    if "reference" not in words:
        return None
    return int(words[words.index("reference") + 2])


def _margin(outcome: str) -> tuple[int, int]:
    """(pebbles, maintenance) of a forced cover's outcome line."""
    words = outcome.replace(";", "").split()
    have = int(words[words.index("pebbles") - 1])
    need = int(words[words.index("maintenance") + 1])
    return have, need


def _ruling(records: Sequence[Record], turn: int, r: Record) -> str:
    heat = [x for x in of_kind(records, "magistrate", turn) if x.get("event") == "heat"]
    wins = heat[0]["wins"] if heat else []
    why = "; ".join(
        f"a win of {w['win']} on {w['good']} after your {' and '.join(w['levers'])} "
        f"(+{w['heat']} heat)"
        for w in wins
    )
    done = (
        f"fined you {r['fine']} pebbles"
        if r["event"] == "fined"
        else f"froze your account for {r['turns']} turns (until turn {r['until']})"
    )
    return f"Turn {turn}: the magistrate {done}: heat reached {r['heat']}" + (
        f", from {why}." if why else "."
    )


def _default(r: Record, turn: int) -> str:
    seized = ", ".join(f"{n} {g}" for g, n in r["seized"].items()) or "nothing"
    return (
        f"Turn {turn}: {r['creature']} could not repay its loan {r['id']}: it paid "
        f"{r['paid']} pebbles, {seized} was seized (worth {r['value']}), "
        f"and {r['written_off']} was written off."
    )


@dataclass
class Recap:
    """A finished season, as the records tell it."""

    moves: list[tuple[int, str, bool, str]] = field(default_factory=list)
    target: str = ""
    path: list[int] = field(default_factory=list)  # the target's reference, turn 0 first
    spring: int | None = None
    settlement: int | None = None
    creatures: dict[str, dict[str, int]] = field(default_factory=dict)
    objective: str = ""
    why: str = ""
    losses: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = ["The season, as the record tells it:"]
        out.append("  your moves:")
        out += [
            f"    turn {t}: {cmd} ({'made' if ok else 'refused'}: {said})"
            for t, cmd, ok, said in self.moves
        ] or ["    none"]
        if self.target:
            marks = []
            if self.spring is not None:
                marks.append(f"the legend told on turn {self.spring}")
            if self.settlement is not None:
                marks.append(f"it settled on turn {self.settlement}")
            out.append(
                f"  {self.target}: {' -> '.join(map(str, self.path))}"
                + (f" ({'; '.join(marks)})" if marks else "")
            )
            for name, did in self.creatures.items():
                out.append(
                    f"    {name}: bought {did['bought']}, sold {did['sold']} {self.target}; "
                    f"holds {did['holds']}"
                )
        out += [f"  {x}" for x in self.losses]
        out.append(f"  {self.objective}: {self.why}" if self.why else f"  {self.objective}")
        return out

    def html(self) -> str:
        """The recap as HTML, every text escaped (the web app's scoreboard and the story page)."""
        moves = "".join(
            f"<tr><td>{t}</td><td><code>{esc(cmd)}</code></td>"
            f"<td class='{'' if ok else 'no'}'>{'made' if ok else 'refused'}: {esc(said)}</td></tr>"
            for t, cmd, ok, said in self.moves
        )
        parts = ["<h2>The season</h2>"]
        parts.append(
            f"<table data-wm='moves'><tr><th>turn</th><th>your move</th><th>what it did</th></tr>"
            f"{moves or '<tr><td colspan=3>no moves</td></tr>'}</table>"
        )
        if self.target:
            marks = []
            if self.spring is not None:
                marks.append(f"the legend told on turn {self.spring}")
            if self.settlement is not None:
                marks.append(f"settled on turn {self.settlement}")
            path = " &rarr; ".join(str(p) for p in self.path)
            parts.append(
                f"<p data-wm='target'><b>{esc(self.target)}</b>: {path}"
                + (f" ({esc('; '.join(marks))})" if marks else "")
                + "</p>"
            )
            rows = "".join(
                f"<tr><td>{esc(n)}</td><td>{d['bought']}</td><td>{d['sold']}</td>"
                f"<td>{d['holds']}</td></tr>"
                for n, d in self.creatures.items()
            )
            parts.append(
                f"<table data-wm='creatures'><tr><th>creature</th><th>bought</th><th>sold</th>"
                f"<th>holds at the end</th></tr>{rows}</table>"
            )
        parts += [f"<p class='loss' data-wm='loss'>{esc(x)}</p>" for x in self.losses]
        said = f"{self.objective}: {self.why}" if self.why else self.objective
        parts.append(f"<p data-wm='objective'><b>{esc(said)}</b></p>")
        return "".join(parts)


def target_of(records: Sequence[Record], gambit_target: str = "") -> str:
    """The good the season was about: the gambit's, the legend told's, or the first short's."""
    if gambit_target:
        return gambit_target
    told = [r["target"] for r in records if r["kind"] == "legend" and r.get("event") == "sprung"]
    if told:
        return str(told[0])
    for r in of_kind(records, "financier"):
        words = str(r.get("command", "")).split()
        if r.get("ok") and len(words) == 3 and words[0] == "short":
            return words[1]
    return ""


def recap(
    records: Sequence[Record], summary: Mapping[str, Any] | None = None, gambit_target: str = ""
) -> Recap:
    """The season from its records (and summary.json's objective, when there is one)."""
    out = Recap()
    out.moves = [
        (r["turn"], str(r["command"]), bool(r["ok"]), str(r["outcome"]))
        for r in of_kind(records, "financier")
        if r.get("source") in ("player", "gambit")
    ]
    target = out.target = target_of(records, gambit_target)
    if target:
        start = of_kind(records, "start")
        out.path = [start[0]["prices"][target]] if start else []
        out.path += [r["reference"] for r in of_kind(records, "price") if r["good"] == target]
        for r in of_kind(records, "legend"):
            if r["target"] == target and r.get("event") == "sprung" and out.spring is None:
                out.spring, out.settlement = r["turn"], r.get("reckoning")
        last = of_kind(records, "holdings")
        holders = last[-1]["holders"] if last else {}
        names = start[0].get("creatures", []) if start else []
        for name in names:
            fills = [f for f in of_kind(records, "fill") if f["good"] == target]
            out.creatures[name] = {
                "bought": sum(f["qty"] for f in fills if f["buyer"] == name),
                "sold": sum(f["qty"] for f in fills if f["seller"] == name),
                "holds": holders.get(name, {}).get("stores", {}).get(target, 0),
            }
    turns = sorted({r["turn"] for r in records})
    for t in turns:
        out.losses += explain(records, t)
    fin = (summary or {}).get("financier") or {}
    out.objective = str(fin.get("objective", ""))
    out.why = _why(records, out.objective)
    return out


def _why(records: Sequence[Record], objective: str) -> str:
    books = of_kind(records, "book")
    if not books or not objective:
        return ""
    best = max(books, key=lambda b: (b["pebbles"], -b["turn"]))
    last = books[-1]
    if objective.startswith("objective met"):
        return (
            f"you reached the goal; your pebbles peaked at {best['pebbles']} on turn {best['turn']}"
        )
    if objective.startswith("season lost"):
        return "the magistrate ended it (see above)"
    forced = [r for r in of_kind(records, "financier") if r.get("source") == "margin"]
    cause = f"; a forced cover on turn {forced[0]['turn']} cost you most" if forced else ""
    return (
        f"you ended with {last['pebbles']} pebbles (P&L {last['pnl']:+d}); at best "
        f"{best['pebbles']} on turn {best['turn']}{cause}"
    )
