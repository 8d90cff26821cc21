"""The app in a real browser (Debian's Chromium): the showcase, isolation, hostile input,
the patron's levers, the levels and the rewind.

Each test drives the page as a player does: buttons by their labels,
boxes by typing. What the page shows is compared with the run folder's
trace, which `woodmarket replay` then checks. No request may leave
loopback (the `browser` fixture asserts it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from appkit import SHOTS, serve, wait_for

from woodmarket import councils
from woodmarket.app.session import level_label
from woodmarket.replay import replay
from woodmarket.traces import read_trace

pytestmark = pytest.mark.browser
DOCS = Path(__file__).resolve().parents[2] / "docs"
TURN_S = 60_000  # ms: a stand-in turn takes milliseconds; a council turn seconds


def open_page(browser: Any, url: str) -> Any:
    page = browser.context().new_page()
    page.goto(url)
    page.wait_for_selector("[data-wm=header]", timeout=30_000)
    return page


def press(page: Any, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()


def said(page: Any, part: str) -> str:
    """Wait until the page's message contains `part`; return the message."""
    page.wait_for_function(
        "([part]) => [...document.querySelectorAll('[data-wm=message]')]"
        ".some(e => e.innerText.includes(part))",
        arg=[part],
        timeout=15_000,
    )
    return str(page.inner_text("[data-wm=message]"))


def next_turn(page: Any) -> int:
    turn = int(page.get_attribute("[data-wm=header]", "data-turn"))
    press(page, "Next turn")
    page.wait_for_selector(f"[data-wm=header][data-turn='{turn + 1}']", timeout=TURN_S)
    return turn + 1


def choose(page: Any, elem_id: str, value: str) -> None:
    """Type into a dropdown's box (it accepts any text) and confirm with Enter."""
    box = page.locator(f"#{elem_id} input")
    box.click()
    box.fill(value)
    box.press("Enter")
    box.blur()
    page.wait_for_timeout(150)


def pick(page: Any, elem_id: str, label: str) -> None:
    """Open a dropdown and click the option shown as `label`."""
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=label, exact=True).click()
    page.wait_for_timeout(150)


def options(page: Any, elem_id: str) -> list[str]:
    """The options a dropdown offers now, as shown."""
    box = page.locator(f"#{elem_id} input")
    box.click()
    box.fill("")
    shown = page.get_by_role("option").all_inner_texts()
    box.press("Escape")
    box.blur()
    return [o.replace("\u2713", "").strip() for o in shown]  # the chosen one is ticked


def fill(page: Any, elem_id: str, value: str) -> None:
    box = page.locator(f"#{elem_id} input, #{elem_id} textarea").first
    box.fill(value)
    page.wait_for_timeout(50)


def folder_of(page: Any) -> Path:
    return Path(page.inner_text("[data-wm=folder]"))


def folder_of_page(served: Any, page: Any) -> Path:
    """The page's run folder, on disk (the page shows it relative to the app's directory)."""
    return served.runs / folder_of(page)


def shown_figures(page: Any, good: str) -> tuple[str, int, int]:
    headline = page.inner_text("[data-wm=headline]")
    price = int(page.inner_text(f"[data-wm=price][data-good={good}]"))
    pnl = int(page.inner_text("[data-wm=pnl]"))
    return headline, price, pnl


def traced_figures(folder: Path, good: str) -> tuple[str, int, int]:
    records = list(read_trace(folder))
    headline = [r for r in records if r["kind"] == "headline"][-1]["text"]
    price = [r for r in records if r["kind"] == "price" and r["good"] == good][-1]["reference"]
    pnl = [r for r in records if r["kind"] == "book"][-1]["pnl"]
    return headline, price, pnl


