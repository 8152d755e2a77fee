"""The leaderboard as one self-contained static HTML page: plotly.js is inlined once, so the page
opens offline from a file; every board has a sortable table and its charts.

Layout choices (checked at 1,400 px with 20 rows by tests/test_leaderboard_browser.py): a value
and its CI are stacked in one cell, so the rank, candidate, evidence and every metric column fit
without horizontal scrolling; diagnostics and provenance come after them (the table scrolls
sideways from there, with the rank and candidate columns pinned).
"""

from __future__ import annotations

import html
from typing import Any

import plotly.io as pio

from emplifai.leaderboard.boards import KEY_FIELDS, Board, Leaderboard, panel_notes, unranked_note
from emplifai.leaderboard.charts import board_figures
from emplifai.leaderboard.collect import JudgeCheck
from emplifai.leaderboard.columns import (
    FONT_STACK,
    GROUP_LABELS,
    Col,
    cell_text,
    display_columns,
    evidence_text,
    paper_columns,
    provenance_text,
    sort_value,
)
from emplifai.leaderboard.paper_rows import PaperFigures
from emplifai.leaderboard.stats import METHOD
from emplifai.leaderboard.summary import cell_text as summary_cell_text
from emplifai.leaderboard.summary import summary
from emplifai.probes.trust import TRUST_RULE

_NUMERIC = {"mean_ci", "num", "pct", "int", "list", "evidence"}

_CSS = """
body { font-family: FONT_STACK; margin: 1.5rem auto;
       max-width: 1500px; padding: 0 1rem; color: #1d2433; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2.5rem; border-bottom: 2px solid #d5dae3; padding-bottom: .3rem; font-size: 1.25rem; }
h3 { font-size: 1.05rem; margin: 1.2rem 0 .4rem; }
.meta, .key { color: #4b5566; font-size: .9rem; }
.note { background: #fff6dc; border-left: 4px solid #e0a800; padding: .6rem .9rem; margin: 1rem 0; }
.apart { background: #fdecec; border-left: 4px solid #c0392b; padding: .6rem .9rem; margin: 1rem 0; }
.paper-note { background: #eef2f8; border-left: 4px solid #7a8aa6; padding: .6rem .9rem; }
.checks { background: #eef6ee; border-left: 4px solid #3c8d40; padding: .5rem .9rem; margin: .8rem 0; font-size: .9rem; }
.table-wrap { overflow-x: auto; margin: .8rem 0; border: 1px solid #d5dae3; }
table { border-collapse: separate; border-spacing: 0; font-size: .8rem; }
th, td { border-right: 1px solid #e3e7ee; border-bottom: 1px solid #e3e7ee; padding: .25rem .3rem; text-align: right;
         white-space: nowrap; background: #fff; }
td.text, th.text { text-align: left; }
td small { display: block; color: #5b6475; font-size: .72rem; }
thead th { background: #f1f4f9; vertical-align: bottom; white-space: normal; }
thead tr.groups th { text-align: center; font-weight: 600; color: #37415a; border-bottom: 2px solid #c9d0dc; }
thead tr.groups th.g-metrics { background: #e6eefb; } thead tr.groups th.g-diagnostics { background: #f4efe3; }
thead tr.groups th.g-provenance { background: #eef0f3; }
th.sticky, td.sticky { position: sticky; z-index: 2; }
th.sticky { z-index: 3; }
.col-rank { left: 0; width: 2.6rem; min-width: 2.6rem; max-width: 2.6rem; }
.col-candidate { left: 2.6rem; min-width: 9rem; max-width: 13rem; white-space: normal; overflow-wrap: anywhere;
                 box-shadow: 2px 0 0 #c9d0dc; }
td.col-evidence { color: #37415a; cursor: help; }
table.lb-self .col-candidate { left: 0; }
td.col-self_judged { white-space: normal; min-width: 16rem; max-width: 26rem; text-align: left; }
td.sig { color: #8a1c1c; }
table.sortable thead tr.cols th { cursor: pointer; user-select: none; }
table.sortable thead th[aria-sort="ascending"]::after { content: " \\25B2"; }
table.sortable thead th[aria-sort="descending"]::after { content: " \\25BC"; }
table.paper td, table.paper th { background: #f7f8fb; font-style: italic; }
.charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 1rem; }
.lb-chart { border: 1px solid #e3e7ee; border-radius: 6px; padding: .3rem; }
.lb-chart.wide { grid-column: 1 / -1; }
table.lb-summary .col-candidate { left: 0; }
table.lb-summary th { white-space: normal; min-width: 6rem; max-width: 14rem; text-align: center; }
table.lb-summary th small { display: block; font-weight: normal; color: #5b6475; }
""".replace("FONT_STACK", FONT_STACK)

