"""Log records -> runs of the emplifai tasks: one run per (log, judge), plus panel runs.

A run is what one board row is made from. An ``emotion`` log gives one run. A ``generation`` log
gives one run per judge that scored it: the task's own ``rubric_judge`` and every judge added
later with ``inspect score --action append`` (Inspect names it ``rubric_judge1``, ...) or
``--action overwrite``. The judge is read from each score's metadata (``judge_model``): a rescore
does not change the log's ``model_roles``, so the metadata is the only place it is recorded.
A log scored by two or more judges is a *panel*: it also gives a ``mean`` and a ``median`` run
(per sample and metric, over the judges), with the judges' agreement (Krippendorff's alpha).

What makes runs comparable is their *board key* (data fingerprint, evaluated samples, prompt,
dialogue format; for generation the judge, rubric and judge prompt); never a file path. A run
whose judge is the candidate (``grader_is_candidate`` in the judge's metadata, or the same model
name) is *self-judged*: listed beside its board, never ranked.

Logs that are not counted (failed or cancelled runs, other tasks, a generation log no judge
scored) are kept as ``Skipped`` with the reason; known-answer probe logs (``judge_probes``, judged
absolutely, and ``pairwise_probes``, judged pairwise) become ``JudgeCheck``s.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emplifai.judge_metrics import METRIC_KEYS
from emplifai.leaderboard.logread import LogRecord, read_logs
from emplifai.probes.trust import ABSOLUTE, PROBE_MODES, TRUST_METRICS, trust_verdict

EMOTION = "emotion"
GENERATION = "generation"
PAIRWISE = "pairwise"  # tasks/pairwise.py: boards of their own (pairwise_board.py)
TASKS = (EMOTION, GENERATION)
OVERALL = "overall"
REFERENCE_LABEL = "human reference (dataset dialogues)"
PANEL_AGGREGATES = ("mean", "median")
FREE = "free"

# Generation config fields that change what a model writes; other fields (connections, timeouts)
# do not make a different candidate.
_OUTPUT_CONFIG = ("temperature", "top_p", "top_k", "max_tokens", "seed", "reasoning_effort", "reasoning_tokens")


class LeaderboardInputError(ValueError):
    """A log the leaderboard cannot read consistently; the message names the log and the field."""


class _Skip(Exception):
    """Internal: this log is not counted, for the stated reason."""


@dataclass(frozen=True)
class Skipped:
    log: str
    task: str
    model: str
    created: str
    reason: str


@dataclass
class JudgeCheck:
    """A ``judge_probes`` or ``pairwise_probes`` log: how one judge did on the known-answer probes."""

    judge: str
    log: str
    created: str
    rubric: str | None
    probe_accuracy: float | None
    invariance_violation_rate: float | None
    n: int
    superseded: list[str] = field(default_factory=list)
    # emplifai.probes.trust: the verdict on trusting this judge, and its one-sentence reading.
    verdict: str = ""
    verdict_sentence: str = ""
    mode: str = ABSOLUTE  # emplifai.probes.trust.PROBE_MODES: how the judge saw the probes


@dataclass
class Run:
    """One board row's source. ``samples`` has one row per sample id (epochs reduced)."""

    log: str
    eval_id: str
    task: str
    created: datetime
    completed: datetime | None
    model: str
    candidate: str
    is_reference: bool
    condition: dict[str, Any]
    board_key: dict[str, Any]
    samples: pd.DataFrame
    epochs: int = 1
    scorer_models: dict[str, Any] = field(default_factory=dict)
    judge: str | None = None  # generation: the judge (or the panel) that gave the scores
    scorer: str | None = None  # the score name in the log (rubric_judge, rubric_judge1, ...)
    self_judged: str | None = None  # why this run is not ranked, or None
    panel: list[str] = field(default_factory=list)  # a panel run: its judges
    alpha: float | None = None  # a panel run: Krippendorff's alpha (interval) of the judges
    incomplete_epochs: int = 0  # samples judged in some epochs but not all (left unscored)
    mtime: float = 0.0
    panel_note: str | None = None  # judges of this log left out of its panel (they scored no sample)
    dataset_location: str | None = None

    @property
    def board_id(self) -> str:
        return board_id(self.task, self.board_key)

    @property
    def entry_key(self) -> tuple[str, str]:
        return (self.board_id, self.candidate)


