"""Logs in, leaderboard files out: Markdown, CSV, JSON and the self-contained HTML page."""

from __future__ import annotations

import json
from pathlib import Path

from emplifai.leaderboard.boards import Leaderboard, build_leaderboard
from emplifai.leaderboard.collect import read_runs
from emplifai.leaderboard.export import csv_frame, json_document
from emplifai.leaderboard.paper_rows import load_paper_figures
from emplifai.leaderboard.render_html import render_html
from emplifai.leaderboard.render_markdown import render_markdown

FILE_NAMES = {
    "markdown": "leaderboard.md",
    "csv": "leaderboard.csv",
    "json": "leaderboard.json",
    "html": "leaderboard.html",
}


def build(log_dir: str | Path) -> Leaderboard:
    """The boards of every log under ``log_dir`` (read through ``inspect_ai.analysis``)."""
    return build_leaderboard(read_runs(log_dir))


def write_leaderboard(log_dir: str | Path, out_dir: str | Path, *, paper_rows: bool = False) -> dict[str, Path]:
    """Write the leaderboard of the logs in ``log_dir`` to ``out_dir``.

    Returns the paths written, by kind: ``markdown``, ``csv``, ``json`` and ``html`` (the page to
    open in a browser). ``paper_rows`` adds the paper's reported figures beside the measured rows,
    marked "reported in the paper, not run here" and never ranked.
    """
    lb = build(log_dir)
    paper = load_paper_figures() if paper_rows else None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {kind: out / name for kind, name in FILE_NAMES.items()}
    paths["markdown"].write_text(render_markdown(lb, paper), encoding="utf-8")
    csv_frame(lb, paper).to_csv(paths["csv"], index=False)
    paths["json"].write_text(json.dumps(json_document(lb, paper), ensure_ascii=False, indent=1), encoding="utf-8")
    paths["html"].write_text(render_html(lb, paper), encoding="utf-8")
    return paths
