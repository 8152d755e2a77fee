"""Eval-time leak check: the generation and emotion tasks do not score what a checkpoint trained on.

The split files are written the way the SFT run writes them (``split_for_sft(...).to_json()``), one
like the CPU smoke checkpoint's (one trained dialogue) and one of a "paper" run (trained on all)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval

from emplifai.data.loaders import load_dialogues
from emplifai.errors import UserError
from emplifai.leak import check_leak, load_trained_on
from emplifai.tasks.emotion import emotion
from emplifai.tasks.generation import generation
from emplifai.training.split import split_for_sft


@pytest.fixture(scope="module")
def records():
    return load_dialogues()


def _write_split(folder: Path, split) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "split.json"
    path.write_text(json.dumps(split.to_json(), ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def smoke_split(records, tmp_path_factory) -> Path:
    """As the smoke config: eval_n=2 held out, training on the first dialogue of the split only."""
    split = split_for_sft(records, mode="benchmark", eval_n=2, eval_seed=42).limited(1)
    return _write_split(tmp_path_factory.mktemp("smoke_ckpt"), split)


@pytest.fixture(scope="module")
def trained_situation(smoke_split) -> str:
    [sid] = json.loads(smoke_split.read_text(encoding="utf-8"))["train_situation_ids"]
    return sid


def test_generation_refuses_the_trained_pair_by_default(smoke_split, trained_situation) -> None:
    task = generation(n=56, checkpoint_split=str(smoke_split))  # every pair of the sample set
    ids = [s.id for s in task.dataset]
    assert trained_situation not in ids and len(ids) == 55
    meta = task.metadata
    assert meta["leak_check"] == "exclude" and meta["n_excluded"] == 1
    assert meta["trained_situation_ids"] == [trained_situation] and meta["same_data_as_checkpoint"] is True
    assert trained_situation not in meta["eval_situation_ids"]
    assert all(s.metadata["trained_on"] is False for s in task.dataset)


def test_tag_mode_scores_everything_and_marks_the_trained_pair(smoke_split, trained_situation) -> None:
    task = generation(n=56, checkpoint_split=str(smoke_split), leak="tag")
    assert len(task.dataset) == 56 and task.metadata["n_trained_on"] == 1
    assert {s.id for s in task.dataset if s.metadata["trained_on"]} == {trained_situation}


def test_held_out_pairs_are_untouched(smoke_split) -> None:
    # The smoke evaluation's own pairs (n=2) are the held-out ones: nothing to exclude.
    task = generation(n=2, checkpoint_split=str(smoke_split))
    assert len(task.dataset) == 2 and task.metadata["n_trained_on"] == 0


def test_emotion_excludes_every_dialogue_of_a_trained_situation(records, smoke_split, trained_situation) -> None:
    task = emotion(bertscore=False, checkpoint_split=str(smoke_split))
    of_trained = [r.dialogue_id for r in records if r.situation_id == trained_situation]
    assert len(task.dataset) == len(records) - len(of_trained)
    assert not {s.id for s in task.dataset} & set(of_trained)
    assert task.metadata["n_excluded"] == len(of_trained)


def test_a_checkpoint_trained_on_everything_leaves_nothing_to_score(records, tmp_path) -> None:
    path = _write_split(tmp_path / "paper", split_for_sft(records, mode="paper", eval_n=5, eval_seed=42))
    with pytest.raises(UserError, match="nothing is left to score"):
        generation(n=5, checkpoint_split=str(path))
    tagged = emotion(bertscore=False, checkpoint_split=str(tmp_path / "paper"), leak="tag")  # a folder works too
    assert all(s.metadata["trained_on"] for s in tagged.dataset)


def test_matching_is_by_content_across_copies_and_by_id_only_on_the_same_data(records, smoke_split,
                                                                              trained_situation) -> None:
    trained = load_trained_on(smoke_split)
    # Another copy with other ids: found by its content.
    renamed = [dataclasses.replace(r, situation_id="x" + r.situation_id, dialogue_id="x" + r.dialogue_id)
               for r in records]
    check = check_leak(renamed, renamed, checkpoint_split=str(smoke_split), mode="exclude", task="t")
    assert check.metadata["same_data_as_checkpoint"] is False
    assert check.metadata["trained_situation_ids"] == ["x" + trained_situation]
    # Other data reusing the ids: an id alone is not a match when the data differs.
    rewritten = [dataclasses.replace(r, situation=r.situation + "（別の文）") for r in records]
    check = check_leak(rewritten, rewritten, checkpoint_split=str(smoke_split), mode="exclude", task="t")
    assert check.metadata["n_trained_on"] == 0
    assert trained.situation_ids == {trained_situation}


def test_bad_split_paths_are_one_line_errors(tmp_path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        generation(n=2, checkpoint_split=str(tmp_path / "nope.json"))
    (tmp_path / "x.json").write_text("{}", encoding="utf-8")
    with pytest.raises(UserError, match="train_situation_ids"):
        emotion(bertscore=False, checkpoint_split=str(tmp_path / "x.json"))
    with pytest.raises(UserError, match="-T leak"):
        generation(n=2, leak="keep")


def test_split_is_read_from_the_evaluated_models_folder(records, smoke_split, trained_situation, tmp_path) -> None:
    # As `inspect eval ... --model hf/local -M model_path=<checkpoint>`: the task finds split.json in
    # the model's folder through Inspect's get_model() while it is constructed. mockllm stands in for
    # hf/local and carries the same model_path argument. The task is named, so Inspect builds it in the eval.
    [log] = inspect_eval(
        "emplifai/emotion", task_args={"bertscore": False}, model="mockllm/model", model_args={"model_path": str(smoke_split.parent)},
        log_dir=str(tmp_path / "logs"), display="none", limit=3,
    )
    assert log.status == "success", log.error
    meta = log.eval.metadata
    assert meta["checkpoint_split_source"] == "model folder" and meta["checkpoint_split"] == str(smoke_split)
    assert meta["trained_situation_ids"] == [trained_situation] and meta["n_excluded"] >= 1
