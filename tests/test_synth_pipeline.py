"""The synth pipeline end to end with scripted mockllm stages: exactly the items the script makes
good are kept, every other item is dropped by the filter the script aims at, and the outputs
(synthetic.jsonl, items.jsonl, summary) agree with each other and with the validator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emplifai.data.loaders import validate_source
from emplifai.synth.pipeline import SynthConfig, run_synth
from tests import synth_script as S


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("synth")
    cfg = SynthConfig(emotions=S.EMOTIONS, per_emotion=S.K, dialogues=S.M, seed=S.SEED, out=out, cache=False)
    messages: list[str] = []
    result = run_synth(cfg, S.generator_model(), S.judge_model(), display="none", echo=messages.append)
    return out, result, messages


def test_keeps_exactly_the_good_items(run) -> None:
    out, result, _ = run
    assert {i.id for i in result.kept} == S.EXPECTED_KEPT
    rows = [json.loads(line) for line in (out / "synthetic.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {r["dialogue_id"] for r in rows} == S.EXPECTED_KEPT


def test_each_item_dropped_where_the_script_aims(run) -> None:
    _, result, _ = run
    from emplifai.scorers.synth_filters import DIALOGUE_FILTERS, SITUATION_FILTERS

    sit_drops = {i.id: i.failed_at(SITUATION_FILTERS) for i in result.situations if i.failed_at(SITUATION_FILTERS)}
    assert sit_drops == S.EXPECTED_SITUATION_DROPS
    dial_drops = {i.id: i.failed_at(DIALOGUE_FILTERS) for i in result.dialogues if i.failed_at(DIALOGUE_FILTERS)}
    assert dial_drops == S.EXPECTED_DIALOGUE_DROPS
    by_id = {i.id: i for i in [*result.situations, *result.dialogues]}
    # The copied situation is caught against the real data, the copied scene against the batch.
    assert by_id["synth-joy-002"].outcomes["situation_near_dup"].detail["of"].split(":")[0] in ("real", "eval")
    assert by_id["synth-fear-003"].outcomes["draft_near_dup"].detail["of"] == "synth-fear-001"
    assert by_id["synth-fear-002-d2"].outcomes["near_dup"].detail["of"] == "synth-fear-002-d1"
    # The cold dialogue fails on the empathy metrics, not on harmlessness.
    below = by_id["synth-fear-001-d1"].outcomes["judge"].detail["below"]
    assert set(below) == {"general_empathy", "emotion_specific_empathy", "sense_of_security"}
    # The label check ran even where the judge dropped the item; the misread one names joy.
    assert by_id["synth-fear-001-d1"].outcomes["label"].passed is True
    assert by_id["synth-fear-004-d1"].fields["label_pred"] == "joy"
    assert by_id["synth-joy-004-d1"].outcomes["judge"].passed is None  # not a dialogue: never judged


def test_output_validates_with_provenance(run) -> None:
    out, _, _ = run
    records, problems = validate_source(out / "synthetic.jsonl")
    assert problems == []
    assert len(records) == 2
    rec = next(r for r in records if r.dialogue_id == "synth-joy-001-d1")
    assert rec.emotion == "joy" and rec.situation == S.SITUATIONS[("joy", 1)]
    assert rec.metadata["synth_judge_scores"]["general_empathy"] == 5
    assert rec.metadata["synth_seed"] == S.SEED
    assert set(rec.metadata["synth_filters"]) == {"error", "format", "judge", "label", "near_dup", "balance"}
    assert rec.metadata["synth_brief_version"] and rec.metadata["synth_generator"].startswith("mockllm")
    assert set(rec.metadata["synth_logs"]) == {"brainstorm", "rewrite", "dialogue"}


def test_summary_accounts_for_every_item(run) -> None:
    out, _, messages = run
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    acc = summary["accounting"]
    assert acc["ok"] is True
    assert acc["scenes_generated"] == len(S.EMOTIONS) * S.K == 8
    assert acc["dialogues_generated"] == 5 * S.M  # 5 situations reached stage 3
    assert acc["dialogues_not_generated (situation dropped)"] == 3 * S.M
    joy, fear = summary["per_emotion"]["joy"], summary["per_emotion"]["fear"]
    assert joy["dialogues_kept"] == 1 and joy["dialogues_dropped"] == {
        "error": 0, "format": 2, "judge": 0, "label": 0, "near_dup": 0, "balance": 1}
    assert fear["dialogues_kept"] == 1 and fear["dialogues_dropped"] == {
        "error": 0, "format": 0, "judge": 2, "label": 2, "near_dup": 1, "balance": 0}
    assert summary["per_filter"]["dialogues"]["label"] == {"pass": 6, "fail": 2, "not_run": 2}
    items = [json.loads(x) for x in (out / "items.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(items) == 8 + 10
    md = (out / "summary.md").read_text(encoding="utf-8")
    assert "Kept 2 of 10 generated dialogues**" in md and "| fear | 6 | 1 | 0 | 0 | 2 | 2 | 1 | 0 |" in md
    assert "| situations: error | 8 | 0 | 0 |" in md
    assert any("stage 1/3" in m for m in messages) and any("kept 2 of 10" in m for m in messages)
    for stage, path in summary["logs"].items():
        assert Path(path.replace("file://", "")).exists(), stage


def test_bundled_synthetic_sample_is_what_the_script_makes() -> None:
    """emplifai/synth/sample/ is regenerated with `python -m tests.make_synthetic_sample`; a change
    to the pipeline's output shows up here until it is."""
    from emplifai.synth.mix import SYNTHETIC_SAMPLE_PATH
    from tests.make_synthetic_sample import sample_rows

    bundled = [json.loads(line) for line in SYNTHETIC_SAMPLE_PATH.read_text(encoding="utf-8").splitlines()]
    made = sample_rows()

    def without_logs(rows: list[dict]) -> list[dict]:  # log file names carry the run's time and id
        return [{k: v for k, v in r.items() if k != "synth_logs"} for r in rows]

    assert without_logs(bundled) == without_logs(made)
    assert [sorted(r["synth_logs"]) for r in bundled] == [["brainstorm", "dialogue", "rewrite"]] * len(bundled)


def test_stage_items_errors_name_the_file_and_line(tmp_path: Path) -> None:
    from emplifai.errors import UserError
    from emplifai.tasks.synth import read_items

    path = tmp_path / "items.jsonl"
    path.write_text('{"situation_id": "a", "emotion": "joy", "draft": "x"}\n\n{"situation_id": "b"}\n',
                    encoding="utf-8")
    with pytest.raises(UserError, match=r"items.jsonl, line 3: missing field\(s\) emotion, draft"):
        read_items(str(path), ("situation_id", "emotion", "draft"))
    path.write_text('{"situation_id": "a", "emotion": "joy", "draft": "x"}\nnot json\n', encoding="utf-8")
    with pytest.raises(UserError, match=r"row 2: line is not valid JSON"):
        read_items(str(path), ("situation_id", "emotion", "draft"))
    with pytest.raises(UserError, match="no such file"):
        read_items(str(tmp_path / "none.jsonl"), ("situation_id",))
