"""Truth stays off-prompt: no private token of the financier or the legends reaches a creature.

Every creature's observation, every turn, over many seeds, gambits and
mechanisms (and a busy player), is scanned as text for the financier's
book (positions, entries, margin, P&L), the truth flags of whispers, and
the legends' hidden parameters.
"""

from __future__ import annotations

import re

import pytest

from woodmarket.build import build
from woodmarket.scenario import load_scenario
from woodmarket.spec import RunSpec

PRIVATE_WORDS = (
    "verified",  # also catches "unverified"
    "truth",
    "True",
    "False",
    "proved",
    "borne out",
    "factor",
    "delay",
    "mechanism",
    "margin",
    "maintenance",
    "P&L",
    "pnl",
    "position",
    "entry",
    "shortfall",
    "house",
    "forced",
    "reckoning",
    "x0.5",
    "0.5",
    "1.5",
    "2.0",
)
PRIVATE_PATTERNS = (
    re.compile(r"\bshort(ed)? \d+"),  # a position's size
    re.compile(r"\bcover(ed)? \d+"),
    re.compile(r"\bsettle\b"),
    re.compile(r"\bglut\b"),
)
BUSY_PLAYER = {
    1: ["short honey 8", "whisper Oona oona_run", "whisper Pip honey will soar soon"],
    2: ["spring oona_run", "short firewood 4", "whisper Rusk 3", "order buy acorns 2 4"],
    3: ["whisper Birch the acorns will crash", "spring corner"],
    4: ["cover honey", "spring drought", "whisper Mossback acorn_mania.2"],
    5: ["spring winter_rumor", "whisper Oona something odd is afoot"],
    6: ["spring hollow_log", "spring acorn_mania", "cover firewood"],
}


def _observations(meta, seed, turns=9, moves=None):
    wood = build(RunSpec.make("oona", seed=seed, **meta))
    if moves:
        wood.financier.add_script(moves, "player")
    seen = []
    wood.listeners.append(lambda t: seen.extend(t.observations.values()))
    for _ in range(turns):
        wood.step()
    return wood, seen


def _leaks(observations):
    out = []
    for obs in observations:
        text = repr(obs)
        out += [(obs.turn, obs.creature, w) for w in PRIVATE_WORDS if w in text]
        out += [(obs.turn, obs.creature, p.pattern) for p in PRIVATE_PATTERNS if p.search(text)]
    return out


@pytest.mark.parametrize("mechanism", ["none", "rumor", "glut", "settle"])
@pytest.mark.parametrize("gambit", sorted(g.name for g in load_scenario("oona").gambits))
def test_no_observation_carries_a_private_token(gambit, mechanism):
    for seed in range(6):
        wood, seen = _observations({"gambit": gambit, "mechanism": mechanism}, seed)
        assert len(seen) == 9 * len(wood.names)
        assert _leaks(seen) == [], (gambit, mechanism, seed)


@pytest.mark.parametrize("mechanism", [None, "rumor", "glut", "settle"])
def test_a_busy_player_leaks_nothing_either(mechanism):
    meta = {"financier": True, "mechanism": mechanism}
    for seed in range(6):
        wood, seen = _observations(meta, seed, moves=BUSY_PLAYER)
        fin = wood.financier
        # The scan is not vacuous: whispers, rumors and legends did reach the creatures.
        assert any(o.whispers for o in seen) and any(o.news for o in seen)
        assert len(wood.legends.sprung) == 6
        assert {w.true for w in fin.whispered} == {True, None}
        assert _leaks(seen) == [], (mechanism, seed)


def test_the_scan_would_catch_a_leak():
    """The scanner itself: a doctored observation with the book in it is caught."""
    _, seen = _observations({"gambit": "showcase", "mechanism": "settle"}, 0, turns=2)
    obs = seen[0]
    doctored = obs._replace(whispers=("tip (verified): short 8 honey, entry 10, factor 0.5",))
    found = {w for _, _, w in _leaks([doctored])}
    assert {"verified", "entry", "factor", "0.5", r"\bshort(ed)? \d+"} <= found


def test_legend_texts_creatures_see_are_free_of_private_words():
    for lg in load_scenario("oona").legends:
        for text in (lg.rumor, lg.title, *lg.tips):
            assert not [w for w in PRIVATE_WORDS if w in text], (lg.id, text)


