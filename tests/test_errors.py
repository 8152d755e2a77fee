"""User mistakes print one line: the one private Inspect import, the CLI, bench scripts, inspect eval."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from emplifai.deps import missing_modules, require_modules
from emplifai.errors import PrerequisiteError, UserError

ROOT = Path(__file__).resolve().parents[1]
INSPECT = str(Path(sys.executable).with_name("inspect"))


def test_user_error_is_inspects_prerequisite_error() -> None:
    """If Inspect moves or renames PrerequisiteError, this fails loudly (and so would the import)."""
    from inspect_ai.model import get_model

    # The public path that raises it: a required role that is not bound.
    with pytest.raises(Exception) as info:
        get_model(role="emplifai_test_role_that_is_not_bound", required=True)
    assert type(info.value) is PrerequisiteError
    assert issubclass(UserError, PrerequisiteError) and issubclass(UserError, ValueError)
    assert str(UserError("x y")) == "x y"


def test_require_modules_names_the_extra() -> None:
    assert missing_modules("json", "surely_no_such_module_here") == ["surely_no_such_module_here"]
    with pytest.raises(UserError, match=r"bench/x.py needs surely_no_such_module_here .*pip install 'emplifai\[serve\]'"):
        require_modules("json", "surely_no_such_module_here", extra="serve", purpose="bench/x.py")


def test_bench_script_missing_dependency_is_one_line() -> None:
    code = (
        "import sys, runpy; sys.modules['openai'] = None; sys.argv = ['bench/judge_throughput.py', '--help'];"
        " runpy.run_path('bench/judge_throughput.py', run_name='__main__')"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines == ["error: bench/judge_throughput.py needs openai (not installed): pip install 'emplifai[serve]'"]


def _inspect(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run([INSPECT, *args], cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.parametrize(
    "args,needle",
    [
        (["emplifai/emotion", "-T", "fewshot=abc"], "-T fewshot must be an integer >= 0, got 'abc'"),
        (["emplifai/emotion", "-T", "fewshot=1.5"], "-T fewshot must be an integer >= 0, got 1.5"),
        (["tasks/emotion.py", "-T", "seed=abc"], "-T seed must be an integer, got 'abc'"),
        (["tasks/generation.py", "-T", "data=no/such/file.jsonl"], "no/such/file.jsonl: no such file or folder"),
        (["emplifai/generation", "-T", "judge_mode=some"], "-T judge_mode must be one of all, per_metric"),
    ],
)
def test_inspect_eval_mistakes_print_one_short_message(args: list[str], needle: str, tmp_path: Path) -> None:
    proc = _inspect("eval", *args, "--model", "mockllm/model", "--log-dir", str(tmp_path))
    out = proc.stdout + proc.stderr
    assert needle in out
    assert "Traceback" not in out
    assert len([line for line in out.splitlines() if line.strip()]) < 15, out
