"""Truth stays off-prompt: no private token of the financier or the legends reaches a creature.

Every creature's observation, every turn, over many seeds, gambits and
mechanisms (and a busy player), is scanned as text for the financier's
book (positions, entries, margin, P&L), the truth flags of whispers, and
the legends' hidden parameters.
"""

from __future__ import annotations

import re

import pytest

from woodmarket.runner import build_wood
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
    wood = build_wood(RunSpec.make("oona", seed=seed, **meta))
    if moves:
        wood.extensions["financier"].add_script(moves, "player")
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
        fin = wood.extensions["financier"]
        # The scan is not vacuous: whispers, rumors and legends did reach the creatures.
        assert any(o.whispers for o in seen) and any(o.news for o in seen)
        assert len(wood.extensions["legends"].sprung) == 6
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
