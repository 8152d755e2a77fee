"""``emplifai train``: one command that runs ``accelerate launch training/sft.py`` with a config.

    emplifai train --config llm-jp-3.1-13b-instruct4 --accelerate_config deepspeed_zero3_1node_8gpu
    emplifai train --config llm-jp-3.1-13b-instruct4 --accelerate_config fsdp_1node_8gpu --dry-run
    emplifai train --config training/configs/smoke-cpu-smollm2.yaml --accelerate_config cpu -- --max_steps 2
    emplifai train card outputs/sft-llm-jp-3.1-13b-instruct4 --logs logs/

``--dry-run`` prints the run's plan (GPUs, per-device batch, derived accumulation, dialogues and
tokens per optimizer step, optimizer steps, packing / padding-free, a per-GPU memory estimate)
and the accelerate command, without loading any weights. ``train card`` rewrites a checkpoint's
model card with the results of the benchmark logs whose model is that checkpoint.

``--config`` and ``--accelerate_config`` take a path or the name of a file bundled in
``training/configs`` / ``training/accelerate`` (without ``.yaml``). Arguments after ``--`` go to
training/sft.py and override the YAML config. The launcher runs in this Python, so the venv's
accelerate, TRL and this package are the ones used.
"""

from __future__ import annotations

import argparse
import importlib.util
import shlex
import subprocess
import sys
from pathlib import Path

from emplifai.errors import UserError
from emplifai.params import int_param

_TRAINING_DIR = Path(__file__).resolve().parent.parent / "training"


def _training_dir() -> Path:
    # emplifai/training links to the top-level training/ folder; find it without importing it
    # (that would import TRL and torch just to build a command line), and name the real folder.
    spec = importlib.util.find_spec("emplifai.training")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))).resolve()
    return _TRAINING_DIR


def sft_script() -> Path:
    return _training_dir() / "sft.py"


def bundled_configs(kind: str) -> dict[str, Path]:
    """Bundled YAML files by name: kind "configs" (training) or "accelerate"."""
    folder = _training_dir() / kind
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


_FLAG_OF_KIND = {"configs": "--config", "accelerate": "--accelerate_config"}


def resolve_yaml(value: str, kind: str) -> Path:
    """A path to an existing file, or the name of a bundled one; else a ``UserError`` listing the names."""
    path = Path(value).expanduser()
    if path.is_file():
        return path.resolve()
    named = bundled_configs(kind)
    if value in named:
        return named[value]
    raise UserError(
        f"{_FLAG_OF_KIND[kind]} {value}: no such file, and not a bundled name; give a path to a YAML file or one "
        f"of: {', '.join(named) or 'none'} (training/{kind}/)"
    )


def _check_yaml_files(args: argparse.Namespace) -> None:
    """Both YAML files exist and hold mappings: a bad one is one line here, not a traceback in the launched run.

    A dry run reads the training config once, in the plan (which gives the same one-line errors).
    """
    from emplifai.training.sft import read_config

    if not args.dry_run:
        read_config(resolve_yaml(args.config, "configs"))
    if args.accelerate_config:
        read_config(resolve_yaml(args.accelerate_config, "accelerate"), flag="--accelerate_config",
                    examples="training/accelerate/*.yaml")


# Launcher options that are counts or ranks: (smallest allowed, largest allowed).
_INT_FLAGS = {"num_gpus": (1, None), "num_processes": (1, None), "num_machines": (1, None),
              "machine_rank": (0, None), "main_process_port": (1, 65535)}


def _check_counts(args: argparse.Namespace) -> None:
    for name, (low, high) in _INT_FLAGS.items():
        if getattr(args, name) is not None:
            int_param(f"--{name}", getattr(args, name), min=low, max=high, flag="")


