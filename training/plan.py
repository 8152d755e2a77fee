"""The plan of an SFT run, computed without loading any weights (``emplifai train ... --dry-run``).

What it states: processes (GPUs), per-device batch and gradient accumulation (both derived, see
``batch.py``), dialogues per optimizer step, optimizer steps per epoch and in total (counted on the
data: the config's when it exists here, else the bundled sample), tokens per step (the model's
tokenizer when it is available offline, else a labelled characters-based estimate), packing /
padding-free, and a per-GPU memory estimate (``memory.py``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emplifai.training.batch import derive_batch
from emplifai.training.memory import (
    MemoryEstimate,
    ModelShape,
    deepspeed_config_file,
    estimate_memory,
    load_shape,
    strategy_of,
)

logger = logging.getLogger(__name__)

# Characters-based token estimate where the tokenizer is not available offline (docs/training.md,
# "Estimate"): Japanese text at ~1.5 characters per token for a Japanese LLM's tokenizer, plus the
# chat template's own tokens per dialogue.
CHARS_PER_TOKEN = 1.5
TEMPLATE_TOKENS = 15

# EmplifAI's published size (SPEC.md), for the paper-scale line of the plan.
PAPER_DIALOGUES = 4125
PAPER_SITUATIONS = 280


@dataclass
class Plan:
    config: str
    accelerate_config: str | None
    world_size: int
    world_size_source: str
    global_batch: int
    per_device_config: int
    per_device: int
    accumulation: int
    packing: bool
    padding_free: bool
    packing_strategy: str | None
    data_label: str
    n_dialogues: int
    n_situations: int
    n_train: int
    split_note: str
    n_rows: int
    steps_per_epoch: int
    epochs: float
    max_steps: int
    total_steps: int
    tokens_per_dialogue: float
    tokens_method: str
    max_tokens_per_row: int
    notes: list[str] = field(default_factory=list)
    # The optimizer that will step (run_record.optimizer_in_use): DeepSpeed's when its JSON has one.
    optimizer: str = ""
    memory: MemoryEstimate | None = None
    shape: ModelShape | None = None

    @property
    def dialogues_per_row(self) -> float:
        return self.n_train / self.n_rows if self.n_rows else 0.0

    @property
    def dialogues_per_step(self) -> float:
        return self.global_batch * self.dialogues_per_row

    @property
    def tokens_per_step(self) -> float:
        return self.dialogues_per_step * self.tokens_per_dialogue


def _batching(packing: bool, padding_free: bool, strategy: str | None) -> str:
    if packing:
        return (f"packing ({strategy}): several dialogues per sequence of up to max_length tokens; "
                "global_batch_size counts packed sequences, not dialogues (throughput option, not the paper's batch)")
    if padding_free:
        return "padding-free, no packing: one dialogue per sequence, a micro-batch's dialogues concatenated unpadded"
    return "no packing, padded micro-batches: one dialogue per sequence"


def world_size_from(accelerate_yaml: Path | None, num_gpus: int | None) -> tuple[int, str]:
    """Processes of the run: --num_gpus / --num_processes, else the accelerate config's num_processes."""
    if num_gpus is not None:
        return num_gpus, "--num_gpus/--num_processes"
    if accelerate_yaml is not None:
        import yaml

        cfg = yaml.safe_load(accelerate_yaml.read_text(encoding="utf-8")) or {}
        if cfg.get("num_processes"):
            return int(cfg["num_processes"]), f"num_processes in {accelerate_yaml.name}"
    return 1, "no accelerate config and no --num_gpus: 1 process"


def _tokenizer_offline(model_name: str) -> tuple[Any, str] | None:
    """The model's tokenizer if it is on this machine (local folder or HF cache); never downloads."""
    from emplifai.training.sft import LOCAL_MODEL_ALIAS

    if model_name == LOCAL_MODEL_ALIAS:
        from emplifai.local_model import local_model_path

        path = local_model_path()
        if not (path / "tokenizer_config.json").is_file():
            return None  # converting it would load weights; the plan estimates instead
        model_name = str(path)
    try:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(model_name, local_files_only=True)
    except (ImportError, OSError, ValueError):  # no transformers; not cached (OSError); not a model id (ValueError)
        return None
    if not tok.chat_template:
        return None
    return tok, model_name


