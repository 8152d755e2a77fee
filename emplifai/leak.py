"""Leak checks: which evaluation samples a checkpoint trained on, and which rows of training data
carry benchmark text (the second part, at the end of this file).

An SFT run (``emplifai train``) writes ``split.json`` beside its checkpoint. It lists the
situations the checkpoint trained on, by id and by content key (a hash of the emotion and the
situation text, so a copy of the data with other ids or another file format still matches), and
the data fingerprint of the data it was split from. Given that file, the generation and emotion
tasks find the samples whose situation the checkpoint saw in training:

- ``leak="exclude"`` (the default): those samples are not scored at all; the task metadata lists
  them. A checkpoint is never silently scored on its own training data.
- ``leak="tag"``: every sample is scored, each carries ``trained_on`` in its metadata, and the
  task metadata counts them, so an analysis can split the scores (the headline metrics then mix
  seen and unseen situations).

The unit is the situation (emotion + situation text): the SFT prompt contains both, so a model
trained on any dialogue of a situation has seen that situation labelled with its emotion, which
contaminates the emotion task for every dialogue of it and the generation task's pair.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emplifai.data.fingerprint import data_fingerprint
from emplifai.data.near_duplicates import (
    DEFAULT_THRESHOLD,
    Match,
    NearDupIndex,
    check_threshold,
    dialogue_text,
    jaccard,
    shingles,
)
from emplifai.data.schema import DialogueRecord
from emplifai.errors import UserError

logger = logging.getLogger(__name__)

SPLIT_FILE = "split.json"
LEAK_MODES: tuple[str, ...] = ("exclude", "tag")


def situation_key(emotion: str, situation: str) -> str:
    """Content key of an (emotion, situation) pair: independent of ids, files and row order."""
    text = json.dumps([emotion.strip(), " ".join(situation.split())], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def record_situation_key(rec: DialogueRecord) -> str:
    return situation_key(rec.emotion, rec.situation)


@dataclass(frozen=True)
class TrainedOn:
    """What a checkpoint trained on, read from its ``split.json``."""

    path: str
    situation_ids: frozenset[str]
    situation_keys: frozenset[str]
    data_fingerprint: str | None

    def contains(self, rec: DialogueRecord, *, same_data: bool) -> bool:
        """Was ``rec``'s situation trained on? Ids count only when the data is the same data."""
        if record_situation_key(rec) in self.situation_keys:
            return True
        return same_data and rec.situation_id in self.situation_ids


def load_trained_on(path: str | Path) -> TrainedOn:
    """Read a ``split.json`` (or a checkpoint folder holding one); a ``UserError`` if it is unusable."""
    p = Path(path).expanduser()
    if p.is_dir():
        p = p / SPLIT_FILE
    if not p.is_file():
        raise UserError(f"-T checkpoint_split: {p} does not exist (expected the split.json an SFT run writes)")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UserError(f"-T checkpoint_split: {p} is not a readable JSON file: {e}") from None
    if not isinstance(data, Mapping) or not isinstance(data.get("train_situation_ids"), list):
        raise UserError(f"-T checkpoint_split: {p} has no 'train_situation_ids' list; is it an SFT split.json?")
    keys = data.get("train_situation_keys")
    if keys is None:
        # Files from before content keys: ids only, trusted only on the same data (fingerprint below).
        logger.warning("%s has no train_situation_keys (older SFT run): matching by situation id only", p)
        keys = []
    return TrainedOn(
        path=str(p),
        situation_ids=frozenset(map(str, data["train_situation_ids"])),
        situation_keys=frozenset(map(str, keys)),
        data_fingerprint=data.get("data_fingerprint"),
    )


