"""Requantizing a GGUF's Q4_1 matrices to Q4_0 with the `gguf` package, byte for byte the same.

llama.cpp reads prompts faster through Q4_0 matrices than through Q4_1
ones on x86 (Q4_0 has repacked kernels there, Q4_1 none), so a model that
ships as Q4_1 can be made into a Q4_0 copy on this machine. `requantize`
reads a GGUF with `gguf.GGUFReader` and writes a new one with
`gguf.GGUFWriter`:

- every Q4_1 tensor is dequantized to float32 (`gguf.quants.dequantize`)
  and quantized to Q4_0 (`gguf.quants.quantize`);
- every other tensor (F32 norms, a Q8_0 embedding, ...) is copied byte for
  byte;
- the metadata is copied key by key with its own value types (strings as
  their raw bytes), except `general.file_type`, which says Q4_0.

The output depends only on the input bytes and the `gguf` version: its
numpy code rounds every step to float32 by IEEE arithmetic (correctly
rounded multiply, add, divide and float16 conversion, one ufunc at a
time, so nothing is fused), and the rest is exact (max and argmax of a
block, truncation of numbers in range, bit packing), so two runs, and two
machines with IEEE float32 (every x86-64 and ARM64 one), write the same
bytes. The model registry (`models`) pins the result's size and sha256.

Layer: policies and backends. It knows files only; `gguf` and numpy are
imported when a file is made, never on import.
"""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["GGUF_PACKAGE", "GGUF_VERSION", "gguf_version", "requantize"]

# The `gguf` release whose quantize code the pinned sha256 of a derived file came from.
GGUF_PACKAGE = "gguf"
GGUF_VERSION = "0.19.0"

_FILE_TYPE = "general.file_type"
_ARCHITECTURE = "general.architecture"


def gguf_version() -> str | None:
    """The installed `gguf` package's version, or None when it is not installed."""
    try:
        return metadata.version(GGUF_PACKAGE)
    except metadata.PackageNotFoundError:
        return None


def _value(field: Any, gguf: Any) -> tuple[Any, Any, Any]:
    """(value, type, sub type) of a reader field, ready for `GGUFWriter.add_key_value`."""
    kinds = gguf.GGUFValueType
    main = field.types[0]
    if main == kinds.STRING:
        return bytes(field.parts[-1]), main, None
    if main == kinds.ARRAY:
        if len(field.types) != 2:
            raise ValueError(f"{field.name}: nested arrays are not copied")
        sub = field.types[1]
        if sub == kinds.STRING:
            return [bytes(field.parts[i]) for i in field.data], main, sub
        return field.contents(), main, sub
    return field.contents(), main, None


def requantize(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> int:
    """Write `target`: `source` with its Q4_1 tensors requantized to Q4_0.

    Returns how many tensors were requantized. Raises ValueError when the
    source holds no Q4_1 tensor (or is not a GGUF the reader knows), and
    ImportError when `gguf` is not installed.
    """
    import gguf
    from gguf.quants import dequantize, quantize

    q4_0, q4_1 = gguf.GGMLQuantizationType.Q4_0, gguf.GGMLQuantizationType.Q4_1
    reader = gguf.GGUFReader(Path(source))
    if not any(t.tensor_type == q4_1 for t in reader.tensors):
        raise ValueError(f"{source}: no Q4_1 tensor to requantize")
    arch = reader.fields[_ARCHITECTURE].contents()
    writer = gguf.GGUFWriter(Path(target), arch)
    writer.data_alignment = reader.alignment
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name == _ARCHITECTURE:
            continue  # the header's own counts; the architecture the writer wrote first
        if name == _FILE_TYPE:
            writer.add_uint32(name, int(gguf.LlamaFileType.MOSTLY_Q4_0))
            continue
        writer.add_key_value(name, *_value(field, gguf))
    changed = 0
    for tensor in reader.tensors:
        if tensor.tensor_type == q4_1:
            data = quantize(dequantize(tensor.data, q4_1), q4_0)
            writer.add_tensor(tensor.name, data, raw_dtype=q4_0)
            changed += 1
        else:
            writer.add_tensor(tensor.name, tensor.data, raw_dtype=tensor.tensor_type)
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    finally:
        writer.close()
    return changed
