"""The model card states base model, data fingerprint, split, hyperparameters and commit."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from emplifai.data.loaders import load_dialogues
from emplifai.training.model_card import (
    git_state,
    library_versions,
    regenerate_card,
    render_model_card,
    write_run_files,
)
from emplifai.training.split import split_for_sft


def _record(mode: str) -> tuple[dict[str, Any], dict[str, Any]]:
    split = split_for_sft(load_dialogues(), mode=mode, eval_n=4, eval_seed=42).to_json()
    summary = {k: v for k, v in split.items() if k not in ("train_dialogue_ids", "train_situation_ids")}
    record = {
        "base_model": "llm-jp/llm-jp-3.1-13b-instruct4",
        "output_dir": "/runs/sft-llm-jp",
        "data": {"source": "data/emplifai.jsonl", "path": "/data/emplifai.jsonl", "columns": None},
        "base_model_license": "apache-2.0",
        "benchmark": {"temperature": 0.7},
        "prompt": {"version": "generation-prompt-v1", "hash": "abc123", "language": "ja", "max_chars": 120},
        "split": summary,
        "hyperparameters": {"learning_rate": 1e-4, "num_train_epochs": 3, "global_batch_size": 32},
        "result": {"optimizer steps": 300},
        "git": {"commit": "0123456789abcdef0123456789abcdef01234567", "dirty": True},
        "versions": {"trl": "1.16.0", "peft": None},
        "hardware": "8 process(es), NVIDIA A100",
    }
    return record, split


def test_card_states_what_a_reader_needs() -> None:
    record, split = _record("benchmark")
    card = render_model_card(record)
    assert card.startswith('---\nbase_model: "llm-jp/llm-jp-3.1-13b-instruct4"\nlicense: "apache-2.0"\n'
                           "language: [ja]\n")
    for needle in (split["data_fingerprint"], split["train_fingerprint"], "| learning_rate | 0.0001 |",
                   "| global_batch_size | 32 |", "0123456789abcdef0123456789abcdef01234567 (with uncommitted changes)",
                   "split: `benchmark`", "n=4, seed=42", "none of the benchmark's evaluation situations",
                   "## Intended use and limitations", "Not a medical device", "trl 1.16.0",
                   "No benchmark run recorded yet"):
        assert needle in card, needle
    # The exact benchmark command: the training data, n, seed, language, length limit, the paper's
    # temperature for this model, the checkpoint's split, and a grader placeholder.
    generation_cmd = next(block for block in card.split("inspect eval ")[1:] if block.startswith("tasks/generation.py"))
    for part in ("--model hf/local -M model_path=/runs/sft-llm-jp", "--temperature 0.7", "-T n=4", "-T seed=42",
                 "-T data=/data/emplifai.jsonl", "-T language=ja", "-T max_chars=120",
                 "-T checkpoint_split=/runs/sft-llm-jp/split.json", "--model-role grader=<judge model"):
        assert part in generation_cmd, part
    assert "-T data=/data/emplifai.jsonl" in card.split("tasks/emotion.py")[1]
    assert "peft" not in card  # absent libraries are not listed


def test_paper_mode_card_warns_about_the_leak() -> None:
    record, _ = _record("paper")
    card = render_model_card(record)
    assert "**4 of the benchmark's evaluation situations are in the training data**" in card


def test_run_files_are_written_together(tmp_path: Path) -> None:
    record, split = _record("benchmark")
    write_run_files(tmp_path / "out", record, split)
    assert json.loads((tmp_path / "out" / "split.json").read_text(encoding="utf-8")) == split
    assert json.loads((tmp_path / "out" / "emplifai_sft.json").read_text(encoding="utf-8")) == record
    assert (tmp_path / "out" / "README.md").read_text(encoding="utf-8") == render_model_card(record)


def test_card_results_from_logs_of_this_checkpoint(tmp_path: Path) -> None:
    from inspect_ai import eval as inspect_eval

    record, split = _record("benchmark")
    ckpt = tmp_path / "ckpt"
    record["output_dir"] = str(ckpt)
    record["split"]["data_fingerprint"] = split["data_fingerprint"]
    write_run_files(ckpt, record, split)
    logs = tmp_path / "logs"
    for model_path in (ckpt, tmp_path / "another-model"):  # only the first is this checkpoint
        inspect_eval("emplifai/emotion", task_args={"bertscore": False}, model="mockllm/model",
                     model_args={"model_path": str(model_path)}, log_dir=str(logs), display="none", limit=2)
    card_path, n = regenerate_card(ckpt, logs)
    card = card_path.read_text(encoding="utf-8")
    assert n == 1 and "| emotion |" in card and "label_match/" in card and "No benchmark run" not in card
    assert json.loads((ckpt / "emplifai_sft.json").read_text(encoding="utf-8"))["benchmark_results"][0]["same_data"]


def test_card_command_line(tmp_path: Path, capsys) -> None:
    import argparse

    from emplifai.commands import train as train_cli

    record, split = _record("benchmark")
    write_run_files(tmp_path / "ckpt", record, split)
    parser = argparse.ArgumentParser(prog="emplifai")
    train_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["train", "card", str(tmp_path / "ckpt")])
    assert args.func(args) == 0
    assert "model card rewritten, results from 0 log(s)" in capsys.readouterr().out


def test_provenance_helpers() -> None:
    state = git_state(Path(__file__).parent)
    assert state["commit"] is None or re.fullmatch(r"[0-9a-f]{40}", state["commit"])
    versions = library_versions()
    assert versions["trl"] and versions["transformers"]
