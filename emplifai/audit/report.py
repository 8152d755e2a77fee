"""Write the audit: ``audit.json`` (one row per (candidate, judge, metric) and the sections),
``audit.md`` (tables, the paper's Table 6 layout, verdicts with their rules) and ``audit.html``
(the same with plotly charts, linked to and from the leaderboard page)."""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.offline

from emplifai.audit.analysis import ALL, human_scores, judge_table
from emplifai.audit.charts import bland_altman_figure, figure_html, length_figure, scatter_figure
from emplifai.audit.logs import METRICS, AuditLogs
from emplifai.audit.ratings import Ratings

FILE_NAMES = {"json": "audit.json", "markdown": "audit.md", "html": "audit.html"}
SHORT = {"comprehensibility": "CC", "general_empathy": "GE", "emotion_specific_empathy": "ESE", "consistency": "Cons",
         "fluency": "Flu", "harmlessness": "Harm", "sense_of_security": "Sec", "overall": "Overall"}
SIMULATED_BANNER = ("SIMULATED RATINGS: the ratings in this report were produced by a simulator, not by people. "
                    "They show how the audit works; they say nothing about any real judge.")


def f(v: Any, digits: int = 2) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def p_text(p: Any) -> str:
    return "n/a" if p is None else ("<0.001" if p < 0.001 else f"{p:.3f}")


def table6_cell(row: dict[str, Any]) -> str:
    """The paper's Table 6 cell: r (p), or, when a side is constant, the constant and the MAD."""
    if row["judge_constant"] is not None:
        return f"judge = {row['judge_constant']:g} (const), MAD {f(row['mad'])}"
    if row["human_constant"] is not None:
        return f"human = {row['human_constant']:g} (const), MAD {f(row['mad'])}"
    if row["pearson_r"] is None:
        return "n/a"
    return f"{row['pearson_r']:.2f} ({p_text(row['pearson_p'])})"


