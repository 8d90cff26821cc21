"""The package's face, pinned: nothing leaks into `woodmarket.__all__`, nothing falls out of it.

What docs/api.md imports from the package is here; a name added to or taken
from the face is a change of the public API, made on purpose, here too.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import woodmarket

EXPORTED = {
    "Action",
    "ActionError",
    "Answer",
    "Backend",
    "BackendError",
    "Completion",
    "CompletionRequest",
    "ContractError",
    "Fill",
    "FunctionBackend",
    "Gossip",
    "LedgerError",
    "ModelMissing",
    "Observation",
    "Order",
    "Policy",
    "ReplayError",
    "RunResult",
    "RunSpec",
    "Sampling",
    "Scenario",
    "ScenarioError",
    "Wood",
    "WoodmarketError",
    "__version__",
    "build",
    "check_backend",
    "check_file",
    "check_policy",
    "check_scenario",
    "load_scenario",
    "run",
}


def test_the_face_is_exactly_the_public_names():
    assert set(woodmarket.__all__) == EXPORTED
    assert len(woodmarket.__all__) == len(EXPORTED)  # no name twice
    assert all(hasattr(woodmarket, name) for name in woodmarket.__all__)
    public = {n for n in vars(woodmarket) if not n.startswith("_") and n[0].isupper()}
    assert public <= EXPORTED  # no class reachable from the face is left out of it


def test_the_guide_imports_from_the_face_only_what_it_exports():
    guide = (Path(__file__).parent.parent / "docs" / "api.md").read_text(encoding="utf-8")
    used = set()
    for code in re.findall(r"```python\n(.*?)```", guide, flags=re.S):
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.ImportFrom) and node.module == "woodmarket":
                used |= {alias.name for alias in node.names}
    assert used and used <= EXPORTED
    assert {"RunSpec", "run", "build", "FunctionBackend", "check_policy"} <= used
