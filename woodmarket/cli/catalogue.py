"""What is bundled and whether a file is sound: `scenarios`, `check`, `models` (`--probe`).

`models` verifies each bundled model file and prints this machine's
batching verdicts; `--probe` measures them (probe.py) and records them.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from woodmarket import councils
from woodmarket.cli.options import positive


def cmd_scenarios(args: argparse.Namespace) -> int:
    """One bundled scenario per line: the key `--scenario` takes, then what it holds."""
    from woodmarket.scenario import bundled_scenarios, load_scenario

    for key in bundled_scenarios():
        s = load_scenario(key)
        parts = [
            f"{key}  {s.name}",
            "creatures: " + ", ".join(s.creature_names),
            "goods: " + ", ".join(s.good_names),
            "legends: " + (", ".join(lg.id for lg in s.legends) or "none"),
            "gambits: " + (", ".join(g.name for g in s.gambits) or "none"),
        ]
        print("; ".join(parts))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Validate a scenario, legend or cast file (told apart by its keys) without running it."""
    from woodmarket.testing import check_file

    print(check_file(str(args.file), args.scenario))
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    """The bundled models, verified, with this machine's batching verdicts; or `--probe` them."""
    if args.probe is not None:
        return _probe_models(args)
    from woodmarket.backends.batching import verdict_for, verdict_line
    from woodmarket.casts import parse_cast
    from woodmarket.models import list_models
    from woodmarket.scenario import load_scenario

    names = tuple(c.name for c in load_scenario("oona").creatures)
    seated = {name: parse_cast(name, names) for name in councils.SEATING}
    rows = list_models()
    w = max(8, *(len(str(row["key"])) for row in rows))  # the key column, and the indent
    pad = " " * (w + 1)
    print(
        f"{'model':<{w}} {'lab':<15} {'params':>6}  {'licence':<22} {'MB':>6}  {'sha256':<8} "
        f"{'batching':<12} creatures (the first bundled scenario's)"
    )
    broken = 0
    for row in rows:
        key = str(row["key"])
        users = "; ".join(
            f"{name}: {', '.join(s.creature for s in seats if s.model == key)}"
            for name, seats in seated.items()
            if any(s.model == key for s in seats)
        )
        status = "ok" if row["verified"] else "MISSING"
        broken += not row["verified"]
        verdict = verdict_for(key)
        short = str(verdict.get("verdict")) if verdict else "not probed"
        print(
            f"{key:<{w}} {row['lab']:<15} {row['params']:>6}  {row['licence']:<22} "
            f"{row['size_mb']:>6.1f}  "
            f"{status:<8} {short:<12} {users or '-'}"
        )
        print(f"{pad}{row['title']}: {row['path']}")
        print(f"{pad}from: {row['source']}")
        print(f"{pad}batching: {verdict_line(verdict)}")
        if not row["verified"]:
            print(f"{pad}{row['detail']}")
    print()
    for name, title in councils.TITLES.items():
        print(f"{name} = {title}{' (council: the default)' if name == councils.DEFAULT else ''}")
    print("any GGUF path works as single:PATH or in a cast file")
    return 1 if broken else 0


def _probe_models(args: argparse.Namespace) -> int:
    """`models --probe [KEY ...]`: measure each model's batching verdict and record it."""
    from tqdm import tqdm

    from woodmarket.backends.batching import record
    from woodmarket.models import MODELS, resolve
    from woodmarket.probe import probe_model
    from woodmarket.scenario import load_scenario

    keys = list(args.probe) or list(MODELS)
    for key in keys:
        if key not in MODELS:
            resolve(key)  # a GGUF path, or one line naming the known keys
    load_scenario(args.scenario)  # a bad scenario is refused before any model loads
    for key in keys:
        bar = tqdm(desc=f"probing {key}", unit="call", file=sys.stderr, leave=False)

        def show(done: int, total: int, what: str, bar: tqdm = bar) -> None:
            bar.total = total
            bar.n = done
            bar.set_postfix_str(what, refresh=False)
            bar.refresh()

        try:
            verdict = probe_model(
                key,
                slots=args.slots,
                repeats=args.repeats,
                scenario=args.scenario,
                progress=show,
            )
        finally:
            bar.close()
        where = record(verdict)
        _print_verdict(verdict)
        print(f"recorded in {where}")
    return 0


