"""Tests for the batching probe and its verdicts: fakes for the logic, SmolLM2 for real."""

from __future__ import annotations

import json
import math
import threading
import time
import zlib
from dataclasses import replace
from pathlib import Path

import pytest

from woodmarket import models, provenance
from woodmarket.backends import batching
from woodmarket.cli import main
from woodmarket.errors import WoodmarketError
from woodmarket.probe import (
    ATTEMPTS,
    Scored,
    creature_requests,
    first_difference,
    probe_model,
    run_probe,
)
from woodmarket.spec import RunSpec
from woodmarket.types import CompletionRequest


def _answer(request: CompletionRequest) -> Scored:
    """A made-up answer that depends only on the request, as a lone run's does."""
    seed = zlib.crc32(request.user.encode())
    tokens = tuple((seed >> i) % 5000 for i in range(6))
    logprobs = tuple(-((seed >> i) % 97) / 7 for i in range(6))
    return Scored(f"buy {seed % 9 + 1} acorns 4", tokens, logprobs, prompt_tokens=80 + seed % 30)


class Invariant:
    """A backend whose answers do not depend on who else is being served."""

    def __init__(self, slots: int = 4, delay_s: float = 0.03) -> None:
        self.n_parallel = slots
        self.delay_s = delay_s
        self.calls = 0
        self._lock = threading.Lock()

    def score(self, request: CompletionRequest, *, cache_prompt: bool = False) -> Scored:
        with self._lock:
            self.calls += 1
        time.sleep(self.delay_s)
        return replace(_answer(request), busy_s=self.delay_s)


class BatchSensitive(Invariant):
    """Like a CPU whose batched sums round otherwise: while another request is in flight,
    every logprob from the second token on moves by one ulp; a reused cached prefix
    moves the first token's."""

    def __init__(self, slots: int = 4, delay_s: float = 0.03) -> None:
        super().__init__(slots, delay_s)
        self._inflight = 0
        self._peaks: dict[int, int] = {}
        self._next = 0

    def score(self, request: CompletionRequest, *, cache_prompt: bool = False) -> Scored:
        with self._lock:
            self.calls += 1
            me, self._next = self._next, self._next + 1
            self._inflight += 1
            self._peaks[me] = 0
            for call in self._peaks:
                self._peaks[call] = max(self._peaks[call], self._inflight)
        time.sleep(self.delay_s)
        with self._lock:
            self._inflight -= 1
            peak = self._peaks.pop(me)
        scored = _answer(request)
        logprobs = list(scored.logprobs)
        if peak > 1:
            logprobs[1:] = [math.nextafter(x, 0.0) for x in logprobs[1:]]
        if cache_prompt:
            logprobs[0] = math.nextafter(logprobs[0], -math.inf)
        return replace(scored, logprobs=tuple(logprobs), busy_s=self.delay_s)


class OneAtATime(Invariant):
    """A server that serves one request at a time: requests sent together queue, and
    its busy time says so."""

    def score(self, request: CompletionRequest, *, cache_prompt: bool = False) -> Scored:
        with self._lock:
            self.calls += 1
            time.sleep(self.delay_s / 3)
            return replace(_answer(request), busy_s=self.delay_s / 3)


def _requests(n: int) -> list[CompletionRequest]:
    return [
        CompletionRequest(system="You are a creature.", user=f"turn facts {i}") for i in range(n)
    ]


def test_first_difference_is_bit_for_bit() -> None:
    a = Scored("buy 1", (1, 2, 3), (-0.5, -1.25, -2.0))
    assert first_difference(a, a) is None
    nudged = Scored("buy 1", (1, 2, 3), (-0.5, math.nextafter(-1.25, 0.0), -2.0))
    assert first_difference(a, nudged) == 1
    assert first_difference(a, Scored("buy 1", (1, 9, 3), a.logprobs)) == 1
    assert first_difference(a, Scored("buy 1", (1, 2), (-0.5, -1.25))) == 2
    assert first_difference(a, Scored("buy 2", a.tokens, a.logprobs)) == 3


