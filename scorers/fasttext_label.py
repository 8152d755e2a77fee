"""fastText cosine similarity of the predicted label text and the gold label text (the paper's
first metric for reverse emotion prediction), with ``fasttext`` (the ``fasttext-numpy2`` wheel).

Texts: see ``emplifai.scorers.label_similarity``. Each text becomes
``model.get_sentence_vector(text)``, not ``get_word_vector``: for a one-word text (every label
keyword) the two are the same vector up to length, so the cosine is the keyword's word-vector
cosine the paper reports; for the free text of an answer that names no label, the sentence vector
averages the (unit-length) vectors of its whitespace-separated words instead of treating a whole
phrase as one out-of-vocabulary word. Japanese text has no spaces, so a Japanese free answer is
one "word" whose vector fastText builds from its character n-grams.

A text whose vector is all zeros (the empty text, or words with no known n-gram) has no
direction; its cosine is reported as 0.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
from inspect_ai.scorer import Score, Scorer, Target, mean, scorer, stderr
from inspect_ai.solver import TaskState

from emplifai.data.loaders import resolve_user_path
from emplifai.errors import UserError
from emplifai.scorers.label_similarity import PairCache, PairTexts, gold_label, pair_texts
from emplifai.taxonomy import check_language

HOW_TO_GET_A_MODEL = (
    "Download the official Japanese vectors cc.ja.300.bin (https://fasttext.cc/docs/en/crawl-vectors.html; "
    "the .bin, not the .vec, since vectors of unseen words come from its character n-grams), or train "
    "one on your own text: fasttext.train_unsupervised('corpus.txt', model='skipgram').save_model('my.bin')"
)


class FastTextModelError(UserError):
    """The fastText model file is missing or is not a file."""


def check_fasttext_model(model_path: str | Path) -> Path:
    """The model path, resolved, if it is an existing file; otherwise a clear error."""
    # Relative paths are looked up from the shell's directory too (inspect eval switches to tasks/).
    path = resolve_user_path(Path(model_path).expanduser())
    try:
        import fasttext  # noqa: F401
    except ImportError as e:
        raise FastTextModelError(
            "fastText cosine needs the 'fasttext' extra (the fasttext module is not installed): "
            "pip install 'emplifai[fasttext]'"
        ) from e
    if not path.is_file():
        what = "is a folder, not a model file" if path.is_dir() else "does not exist"
        raise FastTextModelError(f"fastText model {path} {what}. {HOW_TO_GET_A_MODEL}")
    return path.resolve()


# One loaded model per file per process (cc.ja.300.bin takes ~7 GB of memory).
_LOADED: dict[tuple[str, float], tuple[Any, threading.Lock]] = {}
_LOAD_LOCK = threading.Lock()


def load_fasttext(path: Path) -> tuple[Any, threading.Lock]:
    """The loaded model at ``path`` and the lock to hold while using it."""
    key = (str(path), path.stat().st_mtime)
    with _LOAD_LOCK:
        if key not in _LOADED:
            import fasttext

            _LOADED[key] = (fasttext.load_model(str(path)), threading.Lock())
        return _LOADED[key]


def cosine(u: np.ndarray, v: np.ndarray) -> float:
    """Cosine similarity; 0 when either vector is all zeros (no direction to compare)."""
    from scipy.spatial.distance import cosine as cosine_distance

    if not np.any(u) or not np.any(v):
        return 0.0
    return float(1.0 - cosine_distance(u, v))


class FastTextSimilarity:
    """fastText cosine of label pairs for one scorer instance: lazily loaded model + pair cache."""

    def __init__(self, model_path: str | Path, language: str, cache: bool = True) -> None:
        self.path = check_fasttext_model(model_path)
        self.language = check_language(language)
        self.cache: PairCache[float] = PairCache(enabled=cache)

    def compute(self, gold_text: str, pred_text: str) -> float:
        """Cosine of one pair (blocking: loads the model on first use)."""
        model, lock = load_fasttext(self.path)
        with lock:
            u = model.get_sentence_vector(gold_text)
            v = model.get_sentence_vector(pred_text)
        return cosine(u, v)

    async def score_texts(self, texts: PairTexts) -> Score:
        value = await self.cache.get(texts.gold_text, texts.pred_text, self.compute)
        return Score(
            value=value,
            answer=texts.pred_text,
            explanation=f"fastText cosine {value:.3f}: {texts.pred_text!r} vs gold {texts.gold_text!r}",
            metadata={**texts.metadata(), "model": str(self.path)},
        )

    async def score(self, gold: str, answer: str | None) -> Score:
        return await self.score_texts(pair_texts(gold, answer, self.language))


@scorer(metrics=[mean(), stderr()])
def fasttext_label(model_path: str, language: str = "ja") -> Scorer:
    """Cosine similarity of fastText vectors of predicted vs gold label text.

    Args:
        model_path: A fastText ``.bin`` model (e.g. cc.ja.300.bin). Checked when the scorer is
            built, loaded on first use.
        language: "ja" (Japanese keywords) or "en" (English labels).
    """
    sim = FastTextSimilarity(model_path, language)

    async def score(state: TaskState, target: Target) -> Score:
        return await sim.score(gold_label(target, state.sample_id), state.output.completion)

    return score
