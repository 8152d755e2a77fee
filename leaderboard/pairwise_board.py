"""Pairwise boards: how often each candidate's dialogue beats a baseline dialogue, from the logs of
``tasks/pairwise.py``. Kept apart from the absolute boards (a win rate against a baseline and a
1-5 judge score are different scales and are never ranked together).

One board per (baseline, judge, data, rubric, language): candidates on one board were compared
with the same baseline dialogues by the same judge on the same pairs' data. A row is a
candidate's newest successful log on that board (older ones are listed as superseded). Its
figures are the log's own results, computed by the pairwise judge's metrics: the win rate
(``overall`` mean) with its 95% percentile bootstrap CI (the leaderboard's method and seed,
``scorers/pairwise_stats.py``), the length-controlled win rate, the position consistency, the share
of non-tie answers given to whichever dialogue was shown first, the pairs with an outcome and
the unscored ones. Rows are sorted by win rate; no ranks are given (no paired test between
pairwise rows is implemented), and a row whose judge wrote either side is listed apart, not
sorted in.

Headers only are read (``inspect_ai.log.read_eval_log(header_only=True)``), so a board of many
logs is quick.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PAIRWISE_TASK = "pairwise"
FILE_NAMES = {"markdown": "pairwise.md", "json": "pairwise.json", "html": "pairwise.html"}
COLUMNS: tuple[tuple[str, str], ...] = (
    ("candidate", "candidate"),
    ("win_rate", "win rate vs baseline [95% CI]"),
    ("lc_win_rate", "length-controlled win rate [95% CI]"),
    ("position_consistency", "position consistency"),
    ("first_position_preference", "share to dialogue shown first"),
    ("n", "pairs"),
    ("unscored", "unscored"),
    ("candidate_format_ok", "candidate in format"),
    ("log", "log"),
)


@dataclass
class PairwiseBoard:
    key: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    self_judged: list[dict[str, Any]] = field(default_factory=list)
    superseded: list[dict[str, Any]] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"Pairwise: vs {self.key['baseline']}, judged by {self.key['judge']}"


def _metrics(log: Any) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for score in (log.results.scores if log.results else []) or []:
        out[score.name] = {m.name.removeprefix("emplifai/"): m.value for m in score.metrics.values()}
        out[score.name]["unscored_samples"] = score.unscored_samples or 0
        out[score.name]["scored_samples"] = score.scored_samples or 0
    return out


def _side_name(value: Any, default: str) -> str:
    """``reference`` / ``model`` as logged, or the model that wrote a logged side."""
    if isinstance(value, dict):
        return str(value.get("model") or value.get("log") or default)
    return str(value or default)


def pairwise_row(log: Any, path: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(board key, row) of one successful pairwise log; None for any other log."""
    ev = log.eval
    if ev.task.split("/")[-1] != PAIRWISE_TASK or log.status != "success" or not log.results:
        return None
    meta = ev.metadata or {}
    roles = {name: getattr(cfg, "model", str(cfg)) for name, cfg in (ev.model_roles or {}).items()}
    m = _metrics(log)
    overall, consistency = m.get("overall", {}), m.get("position_consistency", {})
    candidate = ev.model if meta.get("candidate") == "model" else _side_name(meta.get("candidate"), ev.model)
    key = {
        "baseline": "human reference" if meta.get("baseline") == "reference" else _side_name(meta.get("baseline"), "?"),
        "judge": roles.get("grader", "?"),
        "data": meta.get("data_fingerprint"),
        "rubric": meta.get("rubric", "default"),
        "language": (ev.task_args or {}).get("language", "ja"),
    }
    row = {
        "candidate": candidate,
        "win_rate": overall.get("mean", math.nan),
        "ci_low": overall.get("ci_low", math.nan),
        "ci_high": overall.get("ci_high", math.nan),
        "lc_win_rate": overall.get("length_controlled_win_rate", math.nan),
        "lc_ci_low": overall.get("lc_ci_low", math.nan),
        "lc_ci_high": overall.get("lc_ci_high", math.nan),
        "lc_extrapolated": overall.get("lc_extrapolated", math.nan) == 1,
        "length_slope": overall.get("length_slope", math.nan),
        "position_consistency": consistency.get("mean", math.nan),
        "first_position_preference": consistency.get("first_position_preference", math.nan),
        "n": int(overall.get("scored_samples", 0)),
        "unscored": int(overall.get("unscored_samples", 0)),
        "candidate_format_ok": m.get("candidate_format_ok", {}).get("mean", math.nan),
        "judge_wrote_a_side": _judge_wrote(roles.get("grader", ""), candidate, key["baseline"]),
        "log": path,
        "created": ev.created,
    }
    return key, row


