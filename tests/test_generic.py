"""Nothing in the engine names a bundled creature, good or legend: scenarios own their stories.

The check reads every module of the package outside `scenarios/` as Python
tokens: names and string literals count, comments and docstrings do not
(documentation may illustrate with a bundled wood; code may not depend on one).
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import woodmarket
from woodmarket.scenario import bundled_scenarios, load_scenario

PACKAGE = Path(woodmarket.__file__).parent


def _bundled_words() -> set[str]:
    words: set[str] = set()
    for key in bundled_scenarios():
        s = load_scenario(key)
        words |= {c.name for c in s.creatures} | set(s.good_names) | {lg.id for lg in s.legends}
        # `showcase` and `patron` name the engine's own ideas (the patron's levers live in
        # financier/patron.py); a scenario's gambit may share the word.
        words |= {g.name for g in s.gambits if g.name not in ("showcase", "patron")}
    return words


def _code_tokens(source: str) -> list[tuple[int, str]]:
    """(line, text) of every name and non-docstring string literal."""
    out = []
    previous = tokenize.NEWLINE
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        docstring = tok.type == tokenize.STRING and previous in (
            tokenize.NEWLINE,
            tokenize.INDENT,
            tokenize.DEDENT,
            tokenize.NL,
        )
        if tok.type == tokenize.NAME or (tok.type == tokenize.STRING and not docstring):
            out.append((tok.start[0], tok.string))
        if tok.type not in (tokenize.COMMENT, tokenize.NL):
            previous = tok.type
    return out


def test_no_engine_module_names_a_bundled_creature_good_or_legend():
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(_bundled_words()))) + r")\b")
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "scenarios" in path.relative_to(PACKAGE).parts:
            continue
        for line, text in _code_tokens(path.read_text(encoding="utf-8")):
            for m in pattern.finditer(text):
                found.append(f"{path.relative_to(PACKAGE)}:{line}: {m.group(0)}")
    assert found == []


def test_the_check_would_catch_a_name_in_code():
    words = _bundled_words()
    assert {"Oona", "honey", "oona_run", "reeds"} <= words
    tokens = _code_tokens('"""Oona in a docstring."""\nx = "honey"  # Oona in a comment\n')
    assert (2, '"honey"') in tokens and not any("Oona" in t for _, t in tokens)
