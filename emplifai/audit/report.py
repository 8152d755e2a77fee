"""Write the audit: ``audit.json`` (one row per (candidate, judge, metric) and the sections),
``audit.md`` and ``audit.html`` (linked to and from the leaderboard page). Both pages open the same
way: the header (ratings, rater type, epsilon and why), the candidate x metric verdict grid per
judge (coloured on the page), the pooled verdict table with why each is not 'replace', the rules
with the sources of their thresholds and the caveats, once; then the detail tables (folded on the
page; built in ``tables``), the charts and the method."""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.offline

from emplifai.audit.analysis import ALL, human_means, human_scores, judge_table
from emplifai.audit.charts import bland_altman_figure, figure_html, length_figure, scatter_figure
from emplifai.audit.logs import AuditLogs
from emplifai.audit.ratings import Ratings
from emplifai.audit.tables import (
    SHORT,
    Section,
    detail_sections,
    grid,
    grid_sections,
    judges,
    key_figure,
    table6_cell,
    verdict_section,
)

FILE_NAMES = {"json": "audit.json", "markdown": "audit.md", "html": "audit.html"}
SIMULATED_BANNER = ("SIMULATED RATINGS: the ratings in this report were produced by a simulator, not by people. "
                    "They show how the audit works; they say nothing about any real judge.")
__all__ = ["FILE_NAMES", "SIMULATED_BANNER", "render_html", "render_markdown", "table6_cell", "write_report"]


def header_line(doc: dict[str, Any]) -> str:
    """Who rated what, the rater type and the alt-test epsilon with its reason (both pages)."""
    r = doc["ratings"]
    return (f"Ratings: {r['n']} from {len(r['raters'])} raters on {r['dialogues']} dialogues. "
            f"Rater type: {doc['rater_type']}; alt-test {doc['epsilon_reason']}.")


