"""Logs in, leaderboard files out: Markdown, CSV, JSON and the self-contained HTML page."""

from __future__ import annotations

import json
import os
from pathlib import Path

from emplifai.errors import UserError
from emplifai.leaderboard.boards import Leaderboard, build_leaderboard
from emplifai.leaderboard.candidates import write_candidate_pages
from emplifai.leaderboard.collect import read_runs
from emplifai.leaderboard.columns import FONT_STACK
from emplifai.leaderboard.export import csv_frame, json_document
from emplifai.leaderboard.pairwise_board import write_pairwise_boards
from emplifai.leaderboard.paper_rows import load_paper_figures
from emplifai.leaderboard.render_html import render_html
from emplifai.leaderboard.render_markdown import render_markdown
from emplifai.leaderboard.stats import IntervalCache

FILE_NAMES = {
    "markdown": "leaderboard.md",
    "csv": "leaderboard.csv",
    "json": "leaderboard.json",
    "html": "leaderboard.html",
}


# Under the output folder: one small JSON per log read, keyed on the log's path, size and mtime.
CACHE_DIR = ".log-cache"


def build(log_dir: str | Path, cache_dir: str | Path | None = None) -> Leaderboard:
    """The boards of every log under ``log_dir`` (read through ``inspect_ai.log``). With
    ``cache_dir``, what was read from each log and the bootstrap intervals are kept there."""
    intervals = IntervalCache(Path(cache_dir) / "intervals.json" if cache_dir else None)
    lb = build_leaderboard(read_runs(log_dir, cache_dir), intervals)
    intervals.save()
    return lb


def _check_writable(out: Path) -> None:
    """A folder the leaderboard can be written to, or one line saying why not (before any log is read)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("", encoding="utf-8")
        probe.unlink()
    except OSError as e:
        raise UserError(
            f"--out {out}: cannot write the leaderboard there ({e.strerror or type(e).__name__}); "
            "give a folder you can write to"
        ) from None


def write_leaderboard(
    log_dir: str | Path,
    out_dir: str | Path,
    *,
    paper_rows: bool = False,
    audit: str | Path | None = None,
    cache: bool = True,
) -> dict[str, Path]:
    """Write the leaderboard of the logs in ``log_dir`` to ``out_dir``.

    Returns the paths written, by kind: ``markdown``, ``csv``, ``json`` and ``html`` (the page to
    open in a browser), and ``pairwise_markdown`` / ``pairwise_json`` when there are pairwise logs
    (leaderboard/pairwise_board.py). ``paper_rows`` adds the paper's reported figures beside the
    measured rows, marked "reported in the paper, not run here" and never ranked. ``audit`` is a folder holding
    the judge audit's ``audit.html``: the page links to it. ``cache`` keeps what was read from
    each log under ``out_dir/.log-cache`` so an unchanged log is not read again.
    """
    out = Path(out_dir)
    _check_writable(out)
    lb = build(log_dir, out / CACHE_DIR if cache else None)
    paper = load_paper_figures() if paper_rows else None
    out.mkdir(parents=True, exist_ok=True)
    audit_link = None
    if audit is not None:
        target = Path(audit) / "audit.html"
        audit_link = (os.path.relpath(target.resolve(), out.resolve()), target.exists())
    paths = {kind: out / name for kind, name in FILE_NAMES.items()}
    paths["markdown"].write_text(render_markdown(lb, paper), encoding="utf-8")
    csv_frame(lb, paper).to_csv(paths["csv"], index=False)
    paths["json"].write_text(json.dumps(json_document(lb, paper), ensure_ascii=False, indent=1), encoding="utf-8")
    # Pairwise boards (tasks/pairwise.py) are written apart, never mixed with the absolute ones;
    # the main page links them.
    pairwise = write_pairwise_boards(log_dir, out)
    pairwise_link = pairwise["pairwise_html"].name if "pairwise_html" in pairwise else None
    paths["html"].write_text(render_html(lb, paper, audit=audit_link, pairwise=pairwise_link), encoding="utf-8")
    pages = write_candidate_pages(lb, out, FONT_STACK, out / CACHE_DIR if cache else None)
    if pages:
        paths["candidates"] = pages[0].parent
    return paths | pairwise
