"""The layers of the package, enforced: every import, at top level, in a function or for types.

From the ground up (docs/layers.md): values and rules, the scenario as
data, the engine, the financier, policies and backends, casts, the builder
and runner, the faces. A module may import its own layer and the layers
below it, never one above, not even inside a function or under
`TYPE_CHECKING`: an import hidden in a function is still an arrow. Every
module of the package must have a layer, so a new room is placed on
purpose. And no import circle runs between modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "woodmarket"

# Layer by module prefix (the longest prefix wins), lowest first.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "values and rules",
        (
            "woodmarket.types",
            "woodmarket.rules",
            "woodmarket.errors",
            "woodmarket.text",
            "woodmarket.textfiles",
            "woodmarket.version",
            "woodmarket.councils",
            "woodmarket.drawing",
            "woodmarket.commands",
        ),
    ),
    ("the scenario as data", ("woodmarket.legends", "woodmarket.scenario", "woodmarket.spec")),
    (
        "the engine",
        (
            "woodmarket.state",
            "woodmarket.turn",
            "woodmarket.market",
            "woodmarket.ledger",
            "woodmarket.living",
            "woodmarket.memory",
            "woodmarket.legendbook",
            "woodmarket.narrator",
            "woodmarket.metrics",
            "woodmarket.traces",
        ),
    ),
    ("the financier", ("woodmarket.financier",)),
    (
        "policies and backends",
        (
            "woodmarket.policies",
            "woodmarket.backends",
            "woodmarket.models",
            "woodmarket.requant",
            "woodmarket.narrators",
        ),
    ),
    ("casts", ("woodmarket.casts",)),
    (
        "the builder and runner",
        (
            "woodmarket.build",
            "woodmarket.wood",
            "woodmarket.runner",
            "woodmarket.replay",
            "woodmarket.resume",
            "woodmarket.fork",
            "woodmarket.provenance",
            "woodmarket.probe",
            "woodmarket.testing",
        ),
    ),
    (
        "the faces",
        (
            "woodmarket",
            "woodmarket.__main__",
            "woodmarket.cli",
            "woodmarket.play",
            "woodmarket.app",
            "woodmarket.env",
            "woodmarket.experiments",
            "woodmarket.recap",
            "woodmarket.story",
        ),
    ),
)


def layer_of(module: str) -> int | None:
    best, found = -1, None
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), rank
    return found


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imports_of(module: str, path: Path) -> list[tuple[int, str]]:
    """(line, module imported) for every import of the package's modules in `path`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from woodmarket import x` imports the submodule x when there is one.
            known = modules()
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.append((node.lineno, sub if sub in known else base))
    return [(line, name) for line, name in out if name.split(".")[0] == "woodmarket"]


MODULES = modules()


def test_every_module_has_a_layer():
    assert [m for m in MODULES if layer_of(m) is None] == []


def test_no_import_runs_up_a_layer():
    broken = []
    for module, path in MODULES.items():
        mine = layer_of(module)
        assert mine is not None
        for line, name in imports_of(module, path):
            theirs = layer_of(name)
            if theirs is not None and theirs > mine:
                broken.append(
                    f"{path.relative_to(PACKAGE.parent)}:{line}: {module} ({LAYERS[mine][0]}) "
                    f"imports {name} ({LAYERS[theirs][0]})"
                )
    assert broken == [], "\n".join(broken)


def test_no_import_circle():
    graph = {
        m: {n for _, n in imports_of(m, p) if n in MODULES and n != m} for m, p in MODULES.items()
    }
    # A package's __init__ may re-export its rooms; a room importing its own package's
    # face would be the circle.
    index, low, stack, on, circles = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert circles == []


@pytest.mark.parametrize(
    ("module", "above"),
    [
        ("woodmarket.state", "woodmarket.policies.standin"),
        ("woodmarket.turn", "woodmarket.backends.embedded"),
        ("woodmarket.traces", "woodmarket.experiments"),
    ],
)
def test_the_rule_catches_an_upward_import(module, above, tmp_path):
    """The walk finds an import hidden in a function as readily as one at the top."""
    path = tmp_path / "room.py"
    path.write_text(f"def f():\n    import {above}\n", encoding="utf-8")
    ((_, name),) = imports_of(module, path)
    assert name == above and layer_of(name) > layer_of(module)
