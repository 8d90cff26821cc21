"""The exception tree of woodmarket.

WoodmarketError
├── ScenarioError      a scenario or legend file is broken: names file, key, expectation
├── ActionError        an action, order or financier command is invalid
├── LedgerError        an invariant (conservation, no overdraw) broke: the run stops
├── BackendError       a model server failed, timed out or answered nonsense
├── ModelMissing       a bundled model is not installed or is corrupt
└── ReplayError        a recorded run cannot be replayed (missing or unreadable files)
"""

from __future__ import annotations

from woodmarket.text import printable


class WoodmarketError(Exception):
    """Base of every error woodmarket raises on purpose."""


class ScenarioError(WoodmarketError):
    """A scenario (or legend, or cast) file is broken.

    The message always names the file, the key and what was expected, so a
    user can fix the file without reading our code.
    """

    def __init__(self, path: str, key: str, expected: str) -> None:
        self.path = str(path)
        self.key = key
        self.expected = expected
        # One line, whatever a file's path or keys hold (a key may hold a newline).
        super().__init__(printable(f"{self.path}: key '{key}': {expected}"))


class ActionError(WoodmarketError):
    """An action, order or command is not valid; the message says why."""


class LedgerError(WoodmarketError):
    """A ledger invariant broke. Never caught inside the engine."""


class BackendError(WoodmarketError):
    """A model backend failed: dead server, timeout, HTTP error, bad payload."""


class ModelMissing(WoodmarketError):
    """A model file is missing or corrupt; the message says how to install it."""


class ReplayError(WoodmarketError):
    """A run folder cannot be replayed."""
