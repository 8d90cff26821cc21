"""The article's council rows with the mark rule and without it, on the same seeds.

    .venv/bin/python benchmarks/marks.py --cast council2 --seeds 5 --turns 6 --out runs/marks

The bundled scenario marks shorts by its `[market] mark_step_pct` (a mark
moves toward the reference by at most that share a settlement; a `settle`
legend's price lands in full). This sweeps the showcase gambit's worlds
for one cast (none, rumor, glut, settle) twice, on the same seeds: once
on the bundled scenario, once on a copy of it that states no rule (the
mark is then the reference, as before the rule), and prints both tables
one after the other, each with the runs that ended in a forced cover per
world. Both sweeps are ordinary sweep folders (`OUT/rule`, `OUT/none`):
the same command again skips their finished runs, and `woodmarket sweep
--replay OUT/rule` prints a table again without a model.

This is a report, not a target: the rule is not tuned on it.
"""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

from woodmarket.cli import main as woodmarket
from woodmarket.provenance import cpu_model
from woodmarket.scenario import scenario_path

MECHANISMS = ("none", "rumor", "glut", "settle")


def without_rule(key: str, out: Path) -> Path:
    """A copy of the bundled scenario `key` (with its legends) that states no mark rule."""
    source = scenario_path(key)
    folder = out / f"{key}-without-rule"
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(source.parent, folder)
    toml = folder / source.name
    text, n = re.subn(r"(?m)^mark_step_pct = \d+", "mark_step_pct = 0", toml.read_text())
    if n != 1:
        raise SystemExit(f"{toml}: expected one `mark_step_pct` line, found {n}")
    toml.write_text(text)
    return toml


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default="oona")
    ap.add_argument("--cast", default="council2")
    ap.add_argument("--seeds", default="5")
    ap.add_argument("--turns", default="6")
    ap.add_argument("--workers", default="1")
    ap.add_argument("--out", type=Path, default=Path("runs/marks"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    bare = without_rule(args.scenario, args.out)
    worlds = [a for m in MECHANISMS for a in ("--world", f"{args.cast}:{m}")]
    common = ["--seeds", args.seeds, "--turns", args.turns, "--workers", args.workers]
    common += ["--no-calibrate", "--no-plots", *worlds]
    print(f"CPU: {cpu_model()}")
    for name, scenario in (("rule", args.scenario), ("none", str(bare))):
        print(f"\n== {'the bundled rule' if name == 'rule' else 'no mark rule'}: {scenario}")
        code = woodmarket(["sweep", "--scenario", scenario, "--out", str(args.out / name), *common])
        if code:
            raise SystemExit(code)


if __name__ == "__main__":
    main()