def split_from_active_model() -> Path | None:
    """``split.json`` of the model being evaluated, when it is a local checkpoint folder.

    Uses Inspect's public ``get_model()``, which returns the model of the running eval while a
    task is being constructed: ``hf/local -M model_path=<folder>`` (the folder is in the model's
    args) or a provider whose model name is the folder itself (``vllm/<folder>``, ``hf/<folder>``).
    Outside an eval there is no such model, and nothing is found.
    """
    try:
        from inspect_ai.model import get_model

        model = get_model()
    except Exception:  # noqa: BLE001  (no eval running, e.g. tests or scripts: nothing to read)
        return None
    candidates = [model.model_args.get("model_path"), model.name]
    for cand in candidates:
        if isinstance(cand, str) and cand and (Path(cand).expanduser() / SPLIT_FILE).is_file():
            return Path(cand).expanduser() / SPLIT_FILE
    return None


@dataclass(frozen=True)
class LeakCheck:
    """The result of checking evaluation records against a checkpoint's training split."""

    kept: list[DialogueRecord]
    trained: frozenset[str]  # dialogue_ids of the evaluation records whose situation was trained on
    metadata: dict[str, Any]

    def trained_on(self, rec: DialogueRecord) -> bool:
        return rec.dialogue_id in self.trained


def check_leak(
    evaluated: Sequence[DialogueRecord],
    all_records: Sequence[DialogueRecord],
    *,
    checkpoint_split: str | None,
    mode: str,
    task: str,
) -> LeakCheck:
    """Drop (``exclude``) or mark (``tag``) the evaluation records the checkpoint trained on.

    ``checkpoint_split`` is ``-T checkpoint_split``; without it, the split of the evaluated model's
    folder is used when there is one. ``all_records`` is the whole data (for the fingerprint).
    """
    source = "-T checkpoint_split"
    path: str | Path | None = checkpoint_split
    if path is None:
        path = split_from_active_model()
        source = "model folder"
    if path is None:
        return LeakCheck(kept=list(evaluated), trained=frozenset(), metadata={
            "leak_check": "none: no -T checkpoint_split and the model is not a local folder with split.json",
        })
    trained_on = load_trained_on(path)
    fingerprint = data_fingerprint(all_records)
    same_data = trained_on.data_fingerprint == fingerprint
    trained = frozenset(r.dialogue_id for r in evaluated if trained_on.contains(r, same_data=same_data))
    trained_situations = sorted({r.situation_id for r in evaluated if r.dialogue_id in trained})
    meta: dict[str, Any] = {
        "leak_check": mode,
        "checkpoint_split": trained_on.path,
        "checkpoint_split_source": source,
        "checkpoint_data_fingerprint": trained_on.data_fingerprint,
        "same_data_as_checkpoint": same_data,
        "n_trained_on": len(trained),
        "trained_situation_ids": trained_situations,
    }
    if not trained:
        return LeakCheck(kept=list(evaluated), trained=trained, metadata=meta)
    if mode == "exclude":
        kept = [r for r in evaluated if r.dialogue_id not in trained]
        if not kept:
            raise UserError(
                f"{task}: the checkpoint trained on every one of the {len(evaluated)} evaluated samples' situations "
                f"({trained_on.path}); nothing is left to score. Evaluate on held-out data, or pass -T leak=tag to "
                "score them anyway, marked as trained on."
            )
        logger.warning(
            "%s: %d of %d samples are from situations the checkpoint trained on (%s); they are not scored "
            "(-T leak=exclude)", task, len(trained), len(evaluated), trained_on.path,
        )
        meta["n_excluded"] = len(trained)
        return LeakCheck(kept=kept, trained=trained, metadata=meta)
    logger.warning(
        "%s: %d of %d samples are from situations the checkpoint trained on (%s); scored and marked "
        "trained_on=true (-T leak=tag): the task's metrics mix seen and unseen situations",
        task, len(trained), len(evaluated), trained_on.path,
    )
    return LeakCheck(kept=list(evaluated), trained=trained, metadata=meta)


# --- benchmark text in training data: the near-duplicate check ----------------------------------
#
# The split by situation id keeps the evaluation pairs' own rows out of training; it cannot see an
# evaluation situation or dialogue that reaches the training data under another id (a synthetic
# row, another copy of the data, a lightly edited row). This check compares content: every row's
# situation with every evaluation situation (a few hundred at most, all compared), and every row's
# turns with every reference dialogue (exact Jaccard through the inverted index of
# emplifai.data.near_duplicates, which decides every pair exactly). `emplifai data leaks`, the
# synthetic pipeline's filter, the SFT mix and the SFT split all use it.


