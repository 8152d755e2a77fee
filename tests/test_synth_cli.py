"""`emplifai synth` on the command line: the estimate, the confirmation for paid APIs, a local run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emplifai.cli import main
from emplifai.synth.cost import estimate, is_local


def test_estimate_only_prints_calls_and_tokens(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc = main(["synth", "--emotions", "joy,fear", "--per-emotion", "2", "--generator", "openai/gpt-4o",
               "--judge", "google/gemini-2.5-flash", "--out", str(tmp_path / "o"), "--estimate-only",
               "--price-in", "1", "--price-out", "2"])
    out = capsys.readouterr().out
    assert rc == 0 and "Cost estimate" in out and "google/gemini-2.5-flash" in out and "per million" in out
    assert not (tmp_path / "o").exists()
    costs = {c.stage: c for c in estimate(["joy", "fear"], 2, 3, 42)}
    assert costs["1 brainstorm"].calls == 4 and costs["3 dialogue"].calls == 12 and costs["3 judge"].calls == 12
    assert estimate(["joy"], 1, 1, 42, judge_mode="per_metric")[3].calls == 7


def test_paid_api_needs_yes(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # no key needed to see the estimate and the question
    rc = main(["synth", "--emotions", "joy", "--per-emotion", "1", "--generator", "openai/gpt-4o",
               "--judge", "gguf/smollm2-135m", "--out", str(tmp_path / "o")])
    captured = capsys.readouterr()
    assert rc == 3 and "Cost estimate" in captured.out and "--yes" in captured.err
    assert not (tmp_path / "o").exists()
    assert is_local("gguf/smollm2-135m") and is_local("vllm/x") and not is_local("anthropic/claude")


def test_local_run_accounts_for_every_item(tmp_path: Path) -> None:
    # mockllm's default reply is English prose: every scene fails stage 1, nothing is kept.
    out = tmp_path / "o"
    rc = main(["synth", "--emotions", "joy,恐れ", "--per-emotion", "1", "--generator", "mockllm/model",
               "--judge", "mockllm/model", "--out", str(out), "--display", "none", "--no-cache"])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["config"]["emotions"] == ["joy", "fear"] and summary["accounting"]["ok"] is True
    assert summary["per_emotion"]["fear"]["situations_dropped"]["draft_format"] == 1
    assert (out / "synthetic.jsonl").read_text(encoding="utf-8") == "" and summary["kept"] == 0
    assert "empty" in summary["validation"]


@pytest.mark.parametrize("args", [["--emotions", "warmth"], ["--per-emotion", "0"], ["--thresholds", "harmlessness=9"]])
def test_bad_arguments_are_one_line_errors(args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["synth", "--generator", "mockllm/model", "--judge", "mockllm/model", "--out", str(tmp_path), *args])
    assert rc == 2 and capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize("args", [
    ["--generator", "nosuch/x", "--judge", "mockllm/model", "--yes"],
    ["--generator", "mockllm/model", "--judge", "nosuch/x"],
    ["--generator", "anthropic/claude-x", "--judge", "mockllm/model", "--yes"],
    ["--generator", "gpt-4o", "--judge", "mockllm/model", "--yes"],
    ["--judge", "mockllm/model"],
    ["--generator", "mockllm/model"],
])
def test_model_mistakes_are_one_line_and_create_nothing(args: list[str], tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o"
    rc = main(["synth", "--emotions", "joy", "--per-emotion", "1", "--out", str(out), "--display", "none", *args])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and err.startswith("error: "), err
    assert not out.exists()
