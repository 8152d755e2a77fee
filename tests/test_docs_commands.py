"""Every `inspect ...` / `emplifai ...` command in README.md and docs/*.md runs, offline, as the doc
shows it (models swapped for mockllm/model, runs bounded: see tests/docs_commands.py).

Commands of one doc run in order in one working folder, so a later command (a leaderboard, an
`inspect score` of `<log>`) sees what the earlier ones wrote. The terminal summary lists how many
commands ran and which were skipped, with the doc's reason.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.docs_commands import ROOT, DocCommand, collect, link_repository, transform

COMMANDS = collect()
BIN = Path(sys.executable).parent
TIMEOUT_S = 600
SERVER_COMMANDS = (("inspect", "view"),)
_workdirs: dict[str, Path] = {}
RESULTS: dict[str, list[str]] = {"ran": [], "skipped": []}


def _params() -> list:
    params = []
    for cmd in COMMANDS:
        marks = [pytest.mark.slow] if cmd.slow or _is_slow(cmd) else []
        params.append(pytest.param(cmd, id=cmd.id, marks=marks))
    return params


def _is_slow(cmd: DocCommand) -> bool:
    # The demo and a real (CPU) training run take minutes; gguf/ models are marked while parsing.
    words = cmd.text.split()
    return words[:2] == ["emplifai", "demo"] or ("gguf/" in cmd.text) or (
        words[:2] == ["emplifai", "train"] and "--dry-run" not in words and "card" not in words[:3]
    )


def _workdir(doc: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if doc not in _workdirs:
        wd = tmp_path_factory.mktemp("docs-" + doc.replace("/", "-").replace(".md", ""))
        link_repository(wd)
        _workdirs[doc] = wd
    return _workdirs[doc]


def _env(workdir: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PWD": str(workdir),  # tasks resolve relative -T paths against the shell's folder
        "INSPECT_LOG_DIR": str(workdir / "logs"),
        "NO_COLOR": "1",
        "COLUMNS": "160",
    }
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.mark.parametrize("cmd", _params())
def test_documented_command_runs(cmd: DocCommand, tmp_path_factory: pytest.TempPathFactory) -> None:
    if cmd.skip:
        RESULTS["skipped"].append(f"{cmd.id} ({cmd.skip}): {cmd.text[:90]}")
        pytest.skip(f"{cmd.id}: {cmd.skip}")
    workdir = _workdir(cmd.doc, tmp_path_factory)
    argv = transform(cmd, workdir)
    if tuple(argv[:2]) in SERVER_COMMANDS:
        _check_server_starts(argv, workdir)
    else:
        proc = subprocess.run(
            argv, cwd=workdir, env=_env(workdir), capture_output=True, text=True, timeout=TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
        out = (proc.stdout + proc.stderr)[-4000:]
        assert proc.returncode == cmd.exit_code, (
            f"{cmd.id}: `{cmd.text}` ran as `{' '.join(argv)}` and exited {proc.returncode} "
            f"(the doc expects {cmd.exit_code}):\n{out}"
        )
        if cmd.exit_code == 0 and argv[:2] == ["inspect", "eval"]:
            assert "Traceback" not in out and "error" not in out.lower().split("log:")[0][-300:], out
    RESULTS["ran"].append(cmd.id)


def _check_server_starts(argv: list[str], workdir: Path) -> None:
    """`inspect view` serves until stopped: it must come up and answer, then it is stopped."""
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [*argv, "--port", str(port)], cwd=workdir, env=_env(workdir), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as resp:
                    assert resp.status == 200
                    return
            except OSError:
                assert proc.poll() is None, f"{' '.join(argv)} exited {proc.returncode}"
                time.sleep(0.5)
        raise AssertionError(f"{' '.join(argv)} did not answer on port {port} in 60 s")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_docs_hold_commands_and_every_skip_has_a_reason() -> None:
    assert len(COMMANDS) >= 10, [c.id for c in COMMANDS]
    for cmd in COMMANDS:
        assert cmd.skip is None or cmd.skip.strip(), cmd.id
    docs = {c.doc for c in COMMANDS}
    assert "README.md" in docs


def test_collector_and_transform_on_a_doc_of_our_own(tmp_path: Path) -> None:
    doc = tmp_path / "x.md"
    doc.write_text(
        "text\n```bash\n$ inspect eval tasks/generation.py --model openai/gpt-4o \\\n"
        "    --model-role 'grader={model: google/gemini-2.5-flash, max_tokens: 400}' -M reasoning=high "
        "-T data=copy.parquet   # comment\n"
        "echo not a command\nemplifai data validate mine.csv --map emotion=label\n```\n"
        "<!-- docs-test: skip (needs 8 GPUs) -->\n```\nemplifai train --config x\n```\n"
        "<!-- docs-test: exit=1 -->\n```\nemplifai data validate bad.jsonl\n```\n",
        encoding="utf-8",
    )
    cmds = collect([doc])
    assert [c.line for c in cmds] == [3, 6, 10, 14]
    first = transform(cmds[0], tmp_path)
    assert first == [
        "inspect", "eval", "tasks/generation.py", "--model", "mockllm/model", "--model-role",
        "grader=mockllm/model", "-T", "data=copy.parquet", "--limit", "2",
    ]
    assert (tmp_path / "copy.parquet").exists()
    transform(cmds[1], tmp_path)
    assert (tmp_path / "mine.csv").read_text(encoding="utf-8").startswith("dialogue_id,situation_id,label,")
    assert cmds[2].skip == "needs 8 GPUs" and cmds[3].exit_code == 1


def pytest_terminal_summary_lines() -> list[str]:
    lines = [f"docs commands: {len(RESULTS['ran'])} ran, {len(RESULTS['skipped'])} skipped as marked in the docs"]
    lines += [f"  skipped {s}" for s in RESULTS["skipped"]]
    return lines


assert ROOT.is_dir()
