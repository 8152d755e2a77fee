"""The emotion task end to end with scripted answers: exact accuracy and macro-F1 from the log."""

from __future__ import annotations

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.model import ModelOutput, get_model
from sklearn.metrics import f1_score

from emplifai.solvers.emotion_prompt import emotion_messages, system_prompt
from emplifai.tasks.emotion import emotion
from emplifai.taxonomy import EMOTIONS

from .conftest import FIXTURES

DATA = FIXTURES / "emotion" / "six_dialogues.jsonl"

# What the scripted model answers for each situation (recognised from the prompt's last message).
ANSWERS = {
    "透析を始めて": "**悲しみ**",  # e1, e2 gold sadness: correct
    "来週の検査": "不安です",  # e3 gold fear: no label ("不安" is deliberately not mapped) -> unparsed
    "半年ぶり": "Emotion: joy",  # e4 gold joy: correct
    "手術後": "joy",  # e5 gold relief: wrong
    "主治医と薬剤師": "混乱",  # e6 gold confusion: correct
}


def _answer(messages, tools, tool_choice, config) -> ModelOutput:
    question = messages[-1].text
    for key, answer in ANSWERS.items():
        if key in question:
            return ModelOutput.from_content(model="mockllm/model", content=answer)
    raise AssertionError(f"unexpected prompt: {question[:80]}")


def _run(tmp_log_dir, **task_args):
    model = get_model("mockllm/model", custom_outputs=_answer)
    [log] = inspect_eval(
        emotion(data=str(DATA), bertscore=False, **task_args), model=model, display="none", log_dir=str(tmp_log_dir)
    )
    assert log.status == "success", log.error
    return log


def _metrics(log, scorer: str) -> dict:
    [score] = [s for s in log.results.scores if s.name == scorer]
    return {k: m.value for k, m in score.metrics.items()}


def test_accuracy_and_macro_f1_exact(tmp_path):
    log = _run(tmp_path)
    m = _metrics(log, "label_match")
    assert m["accuracy"] == pytest.approx(4 / 6)
    gold = ["sadness", "sadness", "fear", "joy", "relief", "confusion"]
    pred = ["sadness", "sadness", "<unparsed>", "joy", "joy", "confusion"]
    expected_f1 = f1_score(gold, pred, labels=sorted(set(gold) | {"joy"}), average="macro", zero_division=0)
    assert m["macro_f1"] == pytest.approx(expected_f1)
    # sadness 1, fear 0, joy 2/3, relief 0, confusion 1 -> mean over 5 labels
    assert expected_f1 == pytest.approx((1 + 0 + 2 / 3 + 0 + 1) / 5)


def test_sample_ids_are_dialogue_ids_and_unparsed_answers_are_visible(tmp_path):
    log = _run(tmp_path)
    assert sorted(s.id for s in log.samples) == ["e1", "e2", "e3", "e4", "e5", "e6"]
    by_id = {s.id: s for s in log.samples}
    e3 = by_id["e3"].scores["label_match"]
    assert e3.metadata["parsed"] is False and e3.metadata["pred"] is None
    assert by_id["e5"].scores["label_match"].metadata["pred"] == "joy"


def test_fewshot_shows_examples_from_other_situations(tmp_path):
    log = _run(tmp_path, fewshot=2, seed=3)
    for sample in log.samples:
        shown = sample.input
        assert sum(m.role == "assistant" for m in shown) == 2
        own = sample.metadata["situation_id"]
        # the question's own situation text appears exactly once (in the final question)
        own_text = {"s1": "透析を始めて", "s2": "来週の検査", "s3": "半年ぶり", "s4": "手術後", "s5": "主治医と"}[own]
        assert sum(own_text in m.text for m in shown if m.role == "user") == 1


def test_prompt_lists_all_28_labels_in_the_run_language():
    ja, en = system_prompt("ja"), system_prompt("en")
    assert all(e.ja in ja for e in EMOTIONS)
    assert all(e.label in en for e in EMOTIONS)


def test_bad_parameters_are_clear_errors():
    with pytest.raises(ValueError, match="language"):
        emotion(data=str(DATA), language="fr", bertscore=False)
    with pytest.raises(ValueError, match="fewshot"):
        emotion(data=str(DATA), fewshot=-1, bertscore=False)


def test_english_run_uses_english_brief():
    from emplifai.data.loaders import load_dialogues

    rec = load_dialogues(DATA)[0]
    msgs = emotion_messages(rec, language="en")
    assert "Which emotion" in msgs[-1].text and "Labels:" in msgs[0].text
