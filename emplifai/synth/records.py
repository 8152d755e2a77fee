"""The records a synthetic run passes between its stages and writes out: the run's configuration,
one generated item with its filter outcomes, and the run's result."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emplifai.data.near_duplicates import DEFAULT_NGRAM, DEFAULT_THRESHOLD
from emplifai.scorers import synth_filters as F
from emplifai.scorers.synth_filters import Outcome


@dataclass
class SynthConfig:
    """Everything that shapes a run (recorded in the summary)."""

    emotions: list[str]
    per_emotion: int
    out: Path
    dialogues: int = 2
    seed: int = 42
    data: str | None = None
    thresholds: dict[str, int] = field(default_factory=lambda: dict(F.DEFAULT_THRESHOLDS))
    label_mode: str = "group"
    balance: str = "equal"
    dup_threshold: float = DEFAULT_THRESHOLD
    ngram: int = DEFAULT_NGRAM
    judge_mode: str = "all"
    language: str = "ja"
    eval_n: int = 100
    eval_seed: int = 42
    max_connections: int | None = None
    cache: bool = True
    structured: str = "auto"  # the rubric judge's structured output: auto | on | off

    def as_json(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["out"] = str(self.out)
        return d


@dataclass
class Item:
    """One generated item: a situation (stages 1-2) or a dialogue (stage 3)."""

    id: str
    kind: str  # "situation" | "dialogue"
    emotion: str
    situation_id: str
    fields: dict[str, Any] = field(default_factory=dict)
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    def failed_at(self, order: tuple[str, ...]) -> str | None:
        for name in order:
            o = self.outcomes.get(name)
            if o is not None and o.passed is False:
                return name
        return None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "emotion": self.emotion, "situation_id": self.situation_id,
            **self.fields, "outcomes": {k: v.as_json() for k, v in self.outcomes.items()},
        }


@dataclass
class SynthResult:
    situations: list[Item]
    dialogues: list[Item]
    kept: list[Item]
    logs: dict[str, str]
    models: dict[str, str]
    balance_cap: int | None = None
