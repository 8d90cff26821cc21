"""The report's formats: the terminal table, Markdown (report.md), report.csv and runs.csv.

Each table is drawn from a `Report` (report.py) alone, so the terminal,
the files and the app's experiment tab show the same cells.

This room only formats; it computes no statistic and reads no file.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

from woodmarket.experiments.record import Levers
from woodmarket.experiments.report import LEVER_COUNTS, ForkRow, Forks, Report, Row, has_levers
from woodmarket.experiments.stats import FLAGGED, Stat


def _ms(s: Stat, signed: bool = False) -> str:
    if s.n == 0:
        return "-"
    mean = f"{s.mean:+.1f}" if signed else f"{s.mean:.1f}"
    return f"{mean} ± {s.sd:.1f}"


def ci_text(s: Stat | None) -> str:
    if s is None or math.isnan(s.lo):
        return "-"
    return f"[{s.lo:+.1f}, {s.hi:+.1f}]"


def _effect(s: Stat | None) -> str:
    if s is None or s.n == 0:
        return "-"
    return f"{s.mean:+.1f} {ci_text(s)}"


def _agree(r: Row) -> str:
    if r.world.is_standin or r.world.mechanism == "none":
        return ""
    return r.agreement + (" !" if r.agreement in FLAGGED else "")


HEADERS = (
    "world", "n (eff)", "before", "at settlement", "P&L", "95% CI", "wins", "forced",
    "effect vs none [95% CI]", "agreement",
)  # fmt: skip


def cells(r: Row) -> list[str]:
    mark = " !" if r.replicas else ""
    return [
        r.world.label,
        f"{r.n} ({r.distinct}){mark}",
        _ms(r.before),
        _ms(r.at),
        _ms(r.pnl, signed=True),
        ci_text(r.pnl),
        f"{r.wins}/{r.n}",
        f"{r.forced}/{r.n}",
        _effect(r.effect),
        _agree(r),
    ]


LEVER_HEADERS = (
    "world", "bribes taken", "complied", "asked to sell: offered", "sold",
    "loans taken", "defaults", "exiled", "peak heat", "fined",
)  # fmt: skip


def lever_cells(r: Row) -> list[str]:
    n = r.levers
    return [
        r.world.label,
        f"{n['bribes_taken']}/{n['bribes']}",
        f"{n['bribes_complied']}/{n['bribes_taken']}",
        _ms(r.offered) if r.offered else "-",
        _ms(r.sold) if r.sold else "-",
        f"{n['loans_taken']}/{n['loans']}",
        str(n["defaults"]),
        str(n["exiles"]),
        _ms(r.heat) if r.heat else "-",
        _ms(r.fined) if r.fined else "-",
    ]


LEVERS_TITLE = (
    "The patron's levers (bribes and loans summed over seeds; units, heat and fines "
    "mean ± sd per run)"
)


FORK_HEADERS = (
    "world", "shares trunk", "effect, forked [95% CI]", "CI width",
    "effect, fresh [95% CI]", "CI width", "fresh / forked",
)  # fmt: skip


def width(s: Stat | None) -> float:
    return math.nan if s is None or math.isnan(s.lo) else s.hi - s.lo


def fork_cells(r: ForkRow) -> list[str]:
    mine, theirs = width(r.forked), width(r.fresh)
    ratio = f"{theirs / mine:.2f}" if mine > 0 and not math.isnan(theirs) else "-"
    return [
        r.world.label,
        "yes" if r.shared else "no",
        _effect(r.forked),
        "-" if math.isnan(mine) else f"{mine:.1f}",
        _effect(r.fresh),
        "-" if math.isnan(theirs) else f"{theirs:.1f}",
        ratio,
    ]


def fork_title(f: Forks) -> str:
    beside = "none run whole"
    if f.fresh:
        beside = "beside the same arm run whole (fresh) on the same seeds"
    return (
        f"Forks: each arm forked at turn {f.at} from its trunk, {beside}; paired effects and "
        "the widths of their 95% CIs"
    )


def fork_cost_lines(f: Forks) -> list[str]:
    """What forking saved: model calls (the trunks made the prefix's once) and turns."""
    turns = (
        f"turns: {f.trunk_turns} in {f.trunks} trunks, run once; {f.rebuilt_turns} rebuilt in "
        "the arms from their trunks' records, asking no model"
    )
    if not (f.trunk_calls or f.prefix_calls or f.arm_calls):
        return ["model calls: none (no model cast)", turns]
    whole = f.prefix_calls + f.arm_calls
    made = "" if f.fresh_calls is None else f" (the fresh arms made {f.fresh_calls})"
    share = f" ({f.saved / whole:.0%})" if whole else ""
    calls = (
        f"model calls: the trunks made {f.trunk_calls} once and the arms {f.arm_calls} from turn "
        f"{f.at}, {f.trunk_calls + f.arm_calls} in all; arms run whole make {whole}{made}: "
        f"{f.saved} saved{share}"
    )
    return [calls, turns]


def fork_lines(rep: Report) -> list[str]:
    f = rep.forks
    if f is None:
        return []
    table = aligned([list(FORK_HEADERS), *map(fork_cells, f.rows)]) if f.rows else []
    return [fork_title(f), *table, *fork_cost_lines(f), *(f"! {n}" for n in f.notes)]


def render_text(rep: Report) -> str:
    """The terminal table."""
    headers = list(HEADERS)
    headers[2] = f"{rep.target} before"
    headers[3] = f"{rep.target} at settlement"
    lines = [*rep.title, "", *aligned([headers, *map(cells, rep.rows)])]
    if has_levers(rep):
        lines += ["", LEVERS_TITLE, *aligned([list(LEVER_HEADERS), *map(lever_cells, rep.rows)])]
    if rep.forks is not None:
        lines += ["", *fork_lines(rep)]
    lines += ["", *mechanism_lines(rep)]
    if rep.notes:
        lines += ["", *rep.notes]
    return "\n".join(lines)


def aligned(table: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    out = []
    for k, row in enumerate(table):
        cells = [c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)]
        out.append("  ".join(cells).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return out


def render_cost(rep: Report) -> str:
    """What each world cost (clock readings: these differ from run to run, the table does not)."""
    return "\n".join(_cost_lines(rep)[1:])


def mechanism_lines(rep: Report) -> list[str]:
    if not rep.by_mechanism:
        return []
    out = ["Agreement by mechanism (paired P&L effects; rule: docs/experiments.md)"]
    for mech, stand, others in rep.by_mechanism:
        line = f"  {mech:<7} stand-in {_effect(stand)}"
        if not others:
            line += "; no model cast in this mechanism"
        for label, eff, verdict in others:
            flag = " !" if verdict in FLAGGED else ""
            line += f"; {label} {_effect(eff)}: {verdict}{flag}"
        out.append(line)
    return out


def _cost_lines(rep: Report) -> list[str]:
    spent = [r for r in rep.rows if r.calls]
    total = sum(r.wall_s for r in rep.rows)
    out = ["", f"Cost: {total:.1f} s of run time in all"]
    for r in spent:
        out.append(
            f"  {r.world.label}: {r.calls} model calls, {r.prompt_tokens} prompt + "
            f"{r.generated_tokens} generated tokens, {r.wall_s:.1f} s"
        )
    return out


def render_markdown(rep: Report) -> str:
    headers = list(HEADERS)
    headers[2] = f"{rep.target} before"
    headers[3] = f"{rep.target} at settlement"
    headers += ["model calls", "tokens (prompt + generated)", "time (s)"]
    lines = [f"**{rep.title[0]}**", "", *(f"{t.strip()}  " for t in rep.title[1:]), ""]
    lines.append("| " + " | ".join(headers) + " |")
    lines.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|")
    for r in rep.rows:
        tokens = f"{r.prompt_tokens} + {r.generated_tokens}"
        row = [*cells(r), str(r.calls), tokens, f"{r.wall_s:.1f}"]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
    if has_levers(rep):
        lines += ["", f"{LEVERS_TITLE}:", "", "| " + " | ".join(LEVER_HEADERS) + " |"]
        lines.append(
            "|" + "|".join("---" if i == 0 else "---:" for i in range(len(LEVER_HEADERS))) + "|"
        )
        lines += ["| " + " | ".join(lever_cells(r)) + " |" for r in rep.rows]
    if rep.forks is not None:
        f = rep.forks
        lines += ["", f"{fork_title(f)}:", "", "| " + " | ".join(FORK_HEADERS) + " |"]
        lines.append(
            "|" + "|".join("---" if i == 0 else "---:" for i in range(len(FORK_HEADERS))) + "|"
        )
        lines += ["| " + " | ".join(fork_cells(r)) + " |" for r in f.rows]
        lines += ["", *(f"- {x}" for x in fork_cost_lines(f)), *(f"- ! {n}" for n in f.notes)]
    mech = mechanism_lines(rep)
    if mech:
        lines += ["", mech[0], "", *(f"- {m.strip()}" for m in mech[1:])]
    if rep.notes:
        lines += ["", *(f"- {n}" for n in rep.notes)]
    return "\n".join(lines) + "\n"


CSV_COLUMNS = (
    "world", "cast", "mechanism", "short", "n", "distinct", "replicas",
    "before_mean", "before_sd", "at_settlement_mean", "at_settlement_sd",
    "pnl_mean", "pnl_sd", "pnl_ci_lo", "pnl_ci_hi", "wins", "forced",
    "effect_mean", "effect_ci_lo", "effect_ci_hi", "effect_n", "agreement",
    "settle_holds", "calls", "prompt_tokens", "generated_tokens", "wall_s",
    *LEVER_COUNTS, "asked_offered_mean", "asked_sold_mean", "heat_mean", "fined_mean",
)  # fmt: skip


FORK_COLUMNS = (
    "fork_at", "shares_trunk", "forked_effect_ci_width",
    "fresh_effect_mean", "fresh_effect_ci_lo", "fresh_effect_ci_hi", "fresh_effect_ci_width",
)  # fmt: skip


def _fork_csv(rep: Report, r: Row) -> list[Any]:
    """A forked sweep's columns of report.csv for row `r` (blank for a control)."""
    if rep.forks is None:
        return []
    f = next((x for x in rep.forks.rows if x.world == r.world), None)
    if f is None:
        return [rep.forks.at, "", "", "", "", "", ""]
    e = f.fresh
    return [
        rep.forks.at, int(f.shared), _f(width(f.forked)),
        _f(e.mean) if e else "", _f(e.lo) if e else "", _f(e.hi) if e else "",
        _f(width(e)) if e else "",
    ]  # fmt: skip


def render_csv(rep: Report) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*CSV_COLUMNS, *(FORK_COLUMNS if rep.forks is not None else ())])
    for r in rep.rows:
        e = r.effect
        w.writerow(
            [
                r.world.label, r.world.cast, r.world.mechanism,
                "" if r.world.short is None else r.world.short,
                r.n, r.distinct, int(r.replicas),
                _f(r.before.mean), _f(r.before.sd), _f(r.at.mean), _f(r.at.sd),
                _f(r.pnl.mean), _f(r.pnl.sd), _f(r.pnl.lo), _f(r.pnl.hi), r.wins, r.forced,
                _f(e.mean) if e else "", _f(e.lo) if e else "", _f(e.hi) if e else "",
                r.paired if e else "", r.agreement,
                "" if r.settle_holds is None else f"{r.settle_holds[0]}/{r.settle_holds[1]}",
                r.calls, r.prompt_tokens, r.generated_tokens, f"{r.wall_s:.3f}",
                *(r.levers.get(k, 0) for k in LEVER_COUNTS),
                *(_f(x.mean) if x else "" for x in (r.offered, r.sold, r.heat, r.fined)),
                *_fork_csv(rep, r),
            ]
        )  # fmt: skip
    return buf.getvalue()


RUN_COLUMNS = (
    "world", "seed", "before", "at_settlement", "pnl", "forced_covers", "turns", "calls",
    "prompt_tokens", "cached_tokens", "generated_tokens", "wall_s", "behaviour", "folder",
    *Levers.FIELDS,
)  # fmt: skip


def render_runs_csv(outcomes: Sequence[Mapping[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(RUN_COLUMNS)
    for o in sorted(outcomes, key=lambda o: (o["world"], int(o["seed"]))):
        w.writerow([o.get(c, "") for c in RUN_COLUMNS])
    return buf.getvalue()


def _f(x: float) -> str:
    return "" if x is None or math.isnan(x) else f"{x:.4f}"
