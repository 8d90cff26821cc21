"""The Gradio page: the wood at a glance, the financier's panel, the experiment tab.

Imported only by `woodmarket.app.build_app`, so the engine never needs
Gradio. Each browser tab is one session, keyed by Gradio's session hash
(`Sessions` in session.py holds the woods); every handler looks its own
session up by that key, so no handler can reach another tab's wood. The
page draws with `view.py` (all text escaped) and never loads anything
from outside the server: no analytics, no fonts or scripts from a CDN.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Before Gradio is imported: no telemetry, no version check against the internet.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr

from woodmarket.app import experiment, view
from woodmarket.app.session import (
    CAST_LABELS,
    CASTS,
    NARRATORS,
    Full,
    Refused,
    Session,
    Sessions,
    level_keys,
    level_label,
    whole,
)
from woodmarket.errors import WoodmarketError
from woodmarket.financier.commands import ASKS
from woodmarket.legends import MECHANISMS

TITLE = "woodmarket: the financier in the shadows"
POLL_S = 0.25  # how often the page hears who is still thinking
INTRO = (
    "<div class='wm'><h2 style='margin:2px 0'>woodmarket</h2>"
    "You are a financier working from the shadows of a woodland market. "
    "<b>Your objective</b> is shown above the scoreboard. Press <b>First trade</b>, then "
    "<b>Next turn</b>; spring a legend with the mechanism of your choice and cover after it "
    "settles. The creatures may decline to panic. As their patron you may also lend, bribe "
    "and broker pacts; the magistrate watches for wins that follow your levers.</div>"
)


def build(sessions: Sessions) -> gr.Blocks:
    """The whole page, wired to `sessions`."""
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        gr.HTML(INTRO)
        with gr.Tab("Play"):
            with gr.Row():
                scenario = gr.Dropdown(
                    [(level_label(k), k) for k in level_keys()],
                    value=sessions.scenario,
                    label="scenario and level",
                    scale=1,
                    elem_id="wm-scenario",
                )
                cast = gr.Dropdown(
                    [(CAST_LABELS[c], c) for c in CASTS],
                    value=sessions.cast,
                    label="cast (who drives the creatures)",
                    scale=2,
                )
                seed = gr.Textbox("0", label="seed", max_lines=1, scale=1)
                narrator = gr.Radio(
                    list(NARRATORS),
                    value="template",
                    label="narrator",
                    scale=1,
                    elem_id="wm-narrator",
                )
                new = gr.Button("New wood", scale=1)
            header = gr.HTML(elem_id="wm-header")
            with gr.Row():
                with gr.Column(scale=3):
                    ticker = gr.HTML(elem_id="wm-ticker")
                    charts = gr.HTML(elem_id="wm-charts")
                    creatures = gr.HTML(elem_id="wm-creatures")
                    with gr.Row():
                        gossip = gr.HTML(elem_id="wm-gossip")
                    thoughts = gr.HTML(elem_id="wm-thoughts")
                with gr.Column(scale=2):
                    with gr.Row():
                        first = gr.Button("First trade", variant="primary", elem_id="wm-first")
                        step = gr.Button("Next turn", variant="primary", elem_id="wm-next")
                    status = gr.HTML(elem_id="wm-status")
                    message = gr.HTML(elem_id="wm-message")
                    score = gr.HTML(elem_id="wm-score")
                    with gr.Accordion("Short a good", open=True):
                        with gr.Row():
                            short_good = _menu("good", "wm-short-good")
                            short_qty = gr.Textbox("8", label="quantity", elem_id="wm-short-qty")
                        short_btn = gr.Button("Short", elem_id="wm-short")
                    with gr.Accordion("Cover a short", open=False):
                        cover_good = _menu("good", "wm-cover-good")
                        cover_btn = gr.Button("Cover", elem_id="wm-cover")
                    with gr.Accordion("Place an order in the auction", open=False):
                        with gr.Row():
                            side = gr.Radio(["buy", "sell"], value="buy", label="side")
                            order_good = _menu("good", "wm-order-good")
                        with gr.Row():
                            order_qty = gr.Textbox("1", label="quantity", elem_id="wm-order-qty")
                            order_price = gr.Textbox("5", label="price", elem_id="wm-order-price")
                        order_btn = gr.Button("Place order", elem_id="wm-order")
                    with gr.Accordion("Whisper to a creature", open=True):
                        who = _menu("creature", "wm-who")
                        tip = gr.Dropdown([], label="a true tip (or leave empty)", elem_id="wm-tip")
                        words = gr.Textbox(
                            "",
                            label="or your own words (a rumor)",
                            max_lines=1,
                            elem_id="wm-words",
                        )
                        whisper_btn = gr.Button("Whisper", elem_id="wm-whisper")
                    with gr.Accordion("Spring a legend", open=True):
                        legend = _menu("legend", "wm-legend")
                        mechanism = gr.Radio(
                            [("its own", "own"), *[(m, m) for m in MECHANISMS]],
                            value="own",
                            label="mechanism",
                            elem_id="wm-mechanism",
                        )
                        spring_btn = gr.Button("Spring", elem_id="wm-spring")
                    with gr.Accordion("Lend to a creature", open=False):
                        with gr.Row():
                            lend_who = _menu("creature", "wm-lend-who")
                            lend_amount = gr.Textbox(
                                "10", label="pebbles", max_lines=1, elem_id="wm-lend-amount"
                            )
                        with gr.Row():
                            lend_rate = gr.Textbox(
                                "10", label="rate (% a turn)", max_lines=1, elem_id="wm-lend-rate"
                            )
                            lend_turns = gr.Textbox(
                                "2", label="turns to term", max_lines=1, elem_id="wm-lend-turns"
                            )
                        lend_btn = gr.Button("Lend", elem_id="wm-lend")
                    with gr.Accordion("Bribe a creature", open=False):
                        with gr.Row():
                            bribe_who = _menu("creature", "wm-bribe-who")
                            bribe_amount = gr.Textbox(
                                "10", label="pebbles", max_lines=1, elem_id="wm-bribe-amount"
                            )
                        with gr.Row():
                            bribe_ask = gr.Radio(
                                list(ASKS), value="sell", label="ask", elem_id="wm-bribe-ask"
                            )
                            bribe_good = _menu("good (sell or hold)", "wm-bribe-good")
                        bribe_words = gr.Textbox(
                            "",
                            label="words to pass on (gossip)",
                            max_lines=1,
                            elem_id="wm-bribe-words",
                        )
                        bribe_btn = gr.Button("Bribe", elem_id="wm-bribe")
                    with gr.Accordion("Pacts between creatures", open=False):
                        with gr.Row():
                            ally_a = _menu("creature", "wm-ally-a")
                            ally_b = _menu("and creature", "wm-ally-b")
                        ally_btn = gr.Button("Broker a pact", elem_id="wm-ally")
                    legends = gr.HTML(elem_id="wm-legends")
        with gr.Tab("Experiment"):
            _experiment_tab(sessions)
        timer = gr.Timer(2.0, active=False)

        board: list[Any] = [
            header,
            ticker,
            charts,
            creatures,
            gossip,
            thoughts,
            status,
            message,
            score,
        ]
        board += [legends, tip]
        # The creature dropdowns, last: redrawn after every turn, so an exiled creature goes.
        roster = [who, lend_who, bribe_who, ally_a, ally_b]
        board += roster
        setup = [short_good, cover_good, order_good, legend, bribe_good]

        def draw(
            s: Session | None, text: str | None = None, ok: bool = True, fresh: bool = False
        ) -> list[Any]:
            """The board; `fresh` (a new wood) also picks each creature dropdown's value."""
            if s is None:
                note = text or "No wood yet: press New wood."
                blank = "<div class='wm'></div>"
                return [
                    *[blank] * 7,
                    view.message(None, note, ok),
                    blank,
                    blank,
                    gr.skip(),
                    *[gr.skip()] * len(roster),
                ]
            names = list(s.wood.names)
            if fresh:
                # Two different creatures preselected for a pact.
                first = names[0] if names else None
                second = names[1] if len(names) > 1 else first
                picks = [first] * (len(roster) - 1) + [second]
                creatures = [gr.Dropdown(choices=names, value=v) for v in picks]
            else:  # the player's picks stay; a gone creature is refused if sent
                creatures = [gr.Dropdown(choices=names) for _ in roster]
            return [
                view.header(s),
                view.ticker(s),
                view.charts(s),
                view.creatures(s),
                view.gossip(s),
                view.thoughts(s),
                view.status(s),
                view.message(s),
                view.scoreboard(s),
                view.legends(s),
                gr.Dropdown(choices=view.tip_choices(s), value=None),
                *creatures,
            ]

        def choices(s: Session | None) -> list[Any]:
            if s is None:
                return [gr.skip()] * len(setup)
            goods = list(s.wood.goods)
            first_good = _first_target(s) or goods[0]
            lgs = _legends(s)
            ids = [(f"{lg.title} ({lg.id})", lg.id) for lg in lgs]
            # The legend that moves the first trade's good comes first to hand.
            pick = next((lg.id for lg in lgs if lg.target == first_good), None)
            return [
                gr.Dropdown(choices=goods, value=first_good),
                gr.Dropdown(choices=goods, value=first_good),
                gr.Dropdown(choices=goods, value=first_good),
                gr.Dropdown(choices=ids, value=pick or (ids[0][1] if ids else None)),
                gr.Dropdown(choices=goods, value=goods[0]),
            ]

        def open_wood(
            scenario_v: str, cast_v: str, seed_v: str, narrator_v: str, request: gr.Request
        ) -> list[Any]:
            try:
                s = sessions.seat(
                    request.session_hash or "",
                    scenario=scenario_v,
                    cast=cast_v,
                    seed=seed_v,
                    narrator=narrator_v,
                )
            except Full as exc:
                return [*draw(None, str(exc), False), *choices(None), gr.Timer(active=True)]
            except (Refused, WoodmarketError) as exc:
                out = draw(sessions.get(request.session_hash or ""))
                out[7] = view.message(None, f"refused: {exc}", False)
                return [*out, *choices(None), gr.skip()]
            s.message, s.ok = f"a new wood: {s.wood.scenario.name}, cast {s.cast}", True
            return [*draw(s, fresh=True), *choices(s), gr.Timer(active=False)]

        def load(request: gr.Request) -> list[Any]:
            s = sessions.get(request.session_hash or "")
            if s is not None:
                return [*draw(s, fresh=True), *choices(s), gr.Timer(active=False)]
            return open_wood(sessions.scenario, sessions.cast, "0", "template", request)

        def tick(request: gr.Request) -> list[Any]:
            return load(request)

        wood_out = [*board, *setup, timer]
        new.click(open_wood, [scenario, cast, seed, narrator], wood_out, api_name="new_wood")
        demo.load(load, None, wood_out, api_name="load")
        timer.tick(tick, None, wood_out, api_visibility="private", show_progress="hidden")

        def act(fn: Any) -> Any:
            """A handler for a move: looks up this tab's session, never another's."""

            def handler(*args: Any) -> list[Any]:
                request: gr.Request = args[-1]
                s = sessions.get(request.session_hash or "")
                if s is None:
                    return [view.message(None, _no_seat(sessions), False), gr.skip()]
                fn(s, *args[:-1])
                # A queued move changes what the financier has said and queued, nothing else.
                return [view.message(s), view.scoreboard(s)]

            return handler

        def do_first(s: Session) -> None:
            s.first_trade()

        def do_short(s: Session, g: str, q: str) -> None:
            s.short(g, q)

        def do_cover(s: Session, g: str) -> None:
            s.cover(g)

        def do_order(s: Session, sd: str, g: str, q: str, p: str) -> None:
            s.order(sd, g, q, p)

        def do_whisper(s: Session, w: str, t: str, text: str) -> None:
            s.whisper(w, t, text)

        def do_spring(s: Session, lg: str, m: str) -> None:
            s.spring(lg, m)

        def do_lend(s: Session, w: str, a: str, r: str, t: str) -> None:
            s.lend(w, a, r, t)

        def do_bribe(s: Session, w: str, a: str, k: str, g: str, text: str) -> None:
            s.bribe(w, a, k, g, text)

        def do_ally(s: Session, a: str, b: str) -> None:
            s.ally(a, b)

        def first_trade(request: gr.Request) -> list[Any]:
            return act(do_first)(request)  # type: ignore[no-any-return]

        def short(g: str, q: str, request: gr.Request) -> list[Any]:
            return act(do_short)(g, q, request)  # type: ignore[no-any-return]

        def cover(g: str, request: gr.Request) -> list[Any]:
            return act(do_cover)(g, request)  # type: ignore[no-any-return]

        def order(sd: str, g: str, q: str, p: str, request: gr.Request) -> list[Any]:
            return act(do_order)(sd, g, q, p, request)  # type: ignore[no-any-return]

        def whisper(w: str, t: str, text: str, request: gr.Request) -> list[Any]:
            return act(do_whisper)(w, t, text, request)  # type: ignore[no-any-return]

        def spring(lg: str, m: str, request: gr.Request) -> list[Any]:
            return act(do_spring)(lg, m, request)  # type: ignore[no-any-return]

        def lend(w: str, a: str, r: str, t: str, request: gr.Request) -> list[Any]:
            return act(do_lend)(w, a, r, t, request)  # type: ignore[no-any-return]

        def bribe(w: str, a: str, k: str, g: str, text: str, request: gr.Request) -> list[Any]:
            return act(do_bribe)(w, a, k, g, text, request)  # type: ignore[no-any-return]

        def ally(a: str, b: str, request: gr.Request) -> list[Any]:
            return act(do_ally)(a, b, request)  # type: ignore[no-any-return]

        # Moves are quick and touch only their own session: off the queue, answered at once.
        said = [message, score]
        quick: dict[str, Any] = {"queue": False, "show_progress": "hidden"}
        first.click(first_trade, None, said, api_name="first_trade", **quick)
        short_btn.click(short, [short_good, short_qty], said, api_name="short", **quick)
        cover_btn.click(cover, [cover_good], said, api_name="cover", **quick)
        order_btn.click(
            order, [side, order_good, order_qty, order_price], said, api_name="order", **quick
        )
        whisper_btn.click(whisper, [who, tip, words], said, api_name="whisper", **quick)
        spring_btn.click(spring, [legend, mechanism], said, api_name="spring", **quick)
        lend_btn.click(
            lend, [lend_who, lend_amount, lend_rate, lend_turns], said, api_name="lend", **quick
        )
        bribe_btn.click(
            bribe,
            [bribe_who, bribe_amount, bribe_ask, bribe_good, bribe_words],
            said,
            api_name="bribe",
            **quick,
        )
        ally_btn.click(ally, [ally_a, ally_b], said, api_name="ally", **quick)

        def next_turn(request: gr.Request) -> Iterator[list[Any]]:
            """Run a turn in a thread; meanwhile say who is still thinking, every POLL_S."""
            s = sessions.get(request.session_hash or "")
            if s is None:
                yield draw(None, _no_seat(sessions), False)
                return
            if s.running:
                s.message, s.ok = "a turn is already running; wait for it", False
                yield draw(s)
                return
            started = time.monotonic()
            worker = threading.Thread(target=s.step, name="wood-turn", daemon=True)
            worker.start()
            worker.join(POLL_S)
            while worker.is_alive():
                out: list[Any] = [gr.skip()] * len(board)
                out[6] = view.status(s, time.monotonic() - started)
                yield out
                worker.join(POLL_S)
            yield draw(s)

        step.click(
            next_turn,
            None,
            board,
            api_name="next_turn",
            show_progress="hidden",
            concurrency_limit=None,
        )

        def gone(request: gr.Request) -> None:
            sessions.close(request.session_hash or "")

        demo.unload(gone)
    return demo


