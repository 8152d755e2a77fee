"""Runs -> boards: which runs count, which are superseded, and the rows of each board.

A board holds the runs that may be ranked together: same task, same data (content fingerprint
and the exact set of evaluated sample ids), same prompt, and for generation the same judge
(grader model or panel, rubric name + version + hash, rubric language, judge mode, judge prompt)
and dialogue format. Runs that differ in any of these land on different boards, and a board is
never ranked against another. Self-judged runs are listed beside their board, never ranked.

Within a board, the newest log (by the eval's creation time) of each candidate counts; older
logs of the same candidate are listed as superseded and never averaged in.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from emplifai.leaderboard.collect import (
    EMOTION,
    GENERATION,
    METRIC_KEYS,
    OVERALL,
    REFERENCE_LABEL,
    Collection,
    JudgeCheck,
    Run,
    Skipped,
)
from emplifai.leaderboard.stats import Interval, IntervalCache, macro_f1_ci, mean_cis, tie_aware_ranks
from emplifai.taxonomy import GROUPS, LABELS

BERTSCORE_KEYS = ("precision", "recall", "f1")
# What each board is keyed on, in the order titles and notes show it.
KEY_FIELDS: dict[str, tuple[str, ...]] = {
    GENERATION: (
        "judge_model",
        "rubric",
        "rubric_language",
        "judge_mode",
        "judge_prompt",
        "data",
        "samples",
        "n_samples",
        "prompt",
        "dialogue_format",
    ),
    EMOTION: ("data", "samples", "n_samples", "language", "prompt"),
}
RANK_METRIC = {GENERATION: OVERALL, EMOTION: "accuracy"}


@dataclass
class Board:
    id: str
    task: str
    key: dict[str, Any]
    rows: pd.DataFrame  # one row per counted candidate, ordered by rank
    per_emotion: pd.DataFrame  # candidates x 28 labels (accuracy or mean overall score), NaN = no sample
    pairwise: pd.DataFrame  # the paired tests behind the ranks
    samples: pd.DataFrame  # generation: candidate, id, emotion, chars, words, overall (for the scatter)
    superseded: list[dict[str, Any]] = field(default_factory=list)
    self_judged: pd.DataFrame = field(default_factory=pd.DataFrame)  # listed, never ranked (with the reason)
    judge_checks: list[JudgeCheck] = field(default_factory=list)  # judge_probes results of this board's judge(s)
    per_emotion_n: pd.DataFrame = field(default_factory=pd.DataFrame)  # the scored samples behind each per_emotion cell

    @property
    def is_panel(self) -> bool:
        return self.task == GENERATION and str(self.key.get("judge_model", "")).startswith("panel ")

    @property
    def data_note(self) -> str | None:
        if str(self.key.get("data", "")).startswith("samples:"):
            return (
                "These logs predate the data fingerprint: their data is identified by a hash of the evaluated "
                "samples' ids, inputs and targets instead (path-independent; a changed prompt text changes it)."
            )
        return None

    @property
    def rank_metric(self) -> str:
        return RANK_METRIC[self.task]

    @property
    def title(self) -> str:
        k = self.key
        data = f"data {k['data']}, {k['n_samples']} samples"
        if self.task == GENERATION:
            fmt = "" if k.get("dialogue_format") == "free" else f", {k.get('dialogue_format')} dialogue format"
            return (
                f"Generation: judge {k['judge_model']}, rubric {k['rubric']} [{k['rubric_language']}], "
                f"mode {k['judge_mode']}{fmt}; {data}"
            )
        return f"Emotion: language {k['language']}; {data}"


@dataclass
class Leaderboard:
    boards: list[Board]
    superseded: list[dict[str, Any]]
    skipped: list[Skipped]
    log_dir: str
    generated_at: str
    separation_notes: list[str]
    judge_checks: list[JudgeCheck] = field(default_factory=list)


def _float(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    return pd.to_numeric(frame[column], errors="coerce").astype(float)


def _put(row: dict[str, Any], name: str, iv: Interval) -> None:
    row[name] = iv.estimate
    row[f"{name}_ci_low"] = iv.low
    row[f"{name}_ci_high"] = iv.high


def _common(run: Run) -> dict[str, Any]:
    return {
        "candidate": run.candidate,
        "model": run.model,
        "source": "reference" if run.is_reference else "model",
        "condition": run.condition,
        "date": run.created.isoformat() if hasattr(run.created, "isoformat") else str(run.created),
        "epochs": run.epochs,
        "incomplete_epochs": run.incomplete_epochs,
        "log": run.log,
        "dataset_location": run.dataset_location,
        "self_judged": run.self_judged,
    }


def generation_row(run: Run, cache: IntervalCache | None = None) -> dict[str, Any]:
    s = run.samples
    overall = _float(s, f"judge_{OVERALL}")
    fmt = _float(s, "judge_format_ok")
    row: dict[str, Any] = {**_common(run), "n": len(s), "n_scored": int(overall.notna().sum())}
    row["unscored"] = row["n"] - row["n_scored"]
    row["format_failures"] = int((fmt == 0).sum())
    row["format_failure_rate"] = float((fmt == 0).sum() / fmt.notna().sum()) if fmt.notna().any() else float("nan")
    cis = mean_cis(
        {
            **{k: _float(s, f"judge_{k}") for k in (*METRIC_KEYS, OVERALL)},
            **{k: _float(s, f"length_{k}") for k in ("chars", "words")},
        },
        cache,
    )
    for key, iv in cis.items():
        _put(row, key, iv)
    row["judge"] = run.judge
    row["judge_scorer"] = run.scorer
    row["panel_note"] = run.panel_note
    if run.panel:
        row["panel"] = run.panel
        row["alpha"] = run.alpha
    return row


def emotion_row(run: Run, cache: IntervalCache | None = None) -> dict[str, Any]:
    s = run.samples
    correct = _float(s, "label_correct")
    row: dict[str, Any] = {**_common(run), "n": len(s), "n_scored": int(correct.notna().sum())}
    cis = mean_cis(
        {
            "accuracy": correct,
            "fasttext": _float(s, "fasttext"),
            **{f"bertscore_{k}": _float(s, f"bertscore_{k}") for k in BERTSCORE_KEYS},
        },
        cache,
    )
    _put(row, "accuracy", cis["accuracy"])
    scored = s[correct.notna()]
    golds = scored["label_gold"].astype(str).tolist()
    preds = [None if pd.isna(p) else str(p) for p in scored["label_pred"]]
    _put(row, "macro_f1", macro_f1_ci(golds, preds, cache))
    row["unparsed"] = int(sum(p is None for p in preds))
    for key in ("fasttext", *[f"bertscore_{k}" for k in BERTSCORE_KEYS]):
        _put(row, key, cis[key])
    groups = scored["label_gold_group"].astype(str)
    for group in GROUPS:
        in_group = correct[scored.index][groups == group]
        row[f"accuracy_{group}"] = float(in_group.mean()) if len(in_group) else float("nan")
        row[f"n_{group}"] = int(len(in_group))
    row.update(run.scorer_models)
    return row


def _per_emotion(runs: list[Run], task: str, count: bool = False) -> pd.DataFrame:
    """Candidates x labels: the mean (accuracy or overall) per gold emotion, or with ``count`` the
    number of scored samples behind it."""
    out = {}
    for run in runs:
        s = run.samples
        if task == EMOTION:
            values, labels = _float(s, "label_correct"), s["label_gold"]
        else:
            values, labels = _float(s, f"judge_{OVERALL}"), s["metadata_emotion"]
        grouped = values.groupby(labels.astype(str))
        out[run.candidate] = grouped.count() if count else grouped.mean()
    return pd.DataFrame(out).T.reindex(columns=list(LABELS))


def _scatter(runs: list[Run]) -> pd.DataFrame:
    frames = []
    for run in runs:
        s = run.samples
        frames.append(
            pd.DataFrame(
                {
                    "candidate": run.candidate,
                    "id": s.index.astype(str),
                    "emotion": s["metadata_emotion"].astype(str).to_numpy(),
                    "chars": _float(s, "length_chars").to_numpy(),
                    "words": _float(s, "length_words").to_numpy(),
                    OVERALL: _float(s, f"judge_{OVERALL}").to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _rank_scores(run: Run) -> pd.Series:
    column = f"judge_{OVERALL}" if run.task == GENERATION else "label_correct"
    series = _float(run.samples, column)
    series.index = series.index.astype(str)
    return series


def _evidence(rows: pd.DataFrame, pairwise: pd.DataFrame) -> list[dict[str, Any] | None]:
    """For each row (in table order), the test against the row just above it: the evidence for
    its rank being the same as, or below, that row's."""
    by_pair = {(r["a"], r["b"]): r for r in pairwise.to_dict(orient="records")}
    out: list[dict[str, Any] | None] = [None]
    names = rows["candidate"].tolist()
    for above, here in zip(names, names[1:]):
        rec = by_pair.get((above, here)) or by_pair.get((here, above))
        if rec is None:
            out.append(None)
            continue
        diff = rec["diff"] if rec["a"] == above else -rec["diff"]
        out.append(
            {
                "vs": above,
                "p": rec["p"],
                "p_holm": rec["p_holm"],
                "diff": diff,
                "n_shared": rec["n_shared"],
                "n_differ": rec["n_differ"],
                "significant": bool(rec["significant"]),
                "test": rec["test"],
            }
        )
    return out