def test_the_showcase_in_the_browser(app, browser):
    page = open_page(browser, app.url)
    header = page.inner_text("[data-wm=header]")
    assert "turn 0 of" in header and "objective" in header
    press(page, "First trade")
    assert "short 8 honey" in said(page, "queued")
    assert next_turn(page) == 1
    choose(page, "wm-spring-legend", "oona_run")
    page.locator("#wm-spring-mechanism").get_by_text("settle", exact=True).click()
    press(page, "Spring")
    assert "settle" in said(page, "is told in the wood")
    next_turn(page)
    next_turn(page)  # the settlement of turn 3: the run lands
    folder = folder_of_page(app, page)
    assert shown_figures(page, "honey") == traced_figures(folder, "honey")
    headline, honey, pnl = shown_figures(page, "honey")
    assert honey == 5 and "comes true" in headline and pnl == 40
    marks = page.locator("[data-wm=chart][data-good=honey] [data-wm=mark]")
    assert marks.count() == 2  # the spring and the settlement, on honey's chart
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "showcase-mid-game.png"), full_page=True)
    if os.environ.get("WOODMARKET_UPDATE_SCREENSHOT"):  # the README's picture, on request
        shutil.copy(SHOTS / "showcase-mid-game.png", DOCS / "app.png")
    page.get_by_text("Cover a short").click()
    choose(page, "wm-cover-good", "honey")
    press(page, "Cover")
    assert "P&L +40" in said(page, "covered 8 honey")
    next_turn(page)
    assert shown_figures(page, "honey") == traced_figures(folder, "honey")
    assert "no open positions" in page.inner_text("[data-wm=scoreboard]")
    page.context.close()  # the tab goes: the game ends, its summary is written
    assert wait_for(folder / "summary.json")
    report = replay(folder)
    assert report.ok and report.turns == 4


def test_two_browsers_play_two_woods(app, browser):
    a = open_page(browser, app.url)
    b = open_page(browser, app.url)
    fa, fb = folder_of_page(app, a), folder_of_page(app, b)
    assert fa != fb
    press(a, "First trade")
    said(a, "queued")
    choose(b, "wm-whisper-creature", b.inner_text("[data-wm=creature] .who >> nth=1"))
    choose(b, "wm-whisper-tip", "zebra-striped rumor of b")
    press(b, "Whisper")
    said(b, "rumor whispered")
    next_turn(a)
    next_turn(b)
    assert "short 8" in a.inner_text("[data-wm=scoreboard]")
    assert "no open positions" in b.inner_text("[data-wm=scoreboard]")
    assert "zebra-striped" not in a.content() and "zebra-striped" in b.content()
    texts_a = [r.get("command", "") for r in read_trace(fa) if r["kind"] == "financier"]
    texts_b = [r.get("command", "") for r in read_trace(fb) if r["kind"] == "financier"]
    assert not any("zebra" in t for t in texts_a) and any("zebra" in t for t in texts_b)
    assert not any(t.startswith("short") for t in texts_b)
    a.context.close()
    b.context.close()


HOSTILE = [
    # (box, typed, what the page must say: the terminal's words for the same mistake)
    ("wm-short-qty", "", "usage: short GOOD QTY"),
    ("wm-short-qty", "-3", "quantity must be a whole number >= 1, got '-3'"),
    ("wm-short-qty", "99999999999999999999", "is too large (at most 6 digits)"),
    ("wm-short-qty", "1e9", "quantity must be a whole number >= 1, got '1e9'"),
    ("wm-short-qty", "100000", "not enough margin"),
]


def test_hostile_input_in_every_box(app, browser):
    page = open_page(browser, app.url)
    for box, typed, expected in HOSTILE:
        fill(page, box, typed)
        press(page, "Short")
        assert expected in said(page, expected)
    fill(page, "wm-short-qty", "2")
    choose(page, "wm-short-good", "hony")
    press(page, "Short")
    said(page, "unknown good 'hony'")
    choose(page, "wm-whisper-creature", "Nobody<b>")
    choose(page, "wm-whisper-tip", "psst")
    press(page, "Whisper")
    assert "unknown creature 'Nobody<b>'" in said(page, "unknown creature")
    first = page.inner_text("[data-wm=creature] .who >> nth=0")
    choose(page, "wm-whisper-creature", first)
    for typed, expected in [
        ("psst\u0007bell", "control character"),
        ("x" * 400, "at most 300 characters"),
        ("y" * 5000, "a command is at most 1000 characters"),
        ("²", "no tip number '²'"),
    ]:
        choose(page, "wm-whisper-tip", typed)
        press(page, "Whisper")
        said(page, expected)
    for planted in [
        "<script>window.__pwned=1</script>",
        '<img src=x onerror="window.__pwned=2">',
        "${window.__pwned=3} {{constructor}}",
    ]:
        choose(page, "wm-whisper-tip", planted)
        press(page, "Whisper")
        assert "rumor whispered" in said(page, planted)
    choose(page, "wm-spring-legend", "../../../etc/passwd.toml")
    press(page, "Spring")
    said(page, "unknown legend")
    page.get_by_text("Place an order in the auction").click()
    choose(page, "wm-order-good", "honey")
    fill(page, "wm-order-qty", "1")
    fill(page, "wm-order-price", "0")
    press(page, "Place order")
    said(page, "price must be a whole number >= 1, got 0")
    next_turn(page)  # the session still plays
    board = page.inner_text("[data-wm=scoreboard]")
    assert "<script>window.__pwned=1</script>" in board  # shown as text
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("img[src=x]").count() == 0
    page.context.close()


