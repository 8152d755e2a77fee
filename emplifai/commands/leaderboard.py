"""``emplifai leaderboard [LOG_DIR] [--out DIR] [--paper-rows] [--audit DIR] [--no-cache]``: boards from Inspect logs."""

from __future__ import annotations

import argparse
import json


def _cmd_leaderboard(args: argparse.Namespace) -> int:
    from emplifai.leaderboard import write_leaderboard

    paths = write_leaderboard(
        args.log_dir, args.out, paper_rows=args.paper_rows, audit=args.audit, cache=not args.no_cache
    )
    doc = json.loads(paths["json"].read_text(encoding="utf-8"))
    for board in doc["boards"]:
        apart = f", {len(board['self_judged'])} self-judged (not ranked)" if board["self_judged"] else ""
        print(f"  {board['title']}: {len(board['rows'])} row(s){apart}")
    for note in doc["separation_notes"]:
        print(f"  note: {note}")
    if doc["superseded"] or doc["skipped"]:
        print(f"  {len(doc['superseded'])} superseded log(s), {len(doc['skipped'])} log(s) not counted (see the page)")
    for kind, path in paths.items():
        print(f"{kind:>8}: {path}")
    print(f"Open the page: {paths['html'].resolve().as_uri()}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "leaderboard",
        help="build the leaderboard (Markdown, CSV, JSON, HTML) from Inspect logs",
        description="Read emotion and generation logs through inspect_ai.log and write boards with "
        "95%% bootstrap CIs and tie-aware ranks from exact paired tests, one board per judge (and panel). "
        "See docs/leaderboard.md.",
    )
    p.add_argument("log_dir", nargs="?", default="logs", help="folder of Inspect logs (default: logs)")
    p.add_argument("--out", default="out/leaderboard", help="output folder (default: out/leaderboard)")
    p.add_argument(
        "--paper-rows",
        action="store_true",
        help="show the paper's reported figures beside the measured rows (never ranked)",
    )
    p.add_argument(
        "--audit",
        metavar="DIR",
        default=None,
        help="folder of the judge audit (emplifai audit): the page links to DIR/audit.html",
    )
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="read every log again instead of reusing OUT/.log-cache (kept per log path, size and mtime)",
    )
    p.set_defaults(func=_cmd_leaderboard)
