"""One page per generation candidate: its samples, as the judges saw and scored them.

Linked from the candidates x judges table. For every counted log of the candidate (any judge's
board), each sample: the situation, the emotion (English and Japanese), the dialogue the candidate
wrote, and each judge's seven scores with their rationales; format failures and unscored samples
say why. Read with ``emplifai.analysis.judge_scores_df``. Everything from the logs is escaped: the
dialogue, situation, rationales and model names are text, never markup.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from emplifai.analysis import COLUMNS, judge_scores_df
from emplifai.judge_metrics import METRIC_KEYS
from emplifai.leaderboard.boards import Leaderboard
from emplifai.leaderboard.collect import GENERATION, OVERALL
from emplifai.leaderboard.columns import SHORT
from emplifai.leaderboard.summary import candidate_page

_CSS = """
body { font-family: FONT_STACK; margin: 1.5rem auto; max-width: 1100px; padding: 0 1rem; color: #1d2433; }
h2 { border-bottom: 2px solid #d5dae3; padding-bottom: .3rem; font-size: 1.15rem; margin-top: 2rem; }
h3 { font-size: 1rem; margin: 1.4rem 0 .3rem; }
.meta { color: #4b5566; font-size: .9rem; }
.situation { background: #f4f6fa; padding: .4rem .7rem; border-left: 3px solid #7a8aa6; }
pre.dialogue { white-space: pre-wrap; overflow-wrap: anywhere; background: #fbfbfd; border: 1px solid #e3e7ee;
               padding: .5rem .7rem; font-family: inherit; font-size: .92rem; }
table { border-collapse: collapse; font-size: .85rem; margin: .4rem 0; }
th, td { border: 1px solid #e3e7ee; padding: .2rem .45rem; text-align: right; }
th.text, td.text { text-align: left; }
.fail { background: #fdecec; border-left: 4px solid #c0392b; padding: .3rem .7rem; }
.unscored { background: #fff6dc; border-left: 4px solid #e0a800; padding: .3rem .7rem; }
details { margin: .2rem 0 .6rem; font-size: .88rem; } dd { margin: 0 0 .3rem 1rem; overflow-wrap: anywhere; }
"""


def _e(text: Any) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def candidate_logs(lb: Leaderboard) -> dict[str, list[str]]:
    """The counted generation logs of each candidate (ranked or listed apart), in board order."""
    out: dict[str, list[str]] = {}
    for board in lb.boards:
        if board.task != GENERATION:
            continue
        for frame in (board.rows, board.self_judged):
            for rec in frame.to_dict(orient="records") if len(frame) else []:
                logs = out.setdefault(str(rec["candidate"]), [])
                if rec["log"] not in logs:
                    logs.append(rec["log"])
    return out


def _score(v: float | None, metric: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    return f"{v:.2f}" if metric == OVERALL else f"{v:g}"


def _sample_html(part: pd.DataFrame) -> str:
    first = part.iloc[0]
    emotion_ja = f" / {_e(first['emotion_ja'])}" if first["emotion_ja"] else ""
    out = [
        f'<article class="sample" id="{_e(first["log"])}:{_e(first["sample_id"])}:{int(first["epoch"])}">',
        f"<h3>{_e(first['sample_id'])}{' (epoch ' + str(int(first['epoch'])) + ')' if first['epoch'] != 1 else ''}"
        f" · {_e(first['emotion'])}{emotion_ja}</h3>",
        f'<p class="situation">{_e(first["situation"])}</p>',
        f'<pre class="dialogue">{_e(first["dialogue"])}</pre>',
    ]
    if first["format_ok"] is False:
        out.append(f'<p class="fail">Format failure (scored 1 on every metric): {_e(first["explanation"])}</p>')
    metrics = [OVERALL, *METRIC_KEYS]
    head = "".join(f'<th title="{_e(m)}">{_e(SHORT.get(m, "Overall"))}</th>' for m in metrics)
    rows, reasons = [], []
    for judge, mine in part.groupby("judge", sort=False):
        by_metric = dict(zip(mine["metric"], mine["score"], strict=True))
        rows.append(f'<tr><td class="text">{_e(judge)}</td>'
                    + "".join(f"<td>{_score(by_metric.get(m), m)}</td>" for m in metrics) + "</tr>")
        unscored = mine[mine["unscored_reason"] != ""]
        if len(unscored):
            out_reason = unscored.iloc[0]
            reasons.append(f'<p class="unscored">Unscored by {_e(judge)}: {_e(out_reason["unscored_reason"])}; '
                           f'{_e(out_reason["explanation"])}</p>')
        said = [(m, r) for m, r in zip(mine["metric"], mine["rationale"], strict=True) if r]
        if said:
            items = "".join(f"<dt>{_e(m)}</dt><dd>{_e(r)}</dd>" for m, r in said)
            reasons.append(f"<details><summary>{_e(judge)}: reasons</summary><dl>{items}</dl></details>")
    out.append(f'<table><thead><tr><th class="text">Judge</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>')
    out += reasons
    out.append("</article>")
    return "\n".join(out)


def candidate_html(candidate: str, scores: pd.DataFrame, font_stack: str) -> str:
    """The page of one candidate from its rows of ``judge_scores_df``."""
    parts = []
    for log, part in scores.groupby("log", sort=False):
        judges = ", ".join(sorted(set(part["judge"])))
        n = part[["sample_id", "epoch"]].drop_duplicates().shape[0]
        parts.append(f'<section class="log"><h2>{_e(Path(str(log)).name)}</h2>'
                     f'<p class="meta">{n} samples; judges: {_e(judges)}; log <code>{_e(log)}</code></p>')
        for _, sample in part.groupby(["sample_id", "epoch"], sort=True):
            parts.append(_sample_html(sample))
        parts.append("</section>")
    body = "\n".join(parts) or "<p>No judge scores in this candidate's logs.</p>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_e(candidate)}: samples</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{_CSS.replace("FONT_STACK", font_stack)}</style>
</head><body>
<p class="meta"><a href="../leaderboard.html#summary">← leaderboard</a></p>
<h1>{_e(candidate)}</h1>
<p class="meta">Every sample of this candidate's counted logs: the situation, the emotion, the dialogue it
wrote, and each judge's scores (1–5; overall = their mean) with the judge's reasons. A format failure is
scored 1 on every metric without asking a judge; an unscored sample has no score and says why.</p>
{body}
</body></html>
"""


# Bump when judge_scores_df's columns change: old cache entries are then ignored.
SCORES_VERSION = "1"


def _log_scores(log: str, cache_dir: Path | None, used: set[Path]) -> pd.DataFrame:
    """``judge_scores_df`` of one log; with ``cache_dir``, kept as JSON under a key of the file's
    path, size and modification time (reading a 100-sample log's full samples takes about 1 s)."""
    if cache_dir is None:
        return judge_scores_df(log)
    stat = Path(log).stat()
    key = hashlib.sha256(f"{SCORES_VERSION}|{log}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:32]
    cached = cache_dir / f"scores-{key}.json"
    used.add(cached)
    if cached.exists():
        try:
            return pd.DataFrame(json.loads(cached.read_text(encoding="utf-8")), columns=list(COLUMNS))
        except (OSError, ValueError):
            pass  # a damaged entry: read the log again
    frame = judge_scores_df(log)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(frame.to_dict(orient="records"), ensure_ascii=False, default=str), encoding="utf-8")
    return frame


def write_candidate_pages(lb: Leaderboard, out: Path, font_stack: str, cache_dir: Path | None = None) -> list[Path]:
    """One page per generation candidate under ``out/candidates/`` (the names ``candidate_page`` gives).
    With ``cache_dir``, each log's scores are read once while the file is unchanged."""
    written = []
    used: set[Path] = set()
    for candidate, logs in candidate_logs(lb).items():
        scores = pd.concat([_log_scores(log, cache_dir, used) for log in logs], ignore_index=True)
        path = out / candidate_page(candidate)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(candidate_html(candidate, scores, font_stack), encoding="utf-8")
        written.append(path)
    if cache_dir is not None and cache_dir.is_dir():
        for stale in cache_dir.glob("scores-*.json"):  # logs that changed or went away
            if stale not in used:
                stale.unlink(missing_ok=True)
    return written
