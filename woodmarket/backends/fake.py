"""A test double backend from a plain function: no model, no server.

`FunctionBackend(fn)` calls `fn(request)` and returns its answer as a
`Completion` (a plain string is wrapped). It records every request, so a
test can check what a policy sent. Shipped with the library, like httpx's
`MockTransport`, for anyone testing a policy. Touches nothing else.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from woodmarket.types import Completion, CompletionRequest

__all__ = ["FunctionBackend"]


class FunctionBackend:
    """A backend whose answers come from `fn(request) -> Completion | str`.

    Exceptions from `fn` propagate, as a real backend's `BackendError`
    would. Safe to call from many threads (policies decide concurrently).
    """

    backend_name = "fake"

    def __init__(
        self, fn: Callable[[CompletionRequest], Completion | str], name: str = "fake"
    ) -> None:
        self.fn = fn
        self.name = name
        self.requests: list[CompletionRequest] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<FunctionBackend {self.name} calls={len(self.requests)}>"

    def complete(self, request: CompletionRequest) -> Completion:
        with self._lock:
            self.requests.append(request)
        answer = self.fn(request)
        if isinstance(answer, str):
            return Completion(text=answer, model=self.name)
        return answer