def test_a_visitor_past_the_cap_waits_in_the_queue(tmp_path, browser):
    served = serve(tmp_path / "runs", cap=1)
    try:
        first = open_page(browser, served.url)
        second = browser.context().new_page()
        second.goto(served.url)
        note = said(second, "The wood is full")
        assert "queue" in note and "Error" not in second.inner_text("body")
        first.context.close()  # the first player leaves: their seat frees
        second.wait_for_selector("[data-wm=header][data-turn='0']", timeout=30_000)
        second.context.close()
    finally:
        served.close()


def new_wood(page: Any, key: str) -> None:
    """A new wood of the level `key`, picked by its label as a player does."""
    pick(page, "wm-scenario", level_label(key))
    press(page, "New wood")
    page.wait_for_selector(f"[data-wm=header][data-scenario='{key}'][data-turn='0']")
    said(page, "a new wood")


def test_every_bundled_scenario_plays(app, browser, scenario_key):
    page = open_page(browser, app.url)
    new_wood(page, scenario_key)
    press(page, "First trade")
    said(page, "queued")
    next_turn(page)
    page.locator("#wm-spring-mechanism").get_by_text("settle", exact=True).click()
    press(page, "Spring")
    said(page, "is told in the wood")
    next_turn(page)
    next_turn(page)
    folder = folder_of_page(app, page)
    goods = [g for g in re.findall(r"data-good=\"([a-z_]+)\"", page.content())]
    for good in dict.fromkeys(goods):
        assert shown_figures(page, good) == traced_figures(folder, good)
    page.context.close()


def traced_patron(folder: Path) -> dict[str, Any]:
    """What the trace says of the patron's book: loans, bribes, pacts, exiles, heat."""
    records = list(read_trace(folder))
    lent: dict[str, int] = {}
    loans: dict[str, dict[str, Any]] = {}
    bribes: dict[str, dict[str, Any]] = {}
    pacts: set[tuple[str, str]] = set()
    exiled: list[str] = []
    heat, fined = 0, 0
    for r in records:
        kind, event = r["kind"], r.get("event")
        if kind == "loan" and event == "offered":
            lent[r["id"]] = r["amount"]
        elif kind == "loan" and event == "answered" and r["made"]:
            loans[r["creature"]] = {"id": r["id"], "state": "open", "owed": lent[r["id"]]}
        elif kind == "loan" and r["creature"] in loans and loans[r["creature"]]["id"] == r["id"]:
            loan = loans[r["creature"]]
            if event == "interest":
                loan["owed"] = r["owed"]
            elif event in ("repaid", "defaulted"):
                loan["state"], loan["owed"] = event, 0
        elif kind == "bribe" and event == "answered":
            bribes[r["id"]] = {"taken": str(int(r["paid"])), "complied": ""}
        elif kind == "bribe" and event in ("complied", "ignored"):
            bribes[r["id"]]["complied"] = str(int(event == "complied"))
        elif kind == "pact" and event == "formed":
            pacts.add((min(r["creatures"]), max(r["creatures"])))
        elif kind == "pact" and event == "broken":
            pacts.discard((min(r["creatures"]), max(r["creatures"])))
        elif kind == "exile":
            exiled.append(r["creature"])
            pacts = {p for p in pacts if r["creature"] not in p}
        elif kind == "magistrate":
            heat = r["heat"]
            fined += r.get("fine", 0)
    return {
        "loans": loans,
        "bribes": bribes,
        "pacts": pacts,
        "exiled": exiled,
        "heat": heat,
        "fined": fined,
    }


