"""The columns each board shows, their headers, and how a value is written, shared by the
Markdown and HTML pages (the CSV and JSON carry every column under its plain name)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emplifai.leaderboard.collect import EMOTION, GENERATION, OVERALL
from emplifai.scorers.rubrics import METRIC_KEYS
from emplifai.taxonomy import GROUPS

# The paper's short names for the seven metrics, in its order.
SHORT = {
    "comprehensibility": "CC",
    "general_empathy": "GE",
    "emotion_specific_empathy": "ESE",
    "consistency": "Cons",
    "fluency": "Flu",
    "harmlessness": "Harm",
    "sense_of_security": "Sec",
}


@dataclass(frozen=True)
class Col:
    key: str  # column of Board.rows
    header: str
    kind: str  # "int", "mean_ci", "num", "pct", "text", "list", "date", "path"
    digits: int = 2
    missing: str = "n/a"  # what an absent value reads as


def display_columns(task: str) -> list[Col]:
    head = [Col("rank", "Rank", "int"), Col("candidate", "Candidate", "text"), Col("tied_with", "Tied with", "list")]
    tail = [Col("n", "n", "int"), Col("date", "Date", "date"), Col("log", "Log", "path")]
    if task == GENERATION:
        return [
            *head,
            Col(OVERALL, "Overall", "mean_ci"),
            *[Col(k, SHORT[k], "mean_ci") for k in METRIC_KEYS],
            Col("format_failure_rate", "Format fail", "pct"),
            Col("unscored", "Unscored", "int"),
            Col("chars", "Chars/reply", "num", 1),
            Col("words", "Words/reply", "num", 1),
            *tail,
        ]
    if task == EMOTION:
        return [
            *head,
            Col("accuracy", "Accuracy", "mean_ci", 3),
            Col("macro_f1", "Macro-F1", "mean_ci", 3),
            Col("unparsed", "Unparsed", "int"),
            Col("bertscore_precision", "BERTScore P", "num", 3),
            Col("bertscore_recall", "BERTScore R", "num", 3),
            Col("bertscore_f1", "BERTScore F1", "mean_ci", 3),
            Col("fasttext", "fastText cos", "mean_ci", 3),
            *[Col(f"accuracy_{g}", f"Acc {g}", "num", 3) for g in GROUPS],
            Col("bertscore_model", "BERTScore model", "text", missing="not scored"),
            *tail,
        ]
    raise ValueError(f"unknown task {task!r}")


def paper_columns(task: str) -> list[Col]:
    if task == GENERATION:
        return [Col("model", "Model (paper)", "text"), *[Col(k, SHORT[k], "num", missing=_NR) for k in METRIC_KEYS],
                Col("chars", "Chars/reply", "num", missing=_NR), Col("words", "Words/reply", "num", missing=_NR)]
    return [Col("model", "Model (paper)", "text"), Col("bertscore_precision", "BERTScore P", "num", missing=_NR),
            Col("bertscore_recall", "BERTScore R", "num", missing=_NR),
            Col("bertscore_f1", "BERTScore F1", "num", missing=_NR), Col("fasttext", "fastText cos", "num", missing=_NR)]


_NR = "not reported"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_num(value: Any, digits: int = 2) -> str:
    return "n/a" if _missing(value) else f"{float(value):.{digits}f}"


def cell_text(col: Col, row: dict[str, Any]) -> str:
    """How a value reads on a page (the CSV keeps raw numbers)."""
    value = row.get(col.key)
    if _missing(value) and col.kind not in ("list",):
        return col.missing
    if col.kind == "mean_ci":
        lo, hi = row.get(f"{col.key}_ci_low"), row.get(f"{col.key}_ci_high")
        ci = "n/a" if _missing(lo) or _missing(hi) else f"{lo:.{col.digits}f}–{hi:.{col.digits}f}"
        return f"{value:.{col.digits}f} [{ci}]"
    if col.kind == "num":
        return fmt_num(value, col.digits)
    if col.kind == "pct":
        return "n/a" if _missing(value) else f"{100 * float(value):.0f}%"
    if col.kind == "int":
        return "n/a" if _missing(value) else str(int(value))
    if col.kind == "list":
        return ", ".join(value) if value else "—"
    if col.kind == "date":
        return str(value)[:16].replace("T", " ") if value else ""
    if col.kind == "path":
        return Path(str(value)).name if value else ""
    return "" if _missing(value) else str(value)


def sort_value(col: Col, row: dict[str, Any]) -> str:
    """The value a table sorts on: the number itself for numeric columns, else the text."""
    value = row.get(col.key)
    if col.kind in ("mean_ci", "num", "pct", "int"):
        return "" if _missing(value) else repr(float(value))
    if col.kind == "list":
        return str(len(value or []))
    return str(value or "")
