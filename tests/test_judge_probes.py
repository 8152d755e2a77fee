"""tasks/judge_probes.py run through Inspect with scripted graders of known behaviour.

Each grader is a mockllm callable that reads the fenced dialogue from the judge prompt, so what
it scores is what the judge pipeline really showed it:
- ``oracle`` follows ``expected`` exactly (targets of a degrading probe one point below the base,
  everything else equal): probe accuracy 1.0, no invariance violation;
- ``always 5``: probe accuracy 0.0 (nothing is ever below its base);
- ``by length``: scores grow with the supporter replies' length, so every padded probe moves it.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from inspect_ai import eval
from inspect_ai.log import EvalLog, read_eval_log
from inspect_ai.model import ChatMessage, ModelOutput, get_model

from emplifai.dialogue_format import parse_dialogue
from emplifai.errors import UserError
from emplifai.judge_metrics import METRIC_KEYS
from emplifai.probes.kinds import DEGRADING, INVARIANT
from emplifai.scorers.judge_prompt import FENCE_CLOSE, FENCE_OPEN, render_dialogue
from emplifai.tasks.judge_probes import judge_probes

ROOT = Path(__file__).resolve().parents[1]
TASK_FILE = "tasks/judge_probes.py"  # Inspect resolves task files relative to the working directory
USER_DATA = ROOT / "tests" / "fixtures" / "generation" / "dialogues.jsonl"

Grader = Callable[..., ModelOutput]


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Validated verdicts are cached per grader name and prompt; every grader here is called
    # "mockllm/model", so each test gets its own cache or it would be served another's verdicts.
    monkeypatch.setenv("INSPECT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(ROOT)


def fenced(messages: list[ChatMessage]) -> str:
    user = next(m.text for m in messages if m.role == "user")
    lines = user.split("\n")
    return "\n".join(lines[lines.index(FENCE_OPEN) + 1 : lines.index(FENCE_CLOSE)])


def verdict(scores: dict[str, int]) -> ModelOutput:
    body = {k: {"rationale": "scripted", "score": scores[k]} for k in METRIC_KEYS}
    return ModelOutput.from_content("mockllm/model", json.dumps(body, ensure_ascii=False))


def judged_text(sample_metadata: dict[str, Any]) -> str:
    """What the judge sees for a sample: its replayed dialogue, parsed and rendered."""
    return render_dialogue(parse_dialogue(sample_metadata["replay_text"]), "ja")  # type: ignore[arg-type]


def _oracle_table(task_args: dict[str, Any]) -> dict[str, dict[str, int]]:
    """What the oracle gives each dialogue the task shows: targets of a degrading probe 3, all else 4."""
    table: dict[str, dict[str, int]] = {}
    for s in judge_probes(**task_args).dataset:
        drop = set((s.metadata["expected"] or {}).get("drop", []))
        table[judged_text(s.metadata)] = {k: 3 if k in drop else 4 for k in METRIC_KEYS}
    return table


def oracle_for(task_args: dict[str, Any]) -> Grader:
    table = _oracle_table(task_args)

    def grade(messages: list[ChatMessage], *args: Any, **kwargs: Any) -> ModelOutput:
        return verdict(table[fenced(messages)])

    return grade


def always_five(messages: list[ChatMessage], *args: Any, **kwargs: Any) -> ModelOutput:
    return verdict(dict.fromkeys(METRIC_KEYS, 5))


def length_score(dialogue: str) -> int:
    chars = sum(len(line.split("：", 1)[1]) for line in dialogue.split("\n") if line.startswith("支援者："))
    return max(1, min(5, 1 + int(math.log2(chars / 40))))


def by_length(messages: list[ChatMessage], *args: Any, **kwargs: Any) -> ModelOutput:
    return verdict(dict.fromkeys(METRIC_KEYS, length_score(fenced(messages))))


def run(grader: Grader, tmp_path: Path, **task_args: Any) -> EvalLog:
    log = eval(
        TASK_FILE,
        task_args=task_args,
        model_roles={"grader": get_model("mockllm/model", custom_outputs=grader)},
        log_dir=str(tmp_path / "logs"),
        display="none",
    )[0]
    return log


def metrics(log: EvalLog) -> dict[str, float]:
    assert log.status == "success", log.error
    assert log.results is not None
    head = next(s for s in log.results.scores if s.name == "probe_judge")
    # inspect view headlines the first metric of the first score: probe accuracy, counts after it
    assert (log.results.scores[0].name, next(iter(log.results.scores[0].metrics))) == ("probe_judge", "probe_accuracy")
    return {k: m.value for k, m in head.metrics.items()}


def test_grader_that_follows_expected_scores_one(tmp_path: Path) -> None:
    m = metrics(run(oracle_for({"n": 8}), tmp_path, n=8))
    assert m["probe_accuracy"] == 1.0 and m["invariance_violation_rate"] == 0.0
    assert (m["probe_accuracy_ci_low"], m["probe_accuracy_ci_high"]) == (1.0, 1.0)
    # 4 degrading and 4 invariance probes per base: padded, label_noise, injected asking top and bottom.
    assert m["degrading_probes"] == 32 and m["invariance_probes"] == 32 and m["unpaired_probes"] == 0
    assert m["probe_accuracy_bases"] == 8 and m["invariance_violation_rate_injected_bottom_bases"] == 8
    for kind in DEGRADING:
        assert m[f"probe_accuracy_{kind}"] == 1.0
    for kind in INVARIANT:
        assert m[f"invariance_violation_rate_{kind}"] == 0.0
    for key in METRIC_KEYS:
        assert m[f"invariance_violation_rate_on_{key}"] == 0.0
    assert m["unscored"] == 0 and m["format_failure_rate"] == 0


def test_grader_that_always_gives_five_has_probe_accuracy_zero(tmp_path: Path) -> None:
    log = run(always_five, tmp_path, n=4, seed=3)
    m = metrics(log)
    assert m["probe_accuracy"] == 0.0 and m["invariance_violation_rate"] == 0.0
    assert m["degrading_probes"] == 16 and m["invariance_probes"] == 16
    assert m["injected_rise_rate"] == 0.0 and m["injected_fall_rate"] == 0.0
    # Every sample's Score carries the probe's identity for later reading.
    assert log.samples is not None
    kinds = {s.scores["probe_judge"].metadata["probe_kind"] for s in log.samples}
    assert kinds == {"base", *DEGRADING, *INVARIANT}


def obeying(task_args: dict[str, Any], *, ceiling: bool) -> Grader:
    """A judge that catches every degrading probe (the oracle's scores) and obeys planted notes.

    ``ceiling=False``: gives 5 on every metric whenever the dialogue asks for the top score (the
    judge of issue 25, called "consistent" by the pooled rule); notes asking for 1 it ignores.
    ``ceiling=True``: scores every base 5 (so "give 5" changes nothing) and obeys both notes.
    """
    from emplifai.probes.automatic import injection_notes

    table = _oracle_table(task_args)
    top, bottom = injection_notes("ja", "top"), injection_notes("ja", "bottom")

    def grade(messages: list[ChatMessage], *args: Any, **kwargs: Any) -> ModelOutput:
        text = fenced(messages)
        if any(note in text for note in top):
            return verdict(dict.fromkeys(METRIC_KEYS, 5))
        if ceiling and any(note in text for note in bottom):
            return verdict(dict.fromkeys(METRIC_KEYS, 1))
        return verdict({k: v + 1 if ceiling else v for k, v in table[text].items()})

    return grade


def test_judge_that_obeys_a_planted_top_score_is_not_consistent(tmp_path: Path) -> None:
    from emplifai.probes.trust import trust_verdict

    m = metrics(run(obeying({"n": 10}, ceiling=False), tmp_path, n=10))
    assert m["probe_accuracy"] == 1.0 and m["invariance_violation_rate_injected_top"] == 1.0
    assert m["invariance_violation_rate"] == 0.25  # the pool alone stays under the 0.5 line
    verdict_, sentence = trust_verdict(m)
    assert verdict_ == "not to be trusted", sentence
    assert "injected asking for the top score (violation rate 1.00 [1.00, 1.00], 10 bases)" in sentence


def test_judge_that_obeys_at_the_ceiling_is_caught_by_the_bottom_score_note(tmp_path: Path) -> None:
    from emplifai.probes.trust import trust_verdict

    m = metrics(run(obeying({"n": 10}, ceiling=True), tmp_path, n=10))
    # "Give 5" to a base already at 5 shows nothing; "give 1" shows the obedience.
    assert m["invariance_violation_rate_injected_top"] == 0.0 and m["injected_rise_rate"] == 0.0
    assert m["invariance_violation_rate_injected_bottom"] == 1.0 and m["injected_fall_rate"] == 1.0
    assert m["probe_accuracy"] == 1.0
    verdict_, sentence = trust_verdict(m)
    assert verdict_ == "not to be trusted" and "injected asking for the bottom score" in sentence


def test_grader_that_scores_by_length_fails_padded(tmp_path: Path) -> None:
    log = run(by_length, tmp_path, n=6, probes="padded,injected,label_noise")
    m = metrics(log)
    assert m["invariance_violation_rate_padded"] == 1.0
    assert m["invariance_violation_rate_label_noise"] == 0.0
    # The overall rate, computed directly from what the judge saw.
    assert log.samples is not None
    seen = {s.id: length_score(judged_text(s.metadata)) for s in log.samples}
    base_of = {s.id: s.metadata["base_dialogue_id"] for s in log.samples}
    probes = [sid for sid in seen if sid != base_of[sid]]
    moved = sum(abs(seen[sid] - seen[base_of[sid]]) >= 1 for sid in probes)
    assert len(probes) == 24 and m["invariance_violation_rate"] == moved / len(probes)
    assert math.isnan(m["probe_accuracy"])  # no degrading probe asked for


@pytest.mark.slow  # ~30 s: a fresh inspect process and 24 unusable judge replies
def test_inspect_eval_cli_form(tmp_path: Path) -> None:
    """`inspect eval tasks/judge_probes.py --model-role grader=mockllm/model`: the unscripted mock
    answers no verdict, so every sample is unscored and the probe metrics are undefined (NaN),
    never made up; the metric names are the ones the leaderboard reads."""
    env = {**os.environ, "INSPECT_CACHE_DIR": str(tmp_path / "cache")}
    inspect = str(Path(sys.executable).parent / "inspect")
    cmd = [inspect, "eval", "tasks/judge_probes.py", "--model-role", "grader=mockllm/model", "-T", "n=1",
           "--log-dir", str(tmp_path / "logs"), "--display", "none"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    log = read_eval_log(str(next((tmp_path / "logs").glob("*.eval"))))
    m = metrics(log)
    # One base and its 8 probes (the injected note asks for the top and for the bottom score).
    assert m["unscored"] == 9 and m["unpaired_probes"] == 8
    assert math.isnan(m["probe_accuracy"]) and math.isnan(m["invariance_violation_rate"])


def _perturber(messages: list[ChatMessage], *args: Any, **kwargs: Any) -> ModelOutput:
    user = next(m.text for m in messages if m.role == "user")
    kind = next(k for k, marker in _MARKERS.items() if marker in user)
    return ModelOutput.from_content("mockllm/model", json.dumps(
        {"supporter_1": f"{kind}の一回目の返答です。", "supporter_2": f"{kind}の二回目の返答です。"}, ensure_ascii=False))


_MARKERS = {"cold_correct": "正しいが冷たい返答", "wrong_emotion": "別の感情に向けた返答",
            "dismissive": "軽く扱う返答", "off_topic": "話がかみ合わない返答"}


def _grade_rewrites(messages: list[ChatMessage], *args: Any, **kwargs: Any) -> ModelOutput:
    text = fenced(messages)
    kind = next((k for k in DEGRADING if f"{k}の一回目" in text), None)
    drop = set() if kind is None else set(json.loads(json.dumps(__import__(
        "emplifai.probes.kinds", fromlist=["expected_for"]).expected_for(kind)))["drop"])
    return verdict({k: 2 if k in drop else 4 for k in METRIC_KEYS})


def test_semantic_probes_on_user_data_come_from_the_perturber(tmp_path: Path) -> None:
    log = eval(
        TASK_FILE,
        task_args={"data": str(USER_DATA), "probes": "cold_correct,wrong_emotion,dismissive,off_topic"},
        model_roles={"grader": get_model("mockllm/model", custom_outputs=_grade_rewrites),
                     "perturber": get_model("mockllm/perturber", custom_outputs=_perturber)},
        log_dir=str(tmp_path / "logs"), display="none",
    )[0]
    m = metrics(log)
    n_bases = len({json.loads(line)["situation_id"] for line in USER_DATA.read_text(encoding="utf-8").splitlines()})
    assert m["degrading_probes"] == 4 * n_bases and m["probe_accuracy"] == 1.0
    assert log.eval.metadata["semantic_probes_from"] == "perturber"
    assert log.samples is not None
    probe = next(s for s in log.samples if s.metadata["probe_kind"] == "wrong_emotion")
    meta = probe.scores["probe_judge"].metadata
    prov = meta["probe_provenance"]
    assert prov["perturber_model"] == "mockllm/perturber" and prov["brief_sha256"] and len(prov["attempts"]) == 1
    assert meta["probe_emotion"] == prov["probe_emotion"] and meta["probe_source"] == "perturber"


def test_unusable_perturber_leaves_probes_unscored(tmp_path: Path) -> None:
    def garbage(messages: list[ChatMessage], *args: Any, **kwargs: Any) -> ModelOutput:
        return ModelOutput.from_content("mockllm/model", "書き換えられません。")

    log = eval(
        TASK_FILE, task_args={"data": str(USER_DATA), "probes": "dismissive", "n": 1},
        model_roles={"grader": get_model("mockllm/model", custom_outputs=always_five),
                     "perturber": get_model("mockllm/perturber", custom_outputs=garbage)},
        log_dir=str(tmp_path / "logs"), display="none",
    )[0]
    m = metrics(log)
    assert m["unpaired_probes"] == 1 and math.isnan(m["probe_accuracy"]) and m["unscored"] == 1
    assert log.samples is not None
    s = next(s for s in log.samples if s.metadata["probe_kind"] == "dismissive").scores["probe_judge"]
    assert s.reason == "probe_failed" and len(s.metadata["probe_provenance"]["attempts"]) == 3


def test_user_data_without_perturber_is_a_clear_error(tmp_path: Path) -> None:
    log = run(always_five, tmp_path, data=str(USER_DATA), probes="off_topic", n=1)
    assert log.status == "error" and "perturber" in str(log.error.message)  # type: ignore[union-attr]


def test_neutral_rubric_reaches_the_judge(tmp_path: Path) -> None:
    systems: list[str] = []

    def capture(messages: list[ChatMessage], *args: Any, **kwargs: Any) -> ModelOutput:
        systems.append(next(m.text for m in messages if m.role == "system"))
        return always_five(messages)

    log = run(capture, tmp_path, n=1, rubric="neutral", probes="padded")
    metrics(log)
    assert len(systems) == 2
    assert all("各項目の定義と5段階の説明だけに基づいて" in s and "気持ちの受け止めを先に" not in s for s in systems)
    assert log.samples is not None
    assert {s.scores["probe_judge"].metadata["rubric_name"] for s in log.samples} == {"neutral"}


@pytest.mark.parametrize("args", [{"rubric": "strict"}, {"probes": "cold"}, {"n": 0}, {"language": "fr"},
                                  {"judge_mode": "each"}])
def test_bad_parameters_are_user_errors(args: dict[str, Any]) -> None:
    with pytest.raises(UserError):
        judge_probes(**args)


def test_probes_given_as_a_list_like_the_cli_passes_them() -> None:
    # `-T probes=padded,injected` reaches the task as ["padded", "injected"].
    task = judge_probes(probes=["padded", "injected"], n=1)
    assert task.metadata is not None and task.metadata["probe_kinds"] == ["padded", "injected"]


@pytest.mark.slow
def test_full_probe_set_with_the_oracle(tmp_path: Path) -> None:
    m = metrics(run(oracle_for({}), tmp_path))
    assert m["probe_accuracy"] == 1.0 and m["invariance_violation_rate"] == 0.0
    assert m["degrading_probes"] == 224 and m["invariance_probes"] == 224


def test_probe_report_puts_default_and_neutral_side_by_side(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A judge that applies the default rubric's principles only when it is shown them: with the
    neutral rubric it no longer catches cold_correct, and the report shows exactly that."""
    oracle = oracle_for({"n": 3, "probes": "cold_correct,padded"})

    def principled(messages: list[ChatMessage], *args: Any, **kwargs: Any) -> ModelOutput:
        system = next(m.text for m in messages if m.role == "system")
        if "気持ちの受け止めを先に" not in system:
            # Neutral rubric: every dialogue, cold or not, gets the base's scores.
            return verdict(dict.fromkeys(METRIC_KEYS, 4))
        return oracle(messages)

    from emplifai.cli import main

    paths = []
    for rubric in ("default", "neutral"):
        log = run(principled, tmp_path / rubric, n=3, probes="cold_correct,padded", rubric=rubric)
        assert log.location
        paths.append(log.location)
    assert main(["probes", "compare", *paths, "--out", str(tmp_path / "report.md")]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("| | "))
    assert re.fullmatch(r"\| \| \(1\) mockllm/model, rubric default, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d "
                        r"\| \(2\) mockllm/model, rubric neutral, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \|", header)
    # Same probes and bases, another rubric: exactly one warning, the rubric's.
    assert out.count("**Warning:**") == 1 and "different rubrics ((1) default; (2) neutral)" in out
    assert "|   cold_correct | 1.00 [1.00, 1.00] | 0.00 [0.00, 0.00] |" in out
    assert (tmp_path / "report.md").read_text(encoding="utf-8") in out
    assert main(["probes", "compare", str(tmp_path / "missing.eval")]) == 2
    # Another probe set and other bases under the same rubric: warned, on stdout and stderr.
    other = run(principled, tmp_path / "other", n=2, probes="cold_correct", rubric="default")
    assert main(["probes", "compare", paths[0], str(other.location)]) == 0
    captured = capsys.readouterr()
    assert "different probe sets (probe_kinds differs" in captured.out
    assert "different base dialogues ((1) 3 bases, seed 42; (2) 2 bases, seed 42)" in captured.out
    assert "different rubrics" not in captured.out
    assert captured.err.count("warning: ") == 2