def _rows(task: str, runs: list[Run], cache: IntervalCache | None) -> pd.DataFrame:
    return pd.DataFrame([(generation_row if task == GENERATION else emotion_row)(r, cache) for r in runs])


def panel_notes(board: Board) -> list[str]:
    """The notes of the board's ranked rows on judges left out of a panel (each once)."""
    if "panel_note" not in board.rows:
        return []
    return sorted({str(n) for n in board.rows["panel_note"] if isinstance(n, str) and n})


def unranked_note(board: Board) -> str:
    """The sentence above a board's unranked rows: why such rows are listed but not ranked."""
    reasons = [str(r) for r in board.self_judged.get("self_judged", pd.Series(dtype=object))]
    parts = ["Not ranked, listed with the reason."]
    if any(r.startswith("self-judged") for r in reasons):
        parts.append("Self-judged runs: the judge is the model under evaluation, so its scores measure "
                     "self-preference, not quality.")
    if any(r.startswith("no scored sample") for r in reasons):
        parts.append("Runs with no scored sample: there is no score to rank them on.")
    return " ".join(parts)


def _put_length_controlled(rows: pd.DataFrame, runs: list[Run], cache: IntervalCache | None = None) -> None:
    """``overall_lc`` (+ CI) of each ranked row: the audit's length-controlled means over this board.
    With ``cache``, kept by content (the board's per-sample scores and lengths): an unchanged board
    does not refit, nor import statsmodels (about 1 s)."""
    frames = []
    for run in runs:
        chars = _float(run.samples, "length_chars")
        frames.append(pd.DataFrame({"candidate": run.candidate, "overall": _float(run.samples, f"judge_{OVERALL}"),
                                    "log_chars": np.log(chars.where(chars > 0))}))
    data = pd.concat(frames, ignore_index=True).dropna()
    ref_rows = data[data["candidate"] == REFERENCE_LABEL]["log_chars"]
    ref = float(ref_rows.mean()) if len(ref_rows) else float(data["log_chars"].median()) if len(data) else math.nan
    content = [data["candidate"].str.cat(sep="\0").encode(), data["overall"].to_numpy(float).tobytes(),
               data["log_chars"].to_numpy(float).tobytes(), repr(ref).encode()]
    keys = {c: IntervalCache.key("length_control", *content, str(c).encode()) for c in rows["candidate"]}
    hits = {c: cache.get(k) for c, k in keys.items()} if cache is not None else {}
    if cache is None or any(v is None for v in hits.values()):
        from emplifai.scorers.agreement.length import length_controlled_means

        fit = length_controlled_means(data, "candidate", "overall", "log_chars", ref) if len(data) else None
        groups = (fit or {}).get("groups", {})

        def value(c: str, key: str) -> float:
            # None: a degenerate fit (every score equal: no variance, so no interval), shown as n/a.
            got = groups.get(c, {}).get(key)
            return math.nan if got is None else float(got)

        hits = {c: Interval(value(c, "lc_mean"), value(c, "lc_ci_low"), value(c, "lc_ci_high"),
                            int(groups.get(c, {}).get("n", 0))) for c in rows["candidate"]}
        if cache is not None:
            for c, iv in hits.items():
                cache.put(keys[c], iv)
    rows["overall_lc"] = [hits[c].estimate for c in rows["candidate"]]
    rows["overall_lc_ci_low"] = [hits[c].low for c in rows["candidate"]]
    rows["overall_lc_ci_high"] = [hits[c].high for c in rows["candidate"]]