PATRON_PLAYER = {
    1: ["lend Pip 20 10 3", "bribe Oona 12 sell honey", "ally Rusk Birch", "short honey 8"],
    2: ["spring oona_run", "bribe Mossback 5 gossip acorns are scarce", "lend Birch 10 5 2"],
    3: ["bribe Rusk 6 hold firewood", "ally Pip Oona"],
    4: ["cover honey", "bribe Pip 4 sell berries"],
}


@pytest.mark.parametrize("key", ["oona", "oona:hard"])
def test_offers_and_debts_reach_their_creature_alone(key):
    for seed in range(4):
        wood = build(RunSpec.make(key, seed=seed, financier=True, turns=8))
        wood.financier.add_script(PATRON_PLAYER, "player")
        seen = []
        wood.listeners.append(lambda t, seen=seen: seen.append(t))
        for _ in range(8):
            wood.step()
        observations = [o for t in seen for o in t.observations.values()]
        assert _leaks(observations) == [], (key, seed)
        offered = {}
        for t in seen:
            for r in t.records:
                if r["kind"] in ("loan", "bribe") and r["event"] == "offered":
                    offered[r["id"]] = r["creature"]
                if r["kind"] == "pact" and r["event"] == "offered":
                    for c in r["creatures"]:
                        offered.setdefault(r["id"], c)
        assert len(offered) >= 5
        for obs in observations:
            for o in obs.offers:
                if o.kind != "pact":
                    assert offered[o.id] == obs.creature
            assert all(d.owed >= 0 for d in obs.debts)
            # Nobody else's terms or asks: no other creature's offer id or ask in its view.
            text = repr(obs._replace(offers=(), debts=()))
            others = [i for i, c in offered.items() if c != obs.creature and not i.startswith("P")]
            assert not [i for i in others if f"'{i}'" in text]
            assert "sell honey" not in text or obs.creature == "Oona"
        # The bribes' asks never reach a headline, news or gossip heard.
        public = " ".join(h for o in observations for h in (*o.headlines, *o.news, *o.heard))
        assert "acorns are scarce" not in public or any(
            r["kind"] == "gossip" and "acorns are scarce" in r["text"]
            for t in seen
            for r in t.records
        )


# -- every prompt, every turn, both scenarios ----------------------------------------------

# Case-insensitive, whole words: the book's and the legends' hidden words, and
# any label a truth flag could wear ("tip (true)", "a true tip", "unverified").
PROMPT_LEAKS = re.compile(
    r"\b(verified|unverified|truth|truthful|true tip|tip \(true|false rumou?r|proved|"
    r"borne out|factor|delay|mechanism|margin|maintenance|p&l|pnl|position|entry|"
    r"shortfall|house|forced|reckoning|settle|glut|"
    # A position as the book writes it ("short 8 honey at 10", "covered 8 honey at 5");
    # not a creature's own shortage ("Short 2 berries 5").
    r"short(ed)? \d+ [a-z]+:? (at|entry)|cover(ed)? \d+ [a-z]+ at)\b",
    re.IGNORECASE,
)


def _busy_moves(wood) -> dict[int, list[str]]:
    """A busy player for any scenario: shorts, tips, free rumours, every legend sprung."""
    sc = wood.scenario
    g = sc.gambit("showcase")
    names, goods = wood.names, wood.goods
    moves: dict[int, list[str]] = {t: list(cmds) for t, cmds in g.script().items()}
    moves.setdefault(1, []).append(f"whisper {names[1]} {goods[0]} will soar soon")
    for i, lg in enumerate(sc.legends):
        moves.setdefault(2 + i % 4, []).append(f"spring {lg.id}")
        moves.setdefault(2 + i % 4, []).append(f"whisper {names[i % len(names)]} {lg.id}")
    moves.setdefault(3, []).append(f"whisper {names[-1]} the {goods[-1]} will crash")
    moves.setdefault(4, []).append(f"short {goods[-1]} 2")
    return moves


