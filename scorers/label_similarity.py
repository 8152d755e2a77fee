"""What text each side of a label similarity is, and a per-pair cache shared by the similarity
scorers (BERTScore, fastText).

Gold side: the gold label's keyword in the run's language (the Japanese keyword for ``"ja"``,
the canonical English label for ``"en"``). Predicted side: the keyword of the label the answer
normalises to, in the same language; if the answer names no label, its first line, cleaned and
cut to ``MAX_RAW_CHARS`` characters, so that a similarity still reflects what the model said (as
the paper scored free answers). An answer with no text at all gives ``""``.

A similarity depends only on the ``(gold_text, pred_text)`` pair. With 28 gold keywords and
mostly label-shaped answers, a run of thousands of samples has few distinct pairs, so
``PairCache`` computes each distinct pair once and makes concurrent samples that need the same
pair wait for that one computation instead of repeating it.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import anyio
import anyio.to_thread
from inspect_ai.scorer import Target

from emplifai.taxonomy import BY_LABEL, label_in, normalize_label

MAX_RAW_CHARS = 50

T = TypeVar("T")

# Markdown and quoting around a free answer; removed so that "**わかりません**" and "わかりません"
# are the same text. Label mapping is not done here: that is emplifai.taxonomy.normalize_label.
_MARKUP = re.compile(r"\*\*|__|`")
_EDGE_CHARS = " \t\"'*_#>「」『』【】[]<>《》〈〉"


def gold_label(target: Target, sample_id: Any) -> str:
    """The sample's gold label, which must be one canonical English label."""
    text = target.text.strip()
    if text not in BY_LABEL:
        raise ValueError(
            f"sample {sample_id!r}: target {target.target!r} is not one of the 28 canonical labels; "
            "the emotion task's target must be the gold label in English (e.g. 'sadness')"
        )
    return text


def raw_answer_text(answer: str | None, max_chars: int = MAX_RAW_CHARS) -> str:
    """First non-empty line of a free answer, NFKC-normalised, markup and quotes stripped,
    whitespace collapsed, cut to ``max_chars`` characters ("" when there is no text)."""
    if not answer:
        return ""
    for line in unicodedata.normalize("NFKC", answer).splitlines():
        cleaned = " ".join(_MARKUP.sub("", line).split()).strip(_EDGE_CHARS)
        if cleaned:
            return cleaned[:max_chars].strip()
    return ""


@dataclass(frozen=True)
class PairTexts:
    """The two texts a similarity scorer compares, and how the predicted one was obtained."""

    gold_label: str
    gold_text: str
    pred_label: str | None  # None: the answer named no label
    pred_text: str

    @property
    def parsed(self) -> bool:
        return self.pred_label is not None

    def metadata(self) -> dict[str, Any]:
        return {
            "gold": self.gold_label,
            "pred": self.pred_label,
            "parsed": self.parsed,
            "gold_text": self.gold_text,
            "pred_text": self.pred_text,
        }


def pair_texts(gold: str, answer: str | None, language: str) -> PairTexts:
    """Gold and predicted text for one sample (see the module docstring for the rules)."""
    pred = normalize_label(answer)
    pred_text = label_in(pred, language) if pred is not None else raw_answer_text(answer)
    return PairTexts(gold_label=gold, gold_text=label_in(gold, language), pred_label=pred, pred_text=pred_text)


class PairCache(Generic[T]):
    """Values keyed by ``(gold_text, pred_text)``, each computed once.

    ``get`` runs ``compute`` in a worker thread (``anyio.to_thread``, as Inspect does for its
    own blocking work) so a model forward pass does not stall the event loop that drives the
    other samples. Callers that miss on the same key while it is being computed wait on that
    key's lock and then read the stored value, so two samples with the same pair never both
    compute it. Locks exist only while a key is being computed, so a cache reused by a later
    run (another event loop) holds no lock from the earlier one.

    ``enabled=False`` computes on every call through the same path; it exists to measure what
    the cache saves (bench/label_scoring.py).
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._values: dict[tuple[str, str], T] = {}
        self._locks: dict[tuple[str, str], anyio.Lock] = {}
        # Guards the two dicts if the cache is ever used from more than one thread or loop.
        self._guard = threading.Lock()
        self.computed = 0  # number of compute calls made through this cache

    def __len__(self) -> int:
        return len(self._values)

    async def get(self, gold_text: str, pred_text: str, compute: Callable[[str, str], T]) -> T:
        key = (gold_text, pred_text)
        if not self.enabled:
            return await self._compute(key, compute)
        with self._guard:
            if key in self._values:
                return self._values[key]
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = anyio.Lock()
        try:
            async with lock:
                with self._guard:
                    if key in self._values:
                        return self._values[key]
                value = await self._compute(key, compute)
                with self._guard:
                    self._values[key] = value
                return value
        finally:
            with self._guard:
                # Waiters hold their own reference; later callers find the value instead.
                if self._locks.get(key) is lock:
                    del self._locks[key]

    async def _compute(self, key: tuple[str, str], compute: Callable[[str, str], T]) -> T:
        with self._guard:
            self.computed += 1
        return await anyio.to_thread.run_sync(compute, *key)
