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
from woodmarket.commands import VERBS, Command, Field, Short, Spring, follow_ups, parse_command
from woodmarket.errors import WoodmarketError
from woodmarket.play import first_trade
from woodmarket.scenario import load_scenario

TITLE = "woodmarket: the financier in the shadows"
POLL_S = 0.25  # how often the page hears who is still thinking
INTRO = (
    "<div class='wm'><h2 style='margin:2px 0'>woodmarket</h2>"
    "You are a financier working from the shadows of a woodland market. "
    "<b>Your objective</b> is shown above the scoreboard. Press <b>First trade</b>, then "
    "<b>Next turn</b>; spring a legend with the mechanism of your choice and cover after it "
    "settles. The creatures may decline to panic. As their patron you may also lend, bribe "
    "and broker pacts; the magistrate watches for wins that follow your levers. "
    "<b>Rewind</b> takes the wood back to a past turn, to play it again another way.</div>"
)


def build(sessions: Sessions) -> gr.Blocks:
    """The whole page, wired to `sessions`."""
    opened = _opened(sessions.scenario)
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
                think = gr.Checkbox(
                    value=sessions.thoughts,
                    label="think aloud (a line of why from each model creature; slower turns)",
                    scale=1,
                    elem_id="wm-think",
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
                    with gr.Row():
                        # Typed text is allowed and refused in one line, like any box.
                        back_to = gr.Dropdown(
                            [],
                            label="rewind to turn (you play it again)",
                            allow_custom_value=True,
                            scale=2,
                            elem_id="wm-rewind-turn",
                        )
                        back = gr.Button("Rewind", scale=1, elem_id="wm-rewind")
                    status = gr.HTML(elem_id="wm-status")
                    message = gr.HTML(elem_id="wm-message")
                    score = gr.HTML(elem_id="wm-score")
                    with gr.Row():
                        tell = gr.Button("The season's story (a page)", elem_id="wm-story")
                        page = gr.File(label="story", interactive=False, elem_id="wm-story-file")
                    forms = {cls.verb: _form(cls, cls.verb in opened) for cls in VERBS.values()}
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
        board += [legends]
        # The menus of the wood's creatures and true tips, last: redrawn after every turn,
        # so an exiled creature goes and a tip follows the wood.
        tips = _menus(forms, "tip")
        roster = _menus(forms, "creature")
        board += tips + roster
        # The turns a rewind may go back to: the past ones, redrawn after every turn.
        board += [back_to]
        goods_menus, legend_menus = _menus(forms, "good"), _menus(forms, "legend")
        # Each creature menu's place among its form's creature fields (a pact's second: 1).
        roster_rank = [
            i
            for verb in forms
            for i, _ in enumerate(f for f in VERBS[verb].fields if f.kind == "creature")
        ]
        setup = goods_menus + legend_menus

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
                    *[gr.skip()] * (len(tips) + len(roster) + 1),
                ]
            names = list(s.wood.names)
            if fresh:
                # A form's second creature menu starts on another creature (a pact needs two).
                picks = [names[min(i, len(names) - 1)] if names else None for i in roster_rank]
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
                *[gr.Dropdown(choices=view.tip_choices(s), value=None) for _ in tips],
                *creatures,
                gr.Dropdown(choices=view.rewind_choices(s), value=None),
            ]

        def choices(s: Session | None) -> list[Any]:
            if s is None:
                return [gr.skip()] * len(setup)
            goods = list(s.wood.goods)
            # The first trade's own good and legend come first to hand.
            good, legend = _first_picks(s)
            lgs = s.wood.scenario.legends
            ids = [(f"{lg.title} ({lg.id})", lg.id) for lg in lgs]
            legend = legend or (ids[0][1] if ids else None)
            return [gr.Dropdown(choices=goods, value=good or goods[0]) for _ in goods_menus] + [
                gr.Dropdown(choices=ids, value=legend) for _ in legend_menus
            ]

        def open_wood(
            scenario_v: str,
            cast_v: str,
            seed_v: str,
            narrator_v: str,
            think_v: bool,
            request: gr.Request,
        ) -> list[Any]:
            try:
                s = sessions.seat(
                    request.session_hash or "",
                    scenario=scenario_v,
                    cast=cast_v,
                    seed=seed_v,
                    narrator=narrator_v,
                    thoughts=think_v,
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
            return open_wood(
                sessions.scenario, sessions.cast, "0", "template", sessions.thoughts, request
            )

        def tick(request: gr.Request) -> list[Any]:
            return load(request)

        wood_out = [*board, *setup, timer]
        new.click(open_wood, [scenario, cast, seed, narrator, think], wood_out, api_name="new_wood")
        demo.load(load, None, wood_out, api_name="load")
        timer.tick(tick, None, wood_out, api_visibility="private", show_progress="hidden")

        def first_trade(request: gr.Request) -> list[Any]:
            s = sessions.get(request.session_hash or "")
            if s is None:
                return [view.message(None, _no_seat(sessions), False), gr.skip()]
            s.first_trade()
            return [view.message(s), view.scoreboard(s)]

        # Moves are quick and touch only their own session: off the queue, answered at once.
        said = [message, score]
        quick: dict[str, Any] = {"queue": False, "show_progress": "hidden"}
        first.click(first_trade, None, said, api_name="first_trade", **quick)
        for verb, (widgets, button) in forms.items():
            handler = _submit(sessions, verb, widgets)
            button.click(handler, set(widgets), said, api_name=verb, **quick)

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

        def story(request: gr.Request) -> Any:
            """The season so far as one self-contained page, to download."""
            s = sessions.get(request.session_hash or "")
            if s is None:
                return gr.skip()
            # Served from a temporary folder Gradio may hand out, wherever the runs folder is.
            page = Path(tempfile.mkdtemp(prefix="woodmarket-story-")) / s.story().name
            shutil.copyfile(s.story(), page)
            return str(page)

        tell.click(story, None, page, api_name="story", queue=False, show_progress="hidden")

        def rewind(turn_v: Any, request: gr.Request) -> Iterator[list[Any]]:
            """Fork this tab's run at the picked turn and play on in the branch.

            A model cast takes seconds (its slots start afresh), so the page says so first.
            """
            s = sessions.get(request.session_hash or "")
            if s is None:
                yield draw(None, _no_seat(sessions), False)
                return
            out: list[Any] = [gr.skip()] * len(board)
            out[7] = view.message(None, "rewinding: the turns before it are rebuilt from records")
            yield out
            s.rewind(turn_v)
            if not s.ok and not s.closed:  # refused: only the message changes, picks stay
                out[7] = view.message(s)
                yield out
                return
            yield draw(s)

        back.click(
            rewind,
            [back_to],
            board,
            api_name="rewind",
            show_progress="hidden",
            concurrency_limit=None,
        )

        def gone(request: gr.Request) -> None:
            sessions.close(request.session_hash or "")

        demo.unload(gone)
    return demo


def _opened(level: str) -> set[str]:
    """The forms open at first: the first trade's verbs and the legend it sets up."""
    scenario = load_scenario(level)
    first = [parse_command(m) for m in scenario.first_trade]
    plan = [*first, *follow_ups(first, scenario.lexicon)]
    return {c.verb for c in plan if c.covers() is None}


def _no_seat(sessions: Sessions) -> str:
    if len(sessions) >= sessions.cap:
        return sessions.waiting_message()
    return "No wood yet: press New wood."


def _form(cls: type[Command], opened: bool) -> tuple[list[Any], Any]:
    """One verb's form, read off its fields: (its widgets in field order, its button)."""
    widgets = []
    with gr.Accordion(cls.title, open=opened):
        for f in cls.fields:
            widgets.append(_widget(f, f"wm-{cls.verb}-{f.name}"))
        button = gr.Button(cls.action, elem_id=f"wm-{cls.verb}")
    return widgets, button


def _widget(f: Field, elem_id: str) -> Any:
    """A field as a form asks for it: a menu the session fills, a box, or the verb's words."""
    if f.kind in ("good", "creature", "legend", "tip"):
        # Typed text is allowed and checked like a typed command (a tip: your own words).
        return gr.Dropdown([], label=f.label, allow_custom_value=True, elem_id=elem_id)
    if f.kind == "choice":
        labels = [(c or "its own", c) for c in f.choices]
        return gr.Radio(labels, value=f.default or f.choices[0], label=f.label, elem_id=elem_id)
    return gr.Textbox(f.default, label=f.label, max_lines=1, elem_id=elem_id)


def _menus(forms: dict[str, tuple[list[Any], Any]], kind: str) -> list[Any]:
    """Every form's menus of `kind`, in the order of the verbs and their fields."""
    return [
        widget
        for verb, (widgets, _) in forms.items()
        for f, widget in zip(VERBS[verb].fields, widgets, strict=True)
        if f.kind == kind
    ]


def _submit(sessions: Sessions, verb: str, widgets: list[Any]) -> Any:
    """The handler of one verb's form: this tab's session builds the move from the fields.

    Wired with the widgets as a set, Gradio hands the handler one dict of
    widget -> value, so one function serves every verb's form.
    """
    names = {id(w): f.name for f, w in zip(VERBS[verb].fields, widgets, strict=True)}

    def handler(values: dict[Any, Any], request: gr.Request) -> list[Any]:
        s = sessions.get(request.session_hash or "")
        if s is None:
            return [view.message(None, _no_seat(sessions), False), gr.skip()]
        s.form(verb, {names[id(w)]: v for w, v in values.items()})
        # A queued move changes what the financier has said and queued, nothing else.
        return [view.message(s), view.scoreboard(s)]

    return handler


def _first_picks(s: Session) -> tuple[str | None, str | None]:
    """The good the scenario's first trade shorts and the legend it sets up, if any."""
    first = [parse_command(m) for m in first_trade(s.wood)]
    good = next((c.good for c in first if isinstance(c, Short)), None)
    nxt = follow_ups(first, s.fin.lexicon)
    legend = next((c.legend for c in nxt if isinstance(c, Spring)), None)
    return good, legend


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