# Click a header to sort its table; click again to reverse. Numeric columns sort on data-value
# (the raw number), text columns on the text; empty values always go last.
_SORT_JS = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = table.querySelectorAll("thead tr.cols th");
  heads.forEach(function (th, index) {
    th.addEventListener("click", function () {
      var numeric = th.dataset.type === "num";
      var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
      heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", dir);
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[index].dataset.value, y = b.cells[index].dataset.value;
        if (x === "" && y === "") return 0;
        if (x === "") return 1;
        if (y === "") return -1;
        var c = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
        return dir === "ascending" ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
// Each chart is drawn while the page is still being parsed, before its grid row is complete;
// once everything is laid out, fit every chart to its cell.
window.addEventListener("load", function () {
  document.querySelectorAll(".lb-chart .plotly-graph-div").forEach(function (g) { Plotly.Plots.resize(g); });
});
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _cell(c: Col, row: dict[str, Any], task: str) -> str:
    classes = [] if c.kind in _NUMERIC else ["text"]
    title = ""
    text = _e(cell_text(c, row))
    if c.key in ("rank", "candidate"):
        classes += ["sticky", f"col-{c.key}"]
    if c.kind == "mean_ci" and text != _e(c.missing):
        value, _, ci = cell_text(c, row).partition(" [")
        text = f"{_e(value)}<small>{_e(ci.rstrip(']'))}</small>"
    elif c.kind == "evidence":
        short, full = evidence_text(row)
        verdict, _, p = short.partition(", ")
        ev = row.get("evidence")
        vs = f"vs {ev['vs']}" if isinstance(ev, dict) else ""
        text = f"{_e(verdict)}{' ' + _e(p) if p else ''}<small>{_e(vs[:28] + ('…' if len(vs) > 28 else ''))}</small>"
        title = f' title="{_e(full)}"'
        classes.append("col-evidence")
        if isinstance(ev, dict) and ev["significant"]:
            classes.append("sig")
    elif c.kind == "path":
        title = f' title="{_e(row.get(c.key))}"'
    elif c.key == "candidate":
        title = f' title="{_e(row.get(c.key))}&#10;{_e(provenance_text(task, row))}"'
    elif c.key == "self_judged":
        classes.append("col-self_judged")
    cls = f' class="{" ".join(classes)}"' if classes else ""
    return f'<td data-key="{_e(c.key)}" data-value="{_e(sort_value(c, row))}"{cls}{title}>{text}</td>'


def html_table(cols: list[Col], rows: list[dict[str, Any]], table_id: str, css_class: str, groups: bool = False,
               task: str = "") -> str:
    group_row = ""
    if groups:
        spans: list[list[Any]] = []
        for c in cols:
            if spans and spans[-1][0] == c.group:
                spans[-1][1] += 1
            else:
                spans.append([c.group, 1])
        cells = []
        for group, n in spans:
            if group == "rank":
                # the pinned columns keep their place in the group row too
                for c in cols[:n]:
                    sticky = f' class="sticky col-{c.key}"' if c.key in ("rank", "candidate") else ""
                    cells.append(f"<th{sticky}></th>")
            else:
                cells.append(f'<th colspan="{n}" class="g-{group}">{_e(GROUP_LABELS[group])}</th>')
        group_row = f'<tr class="groups">{"".join(cells)}</tr>'
    head = []
    for c in cols:
        classes = [] if c.kind in _NUMERIC else ["text"]
        if c.key in ("rank", "candidate"):
            classes += ["sticky", f"col-{c.key}"]
        cls = f' class="{" ".join(classes)}"' if classes else ""
        tip = f' title="{_e(c.tip)}"' if c.tip else ""
        head.append(
            f'<th data-key="{_e(c.key)}" data-group="{_e(c.group)}" '
            f'data-type="{"num" if c.kind in _NUMERIC else "text"}"{cls}{tip}>{_e(c.header)}</th>'
        )
    body = ["<tr>" + "".join(_cell(c, row, task) for c in cols) + "</tr>" for row in rows]
    return (
        f'<div class="table-wrap"><table id="{_e(table_id)}" class="{css_class}"><thead>{group_row}'
        f'<tr class="cols">{"".join(head)}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'
    )


def _chart_divs(board: Board, paper: PaperFigures | None) -> str:
    divs = []
    for kind, (fig, wide) in board_figures(board, paper).items():
        # Width follows the grid cell; a fixed plotly width would overflow it and clip categories.
        inner = pio.to_html(
            fig,
            full_html=False,
            include_plotlyjs=False,
            div_id=f"{board.id}-{kind}",
            default_width="100%",
            default_height=f"{fig['layout']['height']}px",
            config={"displaylogo": False, "responsive": True},
            validate=False,
        )
        cls = "lb-chart wide" if wide else "lb-chart"
        divs.append(f'<div class="{cls}" data-chart="{kind}" data-board="{_e(board.id)}">{inner}</div>')
    return f'<div class="charts">{"".join(divs)}</div>'


def _fmt(value: float | None, pct: bool = False) -> str:
    if value is None:
        return "not reported"
    return f"{100 * value:.0f}%" if pct else f"{value:.3f}"


# What the two shares mean for each way the probes were judged (emplifai.probes.trust.PROBE_MODES).
_SHARES = {
    "absolute": ("share of degraded replies scored below their original",
                 "share of harmless rewrites that moved a score"),
    "pairwise": ("share of degraded replies that lost to their original in both orders",
                 "share of harmless rewrites not judged a tie with their original in both orders"),
}


def _judge_check_item(c: JudgeCheck) -> str:
    accuracy, invariance = _SHARES[c.mode]
    return (
        f'<li data-mode="{_e(c.mode)}"><b>{_e(c.judge)}</b> ({"rubric " + _e(c.rubric) + ", " if c.rubric else ""}'
        f"<b>{_e(c.mode)}</b> judging): probe accuracy <b>{_fmt(c.probe_accuracy, True)}</b> ({accuracy}), "
        f"invariance violations <b>{_fmt(c.invariance_violation_rate, True)}</b> ({invariance}), {c.n} probes, "
        f'<code title="{_e(c.log)}">{_e(c.log.rsplit("/", 1)[-1])}</code>. '
        f'Trust verdict: <b data-verdict="{_e(c.verdict)}">{_e(c.verdict)}</b>. {_e(c.verdict_sentence)}</li>'
    )


def judge_checks_html(checks: list[JudgeCheck], judges: str) -> str:
    if not checks:
        return (
            f'<p class="checks meta" data-judge-checks="none"><b>Judge checks</b>: no <code>judge_probes</code> or '
            f"<code>pairwise_probes</code> log for {_e(judges)} in these logs (<code>inspect eval "
            "tasks/judge_probes.py --model-role grader=...</code> measures whether the judge separates known-worse "
            "replies and ignores padding and injected instructions; <code>tasks/pairwise_probes.py</code> asks the "
            "same of it judging pairwise).</p>"
        )
    items = "".join(_judge_check_item(c) for c in checks)
    rule = f'<p class="meta">{_e(TRUST_RULE)}</p>'
    return (f'<div class="checks" data-judge-checks="{len(checks)}"><b>Judge checks</b> (judge_probes: absolute, '
            f"pairwise_probes: pairwise):<ul>{items}</ul>{rule}</div>")


def board_html(board: Board, paper: PaperFigures | None) -> str:
    key = "; ".join(f"{f}: <code>{_e(board.key.get(f))}</code>" for f in KEY_FIELDS[board.task])
    parts = [
        f'<section class="board" id="board-{_e(board.id)}" data-task="{_e(board.task)}">',
        f"<h2>{_e(board.title)}</h2>",
        f'<p class="key">Board <code>{_e(board.id)}</code>. Rows are ranked together because they share {key}. '
        f"Rank metric: <b>{_e(board.rank_metric)}</b>. Hover a cell of <i>vs row above</i> for the test behind "
        "the rank; click a column header to sort.</p>",
    ]
    if board.data_note:
        parts.append(f'<p class="note">{_e(board.data_note)}</p>')
    if board.task == "generation":
        judges = str(board.key.get("judge_model"))
        parts.append(judge_checks_html(board.judge_checks, judges.split(" of ", 1)[-1] if board.is_panel else judges))
    if board.is_panel:
        parts.append(
            "<p class=\"meta\">A panel: each sample's score is the mean (or median) of the judges' "
            "scores, counted only where every judge scored it. <b>Judges α</b> is Krippendorff's alpha "
            "(interval) of the judges on the overall score: 1 = full agreement, 0 = chance.</p>"
        )
    parts += [f'<p class="note" data-panel-note>{_e(n)}</p>' for n in panel_notes(board)]
    if len(board.rows):
        parts.append(
            html_table(
                display_columns(board.task, panel=board.is_panel, compact=True),
                board.rows.to_dict(orient="records"),
                f"table-{board.id}",
                "lb-table sortable",
                groups=True,
                task=board.task,
            )
        )
    if len(board.self_judged):
        parts.append(f'<p class="apart">{_e(unranked_note(board))}</p>')
        parts.append(
            html_table(
                display_columns(board.task, ranked=False, panel=board.is_panel, compact=True),
                board.self_judged.to_dict(orient="records"),
                f"self-{board.id}",
                "lb-self sortable",
                groups=True,
                task=board.task,
            )
        )
    if board.superseded:
        items = "".join(
            f"<li>{_e(s['candidate'])}: <code>{_e(s['log'])}</code> ({_e(s['date'][:16])}), superseded by "
            f"<code>{_e(s['superseded_by'])}</code>{_e(' (' + s['note'] + ')') if s.get('note') else ''}</li>"
            for s in board.superseded
        )
        parts.append(
            f'<p class="meta">Superseded logs (older runs of the same candidate; not counted, not averaged in):</p><ul class="superseded meta">{items}</ul>'
        )
    if len(board.rows):
        if board.task == "generation":
            parts.append(
                '<p class="meta">Format failures (no dialogue: every metric 1) have no reply length and '
                "unscored samples have no score, so neither has a point on the length scatter.</p>"
            )
        parts.append(_chart_divs(board, paper))
    parts.append("</section>")
    return "\n".join(parts)


def paper_html(paper: PaperFigures) -> str:
    parts = [
        '<section class="paper" id="paper"><h2>Reported in the paper, not run here</h2>',
        f'<p class="paper-note">Source: {_e(paper.source)}. These rows are <b>{_e(paper.label)}</b>: '
        "a different copy of the data, another judge and pipeline. They are never ranked with measured rows.</p>",
    ]
    for task, table in paper.tables.items():
        parts.append(f"<h3>{_e(task)}: {_e(paper.label)}</h3><p class=meta>{_e(table.note)}</p>")
        parts.append(
            html_table(paper_columns(task), table.rows.to_dict(orient="records"), f"paper-{task}", "paper sortable")
        )
    parts.append("</section>")
    return "\n".join(parts)


def summary_html(lb: Leaderboard) -> str:
    """The candidates x judges table (leaderboard/summary.py), above the boards."""
    columns, rows = summary(lb)
    if not columns:
        return ""
    heads = "".join(
        f'<th data-type="num" data-board="{_e(c.board)}"><a href="#board-{_e(c.board)}">{_e(c.judge)}</a>'
        f'{f"<small>{_e(c.detail)}</small>" if c.detail else ""}</th>'
        for c in columns
    )
    body = []
    for r in rows:
        cells = [f'<td class="text sticky col-candidate" data-value="{_e(r.candidate)}">'
                 f'<a href="{_e(r.page)}" data-candidate-page>{_e(r.candidate)}</a></td>']
        for c in columns:
            cell = r.cells.get(c.board)
            value, detail = summary_cell_text(cell)
            sort = "" if cell is None or cell["overall"] != cell["overall"] else repr(cell["overall"])
            title = f' title="{_e(cell["not_ranked"])}"' if cell is not None and cell["not_ranked"] else ""
            cells.append(f'<td data-value="{_e(sort)}"{title}>{_e(value)}<small>{_e(detail)}</small></td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        '<section id="summary"><h2>Candidates × judges</h2>'
        '<p class="meta">Overall score (mean of the seven metrics) with its 95% CI and the rank on each judge\'s '
        "board; a panel column is the mean or median of several judges of the same logs. Click a judge for its "
        "board, a candidate for its samples (dialogues, every judge's scores and reasons).</p>"
        f'<div class="table-wrap"><table id="summary-table" class="lb-summary sortable"><thead><tr class="cols">'
        f'<th class="text sticky col-candidate" data-type="text">Candidate</th>{heads}</tr></thead>'
        f'<tbody>{"".join(body)}</tbody></table></div></section>'
    )


def _plotlyjs() -> str:
    import plotly.offline

    return plotly.offline.get_plotlyjs()


def render_html(lb: Leaderboard, paper: PaperFigures | None = None, audit: tuple[str, bool] | None = None,
                pairwise: str | None = None) -> str:
    """The page. ``audit``: (link relative to the page, whether the file exists yet); ``pairwise``:
    the pairwise boards' page beside it, when the logs hold pairwise runs."""
    # The length control is the audit's method: with --audit, linked to the report's section of it.
    lc_link = (f' <a id="length-control-link" href="{_e(audit[0])}#length-controlled">The judge audit\'s '
               "length-controlled means</a>.") if audit is not None else ""
    method = "".join(f"<li id=\"method-{_e(k)}\"><b>{_e(k.replace('_', ' '))}</b>: {_e(v)}"
                     f"{lc_link if k == 'length_control' else ''}</li>" for k, v in METHOD.items())
    method += (
        "<li><b>counted logs</b>: the newest log per (task, candidate, judge, data); older ones are "
        "listed as superseded</li>"
    )
    notes = "".join(f'<p class="note">{_e(n)}</p>' for n in lb.separation_notes)
    audit_html = ""
    if audit is not None:
        href, exists = audit
        audit_html = (
            f'<p class="meta" id="audit-link">Judge audit (agreement with human raters, biases): '
            f'<a href="{_e(href)}">{_e(href)}</a>{"" if exists else " (not written yet)"}</p>'
        )
    if pairwise is not None:
        audit_html += (
            f'<p class="meta" id="pairwise-link">Pairwise boards (win rate against a baseline dialogue, '
            f'kept apart from these absolute scores): <a href="{_e(pairwise)}">{_e(pairwise)}</a></p>'
        )
    boards = "\n".join(board_html(b, paper) for b in lb.boards) or (
        "<p>No emotion or generation run in these logs could be counted.</p>"
    )
    skipped = ""
    if lb.skipped:
        items = "".join(
            f"<li><code>{_e(s.log)}</code> ({_e(s.task)}, {_e(s.model)}): {_e(s.reason)}</li>" for s in lb.skipped
        )
        skipped = f'<section id="skipped"><h2>Logs not counted</h2><ul>{items}</ul></section>'
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>emplifai-bench leaderboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{_CSS}</style>
<script type="text/javascript">{_plotlyjs()}</script>
</head><body>
<h1>emplifai-bench leaderboard</h1>
<p class="meta">Generated {_e(lb.generated_at)} from the Inspect logs in <code>{_e(lb.log_dir)}</code>.
Values are means with their 95% confidence interval below them.</p>
{audit_html}
{summary_html(lb)}
<h2 id="method">Method</h2>
<ul class="meta">{method}</ul>
{notes}
{boards}
{paper_html(paper) if paper is not None else ""}
{skipped}
<script>{_SORT_JS}</script>
</body></html>
"""
