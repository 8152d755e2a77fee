"""Real + synthetic training data for SFT: "does synthetic data help a compact model?" in one run.

``mix_synthetic`` takes the real training dialogues (after the benchmark split, so the evaluation
situations are already out) and adds synthetic dialogues from an ``emplifai synth`` output:

- the synthetic file is loaded and validated like any data (``load_dialogues``);
- the leak check of ``emplifai data leaks`` (``emplifai.leak.BenchmarkText``, exact character
  3-gram Jaccard >= the threshold): a synthetic situation near one of the benchmark's evaluation
  situations is removed with all its dialogues, and a synthetic dialogue whose turns are near a
  real dialogue (an evaluation situation's or a training one) is removed on its own, so a
  synthetic row never carries an evaluation situation or dialogue into training, even when the
  synthetic data was generated against another copy of the data than the one trained on;
- ids that collide with real ids are refused (the split file and leak check key on them);
- ``ratio`` sets how many synthetic dialogues join: ``round(ratio * real training dialogues)``,
  drawn with ``seed`` whole situations at a time in a seeded order, so dialogues of one synthetic
  situation stay together; fewer when the file has fewer (logged and recorded).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emplifai.data.loaders import load_dialogues
from emplifai.data.near_duplicates import DEFAULT_THRESHOLD
from emplifai.data.schema import DialogueRecord
from emplifai.errors import UserError
from emplifai.leak import BenchmarkText
from emplifai.params import float_param

logger = logging.getLogger(__name__)

# The project's synthetic sample (made by `emplifai synth` with the scripted stages of
# tests/synth_script.py; texts written by this project), for the CPU smoke config.
SYNTHETIC_SAMPLE_ALIAS = "emplifai:synthetic-sample"
SYNTHETIC_SAMPLE_PATH = Path(__file__).parent / "sample" / "synthetic_sample_ja.jsonl"


def resolve_synthetic(path: str) -> str:
    return str(SYNTHETIC_SAMPLE_PATH) if path == SYNTHETIC_SAMPLE_ALIAS else path


def mix_synthetic(
    real_train: Sequence[DialogueRecord],
    eval_records: Sequence[DialogueRecord],
    synthetic_path: str,
    ratio: float,
    *,
    seed: int = 42,
    dup_threshold: float = DEFAULT_THRESHOLD,
) -> tuple[list[DialogueRecord], dict[str, Any]]:
    """(real + chosen synthetic dialogues, a report for the run record)."""
    ratio = float_param("synthetic_ratio", ratio, min=0, flag="")
    synthetic = load_dialogues(resolve_synthetic(synthetic_path))
    real_ids = {r.dialogue_id for r in real_train} | {r.situation_id for r in real_train}
    clash = sorted({r.dialogue_id for r in synthetic if r.dialogue_id in real_ids}
                   | {r.situation_id for r in synthetic if r.situation_id in real_ids})
    if clash:
        raise UserError(f"{synthetic_path}: ids also used by the real data: {', '.join(clash[:5])}")

    by_situation: dict[str, list[DialogueRecord]] = {}
    for rec in synthetic:
        by_situation.setdefault(rec.situation_id, []).append(rec)
    removed, removed_dialogues = _benchmark_leaks(by_situation, real_train, eval_records, dup_threshold)
    for sid, recs in by_situation.items():
        by_situation[sid] = [r for r in recs if r.dialogue_id not in removed_dialogues]
    usable = [sid for sid in sorted(by_situation) if sid not in removed]
    want = round(ratio * len(real_train))
    rng = random.Random(seed)
    rng.shuffle(usable)
    chosen: list[DialogueRecord] = []
    for sid in usable:
        if len(chosen) >= want:
            break
        chosen.extend(sorted(by_situation[sid], key=lambda r: r.dialogue_id)[: want - len(chosen)])
    if len(chosen) < want:
        logger.warning("synthetic_ratio %.3g asks for %d synthetic dialogues; %s has %d usable: using all",
                       ratio, want, synthetic_path, len(chosen))
    if removed or removed_dialogues:
        logger.warning("%d synthetic situation(s) and %d more dialogue(s) removed: near an evaluation situation "
                       "or near a real dialogue (emplifai.leak)", len(removed), len(removed_dialogues))
    report = {
        "synthetic_data": synthetic_path,
        "synthetic_ratio": ratio,
        "seed": seed,
        "near_dup_threshold": dup_threshold,
        "real_train_dialogues": len(real_train),
        "synthetic_dialogues_in_file": len(synthetic),
        "synthetic_dialogues_requested": want,
        "synthetic_dialogues_used": len(chosen),
        "synthetic_situations_removed": removed,
        "synthetic_dialogues_removed": removed_dialogues,
        "synthetic_dialogue_ids": [r.dialogue_id for r in chosen],
    }
    return [*real_train, *chosen], report


def _benchmark_leaks(
    by_situation: dict[str, list[DialogueRecord]], real_train: Sequence[DialogueRecord],
    eval_records: Sequence[DialogueRecord], threshold: float,
) -> tuple[dict[str, str], dict[str, str]]:
    """({synthetic situation_id: why removed}, {synthetic dialogue_id: why removed}) by the leak
    check of ``emplifai data leaks``: a situation near an evaluation situation takes all its
    dialogues with it; a dialogue whose turns are near a real dialogue (training or evaluation) goes
    on its own."""
    pairs: dict[str, DialogueRecord] = {}
    for r in eval_records:
        pairs.setdefault(r.situation_id, r)
    check = BenchmarkText(list(pairs.values()), [*eval_records, *real_train], threshold=threshold)
    situations: dict[str, str] = {}
    dialogues: dict[str, str] = {}
    for sid, recs in by_situation.items():
        for rec in recs:
            for leak in check.check(rec):
                if leak.part == "situation":
                    situations.setdefault(sid, f"near evaluation situation {leak.matched} (Jaccard {leak.jaccard:.2f})")
                else:
                    dialogues.setdefault(rec.dialogue_id, f"turns near {leak.matched} (Jaccard {leak.jaccard:.2f})")
    gone_with_situation = {r.dialogue_id for sid in situations for r in by_situation[sid]}
    return situations, {d: why for d, why in dialogues.items() if d not in gone_with_situation}


def mix_into_split(split: Any, records: Sequence[DialogueRecord], synthetic_path: str, ratio: float, *,
                   seed: int = 42, dup_threshold: float = DEFAULT_THRESHOLD) -> tuple[Any, dict[str, Any]]:
    """The SFT split (``training.split.SftSplit``) with synthetic dialogues added to its training part.

    The evaluation situations are the split's own (``eval_situation_ids``, drawn from ``records``
    with the run's eval_n / eval_seed); the train fingerprint is recomputed, and split.json then
    lists the synthetic dialogues among the trained ones.
    """
    from dataclasses import replace

    from emplifai.data.fingerprint import data_fingerprint

    eval_ids = set(split.eval_situation_ids)
    eval_records = [r for r in records if r.situation_id in eval_ids]
    mixed, report = mix_synthetic(split.train, eval_records, synthetic_path, ratio, seed=seed,
                                  dup_threshold=dup_threshold)
    return replace(split, train=tuple(mixed), train_fingerprint=data_fingerprint(mixed)), report
