"""Writing the trained model: a plain Hugging Face folder in the model's own dtype.

Inspect's ``hf/local`` and ``vllm/`` providers load that folder as they load any model. Full-parameter
runs save the model itself (``save_model_in_dtype``); LoRA runs save the adapter and a merged copy
(``training/lora.py``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def cast_state_dict(state_dict: dict[str, Any], dtype: Any) -> dict[str, Any]:
    """Floating-point tensors cast to ``dtype`` (integer buffers untouched)."""
    return {k: v.to(dtype) if v.is_floating_point() else v for k, v in state_dict.items()}


def save_model_in_dtype(trainer: Any, output_dir: Path, dtype_name: str | None) -> None:
    """Save the full model in the dtype it was loaded in (the config's ``dtype``), on every process.

    Under FSDP with mixed precision, accelerate upcasts the weights to fp32 (they are the master
    copy the optimizer updates), and the Trainer's FULL_STATE_DICT save would write them as fp32:
    twice the size of the bf16 model it started from (~55 GB for 13B). Here the gathered state dict
    is cast back before it is written. DeepSpeed's 16-bit gather and unsharded runs already save in
    the model's dtype, so they keep the Trainer's own save.
    """
    import torch

    dtype = getattr(torch, dtype_name) if dtype_name in ("bfloat16", "float16", "float32") else None
    if not getattr(trainer, "is_fsdp_enabled", False) or dtype is None:
        trainer.save_model(str(output_dir))
        return
    state_dict = trainer.accelerator.get_state_dict(trainer.model)  # collective: every process calls it
    if not trainer.is_world_process_zero():
        return
    write_pretrained(trainer.accelerator.unwrap_model(trainer.model), trainer.processing_class,
                     cast_state_dict(state_dict, dtype), output_dir, dtype)


def write_pretrained(model: Any, tokenizer: Any, state_dict: dict[str, Any], output_dir: Path, dtype: Any) -> None:
    """``save_pretrained`` of ``state_dict`` with the config's dtype saying what the weights are."""
    output_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(output_dir), state_dict=state_dict)
    # save_pretrained writes the dtype of the model in memory (fp32 under FSDP mixed precision), not of
    # the weights it was given; the loaders' dtype="auto" reads this field.
    config_path = output_dir / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["dtype"] = str(dtype).rsplit(".", 1)[-1]
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if tokenizer is not None:
        tokenizer.save_pretrained(str(output_dir))


def save_checkpoint(trainer: Any, output_dir: Path, model_path: str, model_args: Any) -> None:
    """The run's model into ``output_dir``: merged base + adapter for LoRA, else the model in its dtype.

    Collective under ZeRO-3 / FSDP (weights are gathered): every process calls it.
    """
    if model_args.use_peft:
        from emplifai.training.lora import save_merged_lora

        save_merged_lora(trainer, model_path, output_dir, model_args)
    else:
        save_model_in_dtype(trainer, output_dir, model_args.dtype)
