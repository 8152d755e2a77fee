"""A llama.cpp prompt cache on disk, so a judge's long prefix outlives the process that computed it.

A judge prompt starts with the same ~7,000 tokens (instructions and seven rubrics) for every sample;
llama.cpp keeps them in its slot between requests, but a new process (the next ``inspect eval``)
starts with an empty slot and computes them again (about 55 s with the bundled 135M judge on two
cores). Here the slot is saved to disk with llama.cpp's own slot save (``POST /slots/0?action=save``)
when a run ends, and restored before a request whenever a saved slot shares a longer prefix with
that request (by ``MIN_SHARED_CHARS`` or more) than what the slot holds: at a server's first
request, and when the requests of one server change from one prompt family to another (the demo's
candidate prompts, then the judge's).

What is trusted, and why that is safe:
- An entry is two files: ``<id>.bin`` (llama.cpp's slot file: the tokens and their KV cache) and
  ``<id>.json`` (what made it: the model file's SHA-256, the llama.cpp build, the server settings,
  the prompt text it was computed for, the .bin's size and SHA-256).
- An entry is restored only when every one of those fields matches the running server and the
  .bin's size and hash match what was written; anything else (stale, foreign, truncated, edited)
  is ignored and removed.
- Even a restored slot is never taken on trust for the answer: llama.cpp compares the restored
  tokens with the new prompt's tokens and reuses only the common prefix, computing the rest.

The folder is ``$EMPLIFAI_PROMPT_CACHE``, else ``<emplifai home>/prompt-cache`` (``$EMPLIFAI_HOME``,
else ``$XDG_CACHE_HOME/emplifai``, else ``~/.cache/emplifai``), bounded to ``EMPLIFAI_PROMPT_CACHE_MB`` megabytes (default 2048) by
removing the least recently used entries. A slot of the 135M model costs about 23 KB a token
(161 MB for a 7,000-token Japanese judge prompt); a 7B model's costs several times more.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emplifai.local_model import default_home

FORMAT = 1
DEFAULT_MAX_MB = 2048
# Restoring reads the whole file (~1 s for 160 MB here); below this shared prefix, computing the
# tokens again costs about as much, so the entry is not worth restoring.
MIN_SHARED_CHARS = 1000

_hash_lock = threading.Lock()
_model_hashes: dict[tuple[str, int, int], str] = {}


def cache_dir() -> Path:
    """``$EMPLIFAI_PROMPT_CACHE``, else ``<emplifai home>/prompt-cache``."""
    override = os.environ.get("EMPLIFAI_PROMPT_CACHE")
    return Path(override) if override else default_home() / "prompt-cache"


def max_bytes() -> int:
    raw = os.environ.get("EMPLIFAI_PROMPT_CACHE_MB", "")
    try:
        mb = int(raw) if raw.strip() else DEFAULT_MAX_MB
    except ValueError:
        mb = DEFAULT_MAX_MB
    return max(0, mb) * 1024 * 1024


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_sha256(path: str) -> str:
    """SHA-256 of a model file, computed once per (file, size, mtime): kept in this process and in
    ``model-hashes.json`` beside the entries (hashing a 7B file takes seconds)."""
    st = os.stat(path)
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
    index_path = cache_dir() / "model-hashes.json"
    label = "|".join(map(str, key))
    with _hash_lock:
        if key in _model_hashes:
            return _model_hashes[key]
        try:
            index = json.loads(index_path.read_text(encoding="utf-8"))
            index = index if isinstance(index, dict) else {}
        except (OSError, ValueError):
            index = {}
        digest = index.get(label)
        if not (isinstance(digest, str) and len(digest) == 64):
            digest = file_sha256(Path(path))
            index[label] = digest
            try:
                index_path.parent.mkdir(parents=True, exist_ok=True)
                tmp = index_path.with_suffix(".tmp")
                tmp.write_text(json.dumps(index), encoding="utf-8")
                os.replace(tmp, index_path)
            except OSError:
                pass  # a read-only cache folder: hash again next time
        _model_hashes[key] = digest
        return digest


def llama_cpp_build() -> str:
    import xllamacpp

    return f"xllamacpp {getattr(xllamacpp, '__version__', '?')}"


def prompt_text(messages: list[dict[str, Any]]) -> str:
    """The chat messages as one string, to find which saved slot shares the longest prefix.
    (Only a selector: llama.cpp itself decides, token by token, what it reuses.)"""
    parts = []
    for message in messages:
        content = message.get("content", "")
        parts.append(f"<{message.get('role', '')}>\n{content if isinstance(content, str) else json.dumps(content)}\n")
    return "".join(parts)


def shared_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


@dataclass(frozen=True)
class Identity:
    """What a saved slot must match to be restored into a server."""

    model_sha256: str
    llama_cpp: str
    settings: tuple[tuple[str, Any], ...]  # context per slot, slots: what shapes the KV cache

    def as_json(self) -> dict[str, Any]:
        return {"model_sha256": self.model_sha256, "llama_cpp": self.llama_cpp, "settings": dict(self.settings)}


@dataclass(frozen=True)
class Entry:
    id: str
    bin_path: Path
    meta: dict[str, Any]


def entry_id(identity: Identity, text: str) -> str:
    """One entry per identity and leading message (the judge's instructions and rubrics)."""
    head = text.split("\n<", 1)[0]
    raw = json.dumps([identity.as_json(), head], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


# Entries already checked in this process, by (.bin path, size, mtime): the hash of a 160 MB slot
# file is not computed again for every request that looks for a prefix.
_checked: dict[tuple[str, int, int], bool] = {}


def _valid(meta_path: Path, identity: Identity) -> Entry | None:
    """The entry behind ``meta_path`` if it matches ``identity`` and its file is intact, else None
    (and the entry is removed: a cache that cannot be used only takes space)."""
    bin_path = meta_path.with_suffix(".bin")
    try:
        st = bin_path.stat()
        seen = (str(bin_path), st.st_size, st.st_mtime_ns)
    except OSError:
        seen = None
    if seen is not None and _checked.get(seen):
        try:
            return Entry(meta_path.stem, bin_path, json.loads(meta_path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            pass
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        ok = (
            isinstance(meta, dict)
            and meta.get("format") == FORMAT
            and meta.get("identity") == identity.as_json()
            and isinstance(meta.get("prompt_text"), str)
            and bin_path.is_file()
            and bin_path.stat().st_size == meta.get("bin_bytes")
            and file_sha256(bin_path) == meta.get("bin_sha256")
        )
    except (OSError, ValueError):
        ok = False
    if ok:
        if seen is not None:
            _checked[seen] = True
        return Entry(meta_path.stem, bin_path, meta)
    if meta_path.is_file() and _same_identity(meta_path, identity):
        remove(meta_path.stem)
    return None


def _same_identity(meta_path: Path, identity: Identity) -> bool:
    # Entries of other models or builds are left alone (they may be valid for another server);
    # an entry that claims this identity but fails the checks is stale or damaged.
    try:
        return json.loads(meta_path.read_text(encoding="utf-8")).get("identity") == identity.as_json()
    except (OSError, ValueError, AttributeError):
        return True


def best_entry(identity: Identity, text: str, better_than: int = 0) -> tuple[Entry, int] | None:
    """The valid entry sharing the longest prefix with ``text``, at least ``MIN_SHARED_CHARS`` more
    than ``better_than`` (what the server's slot already shares with it)."""
    folder = cache_dir()
    if not folder.is_dir():
        return None
    best: tuple[Entry, int] | None = None
    for meta_path in sorted(folder.glob("*.json")):
        try:
            stored = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            stored = None
        if not isinstance(stored, dict) or stored.get("identity") != identity.as_json():
            continue
        shared = shared_prefix(str(stored.get("prompt_text", "")), text)
        if shared < better_than + MIN_SHARED_CHARS or (best is not None and shared <= best[1]):
            continue
        entry = _valid(meta_path, identity)  # hashed only for a candidate
        if entry is not None:
            best = (entry, shared)
    return best


def record(entry_name: str, identity: Identity, text: str, n_tokens: int) -> Path:
    """Write the metadata of a slot llama.cpp has just saved as ``<entry_name>.bin``."""
    folder = cache_dir()
    bin_path = folder / f"{entry_name}.bin"
    meta = {
        "format": FORMAT,
        "identity": identity.as_json(),
        "prompt_text": text,
        "n_tokens": n_tokens,
        "bin_bytes": bin_path.stat().st_size,
        "bin_sha256": file_sha256(bin_path),
        "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    tmp = folder / f".{entry_name}.json.tmp"
    tmp.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, folder / f"{entry_name}.json")
    evict(keep=entry_name)
    return bin_path


def touch(entry: Entry) -> None:
    """Mark an entry as used (eviction removes the least recently used first)."""
    now = time.time()
    for path in (entry.bin_path, entry.bin_path.with_suffix(".json")):
        try:
            os.utime(path, (now, now))
        except OSError:
            pass


def remove(entry_name: str) -> None:
    for suffix in (".json", ".bin"):
        try:
            (cache_dir() / f"{entry_name}{suffix}").unlink()
        except OSError:
            pass


def evict(keep: str | None = None) -> list[str]:
    """Remove least recently used entries until the folder is within ``max_bytes()``."""
    folder = cache_dir()
    # Oldest first, the entry just written last: it goes only if it alone exceeds the bound.
    bins = sorted(folder.glob("*.bin"), key=lambda p: (p.stem == keep, p.stat().st_mtime))
    total = sum(p.stat().st_size for p in bins)
    removed = []
    for path in bins:
        if total <= max_bytes():
            break
        total -= path.stat().st_size
        remove(path.stem)
        removed.append(path.stem)
    return removed
