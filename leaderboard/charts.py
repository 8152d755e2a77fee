"""Plotly figures for the HTML page, readable with 20 rows: per-metric panels of means with CI
whiskers (one row per candidate, in the table's order), the seven-metric profile of the top five,
the candidates x 28 emotions heatmap and the length-vs-score scatter.

Every figure's height follows its number of rows, so there is no empty space under it; a metric
no run of the board scored reads "not scored" in its panel instead of an empty gap.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from emplifai.judge_metrics import METRIC_KEYS
from emplifai.leaderboard.boards import Board
from emplifai.leaderboard.collect import EMOTION, GENERATION, OVERALL
from emplifai.leaderboard.columns import FONT_STACK, NOT_SCORED, SHORT
from emplifai.leaderboard.paper_rows import PaperFigures
from emplifai.taxonomy import EMOTIONS

# Figures are plain plotly figure dicts (written with plotly.io.to_html(validate=False)): building
# them through plotly.graph_objects validated every property and took most of a 20-model page's
# rendering time. The test suite draws every figure in a real browser.
Figure = dict[str, Any]
PROFILE_TOP = 5
_LABEL_CHARS = 34


# A light template in the spirit of plotly's "plotly_white" (plotly.js applies layout.template
# itself; resolving plotly.py's named template would load all of graph_objects).
_GRID = "#EBF0F8"
_AXIS = {"gridcolor": _GRID, "linecolor": _GRID, "zerolinecolor": _GRID, "ticks": "", "automargin": True}
_STYLE = {
    "paper_bgcolor": "white",
    "plot_bgcolor": "white",
    "font": {"color": "#2a3f5f", "family": FONT_STACK},
    "colorway": [
        "#636efa",
        "#EF553B",
        "#00cc96",
        "#ab63fa",
        "#FFA15A",
        "#19d3f3",
        "#FF6692",
        "#B6E880",
        "#FF97FF",
        "#FECB52",
    ],
    "xaxis": _AXIS,
    "yaxis": _AXIS,
    "hoverlabel": {"align": "left"},
    "polar": {
        "bgcolor": "white",
        "angularaxis": {"gridcolor": _GRID, "linecolor": _GRID},
        "radialaxis": {"gridcolor": _GRID, "linecolor": _GRID},
    },
}


def _layout(**kw: Any) -> dict[str, Any]:
    return {"template": {"layout": _STYLE}, **kw}


def _nan_to_none(values: list[float]) -> list[float | None]:
    return [None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v) for v in values]


def _short(name: str) -> str:
    return name if len(name) <= _LABEL_CHARS else name[: _LABEL_CHARS - 1] + "…"


def _metrics(board: Board) -> list[tuple[str, str]]:
    if board.task == GENERATION:
        return [(OVERALL, "Overall"), *[(k, SHORT[k]) for k in METRIC_KEYS]]
    return [
        ("accuracy", "Accuracy"),
        ("macro_f1", "Macro-F1"),
        ("bertscore_f1", "BERTScore F1"),
        ("fasttext", "fastText cos"),
    ]


def means_figure(board: Board) -> Figure:
    """One panel per metric; in each, one dot per candidate (table order, top = rank 1) with its 95% CI."""
    metrics = _metrics(board)
    rows = board.rows.to_dict(orient="records")
    names = [r["candidate"] for r in rows]
    y = list(range(len(rows)))
    lo_hi = (1, 5) if board.task == GENERATION else (0, 1)
    pad = 0.05 * (lo_hi[1] - lo_hi[0])
    gap, k = 0.012, len(metrics)
    width = (1 - gap * (k - 1)) / k
    data, annotations, layout = [], [], {}
    for i, (key, label) in enumerate(metrics):
        axis = "x" if i == 0 else f"x{i + 1}"
        est = [r.get(key, math.nan) for r in rows]
        lo = [r.get(f"{key}_ci_low", math.nan) for r in rows]
        hi = [r.get(f"{key}_ci_high", math.nan) for r in rows]
        data.append(
            {
                "type": "scatter",
                "x": _nan_to_none(est),
                "y": y,
                "xaxis": axis,
                "yaxis": "y",
                "mode": "markers",
                "marker": {"size": 7, "color": "#2f5d9e"},
                "showlegend": False,
                "error_x": {
                    "type": "data",
                    "symmetric": False,
                    "thickness": 1.2,
                    "width": 3,
                    "array": _nan_to_none([h - e for h, e in zip(hi, est)]),
                    "arrayminus": _nan_to_none([e - low for e, low in zip(est, lo)]),
                },
                "customdata": [[n, lw, h] for n, lw, h in zip(names, _nan_to_none(lo), _nan_to_none(hi))],
                "hovertemplate": "%{customdata[0]}<br>"
                + label
                + " %{x:.3f} [%{customdata[1]:.3f}, %{customdata[2]:.3f}]<extra></extra>",
            }
        )
        left = i * (width + gap)
        layout["xaxis" if i == 0 else f"xaxis{i + 1}"] = {
            "domain": [left, left + width],
            "anchor": "y",
            "range": [lo_hi[0] - pad, lo_hi[1] + pad],
            "nticks": 5,
            "showgrid": True,
        }
        annotations.append(
            {
                "text": label,
                "x": left + width / 2,
                "y": 1,
                "xref": "paper",
                "yref": "paper",
                "xanchor": "center",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 14},
            }
        )
        if all(v is None for v in _nan_to_none(est)):
            annotations.append(
                {
                    "text": NOT_SCORED,
                    "x": sum(lo_hi) / 2,
                    "y": (len(rows) - 1) / 2,
                    "xref": axis,
                    "yref": "y",
                    "showarrow": False,
                    "font": {"color": "#8a94a6", "size": 13},
                }
            )
    layout["yaxis"] = {
        "tickmode": "array",
        "tickvals": y,
        "ticktext": [_short(n) for n in names],
        "autorange": "reversed",
        "automargin": True,
    }
    return {
        "data": data,
        "layout": _layout(
            **layout,
            annotations=annotations,
            title={"text": "Means with 95% bootstrap CIs (rows in the table's order)"},
            height=110 + 24 * len(rows),
            margin={"l": 10, "r": 10, "t": 70, "b": 30},
        ),
    }


def profile_figure(board: Board, paper: PaperFigures | None = None) -> Figure:
    """The seven judge metrics of the top five rows (by rank) on a polar chart; paper rows hidden."""
    theta = [SHORT[k] for k in METRIC_KEYS]
    data = []
    rows = board.rows.to_dict(orient="records")
    for row in rows[:PROFILE_TOP]:
        r = [row[k] for k in METRIC_KEYS]
        data.append(
            {
                "type": "scatterpolar",
                "r": _nan_to_none(r + r[:1]),
                "theta": theta + theta[:1],
                "name": _short(row["candidate"]),
                "mode": "lines+markers",
            }
        )
    if paper is not None:
        for row in paper.tables[GENERATION].rows.to_dict(orient="records"):
            r = [row[k] for k in METRIC_KEYS]
            if any(math.isnan(v) for v in r):
                continue
            data.append(
                {
                    "type": "scatterpolar",
                    "r": r + r[:1],
                    "theta": theta + theta[:1],
                    "name": f"{row['model']} ({paper.label})",
                    "mode": "lines",
                    "line": {"dash": "dot"},
                    "visible": "legendonly",
                }
            )
    shown = min(PROFILE_TOP, len(rows))
    title = f"Seven-metric profile of the top {shown} by rank" + (
        # on a second, smaller line: one line of this did not fit the half-width cell at 1,400 px
        f"<br><sup>of {len(rows)}; every row is in the metric panels above</sup>" if len(rows) > shown else ""
    )
    return {
        "data": data,
        "layout": _layout(
            title={"text": title},
            height=480,
            margin={"l": 40, "r": 40, "t": 70, "b": 40},
            polar={"radialaxis": {"range": [1, 5], "tickvals": [1, 2, 3, 4, 5]}},
            legend={"orientation": "v", "x": 1.02, "y": 1, "font": {"size": 11}},
        ),
    }


def heatmap_figure(board: Board) -> Figure:
    """Candidates (table order) x the emotions the board has samples of: accuracy per gold label, or
    the mean overall score, with the number of samples in each cell. Emotions no candidate had a
    sample of are left out and named in the title; a blank cell is a candidate without a scored sample."""
    names = board.rows["candidate"].tolist()
    frame = board.per_emotion.reindex(names)
    counts = board.per_emotion_n.reindex(index=names) if len(board.per_emotion_n) else None
    present = [e for e in EMOTIONS if counts is not None and e.label in counts and counts[e.label].fillna(0).sum() > 0]
    if counts is None:
        present = [e for e in EMOTIONS if e.label in frame and frame[e.label].notna().any()]
    missing = len(EMOTIONS) - len(present)
    labels = [e.label for e in present]
    z = frame.reindex(columns=labels).to_numpy(dtype=float)
    n = (counts.reindex(columns=labels).fillna(0).to_numpy(dtype=int) if counts is not None
         else np.zeros(z.shape, dtype=int))
    # Numbers in the cells while they stay legible; with more rows the colour scale and hover carry them.
    numbers = len(names) <= 30
    text = [["" if np.isnan(v) else f"{v:.2f}<br>n={c}" for v, c in zip(row, crow)] for row, crow in zip(z, n)]
    gone = f"; {missing} of 28 emotions with no sample left out" if missing else ""
    if board.task == EMOTION:
        title, zmin, zmax, bar = f"Accuracy per gold emotion (n = samples{gone})", 0.0, 1.0, "accuracy"
    else:
        title, zmin, zmax, bar = f"Mean overall judge score per emotion (n = scored samples{gone})", 1.0, 5.0, "overall"
    y = list(range(len(names)))
    trace = {
        "type": "heatmap",
        "z": [_nan_to_none(list(row)) for row in z],
        "x": labels,
        "y": y,
        "zmin": zmin,
        "zmax": zmax,
        "colorscale": "Viridis",
        "text": text,
        "textfont": {"size": 9},
        "hoverongaps": False,
        "colorbar": {"title": {"text": bar}, "thickness": 12},
        "xgap": 1,
        "ygap": 1,
        "customdata": [[[nm, f"{e.label} ({e.ja})", int(c)] for e, c in zip(present, crow)] for nm, crow in zip(names, n)],
        "hovertemplate": "%{customdata[0]}<br>%{customdata[1]}<br>" + bar + " %{z:.2f} (n=%{customdata[2]})<extra></extra>",
    }
    if numbers:
        trace["texttemplate"] = "%{text}"
    return {
        "data": [trace],
        "layout": _layout(
            title={"text": title},
            height=(190 if len(present) > 12 else 140) + 30 * len(names),
            margin={"l": 10, "r": 10, "t": 60, "b": 110 if len(present) > 12 else 60},
            xaxis={
                "type": "category",
                "tickmode": "array",
                "tickvals": labels,
                # the Japanese label under the English one
                "ticktext": [f"{e.label}<br>{e.ja}" for e in present],
                "tickangle": -50 if len(present) > 12 else 0,
                "tickfont": {"size": 11},
            },
            yaxis={
                "tickmode": "array",
                "tickvals": y,
                "ticktext": [_short(nm) for nm in names],
                "autorange": "reversed",
                "automargin": True,
            },
        ),
    }


SCATTER_TOP = 5
_GREY = "#b8bfcc"


def scatter_figure(board: Board) -> Figure:
    """Per-sample mean reply length (characters) against the overall judge score. The top
    ``SCATTER_TOP`` rows of the table in colour, every other row in grey behind them (one legend
    entry), so 20 models stay readable; hover names each point's candidate."""
    data = []
    samples = board.samples
    names = board.rows["candidate"].tolist()
    # grey first, so the coloured points are drawn on top
    order = list(enumerate(names))[SCATTER_TOP:] + list(enumerate(names))[:SCATTER_TOP]
    for i, candidate in order:
        part = samples[(samples["candidate"] == candidate) & samples["chars"].notna() & samples[OVERALL].notna()]
        top = i < SCATTER_TOP
        rest = len(names) - SCATTER_TOP
        trace = {
            "type": "scatter",
            "x": part["chars"].tolist(),
            "y": part[OVERALL].tolist(),
            "mode": "markers",
            "name": _short(candidate) if top else f"the other {rest} rows (grey)",
            "marker": {"size": 6 if top else 4, "opacity": 0.8 if top else 0.45, **({} if top else {"color": _GREY})},
            "text": [f"{_short(candidate)}<br>{sid} ({e})" for sid, e in zip(part["id"], part["emotion"])],
            "hovertemplate": "%{text}<br>chars %{x:.1f}<br>overall %{y:.2f}<extra></extra>",
        }
        if not top:
            trace["legendgroup"] = "rest"
            trace["showlegend"] = i == SCATTER_TOP
        data.append(trace)
    return {
        "data": data,
        "layout": _layout(
            # short enough for the half-width cell: the legend says which rows are grey
            title={"text": f"Reply length vs overall score (top {SCATTER_TOP} in colour)"
                   if len(names) > SCATTER_TOP else "Reply length vs overall judge score (one point per sample)"},
            height=480,
            xaxis={"title": {"text": "mean characters per supporter reply"}},
            yaxis={"title": {"text": "overall judge score"}, "range": [0.8, 5.2]},
            legend={"orientation": "h", "x": 0, "y": -0.18, "font": {"size": 10}},
            margin={"l": 60, "r": 10, "t": 60, "b": 50},
        ),
    }


def board_figures(board: Board, paper: PaperFigures | None = None) -> dict[str, tuple[Figure, bool]]:
    """The figures of one board, by kind, each with whether it spans the page's width."""
    figures: dict[str, tuple[Figure, bool]] = {
        "means": (means_figure(board), True),
        "heatmap": (heatmap_figure(board), True),
    }
    if board.task == GENERATION:
        figures["profile"] = (profile_figure(board, paper), False)
        figures["scatter"] = (scatter_figure(board), False)
    return figures
