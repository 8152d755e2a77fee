"""The EmplifAI paper's reported figures (``paper_figures.json``), shown beside measured rows.

They are never ranked with measured rows: they were not run here, on a different dataset copy,
with a different judge and pipeline. Every output marks them with ``PAPER_LABEL``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from emplifai.leaderboard.collect import EMOTION, GENERATION

PAPER_FIGURES_PATH = Path(__file__).parent / "paper_figures.json"
PAPER_LABEL = "reported in the paper, not run here"


class PaperFiguresError(ValueError):
    """The paper figures file is malformed; the message names the file, row and field."""


@dataclass(frozen=True)
class PaperTable:
    task: str
    note: str
    columns: tuple[str, ...]
    rows: pd.DataFrame  # model + columns; NaN where the paper gives no figure


@dataclass(frozen=True)
class PaperFigures:
    source: str
    label: str
    tables: dict[str, PaperTable]


def load_paper_figures(path: str | Path = PAPER_FIGURES_PATH) -> PaperFigures:
    """Read and check the figures file: every row has a model name and a number or null per column."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise PaperFiguresError(f"{path}: cannot read ({e})") from e
    if data.get("label") != PAPER_LABEL:
        raise PaperFiguresError(f"{path}: field 'label' must be {PAPER_LABEL!r}, got {data.get('label')!r}")
    tables = {}
    for task in (EMOTION, GENERATION):
        section = data.get(task)
        if not isinstance(section, dict):
            raise PaperFiguresError(f"{path}: field '{task}' must be an object")
        columns = tuple(section.get("columns") or ())
        rows = []
        for i, raw in enumerate(section.get("rows") or [], start=1):
            if not isinstance(raw.get("model"), str) or not raw["model"].strip():
                raise PaperFiguresError(f"{path}: {task} row {i}, field 'model': must be a non-empty string")
            row: dict[str, Any] = {"model": raw["model"]}
            for col in columns:
                value = raw.get(col, "missing")
                if value is None:
                    row[col] = math.nan
                elif isinstance(value, int | float) and not isinstance(value, bool):
                    row[col] = float(value)
                else:
                    raise PaperFiguresError(
                        f"{path}: {task} row {i}, field '{col}': expected a number or null, got {value!r}"
                    )
            rows.append(row)
        if not rows:
            raise PaperFiguresError(f"{path}: field '{task}.rows' is empty")
        tables[task] = PaperTable(
            task, str(section.get("note", "")), columns, pd.DataFrame(rows, columns=["model", *columns])
        )
    return PaperFigures(source=str(data.get("source", "")), label=data["label"], tables=tables)