def _no_scores_reason(task: str, row: dict[str, Any]) -> str:
    if task == GENERATION:
        note = f"; {row['panel_note']}" if row.get("panel_note") else ""
        return (f"no scored sample: the judge gave no usable score for any of its {row['n']} samples "
                f"({row['unscored']} unscored); nothing to rank on{note}")
    return f"no scored sample among its {row['n']} samples; nothing to rank on"


def build_board(task: str, bid: str, key: dict[str, Any], runs: list[Run], cache: IntervalCache | None = None) -> Board:
    """One board from the counted runs that share its key (one run per candidate); self-judged
    runs are kept apart, unranked."""
    candidates = [r.candidate for r in runs]
    if len(set(candidates)) != len(candidates):
        raise ValueError(f"board {bid}: a candidate appears twice; supersession must run first")
    ranked = [r for r in runs if not r.self_judged and _rank_scores(r).notna().any()]
    apart = [r for r in runs if r not in ranked]
    metric = RANK_METRIC[task]
    if ranked:
        rows = _rows(task, ranked, cache)
        ranking = tie_aware_ranks({r.candidate: _rank_scores(r) for r in ranked})
        rows.insert(0, "rank", rows["candidate"].map(ranking.rank))
        rows.insert(2, "tied_with", rows["candidate"].map(lambda c: sorted(ranking.tied_with[c])))
        rows = rows.sort_values(["rank", metric, "candidate"], ascending=[True, False, True], na_position="last")
        rows = rows.reset_index(drop=True)
        rows.insert(3, "evidence", _evidence(rows, ranking.pairwise))
        pairwise = ranking.pairwise
    else:
        rows, pairwise = pd.DataFrame(columns=["rank", "candidate", "tied_with", "evidence"]), pd.DataFrame()
    if task == GENERATION and len(rows):
        _put_length_controlled(rows, ranked, cache)
    self_rows = _rows(task, apart, cache) if apart else pd.DataFrame()
    if len(self_rows):
        # A run with no scored sample has nothing to rank on: listed with the reason, never ranked.
        self_rows["self_judged"] = [r.self_judged or _no_scores_reason(task, row)
                                    for r, row in zip(apart, self_rows.to_dict(orient="records"), strict=True)]
    order = rows["candidate"].tolist() + (self_rows["candidate"].tolist() if len(self_rows) else [])
    return Board(
        id=bid,
        task=task,
        key=key,
        rows=rows,
        per_emotion=_per_emotion(runs, task).reindex(order),
        per_emotion_n=_per_emotion(runs, task, count=True).reindex(order),
        pairwise=pairwise,
        samples=_scatter(runs) if task == GENERATION else pd.DataFrame(),
        self_judged=self_rows,
    )


