"""docs/api.md: every ```python block is executed, each on its own in a fresh folder.

Every block must run and print what it found, warnings counting as errors.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"
FENCE = re.compile(r"^```python\n(.*?)^```$", re.S | re.M)


def blocks() -> list[tuple[str, str]]:
    text = DOC.read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        out.append((f"api.md:{line}", m.group(1)))
    return out


BLOCKS = blocks()


def test_the_guide_has_its_examples():
    code = "\n".join(body for _, body in BLOCKS)
    for needed in (
        "Wood.from_scenario",
        "wood.step(",
        "wood.observe(",
        "def decide(",
        'policy = "mypkg.agents:Lowball"',
        "RunSpec.make(",
        "run(spec,",
        "check_policy(",
        "check_backend(",
        "check_scenario(",
        "parallel_env(",
        "reset(seed=0, options=",
        "parallel_api_test(",
    ):
        assert needed in code, needed
    assert len(BLOCKS) >= 12


@pytest.mark.parametrize("body", [b for _, b in BLOCKS], ids=[w for w, _ in BLOCKS])
def test_example_runs(body, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    try:
        exec(compile(body, "api.md", "exec"), {"__name__": "__doc_example__"})
    finally:
        # A module an example wrote (mypkg) must not leak into other tests.
        for name in set(sys.modules) - before:
            if name == "mypkg" or name.startswith("mypkg."):
                del sys.modules[name]
    assert capsys.readouterr().out  # every example shows what it did
