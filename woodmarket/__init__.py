"""woodmarket: a woodland economy of small language models, and an instrument to study it.

The public API is assembled here (`__all__`, pinned by a test): the
values of the wood, the scenario, a run as a value (`RunSpec`, `Sampling`)
with its one builder (`build`) and runner (`run`), the contract checks
for your own parts, and `FunctionBackend`, a plain function as a model.
Everything else is a room of its own (docs/layers.md). Importing the
package loads no model runtime, data library or UI.
"""

from woodmarket.backends.fake import FunctionBackend
from woodmarket.build import build
from woodmarket.errors import (
    ActionError,
    BackendError,
    LedgerError,
    ModelMissing,
    ReplayError,
    ScenarioError,
    WoodmarketError,
)
from woodmarket.runner import run
from woodmarket.scenario import Scenario, load_scenario
from woodmarket.spec import RunResult, RunSpec
from woodmarket.testing import (
    ContractError,
    check_backend,
    check_file,
    check_policy,
    check_scenario,
)
from woodmarket.types import (
    Action,
    Answer,
    Backend,
    Completion,
    CompletionRequest,
    Fill,
    Gossip,
    Observation,
    Order,
    Policy,
    Sampling,
)
from woodmarket.version import __version__
from woodmarket.wood import Wood

__all__ = [
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
]
