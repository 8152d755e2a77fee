"""The leaderboard as paste-ready Markdown (GitHub tables)."""

from __future__ import annotations

import html
import re
from typing import Any

import pandas as pd

from emplifai.leaderboard.boards import KEY_FIELDS, Board, Leaderboard, panel_notes, unranked_note
from emplifai.leaderboard.columns import Col, cell_text, display_columns, paper_columns
from emplifai.leaderboard.paper_rows import PaperFigures
from emplifai.leaderboard.stats import METHOD
from emplifai.leaderboard.summary import cell_text as summary_cell_text
from emplifai.leaderboard.summary import summary
from emplifai.probes.trust import TRUST_RULE

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md_text(value: Any) -> str:
    """Text from models and users (model names, paths, reasons) as literal Markdown text: ``<``, ``>``
    and ``&`` as entities (no raw HTML reaches a renderer), Markdown's marks and ``|`` (a table
    cell's end) backslash-escaped, line breaks as spaces (a table row is one line)."""
    text = html.escape(str(value), quote=False)
    return " ".join(_MD_SPECIAL.sub(r"\\\1", text).splitlines())


def md_code(value: Any) -> str:
    """A code span when the text cannot end it or a table row (no backtick, ``|`` or line break), else md_text."""
    text = str(value)
    return md_text(text) if any(c in text for c in "`|\n\r") else f"`{text}`"


def _cell(text: str) -> str:
    return md_text(text)


def md_table(cols: list[Col], rows: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(c.header for c in cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(_cell(cell_text(c, row)) for c in cols) + " |")
    return "\n".join(lines)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.to_dict(orient="records")


def board_markdown(board: Board) -> str:
    parts = [f"## {md_text(board.title)}", ""]
    key = ", ".join(f"{f}: {md_code(board.key.get(f))}" for f in KEY_FIELDS[board.task])
    parts += [f"Board {md_code(board.id)}. Ranked together because they share {key}. Rank metric: {board.rank_metric}.", ""]
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
                    f"Judge checks ({md_text(c.judge)}{', rubric ' + md_text(c.rubric) if c.rubric else ''}, "
                    f"{md_text(c.mode)} judging): "
                    f"probe accuracy {pa}, invariance violations {iv}, {c.n} probes ({md_code(c.log)}). "
                    f"Trust verdict: **{md_text(c.verdict)}**. {md_text(c.verdict_sentence)}"
                )
            parts.append(f"({TRUST_RULE})")
        else:
            parts.append("Judge checks: no judge_probes or pairwise_probes log for this judge.")
        parts.append("")
    parts += [f"> {md_text(n)}\n" for n in panel_notes(board)]
    if len(board.rows):
        parts.append(md_table(display_columns(board.task, panel=board.is_panel), _records(board.rows)))
    if len(board.self_judged):
        parts += ["", unranked_note(board), ""]
        parts.append(
            md_table(display_columns(board.task, ranked=False, panel=board.is_panel), _records(board.self_judged))
        )
    if board.superseded:
        parts += ["", "Superseded logs (an older run of the same candidate; not counted, not averaged in):", ""]
        for s in board.superseded:
            note = f" ({md_text(s['note'])})" if s.get("note") else ""
            parts.append(
                f"- {md_text(s['candidate'])}: {md_code(s['log'])} ({s['date'][:16]}), "
                f"superseded by {md_code(s['superseded_by'])}{note}"
            )
    return "\n".join(parts)


def summary_markdown(lb: Leaderboard) -> str:
    """The candidates x judges table: overall [95% CI] and the rank on each judge's board."""
    columns, rows = summary(lb)
    if not columns:
        return ""
    heads = [md_text(c.judge + (f" ({c.detail})" if c.detail else "")) for c in columns]
    lines = [
        "## Candidates × judges", "",
        "Overall score with its 95% CI and the rank on each judge's board (the boards follow).", "",
        "| Candidate | " + " | ".join(heads) + " |", "|---" * (len(columns) + 1) + "|",
    ]
    for r in rows:
        cells = [" ".join(summary_cell_text(r.cells.get(c.board))) for c in columns]
        lines.append("| " + " | ".join(md_text(x) for x in [r.candidate, *cells]) + " |")
    return "\n".join(lines)


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
        f"Generated {lb.generated_at} from the Inspect logs in {md_code(lb.log_dir)}.",
        "",
        "Values are means with 95% confidence intervals in brackets.",
        "",
    ]
    summary_table = summary_markdown(lb)
    if summary_table:
        parts += [summary_table, ""]
    parts += ["## Method", ""]
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
        parts += [f"- {md_code(s.log)} ({md_text(s.task)}, {md_text(s.model)}): {md_text(s.reason)}" for s in lb.skipped]
        parts.append("")
    return "\n".join(parts)
