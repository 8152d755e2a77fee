"""``emplifai data validate|stats`` through a parser holding only this command group."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from emplifai.commands import data as data_cli

FIXTURES = Path(__file__).parent / "fixtures" / "data"


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="emplifai")
    data_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_validate_clean_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["data", "validate", str(FIXTURES / "dialogues_ja.jsonl")]) == 0
    assert capsys.readouterr().out == f"OK {FIXTURES / 'dialogues_ja.jsonl'}: 5 dialogues, 3 situations, 2 emotions\n"


def test_validate_bad_rows_lists_every_problem_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["data", "validate", str(FIXTURES / "bad_rows.jsonl")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"13 problem(s) in {FIXTURES / 'bad_rows.jsonl'}, 13 row(s) affected; 3 valid dialogue(s)"
    assert [int(line.split(", row ")[1].split(",")[0].split(":")[0]) for line in out[1:]] == list(range(2, 15))


def test_validate_non_utf8_csv_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["data", "validate", str(FIXTURES / "bad_encoding.csv")]) == 1
    assert "row 2, field 'supporter_1': text is not valid UTF-8" in capsys.readouterr().out


def test_validate_with_column_map(capsys: pytest.CaptureFixture[str]) -> None:
    spec = "dialogue_id=id,situation_id=sit,emotion=label,situation=context,patient_1=p1,supporter_1=s1,patient_2=p2,supporter_2=s2"
    assert run(["data", "validate", str(FIXTURES / "mapped_columns.csv"), "--map", spec]) == 0
    assert "2 dialogues, 1 situations, 1 emotions" in capsys.readouterr().out
    # Without the map, the canonical columns are missing.
    assert run(["data", "validate", str(FIXTURES / "mapped_columns.csv")]) == 1
    assert "field 'emotion': required column is missing" in capsys.readouterr().out


def test_bad_map_spec_and_unreadable_source(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as info:
        run(["data", "validate", "x.jsonl", "--map", "emotion"])
    assert info.value.code == 2
    assert "is not of the form canonical=column_in_file" in capsys.readouterr().err
    assert run(["data", "stats", str(tmp_path / "absent.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_sample_means_the_bundled_set(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(data_cli, "SAMPLE_PATH", FIXTURES / "dialogues_ja.jsonl")
    assert run(["data", "validate", "sample"]) == 0
    assert "5 dialogues" in capsys.readouterr().out


def test_stats_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["data", "stats", str(FIXTURES / "dialogues_ja.jsonl")]) == 0
    assert capsys.readouterr().out.startswith("5 dialogues, 3 situations, 2 of 28 emotions\n")
    assert run(["data", "stats", str(FIXTURES / "dialogues_ja.jsonl"), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["per_emotion"]["fear"] == {"dialogues": 3, "situations": 2}


def test_stats_refuses_bad_data(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["data", "stats", str(FIXTURES / "bad_rows.jsonl")]) == 1
    err = capsys.readouterr().err
    assert "13 problem(s)" in err and "row 14, field 'supporter_1'" in err


def test_validate_allow_empty(tmp_path, capsys) -> None:  # noqa: ANN001
    from emplifai.cli import main

    empty = tmp_path / "synthetic.jsonl"
    empty.write_text("", encoding="utf-8")
    assert main(["data", "validate", str(empty)]) == 1
    capsys.readouterr()
    assert main(["data", "validate", str(empty), "--allow-empty"]) == 0
    assert "0 dialogues (an empty file, accepted with --allow-empty)" in capsys.readouterr().out
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"dialogue_id": "x"}\n', encoding="utf-8")
    assert main(["data", "validate", str(bad), "--allow-empty"]) == 1