def _separation_notes(boards: list[Board]) -> list[str]:
    notes = []
    for task in (EMOTION, GENERATION):
        mine = [b for b in boards if b.task == task]
        if len(mine) < 2:
            continue
        differing = [f for f in KEY_FIELDS[task] if len({str(b.key.get(f)) for b in mine}) > 1]
        notes.append(
            f"{len(mine)} {task} boards are shown separately and never ranked together: their runs differ in "
            f"{', '.join(differing)}. Ranks compare rows within one board only."
        )
    return notes


def _newest_first(run: Run) -> tuple[Any, ...]:
    completed = run.completed or run.created
    return (run.created, completed, run.mtime, run.log)


def _supersede(runs: list[Run]) -> tuple[Run, list[dict[str, Any]]]:
    runs = sorted(runs, key=_newest_first, reverse=True)
    newest = runs[0]
    entries = []
    for old in runs[1:]:
        entry = {
            "board": newest.board_id,
            "task": old.task,
            "candidate": newest.candidate,
            "date": old.created.isoformat(),
            "log": old.log,
            "superseded_by": newest.log,
            "superseded_by_date": newest.created.isoformat(),
        }
        if old.eval_id == newest.eval_id:
            # A copy of the same eval (inspect score --output-file writes one): the same samples and
            # the same judge's scores; counted once, from the newer file.
            entry["note"] = (
                "the same eval (same eval_id) in another file, e.g. a copy rescored by another judge; counted once"
            )
        elif (old.created, old.completed) == (newest.created, newest.completed):
            # Inspect records times to the second: two runs within the same second cannot be
            # ordered from the logs, so the file name decides, and the page says so.
            entry["note"] = "started and finished in the same second as the counted run; ordered by log file name"
        entries.append(entry)
    return newest, entries


