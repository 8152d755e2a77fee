"""Descriptive statistics of a validated dataset: coverage of the 28 emotions, dialogues per
situation, and reply lengths in characters (the paper reports ~128.6 characters per crowd reply)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from emplifai.data.schema import DialogueRecord
from emplifai.taxonomy import GROUPS, LABELS, group_of


def dataset_stats(records: Sequence[DialogueRecord]) -> dict[str, Any]:
    """Counts and length summaries of ``records`` as a JSON-ready dict.

    Keys: ``n_dialogues``, ``n_situations``, ``n_emotions`` (emotions with a dialogue),
    ``per_emotion`` and ``per_group`` (dialogues and situations each, every label/group listed,
    zeros included), ``emotions_missing``,
    ``dialogues_per_situation`` (min/mean/max and ``distribution``: dialogues per situation ->
    number of situations), ``reply_chars`` (``patient`` and ``supporter`` turns separately:
    count/mean/median/min/max), ``splits`` (dialogues per split, empty when no split is given).
    """
    if not records:
        raise ValueError("no records to describe")
    df = pd.DataFrame(
        {
            "situation_id": [r.situation_id for r in records],
            "emotion": [r.emotion for r in records],
            "split": [r.split if r.split is not None else "(none)" for r in records],
        }
    )
    df["group"] = df["emotion"].map(group_of)

    def coverage(key: str, names: Sequence[str]) -> dict[str, dict[str, int]]:
        dialogues = df.groupby(key).size()
        situations = df.groupby(key)["situation_id"].nunique()
        return {
            n: {"dialogues": int(dialogues.get(n, 0)), "situations": int(situations.get(n, 0))} for n in names
        }

    per_situation = df.groupby("situation_id").size()
    distribution = per_situation.value_counts().sort_index()
    turns = pd.DataFrame(
        [(role, len(text)) for r in records for role, text in r.turns()], columns=["role", "chars"]
    )
    per_emotion = coverage("emotion", LABELS)
    given_splits = df.loc[df["split"] != "(none)", "split"]
    return {
        "n_dialogues": len(records),
        "n_situations": int(df["situation_id"].nunique()),
        "n_emotions": int(df["emotion"].nunique()),
        "per_emotion": per_emotion,
        "per_group": coverage("group", GROUPS),
        "emotions_missing": [label for label, c in per_emotion.items() if c["dialogues"] == 0],
        "dialogues_per_situation": {
            "min": int(per_situation.min()),
            "mean": float(per_situation.mean()),
            "max": int(per_situation.max()),
            "distribution": {int(k): int(v) for k, v in distribution.items()},
        },
        "reply_chars": {role: _summary(turns.loc[turns["role"] == role, "chars"]) for role in ("patient", "supporter")},
        "splits": {} if given_splits.empty else {str(k): int(v) for k, v in df["split"].value_counts().sort_index().items()},
    }


def _summary(chars: pd.Series) -> dict[str, float | int]:
    return {
        "count": int(chars.size),
        "mean": float(chars.mean()),
        "median": float(chars.median()),
        "min": int(chars.min()),
        "max": int(chars.max()),
    }


def format_stats(stats: dict[str, Any]) -> str:
    """The dict of ``dataset_stats`` as readable text (emotions without dialogues summarised on one line)."""
    dps = stats["dialogues_per_situation"]
    lines = [
        f"{stats['n_dialogues']} dialogues, {stats['n_situations']} situations, "
        f"{stats['n_emotions']} of {len(stats['per_emotion'])} emotions",
        "",
        f"{'emotion':<16}{'dialogues':>10}{'situations':>12}",
    ]
    for label, c in stats["per_emotion"].items():
        if c["dialogues"]:
            lines.append(f"{label:<16}{c['dialogues']:>10}{c['situations']:>12}")
    if stats["emotions_missing"]:
        lines.append(f"no dialogues: {', '.join(stats['emotions_missing'])}")
    lines += ["", f"{'group':<16}{'dialogues':>10}{'situations':>12}"]
    for group, c in stats["per_group"].items():
        lines.append(f"{group:<16}{c['dialogues']:>10}{c['situations']:>12}")
    dist = ", ".join(f"{k}: {v}" for k, v in dps["distribution"].items())
    lines += [
        "",
        f"dialogues per situation: min {dps['min']}, mean {dps['mean']:.2f}, max {dps['max']}",
        f"  (dialogues -> situations) {dist}",
        "",
        f"{'reply chars':<16}{'count':>7}{'mean':>9}{'median':>9}{'min':>6}{'max':>6}",
    ]
    for role, s in stats["reply_chars"].items():
        lines.append(f"{role:<16}{s['count']:>7}{s['mean']:>9.1f}{s['median']:>9.1f}{s['min']:>6}{s['max']:>6}")
    if stats["splits"]:
        lines += ["", "splits: " + ", ".join(f"{k}: {v}" for k, v in stats["splits"].items())]
    return "\n".join(lines)
