"""The batching probe: does a model answer a creature's requests the same when they share a batch?

llama.cpp batches requests that run on different slots at the same time.
On some CPUs and builds a batched step computes each request's sums by
other kernels or in another order than a lone request's, so logprobs, and
sometimes texts, change with whoever else was being served: a run that
batches does not repeat. This room measures it on the model's real kind of requests: a
creature's prompt and grammar, built by `LLMPolicy.request` from the
observations of a short stand-in run of a bundled scenario.

`run_probe(scorer, requests)` is the logic, on any `Scorer` (a backend
that returns per-token logprobs and has slots): each request alone, twice
(the baseline must repeat bit for bit), then for each batch size k from 2
to the slots, the first k requests one after another (timed, and checked
against the baseline again), then `repeats` times released together from k
threads on k distinct slots; a batch whose requests were not all being
served at once is not evidence and is tried again. Every generated token's
logprob and the texts are compared bit for bit with the lone runs; the
speedup is the one-after-another time over the batched time (the best run
of each, as other work on the cores only slows runs down). A
reused cached prefix is measured apart (it changes logprobs on its own).
`probe_model(key)` does it on a bundled model through the embedded
backend and returns a verdict for `backends.batching.record`.

Layer: policies and backends. It imports the engine (a stand-in wood for
observations), the llm policy (for its requests), the backends and the
model registry; never casts, the runner or a face.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from woodmarket import models
from woodmarket.backends import batching
from woodmarket.backends._chat import chat_body, parse_chat
from woodmarket.backends.embedded import DEFAULT_N_CTX, EmbeddedBackend, shared_slots
from woodmarket.backends.fake import FunctionBackend
from woodmarket.errors import BackendError, WoodmarketError
from woodmarket.policies.llm import LLMPolicy
from woodmarket.types import CompletionRequest
from woodmarket.wood import Wood

__all__ = [
    "DEFAULT_REPEATS",
    "BatchRun",
    "EmbeddedScorer",
    "ProbeResult",
    "Scored",
    "Scorer",
    "creature_requests",
    "first_difference",
    "probe_model",
    "run_probe",
]

DEFAULT_REPEATS = 3
# A batch that did not overlap is run again, up to this many times in all.
ATTEMPTS = 3

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True, slots=True)
class Scored:
    """One answer with what the model made of each generated token."""

    text: str
    tokens: tuple[int, ...]
    logprobs: tuple[float, ...]
    prompt_tokens: int = 0
    cached_tokens: int = 0
    # Seconds the server spent on it by its own clock (prompt and generation,
    # not time queued), when it says; None: only the caller's clock is known.
    busy_s: float | None = None


class Scorer(Protocol):
    """What the probe needs of a backend: slots, and per-token logprobs for a pinned request.

    `cache_prompt=False` makes every request start from an empty slot, so
    only batching can change an answer; `True` lets a slot reuse the prefix
    it already holds (the probe measures that apart).
    """

    n_parallel: int

    def score(self, request: CompletionRequest, *, cache_prompt: bool = False) -> Scored: ...


class EmbeddedScorer:
    """An `EmbeddedBackend` asked for the logprob of every token it generates."""

    def __init__(self, backend: EmbeddedBackend) -> None:
        self.backend = backend
        self.n_parallel = backend.n_parallel

    def score(self, request: CompletionRequest, *, cache_prompt: bool = False) -> Scored:
        body = chat_body(request, model=self.backend.name, cache_prompt=cache_prompt)
        # llama.cpp's logprob of the chosen token, from the raw logits (before
        # the grammar and samplers), printed from its float32 in full.
        body |= {"logprobs": True, "top_logprobs": 1}
        start = time.perf_counter()
        payload = self.backend.chat(body)
        where = f"embedded llama.cpp ({self.backend.name})"
        done = parse_chat(
            payload,
            model=self.backend.name,
            latency_ms=(time.perf_counter() - start) * 1000,
            where=where,
        )
        try:
            content = payload["choices"][0]["logprobs"]["content"]
            tokens = tuple(int(t["id"]) for t in content)
            logprobs = tuple(float(t["logprob"]) for t in content)
        except (KeyError, IndexError, TypeError, ValueError):
            raise BackendError(f"{where}: the answer carries no per-token logprobs") from None
        timings = payload.get("timings") or {}
        try:
            busy_s: float | None = (timings["prompt_ms"] + timings["predicted_ms"]) / 1000
        except (KeyError, TypeError):
            busy_s = None
        return Scored(done.text, tokens, logprobs, done.prompt_tokens, done.cached_tokens, busy_s)


def first_difference(a: Scored, b: Scored) -> int | None:
    """The first generated token where two answers differ (token or logprob, bit for bit).

    None when they are the same in every token and in text; a shorter answer
    that agrees as far as it goes differs at its end.
    """
    mine = list(zip(a.tokens, a.logprobs, strict=True))
    theirs = list(zip(b.tokens, b.logprobs, strict=True))
    for i, (x, y) in enumerate(zip(mine, theirs, strict=False)):  # as far as the shorter goes
        if x != y:
            return i
    if len(a.tokens) != len(b.tokens) or a.text != b.text:
        return min(len(a.tokens), len(b.tokens))
    return None


@dataclass(frozen=True, slots=True)
class BatchRun:
    """k requests released together: their answers, and whether they were all served at once.

    `starts` and `ends` bound the time each request was served: from when the
    server began on it (its end less the server's own busy time) to its end.
    A request sent at once but queued behind another does not count as
    served together with it.
    """

    k: int
    attempts: int
    answers: tuple[Scored, ...]
    sent: tuple[float, ...]
    starts: tuple[float, ...]
    ends: tuple[float, ...]

    @property
    def together_s(self) -> float:
        """How long all k were being served at once (negative: never)."""
        return min(self.ends) - max(self.starts)

    @property
    def overlapped(self) -> bool:
        """Every request was begun before any ended: all k were in the server together."""
        return self.together_s > 0

    @property
    def seconds(self) -> float:
        """Wall time from the release to the last answer."""
        return max(self.ends) - min(self.sent)


@dataclass
class ProbeResult:
    """What `run_probe` measured; `verdict` is yes, no or inconclusive."""

    slots: int
    repeats: int
    # Two passes of every request alone, one after another.
    alone: list[list[Scored]]
    prefix_cached: list[Scored]
    # Per batch size k: the first k requests alone, one after another, run just
    # before the batches of that size (their time is what batching must beat).
    sequential: dict[int, list[Scored]] = field(default_factory=dict)
    # Per request, the seconds of each of its lone runs.
    alone_seconds: list[list[float]] = field(default_factory=list)
    batches: dict[int, list[BatchRun]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def alone_repeats(self) -> bool:
        """Every lone run repeats the first pass bit for bit: else nothing can be compared."""
        baseline = self.alone[0]
        again = [*zip(baseline, self.alone[1], strict=True)]
        again += [(baseline[i], s) for run in self.sequential.values() for i, s in enumerate(run)]
        return all(first_difference(a, b) is None for a, b in again)

    def size(self, k: int) -> dict[str, Any]:
        """The numbers for batch size k: how many answers differed from alone, where, how fast."""
        baseline = self.alone[0]
        runs = [b for b in self.batches[k] if b.overlapped]
        # (request, first differing token or None, text changed) for every answer compared
        seen = [
            (i, first_difference(baseline[i], answer), baseline[i].text != answer.text)
            for b in runs
            for i, answer in enumerate(b.answers)
        ]
        differing = [first for _, first, _ in seen if first is not None]
        # Best of the runs, as timeit takes: other work on the cores only ever
        # slows a run down, so the fastest is the closest to the machine's own.
        alone = sum(min(self.alone_seconds[i]) for i in range(k))
        together = min((b.seconds for b in runs), default=None)
        agree = all(
            first_difference(x, y) is None
            for b in runs[1:]
            for x, y in zip(runs[0].answers, b.answers, strict=True)
        )
        return {
            "k": k,
            "runs": len(self.batches[k]),
            "overlapped": len(runs),
            "attempts": sum(b.attempts for b in self.batches[k]),
            "compared": len(seen),
            "differed": len(differing),
            "requests_differed": len({i for i, first, _ in seen if first is not None}),
            "texts_changed": sum(changed for _, _, changed in seen),
            "first_token": min(differing) if differing else None,
            "batched_repeats": agree,
            # The shortest time all k were served at once, over the overlapped repeats.
            "overlap_s": round(min(b.together_s for b in runs), 3) if runs else None,
            "seconds_one_by_one": round(alone, 3),
            "seconds_together": None if together is None else round(together, 3),
            "speedup": None if together is None else round(alone / together, 2),
        }

    @property
    def verdict(self) -> str:
        """yes: every overlapped batch answered as alone, at every size, with all repeats.

        no: the lone runs do not repeat, or some overlapped batch differed.
        inconclusive: nothing differed, but some batch never overlapped.
        """
        if not self.alone_repeats:
            return "no"
        sizes = [self.size(k) for k in self.batches]
        if any(s["differed"] for s in sizes):
            return "no"
        if any(s["overlapped"] < self.repeats for s in sizes):
            return "inconclusive"
        return "yes"

    def to_dict(self) -> dict[str, Any]:
        baseline = self.alone[0]
        cached = [first_difference(a, c) for a, c in zip(baseline, self.prefix_cached, strict=True)]
        verdict = self.verdict
        return {
            "verdict": verdict,
            "batch_invariant": {"yes": True, "no": False}.get(verdict),
            "slots": self.slots,
            "repeats": self.repeats,
            "requests": len(baseline),
            "prompt_tokens": [
                min(a.prompt_tokens for a in baseline),
                max(a.prompt_tokens for a in baseline),
            ],
            "generated_tokens": [
                min(len(a.tokens) for a in baseline),
                max(len(a.tokens) for a in baseline),
            ],
            "alone_repeats": self.alone_repeats,
            "prefix_cache": {
                "compared": len(cached),
                "differed": sum(c is not None for c in cached),
                "reused_tokens": [c.cached_tokens for c in self.prefix_cached],
            },
            "sizes": [self.size(k) for k in sorted(self.batches)],
            "seconds": round(self.seconds, 1),
        }


def _together(scorer: Scorer, requests: Sequence[CompletionRequest], attempt: int) -> BatchRun:
    """Release `requests` at once from one thread each, behind a barrier."""
    k = len(requests)
    barrier = threading.Barrier(k)
    answers: list[Scored | None] = [None] * k
    sent = [0.0] * k
    starts = [0.0] * k
    ends = [0.0] * k
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            barrier.wait()
            sent[i] = time.perf_counter()
            answer = answers[i] = scorer.score(requests[i])
            ends[i] = time.perf_counter()
            busy = answer.busy_s
            starts[i] = sent[i] if busy is None else max(sent[i], ends[i] - busy)
        except BaseException as e:  # re-raised in the caller's thread
            errors.append(e)
            barrier.abort()

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(k)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        first = next((e for e in errors if not isinstance(e, threading.BrokenBarrierError)), None)
        raise first or errors[0]
    got = tuple(a for a in answers if a is not None)
    return BatchRun(k, attempt, got, tuple(sent), tuple(starts), tuple(ends))


def run_probe(
    scorer: Scorer,
    requests: Sequence[CompletionRequest],
    *,
    repeats: int = DEFAULT_REPEATS,
    sizes: Sequence[int] | None = None,
    attempts: int = ATTEMPTS,
    progress: Progress | None = None,
) -> ProbeResult:
    """Measure whether `scorer` answers `requests` the same batched as alone.

    Request i is pinned to slot i, alone and in every batch (so at most
    `scorer.n_parallel` requests). `sizes` default to 2..len(requests).
    """
    if not 2 <= len(requests) <= scorer.n_parallel:
        raise WoodmarketError(
            f"the probe needs 2 to {scorer.n_parallel} requests (one per slot), got {len(requests)}"
        )
    if repeats < 1 or attempts < 1:
        raise WoodmarketError(f"repeats and attempts must be >= 1, got {repeats}, {attempts}")
    pinned = [replace(r, slot=i) for i, r in enumerate(requests)]
    ks = list(sizes) if sizes is not None else list(range(2, len(pinned) + 1))
    if any(not 2 <= k <= len(pinned) for k in ks):
        raise WoodmarketError(f"batch sizes must be 2 to {len(pinned)}, got {ks}")
    total = 4 * len(pinned) + (1 + repeats) * len(ks)
    done = 0

    def tick(what: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total, what)

    began = time.perf_counter()
    times: list[list[float]] = [[] for _ in pinned]

    def alone(i: int) -> Scored:
        start = time.perf_counter()
        answer = scorer.score(pinned[i])
        times[i].append(time.perf_counter() - start)
        return answer

    passes: list[list[Scored]] = []
    for n in (1, 2):
        row = []
        for i in range(len(pinned)):
            row.append(alone(i))
            tick(f"alone {n}/2, request {i + 1}")
        passes.append(row)
    # A prefix the slot already holds (primed by the same request) reused.
    cached = []
    for i, r in enumerate(pinned):
        scorer.score(r, cache_prompt=True)
        tick(f"prefix cache, priming request {i + 1}")
        cached.append(scorer.score(r, cache_prompt=True))
        tick(f"prefix cache, request {i + 1}")
    result = ProbeResult(
        slots=scorer.n_parallel,
        repeats=repeats,
        alone=passes,
        prefix_cached=cached,
        alone_seconds=times,
    )
    for k in ks:
        # One after another, just before the batches: the same machine load, or close.
        result.sequential[k] = [alone(i) for i in range(k)]
        tick(f"{k} one after another")
        runs = result.batches.setdefault(k, [])
        for rep in range(repeats):
            for attempt in range(1, attempts + 1):
                run = _together(scorer, pinned[:k], attempt)
                if run.overlapped:
                    break
            runs.append(run)
            tick(f"{k} at once, repeat {rep + 1}/{repeats}")
    result.seconds = time.perf_counter() - began
    return result


def creature_requests(
    model: str, n: int, *, scenario: str = "oona", seed: int = 0
) -> list[CompletionRequest]:
    """`n` requests as the llm policy would send them to `model`, from a stand-in run.

    The observations are every creature's, turn after turn, of a stand-in
    wood of the scenario; the requests carry the creature's prompt, its
    grammar and its sampling (greedy), each pinned to slot i.
    """
    requests: list[CompletionRequest] = []
    unused = FunctionBackend(lambda request: "hold")
    with Wood.from_scenario(scenario, seed=seed) as wood:
        while len(requests) < n:
            for name in wood.names:
                if len(requests) == n:
                    break
                policy = LLMPolicy(unused, model, "embedded", slot=len(requests))
                requests.append(policy.request(wood.observe(name)))
            wood.step()
    return requests


def probe_model(
    model: str,
    *,
    slots: int | None = None,
    repeats: int = DEFAULT_REPEATS,
    scenario: str = "oona",
    threads: int | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Probe a bundled model (or a GGUF path) on its own server; the verdict, ready to record.

    The server has `slots` slots (default: as many as a shared server,
    `WOODMARKET_SLOTS` or 10) of the game's context size, and as many
    threads as the game's.
    """
    n = shared_slots(slots)
    if n < 2:
        raise WoodmarketError("the probe needs a server of at least 2 slots")
    path = models.resolve(model)
    info = models.info_for(path)
    label = info.key if info else path.stem
    requests = creature_requests(label, n, scenario=scenario)
    with EmbeddedBackend(path, n, n_ctx=DEFAULT_N_CTX, threads=threads) as backend:
        result = run_probe(EmbeddedScorer(backend), requests, repeats=repeats, progress=progress)
        used = backend.threads
    return {
        "model": label,
        "key": batching.machine_key(batching.model_sha256(path), used),
        "probed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "scenario": scenario,
        "n_ctx": DEFAULT_N_CTX,
        "cache_prompt": False,
        **result.to_dict(),
    }
