"""`emplifai train --dry-run`: the plan of the paper's runs, computed without loading weights, and the
memory formulas it prints, checked against accelerate's own estimate."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
from accelerate.commands.estimate import estimate_training_usage

from emplifai.commands import train as train_cli
from emplifai.data.loaders import load_dialogues
from emplifai.training.data import sft_rows
from emplifai.training.memory import KNOWN_ARCHITECTURES, estimate_memory, shape_from_config, strategy_of
from emplifai.training.plan import (
    CHARS_PER_TOKEN,
    TEMPLATE_TOKENS,
    longest_micro_batch_tokens,
    make_plan,
    render_plan,
)

ROOT = Path(__file__).parent.parent / "training"
PAPER = str(ROOT / "configs" / "llm-jp-3.1-13b-instruct4.yaml")
ACCEL = ROOT / "accelerate"


def _plan(accel: str, *overrides: str, num_gpus: int | None = None):
    return make_plan(["--config", PAPER, *overrides], config_label="llm-jp-3.1-13b-instruct4",
                     accelerate_yaml=ACCEL / f"{accel}.yaml", num_gpus=num_gpus)


@pytest.mark.parametrize(
    ("accel", "num_gpus", "per_device", "accumulation"),
    [("deepspeed_zero3_1node_8gpu", None, 4, 1), ("fsdp_1node_8gpu", None, 4, 1),
     ("deepspeed_zero3_1node_8gpu", 4, 4, 2), ("fsdp_multinode", None, 2, 1), ("deepspeed_zero3_offload_1node_8gpu", 1, 4, 8)],
)
def test_paper_run_is_32_dialogues_per_step(accel: str, num_gpus: int | None, per_device: int, accumulation: int) -> None:
    plan = _plan(accel, num_gpus=num_gpus)
    assert (plan.per_device, plan.accumulation) == (per_device, accumulation)
    assert plan.dialogues_per_step == 32 and not plan.packing and plan.padding_free
    # Counted on the bundled sample (the config's data is not here): 112 dialogues, 3 epochs.
    assert plan.n_dialogues == 112 and plan.n_rows == plan.n_train
    assert plan.steps_per_epoch == -(-plan.n_train // 32) and plan.total_steps == 3 * plan.steps_per_epoch
    assert "ESTIMATE" in plan.tokens_method  # no llm-jp tokenizer offline: labelled as an estimate
    assert plan.tokens_per_step == pytest.approx(32 * plan.tokens_per_dialogue)
    text = render_plan(plan)
    assert re.search(r"dialogues per optimizer step\s+32\n", text), text
    assert "padding-free, no packing" in text and "memory per GPU" in text


def test_packing_is_a_throughput_option_and_the_plan_says_so() -> None:
    plan = _plan("deepspeed_zero3_1node_8gpu", "--packing", "true", "--max_length", "2048")
    assert plan.packing and plan.n_rows < plan.n_train  # several dialogues per row
    assert plan.dialogues_per_step > 32
    assert "packing (bfd)" in render_plan(plan)


def test_cli_dry_run_prints_the_plan_and_loads_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="emplifai")
    train_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["train", "--config", "llm-jp-3.1-13b-instruct4", "--accelerate_config",
                              "deepspeed_zero3_1node_8gpu", "--num_gpus", "4", "--dry-run"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert re.search(r"GPUs \(processes\)\s+4 ", out) and re.search(r"gradient accumulation\s+2 ", out)
    assert re.search(r"dialogues per optimizer step\s+32\n", out)
    assert "--deepspeed_config_file" in out and "--num_processes 4" in out


def test_bytes_per_parameter_match_accelerate_and_deepspeed() -> None:
    shape = shape_from_config("llm-jp", KNOWN_ARCHITECTURES["llm-jp/llm-jp-3.1-13b-instruct4"], "test")
    assert shape.params == pytest.approx(13.71e9, rel=0.01)
    p = shape.params
    # accelerate estimate-memory, bf16 mixed precision: model + gradients + optimizer, unsharded.
    usage = estimate_training_usage(4 * p, "bfloat16")
    accel_total = usage["model"] + usage["gradients"] + usage["optimizer"]
    zero3 = estimate_memory(shape, strategy_of(ACCEL / "deepspeed_zero3_1node_8gpu.yaml"), 8, micro_tokens=0,
                            activation_checkpointing=True, mixed_precision=True)
    states = {what: b for what, b, _ in zero3.rows}
    sharded = states["parameters"] + states["gradients"] + states["optimizer states"]
    assert sharded * 8 == pytest.approx(accel_total) == pytest.approx(18 * p)
    # DeepSpeed's estimate_zero3_model_states_mem_needs (no offload): 18 * params / gpus + 4 * largest layer.
    assert sharded + states["gathered layer"] == pytest.approx(18 * p / 8 + 4 * shape.largest_layer_params)


def test_offload_and_fsdp_estimates() -> None:
    shape = shape_from_config("llm-jp", KNOWN_ARCHITECTURES["llm-jp/llm-jp-3.1-13b-instruct4"], "test")
    kw = {"micro_tokens": 2000, "activation_checkpointing": True, "mixed_precision": True}
    full = estimate_memory(shape, strategy_of(ACCEL / "deepspeed_zero3_1node_8gpu.yaml"), 8, **kw)
    off = estimate_memory(shape, strategy_of(ACCEL / "deepspeed_zero3_offload_1node_8gpu.yaml"), 8, **kw)
    fsdp = estimate_memory(shape, strategy_of(ACCEL / "fsdp_1node_8gpu.yaml"), 8, **kw)
    # DeepSpeed, optimizer offloaded: 2 * params / gpus + 4 * largest layer on the GPU, 16 * params * 1.5 in CPU RAM.
    off_states = sum(b for w, b, _ in off.rows if w not in ("activations", "logits"))
    assert off_states == pytest.approx(2 * shape.params / 8 + 4 * shape.largest_layer_params)
    assert off.cpu_bytes_per_node == pytest.approx(16 * shape.params * 1.5)
    assert off.total < full.total
    fsdp_states = {w: b for w, b, _ in fsdp.rows}
    assert fsdp_states["parameters"] + fsdp_states["gradients"] + fsdp_states["optimizer states"] == pytest.approx(
        16 * shape.params / 8)
    no_ckpt = estimate_memory(shape, strategy_of(ACCEL / "fsdp_1node_8gpu.yaml"), 8,
                              micro_tokens=2000, activation_checkpointing=False, mixed_precision=True)
    assert no_ckpt.total > fsdp.total


def test_longest_micro_batch_by_batching() -> None:
    lengths = [10, 10, 10, 100]
    # padding-free: the two longest dialogues together; padded: two rows of the longest; packed: two full rows
    assert longest_micro_batch_tokens(lengths, 2, packing=False, padding_free=True, max_length=None) == 110
    assert longest_micro_batch_tokens(lengths, 2, packing=False, padding_free=False, max_length=None) == 200
    assert longest_micro_batch_tokens(lengths, 2, packing=True, padding_free=True, max_length=2048) == 4096


def test_activation_estimate_is_for_the_longest_micro_batch_not_the_mean() -> None:
    plan = _plan("deepspeed_zero3_1node_8gpu")
    # The same rows, counted here: every dialogue of the sample (eval_n=100 holds out all its situations),
    # the plan's labelled characters estimate, the 4 longest together (padding-free, 4 per device).
    rows = sft_rows(list(load_dialogues()), language="ja", max_chars=None)
    estimates = sorted((round(sum(len(m["content"]) for m in r["prompt"] + r["completion"]) / CHARS_PER_TOKEN
                              + TEMPLATE_TOKENS) for r in rows), reverse=True)
    assert plan.per_device == 4 and plan.memory is not None
    assert plan.memory.micro_tokens == sum(estimates[:4])
    assert plan.memory.micro_tokens > round(4 * plan.tokens_per_dialogue)  # the mean would understate the peak
    assert f"{sum(estimates[:4])} tokens (longest micro-batch)" in render_plan(plan)


def test_data_not_here_is_counted_on_the_sample_but_bad_data_is_an_error(tmp_path: Path) -> None:
    from emplifai.data.schema import DataValidationError

    missing = _plan("deepspeed_zero3_1node_8gpu", "--data", str(tmp_path / "nope.jsonl"))
    assert missing.n_dialogues == 112 and "counted on the bundled sample instead" in missing.notes[0]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"dialogue_id": "d1", "situation_id": "s1", "emotion": "no-such-emotion"}\n', encoding="utf-8")
    with pytest.raises(DataValidationError):  # here but invalid: the run would refuse it too
        _plan("deepspeed_zero3_1node_8gpu", "--data", str(bad))
