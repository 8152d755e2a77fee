"""The leaderboard as paste-ready Markdown (GitHub tables)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from emplifai.leaderboard.boards import KEY_FIELDS, Board, Leaderboard
from emplifai.leaderboard.columns import Col, cell_text, display_columns, paper_columns
from emplifai.leaderboard.paper_rows import PaperFigures
from emplifai.leaderboard.stats import METHOD
from emplifai.probes.trust import TRUST_RULE


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def md_table(cols: list[Col], rows: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(c.header for c in cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(_cell(cell_text(c, row)) for c in cols) + " |")
    return "\n".join(lines)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.to_dict(orient="records")


def board_markdown(board: Board) -> str:
    parts = [f"## {board.title}", ""]
    key = ", ".join(f"{f}: `{board.key.get(f)}`" for f in KEY_FIELDS[board.task])
    parts += [f"Board `{board.id}`. Ranked together because they share {key}. Rank metric: {board.rank_metric}.", ""]
    if board.data_note:
        parts += [f"> {board.data_note}", ""]
    if board.task == "generation":
        if board.judge_checks:
            for c in board.judge_checks:
                pa = "not reported" if c.probe_accuracy is None else f"{100 * c.probe_accuracy:.0f}%"
                iv = (
                    "not reported"
                    if c.invariance_violation_rate is None
                    else f"{100 * c.invariance_violation_rate:.0f}%"
                )
                parts.append(
                    f"Judge checks ({c.judge}{', rubric ' + c.rubric if c.rubric else ''}): probe accuracy {pa}, "
                    f"invariance violations {iv}, {c.n} probes (`{c.log}`). "
                    f"Trust verdict: **{c.verdict}**. {c.verdict_sentence}"
                )
            parts.append(f"({TRUST_RULE})")
        else:
            parts.append("Judge checks: no judge_probes log for this judge.")
        parts.append("")
    if len(board.rows):
        parts.append(md_table(display_columns(board.task, panel=board.is_panel), _records(board.rows)))
    if len(board.self_judged):
        parts += ["", "Self-judged runs (the judge is the model under evaluation): listed, not ranked.", ""]
        parts.append(
            md_table(display_columns(board.task, ranked=False, panel=board.is_panel), _records(board.self_judged))
        )
    if board.superseded:
        parts += ["", "Superseded logs (an older run of the same candidate; not counted, not averaged in):", ""]
        for s in board.superseded:
            note = f" ({s['note']})" if s.get("note") else ""
            parts.append(
                f"- {s['candidate']}: `{s['log']}` ({s['date'][:16]}), superseded by `{s['superseded_by']}`{note}"
            )
    return "\n".join(parts)


def paper_markdown(paper: PaperFigures) -> str:
    parts = [
        "## Reported in the paper, not run here",
        "",
        f"Source: {paper.source}. These rows are {paper.label}: never ranked with the measured rows.",
        "",
    ]
    for task, table in paper.tables.items():
        parts += [
            f"### {task} ({paper.label})",
            "",
            table.note,
            "",
            md_table(paper_columns(task), _records(table.rows)),
            "",
        ]
    return "\n".join(parts).rstrip()


def render_markdown(lb: Leaderboard, paper: PaperFigures | None = None) -> str:
    parts = [
        "# emplifai-bench leaderboard",
        "",
        f"Generated {lb.generated_at} from the Inspect logs in `{lb.log_dir}`.",
        "",
        "Values are means with 95% confidence intervals in brackets.",
        "",
    ]
    parts += [f"- **{name.replace('_', ' ')}**: {text}" for name, text in METHOD.items()]
    parts.append(
        "- **counted logs**: the newest log per (task, candidate, judge, dataset); older ones are listed as superseded"
    )
    parts.append("")
    if lb.separation_notes:
        parts += [f"> {note}" for note in lb.separation_notes] + [""]
    if not lb.boards:
        parts += ["No emotion or generation run in these logs could be counted.", ""]
    for board in lb.boards:
        parts += [board_markdown(board), ""]
    if paper is not None:
        parts += [paper_markdown(paper), ""]
    if lb.skipped:
        parts += ["## Logs not counted", ""]
        parts += [f"- `{s.log}` ({s.task}, {s.model}): {s.reason}" for s in lb.skipped]
        parts.append("")
    return "\n".join(parts)
