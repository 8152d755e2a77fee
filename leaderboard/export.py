"""The leaderboard as CSV (one flat table) and JSON (everything, nested)."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from emplifai.leaderboard.boards import KEY_FIELDS, Leaderboard
from emplifai.leaderboard.paper_rows import PaperFigures
from emplifai.leaderboard.stats import METHOD
from emplifai.leaderboard.summary import summary


def _clean(value: Any) -> Any:
    """JSON-safe: NaN -> null, numpy scalars -> Python, timestamps -> ISO text."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if value is pd.NA:
        return None
    return value


def csv_frame(lb: Leaderboard, paper: PaperFigures | None = None) -> pd.DataFrame:
    """One row per counted candidate per board, board identity in the first columns; then the
    paper's rows (``source`` = the paper label, no rank)."""
    frames = []
    for board in lb.boards:
        rows = (
            pd.concat([board.rows, board.self_judged], ignore_index=True)
            if len(board.self_judged)
            else board.rows.copy()
        )
        if rows.empty:
            continue
        rows["tied_with"] = rows["tied_with"].map(lambda v: "; ".join(v) if isinstance(v, list) else "")
        rows["evidence"] = rows["evidence"].map(
            lambda e: f"vs {e['vs']}: p_holm={e['p_holm']:.4g}" if isinstance(e, dict) else ""
        )
        for col in ("panel",):
            if col in rows:
                rows[col] = rows[col].map(lambda v: "; ".join(v) if isinstance(v, list) else "")
        rows["condition"] = rows["condition"].map(lambda v: json.dumps(v, ensure_ascii=False) if v else "")
        ident = {"board": board.id, "task": board.task, **{f: board.key.get(f) for f in KEY_FIELDS[board.task]}}
        frames.append(pd.concat([pd.DataFrame([ident] * len(rows)), rows], axis=1))
    if paper is not None:
        for task, table in paper.tables.items():
            rows = table.rows.rename(columns={"model": "candidate"}).copy()
            rows.insert(0, "source", paper.label)
            rows.insert(0, "task", task)
            rows.insert(0, "board", f"paper-{task}")
            frames.append(rows)
    if not frames:
        return pd.DataFrame(columns=["board", "task", "rank", "candidate"])
    out = pd.concat(frames, ignore_index=True)
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(csv_text)
    return out


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP's "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: Any) -> Any:
    """A text cell a spreadsheet shows as text: a leading formula character gets a ``'`` before it.
    Quoting of commas, quotes and line breaks is the CSV writer's."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _summary_document(lb: Leaderboard) -> dict[str, Any]:
    """The candidates x judges table: columns (one per generation board) and a row per candidate."""
    columns, rows = summary(lb)
    return {
        "columns": [c.__dict__ for c in columns],
        "rows": [{"candidate": r.candidate, "page": r.page, "cells": r.cells} for r in rows],
    }


def json_document(lb: Leaderboard, paper: PaperFigures | None = None) -> dict[str, Any]:
    boards = []
    for board in lb.boards:
        boards.append(
            {
                "id": board.id,
                "task": board.task,
                "title": board.title,
                "ranked_together_because_they_share": {f: board.key.get(f) for f in KEY_FIELDS[board.task]},
                "rank_metric": board.rank_metric,
                "rows": board.rows.to_dict(orient="records"),
                "pairwise_tests": board.pairwise.to_dict(orient="records"),
                "per_emotion": {
                    cand: {lab: v for lab, v in vals.items() if not (isinstance(v, float) and math.isnan(v))}
                    for cand, vals in board.per_emotion.to_dict(orient="index").items()
                },
                "superseded": board.superseded,
                "self_judged": board.self_judged.to_dict(orient="records") if len(board.self_judged) else [],
                "judge_checks": [c.__dict__ for c in board.judge_checks],
                "data_note": board.data_note,
            }
        )
    doc: dict[str, Any] = {
        "generated_at": lb.generated_at,
        "log_dir": lb.log_dir,
        "method": METHOD,
        "separation_notes": lb.separation_notes,
        "boards": boards,
        "superseded": lb.superseded,
        "skipped": [s.__dict__ for s in lb.skipped],
        "judge_checks": [c.__dict__ for c in lb.judge_checks],
        "summary": _summary_document(lb),
    }
    if paper is not None:
        doc["paper"] = {
            "label": paper.label,
            "source": paper.source,
            "tables": {t: {"note": p.note, "rows": p.rows.to_dict(orient="records")} for t, p in paper.tables.items()},
        }
    return _clean(doc)
