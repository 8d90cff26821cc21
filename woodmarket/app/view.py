"""The page's pictures of a session: HTML strings built from the wood, the financier and the trace.

Pure functions of a session (no UI toolkit): creature cards, price charts
(inline SVG, history with the legend's spring and settlement marked), the
headline ticker, the gossip feed, what each creature thought and answered
this turn, the objective and scoreboard (the magistrate's heat, loans,
bribes, pacts and exiles among it), the legends, and for a rewound game
the run and turn it branched from. Every piece of text
that a player or a model wrote, and every name from a scenario, passes
through `esc`: it is shown as text, never obeyed as markup or script.
Elements the browser tests read carry `data-wm` attributes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from woodmarket.drawing import chart, esc
from woodmarket.financier import FINANCIER, MAINTENANCE_PCT, ceil_pct
from woodmarket.financier.whispers import legends_of
from woodmarket.memory import bucket
from woodmarket.text import printable

if TYPE_CHECKING:
    from woodmarket.app.session import Session

CSS = """
.wm { font-family: ui-sans-serif, system-ui, sans-serif; font-size: 14px; }
.wm h3 { margin: 4px 0 6px; font-size: 15px; }
.wm-cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 8px; }
.wm-card { border: 1px solid #b9a98a; border-radius: 8px; padding: 6px 8px; background: #fbf7ee; }
.wm-card .who { font-weight: 600; }
.wm-card .model { font-size: 12px; color: #5b4a2f; }
.wm-card table, .wm-table { border-collapse: collapse; font-size: 13px; margin: 2px 0; }
.wm-card td { padding: 0 6px !important; border: none !important; }
.wm-table td, .wm-table th { border-bottom: 1px solid #e2d8c3; padding: 2px 6px;
  text-align: right; }
.wm-table td:first-child, .wm-table th:first-child { text-align: left; }
.wm-charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr));
  gap: 8px; }