def board_id(task: str, key: dict[str, Any]) -> str:
    """Short stable id of a board: task + hash of everything that must match to rank together."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode("utf-8")).hexdigest()
    return f"{task}-{digest[:8]}"


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    return pd.Timestamp(value).to_pydatetime()


def _short_path(value: Any) -> str:
    text = str(value)
    if "/" in text or "\\" in text:
        return "/".join(Path(text).parts[-2:])
    return text


def _condition(task: str, args: dict[str, Any], model_args: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """What makes this run a different candidate from the same model run plainly."""
    cond: dict[str, Any] = {}
    if args.get("fewshot"):
        cond["fewshot"] = args["fewshot"]
        cond["seed"] = args.get("seed")
    if task == GENERATION and args.get("max_chars") is not None:
        cond["max_chars"] = args["max_chars"]
    for key in _OUTPUT_CONFIG:
        if config.get(key) is not None:
            cond[key] = config[key]
    for key, value in sorted(model_args.items()):
        # A local checkpoint is a different model even though the model name (hf/local) is the same.
        if value is not None:
            cond[key] = _short_path(value) if key.endswith(("path", "file", "dir")) else value
    return cond


def _candidate(model: str, is_reference: bool, cond: dict[str, Any]) -> str:
    if is_reference:
        return REFERENCE_LABEL
    if not cond:
        return model
    return f"{model} [{', '.join(f'{k}={v}' for k, v in cond.items())}]"


def same_model(a: str, b: str) -> bool:
    """The same model, also across providers (openrouter/openai/x vs openai/x); mirrors the judge's check."""
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)


def _one(values: list[Any], log: str, fieldname: str) -> Any:
    distinct = {str(v) for v in values if v is not None}
    if len(distinct) > 1:
        raise LeaderboardInputError(f"{log}: field '{fieldname}' differs between samples: {sorted(distinct)}")
    return next(iter(distinct)) if distinct else None


def _data_key(rec: LogRecord) -> dict[str, Any]:
    """The data a run was evaluated on, by content: the task's ``data_fingerprint`` (same dialogues
    = same fingerprint, whatever the file's path, name or format) and the evaluated sample ids.
    Logs from before the fingerprint fall back to a hash of the evaluated samples' ids, inputs and
    targets (path-independent, but it moves when the prompt text changes)."""
    h = rec.header
    ids = sorted({s["id"] for s in rec.samples})
    samples = hashlib.sha256(json.dumps(ids).encode("utf-8")).hexdigest()[:12]
    fingerprint = (h.get("task_metadata") or {}).get("data_fingerprint")
    if not fingerprint:
        content = sorted({(s["id"], s.get("content", "")) for s in rec.samples})
        fingerprint = "samples:" + hashlib.sha256(json.dumps(content).encode("utf-8")).hexdigest()[:16]
    return {"dataset": h.get("dataset_name"), "data": fingerprint, "samples": samples, "n_samples": len(ids)}


def _frame(rec: LogRecord, columns: dict[str, Any]) -> pd.DataFrame:
    """One row per (sample, epoch): ``columns`` maps a column name to a function of the sample record."""
    rows = [{"id": s["id"], "epoch": s["epoch"], **{c: f(s) for c, f in columns.items()}} for s in rec.samples]
    return pd.DataFrame(rows)


