"""Real + synthetic training data for SFT: "does synthetic data help a compact model?" in one run.

``mix_synthetic`` takes the real training dialogues (after the benchmark split, so the evaluation
situations are already out) and adds synthetic dialogues from an ``emplifai synth`` output:

- the synthetic file is loaded and validated like any data (``load_dialogues``);
- a synthetic situation that is a near-duplicate (character 3-gram Jaccard >= the threshold,
  ``emplifai.synth.dedup``) of one of the benchmark's evaluation situations is removed, and so is
  one whose (emotion, situation) is exactly an evaluation situation: a synthetic row never
  carries an evaluation situation into training, even when the synthetic data was generated
  against another copy of the data than the one trained on;
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
from emplifai.data.schema import DialogueRecord
from emplifai.errors import UserError
from emplifai.params import float_param
from emplifai.synth.dedup import DEFAULT_THRESHOLD, NearDupIndex

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

    index = NearDupIndex(dup_threshold)
    eval_exact = {(r.emotion, r.situation.strip()) for r in eval_records}
    for sid in sorted({r.situation_id for r in eval_records}):
        rec = next(r for r in eval_records if r.situation_id == sid)
        index.add(f"eval:{sid}", rec.situation)
    removed: dict[str, str] = {}
    by_situation: dict[str, list[DialogueRecord]] = {}
    for rec in synthetic:
        by_situation.setdefault(rec.situation_id, []).append(rec)
    for sid, recs in by_situation.items():
        if (recs[0].emotion, recs[0].situation.strip()) in eval_exact:
            removed[sid] = "is an evaluation situation"
            continue
        match = index.nearest(recs[0].situation)
        if match is not None:
            removed[sid] = f"near-duplicate of {match.key} (Jaccard {match.similarity:.2f})"
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
    if removed:
        logger.warning("%d synthetic situation(s) removed as evaluation situations or near-duplicates of them",
                       len(removed))
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
        "synthetic_dialogue_ids": [r.dialogue_id for r in chosen],
    }
    return [*real_train, *chosen], report


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