def _menu(label: str, elem_id: str) -> Any:
    """A dropdown the session fills (goods, creatures, legends); typed text is checked there."""
    return gr.Dropdown([], label=label, allow_custom_value=True, elem_id=elem_id)


def _no_seat(sessions: Sessions) -> str:
    if len(sessions) >= sessions.cap:
        return sessions.waiting_message()
    return "No wood yet: press New wood."


def _legends(s: Session) -> list[Any]:
    from woodmarket.financier.whispers import legends_of

    return list(legends_of(s.wood))


def _first_target(s: Session) -> str | None:
    """The good the scenario's first trade shorts, to preselect it in the forms."""
    from woodmarket.play import first_trade

    for move in first_trade(s.wood):
        words = move.split()
        if len(words) >= 2 and words[0] == "short" and words[1] in s.wood.goods:
            return words[1]
    return None


def _experiment_tab(sessions: Sessions) -> None:
    keys = level_keys()
    gr.HTML(
        "<div class='wm'>The article's Table 1 from your browser, through the same code as "
        "<code>woodmarket sweep</code>: one gambit across worlds (a cast under a mechanism; "
        "each cast's no-legend arm is added) and seeds. Each row gives the target's price "
        "before the legend and at its settlement, the gambit's P&amp;L with a bootstrap 95% "
        "CI, its paired effect against the same cast without the legend, and whether a "
        "model cast agrees with the stand-in; a gambit that bribes or lends adds the patron's "
        "levers (bribes taken and complied with, what the bribed keeper sold, heat, fines). "
        "Model worlds run the bundled models, one run at a time: slow.</div>"
    )
    with gr.Row():
        scenario = gr.Dropdown(
            [(level_label(k), k) for k in keys],
            value=sessions.scenario,
            label="scenario",
            elem_id="wm-sweep-scenario",
        )
        names = experiment.gambits_of(sessions.scenario)
        gambit = gr.Dropdown(list(names), value=names[0], label="gambit", elem_id="wm-sweep-gambit")
        worlds = gr.CheckboxGroup(
            list(experiment.WORLDS),
            value=list(experiment.STANDIN_WORLDS),
            label="worlds (CAST:MECHANISM)",
            elem_id="wm-sweep-worlds",
        )
        seeds = gr.Textbox(
            "8",
            label=f"seeds (1 to {experiment.MAX_SEEDS})",
            max_lines=1,
            elem_id="wm-sweep-seeds",
        )
        start = gr.Textbox("0", label="first seed", max_lines=1)
    with gr.Row():
        run = gr.Button("Run the sweep", variant="primary", elem_id="wm-sweep")
        cancel = gr.Button("Cancel", elem_id="wm-sweep-cancel")
    progress = gr.HTML(elem_id="wm-sweep-progress")
    cancelling = gr.HTML(elem_id="wm-sweep-cancelling")
    table = gr.HTML(elem_id="wm-table1")
    plots = gr.HTML(elem_id="wm-plots")
    download = gr.File(label="Parquet export (zip)", elem_id="wm-parquet", interactive=False)

    stopping: set[str] = set()  # session keys whose sweep was cancelled
    made = itertools.count(1)

    def gambits(scenario_v: str) -> Any:
        names = experiment.gambits_of(scenario_v) if scenario_v in keys else ()
        return gr.Dropdown(choices=list(names), value=names[0] if names else None)

    scenario.change(gambits, [scenario], [gambit], queue=False, api_visibility="private")

    def go(
        scenario_v: str,
        gambit_v: str,
        worlds_v: list[str],
        seeds_v: str,
        start_v: str,
        request: gr.Request,
    ) -> Iterator[list[Any]]:
        key = request.session_hash or ""
        stopping.discard(key)
        try:
            n = whole(seeds_v, "the number of seeds", 1, experiment.MAX_SEEDS)
            first = whole(start_v, "the first seed", 0, 10**9)
            if scenario_v not in keys:
                raise Refused(f"unknown scenario; bundled: {', '.join(keys)}")
            chosen = [w for w in experiment.WORLDS if w in (worlds_v or [])]
            if not chosen:
                raise Refused("choose at least one world")
            plan = experiment.plan(scenario_v, chosen, range(first, first + n), gambit=gambit_v)
        except WoodmarketError as exc:
            yield [_note(f"refused: {exc}", False), gr.skip(), gr.skip(), gr.skip()]
            return
        stamp = time.strftime("%Y%m%d-%H%M%S")
        place = scenario_v.replace(":", "-")  # a level's key, made a folder name
        folder = sessions.runs / "sweeps" / f"{place}-{plan.gambit}-{stamp}-{next(made):04d}"
        total = len(plan.tasks())
        done, failed = 0, 0
        yield [_note(f"starting: {total} runs"), gr.skip(), gr.skip(), gr.skip()]
        try:
            for r in experiment.sweep(plan, folder, stop=lambda: key in stopping):
                done += 1
                failed += "error" in r
                bar = (
                    f"<div class='wm-bar'><div style='width:{round(100 * done / total)}%'>"
                    "</div></div>"
                )
                what = f"run {done} of {total} ({r['world']}, seed {r['seed']})"
                if failed:
                    what += f"; {failed} failed, the last: {r.get('error', '')}"
                yield [_note(what) + bar, gr.skip(), gr.skip(), gr.skip()]
            if key in stopping:
                yield [
                    _note(
                        f"cancelled after {done} of {total} runs; the finished runs stay "
                        f"in {folder}",
                        False,
                    ),
                    gr.skip(),
                    gr.skip(),
                    gr.skip(),
                ]
                return
            result = experiment.finish(folder, plan)
        except WoodmarketError as exc:
            yield [_note(f"the sweep stopped: {exc}", False), gr.skip(), gr.skip(), gr.skip()]
            return
        # Served from the temporary folder Gradio may hand out, wherever the runs folder is.
        download_path = Path(tempfile.mkdtemp(prefix="woodmarket-sweep-")) / (
            f"{folder.name}-parquet.zip"
        )
        shutil.copyfile(result.zipped, download_path)
        failures = f"; {failed} runs failed" if failed else ""
        yield [
            _note(f"done: {result.runs} of {total} runs{failures}; the sweep is in {folder}", True),
            experiment.table_html(result.report),
            experiment.plots_html(result.plots),
            str(download_path),
        ]

    def sweep(
        scenario_v: str,
        gambit_v: str,
        worlds_v: list[str],
        seeds_v: str,
        start_v: str,
        request: gr.Request,
    ) -> Iterator[list[Any]]:
        """`go`, and the last sweep's "cancelling" note cleared with its first word.

        Cleared here, in order, not by a second handler of the same click: that one's
        answer could land after a Cancel pressed early and wipe its note.
        """
        cleared = False
        for out in go(scenario_v, gambit_v, worlds_v, seeds_v, start_v, request):
            yield [*out, gr.skip() if cleared else ""]
            cleared = True

    run.click(
        sweep,
        [scenario, gambit, worlds, seeds, start],
        [progress, table, plots, download, cancelling],
        api_name="sweep",
        show_progress="hidden",
    )

    def stop(request: gr.Request) -> str:
        # Heard at once (off the queue): the sweep stops before its next run, and says so
        # in the progress line then. (Written here into the progress line, it would hide
        # the sweep's own last word.)
        stopping.add(request.session_hash or "")
        return _note(CANCELLED, False)

    cancel.click(
        stop, None, cancelling, queue=False, api_visibility="private", show_progress="hidden"
    )


CANCELLED = "cancelling: the sweep stops before its next run; finished runs stay in its folder"


def _note(text: str, ok: bool = True) -> str:
    return view.message(None, text, ok)