def _reduce_epochs(frame: pd.DataFrame, all_or_nothing: list[str] | None = None) -> tuple[pd.DataFrame, int]:
    """One row per sample id: numeric columns averaged over epochs (Inspect's default ``mean``
    reducer), other columns from the first epoch (as Inspect keeps the first epoch's metadata).

    Columns in ``all_or_nothing`` (a judge's scores) are NaN for a sample unless every epoch has
    a value: an epoch the judge failed never silently disappears into the others' mean. Returns
    the frame and how many samples were scored in some epochs but not all.
    """
    if not frame["id"].duplicated().any():  # one epoch: nothing to reduce
        first = frame.drop(columns="epoch").set_index("id").sort_index()
        first.index = first.index.astype(str)
        return first, 0
    frame = frame.sort_values(["id", "epoch"])
    numeric = [c for c in frame.columns if c not in ("id", "epoch") and pd.api.types.is_numeric_dtype(frame[c])]
    grouped = frame.groupby("id", sort=True)
    first = grouped.first()
    incomplete = 0
    if numeric:
        first[numeric] = grouped[numeric].mean()
    if all_or_nothing and frame["epoch"].nunique() > 1:
        key = all_or_nothing[0]
        counts = grouped[key].count()
        sizes = grouped[key].size()
        partial = (counts > 0) & (counts < sizes)
        incomplete = int(partial.sum())
        first.loc[counts < sizes, all_or_nothing] = np.nan
    first.index = first.index.astype(str)
    return first, incomplete


def _num(value: Any) -> float:
    if value is None or isinstance(value, bool | str):
        return float("nan") if not isinstance(value, bool) else float(value)
    return float(value)


def _score(name: str, key: str | None = None, meta: str | None = None):  # noqa: ANN202 - a sample -> value getter
    def get(sample: dict[str, Any]) -> Any:
        score = sample["scores"].get(name)
        if score is None:
            return None
        if meta is not None:
            return score["meta"].get(meta)
        value = score["value"]
        return value.get(key) if key is not None and isinstance(value, dict) else value

    return get


def _base(rec: LogRecord) -> dict[str, Any]:
    h = rec.header
    args = h.get("task_args") or {}
    return {
        "args": args,
        "task_metadata": h.get("task_metadata") or {},
        "condition": _condition(h["task"], args, h.get("model_args") or {}, h.get("generate_config") or {}),
        "data": _data_key(rec),
        "epochs": int(h.get("epochs") or 1),
    }


def _common(rec: LogRecord, base: dict[str, Any], is_reference: bool = False) -> dict[str, Any]:
    h = rec.header
    return dict(
        log=rec.log,
        eval_id=h["eval_id"],
        task=h["task"],
        created=_time(h["created"]),
        completed=_time(h.get("completed")),
        model=h["model"],
        candidate=_candidate(h["model"], is_reference, base["condition"]),
        is_reference=is_reference,
        condition=base["condition"],
        epochs=base["epochs"],
        mtime=rec.mtime,
        dataset_location=h.get("dataset_location"),
    )


def _emotion_run(rec: LogRecord, base: dict[str, Any]) -> Run:
    if not any("label_match" in s["scores"] for s in rec.samples):
        raise _Skip(
            f"no label_match scores in the log (scorers: {', '.join(rec.header.get('scorers') or []) or 'none'})"
        )
    frame = _frame(
        rec,
        {
            "label_correct": lambda s: (
                _num(_score("label_match")(s)) if _score("label_match")(s) is not None else np.nan
            ),
            "label_gold": _score("label_match", meta="gold"),
            "label_pred": _score("label_match", meta="pred"),
            "label_gold_group": _score("label_match", meta="gold_group"),
            **{
                f"bertscore_{k}": (lambda s, k=k: _num(_score("bertscore_label", k)(s)))
                for k in ("precision", "recall", "f1")
            },
            "fasttext": lambda s: _num(_score("fasttext_label")(s)),
            "bertscore_model": _score("bertscore_label", meta="model"),
            "fasttext_model": _score("fasttext_label", meta="model"),
            "metadata_emotion": lambda s: s["meta"].get("emotion"),
        },
    )
    for c in ("label_correct", "bertscore_precision", "bertscore_recall", "bertscore_f1", "fasttext"):
        frame[c] = pd.to_numeric(frame[c], errors="coerce").astype(float)
    samples, _ = _reduce_epochs(frame)
    meta = base["task_metadata"]
    board_key = {
        **base["data"],
        "language": base["args"].get("language"),
        "prompt": f"{meta.get('prompt_version')} {meta.get('prompt_hash')}",
    }
    # BERTScore and fastText values depend on the model that computed them: recorded per row, so
    # a reader compares those columns only between rows that used the same one.
    scorer_models = {
        "bertscore_model": _one(frame["bertscore_model"].tolist(), rec.log, "bertscore model"),
        "fasttext_model": _one(frame["fasttext_model"].tolist(), rec.log, "fasttext model"),
    }
    return Run(
        **_common(rec, base),
        board_key=board_key,
        samples=samples,
        scorer_models={k: _short_path(v) if v else None for k, v in scorer_models.items()},
    )


