"""Supervised fine-tuning on EmplifAI-format dialogues with TRL, in the shape of TRL's scripts/sft.py.

    accelerate launch --config_file training/accelerate/deepspeed_zero3_1node_8gpu.yaml \\
        training/sft.py --config training/configs/llm-jp-3.1-13b-instruct4.yaml
    emplifai train --config training/configs/llm-jp-3.1-13b-instruct4.yaml   # the same, one command

Arguments are three dataclasses parsed by ``TrlParser`` from a YAML ``--config`` and the command
line (the command line wins): ``EmplifaiSFTArguments`` (ours: data, split, prompt options, the
global batch), TRL's ``SFTConfig`` (training) and ``ModelConfig`` (model, LoRA). The YAML is read
once (``read_config``): its ``env:`` block is applied before any hub library is imported, and the
rest becomes the parser's defaults.

What a run does (``main``): load and validate the data (``emplifai.data.loaders``), split it by
situation with the generation benchmark's evaluation pairs held out (``training/split.py``), build
prompt-completion rows from the benchmark's own prompt (``training/data.py``), derive the per-device
batch and gradient accumulation from the global batch and the world size (``training/batch.py``),
train with completion-only loss (the paper configs: one dialogue per sequence, padding-free
micro-batches, so the global batch counts dialogues), then save a plain Hugging Face folder in the
model's dtype that Inspect's ``hf/local`` and ``vllm/`` providers load (``training/save.py``; LoRA
runs merged by ``training/lora.py``), with ``split.json``, the run record ``emplifai_sft.json``
(``training/run_record.py``) and a ``README.md`` model card (``training/model_card.py``) beside it.
``emplifai train --dry-run`` prints the plan of a run without loading weights (``training/plan.py``).

Packing (a throughput option; global_batch_size then counts packed rows): TRL 1.16 builds the
completion-only labels per dialogue *before* packing and carries them into the packed rows, so
prompt-completion + ``completion_only_loss`` + ``packing`` work together. The default strategy
"bfd" keeps dialogues whole and turns on padding-free batches (position ids restart at each
dialogue); transformers builds a block-diagonal attention mask from those position ids for
sdpa/eager attention, and flash-attention uses them directly, so packed dialogues never attend to
each other. "bfd" truncates anything longer than ``max_length``: ``check_lengths`` refuses such
data instead.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emplifai.errors import UserError

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


# --- arguments: the YAML config, read once, then TRL's parser ------------------------------------

def make_parser() -> Any:
    from trl import ModelConfig, SFTConfig, TrlParser

    return TrlParser((EmplifaiSFTArguments, SFTConfig, ModelConfig))


def read_config(path: str | Path, *, flag: str = "--config", examples: str = "training/configs/*.yaml") -> dict[str, Any]:
    """A YAML file of options as a mapping; a ``UserError`` naming ``flag`` and the file when it is not one."""
    import yaml

    where = f"{flag} {path}"
    fix = f"write one `option: value` per line, as in {examples}"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{where}: no such file; give the path of a YAML file ({examples})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{where}: cannot be read as a text file ({type(e).__name__}); {fix}") from None
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise UserError(f"{where}: not valid YAML{line}; {fix}") from None
    if not isinstance(config, dict):
        raise UserError(f"{where}: not a YAML mapping of options (it holds a {type(config).__name__}); {fix}")
    return config


def apply_env(env: Any) -> None:
    """Set the config's ``env:`` block in this process before any hub library is imported.

    huggingface_hub, transformers and datasets read ``HF_HUB_OFFLINE`` and friends once, at import,
    so ``env: {HF_HUB_OFFLINE: "1"}`` takes effect only if it is set first. The file's values replace
    the environment's, as TRL's own handling of ``env:`` does.
    """
    if env is None:
        return
    if not isinstance(env, dict):
        raise UserError("`env:` in the config must be a mapping of variable names to values")
    late = sorted(m for m in ("huggingface_hub", "transformers", "datasets") if m in sys.modules)
    if late:
        logger.warning("env: is applied after %s was imported; hub settings may not take effect", ", ".join(late))
    for key, value in env.items():
        os.environ[str(key)] = str(value)


def _pop_config_path(argv: list[str]) -> str | None:
    """Remove ``--config PATH`` (or ``--config=PATH``) from ``argv`` and return PATH."""
    for i, arg in enumerate(argv):
        if arg.startswith("--config="):
            del argv[i]
            return arg.split("=", 1)[1]
        if arg == "--config":
            if i + 1 >= len(argv):
                raise UserError("--config needs a path to a training YAML")
            path = argv[i + 1]
            del argv[i:i + 2]
            return path
    return None


def parse_args(argv: Sequence[str]) -> tuple[EmplifaiSFTArguments, Any, Any]:
    """(script, training, model) arguments from ``--config`` and the command line (which wins)."""
    from emplifai.training.batch import reject_manual_gradient_accumulation

    args = list(argv)
    path = _pop_config_path(args)
    config = read_config(path) if path is not None else {}
    apply_env(config.pop("env", None))
    reject_manual_gradient_accumulation(config, args)
    parser = make_parser()
    unknown = parser.set_defaults_with_config(**config)
    if unknown:
        names = ", ".join(sorted({u[2:] for u in unknown if u.startswith("--")}))
        raise UserError(f"--config {path}: unknown option(s) {names}; see `python training/sft.py --help`")
    script_args, training_args, model_args, extra = parser.parse_args_into_dataclasses(
        args=args, return_remaining_strings=True)
    if extra:
        raise UserError(f"unknown argument(s) {' '.join(extra)}; see `python training/sft.py --help`")
    return script_args, training_args, model_args


# --- start-up: batch, checkpointing, data, trainer -----------------------------------------------

def route_activation_checkpointing(training_args: Any, environ: MutableMapping[str, str]) -> str:
    """One switch: the training config's ``activation_checkpointing``, applied by whichever layer should do it.

    Under FSDP, FSDP's own activation checkpointing is the right one (the Trainer's would add an
    all-gather per layer, and transformers refuses both at once), so the value goes to accelerate's
    ``FSDP_ACTIVATION_CHECKPOINTING`` (read when the Trainer builds its FSDP plugin) and the Trainer's
    flag is turned off, with its mirrored alias ``gradient_checkpointing`` (TRL reads that one).
    Elsewhere (DeepSpeed, one process) the Trainer's applies. The accelerate FSDP configs do not set
    it. Returns who applies it: "fsdp", "trainer" or "off".
    """
    wanted = bool(training_args.activation_checkpointing)
    if str(environ.get("ACCELERATE_USE_FSDP", "false")).lower() == "true":
        environ["FSDP_ACTIVATION_CHECKPOINTING"] = "true" if wanted else "false"
        training_args.activation_checkpointing = False
        training_args.gradient_checkpointing = False
        return "fsdp" if wanted else "off"
    return "trainer" if wanted else "off"


def resolve_model_path(name: str | None) -> str:
    if not name:
        raise UserError("model_name_or_path is required (a hub id, a local folder, or " + LOCAL_MODEL_ALIAS + ")")
    if name == LOCAL_MODEL_ALIAS:
        from emplifai.local_model import prepare_local_model

        return str(prepare_local_model())
    return name


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


def apply_derived_batch(script_args: EmplifaiSFTArguments, training_args: Any) -> int:
    """Set the per-device batch and the accumulation from the global batch; return the world size."""
    from emplifai.training.batch import derive_batch

    world_size = int(training_args.world_size)
    per_device, accumulation = derive_batch(
        script_args.global_batch_size, training_args.per_device_train_batch_size, world_size
    )
    if per_device != training_args.per_device_train_batch_size:
        logger.warning("per-device batch lowered from %d to %d so that the global batch stays %d on %d process(es)",
                       training_args.per_device_train_batch_size, per_device, script_args.global_batch_size, world_size)
    training_args.per_device_train_batch_size = per_device
    training_args.gradient_accumulation_steps = accumulation
    logger.info("global batch %d = %d per device x %d process(es) x %d accumulation steps",
                script_args.global_batch_size, per_device, world_size, accumulation)
    return world_size


def training_split(script_args: EmplifaiSFTArguments, seed: int) -> tuple[Any, dict[str, Any] | None]:
    """The split (evaluation situations held out), limited and mixed with synthetic data as configured."""
    from emplifai.data.loaders import load_dialogues, parse_column_map
    from emplifai.training.split import split_for_sft

    column_map = parse_column_map(script_args.columns) if script_args.columns else None
    records = load_dialogues(script_args.data, column_map=column_map, hf_split=script_args.hf_split)
    split = split_for_sft(
        records, mode=script_args.split_mode, eval_n=script_args.eval_n, eval_seed=script_args.eval_seed
    )
    if script_args.max_train_dialogues is not None:
        split = split.limited(script_args.max_train_dialogues)
    if not script_args.synthetic_data:
        return split, None
    from emplifai.synth.mix import mix_into_split

    split, mix = mix_into_split(split, records, script_args.synthetic_data, script_args.synthetic_ratio, seed=seed)
    logger.info("synthetic mix: %d real + %d synthetic training dialogues", mix["real_train_dialogues"],
                mix["synthetic_dialogues_used"])
    return split, mix


def model_init_kwargs(model_args: Any, training_args: Any) -> dict[str, Any]:
    """How the trainer loads the model: ModelConfig's fields, then the config's own ``model_init_kwargs``."""
    kwargs = {
        "revision": model_args.model_revision,
        "trust_remote_code": training_args.trust_remote_code,
        "attn_implementation": model_args.attn_implementation,
        "dtype": model_args.dtype,
    }
    kwargs.update(training_args.model_init_kwargs or {})
    return kwargs


def prepare(script_args: EmplifaiSFTArguments, training_args: Any, model_args: Any) -> Prepared:
    """Load data, split, build rows, derive the batch, and construct the SFTTrainer."""
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import SFTTrainer

    from emplifai.training.data import check_lengths, sft_rows
    from emplifai.training.lora import peft_config

    if training_args.packing:
        logger.warning("packing is on: global_batch_size counts packed sequences of several dialogues each, not "
                       "dialogues (a throughput option; the paper's batch is packing off)")
    model_path = resolve_model_path(model_args.model_name_or_path)
    world_size = apply_derived_batch(script_args, training_args)
    checkpointing = route_activation_checkpointing(training_args, os.environ)
    split, synthetic_mix = training_split(script_args, training_args.seed)
    rows = sft_rows(split.train, language=script_args.language, max_chars=script_args.max_chars)

    tokenizer = AutoTokenizer.from_pretrained(
        model_path, revision=model_args.model_revision, trust_remote_code=training_args.trust_remote_code
    )
    if not tokenizer.chat_template:
        raise UserError(f"{model_path}: the tokenizer has no chat template; SFT rows are chat messages")
    lengths = check_lengths(rows, split.train, tokenizer, training_args.max_length)
    training_args.model_init_kwargs = model_init_kwargs(model_args, training_args)

    trainer = SFTTrainer(model=model_path, args=training_args, train_dataset=Dataset.from_list(rows),
                         processing_class=tokenizer, peft_config=peft_config(model_args))
    if not trainer.completion_only_loss:
        raise UserError("completion_only_loss is off: the loss would cover the benchmark prompt, not just the dialogue")
    return Prepared(
        trainer=trainer, split=split, model_path=model_path, world_size=world_size,
        n_rows=len(trainer.train_dataset), token_lengths=lengths, activation_checkpointing=checkpointing,
        synthetic_mix=synthetic_mix,
    )


def base_model_name(model_args: Any, model_path: str) -> str:
    """The base model as the record names it (the alias with the folder it stands for)."""
    name = model_args.model_name_or_path
    return f"{LOCAL_MODEL_ALIAS} ({model_path})" if name == LOCAL_MODEL_ALIAS else name


# --- the script -------------------------------------------------------------------------------------

def main(script_args: EmplifaiSFTArguments, training_args: Any, model_args: Any) -> Path:
    """Train, save the model, and write split.json, the run record and the model card beside it."""
    from emplifai.training.model_card import write_run_files
    from emplifai.training.run_record import run_record, training_result
    from emplifai.training.save import save_checkpoint

    prep = prepare(script_args, training_args, model_args)
    trainer = prep.trainer
    started = time.time()
    train_output = trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    output_dir = Path(training_args.output_dir)
    save_checkpoint(trainer, output_dir, prep.model_path, model_args)  # collective: every process
    trainer.save_state()  # trainer_state.json: the loss curve
    if trainer.is_world_process_zero():
        record = run_record(prep, script_args, training_args, model_args,
                            training_result(trainer, train_output, started),
                            base_model=base_model_name(model_args, prep.model_path))
        write_run_files(output_dir, record, prep.split.to_json())
        logger.info("checkpoint, split.json and model card in %s", output_dir)
    if hasattr(trainer, "end"):  # transformers >= 5.18 (the train extra allows older): finish trackers, process group
        trainer.end()
    print(json.dumps({"output_dir": str(output_dir)}))
    return output_dir


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    main(*parse_args(sys.argv[1:]))