def _chars_estimate(row: dict[str, Any]) -> float:
    chars = sum(len(m["content"]) for m in row["prompt"] + row["completion"])
    return chars / CHARS_PER_TOKEN + TEMPLATE_TOKENS


def _packed_rows(lengths: list[int], max_length: int, strategy: str) -> int:
    """Rows TRL's own packing makes of sequences of these lengths (dummy token ids, TRL's pack_dataset)."""
    from datasets import Dataset
    from datasets.utils.logging import disable_progress_bar
    from trl.data_utils import pack_dataset

    disable_progress_bar()
    ds = Dataset.from_dict({"input_ids": [[1] * n for n in lengths]})
    return len(pack_dataset(ds, max_length, strategy=strategy))


def longest_micro_batch_tokens(lengths: list[int], per_device: int, *, packing: bool, padding_free: bool,
                               max_length: int | None) -> int:
    """Tokens of the largest micro-batch one process can be handed: the peak the memory estimate needs.

    Packed: ``per_device`` rows of up to ``max_length`` tokens. Padding-free: the ``per_device`` longest
    dialogues together (no padding). Padded: ``per_device`` rows padded to the longest dialogue.
    """
    if packing:
        if max_length is None:
            raise ValueError("packing needs max_length (the packed sequence length)")
        return per_device * max_length
    if padding_free:
        return sum(sorted(lengths, reverse=True)[:per_device])
    return per_device * max(lengths)


@dataclass
class _PlanData:
    records: list[Any]
    label: str
    train_records: list[Any]
    split_note: str


def _plan_data(script: Any, notes: list[str]) -> _PlanData:
    """The config's data if it can be read here (else the bundled sample, with a note), and its training part."""
    from emplifai.data.loaders import load_dialogues, parse_column_map
    from emplifai.data.schema import DataSourceError

    records = None
    data_path = script.data
    if data_path:
        try:
            column_map = parse_column_map(script.columns) if script.columns else None
            records = load_dialogues(data_path, column_map=column_map, hf_split=script.hf_split)
        except DataSourceError as e:  # a missing file or an unreachable hub id: plan on the sample
            notes.append(f"the config's data could not be read here ({str(e).splitlines()[0][:160]}): "
                         "counted on the bundled sample instead")
            data_path = None
    if records is None:
        records = load_dialogues()
    label = data_path or "bundled sample (emplifai/data/sample; not EmplifAI data)"
    train_records, split_note = _training_part(records, script)
    return _PlanData(list(records), label, train_records, split_note)


def _training_part(records: Sequence[Any], script: Any) -> tuple[list[Any], str]:
    """The dialogues the run trains on, and a line saying how the split chose them."""
    from emplifai.training.split import EmptyTrainingSplit, split_for_sft

    # The plan states the split itself; the split module's run-time warnings would repeat it.
    logging.getLogger("emplifai.training.split").setLevel(logging.ERROR)
    try:
        split = split_for_sft(records, mode=script.split_mode, eval_n=script.eval_n, eval_seed=script.eval_seed)
    except EmptyTrainingSplit:
        n_situations = len({r.situation_id for r in records})
        return list(records), (f"split_mode={script.split_mode} with eval_n={script.eval_n} holds out all "
                               f"{n_situations} situations of this data (nothing left to train on); counted on all "
                               f"{len(records)} dialogues")
    if script.max_train_dialogues is not None:
        split = split.limited(script.max_train_dialogues)
    return list(split.train), (f"split_mode={script.split_mode}: trains on {len(split.train)} dialogues, "
                               f"{len(split.heldout_situation_ids)} situations held out (eval_n={script.eval_n})")