def _md_table(header: list[str], rows: list[list[Any]]) -> str:
    def esc(x: Any) -> str:
        return str(x).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def sections(doc: dict[str, Any]) -> list[tuple[str, str, list[str], list[list[Any]]]]:
    """(id, title, header, rows) of every table, shared by the Markdown and the HTML."""
    rows = doc["rows"]
    pooled = [r for r in rows if r["candidate"] == ALL]
    out = []
    out.append(("verdicts", "Verdict per metric (all candidates pooled)",
                ["judge", "metric", "verdict", "rule", "alt-test", "winning rate", "advantage prob.",
                 "r [95% CI]", "human alpha", "caveats"],
                [[r["judge"], r["metric"], f"**{r['verdict']}**", r["verdict_rule"],
                  ("passed" if r["alt_test_passed"] else "failed") if r["alt_test_applicable"] else "not applicable",
                  f(r["alt_test_winning_rate"]), f(r["alt_test_advantage_probability"]),
                  f"{f(r['pearson_r'])} [{f(r['pearson_ci_low'])}, {f(r['pearson_ci_high'])}]",
                  f(r["human_alpha"]), "; ".join(r["caveats"]) or "-"] for r in pooled]))
    for judge in sorted({r["judge"] for r in rows}):
        mine = [r for r in rows if r["judge"] == judge]
        cands = sorted({r["candidate"] for r in mine if r["candidate"] != ALL}) + [ALL]
        cell = {(r["candidate"], r["metric"]): r for r in mine}
        metrics = [m for m in METRICS if any((c, m) in cell for c in cands)]
        out.append((f"table6-{judge}", f"Table 6 layout, judge {judge}: Pearson r (p) of judge vs human mean",
                    ["candidate", *[SHORT[m] for m in metrics]],
                    [[c, *[table6_cell(cell[(c, m)]) if (c, m) in cell else "" for m in metrics]] for c in cands]))
        out.append((f"means-{judge}", f"Means, judge {judge}: judge / human (bias = judge - human)",
                    ["candidate", *[SHORT[m] for m in metrics]],
                    [[c, *[f"{f(cell[(c, m)]['judge_mean'])} / {f(cell[(c, m)]['human_mean'])}" if (c, m) in cell else ""
                           for m in metrics]] for c in cands]))
    out.append(("reliability", "The raters' own reliability: the ceiling (all candidates pooled)",
                ["judge", "metric", "raters", "dialogues", "human alpha (interval)", "human alpha (ordinal)",
                 "rater vs rest r (mean)", "judge vs the same rest r (mean)"],
                [[r["judge"], r["metric"], r["n_raters"], r["n"], f(r["human_alpha"]), f(r["human_alpha_ordinal"]),
                  f(r["human_loro_r"]), f(r["judge_loro_r"])] for r in pooled]))
    out.append(("alt-test", "Alternative annotator test (rules: " + doc["method"]["alt_test"] + ")",
                ["candidate", "judge", "metric", "applicable", "passed", "raters tested", "items", "winning rate",
                 "advantage prob.", "epsilon", "minimum-data notes"],
                [[r["candidate"], r["judge"], r["metric"], f(r["alt_test_applicable"]),
                  f(r["alt_test_passed"]) if r["alt_test_applicable"] else "-", r["alt_test_raters_tested"],
                  r["alt_test_n_items"], f(r["alt_test_winning_rate"]), f(r["alt_test_advantage_probability"]),
                  f(r["alt_test_epsilon"]), "; ".join(r["alt_test_notes"]) or "minimum data met"] for r in rows]))
    out.append(("agreement", "Agreement per (candidate, judge, metric)",
                ["candidate", "judge", "metric", "n", "judge mean", "human mean", "r", "p", "95% CI", "Spearman",
                 "Kendall", "MAD", "bias", "alpha int.", "alpha ord.", "QWK", "ICC(2,k)", "verdict"],
                [[r["candidate"], r["judge"], r["metric"], r["n"], f(r["judge_mean"]), f(r["human_mean"]),
                  f(r["pearson_r"]), p_text(r["pearson_p"]), f"[{f(r['pearson_ci_low'])}, {f(r['pearson_ci_high'])}]",
                  f(r["spearman_rho"]), f(r["kendall_tau"]), f(r["mad"]), f(r["bias"]), f(r["krippendorff_alpha"]),
                  f(r["krippendorff_alpha_ordinal"]), f(r["quadratic_kappa"]), f(r["icc2k"]), r["verdict"]]
                 for r in rows]))
    out.append(("length-correlation", "Length: score-length correlation (Spearman) and partial r given log length",
                ["candidate", "judge", "metric", "judge rho", "judge p", "human rho", "human p", "r", "partial r | length"],
                [[r["candidate"], r["judge"], r["metric"], f(r["judge_length_rho"]), p_text(r["judge_length_p"]),
                  f(r["human_length_rho"]), p_text(r["human_length_p"]), f(r["pearson_r"]),
                  f(r["partial_r_given_length"])] for r in pooled]))
    length = doc["length"]
    lc_rows, reg_rows = [], []
    for entry in length["per_judge"]:
        lc, hlc, reg = entry["length_controlled_judge"], entry["length_controlled_human"], entry["deviation_regression"]
        if lc:
            for cand, g in lc["groups"].items():
                h = (hlc or {}).get("groups", {}).get(cand, {})
                lc_rows.append([entry["judge"], entry["metric"], cand, f(g["raw_mean"]), f(g["lc_mean"]),
                                f"[{f(g['lc_ci_low'])}, {f(g['lc_ci_high'])}]", f(h.get("raw_mean")), f(h.get("lc_mean")),
                                f"{f(lc['slope'])} ({p_text(lc['slope_p'])})"])
        if reg:
            coef = {c["name"]: c for c in reg["coefficients"]}
            reg_rows.append([entry["judge"], entry["metric"], reg["n"],
                             *[f"{f(coef[c]['estimate'])} [{f(coef[c]['ci_low'])}, {f(coef[c]['ci_high'])}]" if c in coef
                               else "(no variation)" for c in ("log_chars", "markdown", "politeness")], f(reg["r2"])])
    out.append(("length-controlled", (f"Length-controlled means at the human reference length "
                                      f"({length['reference_chars']:.0f} characters: {length['reference_source']})"),
                ["judge", "metric", "candidate", "judge raw", "judge LC", "judge LC 95% CI", "human raw", "human LC",
                 "slope per log-char (p)"], lc_rows))
    out.append(("deviation-regression", "Regression of judge - human on length and covariates (OLS, HC3; 95% CI)",
                ["judge", "metric", "n", "log chars", "markdown", "politeness", "R2"], reg_rows))
    out.append(("max-chars", "max_chars variant vs the free run (same model, same judge)",
                ["model", "judge", "metric", "max_chars", "judge free", "judge limited", "human free", "human limited",
                 "chars free", "chars limited", "judge diff", "human diff"],
                [[m["model"], m["judge"], m["metric"], m["max_chars"], f(m["free"]["judge_mean"]),
                  f(m["limited"]["judge_mean"]), f(m["free"]["human_mean"]), f(m["limited"]["human_mean"]),
                  f(m["free"]["mean_chars"], 0), f(m["limited"]["mean_chars"], 0), f(m["judge_difference"]),
                  f(m["human_difference"])] for m in doc["max_chars_vs_free"]]))
    out.append(("inter-judge", "Panels: agreement between judges (Krippendorff's alpha, interval)",
                ["log", "metric", "judges", "alpha"],
                [[a["log"], a["metric"], ", ".join(a["judges"]), f(a["inter_judge_alpha"])]
                 for a in doc["panels"]["inter_judge_alpha"]]))
    out.append(("self-preference", "Self-preference: own-family minus other candidates (Welch p)",
                ["metric", "judge", "family", "own candidates", "vs other judges", "p", "vs humans", "p"],
                [[s["metric"], s["judge"], s["family"], ", ".join(s["own_candidates"]), f(s.get("vs_judges_difference")),
                  p_text(s.get("vs_judges_p")), f(s.get("vs_humans_difference")), p_text(s.get("vs_humans_p"))]
                 for s in doc["panels"]["self_preference"]]))
    if doc["probes"]:
        out.append(("probes", ("The judge's known-answer probes (judge_probes logs; degrading probes should score "
                               "below their base, invariance probes should not move)"),
                    ["judge", "log", "probe accuracy [95% CI]", "invariance violation rate [95% CI]",
                     "degrading / invariance probes", "unscored"],
                    [[p["judge"], p["log"],
                      f"{f(p.get('probe_accuracy'))} [{f(p.get('probe_accuracy_ci_low'))}, {f(p.get('probe_accuracy_ci_high'))}]",
                      (f"{f(p.get('invariance_violation_rate'))} [{f(p.get('invariance_violation_rate_ci_low'))}, "
                       f"{f(p.get('invariance_violation_rate_ci_high'))}]"),
                      f"{f(p.get('degrading_probes'), 0)} / {f(p.get('invariance_probes'), 0)}", f(p.get("unscored"), 0)]
                     for p in doc["probes"]]))
    return out