def launch_command(args: argparse.Namespace) -> list[str]:
    """The ``accelerate launch`` command line for parsed ``emplifai train`` arguments."""
    cmd = [sys.executable, "-m", "accelerate.commands.launch"]
    if args.accelerate_config:
        accel = resolve_yaml(args.accelerate_config, "accelerate")
        cmd += ["--config_file", str(accel)]
        from emplifai.training.memory import deepspeed_config_file

        ds_file = deepspeed_config_file(accel)
        if ds_file is not None:
            # accelerate resolves the YAML's relative path against the working directory; pass it resolved.
            cmd += ["--deepspeed_config_file", str(ds_file)]
    for flag in ("num_processes", "num_machines", "machine_rank", "main_process_ip", "main_process_port"):
        value = getattr(args, flag)
        if value is not None:
            cmd += [f"--{flag}", str(value)]
    cmd += [str(sft_script()), "--config", str(resolve_yaml(args.config, "configs")), *_sft_overrides(args)]
    return cmd


def _sft_overrides(args: argparse.Namespace) -> list[str]:
    extra = list(args.sft_args)
    return extra[1:] if extra and extra[0] == "--" else extra


def _cmd_train(args: argparse.Namespace) -> int:
    if args.sft_args and args.sft_args[0] == "card":
        return _cmd_card(args.sft_args[1:])
    if not args.config:
        raise UserError("emplifai train: --config is required (or: emplifai train card CHECKPOINT --logs DIR)")
    _check_counts(args)
    _check_yaml_files(args)
    if args.num_gpus is not None and args.num_processes is not None and args.num_gpus != args.num_processes:
        raise UserError("--num_gpus and --num_processes disagree; give one")
    if args.num_gpus is not None:
        args.num_processes = args.num_gpus
    cmd = launch_command(args)
    if args.dry_run:
        from emplifai.training.plan import make_plan, render_plan

        accel = resolve_yaml(args.accelerate_config, "accelerate") if args.accelerate_config else None
        plan = make_plan(["--config", str(resolve_yaml(args.config, "configs")), *_sft_overrides(args)],
                         config_label=args.config, accelerate_yaml=accel, num_gpus=args.num_processes)
        print(render_plan(plan))
        print("\naccelerate command (not run):\n  " + shlex.join(cmd))
        return 0
    print(shlex.join(cmd), file=sys.stderr)
    if not args.accelerate_config:
        print("no --accelerate_config: accelerate uses its own default configuration", file=sys.stderr)
    return subprocess.run(cmd, check=False).returncode


def _cmd_card(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="emplifai train card",
        description="Rewrite CHECKPOINT/README.md from its run record, with a results table from the generation "
        "and emotion logs in --logs whose evaluated model is this checkpoint.",
    )
    parser.add_argument("checkpoint", help="the SFT output folder (holds emplifai_sft.json)")
    parser.add_argument("--logs", help="folder of Inspect logs to read results from (default: none, no results)")
    args = parser.parse_args(argv)
    from emplifai.training.model_card import regenerate_card

    card, n_logs = regenerate_card(Path(args.checkpoint), Path(args.logs) if args.logs else None)
    print(f"{card}: model card rewritten, results from {n_logs} log(s)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="SFT with TRL through accelerate launch (training/sft.py)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", help="training YAML: a path or a name from training/configs (required to train)")
    p.add_argument(
        "--accelerate_config",
        help="accelerate YAML: a path or a name from training/accelerate (default: accelerate's own default)",
    )
    p.add_argument("--num_processes", type=int, help="total processes (GPUs) over all machines")
    p.add_argument("--num_gpus", type=int, help="same as --num_processes (the plan's GPU count)")
    p.add_argument("--num_machines", type=int, help="machines (nodes) in a multi-node run")
    p.add_argument("--machine_rank", type=int, help="rank of this machine in a multi-node run")
    p.add_argument("--main_process_ip", help="address of the rank-0 machine in a multi-node run")
    p.add_argument("--main_process_port", type=int, help="port of the rank-0 machine in a multi-node run")
    p.add_argument("--dry-run", "--dry_run", dest="dry_run", action="store_true",
                   help="print the run's plan (batch, steps, tokens, memory estimate) and the accelerate command; "
                   "loads no weights and launches nothing")
    p.add_argument(
        "sft_args", nargs=argparse.REMAINDER,
        help="after --: arguments for training/sft.py that override the config (e.g. -- --max_steps 10); "
        "or: card CHECKPOINT --logs DIR (rewrite the model card with benchmark results)",
    )
    p.set_defaults(func=_cmd_train)
