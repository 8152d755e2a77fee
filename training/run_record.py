"""The run record (``emplifai_sft.json``): everything the model card states, as one JSON-able dict.

Written beside the checkpoint with ``split.json`` and the card (``model_card.write_run_files``); the
card is rendered from it, so the two never disagree.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from emplifai.training.model_card import git_state, library_versions


def optimizer_in_use(optim: str, deepspeed_config: Mapping[str, Any] | None) -> str:
    """The optimizer that steps, as the record names it.

    With an ``optimizer`` block in the DeepSpeed config, transformers gives the Trainer a placeholder
    and DeepSpeed builds its own optimizer from that block (``transformers.integrations.deepspeed.
    deepspeed_optim_sched``): the Trainer's ``optim`` is then not used. DeepSpeed runs Adam/AdamW as
    its CPU Adam when the optimizer is offloaded (``offload_optimizer`` cpu or nvme), else as FusedAdam.
    """
    block = (deepspeed_config or {}).get("optimizer")
    if not block:
        return optim
    kind = str(block.get("type", "unknown"))
    zero = (deepspeed_config or {}).get("zero_optimization") or {}
    offloaded = str((zero.get("offload_optimizer") or {}).get("device", "none")) in ("cpu", "nvme")
    if kind.lower() in ("adam", "adamw"):
        runs_as = "DeepSpeedCPUAdam on the CPU (optimizer offloaded)" if offloaded else "FusedAdam on the GPU"
        return f"DeepSpeed {kind} from the DeepSpeed config, run as {runs_as}; optim={optim} is not used"
    return f"DeepSpeed {kind} from the DeepSpeed config; optim={optim} is not used"


def deepspeed_config_of(trainer: Any) -> dict[str, Any] | None:
    """The DeepSpeed config the run uses (accelerate's plugin, with transformers' "auto" values filled), or None."""
    if not getattr(trainer, "is_deepspeed_enabled", False):
        return None
    plugin = trainer.accelerator.state.deepspeed_plugin
    return plugin.deepspeed_config if plugin is not None else None


def _enum_value(value: Any) -> Any:
    return getattr(value, "value", value)


def hyperparameters(
    prep: Any, script_args: Any, training_args: Any, model_args: Any, deepspeed_config: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The card's hyperparameter table; ``prep`` is ``sft.Prepared`` (trainer, split, rows, token lengths)."""
    trainer = prep.trainer
    dialogues_per_row = len(prep.split.train) / prep.n_rows if prep.n_rows else 0.0
    batches_per_epoch = math.ceil(prep.n_rows / (training_args.per_device_train_batch_size * prep.world_size))
    hp: dict[str, Any] = {
        "learning_rate": training_args.learning_rate,
        "num_train_epochs": training_args.num_train_epochs,
        "max_steps": training_args.max_steps,
        "global_batch_size": script_args.global_batch_size,
        "per_device_train_batch_size": training_args.per_device_train_batch_size,
        "world_size": prep.world_size,
        "gradient_accumulation_steps (derived)": training_args.gradient_accumulation_steps,
        "max_length": training_args.max_length,
        "packing": training_args.packing,
        "packing_strategy": training_args.packing_strategy if training_args.packing else None,
        "padding_free": trainer.padding_free,
        "completion_only_loss": trainer.completion_only_loss,
        "training sequences (rows)": prep.n_rows,
        "dialogues per row (mean)": round(dialogues_per_row, 3),
        "dialogues per optimizer step (mean)": round(dialogues_per_row * script_args.global_batch_size, 2),
        "optimizer steps per epoch": math.ceil(batches_per_epoch / training_args.gradient_accumulation_steps),
        "training tokens per epoch": sum(prep.token_lengths),
        "bf16": training_args.bf16,
        "model dtype": model_args.dtype,
        "optimizer": optimizer_in_use(_enum_value(training_args.optim), deepspeed_config),
        "lr_scheduler_type": _enum_value(training_args.lr_scheduler_type),
        "warmup_steps": training_args.warmup_steps,
        "weight_decay": training_args.weight_decay,
        "activation_checkpointing": prep.activation_checkpointing,
        "checkpoint dtype": model_args.dtype or "as loaded",
        "seed": training_args.seed,
        "full parameters": not model_args.use_peft,
    }
    if model_args.use_peft:
        hp.update({"lora_r": model_args.lora_r, "lora_alpha": model_args.lora_alpha,
                   "lora_dropout": model_args.lora_dropout, "lora_target_modules": model_args.lora_target_modules})
    return hp


def training_result(trainer: Any, train_output: Any, started: float) -> dict[str, Any]:
    """Steps, first/last logged loss, mean loss and wall time of a finished ``trainer.train()``."""
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    return {
        "optimizer steps": trainer.state.global_step,
        "first logged loss": losses[0] if losses else None,
        "last logged loss": losses[-1] if losses else None,
        "mean train loss": round(train_output.training_loss, 4),
        "wall time (s)": round(time.time() - started, 1),
    }


def _hardware(world_size: int) -> str:
    import torch

    if torch.cuda.is_available():
        return f"{world_size} process(es), {torch.cuda.get_device_name(0)}"
    return f"{world_size} process(es), CPU"


def _data_record(script_args: Any) -> dict[str, Any]:
    data = script_args.data
    # the absolute path for the card's -T data= (None for a hub id or the bundled sample)
    path = str(Path(data).expanduser().resolve()) if data and Path(data).expanduser().exists() else None
    return {"source": data or "bundled sample (emplifai/data/sample, not EmplifAI data)", "path": path,
            "columns": script_args.columns, "hf_split": script_args.hf_split}


def run_record(
    prep: Any, script_args: Any, training_args: Any, model_args: Any, result: dict[str, Any],
    *, base_model: str,
) -> dict[str, Any]:
    """Everything the model card states (``prep`` is ``sft.Prepared``); ``base_model`` as the card names it."""
    from emplifai.solvers.generation_prompt import PROMPT_VERSION, prompt_hash

    split_summary = {k: v for k, v in prep.split.to_json().items()
                     if k not in ("train_dialogue_ids", "train_situation_ids")}
    hp = hyperparameters(prep, script_args, training_args, model_args, deepspeed_config_of(prep.trainer))
    return {
        "base_model": base_model,
        "output_dir": str(Path(training_args.output_dir).resolve()),
        "data": _data_record(script_args),
        "base_model_license": script_args.base_model_license,
        "benchmark": {"temperature": script_args.eval_temperature},
        "prompt": {"version": PROMPT_VERSION, "hash": prompt_hash(script_args.language),
                   "language": script_args.language, "max_chars": script_args.max_chars},
        "split": split_summary,
        "synthetic_mix": prep.synthetic_mix,
        "hyperparameters": hp,
        "result": result,
        "arguments": {"emplifai": dataclasses.asdict(script_args), "model": dataclasses.asdict(model_args)},
        "git": git_state(),
        "versions": library_versions(),
        "hardware": _hardware(prep.world_size),
    }