def render_markdown(doc: dict[str, Any]) -> str:
    parts = ["# Judge audit", ""]
    if doc.get("simulated"):
        parts += [f"> **{SIMULATED_BANNER}**", ""]
    parts += [(f"Ratings: {doc['ratings']['n']} from {len(doc['ratings']['raters'])} raters on "
               f"{doc['ratings']['dialogues']} dialogues. Rater type: {doc['rater_type']} "
               f"(alt-test epsilon {doc['epsilon']})."), ""]
    parts += ["Verdict rules:", *[f"- {rule}" for rule in doc["verdict_rules"].values()], ""]
    for _, title, header, rows in sections(doc):
        parts += [f"## {title}", "", _md_table(header, rows) if rows else "_nothing to show_", ""]
    parts += ["## Method", *[f"- **{k}**: {v}" for k, v in doc["method"].items()], ""]
    if doc["ratings"]["warnings"]:
        parts += ["## Import warnings", *[f"- {w}" for w in doc["ratings"]["warnings"]], ""]
    if doc["skipped_logs"]:
        parts += ["## Logs not used", *[f"- {s}" for s in doc["skipped_logs"]], ""]
    return "\n".join(parts)


_CSS = """body{font-family:sans-serif;margin:1.5em;max-width:110em}table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:.25em .5em;font-size:.9em;vertical-align:top}th{background:#f3f3f3}
.banner{background:#fde2e1;border:2px solid #c0392b;padding:.6em;font-weight:bold}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(28em,1fr));gap:1em}"""


def _html_table(header: list[str], rows: list[list[Any]]) -> str:
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in header)

    def cell(c: Any) -> str:
        s = str(c)
        return f"<b>{e(s[2:-2])}</b>" if s.startswith("**") and s.endswith("**") else e(s)

    body = "".join("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _charts(logs: AuditLogs, ratings: Ratings) -> str:
    hs = human_scores(ratings.frame)
    human = hs.groupby(["log", "sample_id", "metric"])["score"].mean().rename("human").reset_index()
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
    body.append("<p>Verdict rules:</p><ul>" + "".join(f"<li>{e(r)}</li>" for r in doc["verdict_rules"].values()) + "</ul>")
    for sid, title, header, rows in sections(doc):
        body.append(f'<section id="{e(sid)}"><h2>{e(title)}</h2>'
                    + (_html_table(header, rows) if rows else "<p><i>nothing to show</i></p>") + "</section>")
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
