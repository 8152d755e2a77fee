"""Benchmark of SFT batching on EmplifAI-shaped data: share of useful (non-pad) tokens with and
without packing, tokens per optimizer step, and CPU training throughput of the small model.

The dataset (default: the bundled sample set) is resampled with replacement to ``--rows`` rows
(default 4,125, EmplifAI's size) with a fixed seed, turned into the SFT rows of training/data.py
(the benchmark's prompt + the dialogue), and fed through TRL's own pipeline: ``SFTTrainer``
tokenises, masks the prompt out of the labels and (with packing) packs; the Trainer's own
dataloader and collator produce the batches that are counted, one full epoch each.

- without packing, per-device batch b: each batch is padded to its longest sequence (b = 1, the
  paper's setting, pads nothing);
- with packing ("bfd", ``--max-length`` tokens per row): dialogues are packed whole and the
  collator is padding-free, so no pad is ever computed; the row fill (tokens / max_length) is
  reported too, since a fixed-shape kernel would pay for the unfilled part.

Then ``--timing-steps`` real optimizer steps of the offline SmolLM2-135M (fp32, packing at
``--timing-max-length``, one row per step) give CPU tokens/s. The tokenizer is SmolLM2's: it
has almost no Japanese vocabulary, so its token counts are ~2x those of a Japanese LLM.

    .venv/bin/python bench/sft_packing.py
    .venv/bin/python bench/sft_packing.py --max-length 8192 --batch-sizes 1,4,8 --timing-steps 0
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is local; never wait on the hub
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from emplifai.deps import exit_if_missing  # noqa: E402

exit_if_missing("torch", "datasets", "transformers", "trl", extra="train", purpose="bench/sft_packing.py")

import torch
from datasets import Dataset
from sklearn.utils import resample
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
from trl import SFTConfig, SFTTrainer

from emplifai.data.loaders import load_dialogues
from emplifai.local_model import prepare_local_model
from emplifai.training.data import sft_rows

GLOBAL_BATCH = 32


def resampled_rows(n: int, seed: int, data: str | None) -> list[dict[str, Any]]:
    records = load_dialogues(data)
    drawn = resample(records, replace=True, n_samples=n, random_state=seed)
    return sft_rows(drawn)


def _config(out: str, **kw: Any) -> SFTConfig:
    base: dict[str, Any] = {
        "output_dir": out, "bf16": False, "report_to": "none", "save_strategy": "no", "seed": 0,
        "activation_checkpointing": False, "completion_only_loss": True, "dataloader_num_workers": 0,
        "use_cpu": True,
    }
    base.update(kw)
    return SFTConfig(**base)


def _at_batch_size(trainer: SFTTrainer, per_device: int, out: str) -> SFTTrainer:
    """The same trainer at another per-device batch: a new SFTTrainer on the already tokenised (and,
    with packing, packed) rows, which TRL takes as they are; the Trainer reads the batch size from its
    arguments at construction."""
    if trainer.args.per_device_train_batch_size == per_device:
        return trainer
    args = _config(out, packing=trainer.args.packing, packing_strategy=trainer.args.packing_strategy,
                   max_length=trainer.args.max_length, per_device_train_batch_size=per_device)
    return SFTTrainer(model=trainer.model, processing_class=trainer.processing_class,
                      train_dataset=trainer.train_dataset, args=args)


def _epoch_counts(trainer: SFTTrainer) -> dict[str, float]:
    """Count one epoch of the batches the Trainer feeds at its per-device batch size."""
    real = positions = loss_tokens = batches = 0
    per_batch: list[int] = []
    for batch in trainer.get_train_dataloader():
        ids = batch["input_ids"]
        n_real = int(batch["attention_mask"].sum()) if "attention_mask" in batch else int(ids.numel())
        real += n_real
        positions += int(ids.numel())
        loss_tokens += int((batch["labels"] != -100).sum())
        batches += 1
        per_batch.append(n_real)
    return {
        "batches": batches, "real_tokens": real, "positions": positions, "loss_tokens": loss_tokens,
        "useful_share": real / positions, "loss_share": loss_tokens / real,
        "real_tokens_per_batch": statistics.mean(per_batch),
    }


class _StepClock(TrainerCallback):
    def __init__(self) -> None:
        self.begin: list[float] = []
        self.end: list[float] = []

    def on_step_begin(self, args, state, control, **kw):  # noqa: ANN001
        self.begin.append(time.perf_counter())

    def on_step_end(self, args, state, control, **kw):  # noqa: ANN001
        self.end.append(time.perf_counter())


def cpu_throughput(model_dir: Path, rows: list[dict[str, Any]], steps: int, max_length: int) -> dict[str, Any]:
    """Real optimizer steps (per-device 1 row, no accumulation), tokens/s from the step clock."""
    with tempfile.TemporaryDirectory() as out:
        tok = AutoTokenizer.from_pretrained(model_dir)
        trainer = SFTTrainer(
            model=str(model_dir), processing_class=tok, train_dataset=Dataset.from_list(rows[: steps * 4]),
            args=_config(out, max_steps=steps, learning_rate=1e-4, per_device_train_batch_size=1,
                         packing=True, packing_strategy="bfd", max_length=max_length, logging_steps=1,
                         model_init_kwargs={"dtype": torch.float32}),
        )
        clock = _StepClock()
        trainer.add_callback(clock)
        trainer.train()
    seen = [e["num_tokens"] for e in trainer.state.log_history if "num_tokens" in e]
    tokens = [int(b - a) for a, b in zip([0, *seen[:-1]], seen, strict=True)]
    secs = [e - b for b, e in zip(clock.begin, clock.end, strict=True)]
    return {
        "steps": steps, "max_length": max_length, "tokens_per_step": tokens, "seconds_per_step": [round(s, 1) for s in secs],
        "tokens_per_s": round(sum(tokens) / sum(secs), 1), "torch_threads": torch.get_num_threads(),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", help="EmplifAI-format data (default: the bundled sample set)")
    p.add_argument("--rows", type=int, default=4125, help="dialogues after resampling (EmplifAI: 4,125)")
    p.add_argument("--seed", type=int, default=0, help="resampling seed")
    p.add_argument("--max-length", type=int, default=4096, help="packed row length")
    p.add_argument("--batch-sizes", default="1,8", help="per-device batch sizes without packing")
    p.add_argument("--timing-steps", type=int, default=2, help="real CPU optimizer steps (0 = skip)")
    p.add_argument("--timing-max-length", type=int, default=1536, help="row length of the timed steps")
    p.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    model_dir = prepare_local_model()
    rows = resampled_rows(args.rows, args.seed, args.data)
    print(f"data: {args.data or 'bundled sample'} resampled to {len(rows)} dialogues, seed {args.seed}; "
          f"tokenizer and model: SmolLM2-135M-Instruct ({model_dir})")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}")
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    ds = Dataset.from_list(rows)
    results: dict[str, Any] = {"rows": len(rows), "seed": args.seed, "global_batch": GLOBAL_BATCH, "settings": []}
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        plain = SFTTrainer(model=model, processing_class=tok, train_dataset=ds,
                           args=_config(out, packing=False, max_length=None))
        lengths = [len(x) for x in plain.train_dataset["input_ids"]]
        results["tokens_per_dialogue"] = {"mean": statistics.mean(lengths), "min": min(lengths), "max": max(lengths)}
        results["epoch_tokens"] = sum(lengths)
        results["prepare_seconds_no_packing"] = round(time.perf_counter() - start, 1)
        for b in (int(x) for x in args.batch_sizes.split(",")):
            c = _epoch_counts(_at_batch_size(plain, b, out))
            results["settings"].append({"setting": f"no packing, per-device batch {b}", "per_device": b, **c,
                                        "dialogues_per_sequence": 1.0})
        if max(lengths) > args.max_length:
            raise SystemExit(f"--max-length {args.max_length} is shorter than the longest dialogue ({max(lengths)} "
                             "tokens): bfd packing would truncate it")
        start = time.perf_counter()
        packed = SFTTrainer(model=model, processing_class=tok, train_dataset=ds,
                            args=_config(out, packing=True, packing_strategy="bfd", max_length=args.max_length,
                                         per_device_train_batch_size=1))
        results["prepare_seconds_packing"] = round(time.perf_counter() - start, 1)
        n_rows = len(packed.train_dataset)
        c = _epoch_counts(packed)
        c["row_fill"] = c["real_tokens"] / (n_rows * args.max_length)
        results["settings"].append({"setting": f"packing bfd, max_length {args.max_length}, per-device batch 1",
                                    "per_device": 1, **c, "dialogues_per_sequence": len(rows) / n_rows})

    print(f"\ntokens per dialogue (prompt + dialogue + template): mean {results['tokens_per_dialogue']['mean']:.0f}, "
          f"min {results['tokens_per_dialogue']['min']}, max {results['tokens_per_dialogue']['max']}; "
          f"one epoch = {results['epoch_tokens']:,} real tokens")
    print(f"\n| setting | useful (non-pad) tokens | loss tokens / real | dialogues per sequence | "
          f"real tokens per step (global batch {GLOBAL_BATCH}) | optimizer steps per epoch |")
    print("|---|---|---|---|---|---|")
    for s in results["settings"]:
        seqs_per_epoch = s["batches"] * s["per_device"]
        per_seq = s["real_tokens"] / seqs_per_epoch
        s["real_tokens_per_step"] = per_seq * GLOBAL_BATCH
        s["steps_per_epoch"] = -(-seqs_per_epoch // GLOBAL_BATCH)
        fill = f" (row fill {s['row_fill']:.1%})" if "row_fill" in s else ""
        print(f"| {s['setting']} | {s['useful_share']:.1%}{fill} | {s['loss_share']:.1%} | "
              f"{s['dialogues_per_sequence']:.2f} | {s['real_tokens_per_step']:,.0f} | {s['steps_per_epoch']} |")

    if args.timing_steps > 0:
        t = cpu_throughput(model_dir, rows, args.timing_steps, args.timing_max_length)
        results["cpu_throughput"] = t
        print(f"\nCPU training, SmolLM2-135M fp32, full parameters, packing at {t['max_length']}, 1 row per step: "
              f"{t['tokens_per_s']} tokens/s ({t['steps']} steps: tokens {t['tokens_per_step']}, "
              f"seconds {t['seconds_per_step']}, {t['torch_threads']} torch threads)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=lambda o: dataclasses.asdict(o)) + "\n",
                             encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