def _judge_scorers(rec: LogRecord) -> list[str]:
    """Score names given by a rubric judge (value has ``overall``, metadata has the rubric hash),
    in the order they were added to the log."""
    names: list[str] = []
    for s in rec.samples:
        for name, score in s["scores"].items():
            if (
                name not in names
                and isinstance(score["value"], dict)
                and OVERALL in score["value"]
                and score["meta"].get("rubric_sha256")
            ):
                names.append(name)
    return names


def _judge_identity(rec: LogRecord, name: str, metas: list[dict[str, Any]]) -> dict[str, Any]:
    log = rec.log
    judge = _one([m.get("judge_model") for m in metas], log, f"{name}.judge_model")
    if judge is None and name == "rubric_judge":
        judge = (rec.header.get("model_roles") or {}).get("grader")
    if judge is None:
        raise LeaderboardInputError(f"{log}: field '{name}.judge_model': no grader recorded in the scores")
    rubric_name = _one([m.get("rubric_name") for m in metas], log, "rubric_name")
    version = _one([m.get("rubric_version") for m in metas], log, "rubric_version")
    sha = _one([m.get("rubric_sha256") for m in metas], log, "rubric_sha256")
    return {
        "judge_model": judge,
        "rubric": f"{rubric_name + ' ' if rubric_name else ''}{version} ({str(sha)[:12]})",
        "rubric_language": _one([m.get("rubric_language") for m in metas], log, "rubric_language"),
        "judge_mode": _one([m.get("mode") for m in metas], log, "mode"),
        "judge_prompt": _one([m.get("judge_prompt_sha256") for m in metas], log, "judge_prompt_sha256"),
    }


def _judge_frame(rec: LogRecord, name: str) -> tuple[pd.DataFrame, int]:
    cols: dict[str, Any] = {f"judge_{k}": (lambda s, k=k: _num(_score(name, k)(s))) for k in (*METRIC_KEYS, OVERALL)}
    cols["judge_format_ok"] = lambda s: _num(_score(name, "format_ok")(s))
    cols["length_chars"] = lambda s: _num(_score("reply_length", "chars")(s))
    cols["length_words"] = lambda s: _num(_score("reply_length", "words")(s))
    cols["metadata_emotion"] = lambda s: s["meta"].get("emotion")
    frame = _frame(rec, cols)
    return _reduce_epochs(frame, all_or_nothing=[f"judge_{k}" for k in (*METRIC_KEYS, OVERALL)])


def _self_judged(rec: LogRecord, name: str, judge: str, is_reference: bool) -> str | None:
    if is_reference:
        return None  # the replayed human dialogues: no model wrote them
    flagged = any(bool(s["scores"].get(name, {}).get("meta", {}).get("grader_is_candidate")) for s in rec.samples)
    if flagged or same_model(judge, rec.header["model"]):
        how = "grader_is_candidate in the judge's scores" if flagged else "same model name"
        return f"self-judged: the judge ({judge}) is the model under evaluation ({how}); self-judging measures self-preference and is never ranked"
    return None


def krippendorff_interval(ratings: np.ndarray) -> float:
    """Krippendorff's alpha (interval) of judges (columns) over samples (rows); NaN = no rating.
    Inspect's ``krippendorff_alpha`` metric does the arithmetic (imported only for panels)."""
    from inspect_ai.scorer import SampleScore, Score, krippendorff_alpha

    units = [[float(v) for v in row if not np.isnan(v)] for row in ratings]
    scores = [SampleScore(score=Score(value=u), sample_id=i) for i, u in enumerate(units) if len(u) >= 2]
    if not scores:
        return float("nan")
    return float(krippendorff_alpha(level="interval")(scores))


