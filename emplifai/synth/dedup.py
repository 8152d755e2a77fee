"""Near-duplicate detection on character n-grams: MinHash LSH proposes, exact Jaccard decides.

Texts are compared as sets of character n-grams (default 3) of a normalised copy: NFKC, lower
case, whitespace and punctuation removed, so "私は、透析に通っている。" and "私は透析に通っている"
are the same text. Two texts are near-duplicates when the Jaccard similarity of their n-gram
sets is at least ``threshold`` (default 0.5: half of all distinct 3-grams of the two texts are
shared; for two 60-character Japanese situations that means the same scene with a few words
changed).

``datasketch``'s MinHash LSH finds candidate pairs without comparing every pair (a synthetic
batch against the 4,125 real dialogues); it is queried at a lower threshold than the decision
(``threshold * LSH_MARGIN``), so that a true near-duplicate is rarely missed by the estimate, and
every candidate is then checked with the exact Jaccard of the two n-gram sets. The decision is
therefore exact for every pair LSH proposes, and the only error left is a (rare) missed candidate.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from emplifai.errors import UserError

DEFAULT_NGRAM = 3
DEFAULT_THRESHOLD = 0.5
NUM_PERM = 128
LSH_MARGIN = 0.7
_DROP = re.compile(r"[\s\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    """NFKC, lower case, whitespace and punctuation removed."""
    return _DROP.sub("", unicodedata.normalize("NFKC", text or "").lower())


def shingles(text: str, n: int = DEFAULT_NGRAM) -> frozenset[str]:
    """Character n-grams of the normalised text (the whole text when shorter than n)."""
    s = normalise(text)
    if not s:
        return frozenset()
    if len(s) <= n:
        return frozenset({s})
    return frozenset(s[i : i + n] for i in range(len(s) - n + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Exact Jaccard similarity of two sets (0 for two empty sets)."""
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)


@dataclass(frozen=True)
class Match:
    """The closest earlier text an item duplicates: its key and the exact Jaccard."""

    key: str
    similarity: float


class NearDupIndex:
    """Texts seen so far; ``check_and_add`` answers "is this a near-duplicate of one of them?".

    Reference texts (the real data) are added with ``add``; candidates are checked in order with
    ``check_and_add``, which adds a candidate only when it is *not* a duplicate, so of a group of
    near-identical synthetic items the first is kept and the later ones are dropped.
    """

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, n: int = DEFAULT_NGRAM, seed: int = 1) -> None:
        if not 0.0 < threshold <= 1.0:
            raise UserError(f"near-duplicate threshold must be in (0, 1], got {threshold!r}")
        try:
            from datasketch import MinHash, MinHashLSH
        except ImportError as e:
            raise UserError(
                "near-duplicate removal needs the 'datasketch' package: pip install 'emplifai[synth]'"
            ) from e
        self._MinHash = MinHash
        self.threshold = threshold
        self.n = n
        self.seed = seed
        self._lsh = MinHashLSH(threshold=max(0.05, threshold * LSH_MARGIN), num_perm=NUM_PERM)
        self._sets: dict[str, frozenset[str]] = {}

    def __len__(self) -> int:
        return len(self._sets)

    def _minhash(self, grams: frozenset[str]):
        m = self._MinHash(num_perm=NUM_PERM, seed=self.seed)
        m.update_batch([g.encode("utf-8") for g in sorted(grams)])
        return m

    def add(self, key: str, text: str) -> None:
        """Add a reference text (never checked). Keys must be unique."""
        if key in self._sets:
            raise ValueError(f"duplicate key {key!r} in the near-duplicate index")
        grams = shingles(text, self.n)
        self._sets[key] = grams
        if grams:
            self._lsh.insert(key, self._minhash(grams))

    def add_many(self, items: Iterable[tuple[str, str]]) -> None:
        for key, text in items:
            self.add(key, text)

    def nearest(self, text: str) -> Match | None:
        """The most similar indexed text at or above the threshold (exact Jaccard), else None."""
        grams = shingles(text, self.n)
        if not grams:
            return None
        best: Match | None = None
        for key in self._lsh.query(self._minhash(grams)):
            sim = jaccard(grams, self._sets[key])
            if sim >= self.threshold and (best is None or sim > best.similarity or
                                          (sim == best.similarity and key < best.key)):
                best = Match(key, sim)
        return best

    def check_and_add(self, key: str, text: str) -> Match | None:
        """None (and ``text`` is indexed) when new; the match when it is a near-duplicate."""
        match = self.nearest(text)
        if match is None:
            self.add(key, text)
        return match