def _row_lengths(rows: list[dict[str, Any]], model_name: str) -> tuple[list[int], str]:
    """Tokens per training row with the model's tokenizer when it is here, else a labelled estimate."""
    from emplifai.training.data import token_lengths

    found = _tokenizer_offline(model_name)
    if found is not None:
        tok, where = found
        return [full for _, full in token_lengths(rows, tok)], f"the model's tokenizer ({where})"
    return [round(_chars_estimate(r)) for r in rows], (
        f"ESTIMATE: characters / {CHARS_PER_TOKEN} + {TEMPLATE_TOKENS} per dialogue "
        f"(the tokenizer of {model_name} is not available offline)")


def _memory(plan: Plan, lengths: list[int], train: Any, model: Any, accelerate_yaml: Path | None) -> None:
    """Add the per-GPU memory estimate to ``plan`` (or a note saying why there is none)."""
    shape = load_shape(model.model_name_or_path or "")
    if shape is None:
        plan.notes.append(f"no memory estimate: the architecture of {model.model_name_or_path} is not known offline")
        return
    micro_tokens = longest_micro_batch_tokens(lengths, plan.per_device, packing=plan.packing,
                                              padding_free=plan.padding_free, max_length=train.max_length)
    plan.memory = estimate_memory(
        shape, strategy_of(accelerate_yaml), plan.world_size, micro_tokens=micro_tokens,
        activation_checkpointing=bool(train.activation_checkpointing),
        mixed_precision=bool(train.bf16 or train.fp16),
        dtype_bytes=4 if model.dtype in ("float32", None) else 2,
    )
    plan.shape = shape


def _optimizer(train: Any, accelerate_yaml: Path | None) -> str:
    """The optimizer the run will step with, named as the run record names it."""
    import json

    from emplifai.training.run_record import optimizer_in_use

    ds_file = deepspeed_config_file(accelerate_yaml) if accelerate_yaml is not None else None
    ds_config = json.loads(ds_file.read_text(encoding="utf-8")) if ds_file is not None else None
    return optimizer_in_use(str(getattr(train.optim, "value", train.optim)), ds_config)


def make_plan(
    argv: list[str], *, config_label: str, accelerate_yaml: Path | None, num_gpus: int | None,
) -> Plan:
    """The plan of ``training/sft.py`` with ``argv`` (``--config <yaml>`` + overrides)."""
    from emplifai.training.data import sft_rows
    from emplifai.training.sft import parse_args

    # This process imported the hub long ago; env: matters in the training processes, not in the plan.
    logging.getLogger("emplifai.training.sft").setLevel(logging.ERROR)
    # --use_cpu: TrainingArguments refuses bf16 on a machine without a GPU unless told it is a CPU
    # run; the plan only reads the values, it trains nothing.
    script, train, model = parse_args([*argv, "--use_cpu", "true"])
    world, world_source = world_size_from(accelerate_yaml, num_gpus)
    per_device, accumulation = derive_batch(script.global_batch_size, train.per_device_train_batch_size, world)
    notes: list[str] = []
    data = _plan_data(script, notes)
    rows = sft_rows(data.train_records, language=script.language, max_chars=script.max_chars)
    lengths, method = _row_lengths(rows, model.model_name_or_path or "")
    if train.packing and train.max_length is None:
        raise ValueError("packing needs max_length (the packed sequence length)")
    n_rows = _packed_rows(lengths, train.max_length, train.packing_strategy) if train.packing else len(lengths)
    steps_per_epoch = max(math.ceil(math.ceil(n_rows / (per_device * world)) / accumulation), 1)
    if train.max_steps and train.max_steps > 0:
        total = train.max_steps
        notes.append(f"max_steps={train.max_steps} overrides num_train_epochs")
    else:
        total = math.ceil(steps_per_epoch * train.num_train_epochs)
    plan = Plan(
        config=config_label, accelerate_config=str(accelerate_yaml) if accelerate_yaml else None,
        world_size=world, world_size_source=world_source, global_batch=script.global_batch_size,
        per_device_config=train.per_device_train_batch_size, per_device=per_device, accumulation=accumulation,
        packing=bool(train.packing),
        padding_free=bool(train.padding_free or (train.packing and train.packing_strategy in ("bfd", "bfd_split"))),
        packing_strategy=train.packing_strategy if train.packing else None,
        data_label=data.label, n_dialogues=len(data.records), n_situations=len({r.situation_id for r in data.records}),
        n_train=len(data.train_records), split_note=data.split_note, n_rows=n_rows, steps_per_epoch=steps_per_epoch,
        epochs=train.num_train_epochs, max_steps=train.max_steps, total_steps=total,
        tokens_per_dialogue=sum(lengths) / len(lengths), tokens_method=method,
        max_tokens_per_row=train.max_length if train.packing else max(lengths), notes=notes,
    )
    plan.optimizer = _optimizer(train, accelerate_yaml)
    _memory(plan, lengths, train, model, accelerate_yaml)
    return plan


