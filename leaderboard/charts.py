"""Plotly figures for the HTML page: per-metric bars with CI whiskers, the seven-metric profile,
the models x 28 emotions heatmap and the length-vs-score scatter."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from emplifai.leaderboard.boards import Board
from emplifai.leaderboard.collect import EMOTION, GENERATION, OVERALL
from emplifai.leaderboard.columns import SHORT
from emplifai.leaderboard.paper_rows import PaperFigures
from emplifai.scorers.rubrics import METRIC_KEYS
from emplifai.taxonomy import EMOTIONS

_LAYOUT = dict(template="plotly_white", margin=dict(l=60, r=20, t=60, b=60), height=420)


def _nan_to_none(values: list[float]) -> list[float | None]:
    return [None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v) for v in values]


def bars_figure(board: Board) -> go.Figure:
    """Grouped bars, one group per metric, one bar per candidate, whiskers = 95% CI."""
    if board.task == GENERATION:
        metrics = [(OVERALL, "Overall"), *[(k, SHORT[k]) for k in METRIC_KEYS]]
        y_title, y_range = "judge score (1-5)", [0, 5.2]
    else:
        metrics = [("accuracy", "Accuracy"), ("macro_f1", "Macro-F1"), ("bertscore_f1", "BERTScore F1"),
                   ("fasttext", "fastText cos")]
        y_title, y_range = "score (0-1)", [0, 1.05]
    fig = go.Figure()
    for row in board.rows.to_dict(orient="records"):
        est = [row.get(k, math.nan) for k, _ in metrics]
        lo = [row.get(f"{k}_ci_low", math.nan) for k, _ in metrics]
        hi = [row.get(f"{k}_ci_high", math.nan) for k, _ in metrics]
        fig.add_trace(go.Bar(
            name=row["candidate"], x=[label for _, label in metrics], y=_nan_to_none(est),
            error_y=dict(type="data", symmetric=False,
                         array=_nan_to_none([h - e for h, e in zip(hi, est)]),
                         arrayminus=_nan_to_none([e - low for e, low in zip(est, lo)])),
        ))
    fig.update_layout(barmode="group", title="Means with 95% bootstrap CIs", yaxis=dict(title=y_title, range=y_range),
                      legend=dict(orientation="h", y=-0.2), **_LAYOUT)
    return fig


def profile_figure(board: Board, paper: PaperFigures | None = None) -> go.Figure:
    """The seven judge metrics of each candidate on a polar chart; paper rows hidden by default."""
    theta = [SHORT[k] for k in METRIC_KEYS]
    fig = go.Figure()
    for row in board.rows.to_dict(orient="records"):
        r = [row[k] for k in METRIC_KEYS]
        fig.add_trace(go.Scatterpolar(r=_nan_to_none(r + r[:1]), theta=theta + theta[:1], name=row["candidate"],
                                      mode="lines+markers"))
    if paper is not None:
        table = paper.tables[GENERATION].rows
        for row in table.to_dict(orient="records"):
            r = [row[k] for k in METRIC_KEYS]
            if any(math.isnan(v) for v in r):
                continue
            fig.add_trace(go.Scatterpolar(
                r=r + r[:1], theta=theta + theta[:1], name=f"{row['model']} ({paper.label})",
                mode="lines", line=dict(dash="dot"), visible="legendonly",
            ))
    fig.update_layout(title="Seven-metric profile (judge means)", polar=dict(radialaxis=dict(range=[1, 5], tickvals=[1, 2, 3, 4, 5])),
                      legend=dict(orientation="h", y=-0.15), **{**_LAYOUT, "height": 520})
    return fig


def heatmap_figure(board: Board) -> go.Figure:
    """Candidates x 28 emotions: accuracy per gold label (emotion) or mean overall score (generation)."""
    frame = board.per_emotion
    x = [e.label for e in EMOTIONS]
    ja = [[e.ja for e in EMOTIONS]] * len(frame)
    z = frame.reindex(columns=[e.label for e in EMOTIONS]).to_numpy(dtype=float)
    text = [["" if np.isnan(v) else f"{v:.2f}" for v in row] for row in z]
    if board.task == EMOTION:
        title, zmin, zmax, bar = "Accuracy per gold emotion (blank: no sample)", 0.0, 1.0, "accuracy"
    else:
        title, zmin, zmax, bar = "Mean overall judge score per emotion (blank: no sample)", 1.0, 5.0, "overall"
    fig = go.Figure(go.Heatmap(
        z=[_nan_to_none(list(row)) for row in z], x=x, y=list(frame.index), zmin=zmin, zmax=zmax,
        colorscale="Viridis", text=text, texttemplate="%{text}", hoverongaps=False, colorbar=dict(title=bar),
        customdata=ja, hovertemplate="%{y}<br>%{x} (%{customdata})<br>" + bar + " %{z:.2f}<extra></extra>",
    ))
    fig.update_layout(title=title, xaxis=dict(tickangle=-60, type="category"),
                      **{**_LAYOUT, "height": max(360, 220 + 40 * len(frame)),
                         "margin": dict(l=220, r=20, t=60, b=130)})
    return fig


def scatter_figure(board: Board) -> go.Figure:
    """Per-sample mean reply length (characters) against the overall judge score."""
    fig = go.Figure()
    data = board.samples
    for candidate in board.rows["candidate"]:
        part = data[(data["candidate"] == candidate) & data["chars"].notna() & data[OVERALL].notna()]
        fig.add_trace(go.Scatter(
            x=part["chars"].tolist(), y=part[OVERALL].tolist(), mode="markers", name=candidate,
            text=[f"{i} ({e})" for i, e in zip(part["id"], part["emotion"])],
            hovertemplate="%{text}<br>chars %{x:.1f}<br>overall %{y:.2f}<extra>%{fullData.name}</extra>",
        ))
    fig.update_layout(
        title="Reply length vs overall judge score (one point per sample)",
        xaxis=dict(title="mean characters per supporter reply"), yaxis=dict(title="overall judge score", range=[0.8, 5.2]),
        legend=dict(orientation="h", y=-0.2), **_LAYOUT,
    )
    return fig


def board_figures(board: Board, paper: PaperFigures | None = None) -> dict[str, go.Figure]:
    """The figures of one board, by kind."""
    figures = {"bars": bars_figure(board)}
    if board.task == GENERATION:
        figures["profile"] = profile_figure(board, paper)
    figures["heatmap"] = heatmap_figure(board)
    if board.task == GENERATION:
        figures["scatter"] = scatter_figure(board)
    return figures
