"""The table above the boards: every generation candidate against every judge (and panel).

One column per generation board (a judge, or a panel of judges, with its rubric and data); when
two boards share a judge, the column says what else tells them apart. A cell is the candidate's
overall mean with its 95% CI and its rank within that board, or why it is not ranked there
(self-judged, no scored sample); an empty cell means that judge never scored the candidate.
Rows: the best rank a candidate has on any board first, then the higher mean overall.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

from emplifai.leaderboard.boards import KEY_FIELDS, Board, Leaderboard
from emplifai.leaderboard.collect import GENERATION, OVERALL


@dataclass
class SummaryColumn:
    board: str  # the board id (its section's anchor is board-<id>)
    judge: str  # the judge model, or "panel mean of A + B"
    detail: str  # what else tells this board from another board of the same judge ("" if nothing)
    panel: bool


@dataclass
class SummaryRow:
    candidate: str
    page: str  # the candidate's page, relative to the leaderboard page
    cells: dict[str, dict[str, Any]] = field(default_factory=dict)  # by board id


def candidate_page(candidate: str) -> str:
    """A file name from the candidate's name (any characters) that no name can turn into a path."""
    return f"candidates/{hashlib.sha256(candidate.encode('utf-8')).hexdigest()[:16]}.html"


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 24 else text[:21] + "…"


def _columns(boards: list[Board]) -> list[SummaryColumn]:
    out = []
    for b in boards:
        judge = str(b.key.get("judge_model"))
        same = [o for o in boards if str(o.key.get("judge_model")) == judge]
        differing = [f for f in KEY_FIELDS[GENERATION] if f != "judge_model" and len({str(o.key.get(f)) for o in same}) > 1]
        detail = ", ".join(f"{f} {_short(b.key.get(f))}" for f in differing)
        out.append(SummaryColumn(b.id, judge, detail, b.is_panel))
    return out


def _num(value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return math.nan
    return v


def _cell(row: dict[str, Any], ranked: bool) -> dict[str, Any]:
    return {
        "overall": _num(row.get(OVERALL)),
        "ci_low": _num(row.get(f"{OVERALL}_ci_low")),
        "ci_high": _num(row.get(f"{OVERALL}_ci_high")),
        "rank": int(row["rank"]) if ranked and not math.isnan(_num(row.get("rank"))) else None,
        "board_size": None,
        "n": row.get("n"),
        "n_scored": row.get("n_scored"),
        "not_ranked": None if ranked else str(row.get("self_judged") or "not ranked"),
    }


def summary(lb: Leaderboard) -> tuple[list[SummaryColumn], list[SummaryRow]]:
    """The columns and rows of the candidates x judges table (generation boards only)."""
    boards = [b for b in lb.boards if b.task == GENERATION]
    columns = _columns(boards)
    rows: dict[str, SummaryRow] = {}
    for b in boards:
        ranked = b.rows.to_dict(orient="records") if len(b.rows) else []
        apart = b.self_judged.to_dict(orient="records") if len(b.self_judged) else []
        for rec, is_ranked in [(r, True) for r in ranked] + [(r, False) for r in apart]:
            name = str(rec["candidate"])
            cell = _cell(rec, is_ranked)
            cell["board_size"] = len(ranked)
            rows.setdefault(name, SummaryRow(name, candidate_page(name))).cells[b.id] = cell

    def order(r: SummaryRow) -> tuple[float, float, str]:
        ranks = [c["rank"] for c in r.cells.values() if c["rank"] is not None]
        means = [c["overall"] for c in r.cells.values() if not math.isnan(c["overall"])]
        return (min(ranks) if ranks else math.inf, -(sum(means) / len(means)) if means else math.inf, r.candidate)

    return columns, sorted(rows.values(), key=order)


def cell_text(cell: dict[str, Any] | None) -> tuple[str, str]:
    """(value, detail) of a summary cell as the pages write it."""
    if cell is None:
        return "—", "not judged"
    if math.isnan(cell["overall"]):
        return "n/a", "not ranked: no scored sample" if cell["not_ranked"] else "no score"
    ci = "n/a" if math.isnan(cell["ci_low"]) or math.isnan(cell["ci_high"]) else f"{cell['ci_low']:.2f}–{cell['ci_high']:.2f}"
    few = cell["n_scored"] is not None and cell["n"] is not None and cell["n_scored"] < cell["n"]
    n = f"; n={int(cell['n_scored'])}" if few else ""
    where = f"rank {cell['rank']} of {cell['board_size']}" if cell["rank"] is not None else "not ranked"
    return f"{cell['overall']:.2f}", f"[{ci}{n}] {where}"
