"""Reading EmplifAI-format data from every supported source."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emplifai.data import DataValidationError
from emplifai.data.loaders import (
    DataSourceError,
    load_dialogues,
    parse_column_map,
    read_rows,
    read_table,
)

FIXTURES = Path(__file__).parent / "fixtures" / "data"
JSONL = FIXTURES / "dialogues_ja.jsonl"


def test_jsonl_gives_records_in_file_order_with_canonical_labels() -> None:
    records = load_dialogues(JSONL)
    assert [r.dialogue_id for r in records] == ["d1", "d2", "d3", "d4", "d5"]
    # Written as "fear", " Fear ", "恐れ", "喜び", "JOY" in the file.
    assert [r.emotion for r in records] == ["fear", "fear", "fear", "joy", "joy"]
    assert [r.emotion_ja for r in records] == ["恐れ", None, None, "喜び", None]
    assert [r.split for r in records] == ["train", "train", "test", "train", "test"]
    assert records[0].metadata == {"annotator": "A"}
    assert records[3].patient_1 == "今日、杖を使わずに公園まで歩けたんです！"


def test_jsonl_line_separators_inside_strings_do_not_split_rows(tmp_path: Path) -> None:
    row = json.loads(JSONL.read_text(encoding="utf-8").splitlines()[0])
    row["supporter_1"] = "一行目\u2028二行目"
    path = tmp_path / "u2028.jsonl"
    path.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    [record] = load_dialogues(path)
    assert record.supporter_1 == "一行目\u2028二行目"


def test_csv_with_bom_and_numeric_ids() -> None:
    records = load_dialogues(FIXTURES / "dialogues_ja.csv")
    assert [r.dialogue_id for r in records] == ["1", "2", "3"]
    assert [r.situation_id for r in records] == ["10", "10", "11"]
    assert [r.emotion for r in records] == ["fear", "fear", "fear"]
    assert records[0].metadata == {}


def test_parquet_with_integer_ids(tmp_path: Path) -> None:
    rows, _ = read_rows(JSONL)
    for i, row in enumerate(rows, start=1):
        row["dialogue_id"] = i
    path = tmp_path / "copy.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    records = load_dialogues(path)
    assert [r.dialogue_id for r in records] == ["1", "2", "3", "4", "5"]
    from_jsonl = load_dialogues(JSONL)
    assert records == [replace(r, dialogue_id=str(i)) for i, r in enumerate(from_jsonl, start=1)]


def test_hf_save_to_disk_folder(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    rows, _ = read_rows(JSONL)
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "single"))
    assert [r.dialogue_id for r in load_dialogues(tmp_path / "single")] == ["d1", "d2", "d3", "d4", "d5"]
    with pytest.raises(DataSourceError, match="single Dataset"):
        load_dialogues(tmp_path / "single", hf_split="train")

    both = datasets.DatasetDict(
        train=datasets.Dataset.from_list(rows[:3]), test=datasets.Dataset.from_list(rows[3:])
    )
    both.save_to_disk(str(tmp_path / "dict"))
    assert [r.dialogue_id for r in load_dialogues(tmp_path / "dict", hf_split="test")] == ["d4", "d5"]
    with pytest.raises(DataSourceError, match=r"splits \['train', 'test'\]"):
        load_dialogues(tmp_path / "dict")
    with pytest.raises(DataSourceError, match="no split 'dev'"):
        load_dialogues(tmp_path / "dict", hf_split="dev")


def test_hf_folder_that_is_not_a_dataset(tmp_path: Path) -> None:
    pytest.importorskip("datasets")
    with pytest.raises(DataSourceError, match="not a Hugging Face dataset"):
        read_table(tmp_path)


def test_hub_id_offline_gives_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    datasets = pytest.importorskip("datasets")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # datasets reads the variables at import time, and it may already be imported.
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.chdir(tmp_path)  # so that "someone/emplifai-copy" is surely not a local path
    with pytest.raises(DataSourceError) as info:
        load_dialogues("someone/emplifai-copy")
    message = str(info.value)
    assert "HF_HUB_OFFLINE is set, so it was not looked up" in message
    assert "pass a local path" in message
    # With the hub on but unreachable, the hub's own failure is reported the same way.
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with pytest.raises(DataSourceError) as info:
        load_dialogues("someone/emplifai-copy")
    assert "could not load Hugging Face dataset 'someone/emplifai-copy'" in str(info.value)


def test_missing_file_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="no such file"):
        read_table(tmp_path / "absent" / "copy.csv")
    with pytest.raises(DataSourceError, match="no such file"):
        read_table("data/copy.jsonl")  # shaped like owner/name, but a file name
    (tmp_path / "copy.xlsx").write_bytes(b"")
    with pytest.raises(DataSourceError, match="spreadsheet files are not read; save the sheet as CSV"):
        read_table(tmp_path / "copy.xlsx")
    (tmp_path / "copy.yaml").write_bytes(b"")
    with pytest.raises(DataSourceError, match="unsupported file type '.yaml'"):
        read_table(tmp_path / "copy.yaml")
    # A missing path with an unknown suffix is a missing file at once, never a hub lookup.
    with pytest.raises(DataSourceError, match="no such file"):
        read_table("data/ok.xlsx")
    with pytest.raises(DataSourceError, match="only applies to Hugging Face"):
        read_table(JSONL, hf_split="train")


def test_column_map_renames_and_keeps_other_columns_as_metadata() -> None:
    spec = "dialogue_id=id,situation_id=sit,emotion=label,situation=context,patient_1=p1,supporter_1=s1,patient_2=p2,supporter_2=s2"
    records = load_dialogues(FIXTURES / "mapped_columns.csv", column_map=parse_column_map(spec))
    assert [(r.dialogue_id, r.situation_id, r.emotion) for r in records] == [("d4", "s3", "joy"), ("d5", "s3", "joy")]
    assert [r.metadata for r in records] == [{"worker": "C"}, {"worker": "B"}]
    assert records[1].supporter_2 == "素敵な目標ですね。無理のないペースで続けていきましょう。"


def test_column_map_naming_an_absent_column_is_an_error() -> None:
    with pytest.raises(DataSourceError, match="no column 'label_en'"):
        read_rows(FIXTURES / "mapped_columns.csv", column_map={"emotion": "label_en"})


def test_column_map_onto_an_existing_canonical_column_is_an_error() -> None:
    with pytest.raises(DataSourceError, match="already has a column 'emotion'"):
        read_rows(JSONL, column_map={"emotion": "annotator"})


def test_parse_column_map() -> None:
    assert parse_column_map("emotion=label, patient_1 = p1") == {"emotion": "label", "patient_1": "p1"}
    assert parse_column_map("") == {}
    with pytest.raises(ValueError, match="'emotion' is not of the form"):
        parse_column_map("emotion")
    with pytest.raises(ValueError, match="names 'emotion' twice"):
        parse_column_map("emotion=a,emotion=b")
    with pytest.raises(ValueError, match="unknown canonical column"):
        parse_column_map("feeling=label")
    with pytest.raises(ValueError, match="more than one canonical column"):
        parse_column_map("patient_1=text,patient_2=text")


def test_unparseable_jsonl_lines_are_problems_with_line_numbers() -> None:
    with pytest.raises(DataValidationError) as info:
        read_rows(FIXTURES / "bad_rows.jsonl")
    assert [(p.row, p.message.split(" (")[0]) for p in info.value.problems] == [
        (12, "line is not valid JSON"),
        (13, "line is JSON list, expected an object"),
    ]
    table = read_table(FIXTURES / "bad_rows.jsonl")
    assert len(table.rows) == 14  # 16 lines, 2 unreadable: every other row still comes through
    assert table.row_numbers == [*range(1, 12), 14, 15, 16]


def test_csv_row_with_wrong_field_count(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    lines = (FIXTURES / "dialogues_ja.csv").read_text(encoding="utf-8-sig").splitlines()
    lines[2] = ",".join(lines[2].split(",")[:4])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    table = read_table(path)
    assert [str(p) for p in table.problems] == [f"{path}, row 2: row has 4 fields but the header has 9"]
    assert table.row_numbers == [1, 3]


def test_load_dialogues_raises_with_every_problem() -> None:
    with pytest.raises(DataValidationError) as info:
        load_dialogues(FIXTURES / "bad_rows.jsonl")
    assert len(info.value.problems) == 13
    assert "13 problem(s)" in str(info.value)


def test_relative_path_resolves_from_the_shell_directory_after_chdir(tmp_path, monkeypatch):
    """`inspect eval tasks/x.py` builds tasks inside tasks/: a path relative to the user's shell still works."""
    from emplifai.data.loaders import resolve_user_path

    data = tmp_path / "mine.jsonl"
    data.write_text("{}\n", encoding="utf-8")
    elsewhere = tmp_path / "tasks"
    elsewhere.mkdir()
    monkeypatch.setenv("PWD", str(tmp_path))
    monkeypatch.chdir(elsewhere)
    assert resolve_user_path("mine.jsonl") == tmp_path / "mine.jsonl"
    assert resolve_user_path("absent.jsonl") == Path("absent.jsonl")


