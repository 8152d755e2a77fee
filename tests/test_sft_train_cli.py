"""`emplifai train`: one command that becomes `accelerate launch training/sft.py --config ...`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

from emplifai.commands import train as train_cli
from emplifai.errors import UserError

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
    with pytest.raises(UserError, match="--config no-such-run: no such file.*smoke-cpu-smollm2"):
        train_cli.launch_command(_parse(["--config", "no-such-run"]))


def _bad_files(tmp: Path) -> dict[str, Path]:
    files = {"broken.yaml": "learning_rate: [1.0e-4\n", "list.yaml": "- a\n- b\n", "text.txt": "just some words\n",
             "unknown.yaml": "model_name_or_path: x\nlearning_rat: 1.0e-4\n"}
    for name, text in files.items():
        (tmp / name).write_text(text, encoding="utf-8")
    (tmp / "binary.yaml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    return {name: tmp / name for name in [*files, "binary.yaml"]}


# (arguments after `emplifai train`, what the one line must say); {name} is a file made by _bad_files.
BAD_ARGUMENTS = [
    (["--config", "nope"], "--config nope: no such file, and not a bundled name; give a path"),
    (["--config", "nope", "--dry-run"], "--config nope: no such file"),
    (["--config", "smoke-cpu-smollm2", "--accelerate_config", "nope"], "--accelerate_config nope: no such file"),
    (["--config", "smoke-cpu-smollm2", "--num_gpus", "-1"], "--num_gpus must be an integer >= 1, got -1"),
    (["--config", "smoke-cpu-smollm2", "--num_gpus", "0", "--dry-run"], "--num_gpus must be an integer >= 1, got 0"),
    (["--config", "smoke-cpu-smollm2", "--num_processes", "0"], "--num_processes must be an integer >= 1"),
    (["--config", "smoke-cpu-smollm2", "--machine_rank", "-1"], "--machine_rank must be an integer >= 0"),
    (["--config", "smoke-cpu-smollm2", "--main_process_port", "70000"], "--main_process_port must be an integer from 1"),
    (["--config", "{broken.yaml}"], "broken.yaml: not valid YAML at line 2; write one `option: value` per line"),
    (["--config", "{broken.yaml}", "--dry-run"], "broken.yaml: not valid YAML at line 2"),
    (["--config", "{list.yaml}"], "list.yaml: not a YAML mapping of options (it holds a list)"),
    (["--config", "{text.txt}", "--dry-run"], "text.txt: not a YAML mapping of options (it holds a str)"),
    (["--config", "{binary.yaml}"], "binary.yaml: cannot be read as a text file (UnicodeDecodeError)"),
    (["--config", "{unknown.yaml}", "--dry-run"], "unknown.yaml: unknown option(s) learning_rat"),
    (["--config", "smoke-cpu-smollm2", "--accelerate_config", "{list.yaml}"],
     "--accelerate_config {list.yaml}: not a YAML mapping"),
    (["--config", "smoke-cpu-smollm2", "--dry-run", "--", "--no_such_option", "1"],
     "unknown argument(s) --no_such_option 1"),
]


@pytest.mark.parametrize(("argv", "needle"), BAD_ARGUMENTS)
def test_bad_arguments_are_one_line_and_exit_2(argv: list[str], needle: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from emplifai.cli import main

    files = _bad_files(tmp_path)

    def fill(text: str) -> str:
        for name, path in files.items():
            text = text.replace("{" + name + "}", str(path))
        return text

    argv = [fill(a) for a in argv]
    assert main(["train", *argv]) == 2  # nothing launched: every case fails before accelerate starts
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert fill(needle) in lines[0], lines[0]
    assert "accelerate.commands.launch" not in captured.err + captured.out


def test_dry_run_prints_and_launches_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    args = _parse(["--config", "smoke-cpu-smollm2", "--accelerate_config", "cpu", "--dry_run"])  # old spelling
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("SFT plan (no weights loaded)") and "accelerate.commands.launch" in out


def test_card_subcommand_and_missing_config_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="--config is required"):
        _cmd(["--dry-run"])
    with pytest.raises(UserError, match="emplifai_sft.json"):
        _cmd(["card", str(tmp_path)])


def _cmd(argv: list[str]) -> int:
    args = _parse(argv)
    return args.func(args)
