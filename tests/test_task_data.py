"""The shared data parameters of the tasks (emplifai/task_data.py): the same checks and the same
draw as the generation task, so a pairwise run sees the generation run's pairs."""

from __future__ import annotations

import logging

import pytest

from emplifai.data.loaders import load_dialogues
from emplifai.errors import UserError
from emplifai.pairs import draw_eval_pairs
from emplifai.task_data import draw_task_pairs, load_task_data
from emplifai.tasks.generation import generation


def test_the_draw_is_the_generation_tasks() -> None:
    data = load_task_data()
    drawn = draw_task_pairs(data, 5, 7, task="test")
    assert [r.situation_id for r in drawn.pairs] == [r.situation_id for r in draw_eval_pairs(load_dialogues(None), 5, 7)]
    meta = drawn.metadata(data)
    gen = generation(n=5, seed=7).metadata or {}
    for key in ("n_requested", "n_pairs", "fewer_pairs_than_requested", "n_dialogues", "data_fingerprint", "seed",
                "eval_situation_ids"):
        assert meta[key] == gen[key], key
    assert data.location == "bundled-sample" and data.language == "ja"


def test_fewer_pairs_than_requested_is_warned(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        drawn = draw_task_pairs(load_task_data(), 1000, 42, task="pairwise")
    assert drawn.short and len(drawn.pairs) == 56
    assert "pairwise: -T n=1000" in caplog.text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"language": "fr"}, "-T language"), ({"data": ""}, "-T data"), ({"encoding": 3.5}, "unknown encoding")],
)
def test_bad_data_parameters(kwargs: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        load_task_data(**kwargs)


@pytest.mark.parametrize(("n", "seed"), [(0, 42), ("x", 42), (5, "y"), (True, 1)])
def test_bad_draw_parameters(n: object, seed: object) -> None:
    with pytest.raises(UserError, match="-T (n|seed) must be"):
        draw_task_pairs(load_task_data(), n, seed, task="test")
