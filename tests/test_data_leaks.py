"""``emplifai data leaks`` and the SFT mix: benchmark text under another id is found and kept out.

The file checked holds an evaluation situation with a few characters changed (Jaccard about 0.7),
a real dialogue's turns lightly edited, the exact turns of an evaluation pair's reference dialogue
under a new situation, and a clean synthetic row; the command must list the first three (by
dialogue_id and line, with the exact Jaccard and the matched id) and exit 1, and the mix must drop
them. Expected similarities are computed here directly from the two n-gram sets.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import pytest

from emplifai.cli import main
from emplifai.commands import data as data_cli
from emplifai.data.loaders import load_dialogues
from emplifai.data.near_duplicates import dialogue_text, jaccard, shingles
from emplifai.pairs import draw_eval_pairs
from emplifai.synth.mix import SYNTHETIC_SAMPLE_PATH, mix_synthetic

COLUMNS = ("dialogue_id", "situation_id", "emotion", "situation", "patient_1", "supporter_1", "patient_2",
           "supporter_2")
N, SEED = 10, 42


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="emplifai")
    data_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def _write(path: Path, records: list) -> Path:
    rows = [{k: getattr(r, k) for k in COLUMNS} for r in records]
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in rows), encoding="utf-8")
    return path


def _edit(text: str, every: int) -> str:
    """``text`` with every ``every``-th character replaced by 〇 (a light, deterministic edit)."""
    return "".join("〇" if i % every == every - 1 else c for i, c in enumerate(text))


@pytest.fixture()
def planted(tmp_path: Path) -> dict:
    real = load_dialogues()
    pairs = draw_eval_pairs(real, N, SEED)
    eval_ids = {p.situation_id for p in pairs}
    ev = pairs[0]
    train = [r for r in real if r.situation_id not in eval_ids]
    other = train[5]
    synthetic = load_dialogues(SYNTHETIC_SAMPLE_PATH)
    near_situation = replace(synthetic[0], dialogue_id="x-sit-d1", situation_id="x-sit",
                             situation=_edit(ev.situation, 15))
    edited_turns = replace(synthetic[1], dialogue_id="x-turns-d1", situation_id="x-turns",
                           **{c: _edit(getattr(other, c), 12) for c in ("patient_1", "supporter_1",
                                                                       "patient_2", "supporter_2")})
    copied_reference = replace(synthetic[2], dialogue_id="x-copy-d1", situation_id="x-copy",
                               **{c: getattr(ev, c) for c in ("patient_1", "supporter_1", "patient_2",
                                                              "supporter_2")})
    clean = replace(synthetic[0], dialogue_id="x-clean-d1", situation_id="x-clean")
    rows = [clean, near_situation, edited_turns, copied_reference]
    j_sit = jaccard(shingles(near_situation.situation), shingles(ev.situation))
    j_turns = jaccard(shingles(dialogue_text(edited_turns.turn_texts())), shingles(dialogue_text(other.turn_texts())))
    assert 0.6 < j_sit < 0.8 and 0.5 < j_turns < 0.9  # "a few characters changed", "lightly edited"
    return {"path": _write(tmp_path / "mixed.jsonl", rows), "real": real, "pairs": pairs, "train": train,
            "ev": ev, "other": other, "j_sit": j_sit, "j_turns": j_turns}


def test_leaks_lists_every_planted_row_and_exits_1(planted: dict, capsys: pytest.CaptureFixture[str]) -> None:
    rc = run(["data", "leaks", str(planted["path"]), "-n", str(N), "--seed", str(SEED)])
    out = capsys.readouterr().out.splitlines()
    assert rc == 1
    ev, other = planted["ev"], planted["other"]
    assert out[:-1] == [
        f"LEAK situation: x-sit-d1 (line 2): its situation has Jaccard {planted['j_sit']:.3f} with evaluation "
        f"situation {ev.situation_id}",
        f"LEAK turns: x-turns-d1 (line 3): its turns have Jaccard {planted['j_turns']:.3f} with "
        f"{other.dialogue_id} (a dialogue of the data)",
        f"LEAK turns: x-copy-d1 (line 4): its turns have Jaccard 1.000 with {ev.dialogue_id} "
        "(an evaluation situation's dialogue)",
    ]
    assert out[-1].startswith(f"3 leak(s) in 3 row(s): 4 row(s) of {planted['path']} against {N} evaluation")


def test_leaks_threshold_decides_exactly(planted: dict, capsys: pytest.CaptureFixture[str]) -> None:
    # Just above the edited situation's similarity it is no longer listed; at it, it is.
    j = planted["j_sit"]
    run(["data", "leaks", str(planted["path"]), "-n", str(N), "--threshold", repr(j)])
    assert "x-sit-d1" in capsys.readouterr().out
    run(["data", "leaks", str(planted["path"]), "-n", str(N), "--threshold", str(min(1.0, j + 1e-9))])
    assert "x-sit-d1" not in capsys.readouterr().out


def test_clean_file_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["data", "leaks", str(SYNTHETIC_SAMPLE_PATH)]) == 0
    assert capsys.readouterr().out.startswith("No leaks: 3 row(s)")


@pytest.mark.parametrize("bad", [["--threshold", "0"], ["--threshold", "1.5"], ["-n", "0"]])
def test_bad_flags_are_one_line_errors(bad: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "leaks", str(SYNTHETIC_SAMPLE_PATH), *bad]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_the_mix_drops_what_the_leak_check_lists(planted: dict) -> None:
    real, pairs = planted["real"], planted["pairs"]
    eval_records = [r for r in real if r.situation_id in {p.situation_id for p in pairs}]
    mixed, report = mix_synthetic(planted["train"], eval_records, str(planted["path"]), 10.0)
    used = report["synthetic_dialogue_ids"]
    assert used == ["x-clean-d1"]
    assert set(report["synthetic_situations_removed"]) == {"x-sit"}
    assert set(report["synthetic_dialogues_removed"]) == {"x-turns-d1", "x-copy-d1"}
    assert planted["ev"].dialogue_id in report["synthetic_dialogues_removed"]["x-copy-d1"]
