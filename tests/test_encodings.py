"""Japanese data files as they really come: CP932 / Shift-JIS, UTF-8 with BOM, UTF-16, tab-separated."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from emplifai.cli import main
from emplifai.data import CANONICAL_COLUMNS, SAMPLE_PATH
from emplifai.data.loaders import DataSourceError, load_dialogues
from emplifai.errors import UserError

N_SAMPLE = 112


def _sample_csv(delimiter: str = ",") -> str:
    rows = load_dialogues(SAMPLE_PATH)
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(CANONICAL_COLUMNS)
    for r in rows:
        writer.writerow([getattr(r, c) for c in CANONICAL_COLUMNS])
    return buf.getvalue()


@pytest.fixture
def cp932_csv(tmp_path: Path) -> Path:
    path = tmp_path / "sample_cp932.csv"
    path.write_bytes(_sample_csv().encode("cp932"))
    return path


def test_cp932_without_encoding_names_cp932_once(cp932_csv: Path) -> None:
    with pytest.raises(DataSourceError) as info:
        load_dialogues(cp932_csv)
    message = str(info.value)
    assert "decodes as CP932" in message and "--encoding cp932" in message and "-T encoding=cp932" in message
    assert message.count("\n") == 0


@pytest.mark.parametrize("name", ["cp932", "shift_jis", "CP932", "sjis"])
def test_cp932_with_encoding_reads_every_row(cp932_csv: Path, name: str) -> None:
    assert len(load_dialogues(cp932_csv, encoding=name)) == N_SAMPLE


def test_records_are_the_same_whatever_the_encoding(tmp_path: Path, cp932_csv: Path) -> None:
    utf8_bom = tmp_path / "bom.csv"
    utf8_bom.write_bytes(_sample_csv().encode("utf-8-sig"))
    utf16 = tmp_path / "u16.csv"
    utf16.write_bytes(_sample_csv().encode("utf-16"))  # with BOM
    reference = load_dialogues(SAMPLE_PATH)
    for path, enc in [(utf8_bom, None), (utf16, None), (cp932_csv, "cp932")]:
        got = load_dialogues(path, encoding=enc)
        assert [r.turn_texts() for r in got] == [r.turn_texts() for r in reference], path.name
        assert [r.dialogue_id for r in got] == [r.dialogue_id for r in reference]


def test_utf16_without_bom_is_named(tmp_path: Path) -> None:
    path = tmp_path / "u16le.csv"
    path.write_bytes(_sample_csv().encode("utf-16-le"))
    with pytest.raises(DataSourceError, match="UTF-16 without a byte-order mark.*--encoding utf-16-le"):
        load_dialogues(path)
    assert len(load_dialogues(path, encoding="utf-16-le")) == N_SAMPLE


def test_wrong_named_encoding_and_unknown_encoding(tmp_path: Path, cp932_csv: Path) -> None:
    with pytest.raises(UserError, match=r"not valid utf-8 .*line \d+.*decodes as CP932"):
        load_dialogues(cp932_csv, encoding="utf-8")
    with pytest.raises(UserError, match="unknown encoding 'klingon'"):
        load_dialogues(cp932_csv, encoding="klingon")


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_tab_separated_file_is_recognised(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"tabs{suffix}"
    path.write_text(_sample_csv(delimiter="\t"), encoding="utf-8")
    assert len(load_dialogues(path)) == N_SAMPLE


def test_cli_validate_cp932(cp932_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "validate", str(cp932_csv), "--encoding", "cp932"]) == 0
    assert f"OK {cp932_csv}: {N_SAMPLE} dialogues" in capsys.readouterr().out
    assert main(["data", "validate", str(cp932_csv)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--encoding cp932" in err[0]


def test_task_reads_cp932_through_encoding_parameter(cp932_csv: Path) -> None:
    from emplifai.tasks.emotion import emotion

    task = emotion(data=str(cp932_csv), encoding="cp932", bertscore=False)
    assert len(task.dataset) == N_SAMPLE
    with pytest.raises(UserError, match="-T encoding=cp932"):
        emotion(data=str(cp932_csv), bertscore=False)