def _print_verdict(v: dict[str, Any]) -> None:
    key = v["key"]
    cache = v["prefix_cache"]
    print(
        f"\n{v['model']}: {v['verdict']} (batch-invariant: {v['batch_invariant']}); "
        f"{v['requests']} creature requests of {v['scenario']}, prompts "
        f"{v['prompt_tokens'][0]}-{v['prompt_tokens'][1]} tokens, "
        f"{v['generated_tokens'][0]}-{v['generated_tokens'][1]} generated, greedy, grammar; "
        f"{v['slots']} slots, {v['repeats']} repeats, {v['seconds']:.0f} s"
    )
    print(
        f"  sha256 {key['sha256'][:16]}..., xllamacpp {key['xllamacpp']}, "
        f"{key['threads']} threads, {key['cpu']}"
    )
    print(
        f"  alone twice: {'identical' if v['alone_repeats'] else 'DIFFERENT'}; "
        f"reusing a cached prefix: {cache['differed']}/{cache['compared']} differed"
    )
    print(
        f"  {'k':>3} {'overlapped':>10} {'differed':>9} {'requests':>8} {'texts':>5} "
        f"{'first tok':>9} {'batches':>7} {'1-by-1 s':>8} {'batch s':>8} {'speedup':>7}"
    )
    for s in v["sizes"]:
        first = "-" if s["first_token"] is None else str(s["first_token"])
        together = "-" if s["seconds_together"] is None else f"{s['seconds_together']:.2f}"
        speed = "-" if s["speedup"] is None else f"{s['speedup']:.2f}x"
        print(
            f"  {s['k']:>3} {str(s['overlapped']) + '/' + str(s['runs']):>10} "
            f"{str(s['differed']) + '/' + str(s['compared']):>9} "
            f"{str(s['requests_differed']) + '/' + str(s['k']):>8} {s['texts_changed']:>5} "
            f"{first:>9} {'agree' if s['batched_repeats'] else 'differ':>7} "
            f"{s['seconds_one_by_one']:>8.2f} {together:>8} {speed:>7}"
        )
    print(
        "  (differed: answers whose tokens or logprobs differ from alone; requests: of the k, "
        "those that ever did;\n   texts: answers whose text changed; batches: whether the "
        "repeats of a size agree with each other;\n   seconds: the best run, one by one "
        "and together)"
    )


def add(sub: Any) -> None:
    """The scenarios, check and models subcommands."""
    sc = sub.add_parser("scenarios", help="list the bundled scenarios, one per line, key first")
    sc.set_defaults(func=cmd_scenarios)

    ck = sub.add_parser("check", help="validate a scenario, legend or cast file without running it")
    ck.add_argument("file", help="a scenario, legend or cast TOML file")
    ck.add_argument(
        "--scenario",
        default=None,
        help="the scenario a legend or cast file is checked against (default: the first bundled)",
    )
    ck.set_defaults(func=cmd_check)

    m = sub.add_parser(
        "models", help="list the bundled models, verify them (sha256), probe their batching"
    )
    m.add_argument(
        "--probe",
        nargs="*",
        metavar="MODEL",
        default=None,
        help="measure whether batched requests answer bit for bit as alone, and record it "
        "(default: every bundled model; a key or a GGUF path)",
    )
    m.add_argument(
        "--slots",
        type=positive,
        default=None,
        help="the probe server's slots: batch sizes 2..SLOTS (default $WOODMARKET_SLOTS or 10)",
    )
    m.add_argument(
        "--repeats", type=positive, default=3, help="repeats of each batch size (default 3)"
    )
    m.add_argument(
        "--scenario", default="oona", help="whose creatures' requests the probe sends (oona)"
    )
    m.set_defaults(func=cmd_models)
