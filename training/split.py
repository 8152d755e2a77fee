"""Which dialogues the SFT run trains on, and fingerprints of the data it saw.

The split is by situation: every dialogue of a situation goes to the same side, so a checkpoint is
never evaluated on a situation it was trained on. By default ("benchmark" mode) the situations the
generation benchmark evaluates are held out, drawn with the benchmark's own sampler
(``emplifai.pairs.draw_eval_pairs``, used by the generation task, same ``n`` and seed), so that training never sees
an evaluation pair; training dialogues whose situation or turns are near an evaluation situation's
under another id (the leak check of ``emplifai data leaks``) are held out too, and listed.
"paper" mode trains on every dialogue, as the paper's SFT description implies
(it draws its 100 evaluation pairs from the same 4,125 dialogues and mentions no hold-out); the
overlap is then recorded in ``split.json`` instead of being silent.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from emplifai.data.fingerprint import data_fingerprint
from emplifai.data.schema import DialogueRecord
from emplifai.errors import UserError
from emplifai.leak import SPLIT_FILE, BenchmarkText, record_situation_key

# The sampler lives with the task so the benchmark and training cannot drift apart.
from emplifai.pairs import draw_eval_pairs
from emplifai.params import int_param

logger = logging.getLogger(__name__)

SPLIT_MODES: tuple[str, ...] = ("benchmark", "paper")


class EmptyTrainingSplit(UserError):
    """Every situation of the data is an evaluation pair of the benchmark: nothing is left to train on."""
__all__ = ["SPLIT_FILE", "SPLIT_MODES", "EmptyTrainingSplit", "SftSplit", "data_fingerprint", "split_for_sft"]


@dataclass(frozen=True)
class SftSplit:
    """Training dialogues and the situations kept out of them."""

    mode: str
    eval_n: int
    eval_seed: int
    train: tuple[DialogueRecord, ...]
    heldout_situation_ids: tuple[str, ...]
    # The benchmark's evaluation situations for (eval_n, eval_seed), whatever the mode.
    eval_situation_ids: tuple[str, ...]
    # emplifai.data.fingerprint of all the data and of the training dialogues: the same
    # fingerprint the benchmark tasks log, so a log and a checkpoint can be matched.
    data_fingerprint: str
    train_fingerprint: str
    n_dialogues: int
    n_situations: int
    # Set when a run deliberately trains on only the first N dialogues of the split (smoke runs).
    train_limit: int | None = None
    # Training dialogues held out because their situation or turns are near an evaluation
    # situation's (emplifai.leak.BenchmarkText, the check of `emplifai data leaks`): {dialogue_id: why}.
    near_eval_excluded: tuple[tuple[str, str], ...] = ()

    def limited(self, n: int) -> SftSplit:
        """The same split training on only its first ``n`` dialogues (file order); recorded, never silent."""
        n = int_param("max_train_dialogues", n, min=1, flag="")
        if n >= len(self.train):
            return self
        logger.warning("training on the first %d of %d training dialogues (max_train_dialogues)", n, len(self.train))
        train = self.train[:n]
        return replace(self, train=train, train_fingerprint=data_fingerprint(train), train_limit=n)

    @property
    def train_situation_ids(self) -> tuple[str, ...]:
        return tuple(sorted({r.situation_id for r in self.train}))

    @property
    def eval_pairs_in_train(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.eval_situation_ids) & set(self.train_situation_ids)))

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "eval_n": self.eval_n,
            "eval_seed": self.eval_seed,
            "data_fingerprint": self.data_fingerprint,
            "train_fingerprint": self.train_fingerprint,
            "n_dialogues": self.n_dialogues,
            "n_situations": self.n_situations,
            "n_train_dialogues": len(self.train),
            "train_limit": self.train_limit,
            "n_train_situations": len(self.train_situation_ids),
            "train_situation_ids": list(self.train_situation_ids),
            # Content keys (emotion + situation text) of the trained situations: the benchmark tasks'
            # leak check (emplifai.leak) matches on them, so another copy of the data still matches.
            "train_situation_keys": sorted({record_situation_key(r) for r in self.train}),
            "heldout_situation_ids": list(self.heldout_situation_ids),
            "eval_situation_ids": list(self.eval_situation_ids),
            "eval_pairs_in_train": list(self.eval_pairs_in_train),
            "train_dialogue_ids": [r.dialogue_id for r in self.train],
            "near_eval_excluded": dict(self.near_eval_excluded),
        }


def split_for_sft(
    records: Sequence[DialogueRecord], *, mode: str = "benchmark", eval_n: int = 100, eval_seed: int = 42
) -> SftSplit:
    """Split ``records`` by situation for SFT; see the module docstring for the two modes.

    ``eval_n`` and ``eval_seed`` must be the ``-T n`` and ``-T seed`` the checkpoint will be
    evaluated with (the generation task's defaults are 100 and 42).
    """
    if mode not in SPLIT_MODES:
        raise ValueError(f"split_mode must be one of {SPLIT_MODES}, got {mode!r}")
    if not records:
        raise ValueError("no dialogues to split")
    eval_ids = tuple(sorted(r.situation_id for r in draw_eval_pairs(records, eval_n, eval_seed)))
    situations = {r.situation_id for r in records}
    near: tuple[tuple[str, str], ...] = ()
    if mode == "benchmark":
        heldout = eval_ids
        held = set(heldout)
        train = tuple(r for r in records if r.situation_id not in held)
        near = _near_evaluation(train, records, held)
        if near:
            logger.warning("%d training dialogue(s) held out: their situation or turns are near an evaluation "
                           "situation's (emplifai data leaks)", len(near))
            gone = dict(near)
            train = tuple(r for r in train if r.dialogue_id not in gone)
        if not train:
            raise EmptyTrainingSplit(
                f"every one of the {len(situations)} situations in the data is an evaluation pair of the "
                f"generation benchmark (eval_n={eval_n}, eval_seed={eval_seed}), so nothing is left to train on. "
                "Set eval_n to the -T n you will evaluate with (smaller than the number of situations), "
                "or use split_mode=paper to train on everything."
            )
    else:
        heldout = ()
        train = tuple(records)
        logger.warning(
            "split_mode=paper: training on all %d dialogues, including the %d situations the generation "
            "benchmark evaluates (eval_n=%d, eval_seed=%d); scores of this checkpoint on that benchmark are "
            "not on unseen situations",
            len(train), len(eval_ids), eval_n, eval_seed,
        )
    if any(r.split for r in records):
        logger.warning(
            "the data has a 'split' column; SFT ignores it and splits by situation (split_mode=%s)", mode
        )
    return SftSplit(
        mode=mode,
        eval_n=eval_n,
        eval_seed=eval_seed,
        train=train,
        heldout_situation_ids=heldout,
        eval_situation_ids=eval_ids,
        data_fingerprint=data_fingerprint(records),
        train_fingerprint=data_fingerprint(train),
        n_dialogues=len(records),
        n_situations=len(situations),
        near_eval_excluded=near,
    )


def _near_evaluation(train: Sequence[DialogueRecord], records: Sequence[DialogueRecord],
                     eval_ids: set[str]) -> tuple[tuple[str, str], ...]:
    """(dialogue_id, why) of every training dialogue the leak check flags against the evaluation
    situations and their dialogues (another id, the same text)."""
    eval_dialogues = [r for r in records if r.situation_id in eval_ids]
    pairs = {r.situation_id: r for r in reversed(eval_dialogues)}  # one record per situation
    check = BenchmarkText(list(pairs.values()), eval_dialogues)
    out: dict[str, str] = {}
    for leak in check.check_all(train):
        what = "situation near evaluation situation" if leak.part == "situation" else "turns near"
        out.setdefault(leak.dialogue_id, f"{what} {leak.matched} (Jaccard {leak.jaccard:.2f})")
    return tuple(out.items())