def rule_lines(doc: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """(verdict rules, sources of their thresholds, caveats): stated once, referenced from the tables."""
    rules = list(doc["verdict_rules"].values())
    sources = [f"[{k}] {v}" for k, v in doc["rule_sources"].items()]
    caveats = [f"{k}: {v}" for k, v in doc["caveat_texts"].items()]
    if doc.get("pairwise"):  # the pairwise readings have their own rule and sources
        rules.append(f"Pairwise judge vs people: {doc['pairwise']['rule']}")
        sources += [f"[pairwise {k}] {v}" for k, v in doc["pairwise"]["sources"].items()]
    return rules, sources, caveats


def _md_table(header: list[str], rows: list[list[Any]]) -> str:
    def esc(x: Any) -> str:
        return str(x).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(esc(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _md_sections(sections: list[Section]) -> list[str]:
    parts: list[str] = []
    for sec in sections:
        parts += [f"## {sec.title}", "", _md_table(sec.header, sec.rows) if sec.rows else "_nothing to show_", ""]
    return parts


def render_markdown(doc: dict[str, Any]) -> str:
    parts = ["# Judge audit", ""]
    if doc.get("simulated"):
        parts += [f"> **{SIMULATED_BANNER}**", ""]
    parts += [header_line(doc), ""]
    parts += _md_sections([*grid_sections(doc), verdict_section(doc)])
    rules, sources, caveats = rule_lines(doc)
    parts += ["## Verdict rules", "", *[f"- {x}" for x in rules], "", "Sources of the thresholds:", "",
              *[f"- {x}" for x in sources], "", "Caveats (referenced by key above):", "", *[f"- {x}" for x in caveats], ""]
    parts += _md_sections(detail_sections(doc))
    parts += ["## Method", "", *[f"- **{k}**: {v}" for k, v in doc["method"].items()], ""]
    if doc["ratings"]["warnings"]:
        parts += ["## Import warnings", "", *[f"- {w}" for w in doc["ratings"]["warnings"]], ""]
    if doc["skipped_logs"]:
        parts += ["## Logs not used", "", *[f"- {s}" for s in doc["skipped_logs"]], ""]
    return "\n".join(parts)


_CSS = """body{font-family:sans-serif;margin:1.5em;max-width:110em}table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:.25em .5em;font-size:.9em;vertical-align:top}th{background:#f3f3f3}
.banner{background:#fde2e1;border:2px solid #c0392b;padding:.6em;font-weight:bold}
.grid td.v{min-width:8.5em;text-align:center}.grid small{display:block;color:#333;font-size:.8em}
.v-replace{background:#c8ecc9}.v-assist{background:#fff1b8}.v-do-not-use{background:#f8c9c4}
.grids{display:flex;flex-wrap:wrap;gap:0 2em}.grids h3{margin:.4em 0 0;font-size:1em}
details.section>summary{font-size:1.1em;font-weight:bold;cursor:pointer;margin:.4em 0}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(28em,1fr));gap:1em}"""


def _html_table(header: list[str], rows: list[list[Any]], cls: str = "") -> str:
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in header)

    def cell(c: Any) -> str:
        s = str(c)
        return f"<b>{e(s[2:-2])}</b>" if s.startswith("**") and s.endswith("**") else e(s)

    body = "".join("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table{f' class={cls}' if cls else ''}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_grids(doc: dict[str, Any]) -> str:
    """One coloured candidate x metric table per judge: verdict, n and the key figure in each cell."""
    e = html.escape
    out = []
    for judge in judges(doc):
        cands, metrics, cell = grid(doc, judge)
        head = "<th>candidate</th>" + "".join(f'<th title="{e(m)}">{e(SHORT[m])}</th>' for m in metrics)
        body = []
        for c in cands:
            tds = []
            for m in metrics:
                r = cell.get((c, m))
                if r is None:
                    tds.append("<td></td>")
                    continue
                why = "; ".join(r["not_replace_because"]) or "all replace gates passed"
                tds.append(f'<td class="v v-{r["verdict"].replace(" ", "-")}" title="{e(why)}"><b>{e(r["verdict"])}</b>'
                           f"<small>{e(key_figure(r))}</small></td>")
            label = f"<b>{e(c)}</b>" if c == ALL else e(c)
            body.append(f"<tr><td>{label}</td>{''.join(tds)}</tr>")
        out.append(f"<div><h3>{e(judge)}</h3><table class=grid><thead><tr>{head}</tr></thead>"
                   f"<tbody>{''.join(body)}</tbody></table></div>")
    return f"<section id=grid><h2>Verdicts at a glance</h2><div class=grids>{''.join(out)}</div></section>"


def _html_rules(doc: dict[str, Any]) -> str:
    e = html.escape
    rules, sources, caveats = rule_lines(doc)
    return ("<section id=rules><h2>Verdict rules</h2><ul>" + "".join(f"<li>{e(x)}</li>" for x in rules)
            + "</ul><p>Sources of the thresholds:</p><ul>" + "".join(f"<li>{e(x)}</li>" for x in sources)
            + "</ul><p>Caveats (referenced by key in the verdict table):</p><ul>"
            + "".join(f"<li>{e(x)}</li>" for x in caveats) + "</ul></section>")


def _html_section(sec: Section, folded: bool) -> str:
    e = html.escape
    table = _html_table(sec.header, sec.rows) if sec.rows else "<p><i>nothing to show</i></p>"
    if folded:
        return f'<details class=section id="{e(sec.id)}"><summary>{e(sec.title)}</summary>{table}</details>'
    return f'<section id="{e(sec.id)}"><h2>{e(sec.title)}</h2>{table}</section>'


def _charts(logs: AuditLogs, ratings: Ratings) -> str:
    human = human_means(human_scores(ratings.frame))
    pts = judge_table(logs).merge(human, on=["log", "sample_id", "metric"]).merge(
        logs.items[["log", "sample_id", "chars"]], on=["log", "sample_id"])
    out = []
    for (judge, metric), part in pts.groupby(["judge", "metric"], sort=True):
        divs = []
        for kind, fig in (("scatter", scatter_figure(part, judge, metric)), ("bland-altman", bland_altman_figure(part, judge, metric)),
                          ("length", length_figure(part, judge, metric))):
            divs.append(f'<div class="chart" data-chart="{kind}">{figure_html(fig)}</div>')
        out.append(f"<details><summary>{html.escape(judge)}: {html.escape(metric)}</summary>"
                   f"<div class=charts>{''.join(divs)}</div></details>")
    return "".join(out)


def render_html(doc: dict[str, Any], logs: AuditLogs, ratings: Ratings, out_dir: Path, leaderboard: str | None) -> str:
    e = html.escape
    nav = []
    if leaderboard:
        nav.append(f'<a id="leaderboard-link" href="{e(leaderboard)}">Leaderboard</a>')
    probe_links = "".join(
        f'<li>{e(p["judge"])}: <a href="{e(os.path.relpath(logs_path, out_dir))}">{e(p["log"])}</a> '
        f"(open with <code>inspect view</code>)</li>"
        for p in doc["probes"] for logs_path in [p["path"]])
    body = [f"<h1>Judge audit</h1><p>{' | '.join(nav)}</p>"]
    if doc.get("simulated"):
        body.append(f'<p class="banner">{e(SIMULATED_BANNER)}</p>')
    body.append(f"<p id=header-line>{e(header_line(doc))}</p>")
    body.append(_html_grids(doc))
    body.append(_html_section(verdict_section(doc), folded=False))
    body.append(_html_rules(doc))
    body.append("<h2>Details (click to open)</h2>")
    body.extend(_html_section(sec, folded=True) for sec in detail_sections(doc))
    if probe_links:
        body.append(f"<section id=probe-logs><h2>Probe logs</h2><ul>{probe_links}</ul></section>")
    body.append("<section id=charts><h2>Charts (click to open)</h2>" + _charts(logs, ratings) + "</section>")
    body.append("<section id=method><h2>Method</h2><ul>"
                + "".join(f"<li><b>{e(k)}</b>: {e(v)}</li>" for k, v in doc["method"].items()) + "</ul></section>")
    if doc["ratings"]["warnings"]:
        body.append("<section><h2>Import warnings</h2><ul>" + "".join(f"<li>{e(w)}</li>" for w in doc["ratings"]["warnings"]) + "</ul></section>")
    resize = ("<script>document.querySelectorAll('details').forEach(function(d){d.addEventListener('toggle',function(){"
              "d.querySelectorAll('.plotly-graph-div').forEach(function(g){Plotly.Plots.resize(g);});});});</script>")
    return (f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>Judge audit</title><style>{_CSS}</style>"
            f"<script>{plotly.offline.get_plotlyjs()}</script></head><body>{''.join(body)}{resize}</body></html>")


def write_report(doc: dict[str, Any], logs: AuditLogs, ratings: Ratings, out: str | Path,
                 leaderboard: str | None = None) -> dict[str, Path]:
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    if leaderboard is None:
        guess = out_dir.parent / "leaderboard" / "leaderboard.html"
        leaderboard = os.path.relpath(guess, out_dir) if guess.exists() else None
    paths = {k: out_dir / v for k, v in FILE_NAMES.items()}
    paths["json"].write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    paths["markdown"].write_text(render_markdown(doc), encoding="utf-8")
    paths["html"].write_text(render_html(doc, logs, ratings, out_dir, leaderboard), encoding="utf-8")
    return paths


def rows_frame(doc: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(doc["rows"])
