"""`emplifai probes compare` on a judge_probes (absolute) and a pairwise_probes (pairwise) log of the
same judge: each column says how it was judged and its trust verdict, and a plain line says which
way of judging earned the better verdict, by the rule printed beside it.

Real logs from scripted judges, all named ``mockllm/judge`` (the comparison needs the same judge):
- absolute *sighted*: 4 on every metric to a dialogue that still holds a human supporter reply of
  the data (the base, a padded copy), 3 to one that does not (the cold rewrite);
- absolute *always 5*: nothing is ever below its base, so no degrading probe is caught;
- pairwise *sighted* (tests/test_pairwise_probes.py) and *always "A"* (tests/pairwise_script.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from inspect_ai import eval
from inspect_ai.log import EvalLog, read_eval_log, write_eval_log
from inspect_ai.model import ChatMessage, ModelOutput, get_model

from emplifai.audit.probe_report import COMPARE_RULE, compare_markdown, read_probe_run
from emplifai.cli import main
from emplifai.data.loaders import load_dialogues
from emplifai.errors import UserError
from emplifai.judge_metrics import METRIC_KEYS
from emplifai.probes.trust import TRUST_RULE
from emplifai.scorers.judge_prompt import FENCE_CLOSE, FENCE_OPEN
from emplifai.tasks.judge_probes import judge_probes
from emplifai.tasks.pairwise_probes import pairwise_probes
from tests.pairwise_script import position_biased
from tests.test_pairwise_probes import sighted

KINDS = "cold_correct,padded"
N_BASES = 10  # the trust rule's minimum of bases per share (emplifai/probes/trust.py)
JUDGE = "mockllm/judge"


def _fenced(messages: list[ChatMessage]) -> str:
    user = next(m.text for m in messages if m.role == "user")
    lines = user.split("\n")
    return "\n".join(lines[lines.index(FENCE_OPEN) + 1 : lines.index(FENCE_CLOSE)])


def absolute_sighted() -> Callable[..., ModelOutput]:
    replies = {r.supporter_1 for r in load_dialogues(None)}

    def grade(messages: list[ChatMessage], *args: Any) -> ModelOutput:
        score = 4 if any(reply in _fenced(messages) for reply in replies) else 3
        body = {k: {"rationale": "scripted", "score": score} for k in METRIC_KEYS}
        return ModelOutput.from_content(JUDGE, json.dumps(body, ensure_ascii=False))

    return grade


def always_five(messages: list[ChatMessage], *args: Any) -> ModelOutput:
    body = {k: {"rationale": "scripted", "score": 5} for k in METRIC_KEYS}
    return ModelOutput.from_content(JUDGE, json.dumps(body, ensure_ascii=False))


def _run(task: Any, grader: Any, folder: Path) -> str:
    # Each run its own cache: every judge here is "mockllm/judge", and validated verdicts are
    # cached per grader name and prompt, so a shared cache would serve one judge another's answers.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INSPECT_CACHE_DIR", str(folder / "cache"))
        (log,) = eval(task, model="none/none", model_roles={"grader": grader}, display="none",
                      log_dir=str(folder / "logs"))
    assert log.status == "success", log.error
    assert log.location
    return str(log.location)


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    root = tmp_path_factory.mktemp("probe-logs")
    yield {
        "abs_sighted": _run(judge_probes(probes=KINDS, n=N_BASES), get_model(JUDGE, custom_outputs=absolute_sighted()),
                            root / "abs-sighted"),
        "abs_five": _run(judge_probes(probes=KINDS, n=N_BASES), get_model(JUDGE, custom_outputs=always_five),
                         root / "abs-five"),
        "pw_sighted": _run(pairwise_probes(probes=KINDS, n=N_BASES), sighted().model(), root / "pw-sighted"),
        "pw_biased": _run(pairwise_probes(probes=KINDS, n=N_BASES), position_biased().model(), root / "pw-biased"),
        "abs_two": _run(judge_probes(probes=KINDS, n=2), get_model(JUDGE, custom_outputs=absolute_sighted()),
                        root / "abs-two"),
        "pw_two": _run(pairwise_probes(probes=KINDS, n=2), position_biased().model(), root / "pw-two"),
    }


def _row(text: str, label: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith(f"| {label} |"))
    return [cell.strip() for cell in line.strip("|").split("|")[1:]]


def test_both_logs_read_with_their_mode_and_verdict(logs: dict[str, str]) -> None:
    absolute, pairwise = read_probe_run(logs["abs_sighted"]), read_probe_run(logs["pw_biased"])
    assert (absolute.mode, pairwise.mode) == ("absolute", "pairwise")
    assert absolute.judge == pairwise.judge == JUDGE
    assert absolute.trust[0] == "consistent" and pairwise.trust[0] == "not to be trusted"
    assert pairwise.metrics["probe_accuracy"] == 0.0 and pairwise.metrics["invariance_violation_rate"] == 1.0


def test_cli_says_pairwise_judging_earned_the_better_verdict(
    logs: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out_file = tmp_path / "report.md"
    assert main(["probes", "compare", logs["abs_five"], logs["pw_sighted"], "--out", str(out_file)]) == 0
    captured = capsys.readouterr()
    text = out_file.read_text(encoding="utf-8")
    assert text in captured.out
    assert _row(text, "judging") == ["absolute", "pairwise"]
    assert _row(text, "trust verdict") == ["not to be trusted", "consistent"]
    assert _row(text, "probe accuracy (all degrading probes)") == ["0.00 [0.00, 0.00]", "1.00 [1.00, 1.00]"]
    assert (f"**Absolute vs pairwise:** (1) absolute and (2) pairwise, {JUDGE} on the same {N_BASES} bases "
            "(seed 42): pairwise judging earned the better verdict ('consistent' against absolute judging's "
            "'not to be trusted'), so on these probes pairwise judging is the more trustworthy for this judge.") in text
    assert f"({COMPARE_RULE})" in text
    # Each column's verdict sentence, and the rule, under the table.
    assert "- (1) trust verdict: **not to be trusted**. The judge caught 0 of 10 degrading probes" in text
    assert "- (2) trust verdict: **consistent**. The judge caught 10 of 10 degrading probes" in text
    assert f"- {TRUST_RULE}" in text and "- Pairwise columns: each probe is judged against its own base" in text
    # Same judge, probes, bases and data: the only warning is the judging mode, on stdout and stderr.
    assert text.count("**Warning:**") == 1 and "the columns differ in judging mode ((1) absolute; (2) pairwise)" in text
    assert "different probe sets" not in text and "different base dialogues" not in text
    assert captured.err.count("warning: ") == 1 and "differ in judging mode" in captured.err


def test_absolute_can_win_and_equal_verdicts_do_not_separate(logs: dict[str, str]) -> None:
    runs = [read_probe_run(logs[k]) for k in ("pw_biased", "abs_sighted")]
    text = compare_markdown(runs)
    assert _row(text, "judging") == ["pairwise", "absolute"]
    # Numbered as given: the absolute run is (2), the pairwise (1).
    assert re.search(r"\(2\) absolute and \(1\) pairwise, .*: absolute judging earned the better verdict "
                     r"\('consistent' against pairwise judging's 'not to be trusted'\)", text)
    same = compare_markdown([read_probe_run(logs[k]) for k in ("abs_sighted", "pw_sighted")])
    assert _row(same, "trust verdict") == ["consistent", "consistent"]
    assert "both 'consistent', so the probes do not separate them." in same


def test_too_few_bases_gives_no_comparison(logs: dict[str, str]) -> None:
    text = compare_markdown([read_probe_run(logs["abs_two"]), read_probe_run(logs["pw_two"])])
    assert _row(text, "trust verdict") == ["too few bases", "too few bases"]
    assert "no comparison: (1) 'too few bases' and (2) 'too few bases' are no verdict on the judge." in text
    assert "earned the better verdict" not in text


def test_runs_on_other_bases_are_not_compared(logs: dict[str, str]) -> None:
    text = compare_markdown([read_probe_run(logs["abs_sighted"]), read_probe_run(logs["pw_two"])])
    assert "**Absolute vs pairwise:**" not in text and COMPARE_RULE not in text
    assert "different base dialogues ((1) 10 bases, seed 42; (2) 2 bases, seed 42)" in text
    # Two absolute runs: no mode warning, no comparison.
    two = compare_markdown([read_probe_run(logs["abs_sighted"]), read_probe_run(logs["abs_five"])])
    assert "judging mode" not in two and "**Absolute vs pairwise:**" not in two
    assert _row(two, "judging") == ["absolute", "absolute"]


def test_a_plain_pairwise_log_is_refused(logs: dict[str, str], tmp_path: Path) -> None:
    """A log of tasks/pairwise.py has the same scorer but no probes: it is not read as a probe run."""
    log: EvalLog = read_eval_log(logs["pw_two"])
    log.eval.task = "emplifai/pairwise"
    write_eval_log(log, str(tmp_path / "plain.eval"))
    with pytest.raises(UserError, match="not a finished judge_probes or pairwise_probes run"):
        read_probe_run(tmp_path / "plain.eval")