def _judge_wrote(judge: str, *writers: str) -> bool:
    def bare(name: str) -> str:
        return name.split("/", 1)[-1]

    return any(w and (w == judge or bare(w) == bare(judge) or bare(judge).endswith("/" + bare(w))) for w in writers)


def build_pairwise_boards(log_dir: str | Path) -> list[PairwiseBoard]:
    """The pairwise boards of every pairwise log under ``log_dir`` (empty when there is none)."""
    from inspect_ai.log import list_eval_logs, read_eval_log

    boards: dict[tuple[Any, ...], PairwiseBoard] = {}
    for info in list_eval_logs(str(log_dir), recursive=True):
        try:
            log = read_eval_log(info, header_only=True)
        except Exception:  # noqa: BLE001, S112 - unreadable logs are the main board's to list
            continue
        found = pairwise_row(log, info.name)
        if found is None:
            continue
        key, row = found
        board = boards.setdefault(tuple(key.values()), PairwiseBoard(key))
        board.rows.append(row)
    for board in boards.values():
        _keep_newest(board)
    return [boards[k] for k in sorted(boards, key=str)]


def _keep_newest(board: PairwiseBoard) -> None:
    newest: dict[str, dict[str, Any]] = {}
    for row in sorted(board.rows, key=lambda r: str(r["created"]), reverse=True):
        if row["candidate"] in newest:
            board.superseded.append({**row, "superseded_by": newest[row["candidate"]]["log"]})
        else:
            newest[row["candidate"]] = row
    ranked = sorted(newest.values(), key=lambda r: (-_sortable(r["win_rate"]), r["candidate"]))
    board.rows = [r for r in ranked if not r["judge_wrote_a_side"]]
    board.self_judged = [r for r in ranked if r["judge_wrote_a_side"]]


def _sortable(value: float) -> float:
    return -1.0 if value is None or math.isnan(value) else value


def _pct(value: Any) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.1f}%"


def cell(row: dict[str, Any], column: str) -> str:
    if column == "win_rate":
        return f"{_pct(row['win_rate'])} [{_pct(row['ci_low'])}, {_pct(row['ci_high'])}]"
    if column == "lc_win_rate":
        if row["lc_win_rate"] is None or math.isnan(row["lc_win_rate"]):
            return "n/a"
        text = f"{_pct(row['lc_win_rate'])} [{_pct(row['lc_ci_low'])}, {_pct(row['lc_ci_high'])}]"
        return text + (" (extrapolated)" if row.get("lc_extrapolated") else "")
    if column in ("position_consistency", "first_position_preference", "candidate_format_ok"):
        return _pct(row[column])
    if column == "log":
        return f"`{Path(str(row['log'])).name}`"
    return str(row[column])