def _newest_checks(checks: list[JudgeCheck]) -> list[JudgeCheck]:
    newest: dict[tuple[str, str | None, str], JudgeCheck] = {}
    for c in sorted(checks, key=lambda c: (c.created, c.log)):
        key = (c.judge, c.rubric, c.mode)  # an absolute and a pairwise check of one judge are two checks
        old = newest.get(key)
        if old is not None:
            c.superseded = [*old.superseded, old.log]
        newest[key] = c
    return sorted(newest.values(), key=lambda c: (c.judge, str(c.rubric), c.mode))


def build_leaderboard(collection: Collection, cache: IntervalCache | None = None) -> Leaderboard:
    """Supersession, then one board per board key (``cache``: bootstrap intervals by content)."""
    by_entry: dict[tuple[str, str], list[Run]] = defaultdict(list)
    for run in collection.runs:
        by_entry[run.entry_key].append(run)
    counted: dict[str, list[Run]] = defaultdict(list)
    superseded: list[dict[str, Any]] = []
    for runs in by_entry.values():
        newest, entries = _supersede(runs)
        counted[newest.board_id].append(newest)
        superseded += entries
    checks = _newest_checks(collection.judge_checks)
    boards = []
    for bid, runs in counted.items():
        board = build_board(runs[0].task, bid, runs[0].board_key, sorted(runs, key=lambda r: r.candidate), cache)
        board.superseded = [s for s in superseded if s["board"] == bid]
        if board.task == GENERATION:
            judges = set(runs[0].panel or [runs[0].judge])
            board.judge_checks = [
                c
                for c in checks
                if any(c.judge == j or c.judge.endswith("/" + str(j)) or str(j).endswith("/" + c.judge) for j in judges)
            ]
        boards.append(board)
    boards.sort(key=lambda b: (b.task != EMOTION, b.is_panel, -len(b.rows), b.id))
    return Leaderboard(
        boards=boards,
        superseded=sorted(superseded, key=lambda s: (s["board"], s["candidate"], s["date"])),
        skipped=collection.skipped,
        log_dir=collection.log_dir,
        generated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        separation_notes=_separation_notes(boards),
        judge_checks=checks,
    )
