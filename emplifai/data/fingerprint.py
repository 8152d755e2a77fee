"""A content fingerprint of a dataset: the same dialogues give the same fingerprint whatever the
file's name, path, format, encoding or row order.

Runs are grouped on it (a leaderboard never ranks runs on different data together), checkpoints
record it (which data they were trained on), and both tasks log it in their metadata.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from emplifai.data.schema import CANONICAL_COLUMNS, DialogueRecord

FINGERPRINT_VERSION = "1"


def record_key(rec: DialogueRecord) -> str:
    """Canonical JSON of one dialogue's canonical fields (not its metadata or split)."""
    return json.dumps({c: getattr(rec, c) for c in CANONICAL_COLUMNS}, ensure_ascii=False, sort_keys=True)


def data_fingerprint(records: Iterable[DialogueRecord]) -> str:
    """``v1:<sha256 hex, 16 chars>`` over the sorted canonical records."""
    digest = hashlib.sha256()
    for key in sorted(record_key(r) for r in records):
        digest.update(key.encode("utf-8"))
        digest.update(b"\n")
    return f"v{FINGERPRINT_VERSION}:{digest.hexdigest()[:16]}"
