"""LoRA (opt-in, ``use_peft: true``): the adapter config for the trainer, and the merge after training.

The paper trains full parameters; LoRA is a cheaper option. ``hf/local`` and ``vllm/`` need full
weights, so after training the adapter is merged into its base model and saved as a plain folder;
the adapter itself stays in ``output_dir/adapter``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any


def peft_config(model_args: Any) -> Any:
    """TRL's ``get_peft_config`` of the model arguments, or None for full-parameter training."""
    if not model_args.use_peft:
        return None
    if importlib.util.find_spec("peft") is None:
        raise ImportError(
            "use_peft=true needs the 'peft' package, which is not installed: pip install 'emplifai-bench[lora]' "
            "(or pip install peft). Full-parameter training (the paper's setting) does not need it."
        )
    from trl import get_peft_config

    return get_peft_config(model_args)


def save_merged_lora(trainer: Any, model_path: str, output_dir: Path, model_args: Any) -> None:
    """Save the adapter (every process), then on the main process base + adapter merged into ``output_dir``."""
    adapter_dir = output_dir / "adapter"
    trainer.save_model(str(adapter_dir))
    if not trainer.is_world_process_zero():
        return
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(
        model_path, dtype=model_args.dtype or "auto", revision=model_args.model_revision,
        trust_remote_code=trainer.args.trust_remote_code,
    )
    PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload().save_pretrained(str(output_dir))
    trainer.processing_class.save_pretrained(str(output_dir))