def shown_patron(page: Any) -> dict[str, Any]:
    """The same, as the page shows it (the scoreboard and the header)."""

    def rows(selector: str, *names: str) -> list[list[str]]:
        return page.eval_on_selector_all(
            selector, "(es, names) => es.map(e => names.map(n => e.getAttribute(n)))", list(names)
        )

    loans = {
        name: {"id": i, "state": state, "owed": int(owed)}
        for name, i, state, owed in rows(
            "[data-wm=loan]", "data-name", "data-id", "data-state", "data-owed"
        )
    }
    bribes = {
        i: {"taken": taken, "complied": complied}
        for i, taken, complied in rows("[data-wm=bribe]", "data-id", "data-taken", "data-complied")
    }
    pacts = {(a, b) for a, b in rows("[data-wm=pact]", "data-a", "data-b")}
    exiled = [n for (n,) in rows("[data-wm=exiled]", "data-name")]
    return {
        "loans": loans,
        "bribes": bribes,
        "pacts": pacts,
        "exiled": exiled,
        "heat": int(page.inner_text("[data-wm=heat]")),
        "fined": int(page.inner_text("[data-wm=fined]")),
    }


def names_of(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "[data-wm=creature]", "es => es.map(e => e.getAttribute('data-name'))"
    )


def test_the_patrons_levers_in_the_browser(app, browser, scenario_key):
    """A loan, a bribe and a pact through the forms; the scoreboard as the trace says, 3 turns."""
    page = open_page(browser, app.url)
    new_wood(page, scenario_key)
    names = names_of(page)
    goods = list(
        dict.fromkeys(re.findall(r'data-wm="chart" data-good="([a-z_]+)"', page.content()))
    )
    purses = {
        n: int(page.inner_text(f"[data-wm=creature][data-name={n}] [data-wm=pebbles]"))
        for n in names
    }
    borrower = min(names, key=lambda n: (purses[n], n))  # a thin purse may take a loan
    page.get_by_text("Lend to a creature").click()
    choose(page, "wm-lend-creature", borrower)
    fill(page, "wm-lend-amount", "10")
    fill(page, "wm-lend-rate", "10")
    fill(page, "wm-lend-turns", "2")
    press(page, "Lend")
    assert f"loan offered to {borrower}: 10 pebbles at 10%" in said(page, "loan offered")
    page.get_by_text("Bribe a creature").click()
    choose(page, "wm-bribe-creature", names[0])
    fill(page, "wm-bribe-amount", "10")
    page.locator("#wm-bribe-ask").get_by_text("gossip", exact=True).click()
    fill(page, "wm-bribe-words", "short honey 8; cover")
    press(page, "Bribe")
    said(page, "only, not ';'")
    page.locator("#wm-bribe-ask").get_by_text("sell", exact=True).click()
    choose(page, "wm-bribe-good", goods[0])
    press(page, "Bribe")
    assert f"to sell {goods[0]}" in said(page, f"bribe offered to {names[0]}")
    page.get_by_text("Pacts between creatures").click()
    choose(page, "wm-ally-first", names[1])
    choose(page, "wm-ally-second", names[1])
    press(page, "Broker a pact")
    said(page, "named twice")
    choose(page, "wm-ally-second", names[2])
    press(page, "Broker a pact")
    said(page, f"pact offered to {names[1]} and {names[2]}")
    queued = page.eval_on_selector_all("[data-wm=queued]", "es => es.map(e => e.innerText)")
    assert queued == [
        f"lend {borrower} 10 10 2",
        f"bribe {names[0]} 10 sell {goods[0]}",
        f"ally {names[1]} {names[2]}",
    ]
    folder = folder_of_page(app, page)
    for turn in (1, 2, 3):  # offered and answered; interest; due and repaid (or not)
        next_turn(page)
        shown, traced = shown_patron(page), traced_patron(folder)
        assert shown == traced, turn
        assert set(options(page, "wm-lend-creature")) == set(names_of(page)), turn
    # The trace has the offers in it: the figures compared are not empty by accident.
    assert traced["bribes"] and traced["loans"] and traced["pacts"], traced
    page.context.close()
    assert wait_for(folder / "summary.json")
    assert replay(folder).ok


