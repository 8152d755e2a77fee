"""BERTScore precision/recall/F1 of the predicted label text against the gold label text
(the paper's second metric for reverse emotion prediction), with the ``bert-score`` library.

Texts: see ``emplifai.scorers.label_similarity`` (keywords in the run's language; the cleaned
first line of an answer that names no label). Scores are raw BERTScore: no baseline rescaling,
since bert-score has no baseline for a local model folder.

An empty predicted text scores 0 on all three without calling the model: bert-score's own rule
for an empty candidate, which its 0.3.13 code can no longer reach with transformers 5.

The model is checked when the scorer is built (``check_bertscore_model``) and loaded on first use,
once per process for each (model, layer, language), in a worker thread.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inspect_ai.scorer import Score, Scorer, Target, mean, scorer, stderr
from inspect_ai.solver import TaskState

from emplifai.data.loaders import resolve_user_path
from emplifai.errors import UserError
from emplifai.scorers.label_similarity import PairCache, PairTexts, gold_label, pair_texts
from emplifai.taxonomy import LABELS, check_language, label_in

BERTSCORE_KEYS: tuple[str, ...] = ("precision", "recall", "f1")


class BertScoreModelError(UserError):
    """The BERTScore model cannot be used (not available offline, bad folder, unusable tokenizer)."""


@dataclass(frozen=True)
class BertScoreModel:
    """A resolved BERTScore model: what ``bert_score.BERTScorer`` is given."""

    model_type: str  # hub id or local folder
    num_layers: int
    lang: str | None  # passed to BERTScorer only when bert-score picked the model itself
    local: bool  # True: files are on disk (folder or HF cache), nothing to download


def _hub_reachable(timeout: float = 3.0) -> bool:
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    import httpx

    try:
        httpx.head(constants.ENDPOINT, timeout=timeout)
    except httpx.HTTPError:
        return False
    return True


def _in_hf_cache(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)


def _layers_from_config(folder: Path) -> int:
    config = folder / "config.json"
    try:
        n = json.loads(config.read_text(encoding="utf-8"))["num_hidden_layers"]
    except (OSError, ValueError, KeyError) as e:
        raise BertScoreModelError(
            f"{config}: cannot read 'num_hidden_layers' ({e}); pass -T bertscore_layers=<layer>"
        ) from e
    if not isinstance(n, int) or n < 1:
        raise BertScoreModelError(f"{config}: 'num_hidden_layers' is {n!r}, not a positive integer")
    return n


def check_bertscore_model(model: str | None, language: str, num_layers: int | None = None) -> BertScoreModel:
    """Resolve the BERTScore model and check that it can be loaded, before any sample runs.

    ``model=None``: the model bert-score picks for ``language`` (``bert-base-multilingual-cased``
    layer 9 for "ja", ``roberta-large`` layer 17 for "en"); it must be in the local Hugging Face
    cache or the hub must be reachable. A local folder: must hold ``config.json``;
    ``num_layers`` defaults to its ``num_hidden_layers`` (the last layer). Any other string is
    taken as a hub id, with the same availability rule as the default.

    When the files are local, the tokenizer is loaded (fast) to check that it tells the 28 gold
    keywords of ``language`` apart; an English-only vocabulary maps many Japanese keywords to
    the same unknown tokens, which would make different labels score as identical.
    """
    check_language(language)
    try:
        import bert_score  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as e:
        raise BertScoreModelError(
            f"BERTScore needs the 'bertscore' extra ({e.name} is not installed): "
            "pip install 'emplifai[bertscore]', or pass -T bertscore=false"
        ) from e
    if num_layers is not None and num_layers < 1:
        raise BertScoreModelError(f"num_layers must be >= 1, got {num_layers}")
    folder = _as_folder(model)
    spec = _folder_model(folder, num_layers) if folder is not None else _hub_model(model, language, num_layers)
    if spec.local:
        _check_keywords_distinct(spec, language)
    return spec


def _as_folder(model: str | None) -> Path | None:
    """``model`` as a local folder, or None when it names a hub model."""
    if model is None:
        return None
    # A relative folder is looked up from the shell's directory too: `inspect eval tasks/x.py`
    # builds the task with the working directory switched to tasks/.
    path = resolve_user_path(Path(model).expanduser())
    return path.resolve() if path.exists() or model.startswith((".", "/", "~")) else None


def _folder_model(folder: Path, num_layers: int | None) -> BertScoreModel:
    if not (folder / "config.json").is_file():
        raise BertScoreModelError(f"BERTScore model folder {folder} has no config.json")
    layers = num_layers if num_layers is not None else _layers_from_config(folder)
    return BertScoreModel(model_type=str(folder), num_layers=layers, lang=None, local=True)


def _hub_model(model: str | None, language: str, num_layers: int | None) -> BertScoreModel:
    from bert_score.utils import lang2model, model2layers

    name = lang2model[language] if model is None else model
    if num_layers is None and name not in model2layers:
        raise BertScoreModelError(f"bert-score has no default layer for {name!r}; pass -T bertscore_layers=<layer>")
    layers = num_layers if num_layers is not None else model2layers[name]
    local = _in_hf_cache(name)
    if not local and not _hub_reachable():
        which = "bert-score's default model" if model is None else "BERTScore model"
        raise BertScoreModelError(
            f"{which} {name!r} (language {language!r}) is not in the local Hugging Face cache and "
            "the hub is unreachable; pass -T bertscore_model=<local folder> or -T bertscore=false"
        )
    # lang goes to BERTScorer only when bert-score picked the model from it.
    return BertScoreModel(model_type=name, num_layers=layers, lang=language if model is None else None, local=local)


def _load_tokenizer(spec: BertScoreModel) -> Any:
    from transformers import AutoTokenizer

    # The call bert-score's get_tokenizer makes (slow tokenizer), from local files only: the
    # check must not start a download.
    return AutoTokenizer.from_pretrained(spec.model_type, use_fast=False, local_files_only=True)


def _check_keywords_distinct(spec: BertScoreModel, language: str) -> None:
    tok = _load_tokenizer(spec)
    by_ids: dict[tuple[int, ...], list[str]] = {}
    for label in LABELS:
        kw = label_in(label, language)
        by_ids.setdefault(tuple(tok.encode(kw, add_special_tokens=False)), []).append(kw)
    clashes = [kws for kws in by_ids.values() if len(kws) > 1]
    if clashes:
        shown = "; ".join(" = ".join(k) for k in clashes)
        raise BertScoreModelError(
            f"the tokenizer of {spec.model_type} cannot tell these {language!r} keywords apart: {shown}. "
            "Different labels would score as identical; use a model whose vocabulary covers the "
            "language (for Japanese: bert-base-multilingual-cased or a Japanese BERT folder)"
        )


# One loaded BERTScorer per (model, layer, lang, batch size) per process; each with a lock,
# because bert-score's tokenizer and model are not meant for concurrent calls from threads.
_LOADED: dict[tuple[Any, ...], tuple[Any, threading.Lock]] = {}
_LOAD_LOCK = threading.Lock()


def load_bertscorer(spec: BertScoreModel, batch_size: int) -> tuple[Any, threading.Lock]:
    """The ``BERTScorer`` for ``spec`` (loaded on first call) and the lock to hold while using it."""
    key = (spec.model_type, spec.num_layers, spec.lang, batch_size)
    with _LOAD_LOCK:
        if key not in _LOADED:
            from bert_score import BERTScorer

            _LOADED[key] = (
                BERTScorer(
                    model_type=spec.model_type,
                    num_layers=spec.num_layers,
                    lang=spec.lang,
                    batch_size=batch_size,
                    rescale_with_baseline=False,
                ),
                threading.Lock(),
            )
        return _LOADED[key]


class BertScoreSimilarity:
    """BERTScore of label pairs for one scorer instance: lazily loaded model + per-pair cache."""

    def __init__(self, spec: BertScoreModel, language: str, batch_size: int = 64, cache: bool = True) -> None:
        self.spec = spec
        self.language = check_language(language)
        self.batch_size = batch_size
        self.cache: PairCache[dict[str, float]] = PairCache(enabled=cache)
        self._checked = spec.local  # keywords were checked at construction when files were local

    def compute(self, gold_text: str, pred_text: str) -> dict[str, float]:
        """P/R/F1 of one pair (blocking: a model forward pass)."""
        if not pred_text:
            return {k: 0.0 for k in BERTSCORE_KEYS}
        bs, lock = load_bertscorer(self.spec, self.batch_size)
        with lock:
            if not self._checked:
                # BERTScorer keeps its tokenizer private; the same tokenizer, loaded the same way from the
                # files it just fetched, is the public route (once per scorer instance).
                _check_keywords_distinct(self.spec, self.language)
                self._checked = True
            p, r, f = bs.score([pred_text], [gold_text], batch_size=self.batch_size)
        return {"precision": float(p[0]), "recall": float(r[0]), "f1": float(f[0])}

    async def score_texts(self, texts: PairTexts) -> Score:
        value = await self.cache.get(texts.gold_text, texts.pred_text, self.compute)
        return Score(
            value=dict(value),
            answer=texts.pred_text,
            explanation=f"BERTScore F1 {value['f1']:.3f}: {texts.pred_text!r} vs gold {texts.gold_text!r}",
            metadata={**texts.metadata(), "model": self.spec.model_type, "num_layers": self.spec.num_layers},
        )

    async def score(self, gold: str, answer: str | None) -> Score:
        return await self.score_texts(pair_texts(gold, answer, self.language))


@scorer(metrics={k: [mean(), stderr()] for k in BERTSCORE_KEYS})
def bertscore_label(
    model: str | None = None, num_layers: int | None = None, language: str = "ja", batch_size: int = 64
) -> Scorer:
    """BERTScore P/R/F1 of predicted vs gold label text.

    Args:
        model: None = the model bert-score picks for ``language`` (must be in the local Hugging
            Face cache or the hub reachable); or a local model folder.
        num_layers: Layer whose embeddings are compared; default: bert-score's tuned layer for
            models it knows, the last layer (``num_hidden_layers``) for a local folder.
        language: "ja" (Japanese keywords) or "en" (English labels).
        batch_size: bert-score batch size.
    """
    sim = BertScoreSimilarity(check_bertscore_model(model, language, num_layers), language, batch_size)

    async def score(state: TaskState, target: Target) -> Score:
        return await sim.score(gold_label(target, state.sample_id), state.output.completion)

    return score
