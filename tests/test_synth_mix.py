"""Real + synthetic SFT data: the mix keeps evaluation situations out, honours the ratio, and the
mixed CPU smoke config trains (slow)."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import pytest

from emplifai.data.loaders import load_dialogues
from emplifai.errors import UserError
from emplifai.pairs import draw_eval_pairs
from emplifai.synth.mix import SYNTHETIC_SAMPLE_ALIAS, SYNTHETIC_SAMPLE_PATH, mix_synthetic


def _write(path: Path, records: list, **over: object) -> Path:
    rows = []
    for r in records:
        row = {k: getattr(r, k) for k in ("dialogue_id", "situation_id", "emotion", "situation", "patient_1",
                                          "supporter_1", "patient_2", "supporter_2")}
        rows.append({**row, **over.get(r.dialogue_id, {})})
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in rows), encoding="utf-8")
    return path


def test_sample_file_validates_and_mixes_at_the_ratio() -> None:
    real = load_dialogues()
    synthetic = load_dialogues(SYNTHETIC_SAMPLE_PATH)
    assert len(synthetic) == 3 and all(r.metadata["synth_judge_scores"] for r in synthetic)
    eval_records = draw_eval_pairs(real, 2, 42)
    train = [r for r in real if r.situation_id not in {e.situation_id for e in eval_records}][:2]
    mixed, report = mix_synthetic(train, eval_records, SYNTHETIC_SAMPLE_ALIAS, 1.0, seed=1)
    assert mixed[:2] == train and len(mixed) == 4 and report["synthetic_dialogues_used"] == 2
    mixed, report = mix_synthetic(train, eval_records, SYNTHETIC_SAMPLE_ALIAS, 0.0)
    assert mixed == train and report["synthetic_dialogues_used"] == 0
    mixed, report = mix_synthetic(train, eval_records, SYNTHETIC_SAMPLE_ALIAS, 5.0)
    assert report["synthetic_dialogues_requested"] == 10 and report["synthetic_dialogues_used"] == 3
    with pytest.raises(UserError):
        mix_synthetic(train, eval_records, SYNTHETIC_SAMPLE_ALIAS, -1)


def test_evaluation_situations_never_enter_through_synthetic_rows(tmp_path: Path) -> None:
    real = load_dialogues()
    eval_records = draw_eval_pairs(real, 4, 42)
    synthetic = load_dialogues(SYNTHETIC_SAMPLE_PATH)
    ev = eval_records[0]
    # One synthetic row carries an evaluation situation verbatim, one a lightly edited copy.
    rows = [
        replace(synthetic[0], situation=ev.situation, emotion=ev.emotion),
        replace(synthetic[1], situation_id="synth-x-1", dialogue_id="synth-x-1-d1",
                situation=ev.situation.replace("。", "、と思った。", 1)),
        replace(synthetic[2], situation_id="synth-y-1", dialogue_id="synth-y-1-d1"),
    ]
    path = _write(tmp_path / "s.jsonl", rows)
    mixed, report = mix_synthetic(real[:10], eval_records, str(path), 10.0)
    assert set(report["synthetic_situations_removed"]) == {rows[0].situation_id, "synth-x-1"}
    assert [r.dialogue_id for r in mixed[10:]] == ["synth-y-1-d1"]
    clash = _write(tmp_path / "c.jsonl", [replace(synthetic[0], dialogue_id=real[0].dialogue_id)])
    with pytest.raises(UserError, match="ids also used"):
        mix_synthetic(real, eval_records, str(clash), 1.0)


@pytest.mark.slow
def test_mixed_config_trains_on_cpu(local_model_dir: Path, tmp_path: Path) -> None:
    from emplifai.commands import train as train_cli

    out = tmp_path / "ckpt"
    parser = argparse.ArgumentParser(prog="emplifai")
    train_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args([
        "train", "--config", "mix-cpu-smollm2", "--accelerate_config", "cpu", "--", "--output_dir", str(out),
    ])
    assert args.func(args) == 0
    state = json.loads((out / "trainer_state.json").read_text(encoding="utf-8"))
    assert len([e for e in state["log_history"] if "loss" in e]) == 2
    split = json.loads((out / "split.json").read_text(encoding="utf-8"))
    run = json.loads((out / "emplifai_sft.json").read_text(encoding="utf-8"))
    mix = run["synthetic_mix"]
    assert mix["real_train_dialogues"] == 1 and mix["synthetic_dialogues_used"] == 1
    assert split["n_train_dialogues"] == 2 and mix["synthetic_dialogue_ids"][0] in split["train_dialogue_ids"]
    assert split["eval_pairs_in_train"] == []
