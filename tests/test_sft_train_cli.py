"""`emplifai train`: one command that becomes `accelerate launch training/sft.py --config ...`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

from emplifai.commands import train as train_cli

ROOT = Path(__file__).parent.parent


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="emplifai")
    train_cli.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["train", *argv])


def test_command_line_with_bundled_names_and_overrides() -> None:
    args = _parse(["--config", "llm-jp-3.1-13b-instruct4", "--accelerate_config", "deepspeed_zero3_multinode",
                   "--machine_rank", "1", "--main_process_ip", "10.0.0.1", "--", "--max_steps", "5"])
    cmd = train_cli.launch_command(args)
    assert cmd[:3] == [sys.executable, "-m", "accelerate.commands.launch"]
    assert cmd[cmd.index("--config_file") + 1] == str(ROOT / "training/accelerate/deepspeed_zero3_multinode.yaml")
    assert cmd[cmd.index("--machine_rank") + 1] == "1"
    assert cmd[cmd.index("--main_process_ip") + 1] == "10.0.0.1"
    script = cmd.index(str(ROOT / "training/sft.py"))
    # launcher options before the script, script options after it, overrides last
    assert cmd.index("--config_file") < script
    assert cmd[script + 1:] == ["--config", str(ROOT / "training/configs/llm-jp-3.1-13b-instruct4.yaml"),
                                "--max_steps", "5"]


def test_paths_work_and_no_accelerate_config_is_accelerates_default(tmp_path: Path) -> None:
    cfg = tmp_path / "mine.yaml"
    cfg.write_text("learning_rate: 1.0e-5\n", encoding="utf-8")
    cmd = train_cli.launch_command(_parse(["--config", str(cfg), "--num_processes", "2"]))
    assert "--config_file" not in cmd and cmd[cmd.index("--num_processes") + 1] == "2"
    assert cmd[-2:] == ["--config", str(cfg)]


def test_unknown_config_lists_the_bundled_ones() -> None:
    with pytest.raises(FileNotFoundError, match="smoke-cpu-smollm2"):
        train_cli.launch_command(_parse(["--config", "no-such-run"]))


def test_dry_run_prints_and_launches_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    args = _parse(["--config", "smoke-cpu-smollm2", "--accelerate_config", "cpu", "--dry_run"])  # old spelling
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("SFT plan (no weights loaded)") and "accelerate.commands.launch" in out


def test_card_subcommand_and_missing_config_are_one_line_errors(tmp_path: Path) -> None:
    from emplifai.errors import UserError

    with pytest.raises(UserError, match="--config is required"):
        _cmd(["--dry-run"])
    with pytest.raises(UserError, match="emplifai_sft.json"):
        _cmd(["card", str(tmp_path)])


def _cmd(argv: list[str]) -> int:
    args = _parse(argv)
    return args.func(args)
