"""Known-answer probes judged pairwise (tasks/pairwise_probes.py, scorers/pairwise_probe_metrics.py)
with scripted judges: one that sees what a human sees (the base beats a degrading probe, an
invariance probe ties) and one that always answers "A"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from inspect_ai import eval
from inspect_ai.log import EvalLog

from emplifai.data.loaders import load_dialogues
from emplifai.probes.trust import trust_verdict
from emplifai.scorers.pairwise_judge import BASELINE_DIALOGUE
from emplifai.tasks.pairwise_probes import pairwise_probes
from tests.pairwise_script import Judge, fenced, position_biased, verdict

KINDS = "cold_correct,padded,injected"
N_BASES = 10  # the trust rule's minimum of pairs per family (emplifai/probes/trust.py)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSPECT_CACHE_DIR", str(tmp_path / "cache"))


def sighted() -> Judge:
    """Prefers the dialogue that still has a human supporter reply of the data when only one
    has (the base against a rewrite); a tie when both have it (an invariance probe keeps it)."""
    replies = {r.supporter_1 for r in load_dialogues(None)}

    def answer(messages: list[Any]) -> str:
        has = {label: any(reply in fenced(messages, label) for reply in replies) for label in ("A", "B")}
        assert any(has.values()), "neither dialogue holds a human reply"
        return verdict("tie" if all(has.values()) else ("A" if has["A"] else "B"))

    return Judge(answer)


def run(judge: Judge, tmp_path: Path) -> EvalLog:
    (log,) = eval(pairwise_probes(probes=KINDS, n=N_BASES), model="none/none",
                  model_roles={"grader": judge.model()}, display="none", log_dir=str(tmp_path / "logs"))
    assert log.status == "success", log.error
    return log


def probe_figures(log: EvalLog) -> dict[str, float]:
    assert log.results is not None
    score = next(s for s in log.results.scores if s.name == "pairwise_judge")
    return {m.name.removeprefix("emplifai/"): m.value for m in score.metrics.values()}


def test_samples_pair_each_probe_with_its_base() -> None:
    task = pairwise_probes(probes=KINDS, n=N_BASES)
    samples = list(task.dataset)
    # Per base: the cold rewrite, the padded copy, and the injected note asking for the top and
    # for the bottom score (two probes of kind "injected").
    assert len(samples) == N_BASES * 4
    assert {s.metadata["probe_kind"] for s in samples} == {"cold_correct", "padded", "injected"}
    for s in samples:
        assert s.metadata[BASELINE_DIALOGUE] and s.metadata[BASELINE_DIALOGUE] != s.metadata["replay_text"]


def test_a_judge_that_sees_what_humans_see(tmp_path: Path) -> None:
    judge = sighted()
    figures = probe_figures(run(judge, tmp_path))
    assert len(judge.calls) == 2 * N_BASES * 4
    assert figures["probe_accuracy"] == 1.0 and figures["invariance_violation_rate"] == 0.0
    assert figures["degrading_probes"] == N_BASES and figures["invariance_probes"] == 3 * N_BASES
    assert figures["unpaired_probes"] == 0
    # The absolute probes' trust rule reads the pairwise figures as they are.
    assert trust_verdict(figures)[0] == "consistent"


def test_a_judge_always_answering_a_catches_nothing_and_violates_everything(tmp_path: Path) -> None:
    figures = probe_figures(run(position_biased(), tmp_path))
    # Order-dependent answers: the cold rewrite never loses in both orders, and the padded and
    # injected probes are never a tie in both orders.
    assert figures["probe_accuracy"] == 0.0 and figures["invariance_violation_rate"] == 1.0
    assert trust_verdict(figures)[0] == "not to be trusted"
