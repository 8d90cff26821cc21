"""A season you can share: one self-contained HTML page of a run folder.

    woodmarket story RUN --out PAGE.html

The page holds the season's recap (recap.py: the player's moves, the
target's price path with the spring and the settlement, what each
creature did with it, why the objective was met or missed, every loss
explained), the price of every good as inline SVG with the legend's
marks, each turn's headline, and each creature's answer turn by turn
(its reply, orders, gossip and thought). Everything is inline: the page
requests nothing from any network. Every text from a creature, a model or
the player is escaped (`drawing.esc`), so no markup, script or template
in a reply does anything but show. A damaged run folder is one
`ReplayError` line.

This room reads a run folder and writes the one page it is asked for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from woodmarket.drawing import chart, esc
from woodmarket.errors import WoodmarketError
from woodmarket.recap import of_kind, recap
from woodmarket.replay import opened
from woodmarket.traces import load_trace, read_summary, write_whole

CSS = """
body { font-family: ui-sans-serif, system-ui, sans-serif; font-size: 14px; margin: 16px;
       max-width: 1100px; color: #2b2418; background: #fffdf8; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 22px; }
.charts { display: flex; flex-wrap: wrap; gap: 10px; }
.wm-chart { border: 1px solid #d8ccb4; border-radius: 6px; padding: 4px 8px; }
table { border-collapse: collapse; font-size: 13px; }
td, th { border-bottom: 1px solid #eee2c8; padding: 3px 6px; text-align: left;
         vertical-align: top; }
.no { color: #9b1c1c; } .loss { color: #9b1c1c; }
pre { white-space: pre-wrap; margin: 0; font-size: 12px; }
"""


def story(folder: str | Path) -> str:
    """The season of the run in `folder`, as one HTML page."""
    folder, _, spec, scenario = opened(folder)
    records = load_trace(folder).records
    summary = read_summary(folder)
    gambit = spec.the_gambit(scenario) if spec.gambit else None
    told = recap(records, summary, gambit.target if gambit is not None else "")
    turns = max((r["turn"] for r in records), default=0)
    head = (
        f"{esc(scenario.name)}: seed {spec.seed}, cast {esc(spec.cast)}, {turns} of "
        f"{spec.turns} turns"
    )
    body = [
        f"<h1>{head}</h1>",
        told.html(),
        "<h2>Prices</h2>",
        _charts(records, spec.turns),
        "<h2>Headlines</h2>",
        _headlines(records),
        "<h2>What the creatures answered</h2>",
        _answers(records),
    ]
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{head}</title><style>{CSS}</style></head><body>"
        + "".join(body)
        + "</body></html>\n"
    )


def write_story(folder: str | Path, out: str | Path) -> Path:
    """Write the page of `folder` to `out` (whole, or not at all)."""
    out = Path(out)
    if out.is_dir():
        raise WoodmarketError(f"--out {out}: a folder is there, not a file")
    if not out.parent.is_dir():
        raise WoodmarketError(f"--out {out}: no folder {out.parent} to write it in")
    write_whole(out, story(folder))
    return out


def _charts(records: Sequence[Mapping[str, Any]], turns: int) -> str:
    start = of_kind(records, "start")
    prices = dict(start[0]["prices"]) if start else {}
    history = {g: [p] for g, p in prices.items()}
    for r in of_kind(records, "price"):
        history.setdefault(r["good"], []).append(r["reference"])
    marks: dict[str, list[tuple[int, str]]] = {}
    for r in of_kind(records, "legend"):
        if r.get("event") == "sprung":
            marks.setdefault(r["target"], []).append((r["turn"], f"spring ({r['mechanism']})"))
            marks.setdefault(r["target"], []).append((r["reckoning"], "settlement"))
    drawn = "".join(chart(g, h, marks.get(g, ()), turns) for g, h in history.items())
    return f"<div class='charts'>{drawn}</div>"


def _headlines(records: Sequence[Mapping[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td>{r['turn']}</td><td data-wm='headline'>{esc(r['text'])}</td></tr>"
        for r in of_kind(records, "headline")
    )
    return f"<table>{rows}</table>"


def _answers(records: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for r in of_kind(records, "decision"):
        call = r.get("call") or {}
        said = call.get("response") if isinstance(call, dict) else None
        orders = ", ".join(
            f"{o['side']} {o['qty']} {o['good']} at {o['price']}" for o in r.get("offers", ())
        )
        gossip = r.get("gossip") or {}
        rows.append(
            f"<tr data-wm='answer'><td>{r['turn']}</td><td>{esc(r['creature'])}</td>"
            f"<td>{esc(r.get('policy', ''))}</td>"
            f"<td><pre>{_lines(said) if said is not None else ''}</pre></td>"
            f"<td>{esc(orders or 'hold')}</td>"
            f"<td>{esc(gossip.get('text', '')) if gossip else ''}</td>"
            f"<td>{esc(r.get('thought', ''))}</td>"
            f"<td class='{'' if r.get('valid') else 'no'}'>{esc(r.get('reason', ''))}</td></tr>"
        )
    head = (
        "<tr><th>turn</th><th>creature</th><th>policy</th><th>reply</th><th>orders</th>"
        "<th>gossip</th><th>thought</th><th>note</th></tr>"
    )
    return f"<table data-wm='answers'>{head}{''.join(rows)}</table>"


def _lines(text: object) -> str:
    """A reply as shown: each of its lines escaped, the line breaks kept."""
    return "\n".join(esc(line) for line in str(text).split("\n"))