def _panel_runs(judge_runs: list[Run]) -> list[Run]:
    """Mean and median of the judges of one log, per sample and metric; a sample counts only when
    every judge scored it."""
    judges = [r.judge or "" for r in judge_runs]
    cols = [f"judge_{k}" for k in (*METRIC_KEYS, OVERALL)]
    first = judge_runs[0]
    stacked = np.stack([r.samples.reindex(first.samples.index)[cols].to_numpy(dtype=float) for r in judge_runs])
    alpha = krippendorff_interval(stacked[:, :, -1].T)
    out = []
    for agg in PANEL_AGGREGATES:
        values = (np.mean if agg == "mean" else np.median)(stacked, axis=0)  # NaN when any judge is NaN
        samples = first.samples.copy()
        samples[cols] = values
        samples[f"judge_{OVERALL}"] = samples[[f"judge_{k}" for k in METRIC_KEYS]].mean(axis=1, skipna=False)
        key = dict(first.board_key)
        for f in ("judge_model", "rubric", "rubric_language", "judge_mode", "judge_prompt"):
            key[f] = " + ".join(sorted({str(r.board_key[f]) for r in judge_runs}))
        key["judge_model"] = f"panel {agg} of {key['judge_model']}"
        self_judged = next((r.self_judged for r in judge_runs if r.self_judged), None)
        out.append(
            Run(
                **{
                    **first.__dict__,
                    "samples": samples,
                    "board_key": key,
                    "judge": key["judge_model"],
                    "scorer": "+".join(r.scorer or "" for r in judge_runs),
                    "panel": judges,
                    "alpha": alpha,
                    "self_judged": self_judged and f"panel with a self-judging member: {self_judged}",
                    "incomplete_epochs": max(r.incomplete_epochs for r in judge_runs),
                },
            )
        )
    return out


def _generation_runs(rec: LogRecord, base: dict[str, Any]) -> tuple[list[Run], list[Skipped]]:
    names = _judge_scorers(rec)
    if not names:
        raise _Skip(
            f"no rubric judge scores in the log (scorers: {', '.join(rec.header.get('scorers') or []) or 'none'})"
        )
    args, meta = base["args"], base["task_metadata"]
    is_reference = args.get("source") == "reference"
    fmt = meta.get("dialogue_format") or args.get("dialogue_format") or FREE
    by_judge: dict[str, Run] = {}
    dropped: list[Skipped] = []
    for name in names:
        metas = [s["scores"][name]["meta"] for s in rec.samples if name in s["scores"]]
        ident = _judge_identity(rec, name, metas)
        samples, incomplete = _judge_frame(rec, name)
        key = {
            **ident,
            **base["data"],
            "prompt": f"{meta.get('prompt_version')} {meta.get('prompt_hash')}",
            "dialogue_format": fmt,
        }
        run = Run(
            **_common(rec, base, is_reference),
            board_key=key,
            samples=samples,
            judge=ident["judge_model"],
            scorer=name,
            self_judged=_self_judged(rec, name, ident["judge_model"], is_reference),
            incomplete_epochs=incomplete,
        )
        if ident["judge_model"] in by_judge:
            # The same judge scored this log twice (a rescore appended with the same grader): the
            # later scores count, the earlier ones are listed.
            old = by_judge[ident["judge_model"]]
            dropped.append(
                Skipped(
                    rec.log,
                    GENERATION,
                    rec.header["model"],
                    str(rec.header["created"]),
                    f"scores '{old.scorer}' replaced by '{name}' of the same judge ({ident['judge_model']}) in the same log",
                )
            )
        by_judge[ident["judge_model"]] = run
    runs = list(by_judge.values())
    # A judge with no scored sample has nothing to add to a panel: the panel is of the others,
    # and both the panel's rows and the silent judge's row say so.
    silent = [r for r in runs if not r.samples[f"judge_{OVERALL}"].notna().any()]
    scoring = [r for r in runs if r not in silent]
    if len(runs) >= 2 and silent:
        names = ", ".join(str(r.judge) for r in silent)
        for r in silent:
            r.panel_note = f"left out of the panel of this log's judges: {r.judge} scored no sample"
        formed = "a panel of " + " + ".join(str(r.judge) for r in scoring) if len(scoring) >= 2 else "no panel"
        for r in scoring:
            r.panel_note = f"{names} scored no sample in this log and is left out of its judges' panel ({formed})"
    if len(scoring) >= 2:
        panels = _panel_runs(scoring)
        for p in panels:
            p.panel_note = scoring[0].panel_note
        runs += panels
    return runs, dropped


