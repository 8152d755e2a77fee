"""``emplifai train``: one command that runs ``accelerate launch training/sft.py`` with a config.

    emplifai train --config llm-jp-3.1-13b-instruct4 --accelerate_config deepspeed_zero3_1node_8gpu
    emplifai train --config training/configs/smoke-cpu-smollm2.yaml --accelerate_config cpu -- --max_steps 2

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

_TRAINING_DIR = Path(__file__).resolve().parent.parent / "training"


def _training_dir() -> Path:
    # The package maps emplifai.training to the top-level training/ folder; find it without
    # importing it (that would import TRL and torch just to build a command line).
    spec = importlib.util.find_spec("emplifai.training")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return _TRAINING_DIR


def sft_script() -> Path:
    return _training_dir() / "sft.py"


def bundled_configs(kind: str) -> dict[str, Path]:
    """Bundled YAML files by name: kind "configs" (training) or "accelerate"."""
    folder = _training_dir() / kind
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def resolve_yaml(value: str, kind: str) -> Path:
    """A path to an existing file, or the name of a bundled one; else an error listing the names."""
    path = Path(value).expanduser()
    if path.is_file():
        return path.resolve()
    named = bundled_configs(kind)
    if value in named:
        return named[value]
    raise FileNotFoundError(
        f"{value}: no such file, and not a bundled {kind} name (bundled: {', '.join(named) or 'none'})"
    )


def launch_command(args: argparse.Namespace) -> list[str]:
    """The ``accelerate launch`` command line for parsed ``emplifai train`` arguments."""
    cmd = [sys.executable, "-m", "accelerate.commands.launch"]
    if args.accelerate_config:
        cmd += ["--config_file", str(resolve_yaml(args.accelerate_config, "accelerate"))]
    for flag in ("num_processes", "num_machines", "machine_rank", "main_process_ip", "main_process_port"):
        value = getattr(args, flag)
        if value is not None:
            cmd += [f"--{flag}", str(value)]
    extra = list(args.sft_args)
    if extra and extra[0] == "--":
        extra = extra[1:]
    cmd += [str(sft_script()), "--config", str(resolve_yaml(args.config, "configs")), *extra]
    return cmd


def _cmd_train(args: argparse.Namespace) -> int:
    cmd = launch_command(args)
    print(shlex.join(cmd), file=sys.stderr)
    if args.dry_run:
        return 0
    if not args.accelerate_config:
        print("no --accelerate_config: accelerate uses its own default configuration", file=sys.stderr)
    return subprocess.run(cmd, check=False).returncode


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="SFT with TRL through accelerate launch (training/sft.py)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", required=True, help="training YAML: a path or a name from training/configs")
    p.add_argument(
        "--accelerate_config",
        help="accelerate YAML: a path or a name from training/accelerate (default: accelerate's own default)",
    )
    p.add_argument("--num_processes", type=int, help="total processes (GPUs) over all machines")
    p.add_argument("--num_machines", type=int, help="machines (nodes) in a multi-node run")
    p.add_argument("--machine_rank", type=int, help="rank of this machine in a multi-node run")
    p.add_argument("--main_process_ip", help="address of the rank-0 machine in a multi-node run")
    p.add_argument("--main_process_port", type=int, help="port of the rank-0 machine in a multi-node run")
    p.add_argument("--dry_run", action="store_true", help="print the accelerate command and exit")
    p.add_argument(
        "sft_args", nargs=argparse.REMAINDER,
        help="after --: arguments for training/sft.py that override the config (e.g. -- --max_steps 10)",
    )
    p.set_defaults(func=_cmd_train)
