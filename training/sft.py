"""Supervised fine-tuning on EmplifAI-format dialogues with TRL, in the shape of TRL's scripts/sft.py.

    accelerate launch --config_file training/accelerate/deepspeed_zero3_1node_8gpu.yaml \\
        training/sft.py --config training/configs/llm-jp-3.1-13b-instruct4.yaml
    emplifai train --config training/configs/llm-jp-3.1-13b-instruct4.yaml   # the same, one command

Arguments are four dataclasses parsed by ``TrlParser`` from a YAML ``--config`` and the command
line (the command line wins): ``EmplifaiSFTArguments`` (ours: data, split, prompt options, the
global batch), TRL's ``SFTConfig`` (training) and ``ModelConfig`` (model, LoRA).

What a run does: load and validate the data (``emplifai.data.loaders``), split it by situation
with the generation benchmark's evaluation pairs held out (``training/split.py``), build
prompt-completion rows from the benchmark's own prompt (``training/data.py``), derive the
per-device batch and gradient accumulation from the global batch and the world size
(``training/batch.py``), train with completion-only loss (the paper configs: one dialogue per
sequence, padding-free micro-batches, so the global batch counts dialogues), then save a plain
Hugging Face folder in the model's dtype that Inspect's ``hf/local`` and ``vllm/`` providers load,
with ``split.json``, ``emplifai_sft.json`` and a ``README.md`` model card beside it.
``emplifai train --dry-run`` prints the plan of a run without loading weights (``training/plan.py``).

Packing (a throughput option; global_batch_size then counts packed rows): TRL 1.16 builds the completion-only labels per dialogue *before* packing and carries
them into the packed rows, so prompt-completion + ``completion_only_loss`` + ``packing`` work
together. The default strategy "bfd" keeps dialogues whole and turns on padding-free batches
(position ids restart at each dialogue); transformers builds a block-diagonal attention mask
from those position ids for sdpa/eager attention, and flash-attention uses them directly, so
packed dialogues never attend to each other. "bfd" truncates anything longer than
``max_length``: ``check_lengths`` refuses such data instead.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger("emplifai.training.sft")

# model_name_or_path alias for the offline SmolLM2 folder (converted on first use).
LOCAL_MODEL_ALIAS = "emplifai:smollm2-135m-instruct"


@dataclass
class EmplifaiSFTArguments:
    """Data, split and prompt options of an EmplifAI SFT run."""

    data: str | None = field(
        default=None,
        metadata={"help": "EmplifAI-format data: JSONL/CSV/Parquet path, datasets folder or hub id. "
                  "Default: the project's bundled Japanese sample set (not EmplifAI data)."},
    )
    columns: str | None = field(
        default=None, metadata={"help": "Column map for differently named copies, e.g. 'emotion=label,patient_1=p1'."}
    )
    hf_split: str | None = field(default=None, metadata={"help": "Split to read from a datasets folder or hub id."})
    language: str = field(default="ja", metadata={"help": "Language of the brief and speaker labels: ja or en."})
    max_chars: int | None = field(
        default=None, metadata={"help": "Per-reply character limit stated in the brief (as -T max_chars); None = none."}
    )
    split_mode: str = field(
        default="benchmark",
        metadata={"help": "benchmark: hold out the generation benchmark's evaluation situations; "
                  "paper: train on every dialogue (the eval pairs leak; recorded in split.json).",
                  "choices": ["benchmark", "paper"]},
    )
    eval_n: int = field(default=100, metadata={"help": "-T n of the generation benchmark to hold out (paper: 100)."})
    eval_seed: int = field(default=42, metadata={"help": "-T seed of the generation benchmark (paper: 42)."})
    max_train_dialogues: int | None = field(
        default=None,
        metadata={"help": "Train on only the first N dialogues of the training split (smoke runs); recorded in "
                  "split.json and the model card. None = all."},
    )
    synthetic_data: str | None = field(
        default=None,
        metadata={"help": "Synthetic dialogues from `emplifai synth` (its synthetic.jsonl) mixed into the training "
                  "split; situations near-duplicating an evaluation situation are removed (emplifai.synth.mix)."},
    )
    synthetic_ratio: float = field(
        default=1.0,
        metadata={"help": "Synthetic dialogues added per real training dialogue (0.5 = half as many); "
                  "used only with synthetic_data."},
    )
    global_batch_size: int = field(
        default=32,
        metadata={"help": "Sequences per optimizer step over all processes (packed rows when packing). "
                  "gradient_accumulation_steps is derived from it and must not be set; "
                  "per_device_train_batch_size is an upper bound, lowered where it does not divide it."},
    )
    eval_temperature: float | None = field(
        default=None,
        metadata={"help": "Temperature of the model card's benchmark command (paper: 0.7 for LLM-jp, 0.1 for "
                  "Swallow and MedLlama). None: greedy decoding (-M do_sample=false)."},
    )
    base_model_license: str | None = field(
        default=None,
        metadata={"help": "License of the base model as its hub page states it (e.g. apache-2.0, llama3); the "
                  "fine-tuned checkpoint is under the same terms. Written into the model card."},
    )


def make_parser() -> Any:
    from trl import ModelConfig, SFTConfig, TrlParser

    return TrlParser((EmplifaiSFTArguments, SFTConfig, ModelConfig))


def _config_file(argv: Sequence[str]) -> dict[str, Any] | None:
    if "--config" not in argv:
        return None
    import yaml

    path = argv[list(argv).index("--config") + 1]
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def apply_env(config: dict[str, Any] | None) -> None:
    """Set the config's ``env:`` block in this process before any hub library is imported.

    huggingface_hub, transformers and datasets read ``HF_HUB_OFFLINE`` and friends once, at import;
    TRL's parser sets ``env:`` only after it (and so the hub) has been imported, too late. This runs
    first, so ``env: {HF_HUB_OFFLINE: "1"}`` really makes the run offline. The file's values replace
    the environment's, as TRL's own handling of ``env:`` (which runs again later) does.
    """
    env = (config or {}).get("env")
    if env is None:
        return
    if not isinstance(env, dict):
        raise TypeError("`env:` in the config must be a mapping of variable names to values")
    late = sorted(m for m in ("huggingface_hub", "transformers", "datasets") if m in sys.modules)
    if late:
        logger.warning("env: is applied after %s was imported; hub settings may not take effect", ", ".join(late))
    for key, value in env.items():
        os.environ[str(key)] = str(value)


def parse_args(argv: Sequence[str]) -> tuple[EmplifaiSFTArguments, Any, Any]:
    from emplifai.training.batch import reject_manual_gradient_accumulation

    argv = list(argv)
    config = _config_file(argv)
    apply_env(config)
    reject_manual_gradient_accumulation(config, argv)
    script_args, training_args, model_args = make_parser().parse_args_and_config(args=argv)
    return script_args, training_args, model_args


def route_activation_checkpointing(training_args: Any, environ: Any) -> str:
    """One switch: the config's ``activation_checkpointing``, applied by whichever layer should do it.

    Under FSDP, FSDP's own activation checkpointing is the right one (the Trainer's would add an
    all-gather per layer, and transformers refuses both at once), so the value moves to
    accelerate's ``FSDP_ACTIVATION_CHECKPOINTING`` (read when the Trainer builds its FSDP plugin)
    and the Trainer's flag is turned off. Elsewhere (DeepSpeed, one process) the Trainer's applies.
    The accelerate FSDP configs' own ``fsdp_activation_checkpointing`` is overridden by this.
    Returns who applies it: "fsdp", "trainer" or "off".
    """
    wanted = bool(training_args.activation_checkpointing)
    if str(environ.get("ACCELERATE_USE_FSDP", "false")).lower() == "true":
        environ["FSDP_ACTIVATION_CHECKPOINTING"] = "true" if wanted else "false"
        training_args.activation_checkpointing = False
        return "fsdp" if wanted else "off"
    return "trainer" if wanted else "off"


def resolve_model_path(name: str | None) -> str:
    if not name:
        raise ValueError("model_name_or_path is required (a hub id, a local folder, or " + LOCAL_MODEL_ALIAS + ")")
    if name == LOCAL_MODEL_ALIAS:
        from emplifai.local_model import prepare_local_model

        return str(prepare_local_model())
    return name


def _peft_config(model_args: Any) -> Any:
    if not model_args.use_peft:
        return None
    import importlib.util

    if importlib.util.find_spec("peft") is None:
        raise ImportError(
            "use_peft=true needs the 'peft' package, which is not installed: pip install 'emplifai-bench[lora]' "
            "(or pip install peft). Full-parameter training (the paper's setting) does not need it."
        )
    from trl import get_peft_config

    return get_peft_config(model_args)


@dataclass
class Prepared:
    """Everything a run needs after start-up, before training."""

    trainer: Any
    split: Any
    model_path: str
    world_size: int
    n_rows: int
    token_lengths: list[int]
    # Who applies activation checkpointing: "fsdp", "trainer" or "off" (route_activation_checkpointing).
    activation_checkpointing: str = "off"
    # Real + synthetic mix (emplifai.synth.mix), when synthetic_data is set.
    synthetic_mix: dict[str, Any] | None = None


def prepare(script_args: EmplifaiSFTArguments, training_args: Any, model_args: Any) -> Prepared:
    """Load data, split, build rows, derive the batch, and construct the SFTTrainer."""
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import SFTTrainer

    from emplifai.data.loaders import load_dialogues, parse_column_map
    from emplifai.training.batch import derive_batch
    from emplifai.training.data import check_lengths, sft_rows
    from emplifai.training.split import split_for_sft

    if training_args.packing:
        logger.warning("packing is on: global_batch_size counts packed sequences of several dialogues each, not "
                       "dialogues (a throughput option; the paper's batch is packing off)")
    model_path = resolve_model_path(model_args.model_name_or_path)
    world_size = int(training_args.world_size)
    per_device, accumulation = derive_batch(
        script_args.global_batch_size, training_args.per_device_train_batch_size, world_size
    )
    if per_device != training_args.per_device_train_batch_size:
        logger.warning("per-device batch lowered from %d to %d so that the global batch stays %d on %d process(es)",
                       training_args.per_device_train_batch_size, per_device, script_args.global_batch_size, world_size)
    training_args.per_device_train_batch_size = per_device
    training_args.gradient_accumulation_steps = accumulation
    logger.info(
        "global batch %d = %d per device x %d process(es) x %d accumulation steps",
        script_args.global_batch_size, per_device, world_size, accumulation,
    )
    checkpointing = route_activation_checkpointing(training_args, os.environ)

    column_map = parse_column_map(script_args.columns) if script_args.columns else None
    records = load_dialogues(script_args.data, column_map=column_map, hf_split=script_args.hf_split)
    split = split_for_sft(
        records, mode=script_args.split_mode, eval_n=script_args.eval_n, eval_seed=script_args.eval_seed
    )
    if script_args.max_train_dialogues is not None:
        split = split.limited(script_args.max_train_dialogues)
    synthetic_mix = None
    if script_args.synthetic_data:
        from emplifai.synth.mix import mix_into_split

        split, synthetic_mix = mix_into_split(split, records, script_args.synthetic_data,
                                              script_args.synthetic_ratio, seed=training_args.seed)
        logger.info("synthetic mix: %d real + %d synthetic training dialogues", synthetic_mix["real_train_dialogues"],
                    synthetic_mix["synthetic_dialogues_used"])
    rows = sft_rows(split.train, language=script_args.language, max_chars=script_args.max_chars)

    tokenizer = AutoTokenizer.from_pretrained(
        model_path, revision=model_args.model_revision, trust_remote_code=training_args.trust_remote_code
    )
    if not tokenizer.chat_template:
        raise ValueError(f"{model_path}: the tokenizer has no chat template; SFT rows are chat messages")
    lengths = check_lengths(rows, split.train, tokenizer, training_args.max_length)

    model_init_kwargs = {
        "revision": model_args.model_revision,
        "trust_remote_code": training_args.trust_remote_code,
        "attn_implementation": model_args.attn_implementation,
        "dtype": model_args.dtype,
    }
    if training_args.model_init_kwargs is not None:
        model_init_kwargs.update(training_args.model_init_kwargs)
    training_args.model_init_kwargs = model_init_kwargs

    trainer = SFTTrainer(
        model=model_path,
        args=training_args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=_peft_config(model_args),
    )
    if not trainer.completion_only_loss:
        raise ValueError("completion_only_loss is off: the loss would cover the benchmark prompt, not just the dialogue")
    return Prepared(
        trainer=trainer, split=split, model_path=model_path, world_size=world_size,
        n_rows=len(trainer.train_dataset), token_lengths=lengths, activation_checkpointing=checkpointing,
        synthetic_mix=synthetic_mix,
    )


def _hardware(world_size: int) -> str:
    import torch

    if torch.cuda.is_available():
        return f"{world_size} process(es), {torch.cuda.get_device_name(0)}"
    return f"{world_size} process(es), CPU"


def run_record(
    prep: Prepared, script_args: EmplifaiSFTArguments, training_args: Any, model_args: Any,
    result: dict[str, Any],
) -> dict[str, Any]:
    """Everything the model card states, as one JSON-able dict (written as emplifai_sft.json)."""
    from emplifai.solvers.generation_prompt import PROMPT_VERSION, prompt_hash
    from emplifai.training.model_card import git_state, library_versions

    trainer = prep.trainer
    n_train = len(prep.split.train)
    dialogues_per_row = n_train / prep.n_rows if prep.n_rows else 0.0
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
        "optimizer": getattr(training_args.optim, "value", training_args.optim),
        "lr_scheduler_type": getattr(training_args.lr_scheduler_type, "value", training_args.lr_scheduler_type),
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
    split_summary = {k: v for k, v in prep.split.to_json().items()
                     if k not in ("train_dialogue_ids", "train_situation_ids")}
    return {
        "base_model": model_args.model_name_or_path if model_args.model_name_or_path != LOCAL_MODEL_ALIAS
        else f"{LOCAL_MODEL_ALIAS} ({prep.model_path})",
        "output_dir": str(Path(training_args.output_dir).resolve()),
        "data": {"source": script_args.data or "bundled sample (emplifai/data/sample, not EmplifAI data)",
                 # the absolute path for the card's -T data= (None for a hub id or the bundled sample)
                 "path": str(Path(script_args.data).expanduser().resolve())
                 if script_args.data and Path(script_args.data).expanduser().exists() else None,
                 "columns": script_args.columns, "hf_split": script_args.hf_split},
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


def _save_merged_lora(prep: Prepared, output_dir: Path, model_args: Any) -> None:
    """Save the adapter, then (main process) base + adapter merged into a plain folder.

    ``hf/local`` and ``vllm/`` need full weights; the adapter stays in ``output_dir/adapter``.
    """
    adapter_dir = output_dir / "adapter"
    prep.trainer.save_model(str(adapter_dir))
    if not prep.trainer.is_world_process_zero():
        return
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(
        prep.model_path, dtype=model_args.dtype or "auto", revision=model_args.model_revision,
        trust_remote_code=prep.trainer.args.trust_remote_code,
    )
    PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload().save_pretrained(str(output_dir))
    prep.trainer.processing_class.save_pretrained(str(output_dir))


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


def train_and_save(prep: Prepared, script_args: EmplifaiSFTArguments, training_args: Any, model_args: Any) -> Path:
    trainer = prep.trainer
    started = time.time()
    output = trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    output_dir = Path(training_args.output_dir)
    # Collective under ZeRO-3 / FSDP (weights are gathered): every process calls it.
    if model_args.use_peft:
        _save_merged_lora(prep, output_dir, model_args)
    else:
        save_model_in_dtype(trainer, output_dir, model_args.dtype)
    trainer.save_state()  # trainer_state.json: the loss curve
    if trainer.is_world_process_zero():
        losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
        result = {
            "optimizer steps": trainer.state.global_step,
            "first logged loss": losses[0] if losses else None,
            "last logged loss": losses[-1] if losses else None,
            "mean train loss": round(output.training_loss, 4),
            "wall time (s)": round(time.time() - started, 1),
        }
        from emplifai.training.model_card import write_run_files

        record = run_record(prep, script_args, training_args, model_args, result)
        write_run_files(output_dir, record, prep.split.to_json())
        logger.info("checkpoint, split.json and model card in %s", output_dir)
    if hasattr(trainer, "end"):  # transformers >= 5.18: finish trackers, destroy the process group
        trainer.end()
    return output_dir


def main(argv: Sequence[str] | None = None) -> Path:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    script_args, training_args, model_args = parse_args(sys.argv[1:] if argv is None else argv)
    prep = prepare(script_args, training_args, model_args)
    out = train_and_save(prep, script_args, training_args, model_args)
    print(json.dumps({"output_dir": str(out)}))
    return out


if __name__ == "__main__":
    main()