def _judge_check(rec: LogRecord, mode: str) -> JudgeCheck:
    h = rec.header
    metrics: dict[str, Any] = {}
    for values in (h.get("results") or {}).values():
        for name in TRUST_METRICS:
            if name in values and name not in metrics:
                metrics[name] = values[name]
    judge = (h.get("model_roles") or {}).get("grader") or h.get("model")
    verdict, sentence = trust_verdict(metrics)
    return JudgeCheck(
        judge=str(judge),
        log=rec.log,
        created=str(h.get("created")),
        rubric=(h.get("task_args") or {}).get("rubric"),
        probe_accuracy=metrics.get("probe_accuracy"),
        invariance_violation_rate=metrics.get("invariance_violation_rate"),
        n=len({s["id"] for s in rec.samples}),
        verdict=verdict,
        verdict_sentence=sentence,
        mode=mode,
    )


@dataclass
class Collection:
    runs: list[Run]
    skipped: list[Skipped]
    log_dir: str
    judge_checks: list[JudgeCheck] = field(default_factory=list)


def _user_error(message: str) -> Exception:
    # Imported here: emplifai.errors imports Inspect (about 1 s), needed only when there is an error.
    from emplifai.errors import UserError

    return UserError(message)


def read_runs(log_dir: str | Path, cache_dir: str | Path | None = None) -> Collection:
    """Every log under ``log_dir`` as counted ``Run``s, ``Skipped`` with a reason, or ``JudgeCheck``s."""
    path = Path(log_dir)
    if not path.is_dir():
        raise _user_error(
            f"log folder {path} does not exist (run an eval first, or pass the folder that holds the logs)"
        )
    records = read_logs(path, Path(cache_dir) if cache_dir else None)
    if not records:
        raise _user_error(f"no Inspect logs (.eval, or .json named by Inspect) under {path}: nothing to rank")
    runs: list[Run] = []
    skipped: list[Skipped] = []
    checks: list[JudgeCheck] = []
    for rec in records:
        h = rec.header
        if rec.error is not None:
            skipped.append(Skipped(rec.log, "", "", "", f"not readable as an Inspect log ({rec.error})"))
            continue
        reason = None
        task = h["task"]
        if h["status"] != "success":
            reason = f"status {h['status']}" + (f": {h['error_message']}" if h.get("error_message") else "")
        elif task in PROBE_MODES:
            checks.append(_judge_check(rec, PROBE_MODES[task]))
        elif task == PAIRWISE:
            reason = "a pairwise run: on the pairwise boards (pairwise.html), never mixed with absolute scores"
        elif task not in TASKS:
            reason = f"task {task!r} is not an emplifai leaderboard task ({', '.join(TASKS)})"
        elif not rec.samples:
            reason = "the log holds no samples"
        else:
            try:
                base = _base(rec)
                if task == EMOTION:
                    runs.append(_emotion_run(rec, base))
                else:
                    new, dropped = _generation_runs(rec, base)
                    runs += new
                    skipped += dropped
            except _Skip as e:
                reason = str(e)
            except LeaderboardInputError as e:
                # One inconsistent log must not hide the others: it is listed with the reason.
                reason = f"cannot be read consistently: {e}"
        if reason is not None:
            skipped.append(Skipped(rec.log, str(task), str(h["model"]), str(h["created"]), reason))
    return Collection(runs, skipped, str(path), checks)