def test_an_invariant_backend_gets_yes_with_its_counts() -> None:
    fake = Invariant(slots=4, delay_s=0.05)
    result = run_probe(fake, _requests(4), repeats=3)
    assert result.verdict == "yes"
    out = result.to_dict()
    assert out["batch_invariant"] is True and out["alone_repeats"] is True
    assert out["prefix_cache"] == {"compared": 4, "differed": 0, "reused_tokens": [0] * 4}
    assert [s["k"] for s in out["sizes"]] == [2, 3, 4]
    for s in out["sizes"]:
        assert s["overlapped"] == s["runs"] == 3 and s["attempts"] == 3
        assert s["compared"] == 3 * s["k"]
        assert (s["differed"], s["requests_differed"], s["texts_changed"]) == (0, 0, 0)
        assert s["first_token"] is None and s["batched_repeats"] is True
        # Sleeping together beats sleeping one after another (by how much is the
        # machine's business: a loaded one starts threads late).
        assert s["speedup"] > 1.0
        assert 0 < s["overlap_s"] <= 0.05
    # alone twice, prefix cache primed and reused, then per size one after
    # another and 3 batches
    assert fake.calls == 4 * 2 + 4 * 2 + 4 * (2 + 3 + 4)


def test_a_batch_sensitive_backend_gets_no_with_its_counts() -> None:
    result = run_probe(BatchSensitive(slots=3), _requests(3), repeats=3)
    assert result.verdict == "no"
    out = result.to_dict()
    assert out["batch_invariant"] is False
    assert out["alone_repeats"] is True  # alone, nothing moves
    assert out["prefix_cache"]["differed"] == 3
    for s in out["sizes"]:
        assert s["overlapped"] == 3
        assert s["differed"] == s["compared"] == 3 * s["k"]
        assert s["requests_differed"] == s["k"]
        assert s["first_token"] == 1 and s["texts_changed"] == 0


def test_a_batch_that_never_overlaps_is_not_evidence() -> None:
    fake = OneAtATime(slots=2)
    result = run_probe(fake, _requests(2), repeats=3)
    assert result.verdict == "inconclusive"
    (size,) = result.to_dict()["sizes"]
    assert size["overlapped"] == 0 and size["compared"] == 0 and size["speedup"] is None
    assert size["attempts"] == 3 * ATTEMPTS  # every repeat tried again, then reported
    assert result.to_dict()["batch_invariant"] is None


class Drifting(Invariant):
    """A backend whose lone answers do not repeat (its state leaks into the next call)."""

    def score(self, request: CompletionRequest, *, cache_prompt: bool = False) -> Scored:
        answer = super().score(request)
        return replace(answer, logprobs=(answer.logprobs[0] - self.calls, *answer.logprobs[1:]))


def test_a_backend_whose_lone_answers_drift_gets_no() -> None:
    result = run_probe(Drifting(slots=2), _requests(2), repeats=3)
    out = result.to_dict()
    assert out["alone_repeats"] is False and out["verdict"] == "no"


def test_bad_probe_arguments_are_refused() -> None:
    with pytest.raises(WoodmarketError, match="2 to 2 requests"):
        run_probe(Invariant(slots=2), _requests(3))
    with pytest.raises(WoodmarketError, match="batch sizes must be 2 to 2"):
        run_probe(Invariant(slots=2), _requests(2), sizes=[3])


def test_creature_requests_are_the_llm_policys_pinned_to_slots(scenario_key: str) -> None:
    requests = creature_requests("smollm2", 7, scenario=scenario_key)
    assert [r.slot for r in requests] == list(range(7))
    assert all(r.grammar and r.system and r.user and r.temperature == 0.0 for r in requests)
    assert len({(r.system, r.user) for r in requests}) == 7  # seven different requests
    assert all(r.logit_bias for r in requests)  # SmolLM2's whole-word bias, as in a run
    assert not any(r.logit_bias for r in creature_requests("gemma3", 2, scenario=scenario_key))


