"""The model card states base model, data fingerprint, split, hyperparameters and commit."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from emplifai.data.loaders import load_dialogues
from emplifai.training.model_card import git_state, library_versions, render_model_card, write_run_files
from emplifai.training.split import split_for_sft


def _record(mode: str) -> tuple[dict[str, Any], dict[str, Any]]:
    split = split_for_sft(load_dialogues(), mode=mode, eval_n=4, eval_seed=42).to_json()
    summary = {k: v for k, v in split.items() if k not in ("train_dialogue_ids", "train_situation_ids")}
    record = {
        "base_model": "llm-jp/llm-jp-3.1-13b-instruct4",
        "output_dir": "/runs/sft-llm-jp",
        "data": {"source": "data/emplifai.jsonl"},
        "prompt": {"version": "generation-prompt-v1", "hash": "abc123", "language": "ja", "max_chars": None},
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
    assert card.startswith('---\nbase_model: "llm-jp/llm-jp-3.1-13b-instruct4"\n')
    for needle in (split["data_sha256"], split["train_sha256"], "| learning_rate | 0.0001 |",
                   "| global_batch_size | 32 |", "0123456789abcdef0123456789abcdef01234567 (with uncommitted changes)",
                   "split: `benchmark`", "n=4, seed=42", "none of the benchmark's evaluation situations",
                   "-M model_path=/runs/sft-llm-jp", "vllm//runs/sft-llm-jp", "trl 1.16.0"):
        assert needle in card, needle
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


def test_provenance_helpers() -> None:
    state = git_state(Path(__file__).parent)
    assert state["commit"] is None or re.fullmatch(r"[0-9a-f]{40}", state["commit"])
    versions = library_versions()
    assert versions["trl"] and versions["transformers"]