.wm-chart { border: 1px solid #d8ccb4; border-radius: 8px; padding: 4px; background: #fff; }
.wm-ticker { border-left: 4px solid #8a5a00; padding: 4px 8px; background: #fff8e6; }
.wm-ticker .now { font-weight: 600; font-size: 16px; }
.wm-feed { max-height: 220px; overflow-y: auto; font-size: 13px; }
.wm-bar { height: 10px; background: #eee3cc; border-radius: 5px; overflow: hidden; }
.wm-bar > div { height: 10px; background: #4f7a28; }
.wm-msg-ok { color: #2d5a10; } .wm-msg-no { color: #9b1c1c; font-weight: 600; }
.wm-pos { color: #2d5a10; } .wm-neg { color: #9b1c1c; }
.wm-status { font-size: 15px; padding: 4px 0; }
.wm-think td { vertical-align: top; text-align: left !important; }
.wm-think pre { white-space: pre-wrap; max-height: 160px; overflow-y: auto; font-size: 12px; }
.wm-heat > div { background: #b5541c; }
.wm-gone { opacity: 0.55; border-style: dashed; }
.wm-spin { display: inline-block; animation: wm-spin 1s linear infinite; }
@keyframes wm-spin { from { transform: rotate(0deg); } to { transform: rotate(360deg); } }
"""


def signed(n: int) -> str:
    return f"{n:+d}"


def _cls(n: float) -> str:
    return "wm-pos" if n > 0 else "wm-neg" if n < 0 else ""


def header(s: Session) -> str:
    wood, fin = s.wood, s.fin
    spec = wood.scenario.financier
    goal = spec.objective_pebbles
    share = max(0, min(100, round(100 * fin.pebbles / goal))) if goal else 100
    state = "closed" if s.closed else "lost" if fin.lost else "over" if s.game.over else "playing"
    lost = " class='wm-msg-no'" if fin.lost else ""
    return (
        f'<div class="wm" data-wm="header" data-turn="{wood.turn}" data-state="{state}" '
        f'data-scenario="{esc(s.scenario)}">'
        f"<h3>{esc(wood.scenario.name)}: turn <span data-wm='turn'>{wood.turn}</span> of "
        f"{s.game.turns}</h3>"
        f'<div data-wm="objective"{lost}>{esc(fin.objective())}</div>'
        f'<div class="wm-bar" title="{share}% of the objective"><div style="width:{share}%">'
        f"</div></div>{magistrate(s)}"
        f"<div style='font-size:12px'>cast: {esc(s.cast)}; narrator: {esc(s.narrator)}; "
        f"seed {wood.seed}; run folder: <code data-wm='folder'>{esc(s.run_folder)}</code></div>"
        f"{branch(s)}</div>"
    )


def branch(s: Session) -> str:
    """Where a rewound game branched: its parent run folder's name and the turn ("" if none)."""
    fork = s.game.fork
    if fork is None:
        return ""
    parent = PurePath(fork.path).name or fork.path
    return (
        f"<div style='font-size:12px' data-wm='branch' data-at='{fork.at}'>a branch of "
        f"<code data-wm='parent'>{esc(parent)}</code> at turn {fork.at}</div>"
    )


def magistrate(s: Session) -> str:
    """The magistrate's heat against the scenario's limit, its thresholds, freeze and fines."""
    wood, judge = s.wood, s.fin.judge
    rule, limit = wood.scenario.magistrate, wood.scenario.financier.heat_limit
    heat = judge.heat
    marks = [f"fines at {rule.fine_at}"] if rule.fine_at else []
    if rule.freeze_at and rule.freeze_turns:
        marks.append(f"freezes at {rule.freeze_at} for {rule.freeze_turns} turns")
    if limit:
        marks.append(f"the season is lost at {limit}")
    left = judge.frozen(wood.turn + 1)
    frozen = (
        f"; <b class='wm-neg' data-wm='frozen' data-turns='{left}'>account frozen: {left} more "
        f"turn{'s' * (left > 1)}</b>"
        if left
        else ""
    )
    # The bar fills toward the heat that loses the season, or else toward the freeze.
    top = limit or rule.freeze_at or rule.fine_at
    bar = (
        f'<div class="wm-bar wm-heat" title="heat {heat} of {top}">'
        f'<div style="width:{max(0, min(100, round(100 * heat / top)))}%"></div></div>'
        if top
        else ""
    )
    return (
        f'<div data-wm="magistrate">magistrate\'s heat <b data-wm="heat" data-limit="{limit}">'
        f"{heat}</b>{f' of {limit}' if limit else ''}"
        + (f" ({', '.join(marks)})" if marks else "")
        + frozen
        + f"; fined <b data-wm='fined'>{judge.fined}</b> pebbles in all</div>{bar}"
    )


def message(s: Session | None, text: str | None = None, ok: bool | None = None) -> str:
    if text is None:
        text = s.message if s is not None else ""
        ok = s.ok if s is not None else True
    if not text:
        return '<div class="wm" data-wm="message"></div>'
    kind = "wm-msg-ok" if ok else "wm-msg-no"
    return f'<div class="wm {kind}" data-wm="message" data-ok="{int(bool(ok))}">{esc(text)}</div>'


def status(s: Session | None, elapsed: float | None = None) -> str:
    """The turn's progress line: who is still thinking while the models run."""
    if s is None:
        return '<div class="wm wm-status" data-wm="status"></div>'
    if elapsed is None:
        return f'<div class="wm wm-status" data-wm="status" data-busy="0">turn {s.wood.turn}</div>'
    who = s.status.removeprefix("thinking: ") if s.status else ""
    line = f"thinking: {esc(who)}" if who else "the market is clearing"
    return (
        f'<div class="wm wm-status" data-wm="status" data-busy="1">'
        f'<span class="wm-spin">&#9881;</span> turn {s.wood.turn + 1}: {line} '
        f"({elapsed:.1f} s)</div>"
    )


def _model_of(policy: Any) -> str:
    model = getattr(policy, "model", None)
    if model:
        return f"model {model}"
    return str(getattr(policy, "label", type(policy).__name__))


def creatures(s: Session) -> str:
    wood = s.wood
    cards = []
    for name, c in wood.creatures.items():
        stores = "".join(
            f"<tr><td>{esc(g)}</td><td data-wm='store' data-good='{esc(g)}'>{n}</td></tr>"
            for g, n in c.account.stores.items()
            if n
        )
        feel = bucket(wood.memory.score(name, FINANCIER)) or "neutral"
        cards.append(
            f'<div class="wm-card" data-wm="creature" data-name="{esc(name)}">'
            f"<div class='who'>{esc(name)}</div>"
            f"<div>{esc(c.spec.species)}, {esc(c.spec.role)}</div>"
            f"<div class='model'>driven by {esc(_model_of(wood.policies[name]))}</div>"
            f"<div>pebbles <b data-wm='pebbles'>{c.account.pebbles}</b>; mood {c.mood}"
            f"{'' if c.fed else ', hungry'}{'' if c.warm else ', cold'}</div>"
            f"<div>feels: {esc(wood.memory.summary(name))}</div>"
            f"<div>toward you: {esc(feel)}</div>{_ties(s, name)}"
            f"<table>{stores or '<tr><td>(no stores)</td></tr>'}</table></div>"
        )
    cards += [
        f'<div class="wm-card wm-gone" data-wm="exiled-card" data-name="{esc(name)}">'
        f"<div class='who'>{esc(name)}</div><div>left the wood, ruined by debt</div></div>"
        for name in wood.exiled
    ]
    return f'<div class="wm"><h3>The wood</h3><div class="wm-cards">{"".join(cards)}</div></div>'


def _ties(s: Session, name: str) -> str:
    """A creature's debt to the financier and its allies, on its card."""
    out = ""
    loan = s.fin.patron.loan_of(name)
    if loan is not None:
        out += (
            f"<div data-wm='debt' data-owed='{loan.owed}'>owes you {loan.owed} "
            f"({loan.repay} due at turn {loan.due})</div>"
        )
    allies = s.wood.allies(name)
    if allies:
        out += f"<div data-wm='allies'>allies: {esc(', '.join(allies))}</div>"
    return out


def _marks(s: Session) -> dict[str, list[tuple[int, str]]]:
    """Per good, the turns a legend was sprung and settles, as chart marks."""
    out: dict[str, list[tuple[int, str]]] = {}
    for sp in s.fin.legends.sprung:
        g = sp.legend.target
        out.setdefault(g, []).append((sp.turn, f"spring ({sp.mechanism})"))
        out.setdefault(g, []).append((sp.reckoning, "settlement"))
    return out


def charts(s: Session) -> str:
    wood = s.wood
    marks = _marks(s)
    body = "".join(chart(g, wood.history[g], marks.get(g, ()), s.game.turns) for g in wood.goods)
    return f'<div class="wm"><h3>Prices</h3><div class="wm-charts">{body}</div></div>'


def ticker(s: Session) -> str:
    heads = s.wood.headlines
    if not heads:
        return (
            '<div class="wm wm-ticker" data-wm="ticker"><span class="now" data-wm="headline">'
            "The Wood Gazette waits for the first turn.</span></div>"
        )
    first = len(heads)
    rows = [f"<div>{first - i}: {esc(h)}</div>" for i, h in enumerate(reversed(heads[-6:-1]), 1)]
    return (
        f'<div class="wm wm-ticker" data-wm="ticker">'
        f'<div>{first}: <span class="now" data-wm="headline">{esc(heads[-1])}</span></div>'
        f"{''.join(rows)}</div>"
    )


def gossip(s: Session) -> str:
    rows = [
        f"<div data-wm='gossip'>turn {r['turn']}: <b>{esc(r['creature'])}</b> to "
        f"{esc(r['to'])}: {esc(r['text'])}</div>"
        for r in reversed(s.gossip)
    ]
    news = [text for when, text in s.wood.news if s.wood.turn - when < 2]
    items = [f"<div data-wm='news'>news: {esc(t)}</div>" for t in news] + rows
    body = "".join(items) or "<div>(nobody has said anything yet)</div>"
    return f'<div class="wm"><h3>Gossip and news</h3><div class="wm-feed">{body}</div></div>'


def _offers(offers: Iterable[Mapping[str, Any]]) -> str:
    return (
        ", ".join(f"{esc(o['side'])} {o['qty']} {esc(o['good'])} at {o['price']}" for o in offers)
        or "hold"
    )


def thoughts(s: Session) -> str:
    """Each creature's decision this turn, from the trace: thought, answer, prompt."""
    last = s.last
    if last is None:
        return '<div class="wm"><h3>What they thought</h3><div>(no turn yet)</div></div>'
    rows = []
    for r in last.records:
        if r["kind"] != "decision":
            continue
        call = r.get("call") or {}
        answer = call.get("response") if call else None
        prompt = ""
        if call:
            prompt = (
                f"<details><summary>prompt</summary><pre>{esc(call.get('system', ''))}\n\n"
                f"{esc(call.get('user', ''))}</pre></details>"
            )
        said = f"<pre data-wm='answer'>{esc(answer)}</pre>" if answer is not None else "(rules)"
        verdict = "" if r["valid"] else f"<div class='wm-neg'>invalid: {esc(r['reason'])}</div>"
        thought = f"<td data-wm='thought'>{esc(r.get('thought') or '')}</td>" if s.thoughts else ""
        rows.append(
            f"<tr data-wm='decision' data-name='{esc(r['creature'])}'><td><b>"
            f"{esc(r['creature'])}</b><br>{esc(r['policy'])}</td>{thought}"
            f"<td>{said}{prompt}</td><td>{_offers(r['offers'])}{verdict}</td></tr>"
        )
    # The thought column only when the creatures think aloud: an empty one says nothing.
    head = "<th>thought</th>" if s.thoughts else ""
    title = "What they thought and answered" if s.thoughts else "What they answered"
    return (
        f'<div class="wm"><h3>{title}, turn {last.turn}</h3>'
        f'<table class="wm-table wm-think"><tr><th>creature</th>{head}'
        f"<th>answer</th><th>orders</th></tr>{''.join(rows)}</table></div>"
    )


def scoreboard(s: Session) -> str:
    fin = s.fin
    rank, of = fin.rank()
    pnl = fin.pnl()
    rows = []
    for good, p in sorted(fin.positions.items()):
        maint = ceil_pct(p.qty * p.mark, MAINTENANCE_PCT)
        rows.append(
            f"<tr data-wm='position' data-good='{esc(good)}'><td>short {p.qty} {esc(good)}</td>"
            f"<td>{p.entry}</td><td>{p.mark}</td><td class='{_cls(p.pnl)}'>{signed(p.pnl)}</td>"
            f"<td>{maint}</td></tr>"
        )
    positions = (
        "<table class='wm-table'><tr><th>position</th><th>entry</th><th>mark</th><th>P&amp;L</th>"
        f"<th>maint.</th></tr>{''.join(rows)}</table>"
        if rows
        else "<div>no open positions</div>"
    )
    held = ", ".join(f"{n} {esc(g)}" for g, n in fin.stores.items() if n)
    queued = "".join(f"<li data-wm='queued'>{esc(m)}</li>" for m in fin.queued())
    whispers = []
    for w in fin.whispered[-4:]:
        kind = "tip (true)" if w.true else f"rumor ({w.verdict or 'unverified'})"
        whispers.append(
            f"<li data-wm='whispered'>to {esc(w.to)}, turn {w.turn}, {kind}: {esc(w.text)}</li>"
        )
    closed = (
        f"<div>realized P&amp;L {signed(fin.realized())} over {len(fin.closed)} closed shorts</div>"
        if fin.closed
        else ""
    )
    return (
        '<div class="wm" data-wm="scoreboard"><h3>Scoreboard</h3>'
        f"<div>pebbles <b data-wm='pebbles-you'>{fin.pebbles}</b>, worth {fin.worth()}, "
        f"P&amp;L <b class='{_cls(pnl)}' data-wm='pnl'>{signed(pnl)}</b>, rank "
        f"<b data-wm='rank'>{rank}</b> of {of} (against the creatures); free for margin "
        f"{fin.free_pebbles()}</div>{positions}{closed}"
        + (f"<div>stores: {held}</div>" if held else "")
        + (f"<div>queued for turn {s.wood.turn + 1}:<ul>{queued}</ul></div>" if queued else "")
        + patron(s)
        + (f"<div>whispers:<ul>{''.join(whispers)}</ul></div>" if whispers else "")
        + _recap(s)
        + "</div>"
    )


def _recap(s: Session) -> str:
    """The season told from its record, once it is over (recap.py, as the story page tells it)."""
    told = s.game.recap()
    return f"<div data-wm='recap'>{told.html()}</div>" if told is not None else ""


BRIBES_SHOWN = 6


def _flag(value: bool | None) -> str:
    return "" if value is None else str(int(value))


def patron(s: Session) -> str:
    """The patron's book: loans (open, then past), bribes, offers, pacts and exiles."""
    fin, wood = s.fin, s.wood
    pat = fin.patron
    parts = []
    loans = sorted(pat.loans, key=lambda ln: (ln.state != "open", ln.start))
    rows = []
    for ln in loans:
        now = str(ln.owed) if ln.state == "open" else ln.state
        rows.append(
            f"<tr data-wm='loan' data-name='{esc(ln.creature)}' data-id='{esc(ln.id)}' "
            f"data-state='{esc(ln.state)}' data-owed='{ln.owed}'><td>{esc(ln.creature)}</td>"
            f"<td>{ln.principal}</td><td>{ln.rate}%</td><td>{esc(now)}</td><td>{ln.repay}</td>"
            f"<td>{ln.due}</td></tr>"
        )
    if rows:
        parts.append(
            "<table class='wm-table'><tr><th>loan to</th><th>lent</th><th>rate</th>"
            "<th>owed now</th><th>at term</th><th>due turn</th></tr>" + "".join(rows) + "</table>"
        )
    said = {True: "yes", False: "no", None: "-"}
    rows = [
        f"<tr data-wm='bribe' data-name='{esc(b.creature)}' data-id='{esc(b.id)}' "
        f"data-taken='{int(b.taken)}' data-complied='{_flag(b.complied)}'>"
        f"<td>{esc(b.creature)}</td><td>{b.amount}</td><td>{esc(b.ask)}</td><td>{b.turn}</td>"
        f"<td>{said[b.taken]}</td><td>{said[b.complied]}</td></tr>"
        for b in pat.bribes[-BRIBES_SHOWN:]
    ]
    if rows:
        parts.append(
            "<table class='wm-table'><tr><th>bribe to</th><th>paid</th><th>ask</th>"
            "<th>turn</th><th>taken</th><th>complied</th></tr>" + "".join(rows) + "</table>"
        )
    # Offers the last turn's creatures turned down: the patron keeps no record of them.
    if s.last is not None:
        for r in s.last.records:
            if r["kind"] == "loan" and r.get("event") == "answered" and not r["made"]:
                parts.append(
                    f"<div data-wm='declined' data-kind='loan' data-id='{esc(r['id'])}'>"
                    f"{esc(r['creature'])} did not take your loan ({esc(r['answer'])})</div>"
                )
            elif r["kind"] == "pact" and r.get("event") == "refused":
                who = " and ".join(map(esc, r["creatures"]))
                parts.append(
                    f"<div data-wm='declined' data-kind='pact' data-id='{esc(r['id'])}'>"
                    f"no pact between {who} ({esc(', '.join(r['answers']))})</div>"
                )
    pending = [
        f"<li data-wm='pending' data-kind='{esc(p.offer.kind)}' data-id='{esc(p.offer.id)}'>"
        f"{esc(p.offer.kind)} to {esc(' and '.join(p.to))}</li>"
        for p in pat.pending
    ]
    if pending:
        parts.append(f"<div>offers not yet answered:<ul>{''.join(pending)}</ul></div>")
    pacts = [
        f"<li data-wm='pact' data-a='{esc(a)}' data-b='{esc(b)}'>{esc(a)} and {esc(b)}</li>"
        for a, b in sorted(wood.pacts)
    ]
    if pacts:
        parts.append(f"<div>pacts:<ul>{''.join(pacts)}</ul></div>")
    gone = [f"<li data-wm='exiled' data-name='{esc(n)}'>{esc(n)}</li>" for n in wood.exiled]
    if gone:
        parts.append(f"<div>exiled:<ul>{''.join(gone)}</ul></div>")
    return "".join(parts)


def legends(s: Session) -> str:
    book = s.fin.legends
    rows = []
    for lg in legends_of(s.wood):
        told = next((sp for sp in book.sprung if sp.legend.id == lg.id), None)
        state = ""
        if told is not None:
            landed = f", {esc(lg.target)} {told.pre} -> {told.after}" if told.after else ""
            state = f" <i>(told turn {told.turn}, {esc(told.mechanism)}{landed})</i>"
        rows.append(
            f"<li data-wm='legend' data-id='{esc(lg.id)}'><b>{esc(lg.title)}</b> "
            f"<code>{esc(lg.id)}</code>: moves {esc(lg.target)}; its own mechanism "
            f"{esc(lg.mechanism)}{state}<br><small>retells: {esc(lg.episode)}</small></li>"
        )
    return f'<div class="wm"><h3>Legends of this wood</h3><ul>{"".join(rows)}</ul></div>'


def tip_choices(s: Session) -> list[tuple[str, str]]:
    """(label, key) pairs for the whisper form: the true tips of the wood being played."""
    return [
        (printable(t.text if len(t.text) <= 90 else t.text[:87] + "..."), t.key)
        for t in s.fin.tips()
    ]


def rewind_choices(s: Session) -> list[str]:
    """The turns a rewind may go back to: every turn played, the oldest first."""
    return [str(t) for t in range(1, s.wood.turn + 1)]