def _verdict(sha256: str, threads: int, answer: str = "no") -> dict[str, object]:
    return {
        "model": "smollm2",
        "key": batching.machine_key(sha256, threads),
        "probed_at": "2026-01-02T03:04:05+00:00",
        "verdict": answer,
        "batch_invariant": {"yes": True, "no": False}.get(answer),
        "slots": 3,
        "repeats": 3,
        "sizes": [
            {"k": 2, "differed": 4, "compared": 6, "speedup": 1.1},
            {"k": 3, "differed": 9, "compared": 9, "speedup": 1.2},
        ],
    }


def test_verdicts_are_kept_per_model_file_and_machine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(models.CACHE_ENV, str(tmp_path))
    assert batching.batch_invariant("smollm2") is None
    assert batching.verdict_line(batching.verdict_for("smollm2")).startswith("not probed")
    sha = models.MODELS["smollm2"].sha256
    path = batching.record(_verdict(sha, threads=2))
    assert path == tmp_path / "models" / "batching.json"
    assert batching.batch_invariant("smollm2", threads=2) is False
    assert batching.batch_invariant("smollm2", threads=1) is None  # another key
    assert batching.batch_invariant("gemma3", threads=2) is None
    line = batching.verdict_line(batching.verdict_for("smollm2", threads=2))
    assert line == (
        "not batch-invariant: 2-3 at once, 13/15 answers differed; 3 at once 1.2x "
        "(probed 2026-01-02)"
    )
    # A new probe for the same key replaces the old verdict; others stay.
    batching.record(_verdict(sha, threads=1, answer="yes"))
    batching.record(_verdict(sha, threads=2, answer="yes"))
    kept = json.loads(path.read_text())["verdicts"]
    assert len(kept) == 2
    assert batching.batch_invariant("smollm2", threads=2) is True
    assert batching.summary(None) == "not probed"
    assert batching.summary(batching.verdict_for("smollm2", 2))["differed"] == {
        "2": "4/6",
        "3": "9/9",
    }
    assert batching.declared(True) == {
        "verdict": "yes",
        "batch_invariant": True,
        "source": "declared",
    }
    path.write_text("{not json")
    with pytest.raises(WoodmarketError, match="delete it and probe again"):
        batching.batch_invariant("smollm2")


def test_run_json_records_the_verdict_of_each_embedded_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(models.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(provenance, "_SEEN", {})
    threads = provenance.provenance(RunSpec.make("oona"))["threads"]
    sha = models.MODELS["gemma3"].sha256
    batching.record(_verdict(sha, threads=threads))
    prov = provenance.provenance(RunSpec.make("oona", cast="council2"))
    assert prov["batching"]["smollm2"] == "not probed"
    assert prov["batching"]["gemma3"]["verdict"] == "no"
    assert prov["batching"]["gemma3"]["key"]["sha256"] == sha
    assert provenance.provenance(RunSpec.make("oona"))["batching"] == {}  # stand-ins only


def test_probing_an_unknown_model_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--probe", "llama9"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown model 'llama9'" in err and "qwen" in err


@pytest.mark.models
def test_a_real_probe_of_smollm2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(models.CACHE_ENV, str(tmp_path))
    seen: list[tuple[int, int]] = []
    verdict = probe_model(
        "smollm2", slots=2, repeats=3, progress=lambda done, total, what: seen.append((done, total))
    )
    assert seen[-1] == (12, 12)  # 4 alone, 4 prefix cache, 2 one after another, 3 batches
    assert verdict["key"] == batching.machine_key(models.SMOLLM2_SHA256, verdict["key"]["threads"])
    assert verdict["verdict"] in ("yes", "no")
    assert verdict["alone_repeats"] is True  # one at a time repeats bit for bit
    assert verdict["requests"] == 2 and verdict["prompt_tokens"][0] > 60
    (size,) = verdict["sizes"]
    assert size["k"] == 2 and size["overlapped"] == size["runs"] == 3
    assert size["compared"] == 6 and size["speedup"] > 0
    assert verdict["prefix_cache"]["reused_tokens"][0] > 60
    batching.record(verdict)
    assert batching.batch_invariant("smollm2", verdict["key"]["threads"]) is (
        verdict["verdict"] == "yes"
    )