def test_a_hard_level_in_the_browser(app, browser):
    """Oona's hard level picked by its label: a higher goal, and a season lost to the heat."""
    page = open_page(browser, app.url)
    new_wood(page, "oona")
    easy = page.inner_text("[data-wm=objective]")
    new_wood(page, "oona:hard")
    assert "(hard)" in page.inner_text("[data-wm=header] h3")
    hard = page.inner_text("[data-wm=objective]")
    assert hard.startswith("objective: ") and hard != easy
    folder = folder_of_page(app, page)
    assert folder.name.startswith("oona-hard-") and ":" not in folder.name
    choose(page, "wm-short-good", "honey")
    fill(page, "wm-short-qty", "16")
    press(page, "Short")
    said(page, "short 16 honey")
    next_turn(page)
    choose(page, "wm-spring-legend", "oona_run")
    page.locator("#wm-spring-mechanism").get_by_text("settle", exact=True).click()
    press(page, "Spring")
    said(page, "is told in the wood")
    page.get_by_text("Bribe a creature").click()
    choose(page, "wm-bribe-creature", "Oona")
    page.locator("#wm-bribe-ask").get_by_text("hold", exact=True).click()
    choose(page, "wm-bribe-good", "honey")
    press(page, "Bribe")
    said(page, "bribe offered to Oona")
    next_turn(page)
    next_turn(page)  # the settlement: the crash, the heat
    told = page.inner_text("[data-wm=message]")  # the turn's losses, each explained
    assert "the season is lost" in told and "heat reached" in told
    assert "after your spring" in told or "after your bribe" in told
    traced = traced_patron(folder)
    assert shown_patron(page) == traced
    judged = [r for r in read_trace(folder) if r["kind"] == "magistrate"]
    lost = [r for r in judged if r["event"] == "lost"]
    state = page.get_attribute("[data-wm=header]", "data-state")
    assert (state == "lost") == bool(lost)
    assert lost, "the hard level's heat limit was not reached"
    assert page.inner_text("[data-wm=objective]") == f"season lost: {lost[0]['why']}"
    until = [r["until"] for r in judged if r["event"] == "frozen"]
    turn = int(page.get_attribute("[data-wm=header]", "data-turn"))
    frozen = page.locator("[data-wm=frozen]")
    assert frozen.count() == (1 if until and until[-1] >= turn + 1 else 0)
    if until:
        assert int(frozen.get_attribute("data-turns")) == until[-1] - turn
    page.get_by_text("Lend to a creature").click()
    press(page, "Lend")
    said(page, "the season is lost")
    page.context.close()
    assert wait_for(folder / "summary.json")
    assert replay(folder).ok


def lines_before(folder: Path, at: int) -> list[str]:
    text = (folder / "trace.jsonl").read_text(encoding="utf-8").splitlines()
    return [line for line in text if json.loads(line)["turn"] < at]


