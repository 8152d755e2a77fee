"""fasttext_label with a tiny model trained inside the test: cosine(x, x) = 1, different labels
less, sentence vectors for free answers, the per-pair cache, and the missing-model error raised
when the scorer is built."""

from __future__ import annotations

import random
from pathlib import Path

import anyio
import numpy as np
import pytest

from emplifai.scorers.fasttext_label import (
    FastTextModelError,
    FastTextSimilarity,
    check_fasttext_model,
    cosine,
    fasttext_label,
)
from emplifai.taxonomy import EMOTIONS

from .scripted_label_eval import run_scripted


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> Path:
    import fasttext

    folder = tmp_path_factory.mktemp("fasttext")
    rng = random.Random(0)
    words = [e.label for e in EMOTIONS] + [e.ja for e in EMOTIONS] + "the patient felt very much after visit".split()
    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(" ".join(rng.choices(words, k=12)) for _ in range(400)) + "\n", encoding="utf-8")
    model = fasttext.train_unsupervised(
        str(corpus), model="skipgram", dim=16, epoch=2, minCount=1, thread=1, verbose=0
    )
    path = folder / "tiny.bin"
    model.save_model(str(path))
    return path


def test_missing_model_is_reported_at_construction(tmp_path):
    missing = tmp_path / "cc.ja.300.bin"
    with pytest.raises(FastTextModelError, match=r"cc\.ja\.300\.bin does not exist.*fasttext\.cc.*train_unsupervised"):
        fasttext_label(model_path=str(missing))
    with pytest.raises(FastTextModelError, match="is a folder, not a model file"):
        check_fasttext_model(tmp_path)


def test_cosine_of_a_text_with_itself_is_one(model_path):
    sim = FastTextSimilarity(model_path, "ja")
    assert sim.compute("悲しみ", "悲しみ") == pytest.approx(1.0, abs=1e-6)
    assert sim.compute("sadness", "sadness") == pytest.approx(1.0, abs=1e-6)
    assert sim.compute("悲しみ", "喜び") < 0.999
    assert sim.compute("悲しみ", "") == 0.0  # the empty text has no direction


def test_sentence_vector_of_a_keyword_has_its_word_vectors_direction(model_path):
    import fasttext

    model = fasttext.load_model(str(model_path))
    w, s = model.get_word_vector("fear"), model.get_sentence_vector("fear")
    assert cosine(w, s) == pytest.approx(1.0, abs=1e-6)
    assert cosine(np.zeros(3), np.ones(3)) == 0.0


def test_scores_use_language_keywords_and_the_pair_cache(model_path):
    sim = FastTextSimilarity(model_path, "ja")
    answers = ["悲しい", "Sadness", "**悲しみ**", "joy", "わからない"] * 5

    async def run() -> list:
        out: list = [None] * len(answers)

        async def one(i: int, a: str) -> None:
            out[i] = await sim.score("sadness", a)

        async with anyio.create_task_group() as tg:
            for i, a in enumerate(answers):
                tg.start_soon(one, i, a)
        return out

    scores = anyio.run(run)
    assert sim.cache.computed == 3  # 悲しみ/悲しみ, 悲しみ/喜び, 悲しみ/わからない
    assert scores[0].metadata["gold_text"] == "悲しみ" and scores[0].metadata["pred_text"] == "悲しみ"
    assert scores[0].value == pytest.approx(1.0, abs=1e-6)
    assert scores[3].metadata["pred_text"] == "喜び"
    assert scores[4].metadata["parsed"] is False and scores[4].answer == "わからない"


def test_eval_log_has_mean_and_stderr(model_path, tmp_path):
    cases = {"a": ("fear", "fear"), "b": ("fear", "joy"), "c": ("relief", "no idea")}

    log = run_scripted(cases, fasttext_label(model_path=str(model_path), language="en"), tmp_path)
    [result] = log.results.scores
    values = [s.scores["fasttext_label"].value for s in sorted(log.samples, key=lambda s: s.id)]
    assert values[0] == pytest.approx(1.0, abs=1e-6)
    assert result.metrics["mean"].value == pytest.approx(np.mean(values))
    assert result.metrics["stderr"].value == pytest.approx(np.std(values, ddof=1) / np.sqrt(3))


def test_relative_model_path_is_found_from_the_shell_directory(model_path, tmp_path, monkeypatch):
    # `inspect eval tasks/emotion.py` builds the task inside tasks/; $PWD still names the shell's dir.
    (tmp_path / "tasks").mkdir()
    monkeypatch.chdir(tmp_path / "tasks")
    monkeypatch.setenv("PWD", str(model_path.parent))
    assert check_fasttext_model(model_path.name) == model_path.resolve()
