"""SFT split by situation: the generation benchmark's evaluation pairs never reach training."""

from __future__ import annotations

import logging

import pytest

from emplifai.data.fingerprint import data_fingerprint as core_fingerprint
from emplifai.data.loaders import load_dialogues
from emplifai.leak import situation_key
from emplifai.tasks.generation import draw_eval_pairs, generation
from emplifai.training.split import data_fingerprint, split_for_sft


@pytest.fixture(scope="module")
def records():
    return load_dialogues()


def test_benchmark_mode_holds_out_exactly_the_eval_situations(records) -> None:
    split = split_for_sft(records, mode="benchmark", eval_n=10, eval_seed=42)
    eval_ids = {r.situation_id for r in draw_eval_pairs(records, 10, 42)}
    assert set(split.heldout_situation_ids) == eval_ids == set(split.eval_situation_ids)
    train_sids = {r.situation_id for r in split.train}
    assert not train_sids & eval_ids and split.eval_pairs_in_train == ()
    # Every dialogue of every other situation is trained on: nothing valid is dropped.
    expected = [r.dialogue_id for r in records if r.situation_id not in eval_ids]
    assert [r.dialogue_id for r in split.train] == expected
    assert len(split.train) < len(records)


def test_heldout_matches_what_the_generation_task_evaluates(records) -> None:
    task = generation(n=2, seed=42)
    split = split_for_sft(records, eval_n=2, eval_seed=42)
    assert list(split.heldout_situation_ids) == task.metadata["eval_situation_ids"]


def test_all_situations_evaluated_leaves_nothing_to_train(records) -> None:
    # The sample set has 56 situations: the benchmark's n=100 draws all of them.
    with pytest.raises(ValueError, match="nothing is left to train on"):
        split_for_sft(records)


def test_paper_mode_trains_on_everything_and_records_the_leak(records, caplog, monkeypatch) -> None:
    # Libraries imported by earlier tests (transformers, Inspect) may reconfigure logging: make sure
    # this module's logger still reaches caplog's handler.
    split_logger = logging.getLogger("emplifai.training.split")
    monkeypatch.setattr(split_logger, "disabled", False)
    monkeypatch.setattr(split_logger, "propagate", True)
    with caplog.at_level(logging.WARNING, logger="emplifai.training.split"):
        split = split_for_sft(records, mode="paper", eval_n=5, eval_seed=42)
    assert [r.dialogue_id for r in split.train] == [r.dialogue_id for r in records]
    assert split.heldout_situation_ids == ()
    assert set(split.eval_pairs_in_train) == {r.situation_id for r in draw_eval_pairs(records, 5, 42)}
    assert "not on unseen situations" in caplog.text
    assert split.to_json()["eval_pairs_in_train"] == list(split.eval_pairs_in_train)


def test_unknown_mode(records) -> None:
    with pytest.raises(ValueError, match="split_mode"):
        split_for_sft(records, mode="random")


def test_fingerprints_are_the_ones_the_benchmark_tasks_log(records) -> None:
    split = split_for_sft(records, eval_n=2, eval_seed=42)
    # The core fingerprint (emplifai.data.fingerprint), so a checkpoint and a log can be matched.
    assert split.data_fingerprint == core_fingerprint(records) == generation(n=2).metadata["data_fingerprint"]
    assert split.train_fingerprint == core_fingerprint(split.train) != split.data_fingerprint
    assert data_fingerprint is core_fingerprint


def test_split_json_has_content_keys_of_the_trained_situations(records) -> None:
    split = split_for_sft(records, eval_n=2, eval_seed=42)
    keys = split.to_json()["train_situation_keys"]
    trained = {r.situation_id: r for r in split.train}
    assert sorted(keys) == sorted({situation_key(r.emotion, r.situation) for r in trained.values()})
    assert len(keys) == len(trained)


def test_split_json_lists_both_sides(records) -> None:
    split = split_for_sft(records, eval_n=3, eval_seed=7)
    js = split.to_json()
    assert js["data_fingerprint"] == data_fingerprint(records)
    assert js["train_fingerprint"] == data_fingerprint(split.train)
    assert set(js["train_situation_ids"]).isdisjoint(js["heldout_situation_ids"])
    assert len(js["train_situation_ids"]) + len(js["heldout_situation_ids"]) == js["n_situations"] == 56
    assert js["n_train_dialogues"] == len(js["train_dialogue_ids"]) and js["train_limit"] is None


def test_limited_is_recorded(records) -> None:
    split = split_for_sft(records, eval_n=2, eval_seed=42)
    small = split.limited(3)
    assert [r.dialogue_id for r in small.train] == [r.dialogue_id for r in split.train[:3]]
    assert small.train_limit == 3 and small.train_fingerprint != split.train_fingerprint
    assert small.heldout_situation_ids == split.heldout_situation_ids
    assert split.limited(10_000) is split
    with pytest.raises(ValueError, match="must be an integer >= 1"):
        split.limited(0)


def test_benchmark_text_under_another_id_is_held_out_and_listed(records) -> None:
    """A training row that carries an evaluation situation's text (lightly edited) or an evaluation
    dialogue's turns under another id is held out by the leak check and listed in split.json."""
    from dataclasses import replace

    ev = draw_eval_pairs(records, 10, 42)[0]
    eval_ids = {r.situation_id for r in draw_eval_pairs(records, 10, 42)}
    train = [r for r in records if r.situation_id not in eval_ids]
    copied_situation = replace(train[0], dialogue_id="copy-sit-d1", situation_id="copy-sit",
                               situation=ev.situation.replace("。", "、", 1))
    copied_turns = replace(train[1], dialogue_id="copy-turns-d1", situation_id="copy-turns",
                           supporter_2=ev.supporter_2, supporter_1=ev.supporter_1,
                           patient_1=ev.patient_1, patient_2=ev.patient_2)
    split = split_for_sft([*records, copied_situation, copied_turns], eval_n=10, eval_seed=42)
    excluded = dict(split.near_eval_excluded)
    assert set(excluded) == {"copy-sit-d1", "copy-turns-d1"}
    assert ev.situation_id in excluded["copy-sit-d1"] and ev.dialogue_id in excluded["copy-turns-d1"]
    assert not {"copy-sit-d1", "copy-turns-d1"} & {r.dialogue_id for r in split.train}
    assert split.to_json()["near_eval_excluded"] == excluded
    # The sample itself has no such rows: nothing else is held out.
    assert split_for_sft(records, eval_n=10, eval_seed=42).near_eval_excluded == ()