def _fmt(n: float) -> str:
    return f"{n:,.0f}" if n >= 100 else f"{n:,.2f}".rstrip("0").rstrip(".")


def render_plan(plan: Plan) -> str:
    """The plan as the text ``--dry-run`` prints."""
    rows = [
        ("config", plan.config),
        ("accelerate config", plan.accelerate_config or "none (accelerate's default)"),
        ("GPUs (processes)", f"{plan.world_size}  ({plan.world_size_source})"),
        ("batching", _batching(plan.packing, plan.padding_free, plan.packing_strategy)),
        ("per-device batch", f"{plan.per_device}" + (f"  (config: at most {plan.per_device_config})"
                                                     if plan.per_device != plan.per_device_config else "")),
        ("gradient accumulation", (f"{plan.accumulation}  (derived: {plan.global_batch} / "
                                   f"({plan.per_device} per device x {plan.world_size} GPUs))")),
        ("sequences per step", f"{plan.global_batch}  (global_batch_size)"),
        ("dialogues per optimizer step", _fmt(plan.dialogues_per_step)
         + ("  (mean; packed rows of ~" + _fmt(plan.dialogues_per_row) + " dialogues)" if plan.packing else "")),
        ("data", f"{plan.data_label}: {plan.n_dialogues} dialogues, {plan.n_situations} situations"),
        ("split", plan.split_note),
        ("training sequences", f"{plan.n_rows}" + (f" packed rows from {plan.n_train} dialogues" if plan.packing else "")),
        ("optimizer steps", f"{plan.steps_per_epoch} per epoch x {_fmt(plan.epochs)} epochs = {plan.total_steps}"
         if not (plan.max_steps and plan.max_steps > 0) else f"{plan.total_steps} (max_steps)"),
        ("tokens per dialogue", f"{_fmt(plan.tokens_per_dialogue)} mean  ({plan.tokens_method})"),
        ("tokens per optimizer step", f"~{_fmt(plan.tokens_per_step)}"),
        ("optimizer", plan.optimizer),
    ]
    if not plan.packing:
        benchmark_train = PAPER_DIALOGUES - round(PAPER_DIALOGUES * 100 / PAPER_SITUATIONS)
        rows.append(("at EmplifAI's size", (
            f"{PAPER_DIALOGUES:,} dialogues: {math.ceil(PAPER_DIALOGUES / plan.global_batch)} steps per epoch on "
            f"all of them (split_mode=paper); ~{benchmark_train:,} after holding out 100 of {PAPER_SITUATIONS} "
            f"situations: ~{math.ceil(benchmark_train / plan.global_batch)} per epoch")))
    width = max(len(k) for k, _ in rows)
    lines = ["SFT plan (no weights loaded)"] + [f"  {k.ljust(width)}  {v}" for k, v in rows]
    lines += [f"  note: {n}" for n in plan.notes]
    if plan.memory is not None and plan.shape is not None:
        lines += ["", plan.memory.render(plan.shape)]
    return "\n".join(lines)
