"""The audit's pairwise part (emplifai/audit/pairwise_audit.py): a pairwise judge against the
preference people's ratings of the two dialogues imply, and against an absolute judge on the same
pairs, on real logs written offline by scripted models.

Planted: 12 pairs (the candidate's dialogue vs the human reference). People rate the candidate
above the reference on pairs 0-7, below on 8-9, equal on 10-11 (every metric). The pairwise judge
agrees on all 12 pairs, except that it calls pair 9 a tie; the absolute judge gives both dialogues
3 everywhere (every pair a tie), so its kappa is 0 and the pairwise judge agrees more.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from inspect_ai import eval
from inspect_ai.model import ChatMessage, get_model

from emplifai.audit.analysis import clean, human_means, human_scores, run_audit
from emplifai.audit.logs import read_audit_logs
from emplifai.audit.pairwise_audit import pairwise_section
from emplifai.audit.ratings import read_ratings
from emplifai.audit.report import render_markdown
from emplifai.data.loaders import load_dialogues
from emplifai.judge_metrics import METRIC_KEYS
from emplifai.tasks.generation import generation
from emplifai.tasks.pairwise import pairwise
from tests.pairwise_script import CANDIDATE_PHRASE, Judge, candidate_label, dialogue, generation_log, rubric_grader

N = 12
HUMAN_WINS, HUMAN_LOSSES = range(0, 8), range(8, 10)  # the rest: equal ratings


def _situation_ids() -> list[str]:
    return [r.situation_id for r in load_dialogues(None)]


def _planted_judge(order: list[str]) -> Judge:
    situations = {r.situation: r.situation_id for r in load_dialogues(None)}

    def answer(messages: list[ChatMessage]) -> str:
        user = next(m.text for m in messages if m.role == "user")
        [sid] = {s for text, s in situations.items() if text in user}
        i = order.index(sid)
        cand = candidate_label(messages, CANDIDATE_PHRASE)
        pick = cand if i in HUMAN_WINS else "tie" if i >= 9 else ("B" if cand == "A" else "A")
        return json.dumps({k: {"rationale": f"{k}: 二つの返答の受け止め方を比べた", "preferred": pick}
                           for k in METRIC_KEYS}, ensure_ascii=False)

    return Judge(answer)


@pytest.fixture(scope="module")
def audit_logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("audit-pairwise")
    cand = generation_log(dialogue(CANDIDATE_PHRASE), root / "logs", n=N, name="mockllm/candidate")
    (ref,) = eval(generation(n=N, source="reference"), model="none/none",
                  model_roles={"grader": get_model("mockllm/rubric", custom_outputs=rubric_grader)},
                  display="none", log_dir=str(root / "logs"))
    order = [str(s.id) for s in ref.samples]
    (pw,) = eval(pairwise(n=N, candidate_log=cand.location), model="none/none",
                 model_roles={"grader": _planted_judge(order).model()}, display="none", log_dir=str(root / "pairwise"))
    assert pw.status == "success", pw.error
    rows = []
    for i, sid in enumerate(order):
        cand_score, ref_score = (4, 2) if i in HUMAN_WINS else (2, 4) if i in HUMAN_LOSSES else (3, 3)
        for rater in ("r1", "r2", "r3"):
            for metric in METRIC_KEYS:
                rows.append({"log": Path(cand.location).name, "sample_id": sid, "rater_id": rater,
                             "metric": metric, "score": cand_score})
                rows.append({"log": Path(ref.location).name, "sample_id": sid, "rater_id": rater,
                             "metric": metric, "score": ref_score})
    ratings = root / "ratings.csv"
    with ratings.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return {"logs": [cand.location, ref.location], "pairwise": pw.location, "ratings": str(ratings), "root": root}


def _section(paths: dict[str, Any], logs: list[str] | None = None, tie_margin: float = 0.0) -> dict[str, Any]:
    """The pairwise part alone (the whole audit takes ~15 s here: once, in the report test)."""
    read = read_audit_logs([*(logs or paths["logs"]), paths["pairwise"]])
    ratings = read_ratings([paths["ratings"]], read, min_items=1)
    return clean(pairwise_section(read, human_means(human_scores(ratings.frame)), tie_margin))


def test_pairwise_judge_against_people_and_against_the_absolute_judge(audit_logs: dict[str, Any]) -> None:
    pw = _section(audit_logs)
    [cover] = pw["coverage"]
    assert (cover["pairs"], cover["judged"], cover["used"]) == (N, N, N)
    rows = {r["metric"]: r for r in pw["rows"]}
    assert set(rows) == set(METRIC_KEYS)
    r = rows["general_empathy"]
    # 11 of 12 agree (pair 9: people prefer the reference, the judge says tie).
    assert r["n"] == N and r["agreement"] == pytest.approx(11 / 12)
    assert r["confusion"]["tie"]["loss"] == 1 and r["confusion"]["win"]["win"] == 8
    assert r["decisive_agreement"] == 1.0 and r["n_decisive"] == 9
    assert r["kappa"] > 0.8 and r["reading"] == "agrees beyond chance"
    [v] = [v for v in pw["versus_absolute"] if v["metric"] == "general_empathy"]
    assert v["absolute_judge"] == "mockllm/rubric"
    assert v["absolute"]["judge_tie_rate"] == 1.0 and v["absolute"]["kappa"] == 0.0
    assert v["difference"]["difference"] == pytest.approx(r["kappa"])
    assert v["difference"]["reading"] == "pairwise agrees more"


def test_tie_margin_and_the_report(audit_logs: dict[str, Any]) -> None:
    tied = _section(audit_logs, tie_margin=2.0)  # people's 4 vs 2 differ by exactly 2: every pair a tie
    r = next(r for r in tied["rows"] if r["metric"] == "fluency")
    assert r["human_tie_rate"] == 1.0 and r["tie_margin"] == 2.0
    logs = read_audit_logs([*audit_logs["logs"], audit_logs["pairwise"]])
    md = render_markdown(run_audit(logs, read_ratings([audit_logs["ratings"]], logs, min_items=1), min_items=1))
    assert "## Pairwise judge vs people's implied preference (tie margin 0)" in md
    assert "pairwise agrees more" in md and "Pairwise judge vs people: Rule:" in md
    assert "[pairwise 0] chance-level agreement" in md


def test_pairs_without_rated_dialogues_are_counted_not_used(audit_logs: dict[str, Any]) -> None:
    # Only the candidate's log given: the reference dialogues are not among the rated logs.
    cand_log = audit_logs["logs"][0]
    rows = [r for r in csv.DictReader(open(audit_logs["ratings"], encoding="utf-8")) if r["log"] == Path(cand_log).name]
    only = audit_logs["root"] / "only-candidate.csv"
    with only.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    pw = _section({**audit_logs, "ratings": str(only)}, logs=[cand_log])
    [cover] = pw["coverage"]
    assert cover["baseline_not_in_logs"] == N and cover["used"] == 0
    assert pw["rows"] == [] and pw["versus_absolute"] == []


def test_cli_pairwise_report(audit_logs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from emplifai.cli import main

    out = tmp_path / "report"
    rc = main(["audit", "report", "--logs", *audit_logs["logs"], "--pairwise-logs", audit_logs["pairwise"],
               "--ratings", audit_logs["ratings"], "--min-items", "1", "--out", str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "pairwise mockllm/judge | emotion_specific_empathy: agrees beyond chance (12 pairs)" in printed
    assert 'id="pairwise-vs-absolute"' in (out / "audit.html").read_text(encoding="utf-8")
    bad = main(["audit", "report", "--logs", *audit_logs["logs"], "--pairwise-logs", audit_logs["pairwise"],
                "--ratings", audit_logs["ratings"], "--pairwise-tie-margin", "-1", "--out", str(out)])
    assert bad != 0 and "--pairwise-tie-margin -1" in capsys.readouterr().err