def test_rows_and_jsonl_objects_keep_the_line_numbers(tmp_path: Path) -> None:
    from emplifai.data.loaders import load_dialogues_with_rows, read_jsonl_objects
    from emplifai.data.schema import DataSourceError

    records = load_dialogues()[:3]
    cols = ("dialogue_id", "situation_id", "emotion", "situation", "patient_1", "supporter_1", "patient_2",
            "supporter_2")
    rows = [json.dumps({c: getattr(r, c) for c in cols}, ensure_ascii=False) for r in records]
    path = tmp_path / "d.jsonl"
    path.write_text(rows[0] + "\n\n" + rows[1] + "\n  \n\n" + rows[2] + "\n", encoding="utf-8")
    got, lines = load_dialogues_with_rows(path)
    assert [r.dialogue_id for r in got] == [r.dialogue_id for r in records] and lines == [1, 3, 6]
    assert [n for n, _ in read_jsonl_objects(path)] == [1, 3, 6]
    path.write_text(rows[0] + "\n[1, 2]\n{nope\n", encoding="utf-8")
    with pytest.raises(DataValidationError) as err:
        read_jsonl_objects(path)
    assert [p.row for p in err.value.problems] == [2, 3]
    with pytest.raises(DataValidationError):
        load_dialogues_with_rows(path)
    with pytest.raises(DataSourceError):
        read_jsonl_objects(tmp_path / "missing.jsonl")


_LINE = st.one_of(
    st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=8), max_size=3).map(
        lambda d: json.dumps(d, ensure_ascii=False)),
    st.text(alphabet="{}[]\":,ab 1あ", max_size=12),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_LINE, max_size=8))
def test_jsonl_objects_keep_every_object_or_name_every_bad_line(tmp_path: Path, lines: list[str]) -> None:
    from emplifai.data.loaders import read_jsonl_objects

    path = tmp_path / "x.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected_ok, expected_bad = [], []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            expected_bad.append(n)
            continue
        (expected_ok.append((n, obj)) if isinstance(obj, dict) else expected_bad.append(n))
    if expected_bad:
        with pytest.raises(DataValidationError) as err:
            read_jsonl_objects(path)
        assert [p.row for p in err.value.problems] == expected_bad
    else:
        assert read_jsonl_objects(path) == expected_ok
