"""The generation benchmark's evaluation pairs. Core, because SFT must leave out exactly these."""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.model_selection import train_test_split

from emplifai.data.schema import DialogueRecord
from emplifai.params import int_param


def draw_eval_pairs(records: Sequence[DialogueRecord], n: int, seed: int) -> list[DialogueRecord]:
    """The benchmark's evaluation pairs: ``n`` distinct (emotion, situation) pairs, one record each.

    A pair is a situation_id (each situation has one emotion). Each pair is represented by its
    first dialogue by dialogue_id, the reference dialogue. Pairs are sorted by situation_id (plain
    string order) and drawn as the test part of
    ``train_test_split(pairs, test_size=n, random_state=seed)``, the scikit-learn draw the paper
    describes; the result is in the order scikit-learn returns. With ``n`` or fewer pairs in the
    data, every pair is returned, sorted by situation_id (the caller decides how to report that).
    SFT must exclude exactly these situation_ids from its training split.
    """
    n = int_param("n", n, min=1, flag="")
    first: dict[str, DialogueRecord] = {}
    for rec in sorted(records, key=lambda r: r.dialogue_id):
        first.setdefault(rec.situation_id, rec)
    pairs = [first[sid] for sid in sorted(first)]
    if len(pairs) <= n:
        # train_test_split refuses a test part as large as the whole set.
        return pairs
    _, test = train_test_split(pairs, test_size=n, random_state=seed)
    return list(test)
