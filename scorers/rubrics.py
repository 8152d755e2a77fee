"""The seven judge rubrics (five described levels each), read from versioned JSON data files.

``scorers/rubrics/rubrics_<language>.json`` holds, per language, a version string, the general
scoring principles and the seven metrics in a fixed order. The file's sha256 is computed from
its bytes, so a log that records version + hash pins the exact wording the judge saw.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from emplifai.judge_metrics import METRIC_KEYS
from emplifai.taxonomy import LANGUAGES

RUBRIC_DIR = Path(__file__).parent / "rubrics"
# Named rubric sets. "default" is the project's rubric (scoring principles: feelings first, no
# reward for length, no credit for correct-but-distant replies) in rubrics_<language>.json; every
# other name lives in rubrics_<name>_<language>.json. "neutral" states only the seven metrics'
# definitions and levels, so a probe run can show what the default rubric's principles change.
# "epitome" scores three other metrics (EPITOME_KEYS): the ways of conveying empathy that SYNTHEMPATHY
# measured (emotional reactions, interpretations, explorations), on the same 1-5 scale.
RUBRIC_NAMES: tuple[str, ...] = ("default", "neutral", "epitome")
DEFAULT_RUBRIC = "default"

EPITOME_KEYS: tuple[str, ...] = ("emotional_reactions", "interpretations", "explorations")
# The metric keys of each named rubric, in order, and every key any rubric can score.
RUBRIC_METRICS: dict[str, tuple[str, ...]] = {"default": METRIC_KEYS, "neutral": METRIC_KEYS, "epitome": EPITOME_KEYS}
ALL_METRIC_KEYS: tuple[str, ...] = (*METRIC_KEYS, *EPITOME_KEYS)
# Rubrics scoring the seven metrics (what the probes' metrics and the leaderboard's boards expect).
SEVEN_METRIC_RUBRICS: tuple[str, ...] = tuple(n for n, keys in RUBRIC_METRICS.items() if keys == METRIC_KEYS)
LEVELS: tuple[int, ...] = (1, 2, 3, 4, 5)


class RubricError(ValueError):
    """A rubric file is missing, malformed or incomplete; the message names the file and field."""


@dataclass(frozen=True)
class Rubric:
    """One metric: its key, display name, definition and the description of levels 1..5."""

    key: str
    name: str
    definition: str
    levels: tuple[str, str, str, str, str]  # levels[0] describes score 1

    def level(self, score: int) -> str:
        return self.levels[score - 1]


@dataclass(frozen=True)
class RubricSet:
    """All seven rubrics of one language, with the provenance recorded in every Score."""

    language: str
    version: str
    title: str
    principles: tuple[str, ...]
    rubrics: tuple[Rubric, ...]  # in METRIC_KEYS order
    sha256: str
    path: Path
    name: str = DEFAULT_RUBRIC

    def get(self, key: str) -> Rubric:
        for r in self.rubrics:
            if r.key == key:
                return r
        raise KeyError(f"no rubric {key!r} in {self.path}; expected one of {self.keys}")

    @property
    def keys(self) -> tuple[str, ...]:
        """The metric keys this rubric set scores, in order (METRIC_KEYS, or EPITOME_KEYS for epitome)."""
        return tuple(r.key for r in self.rubrics)

    def provenance(self) -> dict[str, str]:
        return {
            "rubric_name": self.name,
            "rubric_language": self.language,
            "rubric_version": self.version,
            "rubric_sha256": self.sha256,
        }


def rubric_path(language: str, name: str = DEFAULT_RUBRIC) -> Path:
    if language not in LANGUAGES:
        raise ValueError(f"unknown rubric language {language!r}; expected one of {LANGUAGES}")
    if name not in RUBRIC_NAMES:
        raise ValueError(f"unknown rubric {name!r}; expected one of {RUBRIC_NAMES}")
    stem = "rubrics" if name == DEFAULT_RUBRIC else f"rubrics_{name}"
    return RUBRIC_DIR / f"{stem}_{language}.json"


@cache
def load_rubrics(language: str, name: str = DEFAULT_RUBRIC) -> RubricSet:
    """Read and validate the rubric file of ``language`` ("ja" or "en") and rubric ``name``."""
    path = rubric_path(language, name)
    return parse_rubrics(path.read_bytes(), path, language, name)


def parse_rubrics(raw: bytes, path: Path, language: str, name: str = DEFAULT_RUBRIC) -> RubricSet:
    """Validate rubric JSON: every metric of METRIC_KEYS once, in order, each with levels 1..5."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RubricError(f"{path}: not valid UTF-8 JSON ({e})") from e
    if not isinstance(data, dict):
        raise RubricError(f"{path}: top level must be an object")
    version = _text(data, "version", path, "version")
    title = _text(data, "title", path, "title")
    if data.get("language") != language:
        raise RubricError(f"{path}: field 'language' is {data.get('language')!r}, expected {language!r}")
    principles = data.get("principles")
    if not isinstance(principles, list) or not principles or not all(
        isinstance(p, str) and p.strip() for p in principles
    ):
        raise RubricError(f"{path}: field 'principles' must be a non-empty list of non-empty strings")
    metrics = data.get("metrics")
    if not isinstance(metrics, list):
        raise RubricError(f"{path}: field 'metrics' must be a list")
    keys = [m.get("key") if isinstance(m, dict) else None for m in metrics]
    expected_keys = RUBRIC_METRICS.get(name, METRIC_KEYS)
    if tuple(keys) != expected_keys:
        raise RubricError(f"{path}: field 'metrics' has keys {keys}, expected exactly {list(expected_keys)} in order")
    rubrics = []
    for i, m in enumerate(metrics):
        where = f"metrics[{i}] ({m['key']})"
        levels = m.get("levels")
        expected = [str(n) for n in LEVELS]
        if not isinstance(levels, dict) or sorted(levels) != expected:
            got = sorted(levels) if isinstance(levels, dict) else type(levels).__name__
            raise RubricError(f"{path}: field '{where}.levels' must have exactly the keys {expected}, got {got}")
        texts = tuple(_text(levels, n, path, f"{where}.levels.{n}") for n in expected)
        rubrics.append(
            Rubric(
                key=m["key"],
                name=_text(m, "name", path, f"{where}.name"),
                definition=_text(m, "definition", path, f"{where}.definition"),
                levels=(texts[0], texts[1], texts[2], texts[3], texts[4]),
            )
        )
    return RubricSet(
        language=language,
        version=version,
        title=title,
        principles=tuple(principles),
        rubrics=tuple(rubrics),
        sha256=hashlib.sha256(raw).hexdigest(),
        path=path,
        name=name,
    )


def rubric_hashes(name: str = DEFAULT_RUBRIC) -> dict[str, str]:
    """``{language: "version sha256"}`` for every shipped file of rubric ``name`` (recorded in the scorer spec)."""
    out = {}
    for lang in LANGUAGES:
        rs = load_rubrics(lang, name)
        out[lang] = f"{rs.version} sha256:{rs.sha256}"
    return out


def _text(obj: dict[str, Any], key: str, path: Path, field: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise RubricError(f"{path}: field '{field}' must be a non-empty string, got {value!r}")
    return value
