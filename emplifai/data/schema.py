"""Canonical schema of an EmplifAI-format dataset: one row per two-turn dialogue."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emplifai.errors import UserError

TURN_COLUMNS: tuple[str, ...] = ("patient_1", "supporter_1", "patient_2", "supporter_2")
CANONICAL_COLUMNS: tuple[str, ...] = ("dialogue_id", "situation_id", "emotion", "situation", *TURN_COLUMNS)
OPTIONAL_COLUMNS: tuple[str, ...] = ("emotion_ja", "split")


@dataclass(frozen=True)
class DialogueRecord:
    """One validated dialogue. ``emotion`` is always a canonical English label."""

    dialogue_id: str
    situation_id: str
    emotion: str
    situation: str
    patient_1: str
    supporter_1: str
    patient_2: str
    supporter_2: str
    emotion_ja: str | None = None
    split: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def turns(self) -> list[tuple[str, str]]:
        """The four turns as (role, text), role in {"patient", "supporter"}."""
        return [(col.rsplit("_", 1)[0], getattr(self, col)) for col in TURN_COLUMNS]

    def turn_texts(self) -> tuple[str, str, str, str]:
        """patient_1, supporter_1, patient_2, supporter_2."""
        return (self.patient_1, self.supporter_1, self.patient_2, self.supporter_2)


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file. ``row`` is 1-based over data rows (header excluded)."""

    file: str
    row: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.field is not None:
            where += f", field '{self.field}'"
        return f"{where}: {self.message}"


class DataSourceError(UserError):
    """The source cannot be read at all (missing file, unknown format or encoding, bad column map,
    hub failure)."""


class DataValidationError(UserError):
    """Raised when a dataset has problems; carries every problem, not just the first. Printed by
    Inspect and the CLI as its message (the problem list) with no traceback."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        shown = "\n".join(f"  - {p}" for p in self.problems[:50])
        more = f"\n  ... and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        super().__init__(f"{len(self.problems)} problem(s) in the data:\n{shown}{more}")