def _table(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["| " + " | ".join(h for _, h in COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(cell(row, c).replace("|", "\\|") for c, _ in COLUMNS) + " |")
    return lines


METHOD_NOTE = (
    "Win rate: the candidate's mean outcome over pairs and metrics (win 1, tie 0.5, loss 0; each pair "
    "judged in both orders, a preference that flips with the order counted as a tie), 95% percentile "
    "bootstrap CI over pairs. Length-controlled win rate: AlpacaEval-style logistic model of the outcome "
    "on tanh(length difference / its SD), predicted at zero difference (n/a where no estimate exists). "
    "Position consistency: share of metric judgements that agree across the two orders. Sorted by win "
    "rate, not ranked. See docs/pairwise.md."
)


def pairwise_markdown(boards: list[PairwiseBoard]) -> str:
    """The boards as Markdown (GitHub tables)."""
    parts = ["# Pairwise boards", "", METHOD_NOTE, ""]
    if not boards:
        return "\n".join([*parts, "No pairwise logs (tasks/pairwise.py) were found.", ""])
    for board in boards:
        k = board.key
        parts += [f"## {board.title}", "",
                  f"Compared on data `{k['data']}`, rubric `{k['rubric']}`, language `{k['language']}`.", ""]
        parts += _table(board.rows) if board.rows else ["No row: every run on this board was judged by a model that wrote a side."]
        if board.self_judged:
            parts += ["", "The judge wrote one of the two dialogues (self-preference risk): listed, not sorted in.", ""]
            parts += _table(board.self_judged)
        if board.superseded:
            parts += ["", "Superseded (an older run of the same candidate on this board):", ""]
            parts += [f"- {s['candidate']}: `{Path(str(s['log'])).name}`, superseded by "
                      f"`{Path(str(s['superseded_by'])).name}`" for s in board.superseded]
        parts.append("")
    return "\n".join(parts)


def pairwise_document(boards: list[PairwiseBoard]) -> dict[str, Any]:
    """The boards as plain JSON data (NaN written as null)."""

    def clean(row: dict[str, Any]) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}

    return {
        "method": METHOD_NOTE,
        "boards": [
            {"title": b.title, "key": b.key, "rows": [clean(r) for r in b.rows],
             "self_judged": [clean(r) for r in b.self_judged], "superseded": [clean(r) for r in b.superseded]}
            for b in boards
        ],
    }


_CSS = (
    "body{font-family:'Noto Sans CJK JP','Noto Sans',sans-serif;margin:2em;color:#222;max-width:1300px}"
    "table{border-collapse:collapse;margin:0.5em 0 1.5em}th,td{border:1px solid #ccc;padding:4px 8px;"
    "text-align:left}th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".note{color:#555;font-size:0.9em}"
)
_NUMERIC = {"win_rate", "lc_win_rate", "position_consistency", "first_position_preference", "n", "unscored",
            "candidate_format_ok"}


def _html_table(rows: list[dict[str, Any]]) -> str:
    from html import escape

    head = "".join(f"<th>{escape(h)}</th>" for _, h in COLUMNS)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="{"num" if c in _NUMERIC else ""}">{escape(cell(r, c).strip("`"))}</td>' for c, _ in COLUMNS
        ) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def pairwise_html(boards: list[PairwiseBoard]) -> str:
    """The boards as one self-contained HTML page (no script, no external resource)."""
    from html import escape

    parts = [f"<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>Pairwise boards</title>"
             f"<style>{_CSS}</style></head><body><h1>Pairwise boards</h1><p class=\"note\">{escape(METHOD_NOTE)}</p>"]
    for board in boards:
        k = board.key
        parts.append(f"<h2>{escape(board.title)}</h2><p class=\"note\">Compared on data {escape(str(k['data']))}, "
                     f"rubric {escape(str(k['rubric']))}, language {escape(str(k['language']))}.</p>")
        parts.append(_html_table(board.rows) if board.rows else "<p>No row: every run on this board was judged by "
                     "a model that wrote a side.</p>")
        if board.self_judged:
            parts.append("<p>The judge wrote one of the two dialogues (self-preference risk): listed, not sorted in."
                         "</p>" + _html_table(board.self_judged))
        if board.superseded:
            items = "".join(f"<li>{escape(s['candidate'])}: {escape(Path(str(s['log'])).name)}</li>"
                            for s in board.superseded)
            parts.append(f"<p>Superseded (an older run of the same candidate on this board):</p><ul>{items}</ul>")
    parts.append("</body></html>")
    return "".join(parts)


def write_pairwise_boards(log_dir: str | Path, out_dir: str | Path) -> dict[str, Path]:
    """Write ``pairwise.md``, ``pairwise.json`` and ``pairwise.html`` to ``out_dir`` (the
    leaderboard's hook); the paths by kind, or nothing when ``log_dir`` holds no pairwise log."""
    import json

    boards = build_pairwise_boards(log_dir)
    if not boards:
        return {}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {f"pairwise_{kind}": out / name for kind, name in FILE_NAMES.items()}
    paths["pairwise_markdown"].write_text(pairwise_markdown(boards), encoding="utf-8")
    paths["pairwise_json"].write_text(
        json.dumps(pairwise_document(boards), ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    paths["pairwise_html"].write_text(pairwise_html(boards), encoding="utf-8")
    return paths
