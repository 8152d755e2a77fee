"""Every bad argument of the commands and task parameters this test owns is one line naming the
flag or file, exit 2 (the CLI) or a ``UserError`` (a task), never a traceback (issue 20, deliver 3).

Owned here: ``emplifai demo``, ``emplifai data validate|stats``, and every parameter of the
emotion, generation and judge_probes tasks (walked from their signatures, so a new parameter is
walked too). Other commands are walked by their own tests.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

from emplifai.cli import EXIT_USER_ERROR, main
from emplifai.errors import UserError
from emplifai.tasks.emotion import emotion
from emplifai.tasks.generation import generation
from emplifai.tasks.judge_probes import judge_probes

DATA = Path(__file__).parent / "fixtures" / "generation" / "dialogues.jsonl"


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own refusals: usage line + error line, exit 2
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.err


def _bad_files(tmp: Path) -> dict[str, Path]:
    big = tmp / "big.csv"
    big.write_text("dialogue_id,situation\nd1," + "x" * 140_000 + "\n", encoding="utf-8")
    sheet = tmp / "data.xlsx"
    sheet.write_bytes(b"PK\x03\x04")
    folder = tmp / "folder"
    folder.mkdir()
    broken_parquet = tmp / "broken.parquet"
    broken_parquet.write_bytes(b"PAR1 not really")
    return {"big": big, "sheet": sheet, "folder": folder, "parquet": broken_parquet}


CLI_CASES: list[tuple[list[str], str]] = [
    (["demo", "--generation-n", "-1"], "--generation-n"),
    (["demo", "--generation-n", "0"], "--generation-n"),
    (["demo", "--probe-n", "-2"], "--probe-n"),
    (["demo", "--emotion-limit", "-1"], "--emotion-limit"),
    (["demo", "--model", "smollm2"], "--model"),
    (["demo", "--generation-n", "two"], "--generation-n"),
    (["data", "validate", "{tmp}/absent.jsonl"], "absent.jsonl"),
    (["data", "stats", "{tmp}/absent.csv"], "absent.csv"),
    (["data", "validate", "{big}"], "big.csv"),
    (["data", "stats", "{big}"], "big.csv"),
    (["data", "validate", "{sheet}"], "data.xlsx"),
    (["data", "validate", "{folder}"], "folder"),
    (["data", "validate", "{parquet}"], "broken.parquet"),
    (["data", "validate", str(DATA), "--encoding", "klingon"], "klingon"),
    (["data", "validate", str(DATA), "--map", "emotion"], "emotion"),
    (["data", "validate", str(DATA), "--map", "nosuch=col"], "nosuch"),
    (["data", "validate", str(DATA), "--hf-split", "train"], "hf_split"),
    (["data", "stats", str(DATA), "--map", "emotion=label"], "label"),
]


@pytest.mark.parametrize(("argv", "named"), CLI_CASES)
def test_cli_bad_arguments_are_one_line_exit_2(argv: list[str], named: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    files = {k: str(v) for k, v in _bad_files(tmp_path).items()}
    argv = [a.format(tmp=tmp_path, **files) for a in argv]
    code, err = _cli(argv, capsys)
    assert code == EXIT_USER_ERROR, (argv, err)
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and named in errors[0], err
    assert len(err.splitlines()) == 1 or err.startswith("usage:"), err  # else only argparse's usage


# --- task parameters --------------------------------------------------------------------------------

TASKS = {"emotion": emotion, "generation": generation, "judge_probes": judge_probes}
# Values a user could type with -T that are wrong for most parameters (YAML gives these types).
BAD_VALUES: list[Any] = [-5, 0, 1.5, "", "   ", "not-a-valid-choice", [1, 2], {"a": 1}, True, None]
# Parameters that accept any of a BAD_VALUE on purpose, and why.
ACCEPTS = {
    "seed": {-5, 0},  # any integer is a seed
    "fewshot": {0},  # no examples
    "judge_retries": {0},  # no retries
    "probes": {"not-a-valid-choice"},  # refused below, naming the probe kind
    "structured": {True},  # YAML's `on`
    "bertscore": {True, 0},  # true/false, 1/0 are booleans
}
# Set beside the walked parameter so a task can be built offline (BERTScore needs a model file).
BASE_ARGS: dict[str, dict[str, Any]] = {"emotion": {"bertscore": False}}
# ... except where the walked parameter only matters with it on.
PARAM_ARGS: dict[str, dict[str, Any]] = {"bertscore_model": {"bertscore": True}}


def _walk(task_name: str) -> list[tuple[str, Any]]:
    params = inspect.signature(TASKS[task_name]).parameters
    return [(name, value) for name in params for value in BAD_VALUES]


@pytest.mark.parametrize("task_name", list(TASKS))
def test_every_task_parameter_refuses_bad_values_in_one_line(task_name: str) -> None:
    refused_somewhere: set[str] = set()
    for name, value in _walk(task_name):
        args = {**BASE_ARGS.get(task_name, {}), **PARAM_ARGS.get(name, {}), name: value}
        if name != "data":
            args["data"] = str(DATA)
        try:
            TASKS[task_name](**args)
        except UserError as e:
            message = str(e)
            assert "\n" not in message or message.startswith(str(DATA)), (name, value, message)
            assert f"-T {name}" in message or repr(value) in message or str(value) in message, (name, value, message)
            refused_somewhere.add(name)
        except Exception as e:  # anything else is a traceback for a user's mistake
            pytest.fail(f"{task_name}: -T {name}={value!r} raised {type(e).__name__}: {e}")
        else:
            assert value in ACCEPTS.get(name, set()) or _harmless(name, value), (task_name, name, value)
    assert refused_somewhere == set(inspect.signature(TASKS[task_name]).parameters)


def _harmless(name: str, value: Any) -> bool:
    """A value that is a legitimate setting of an optional parameter (None = the default)."""
    return value is None and name not in ("data",)
