"""Checkpoints are written in the model's dtype (no fp32 upcast saved), activation checkpointing has one
switch, and padding-free batches of whole dialogues restart positions per dialogue. A tiny random
Llama (no download) stands in for the real models."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from safetensors import safe_open
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

from emplifai.training.save import cast_state_dict, write_pretrained
from emplifai.training.sft import route_activation_checkpointing


def _tiny() -> LlamaForCausalLM:
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=1)
    return LlamaForCausalLM(cfg).to(torch.float32)  # as accelerate leaves it under FSDP mixed precision


def test_fp32_master_weights_are_saved_as_bf16(tmp_path: Path) -> None:
    model = _tiny()
    state = model.state_dict()
    write_pretrained(model, None, cast_state_dict(state, torch.bfloat16), tmp_path, torch.bfloat16)
    with safe_open(str(tmp_path / "model.safetensors"), "pt") as f:
        dtypes = {f.get_tensor(k).dtype for k in f.keys()}  # noqa: SIM118 (safe_open has no __iter__)
    assert dtypes == {torch.bfloat16}
    assert json.loads((tmp_path / "config.json").read_text())["dtype"] == "bfloat16"
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path, dtype="auto")
    assert reloaded.dtype == torch.bfloat16
    for k, v in reloaded.state_dict().items():
        torch.testing.assert_close(v, state[k].to(torch.bfloat16))


def test_cast_leaves_integer_buffers_alone() -> None:
    out = cast_state_dict({"w": torch.ones(2), "steps": torch.tensor([3])}, torch.bfloat16)
    assert out["w"].dtype == torch.bfloat16 and out["steps"].dtype == torch.int64


@pytest.mark.parametrize(
    ("fsdp", "wanted", "who", "trainer_flag", "fsdp_env"),
    [("true", True, "fsdp", False, "true"), ("true", False, "off", False, "false"),
     ("false", True, "trainer", True, None), ("false", False, "off", False, None)],
)
def test_one_activation_checkpointing_switch(fsdp: str, wanted: bool, who: str, trainer_flag: bool,
                                             fsdp_env: str | None) -> None:
    args = SimpleNamespace(activation_checkpointing=wanted, gradient_checkpointing=wanted)
    # The accelerate FSDP config says true; the training config decides.
    environ = {"ACCELERATE_USE_FSDP": fsdp, "FSDP_ACTIVATION_CHECKPOINTING": "true"} if fsdp == "true" else {}
    assert route_activation_checkpointing(args, environ) == who
    assert args.activation_checkpointing is trainer_flag  # never both: transformers refuses that under FSDP
    assert environ.get("FSDP_ACTIVATION_CHECKPOINTING") == fsdp_env


def test_fsdp_route_also_turns_off_the_mirrored_gradient_checkpointing(tmp_path: Path) -> None:
    from trl import SFTConfig

    args = SFTConfig(output_dir=str(tmp_path), activation_checkpointing=True, use_cpu=True, bf16=False,
                     report_to="none")
    # transformers keeps the deprecated name as a mirror of the new one; TRL's trainer reads the old name.
    assert args.gradient_checkpointing is True
    assert route_activation_checkpointing(args, {"ACCELERATE_USE_FSDP": "true"}) == "fsdp"
    assert args.activation_checkpointing is False and args.gradient_checkpointing is False


def test_padding_free_batch_keeps_dialogues_apart() -> None:
    # The paper configs' batching: no packing, padding-free: a micro-batch of whole dialogues becomes one
    # unpadded row whose position ids restart at each dialogue (transformers masks across them).
    collator = DataCollatorForLanguageModeling(pad_token_id=0, padding_free=True)
    rows = [{"input_ids": [5, 6, 7], "completion_mask": [0, 1, 1]}, {"input_ids": [8, 9], "completion_mask": [0, 1]}]
    batch = collator(rows)
    assert batch["input_ids"].tolist() == [[5, 6, 7, 8, 9]] and "attention_mask" not in batch
    assert batch["position_ids"].tolist() == [[0, 1, 2, 0, 1]]
    labels = batch["labels"].tolist()[0]
    assert labels[0] == -100 and labels[3] == -100  # no dialogue's first token is predicted from another
