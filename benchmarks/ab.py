"""Two checkouts of the code, one benchmark, alternating: is the new one as fast as the old?

    .venv/bin/python benchmarks/ab.py OLD_DIR NEW_DIR --pairs 3 -- engine.py --turns 0
    .venv/bin/python benchmarks/ab.py OLD_DIR NEW_DIR --figure "median s" --key turns \
        --lower-is-better -- live_turn.py --turns 6

When the two sides name their rows differently (an older
checkout's live_turn.py calls the two-lab council `council`, a newer one
`council2`), leave the differing column out of `--key` (`--key turns`);
rows that match nowhere stop the comparison with both sides' rows named.

Runs `benchmarks/SCRIPT` of each checkout (its own copy, on its own code:
`PYTHONPATH` set to the checkout) old, new, old, new, ... for `--pairs`
pairs, so a machine that slows down or speeds up during the measurement
burdens both sides alike. Each script prints a table whose header row
names its columns (engine.py, live_turn.py); `--key` names the columns
that name a row, and `--figure` the column compared. Printed per row:
the old and new medians of the figure, new / old, and whether the new
median lies within `--within` (5% by default) of the old, on the side
where larger is worse (`--lower-is-better` for seconds and ratios). The
CPU model is printed first, as every benchmark here does.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

from woodmarket.provenance import cpu_model


def table(text: str, figure: str, key: list[str]) -> dict[tuple[str, ...], float]:
    """{row key: figure} from a benchmark's printed table (the header names the columns)."""
    lines = text.splitlines()
    head = next(
        (i for i, ln in enumerate(lines) if re.search(rf"\b{re.escape(figure)}\b", ln)), None
    )
    if head is None:
        raise SystemExit(f"no column {figure!r} in the output:\n{text}")
    columns = re.split(r"\s{2,}", lines[head].strip())
    at = columns.index(figure)
    out = {}
    for line in lines[head + 1 :]:
        cells = re.split(r"\s{2,}", line.strip())
        if len(cells) != len(columns):
            continue
        try:
            value = float(cells[at].rstrip("%"))
        except ValueError:
            continue
        out[tuple(cells[columns.index(k)] for k in key)] = value
    return out


def once(checkout: Path, script: str, args: list[str]) -> str:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run(
        [sys.executable, str(checkout / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=checkout,
        check=True,
    )
    return done.stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--figure", default="turns/s")
    ap.add_argument("--key", default="scenario,trace,creatures", help="the columns naming a row")
    ap.add_argument("--lower-is-better", action="store_true")
    ap.add_argument("--within", type=float, default=0.05)
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    args = ap.parse_args(argv[:cut])
    if cut + 1 >= len(argv):
        ap.error("name the benchmark after --: ab.py OLD NEW -- engine.py [ARGS]")
    script, *rest = argv[cut + 1 :]
    print(f"CPU: {cpu_model()}")
    runs: dict[str, list[dict[tuple[str, ...], float]]] = {"old": [], "new": []}
    for pair in range(args.pairs):
        for side in ("old", "new"):
            out = once(getattr(args, side), script, rest)
            runs[side].append(table(out, args.figure, args.key.split(",")))
            print(f"pair {pair + 1}: {side} done", file=sys.stderr, flush=True)
    keys = [k for k in runs["old"][0] if all(k in r for r in runs["old"] + runs["new"])]
    if not keys:
        # Rows named differently on the two sides (a cast renamed, say): name them, or no
        # comparison is made at all. `--key` can leave the differing column out.
        named = {side: sorted({" ".join(k) for r in runs[side] for k in r}) for side in runs}
        raise SystemExit(f"no row common to both sides by --key {args.key}: {named}")
    print(f"{script} {' '.join(rest)}: {args.figure}, median of {args.pairs} alternating runs")
    print(f"{'row':<36} {'old':>9} {'new':>9} {'new/old':>8}  within {args.within:.0%}")
    held = 0
    for k in keys:
        old = statistics.median(r[k] for r in runs["old"])
        new = statistics.median(r[k] for r in runs["new"])
        ratio = new / old if old else float("nan")
        worse = ratio - 1 if args.lower_is_better else 1 - ratio
        ok = worse <= args.within
        held += ok
        print(f"{' '.join(k):<36} {old:>9.2f} {new:>9.2f} {ratio:>8.3f}  {'yes' if ok else 'NO'}")
    print(f"{held} of {len(keys)} rows within {args.within:.0%}")


if __name__ == "__main__":
    main()
