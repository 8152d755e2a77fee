"""Plotly figures of the audit page (plotly, as the leaderboard): judge vs human scatter with the
identity line, Bland-Altman, and reply length vs the judge's deviation.

Scores are integers (judge) or means of a few integers (humans), so many dialogues share a point:
the plotted positions are jittered by at most ``JITTER`` (uniform, fixed seed, so the page is
reproducible) and the hover text gives the exact values. Log-length axes get ticks at 1-2-5 steps
(20, 50, 100, 200, ... characters) instead of plotly's "4 ... 9 100 2 3".

Figures are plain plotly figure dicts (``{"data": [...], "layout": {...}}``) rendered with
``plotly.io.to_html(validate=False)``: a report has dozens of them, and building validated
``go.Figure`` objects took most of the report's time.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.io as pio

_LAYOUT: dict[str, Any] = {"margin": {"l": 60, "r": 20, "t": 60, "b": 60}, "height": 420,
                           "legend": {"orientation": "h", "y": -0.2}}


_TEMPLATE: dict[str, Any] = {}
JITTER = 0.12
JITTER_SEED = 20250117
LENGTH_TICKS = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000)


def _template() -> dict[str, Any]:
    if not _TEMPLATE:
        _TEMPLATE.update(pio.templates["plotly_white"].to_plotly_json())
    return _TEMPLATE


def _list(values: Any) -> list[Any]:
    return [None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in pd.Series(values).tolist()]


def jitter(values: Any, salt: int) -> np.ndarray:
    """``values`` plus uniform noise in [-JITTER, JITTER] (fixed seed per chart axis)."""
    v = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=float)
    return v + np.random.default_rng([JITTER_SEED, salt]).uniform(-JITTER, JITTER, len(v))


def _by_candidate(points: pd.DataFrame, x: Any, y: Any, hover: list[str]) -> list[dict[str, Any]]:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    traces = []
    for cand in sorted(points["candidate"].unique()):
        sel = (points["candidate"] == cand).to_numpy()
        traces.append({"type": "scatter", "mode": "markers", "name": str(cand), "x": _list(x[sel]), "y": _list(y[sel]),
                       "text": [h for h, keep in zip(hover, sel) if keep], "hoverinfo": "text+name",
                       "marker": {"size": 7, "opacity": 0.7}})
    return traces


def _hover(points: pd.DataFrame) -> list[str]:
    return [f"{sid}: judge {j:g}, human {h:.2f}, {c:.0f} chars" if c == c else f"{sid}: judge {j:g}, human {h:.2f}"
            for sid, j, h, c in zip(points["sample_id"], points["judge_score"], points["human"], points["chars"])]


def length_ticks(chars: Any) -> dict[str, Any]:
    """Tick values and labels at 1-2-5 steps covering ``chars`` (log axis)."""
    c = pd.to_numeric(pd.Series(chars), errors="coerce").dropna()
    lo, hi = (float(c.min()), float(c.max())) if len(c) else (LENGTH_TICKS[0], LENGTH_TICKS[-1])
    ticks = [t for t in LENGTH_TICKS if lo / 2.5 <= t <= hi * 2.5] or list(LENGTH_TICKS)
    return {"tickvals": ticks, "ticktext": [str(t) for t in ticks]}


def scatter_figure(points: pd.DataFrame, judge: str, metric: str) -> dict[str, Any]:
    """One point per dialogue: human mean (x) vs judge score (y), per candidate; dashed y = x."""
    data = _by_candidate(points, jitter(points["human"], 1), jitter(points["judge_score"], 2), _hover(points))
    data.append({"type": "scatter", "mode": "lines", "name": "judge = human", "x": [1, 5], "y": [1, 5],
                 "line": {"dash": "dash", "color": "grey"}})
    # The judge's name is on the <details> summary around the charts: titles stay short enough to show.
    layout = {**_LAYOUT, "title": {"text": f"{metric}: judge vs human mean"},
              "xaxis": {"title": {"text": f"human mean (jittered ±{JITTER})"}, "range": [0.8, 5.2]},
              "yaxis": {"title": {"text": f"judge (jittered ±{JITTER})"}, "range": [0.8, 5.2]}}
    return {"data": data, "layout": layout}


def bland_altman_figure(points: pd.DataFrame, judge: str, metric: str) -> dict[str, Any]:
    """Mean of judge and human (x) vs judge - human (y), with the bias and 95% limits of agreement."""
    mean = (points["judge_score"] + points["human"]) / 2
    diff = points["judge_score"] - points["human"]
    data = _by_candidate(points, jitter(mean, 3), jitter(diff, 4), _hover(points))
    shapes, notes = [], []
    if len(diff) >= 2:
        bias, sd = float(diff.mean()), float(diff.std(ddof=1))
        for y, label, dash in ((bias, "bias", "solid"), (bias + 1.96 * sd, "+1.96 sd", "dot"),
                               (bias - 1.96 * sd, "-1.96 sd", "dot")):
            shapes.append({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": y, "y1": y,
                           "line": {"dash": dash, "color": "grey"}})
            notes.append({"xref": "paper", "x": 1, "y": y, "text": f"{label} {y:.2f}", "showarrow": False,
                          "xanchor": "right", "yanchor": "bottom"})
    layout = {**_LAYOUT, "title": {"text": f"{metric}: Bland-Altman"}, "shapes": shapes, "annotations": notes,
              "xaxis": {"title": {"text": f"(judge + human) / 2 (jittered ±{JITTER})"}},
              "yaxis": {"title": {"text": f"judge - human (jittered ±{JITTER})"}}}
    return {"data": data, "layout": layout}


def length_figure(points: pd.DataFrame, judge: str, metric: str) -> dict[str, Any]:
    """Reply length (log axis) vs the judge's deviation from the human mean, with the least-squares line."""
    dev = points["judge_score"] - points["human"]
    data = _by_candidate(points, points["chars"], jitter(dev, 5), _hover(points))
    ok = (points["chars"].notna() & dev.notna()).to_numpy()
    if ok.sum() >= 3 and points.loc[ok, "chars"].nunique() > 1:
        x = np.log(points.loc[ok, "chars"].to_numpy(float))
        slope, intercept = np.polyfit(x, dev[ok].to_numpy(float), 1)
        xs = np.linspace(x.min(), x.max(), 20)
        data.append({"type": "scatter", "mode": "lines", "name": f"least squares: {slope:.2f} per log-char",
                     "x": np.exp(xs).tolist(), "y": (intercept + slope * xs).tolist(), "line": {"color": "black"}})
    layout = {**_LAYOUT, "title": {"text": f"{metric}: reply length vs judge - human"},
              "xaxis": {"title": {"text": "mean characters per supporter reply (log scale)"}, "type": "log",
                        **length_ticks(points["chars"])},
              "yaxis": {"title": {"text": f"judge - human (jittered ±{JITTER})"}}}
    return {"data": data, "layout": layout}


def figure_html(fig: dict[str, Any]) -> str:
    # Unvalidated figures need the template as a dict, not its name.
    fig = {**fig, "layout": {**fig["layout"], "template": _template()}}
    return pio.to_html(fig, full_html=False, include_plotlyjs=False, validate=False, default_width="100%",
                       config={"displaylogo": False, "responsive": True})
