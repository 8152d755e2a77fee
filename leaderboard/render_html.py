"""The leaderboard as one self-contained static HTML page: plotly.js is inlined once, so the page
opens offline from a file; every board has a sortable table and its charts."""

from __future__ import annotations

import html
from typing import Any

import plotly.offline

from emplifai.leaderboard.boards import KEY_FIELDS, Board, Leaderboard
from emplifai.leaderboard.charts import board_figures
from emplifai.leaderboard.columns import Col, cell_text, display_columns, paper_columns, sort_value
from emplifai.leaderboard.paper_rows import PaperFigures
from emplifai.leaderboard.stats import METHOD

_NUMERIC = {"mean_ci", "num", "pct", "int", "list"}

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans JP", sans-serif; margin: 1.5rem auto;
       max-width: 1500px; padding: 0 1rem; color: #1d2433; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2.5rem; border-bottom: 2px solid #d5dae3; padding-bottom: .3rem; }
.meta, .key { color: #4b5566; font-size: .9rem; }
.note { background: #fff6dc; border-left: 4px solid #e0a800; padding: .6rem .9rem; margin: 1rem 0; }
.paper-note { background: #eef2f8; border-left: 4px solid #7a8aa6; padding: .6rem .9rem; }
table { border-collapse: collapse; font-size: .85rem; margin: .8rem 0; display: block; overflow-x: auto; }
th, td { border: 1px solid #d5dae3; padding: .3rem .5rem; text-align: right; white-space: nowrap; }
td.text, th.text { text-align: left; }
thead th { background: #f1f4f9; position: sticky; top: 0; }
table.sortable thead th { cursor: pointer; user-select: none; }
table.sortable thead th[aria-sort="ascending"]::after { content: " \\25B2"; }
table.sortable thead th[aria-sort="descending"]::after { content: " \\25BC"; }
table.paper td, table.paper th { background: #f7f8fb; font-style: italic; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(620px, 1fr)); gap: 1rem; }
.lb-chart { border: 1px solid #e3e7ee; border-radius: 6px; padding: .3rem; min-height: 300px; }
"""

# Click a header to sort its table; click again to reverse. Numeric columns sort on data-value
# (the raw number), text columns on the text; empty values always go last.
_SORT_JS = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("thead th").forEach(function (th, index) {
    th.addEventListener("click", function () {
      var numeric = th.dataset.type === "num";
      var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
      table.querySelectorAll("thead th").forEach(function (h) { h.removeAttribute("aria-sort"); });
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


def html_table(cols: list[Col], rows: list[dict[str, Any]], table_id: str, css_class: str) -> str:
    head = "".join(
        f'<th data-key="{_e(c.key)}" data-type="{"num" if c.kind in _NUMERIC else "text"}"'
        f'{"" if c.kind in _NUMERIC else " class=text"}>{_e(c.header)}</th>'
        for c in cols
    )
    body = []
    for row in rows:
        cells = []
        for c in cols:
            title = f' title="{_e(row.get(c.key))}"' if c.kind == "path" else ""
            cls = "" if c.kind in _NUMERIC else ' class="text"'
            cells.append(f'<td data-key="{_e(c.key)}" data-value="{_e(sort_value(c, row))}"{cls}{title}>'
                         f"{_e(cell_text(c, row))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table id="{_e(table_id)}" class="{css_class}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def _chart_divs(board: Board, paper: PaperFigures | None) -> str:
    divs = []
    for kind, fig in board_figures(board, paper).items():
        # Width follows the grid cell; a fixed plotly width would overflow it and clip categories.
        inner = fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"{board.id}-{kind}",
                            default_width="100%", config={"displaylogo": False, "responsive": True})
        divs.append(f'<div class="lb-chart" data-chart="{kind}" data-board="{_e(board.id)}">{inner}</div>')
    return f'<div class="charts">{"".join(divs)}</div>'


def board_html(board: Board, paper: PaperFigures | None) -> str:
    key = "; ".join(f"{f}: <code>{_e(board.key.get(f))}</code>" for f in KEY_FIELDS[board.task])
    parts = [
        f'<section class="board" id="board-{_e(board.id)}" data-task="{_e(board.task)}">',
        f"<h2>{_e(board.title)}</h2>",
        f'<p class="key">Board <code>{_e(board.id)}</code>. Rows are ranked together because they share {key}. '
        f"Rank metric: <b>{_e(board.rank_metric)}</b>. Click a column header to sort.</p>",
        html_table(display_columns(board.task), board.rows.to_dict(orient="records"), f"table-{board.id}", "lb-table sortable"),
    ]
    if board.superseded:
        items = "".join(
            f"<li>{_e(s['candidate'])}: <code>{_e(s['log'])}</code> ({_e(s['date'][:16])}), superseded by "
            f"<code>{_e(s['superseded_by'])}</code>{_e(' (' + s['note'] + ')') if s.get('note') else ''}</li>"
            for s in board.superseded
        )
        parts.append(f'<p class="meta">Superseded logs (older runs of the same candidate; not counted, not averaged in):</p><ul class="superseded">{items}</ul>')
    if board.task == "generation":
        parts.append('<p class="meta">Format failures (no dialogue: every metric 1) have no reply length and '
                     "unscored samples have no score, so neither has a point on the length scatter.</p>")
    parts.append(_chart_divs(board, paper))
    parts.append("</section>")
    return "\n".join(parts)


def paper_html(paper: PaperFigures) -> str:
    parts = [f'<section class="paper" id="paper"><h2>Reported in the paper, not run here</h2>',
             f'<p class="paper-note">Source: {_e(paper.source)}. These rows are <b>{_e(paper.label)}</b>: '
             "a different copy of the data, another judge and pipeline. They are never ranked with measured rows.</p>"]
    for task, table in paper.tables.items():
        parts.append(f"<h3>{_e(task)}: {_e(paper.label)}</h3><p class=meta>{_e(table.note)}</p>")
        parts.append(html_table(paper_columns(task), table.rows.to_dict(orient="records"), f"paper-{task}", "paper sortable"))
    parts.append("</section>")
    return "\n".join(parts)


def render_html(lb: Leaderboard, paper: PaperFigures | None = None) -> str:
    method = "".join(f"<li><b>{_e(k.replace('_', ' '))}</b>: {_e(v)}</li>" for k, v in METHOD.items())
    method += ("<li><b>counted logs</b>: the newest log per (task, candidate, judge, dataset); older ones are "
               "listed as superseded</li>")
    notes = "".join(f'<p class="note">{_e(n)}</p>' for n in lb.separation_notes)
    boards = "\n".join(board_html(b, paper) for b in lb.boards) or (
        "<p>No emotion or generation run in these logs could be counted.</p>")
    skipped = ""
    if lb.skipped:
        items = "".join(f"<li><code>{_e(s.log)}</code> ({_e(s.task)}, {_e(s.model)}): {_e(s.reason)}</li>" for s in lb.skipped)
        skipped = f'<section id="skipped"><h2>Logs not counted</h2><ul>{items}</ul></section>'
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>emplifai-bench leaderboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{_CSS}</style>
<script type="text/javascript">{plotly.offline.get_plotlyjs()}</script>
</head><body>
<h1>emplifai-bench leaderboard</h1>
<p class="meta">Generated {_e(lb.generated_at)} from the Inspect logs in <code>{_e(lb.log_dir)}</code>.
Values are means with 95% confidence intervals in brackets.</p>
<ul class="meta">{method}</ul>
{notes}
{boards}
{paper_html(paper) if paper is not None else ""}
{skipped}
<script>{_SORT_JS}</script>
</body></html>
"""
