"""The columns each board shows, their headers, and how a value is written, shared by the
Markdown and HTML pages (the CSV and JSON carry every column under its plain name)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from emplifai.judge_metrics import METRIC_KEYS
from emplifai.leaderboard.collect import EMOTION, GENERATION, OVERALL
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


# Latin first, then fonts that have Japanese glyphs (Debian/Ubuntu: fonts-noto-cjk; macOS: Hiragino;
# Windows: Yu Gothic, Meiryo). Without any of them Japanese renders as boxes (docs/leaderboard.md).
FONT_STACK = (
    'system-ui, -apple-system, "Segoe UI", "Noto Sans CJK JP", "Noto Sans JP", "Hiragino Sans", '
    '"Hiragino Kaku Gothic ProN", "Yu Gothic", Meiryo, sans-serif'
)

NOT_SCORED = "not scored"
# The rank metrics' cells show how many samples their mean is of when it is fewer than this, or
# fewer than the run's samples (some were unscored).
FEW_SCORED = 10
RANK_KEYS = (OVERALL, "accuracy")

# Column groups, in table order, with the label of the header row above them.
GROUP_LABELS = {
    "rank": "",
    "metrics": "Metrics: means [95% CI]",
    "diagnostics": "Diagnostics",
    "provenance": "Provenance",
}


@dataclass(frozen=True)
class Col:
    key: str  # column of Board.rows
    header: str
    kind: str  # "int", "mean_ci", "num", "pct", "text", "list", "date", "path", "evidence"
    digits: int = 2
    missing: str = "n/a"  # what an absent value reads as
    group: str = "rank"
    tip: str = ""  # the header's tooltip


def display_columns(task: str, *, ranked: bool = True, panel: bool = False, compact: bool = False) -> list[Col]:
    """The columns of a board's table. ``ranked=False``: the unranked table (no rank, a reason).
    ``compact``: the page's table, which fits 1,400 px: provenance (date, log, epochs, tied with,
    scorer, encoder models) leaves the table for the candidate cell's tooltip (``provenance_text``),
    except n."""
    cols = _display_columns(task, ranked=ranked, panel=panel)
    if compact:
        # n stays, among the diagnostics (a one-column "Provenance" group label would widen it)
        cols = [replace(c, group="diagnostics") if c.key == "n" else c for c in cols if c.group != "provenance" or c.key == "n"]
    return cols


def provenance_text(task: str, row: dict[str, Any]) -> str:
    """The provenance columns of a row as one line (the compact table's candidate tooltip)."""
    parts = [f"{c.header}: {cell_text(c, row) if c.kind != 'path' else row.get(c.key) or ''}"
             for c in _display_columns(task) if c.group == "provenance" and c.key != "n"]
    return "; ".join(parts)


def _display_columns(task: str, *, ranked: bool = True, panel: bool = False) -> list[Col]:
    if ranked:
        head = [
            Col("rank", "Rank", "int", tip="1 + rows significantly better (exact paired test, Holm)"),
            Col("candidate", "Candidate", "text"),
            Col(
                "evidence",
                "vs row above",
                "evidence",
                tip="Holm-adjusted p of the exact paired test against the row above",
            ),
        ]
    else:
        head = [Col("candidate", "Candidate", "text"), Col("self_judged", "Why not ranked", "text")]
    tail = [
        Col("tied_with", "Tied with", "list", group="provenance"),
        Col("n", "n", "int", group="provenance"),
        Col("epochs", "Epochs", "int", group="provenance"),
        Col("date", "Date", "date", group="provenance"),
        Col("log", "Log", "path", group="provenance"),
    ]
    if task == GENERATION:
        return [
            *head,
            Col(OVERALL, "Overall", "mean_ci", group="metrics", tip="mean of the seven metrics (rank metric)"),
            Col("overall_lc", "Overall at len.", "mean_ci", group="metrics",
                tip="overall at a common reply length: the judge audit's length-controlled mean (Method: length control)"),
            *[Col(k, SHORT[k], "mean_ci", group="metrics", tip=k.replace("_", " ")) for k in METRIC_KEYS],
            *(
                [
                    Col(
                        "alpha",
                        "Judges α",
                        "num",
                        group="diagnostics",
                        tip="Krippendorff's alpha (interval) of the panel's judges on the overall score",
                    )
                ]
                if panel
                else []
            ),
            Col(
                "format_failure_rate",
                "Format fail",
                "pct",
                group="diagnostics",
                tip="not a two-turn dialogue: 1 everywhere",
            ),
            Col("unscored", "Unscored", "int", group="diagnostics", tip="samples the judge never scored"),
            Col(
                "incomplete_epochs",
                "Part. epochs",
                "int",
                group="diagnostics",
                tip="samples judged in some epochs but not all: counted as unscored",
            ),
            Col("chars", "Chars", "num", 1, NOT_SCORED, "diagnostics", "mean characters per supporter reply"),
            Col("words", "Words", "num", 1, NOT_SCORED, "diagnostics", "mean words per supporter reply"),
            *tail,
            Col("judge_scorer", "Scores", "text", group="provenance", tip="the score name in the log"),
        ]
    if task == EMOTION:
        return [
            *head,
            Col("accuracy", "Accuracy", "mean_ci", 3, group="metrics", tip="strict label match (rank metric)"),
            Col("macro_f1", "Macro-F1", "mean_ci", 3, group="metrics"),
            Col("bertscore_f1", "BERTScore F1", "mean_ci", 3, NOT_SCORED, "metrics"),
            Col("fasttext", "fastText cos", "mean_ci", 3, NOT_SCORED, "metrics"),
            *[
                Col(f"accuracy_{g}", f"Acc {g[:3]}.", "num", 3, "no sample", "metrics", f"accuracy on {g} gold labels")
                for g in GROUPS
            ],
            Col("unparsed", "Unparsed", "int", group="diagnostics", tip="answers naming no label (counted wrong)"),
            Col("bertscore_precision", "BERTScore P", "num", 3, NOT_SCORED, "diagnostics"),
            Col("bertscore_recall", "BERTScore R", "num", 3, NOT_SCORED, "diagnostics"),
            Col("bertscore_model", "BERTScore model", "text", missing=NOT_SCORED, group="provenance"),
            Col("fasttext_model", "fastText model", "text", missing=NOT_SCORED, group="provenance"),
            *tail,
        ]
    raise ValueError(f"unknown task {task!r}")


def evidence_text(row: dict[str, Any]) -> tuple[str, str]:
    """The rank's evidence against the row above: short text and the full sentence (tooltip)."""
    ev = row.get("evidence")
    tied = row.get("tied_with") or []
    tied_text = f" Tied with: {', '.join(tied)}." if tied else " Tied with no row."
    if not isinstance(ev, dict):
        return "top row", "The first row of the board." + tied_text
    verdict = "lower" if ev["significant"] else "tied"
    short = f"{verdict}, p={ev['p_holm']:.3g}"
    full = (
        f"{ev['test']} test against {ev['vs']} (the row above): mean difference {ev['diff']:+.3f} over "
        f"{ev['n_shared']} shared samples ({ev['n_differ']} differ); p = {ev['p']:.4g}, Holm-adjusted "
        f"p = {ev['p_holm']:.4g}: {'significantly lower' if ev['significant'] else 'not significantly different'}."
        + tied_text
    )
    return short, full


def paper_columns(task: str) -> list[Col]:
    if task == GENERATION:
        return [
            Col("model", "Model (paper)", "text"),
            *[Col(k, SHORT[k], "num", missing=_NR) for k in METRIC_KEYS],
            Col("chars", "Chars/reply", "num", missing=_NR),
            Col("words", "Words/reply", "num", missing=_NR),
        ]
    return [
        Col("model", "Model (paper)", "text"),
        Col("bertscore_precision", "BERTScore P", "num", missing=_NR),
        Col("bertscore_recall", "BERTScore R", "num", missing=_NR),
        Col("bertscore_f1", "BERTScore F1", "num", missing=_NR),
        Col("fasttext", "fastText cos", "num", missing=_NR),
    ]


_NR = "not reported"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_num(value: Any, digits: int = 2) -> str:
    return "n/a" if _missing(value) else f"{float(value):.{digits}f}"


def cell_text(col: Col, row: dict[str, Any]) -> str:
    """How a value reads on a page (the CSV keeps raw numbers)."""
    value = row.get(col.key)
    if col.kind == "evidence":
        return evidence_text(row)[0]
    if _missing(value) and col.kind not in ("list",):
        return col.missing
    if col.kind == "mean_ci":
        lo, hi = row.get(f"{col.key}_ci_low"), row.get(f"{col.key}_ci_high")
        ci = "n/a" if _missing(lo) or _missing(hi) else f"{lo:.{col.digits}f}–{hi:.{col.digits}f}"
        scored, n = row.get("n_scored"), row.get("n")
        if col.key in RANK_KEYS and not _missing(scored) and (scored < FEW_SCORED or (not _missing(n) and scored < n)):
            ci += f"; n={int(scored)}"  # a mean of few (or of only some) samples says so beside it
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
    if col.kind == "evidence":
        return repr(float(value["p_holm"])) if isinstance(value, dict) else "-1"
    if col.kind in ("mean_ci", "num", "pct", "int"):
        return "" if _missing(value) else repr(float(value))
    if col.kind == "list":
        return str(len(value or []))
    return str(value or "")
