"""The narrators: a model's headline from public facts only, traced; the recorded one on replay."""

from __future__ import annotations

from woodmarket.backends.fake import FunctionBackend
from woodmarket.build import build
from woodmarket.narrator import headline
from woodmarket.narrators import ModelNarrator, clean_headline
from woodmarket.spec import RunSpec
from woodmarket.traces import RunFolder, read_trace

SECRET = "zq-secret-tip-words"


def _wood(scenario_key, tmp_path, backend):
    wood = build(RunSpec.make(scenario_key, seed=1, financier=True))
    narrator = ModelNarrator(backend, "fake", "fake")
    wood.narrator = narrator
    folder = RunFolder.create(tmp_path / "run", wood, {})
    fin = wood.financier
    good, name = wood.goods[0], wood.names[0]
    assert fin.submit(f"short {good} 2").ok
    assert fin.submit(f"whisper {name} {SECRET}").ok
    tip = fin.tips()[0]
    assert fin.submit(f"whisper {wood.names[1]} {tip.key}").ok
    return wood, folder, fin


def test_a_model_writes_the_headline_from_public_facts_only(scenario_key, tmp_path):
    backend = FunctionBackend(lambda r: "Gazette: the market hums along\nsecond line")
    wood, folder, fin = _wood(scenario_key, tmp_path, backend)
    for _ in range(3):
        t = wood.step()
        assert t.headline == "Gazette: the market hums along"
    folder.finish({})
    records = list(read_trace(folder.path))
    assert [r["text"] for r in records if r["kind"] == "headline"] == [t.headline] * 3
    narrations = [r for r in records if r["kind"] == "narration"]
    assert len(narrations) == 3 and all(r["call"]["response"] for r in narrations)
    assert wood.headlines[-1] == t.headline
    private = [SECRET, "financier", "short", fin.tips()[0].text, str(fin.pnl())]
    for request in backend.requests:
        prompt = request.system + request.user
        leaked = [p for p in private[:4] if p in prompt]
        assert not leaked, leaked


def test_a_failing_model_leaves_the_template_headline_and_says_why(tmp_path):
    def broken(request):
        raise RuntimeError("the model fell over")

    wood, folder, _ = _wood("oona", tmp_path, FunctionBackend(broken))
    t = wood.step()
    folder.finish({})
    narration = next(r for r in read_trace(folder.path) if r["kind"] == "narration")
    assert "fell over" in narration["fallback"] and t.headline == narration["text"]
    assert t.headline == headline(wood, t)


def test_a_model_narrators_run_replays_from_its_records(tmp_path, scenario_key):
    import json

    from woodmarket.backends.fake import FunctionBackend
    from woodmarket.build import build
    from woodmarket.narrators import ModelNarrator
    from woodmarket.replay import replay
    from woodmarket.runner import run
    from woodmarket.spec import RunSpec

    spec = RunSpec.make(scenario_key, seed=2, turns=4, gambit="showcase")
    wood = build(spec)
    told = FunctionBackend(lambda r: f"Gazette, turn {r.user.count(chr(10))}: the market hums")
    wood.narrator = ModelNarrator(told, "fake", "fake")
    run(spec, tmp_path / "r", wood=wood)
    lines = (tmp_path / "r" / "trace.jsonl").read_text().splitlines()
    said = [json.loads(x) for x in lines if '"kind":"narration"' in x]
    heads = [json.loads(x)["text"] for x in lines if '"kind":"headline"' in x]
    assert len(said) == 4 and heads == [r["text"] for r in said]
    assert all(h.startswith("Gazette") for h in heads)
    assert replay(tmp_path / "r").ok  # no model asked: the narration is read back
    i = next(k for k, x in enumerate(lines) if '"kind":"narration"' in x)
    lines[i] = lines[i].replace("the market hums", "honey crashes")
    (tmp_path / "r" / "trace.jsonl").write_text("\n".join(lines) + "\n")
    report = replay(tmp_path / "r")
    assert not report.ok and report.mismatch_turn == 1 and "headline" in report.detail


def test_a_headline_is_one_printable_line():
    assert clean_headline('  "Honey\x1b[31m soars"\nmore') == "Honey[31m soars"
    assert clean_headline("") == ""
    assert len(clean_headline("x" * 500)) == 140