def _prompts(key: str, seed: int, moves: dict[int, list[str]] | None, turns: int = 7):
    """Every request a model-driven wood sends, with a fake model that passes news on."""
    from woodmarket.backends.fake import FunctionBackend
    from woodmarket.policies.llm import LLMPolicy

    wood = build(RunSpec.make(key, seed=seed, financier=True))
    backend = FunctionBackend(lambda r: "hold\nsay all: 1" if "1." in r.user else "hold")
    for n in wood.names:
        wood.policies[n] = LLMPolicy(backend, model="fake", backend_name="fake")
    wood.financier.add_script(moves if moves is not None else _busy_moves(wood), "player")
    for _ in range(turns):
        wood.step()
    return wood, backend.requests


def _without(text: str, personas: list[str]) -> str:
    for persona in personas:
        text = text.replace(persona, "")
    return text


def test_no_prompt_carries_a_private_token(scenario_key):
    for seed in range(3):
        wood, requests = _prompts(scenario_key, seed, None)
        fin = wood.financier
        # Not vacuous: tips and rumours were whispered, legends told, and all of it read.
        assert {w.true for w in fin.whispered} == {True, None}
        assert len(wood.legends.sprung) == len(wood.scenario.legends)
        assert any("Whisper" in r.user for r in requests) and any(
            "News" in r.user for r in requests
        )
        # A persona is the scenario author's public words ("house-proud" is not the
        # house): it is taken out of the system prompt before the scan.
        personas = [c.personality for c in wood.scenario.creatures if c.personality]
        leaks = [
            (part, m.group(0), text[:80])
            for r in requests
            for part, text in (("system", _without(r.system, personas)), ("user", r.user))
            for m in PROMPT_LEAKS.finditer(text)
        ]
        assert leaks == [], (scenario_key, seed, leaks[:3])


def test_a_true_tip_and_the_same_words_as_a_rumour_give_equal_prompts(scenario_key):
    probe = build(RunSpec.make(scenario_key, financier=True))
    lg = probe.scenario.legends[0]
    to = probe.names[0]
    true_tip = {1: [f"whisper {to} {lg.id}"]}  # the legend's first tip: true
    same_words = {1: [f"whisper {to} {lg.tips[0]}"]}  # typed as free text: a rumour
    a_wood, a = _prompts(scenario_key, 5, true_tip, turns=4)
    b_wood, b = _prompts(scenario_key, 5, same_words, turns=4)
    flags = [w.true for w in a_wood.financier.whispered]
    flags += [w.true for w in b_wood.financier.whispered]
    assert flags == [True, None]  # the runs differ in the truth flag alone
    assert [(r.system, r.user) for r in a] == [(r.system, r.user) for r in b]
    assert any(lg.tips[0] in r.user for r in a)  # the tip was read, whole


def test_the_prompt_scan_would_catch_a_leak_and_spare_a_shortage():
    caught = {
        m.group(0).lower()
        for text in (
            "Whisper: tip (true): honey will fall",
            "a rumor (Unverified)",
            "you are short 8 honey at 10",
            "the House pays",
        )
        for m in PROMPT_LEAKS.finditer(text)
    }
    assert caught == {"tip (true", "unverified", "short 8 honey at", "house"}
    assert not PROMPT_LEAKS.search("30 pebbles\nShort 2 berries 5\nSpare 3 honey 10 up")


def test_offers_reach_only_their_creatures_prompt_and_leak_nothing(scenario_key):
    probe = build(RunSpec.make(scenario_key, financier=True))
    a, b, c = probe.names[:3]
    good = probe.goods[0]
    moves = {
        1: [f"lend {a} 10 10 2", f"bribe {b} 4 hold {good}", f"ally {b} {c}"],
        2: [f"bribe {c} 3 gossip the {good} is scarce"],
    }
    _, requests = _prompts(scenario_key, 0, moves, turns=3)
    offered = [r for r in requests if "Offer " in r.user]
    assert len(offered) == 4  # a's loan, b's bribe and pact, c's pact; c's bribe next turn
    lines = [line for r in requests for line in r.user.splitlines() if line.startswith("Offer ")]
    assert (
        sorted(line.split(":")[0] for line in lines)
        == ["Offer B2", "Offer B4", "Offer L1"] + ["Offer P3"] * 2
    )
    for r in requests:
        for line in r.user.splitlines():
            if line.startswith("Offer L1") or line.startswith("You owe"):
                assert f"You are {a}" in r.system or a in r.system.split("\n")[0]
        assert not [m.group(0) for m in PROMPT_LEAKS.finditer(r.user)]
