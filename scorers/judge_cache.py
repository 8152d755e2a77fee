"""Judge replies cached only once they validated, in Inspect's own cache directory.

Inspect's model cache (``generate(..., cache=CachePolicy(...))``) stores whatever the model
returned before the caller can look at it, so an unusable judge reply would be replayed by every
re-run, ``inspect score`` and ``inspect eval-retry``, and an unscored sample could never be judged
again short of wiping the cache. The judge therefore calls the grader with ``cache=False`` and
keeps its own entries, written only after ``parse_verdict`` accepted the reply:

- the key is a sha256 of the grader (``str(model)`` and base URL), the generate config that shapes
  the reply (the grader's own config merged with the judge's; connection/retry/timeout knobs left
  out) and the judge's first messages (system + user, message ids left out). A reply obtained on a
  corrective retry is stored under the first messages too, so a re-run asks nothing;
- an entry is a file ``emplifai-verdict-<key>`` in ``inspect_ai.model.cache_path(<grader>)``
  holding the same ``(expiry, ModelOutput)`` pickle as Inspect's entries, so ``inspect cache
  list``, ``inspect cache prune`` and ``inspect cache clear`` (all honour ``INSPECT_CACHE_DIR``)
  treat them like Inspect's own; the expiry is one week, Inspect's default;
- an entry that no longer validates (the rules became stricter) is ignored and overwritten by the
  next usable reply; an unreadable or expired one is a miss.

Only public Inspect API is used (``cache_path``); the file format is the one Inspect writes.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from inspect_ai.model import ChatMessage, GenerateConfig, Model, ModelOutput, cache_path

CACHE_VERSION = "verdict-cache-v1"
EXPIRY = timedelta(weeks=1)
PREFIX = "emplifai-verdict-"
# Config fields that change how a call is made, not what the judge answers.
_RUNTIME_FIELDS = {
    "max_connections",
    "adaptive_connections",
    "max_retries",
    "timeout",
    "attempt_timeout",
    "stream_idle_timeout",
    "cache",
    "cache_prompt",
    "batch",
    "fail_on_refusal",
}


def verdict_key(grader: Model, messages: list[ChatMessage], config: GenerateConfig) -> str:
    """The cache key of one judged question (see the module docstring)."""
    effective = grader.config.merge(config)
    payload: dict[str, Any] = {
        "version": CACHE_VERSION,
        "model": str(grader),
        "base_url": grader.api.base_url,
        "config": {
            k: v for k, v in effective.model_dump(mode="json", exclude_none=True).items() if k not in _RUNTIME_FIELDS
        },
        "messages": [m.model_dump(mode="json", exclude={"id"}) for m in messages],
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def entry_path(grader: Model, key: str) -> Path | None:
    """Where the entry lives, or None when Inspect would not cache this model name either."""
    try:
        return cache_path(str(grader)) / f"{PREFIX}{key}"
    except ValueError:
        return None


def fetch(path: Path | None) -> ModelOutput | None:
    """The stored reply, or None (no entry, unreadable, expired: an expired entry is removed)."""
    if path is None or not path.is_file():
        return None
    try:
        with open(path, "rb") as f:
            expiry, output = pickle.load(f)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError, ValueError):
        return None  # unreadable (another Inspect version's pickle, a partial file): a miss
    if not isinstance(output, ModelOutput):
        return None
    if expiry is not None and datetime.now(timezone.utc) > expiry:
        path.unlink(missing_ok=True)
        return None
    return output


def store(path: Path | None, output: ModelOutput) -> bool:
    """Write a validated reply (atomically: a concurrent reader sees the old entry or the new one)."""
    if path is None:
        return False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            pickle.dump((datetime.now(timezone.utc) + EXPIRY, output), f)
        os.replace(tmp, path)
        return True
    except OSError:
        return False
