"""Dataset statistics on a small fixture, checked against numbers counted by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emplifai.data.loaders import load_dialogues
from emplifai.data.stats import dataset_stats, format_stats
from emplifai.taxonomy import LABELS

FIXTURE = Path(__file__).parent / "fixtures" / "data" / "dialogues_ja.jsonl"


@pytest.fixture(scope="module")
def stats() -> dict:
    return dataset_stats(load_dialogues(FIXTURE))


def test_counts_per_emotion_and_group(stats: dict) -> None:
    # 5 dialogues: fear in s1 (2) and s2 (1), joy in s3 (2).
    assert stats["n_dialogues"] == 5
    assert stats["n_situations"] == 3
    assert stats["n_emotions"] == 2
    assert list(stats["per_emotion"]) == list(LABELS)
    assert stats["per_emotion"]["fear"] == {"dialogues": 3, "situations": 2}
    assert stats["per_emotion"]["joy"] == {"dialogues": 2, "situations": 1}
    assert sum(c["dialogues"] for c in stats["per_emotion"].values()) == 5
    assert len(stats["emotions_missing"]) == 26 and "fear" not in stats["emotions_missing"]
    assert stats["per_group"] == {
        "positive": {"dialogues": 2, "situations": 1},
        "negative": {"dialogues": 3, "situations": 2},
        "ambiguous": {"dialogues": 0, "situations": 0},
        "neutral": {"dialogues": 0, "situations": 0},
    }
    assert stats["splits"] == {"test": 2, "train": 3}


def test_dialogues_per_situation(stats: dict) -> None:
    assert stats["dialogues_per_situation"] == {
        "min": 1,
        "mean": pytest.approx(5 / 3),
        "max": 2,
        "distribution": {1: 1, 2: 2},
    }


def test_reply_lengths_in_characters(stats: dict) -> None:
    # Patient turns: 28 26 23 12 29 20 20 29 19 14; supporter: 38 39 20 34 24 25 28 35 27 28.
    assert stats["reply_chars"]["patient"] == {"count": 10, "mean": 22.0, "median": 21.5, "min": 12, "max": 29}
    assert stats["reply_chars"]["supporter"] == {"count": 10, "mean": 29.8, "median": 28.0, "min": 20, "max": 39}


def test_stats_are_json_ready_and_readable(stats: dict) -> None:
    assert json.loads(json.dumps(stats))["dialogues_per_situation"]["distribution"] == {"1": 1, "2": 2}
    text = format_stats(stats)
    assert text.splitlines()[0] == "5 dialogues, 3 situations, 2 of 28 emotions"
    assert "dialogues per situation: min 1, mean 1.67, max 2" in text
    assert "patient              10     22.0     21.5    12    29" in text
    assert "splits: test: 2, train: 3" in text


def test_no_records_is_an_error() -> None:
    with pytest.raises(ValueError, match="no records"):
        dataset_stats([])
