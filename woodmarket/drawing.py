"""Drawing for people: text made inert HTML, and a good's price path as inline SVG.

Shared by the web app's page (app/view.py) and a season's story page
(story.py): every text that came from a creature, a model or a player
goes through `esc` before it reaches HTML, and a chart draws from whole
numbers only, inline, so a page requests nothing from anywhere. Pure
functions; this room knows no wood.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from woodmarket.text import printable

# Characters that HTML would leave alone but a client-side template might read.
_TEMPLATE = str.maketrans({"{": "&#123;", "}": "&#125;", "$": "&#36;", "`": "&#96;"})


def esc(text: object) -> str:
    """Text as inert HTML: control characters shown as escapes, markup and templates quoted."""
    return html.escape(printable(str(text)), quote=True).translate(_TEMPLATE)


def chart(good: str, history: Sequence[int], marks: Iterable[tuple[int, str]], turns: int) -> str:
    """One good's reference price after each turn (turn 0 the start), as inline SVG."""
    w, h, pad = 220, 110, 22
    top = max([*history, 1])
    span = max(turns, len(history) - 1, 1)

    def x(turn: float) -> float:
        return pad + (w - 2 * pad) * turn / span

    def y(price: float) -> float:
        return h - pad - (h - 2 * pad) * price / top

    points = " ".join(f"{x(i):.1f},{y(p):.1f}" for i, p in enumerate(history))
    parts = [
        f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="#999"/>',
        f'<text x="2" y="{y(top) + 4:.1f}" font-size="10">{top}</text>',
        f'<text x="{pad}" y="{h - 6}" font-size="10">0</text>',
        f'<text x="{w - pad - 8}" y="{h - 6}" font-size="10">{span}</text>',
    ]
    for turn, label in marks:
        colour = "#b00020" if label == "settlement" else "#1f5fbf"
        parts.append(
            f'<line x1="{x(turn):.1f}" y1="{pad - 8}" x2="{x(turn):.1f}" y2="{h - pad}" '
            f'stroke="{colour}" stroke-dasharray="3,2" data-wm="mark" data-label="{esc(label)}"/>'
            f'<text x="{x(turn) + 2:.1f}" y="{pad - 10 + (8 if label == "settlement" else 0)}" '
            f'font-size="9" fill="{colour}">{esc(label)}</text>'
        )
    if len(history) > 1:
        parts.append(f'<polyline fill="none" stroke="#8a5a00" stroke-width="2" points="{points}"/>')
    parts += [
        f'<circle cx="{x(i):.1f}" cy="{y(p):.1f}" r="2.5" fill="#8a5a00"><title>turn {i}: {p}'
        f"</title></circle>"
        for i, p in enumerate(history)
    ]
    now = history[-1]
    return (
        f'<div class="wm-chart" data-wm="chart" data-good="{esc(good)}">'
        f"<b>{esc(good)}</b> <span data-wm='price' data-good='{esc(good)}'>{now}</span> pebbles"
        f'<svg width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" '
        f'aria-label="{esc(good)} price history">{"".join(parts)}</svg></div>'
    )