def test_a_rewind_in_the_browser(app, browser, scenario_key):
    """Three turns, back to turn 2, the legend sprung there; both run folders replay."""
    page = open_page(browser, app.url)
    new_wood(page, scenario_key)
    press(page, "First trade")
    said(page, "queued")
    for _ in range(3):
        next_turn(page)
    parent = folder_of_page(app, page)
    assert options(page, "wm-rewind-turn") == ["1", "2", "3"]
    for typed, expected in [
        ("4", "cannot rewind to turn 4: pick a turn played, from 1 to 3"),
        ("-2", "must be at least 1"),
        ("two<b>", "must be a whole number from 1 to"),
        ("9" * 60, "far too large"),
    ]:
        choose(page, "wm-rewind-turn", typed)
        press(page, "Rewind")
        assert expected in said(page, expected)
        assert page.get_attribute("[data-wm=header]", "data-turn") == "3"
    assert "Error" not in page.inner_text("body") and page.locator("[data-wm=branch]").count() == 0
    pick(page, "wm-rewind-turn", "2")
    press(page, "Rewind")
    page.wait_for_selector("[data-wm=header][data-turn='1'] [data-wm=branch][data-at='2']")
    assert "rewound to turn 2" in said(page, "rewound to turn 2")
    assert page.inner_text("[data-wm=parent]") == parent.name
    fork = folder_of_page(app, page)
    assert fork != parent and fork.name == f"{parent.name}-at2"
    assert options(page, "wm-rewind-turn") == ["1"]
    page.locator("#wm-spring-mechanism").get_by_text("settle", exact=True).click()
    press(page, "Spring")
    said(page, "is told in the wood")
    assert next_turn(page) == 2
    page.context.close()  # the tab goes: the branch's summary is written
    assert wait_for(fork / "summary.json") and (parent / "summary.json").exists()
    assert replay(parent).ok and replay(fork).ok
    assert lines_before(fork, 2) == lines_before(parent, 2)
    made = [r for r in read_trace(fork) if r["kind"] == "financier" and r["turn"] >= 2]
    assert [(r["command"].split()[0], r["command"].split()[-1], r["ok"]) for r in made] == [
        ("spring", "settle", True)
    ]


def test_the_experiment_tab_runs_table1(app, browser):
    page = open_page(browser, app.url)
    page.get_by_role("tab", name="Experiment").click()
    fill(page, "wm-sweep-seeds", "2")
    press(page, "Run the sweep")
    page.wait_for_selector("[data-wm=table1]", timeout=120_000)
    rows = page.locator("[data-wm=world]")
    assert rows.count() == 4  # the stand-in's none arm and its three legends
    settle = "[data-wm=world][data-world='standin:settle']"
    assert page.inner_text(f"{settle} [data-wm=pnl]") == "+40.0 ± 0.0"
    assert page.inner_text(f"{settle} [data-wm=wins]") == "2/2"
    assert page.inner_text(f"{settle} [data-wm=effect]").startswith("+")
    assert "agreement" in page.inner_text("[data-wm=table1]")
    for name in ("plot-prices", "plot-pnl"):
        img = page.locator(f"#wm-plots img[data-wm={name}]")
        assert img.count() == 1
        assert img.evaluate("i => i.complete && i.naturalWidth") > 100  # a PNG that loaded
    assert page.locator("#wm-parquet a").count() >= 1
    sweeps = list((app.runs / "sweeps").glob("*/report.md"))
    assert len(sweeps) == 1 and (sweeps[0].parent / "parquet" / "runs.parquet").exists()
    fill(page, "wm-sweep-seeds", "200")
    press(page, "Run the sweep")
    page.wait_for_selector("#wm-sweep-progress:has-text('of 800')", timeout=60_000)
    press(page, "Cancel")
    page.wait_for_selector("#wm-sweep-cancelling:has-text('cancelling')", timeout=15_000)
    page.wait_for_selector("#wm-sweep-progress:has-text('cancelled after')", timeout=15_000)
    stopped_at = page.inner_text("#wm-sweep-progress")
    page.wait_for_timeout(1500)
    assert page.inner_text("#wm-sweep-progress") == stopped_at and "done" not in stopped_at
    ran = int(re.search(r"after (\d+) of 800", stopped_at).group(1))
    folder = Path(re.search(r"stay in (\S+)", stopped_at).group(1))
    assert len(list(folder.glob("runs/*/*/outcome.json"))) == ran < 800  # none begun after
    page.context.close()


