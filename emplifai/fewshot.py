"""Few-shot example drawing shared by the tasks: examples always come from other situations."""

from __future__ import annotations

import random
import zlib
from collections.abc import Sequence

from emplifai.data.schema import DialogueRecord
from emplifai.errors import UserError


def draw_examples(
    records: Sequence[DialogueRecord], target: DialogueRecord, k: int, seed: int
) -> list[DialogueRecord]:
    """``k`` records from situations other than ``target``'s, one per situation, reproducibly.

    The draw depends only on ``seed`` and the target's id (not on sample order), so a re-run or
    ``inspect eval-retry`` shows each sample the same examples. Raises when fewer than ``k``
    other situations exist, rather than silently showing fewer.
    """
    if k <= 0:
        return []
    by_situation: dict[str, DialogueRecord] = {}
    for rec in sorted(records, key=lambda r: r.dialogue_id):
        if rec.situation_id != target.situation_id:
            by_situation.setdefault(rec.situation_id, rec)
    if len(by_situation) < k:
        raise UserError(
            f"-T fewshot={k} needs {k} situations other than {target.situation_id!r}; the data has {len(by_situation)}"
        )
    rng = random.Random(seed * 1_000_003 + zlib.crc32(target.dialogue_id.encode("utf-8")))
    chosen = rng.sample(sorted(by_situation), k)
    return [by_situation[s] for s in chosen]
