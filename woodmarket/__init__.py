"""woodmarket: a woodland economy of small language models, and an instrument to study it.

The public API is assembled here; everything else is a room of its own.
The engine imports without any UI, model runtime or data library.
"""

from woodmarket.errors import (
    ActionError,
    BackendError,
    LedgerError,
    ModelMissing,
    ReplayError,
    ScenarioError,
    WoodmarketError,
)
from woodmarket.scenario import Scenario, load_scenario
from woodmarket.types import (
    Action,
    Backend,
    Completion,
    CompletionRequest,
    Fill,
    Gossip,
    Observation,
    Order,
    Policy,
)
from woodmarket.wood import Wood

__version__ = "0.1.0"

__all__ = [
    "Action",
    "ActionError",
    "Backend",
    "BackendError",
    "Completion",
    "CompletionRequest",
    "Fill",
    "Gossip",
    "LedgerError",
    "ModelMissing",
    "Observation",
    "Order",
    "Policy",
    "ReplayError",
    "Scenario",
    "ScenarioError",
    "Wood",
    "WoodmarketError",
    "__version__",
    "load_scenario",
]
