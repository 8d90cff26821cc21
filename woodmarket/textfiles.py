"""Text files from users: scenario, legend and cast files, read whole or refused in one line.

Files are read as UTF-8 (a BOM is dropped); anything else (UTF-16,
Latin-1, binary, a folder, a device, a file too large) is a `ScenarioError`
naming the file and what was wrong, never a traceback. Reads only.
"""

from __future__ import annotations

from pathlib import Path

from woodmarket.errors import ScenarioError

MAX_FILE_BYTES = 1_000_000


def decode(data: bytes, path: str) -> str:
    """UTF-8 text of a scenario or legend file (a BOM is dropped); anything else is refused."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ScenarioError(path, "(file)", "UTF-8 text; this file is UTF-16: save it as UTF-8")
    if b"\x00" in data:
        raise ScenarioError(path, "(file)", "UTF-8 text; this file is binary (it holds NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            path,
            "(file)",
            f"UTF-8 text; byte 0x{data[exc.start]:02x} at offset {exc.start} is not UTF-8 "
            "(Latin-1 or another encoding?): save it as UTF-8",
        ) from None
    return text.removeprefix("\ufeff")


def read_text_file(path: str | Path, what: str) -> str:
    """A file's text, or a ScenarioError naming it (missing, a folder, unreadable, not UTF-8)."""
    shown = str(path)
    p = Path(path)
    try:
        if p.is_dir():
            raise ScenarioError(shown, "(file)", f"{what}; this is a folder")
        if p.exists() and not p.is_file():
            raise ScenarioError(shown, "(file)", f"{what}; this is not a regular file")
        with p.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise ScenarioError(shown, "(file)", f"{what} of at most {MAX_FILE_BYTES} bytes")
    except FileNotFoundError:
        raise ScenarioError(shown, "(file)", f"{what}; none there") from None
    except OSError as exc:
        raise ScenarioError(shown, "(file)", f"{what}, readable: {exc.strerror}") from None
    except ValueError:  # a NUL in the path
        raise ScenarioError(repr(shown), "(file)", f"{what} at a path without NUL") from None
    return decode(data, shown)
