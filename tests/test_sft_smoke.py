"""CPU smoke path, end to end: `emplifai train` (accelerate launch of training/sft.py) trains the
offline SmolLM2 for a few steps on the sample set, the loss falls, and the saved checkpoint is
then benchmarked by the generation task through Inspect's hf/local provider, in the same test,
with the offline model on llama.cpp (gguf/smollm2-135m) as judge."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval

from emplifai.commands import train as train_cli
from emplifai.data import SAMPLE_PATH
from emplifai.data.loaders import load_dialogues
from emplifai.tasks.generation import draw_eval_pairs, generation
from emplifai.training.split import data_fingerprint


@pytest.mark.slow
def test_train_then_benchmark_the_checkpoint(local_model_dir: Path, tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "ckpt"
    parser = argparse.ArgumentParser(prog="emplifai")
    train_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args([
        "train", "--config", "smoke-cpu-smollm2", "--accelerate_config", "cpu", "--", "--output_dir", str(out),
    ])
    assert args.func(args) == 0

    # The loss falls over the steps (one dialogue seen at every step).
    state = json.loads((out / "trainer_state.json").read_text(encoding="utf-8"))
    losses = [e["loss"] for e in state["log_history"] if "loss" in e]
    assert len(losses) == 2 and losses[1] < losses[0], losses

    # Beside the checkpoint: the split, the fingerprint and a model card.
    records = load_dialogues()
    split = json.loads((out / "split.json").read_text(encoding="utf-8"))
    eval_ids = sorted(r.situation_id for r in draw_eval_pairs(records, 2, 42))
    assert split["heldout_situation_ids"] == eval_ids and split["eval_pairs_in_train"] == []
    assert split["data_fingerprint"] == data_fingerprint(records) and split["train_limit"] == 1
    card = (out / "README.md").read_text(encoding="utf-8")
    run = json.loads((out / "emplifai_sft.json").read_text(encoding="utf-8"))
    assert split["data_fingerprint"] in card and "smollm2" in card and "language: [ja]" in card
    # The card's benchmark command names the data the checkpoint was split from, and its split.
    assert f"-T data={SAMPLE_PATH}" in card and f"-T checkpoint_split={out / 'split.json'}" in card
    assert run["hyperparameters"]["learning_rate"] == 1e-4 and run["hyperparameters"]["packing"] is True
    assert run["git"]["commit"] is None or run["git"]["commit"] in card
    for name in ("config.json", "model.safetensors", "tokenizer.json", "generation_config.json"):
        assert (out / name).is_file(), name

    # The checkpoint is a model like any other for the generation benchmark.
    monkeypatch.setenv("INSPECT_CACHE_DIR", str(tmp_path / "cache"))
    [log] = inspect_eval(
        generation(n=2, seed=42, source="model", checkpoint_split=str(out / "split.json")),
        model="hf/local", model_args={"model_path": str(out), "do_sample": False},
        # The judge is the offline model on llama.cpp (gguf/); the checkpoint runs on transformers.
        model_roles={"grader": "gguf/smollm2-135m"},
        max_tokens=24, log_dir=str(tmp_path / "logs"), display="none",
    )
    assert log.status == "success", log.error
    assert log.eval.model_args["model_path"] == str(out)
    assert sorted(str(s.id) for s in log.samples) == eval_ids
    # The held-out pairs are not trained on; over every pair of the sample, the trained one is refused.
    assert log.eval.metadata["checkpoint_split"] == str(out / "split.json")
    assert log.eval.metadata["n_trained_on"] == 0
    every_pair = generation(n=56, checkpoint_split=str(out / "split.json"))
    assert every_pair.metadata["trained_situation_ids"] == split["train_situation_ids"]
    assert not set(split["train_situation_ids"]) & {s.id for s in every_pair.dataset}
    for sample in log.samples:
        assert sample.output.completion.strip()
        judged = sample.scores["rubric_judge"]
        # a weak model may miss the format (scored 1 without a judge call) or hit it (judged 1-5,
        # or unscored with a reason when the small judge gives no usable verdict)
        assert judged.value["format_ok"] in (0, 1)
        overall = judged.value["overall"]
        if judged.value["format_ok"]:
            assert 1 <= overall <= 5 or (math.isnan(overall) and judged.explanation), judged
        else:
            assert overall == 1.0
