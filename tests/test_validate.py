"""Validation: every problem named by file, row and field; every valid row kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from emplifai.data import SAMPLE_PATH
from emplifai.data.loaders import validate_source
from emplifai.data.validate import validate_rows

FIXTURES = Path(__file__).parent / "fixtures" / "data"


def good_row(dialogue_id: str = "d1", situation_id: str = "s1", emotion: Any = "fear", **extra: Any) -> dict[str, Any]:
    return {
        "dialogue_id": dialogue_id,
        "situation_id": situation_id,
        "emotion": emotion,
        "situation": "明日の検査が怖くて、何も手につきません。",
        "patient_1": "明日の検査のことばかり考えてしまいます。",
        "supporter_1": "検査の前日は落ち着かないものですよね。",
        "patient_2": "結果が悪かったらと思うと怖いです。",
        "supporter_2": "怖いと感じるのは自然なことです。一緒に整理してみましょう。",
        **extra,
    }


def where(problems: list) -> list[tuple[int | None, str | None]]:
    return [(p.row, p.field) for p in problems]


def test_bad_rows_fixture_lists_every_problem_and_keeps_valid_rows() -> None:
    records, problems = validate_source(FIXTURES / "bad_rows.jsonl")
    assert [r.dialogue_id for r in records] == ["d1", "d15", "d16"]
    assert where(problems) == [
        (2, "emotion"),  # unknown emotion
        (3, "emotion_ja"),  # disagrees with emotion
        (4, "supporter_2"),  # turn missing
        (5, "patient_2"),  # whitespace-only turn
        (6, "situation"),  # empty situation
        (7, "dialogue_id"),  # null id
        (8, "dialogue_id"),  # duplicate of row 1
        (9, "emotion"),  # situation s1 with a second emotion
        (10, "situation"),  # situation s1 with a second text
        (11, "patient_1"),  # a number where text belongs
        (12, None),  # not JSON
        (13, None),  # not an object
        (14, "supporter_1"),  # not UTF-8
    ]
    by_row = {p.row: str(p) for p in problems}
    assert all(s.startswith(f"{FIXTURES / 'bad_rows.jsonl'}, row ") for s in by_row.values())
    assert "unknown emotion 'worried'" in by_row[2]
    assert "'恐れ' (fear) disagrees with emotion 'joy'" in by_row[3]
    assert "also in row 1" in by_row[8]
    assert "has emotion 'fear' in row 1 but 'sadness' here" in by_row[9]
    assert "different situation text in row 1" in by_row[10]
    assert "expected text, got int: 42" in by_row[11]
    assert "not valid UTF-8 (byte 0x82" in by_row[14]


def test_csv_with_a_non_utf8_field_names_row_and_field() -> None:
    records, problems = validate_source(FIXTURES / "bad_encoding.csv")
    assert [r.dialogue_id for r in records] == ["e1", "e3"]
    assert [str(p) for p in problems] == [
        f"{FIXTURES / 'bad_encoding.csv'}, row 2, field 'supporter_1': text is not valid UTF-8 "
        "(byte 0x90 at character 1; was the file saved as Shift-JIS?)"
    ]


def test_missing_required_column_is_reported_once() -> None:
    rows = [good_row(f"d{i}") for i in range(3)]
    for row in rows:
        del row["supporter_2"]
    records, problems = validate_rows(rows, "copy.jsonl")
    assert [str(p) for p in problems] == [
        "copy.jsonl, field 'supporter_2': required column is missing (map it with --map / column_map)"
    ]
    assert records == []


@pytest.mark.parametrize("written", ["fear", "Fear", " FEAR\n", "恐れ", " 恐れ ", "ＦＥＡＲ"])
def test_emotion_accepts_exact_label_or_keyword(written: str) -> None:
    [record], problems = validate_rows([good_row(emotion=written)], "f")
    assert problems == []
    assert record.emotion == "fear"


@pytest.mark.parametrize("written", ["afraid", "恐怖", "fear.", "fear/sadness", "Emotion: fear"])
def test_emotion_is_not_guessed(written: str) -> None:
    records, problems = validate_rows([good_row(emotion=written), good_row("d2")], "f")
    assert [r.dialogue_id for r in records] == ["d2"]
    assert where(problems) == [(1, "emotion")]
    assert "unknown emotion" in problems[0].message


def test_emotion_ja_unknown_or_agreeing() -> None:
    records, problems = validate_rows(
        [good_row(emotion_ja="恐れ"), good_row("d2", emotion_ja="こわい"), good_row("d3", emotion_ja="")], "f"
    )
    assert [(r.dialogue_id, r.emotion_ja) for r in records] == [("d1", "恐れ"), ("d3", None)]
    assert where(problems) == [(2, "emotion_ja")]
    assert "unknown Japanese emotion keyword 'こわい'" in problems[0].message


def test_ids_integers_become_text_floats_and_bools_do_not() -> None:
    rows = [good_row(7), good_row(8.0), good_row(True), good_row("d4", situation_id=9)]
    records, problems = validate_rows(rows, "f")
    assert [(r.dialogue_id, r.situation_id) for r in records] == [("7", "s1"), ("d4", "9")]
    assert where(problems) == [(2, "dialogue_id"), (3, "dialogue_id")]
    assert [p.message for p in problems] == ["expected text, got float: 8.0", "expected text, got bool: True"]


@pytest.mark.parametrize(
    "value, message",
    [(None, "value is missing"), ("", "value is empty"), (" \u3000\n", "value is empty"), (["はい"], "expected text, got list")],
)
@pytest.mark.parametrize(
    "column", ["situation", "patient_1", "supporter_1", "patient_2", "supporter_2", "dialogue_id", "situation_id"]
)
def test_bad_text_fields(column: str, value: Any, message: str) -> None:
    rows = [good_row("d1"), {**good_row("d2"), column: value}, good_row("d3")]
    records, problems = validate_rows(rows, "copy.jsonl")
    assert [r.dialogue_id for r in records] == ["d1", "d3"]
    assert [str(p).split(": ", 1)[0] for p in problems] == [f"copy.jsonl, row 2, field '{column}'"]
    assert problems[0].message.startswith(message)


def test_undecodable_metadata_and_column_names_are_reported() -> None:
    bad = "\udc82\udca9"  # bytes 0x82 0xa9 kept by errors="surrogateescape"
    rows = [good_row(note="ok"), good_row("d2", note=f"メモ{bad}"), good_row("d3", **{f"x{bad}": "1"})]
    records, problems = validate_rows(rows, "f")
    # A garbled column name is a problem of the file; its row is otherwise valid.
    assert [r.dialogue_id for r in records] == ["d1", "d3"]
    assert where(problems) == [(None, "x\\x82\\xa9"), (2, "note")]
    assert problems[0].message == "column name is not valid UTF-8 (first in row 3)"
    assert "byte 0x82 at character 3" in problems[1].message
    for p in problems:  # printable: a surrogate would make print() crash
        str(p).encode("utf-8")


def test_situation_conflicts_name_both_rows_and_keep_the_first() -> None:
    rows = [
        good_row("d1"),
        good_row("d2", emotion="sadness"),
        good_row("d3", situation="別の状況です。"),
        good_row("d4", situation_id="s2", emotion="joy"),
        good_row("d5", emotion="恐れ"),
    ]
    records, problems = validate_rows(rows, "f")
    assert [r.dialogue_id for r in records] == ["d1", "d4", "d5"]
    assert [str(p) for p in problems] == [
        "f, row 2, field 'emotion': situation_id 's1' has emotion 'fear' in row 1 but 'sadness' here",
        "f, row 3, field 'situation': situation_id 's1' has a different situation text in row 1",
    ]


def test_no_rows_is_a_problem() -> None:
    records, problems = validate_rows([], "empty.jsonl", columns=list(good_row()))
    assert records == []
    assert [str(p) for p in problems] == ["empty.jsonl: no data rows"]


def test_split_and_metadata_are_kept() -> None:
    [record], _ = validate_rows([good_row(split="train", worker_id=12, note=None)], "f")
    assert record.split == "train"
    assert record.metadata == {"worker_id": 12, "note": None}


def test_bundled_sample_set_is_valid() -> None:
    if not SAMPLE_PATH.exists():
        pytest.skip(f"sample set not written yet: {SAMPLE_PATH} is absent")
    records, problems = validate_source(SAMPLE_PATH)
    assert [str(p) for p in problems] == []
    assert records