def test_the_experiment_tab_sweeps_the_patron_gambit_on_a_hard_level(app, browser):
    """Reedmere at its hard level, the patron gambit: the levers table against the outcomes."""
    page = open_page(browser, app.url)
    page.get_by_role("tab", name="Experiment").click()
    pick(page, "wm-sweep-scenario", level_label("reedmere:hard"))
    assert "patron" in options(page, "wm-sweep-gambit")
    pick(page, "wm-sweep-gambit", "patron")
    fill(page, "wm-sweep-seeds", "2")
    before = set((app.runs / "sweeps").glob("*"))
    press(page, "Run the sweep")
    page.wait_for_selector("[data-wm=levers-table]", timeout=120_000)
    (folder,) = set((app.runs / "sweeps").glob("*")) - before
    assert folder.name.startswith("reedmere-hard-patron-")
    outcomes = [json.loads(p.read_text()) for p in folder.glob("runs/*/*/outcome.json")]
    assert len(outcomes) == 8  # the stand-in's none arm and three legends, two seeds
    for world in {o["world"] for o in outcomes}:
        mine = [o for o in outcomes if o["world"] == world]
        cell = f"[data-wm=levers][data-world='{world}'] [data-wm=taken]"
        taken, offered = (sum(o[k] for o in mine) for k in ("bribes_taken", "bribes"))
        assert page.inner_text(cell) == f"{taken}/{offered}" and offered == 4
    assert "Reedmere Fen (hard)" in page.inner_text("#wm-table1")
    page.context.close()


@pytest.mark.models
def test_the_council_thinks_in_the_browser(tmp_path, browser):
    served = serve(tmp_path / "runs", cast=councils.GAME)  # the game's council
    try:
        page = browser.context().new_page()
        page.goto(served.url, timeout=180_000)  # the first wood loads the models
        page.wait_for_selector("[data-wm=header]", timeout=180_000)
        page.locator("#wm-narrator").get_by_text("model", exact=True).click()
        page.locator("#wm-think input[type=checkbox]").check()  # the creatures think aloud
        press(page, "New wood")
        said(page, "a new wood")
        press(page, "First trade")
        said(page, "queued")
        press(page, "Next turn")
        page.wait_for_selector("[data-wm=status][data-busy='1']:has-text('thinking')")
        page.wait_for_selector("[data-wm=header][data-turn='1']", timeout=180_000)
        assert page.locator("[data-wm=answer]").count() == 5  # every creature's model reply
        thought = page.locator("[data-wm=thought]")
        assert thought.count() == 5 and any(t.strip() for t in thought.all_inner_texts())
        decisions = [r for r in read_trace(folder_of_page(served, page)) if r["kind"] == "decision"]
        # The page shows each traced thought (HTML folds runs of spaces into one).
        shown = [" ".join(t.split()) for t in thought.all_inner_texts()]
        assert [" ".join(r["thought"].split()) for r in decisions] == shown
        folder = folder_of_page(served, page)
        assert shown_figures(page, "honey") == traced_figures(folder, "honey")
        narrations = [r for r in read_trace(folder) if r["kind"] == "narration"]
        assert len(narrations) == 1 and narrations[0]["call"]["user"]
        page.context.close()
    finally:
        served.close()


def test_a_season_played_as_the_header_says_ends_in_its_recap_and_story(app, browser, scenario_key):
    """First trade, the first trade's own legend sprung with settle, cover after it lands, play
    the season out: the scoreboard tells the season from its record, and the page downloads."""
    from woodmarket.scenario import load_scenario

    sc = load_scenario(scenario_key)
    showcase = sc.gambit("showcase")
    page = open_page(browser, app.url)
    new_wood(page, scenario_key)
    press(page, "First trade")
    assert f"spring {showcase.legend.id}" in said(page, "Now press Next turn")
    next_turn(page)
    page.locator("#wm-spring-mechanism").get_by_text("settle", exact=True).click()
    press(page, "Spring")  # the first trade's legend is the one preselected
    said(page, "is told in the wood")
    for _ in range(showcase.legend.delay + 1):
        next_turn(page)
    page.get_by_text("Cover a short").click()
    press(page, "Cover")
    said(page, "covered")
    while int(page.get_attribute("[data-wm=header]", "data-turn")) < sc.turns:
        next_turn(page)
    recap = page.inner_text("[data-wm=recap]")
    assert "objective" in recap and showcase.target in recap
    assert f"spring {showcase.legend.id}" in recap and "settled on turn" in recap
    press(page, "The season's story (a page)")
    link = page.locator("#wm-story-file a").first
    link.wait_for(timeout=15_000)
    with page.expect_download() as got:
        link.click()
    html = Path(got.value.path()).read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and showcase.target in html
    folder = folder_of_page(app, page)
    page.context.close()
    assert wait_for(folder / "summary.json")
    assert replay(folder).passed
