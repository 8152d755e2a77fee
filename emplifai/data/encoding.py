"""Text encodings of data files as they really come: UTF-8 with or without a BOM, UTF-16 (Excel's
"Unicode text"), and CP932 / Shift-JIS (the default of Japanese spreadsheets).

A file is decoded with the encoding the user names, or else with the one its bytes prove: a BOM, or
strict UTF-8. Bytes that are not UTF-8 are never guessed into another encoding silently: when the
whole file decodes cleanly as CP932 (or shows UTF-16's zero bytes without a BOM) the error names
that encoding and the option that reads it. Otherwise the bytes are kept as surrogate escapes so
the validator reports the exact rows and fields that hold them.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from emplifai.data.schema import DataSourceError

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
HOW_TO_NAME = "pass --encoding {enc} (emplifai data) or -T encoding={enc} (inspect eval)"


def check_encoding(encoding: str | None) -> str | None:
    """The codec's canonical name, or a UserError naming the unknown encoding."""
    if encoding is None:
        return None
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise DataSourceError(
            f"unknown encoding {encoding!r}; use a Python codec name such as utf-8, utf-8-sig, cp932, "
            "shift_jis or utf-16"
        ) from None


def read_text(path: Path, encoding: str | None = None) -> str:
    """The file's text. ``encoding`` None = detect (BOM, else UTF-8) as the module docstring says."""
    data = path.read_bytes()
    if encoding is not None:
        codec = check_encoding(encoding)
        try:
            return data.decode(codec).removeprefix("\ufeff")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise DataSourceError(
                f"{path}: not valid {encoding} (byte {exc.start}, line {line}: {exc.reason}); "
                f"{_suggest(data) or 'check the encoding the file was saved with'}"
            ) from None
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data.decode(codec, errors="surrogateescape").removeprefix("\ufeff")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    suggestion = _suggest(data)
    if suggestion:
        raise DataSourceError(f"{path}: not UTF-8; {suggestion}")
    # Mostly UTF-8 with a few bad bytes: keep them visible for the per-row report.
    return data.decode("utf-8", errors="surrogateescape")


def _suggest(data: bytes) -> str | None:
    sample = data[:4096]
    # Text files hold no zero bytes; UTF-16 puts one beside every ASCII character (the header).
    if b"\x00" in sample:
        enc = "utf-16-be" if sample[:1] == b"\x00" else "utf-16-le"
        return f"it looks like UTF-16 without a byte-order mark: {HOW_TO_NAME.format(enc=enc)}"
    try:
        data.decode("cp932")
    except UnicodeDecodeError:
        return None
    return f"it decodes as CP932 (Shift-JIS, Japanese Excel's default): {HOW_TO_NAME.format(enc='cp932')}"