@dataclass(frozen=True)
class Leak:
    """One row of checked data near benchmark text: which part, how near, and near what."""

    dialogue_id: str
    line: int | None  # the row's line (JSONL) or data row (CSV/Parquet) in its file, when known
    part: str  # "situation" (near an evaluation situation) or "turns" (near a reference dialogue)
    jaccard: float
    matched: str  # situation_id (part "situation") or dialogue_id (part "turns") in the reference data
    matched_is_eval: bool  # the matched text belongs to an evaluation situation

    def describe(self) -> str:
        where = f"{self.dialogue_id}" + (f" (line {self.line})" if self.line is not None else "")
        if self.part == "situation":
            what = f"its situation has Jaccard {self.jaccard:.3f} with evaluation situation {self.matched}"
        else:
            of = "an evaluation situation's dialogue" if self.matched_is_eval else "a dialogue of the data"
            what = f"its turns have Jaccard {self.jaccard:.3f} with {self.matched} ({of})"
        return f"{where}: {what}"


class BenchmarkText:
    """The benchmark text a row must not be near: the evaluation situations and reference dialogues.

    ``eval_pairs`` are the generation benchmark's evaluation pairs (``emplifai.pairs.draw_eval_pairs``:
    one record per situation); ``dialogues`` the dialogues whose turns a row must not repeat (the
    whole real data for a synthetic file; the evaluation situations' dialogues for the real
    training split, whose own rows would otherwise match themselves).
    """

    def __init__(self, eval_pairs: Sequence[DialogueRecord], dialogues: Sequence[DialogueRecord], *,
                 threshold: float = DEFAULT_THRESHOLD) -> None:
        self.threshold = check_threshold(threshold)
        self.eval_situation_ids = frozenset(r.situation_id for r in eval_pairs)
        self._situations = [(r.situation_id, shingles(r.situation)) for r in eval_pairs]
        self._dialogues = NearDupIndex(self.threshold)
        seen: set[str] = set()
        for r in dialogues:
            if r.dialogue_id not in seen:  # a dialogue listed twice is one reference text
                seen.add(r.dialogue_id)
                self._dialogues.add(r.dialogue_id, dialogue_text(r.turn_texts()))
        self._situation_of = {r.dialogue_id: r.situation_id for r in dialogues}
        self.n_dialogues = len(self._dialogues)

    def situation_match(self, situation: str) -> tuple[str, float] | None:
        """(evaluation situation_id, exact Jaccard) of the nearest evaluation situation at or above
        the threshold, comparing with every one of them; ties go to the smallest id."""
        grams = shingles(situation)
        best: tuple[str, float] | None = None
        for sid, other in self._situations:
            sim = jaccard(grams, other)
            if sim >= self.threshold and (best is None or sim > best[1] or (sim == best[1] and sid < best[0])):
                best = (sid, sim)
        return best

    def turns_match(self, turns: Sequence[str]) -> Match | None:
        """The nearest reference dialogue at or above the threshold (exact Jaccard), else None."""
        return self._dialogues.nearest(dialogue_text(turns))

    def check(self, rec: DialogueRecord, line: int | None = None) -> list[Leak]:
        """Every leak of one row: its situation, its turns, or both."""
        leaks: list[Leak] = []
        sit = self.situation_match(rec.situation)
        if sit is not None:
            leaks.append(Leak(rec.dialogue_id, line, "situation", sit[1], sit[0], True))
        turns = self.turns_match(rec.turn_texts())
        if turns is not None:
            is_eval = self._situation_of.get(turns.key) in self.eval_situation_ids
            leaks.append(Leak(rec.dialogue_id, line, "turns", turns.similarity, turns.key, is_eval))
        return leaks

    def check_all(self, rows: Sequence[DialogueRecord], lines: Sequence[int] | None = None) -> list[Leak]:
        """Every leak of every row, in row order."""
        out: list[Leak] = []
        for i, rec in enumerate(rows):
            out.extend(self.check(rec, None if lines is None else lines[i]))
        return out
