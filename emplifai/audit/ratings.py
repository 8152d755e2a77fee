"""Human ratings in, validated against the logs: every problem named by file and row.

Long format, CSV or JSONL, one rating a row: ``rater_id``, ``metric`` (one of the seven metric
keys), ``score`` (an integer 1..5) and the dialogue, named either by ``sample_id`` plus ``log``
(the log's file name) or ``model`` (the candidate's model as the log names it), or by ``item_id``
from a rating sheet together with the sheet's key file (``--key``). Optional ``epoch`` (only 1 is
rated). Other columns (the sheet's situation and dialogue) are ignored. Files are read and rows
numbered as ``emplifai data validate`` does (``emplifai.data.loaders.read_table``): CSV records
from 1 after the header (a quoted cell may span lines), JSONL line numbers.

Fatal (a ``UserError`` listing every one): an empty, blank-only or header-only file (one line
each), unreadable rows, missing columns, a score that is not an integer from 1 to 5, an unknown
metric, log, model, item or sample, a model that names several logs, a duplicate (rater,
dialogue, metric), and under ``strict`` a rater who left some of a dialogue's seven metrics
unrated. Reported but kept: blank scores (not rated: nothing to keep), incomplete metric sets (per
rater, with the dialogues and counts: no 'overall' for them), a rater with fewer dialogues than
``min_items`` (their ratings are valid; only the alt-test leaves them out). Nothing valid is dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from emplifai.audit.logs import AuditLogs
from emplifai.data.encoding import read_text
from emplifai.data.loaders import CSV_SUFFIXES, JSONL_SUFFIXES, read_table
from emplifai.errors import UserError
from emplifai.judge_metrics import METRIC_KEYS

RATING_COLUMNS = ["log", "sample_id", "candidate", "rater_id", "metric", "score", "source"]


@dataclass(frozen=True)
class Problem:
    file: str
    row: int | None
    message: str
    fatal: bool

    def __str__(self) -> str:
        where = f"{self.file}, row {self.row}" if self.row is not None else self.file
        return f"{where}: {self.message}"


@dataclass
class Ratings:
    frame: pd.DataFrame  # RATING_COLUMNS
    problems: list[Problem]
    simulated: bool = False  # a 'note' column says SIMULATED (emplifai audit simulate writes one)

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.fatal]


def _read_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(row number, record) of a ratings file, read and numbered as ``emplifai data validate`` reads data
    (``emplifai.data.loaders.read_table``: CSV records from 1 after the header, JSONL line numbers).
    An empty, blank or header-only file, or one with unreadable rows, is one ``UserError``."""
    if not path.is_file():
        raise UserError(f"{path}: no such ratings file")
    if path.suffix.lower() not in (*CSV_SUFFIXES, *JSONL_SUFFIXES):
        raise UserError(f"{path}: ratings must be CSV ({', '.join(CSV_SUFFIXES)}) or JSON lines "
                        f"({', '.join(JSONL_SUFFIXES)})")
    if path.stat().st_size == 0:
        raise UserError(f"{path}: the file is empty (no header, no ratings)")
    if not read_text(path).strip(" \t\r\n\ufeff,"):
        raise UserError(f"{path}: the file holds only blank lines (no header, no ratings)")
    table = read_table(path)
    if table.problems:
        listing = "; ".join(f"row {p.row}: {p.message}" if p.row is not None else p.message for p in table.problems)
        raise UserError(f"{path}: {len(table.problems)} unreadable row(s), nothing was imported: {listing}")
    if not table.rows:
        raise UserError(f"{path}: a header ({', '.join(table.columns)}) and no ratings below it")
    return list(zip(table.row_numbers, table.rows))


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip())


def _score(v: Any) -> int | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return int(f) if f.is_integer() and 1 <= f <= 5 else None


def read_key(path: str | Path) -> dict[str, tuple[str, str]]:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: no such key file")
    frame = pd.read_csv(p, dtype=str)
    missing = [c for c in ("item_id", "log", "sample_id") if c not in frame.columns]
    if missing:
        raise UserError(f"{p}: not a sheet key (missing columns {', '.join(missing)})")
    return {r.item_id: (r.log, r.sample_id) for r in frame.itertuples()}


def _dialogue(row: dict[str, Any], item_key: dict[str, tuple[str, str]] | None, by_log: dict[str, set[str]],
              by_model: dict[str, list[str]], copies: dict[str, str]) -> tuple[str, str, str | None]:
    """(log, sample_id, problem or None) of the dialogue a row names (a rescored copy's log name resolves to
    the log it copies: the same dialogue)."""
    if not _blank(row.get("item_id")) and _blank(row.get("sample_id")):
        iid = str(row["item_id"]).strip()
        if item_key is None or iid not in item_key:
            return "", "", f"field 'item_id': {iid!r} is not in the key file"
        log, sid = item_key[iid]
        log = copies.get(log, log)
        if log not in by_log:
            return "", "", f"item {iid}: its log {log} is not among --logs"
    else:
        sid = str(row.get("sample_id", "")).strip()
        log = str(row.get("log", "") or "").strip()
        model = str(row.get("model", "") or "").strip()
        if log:
            log = copies.get(Path(log).name, Path(log).name)
            if log not in by_log:
                return "", "", f"field 'log': {log!r} is not among --logs ({', '.join(sorted(by_log)) or 'none'})"
        elif model:
            names = by_model.get(model, [])
            if not names:
                return "", "", f"field 'model': no log of model {model!r} among --logs"
            if len(names) > 1:
                return "", "", f"field 'model': {model!r} names {len(names)} logs ({', '.join(names)}); give the log column"
            log = names[0]
        else:
            return "", "", "neither 'log' nor 'model' names the dialogue's log"
    if sid not in by_log[log]:
        return "", "", f"field 'sample_id': {sid!r} is not a sample of {log}"
    return log, sid, None


def incomplete_sets(out: list[dict[str, Any]], touched: dict[tuple[str, str, str], tuple[str, int]], *,
                    strict: bool) -> list[Problem]:
    """One problem per rater who left some of the seven metrics of a dialogue unrated (blank or no row):
    their 'overall' for that dialogue cannot be computed. Warnings, or fatal under ``strict``."""
    rated: dict[tuple[str, str, str], set[str]] = {}
    for r in out:
        rated.setdefault((r["rater_id"], r["log"], r["sample_id"]), set()).add(r["metric"])
    gaps: dict[str, list[str]] = {}
    first_file: dict[str, str] = {}
    for (rater, log, sid), (fname, row) in sorted(touched.items()):
        got = rated.get((rater, log, sid), set())
        if len(got) < len(METRIC_KEYS):
            missing = [m for m in METRIC_KEYS if m not in got]
            first_file.setdefault(rater, fname)
            gaps.setdefault(rater, []).append(f"sample {sid} of {log} (row {row}): {len(got)} of "
                                              f"{len(METRIC_KEYS)} metrics, missing {', '.join(missing)}")
    problems = []
    for rater, listing in gaps.items():
        shown = "; ".join(listing[:10]) + (f"; and {len(listing) - 10} more" if len(listing) > 10 else "")
        consequence = ("--strict refuses incomplete sets" if strict else
                       "their ratings are kept, but no 'overall' is computed for these dialogues")
        problems.append(Problem(first_file[rater], None,
                                f"rater {rater} left metrics unrated on {len(listing)} dialogue(s) ({consequence}): "
                                f"{shown}", strict))
    return problems


@dataclass
class _Targets:
    """What a rating row may name: the logs' dialogues, by log name, by model, or by sheet item id."""

    samples: dict[tuple[str, str], str]  # (log, sample_id) -> candidate
    by_log: dict[str, set[str]]
    by_model: dict[str, list[str]]
    item_key: dict[str, tuple[str, str]] | None
    copies: dict[str, str]

    @classmethod
    def of(cls, logs: AuditLogs, key: str | None) -> _Targets:
        samples = {(r.log, r.sample_id): r.candidate for r in logs.items.itertuples()}
        by_model: dict[str, list[str]] = {}
        for name, info in logs.logs.items():
            by_model.setdefault(info["model"], []).append(name)
        return cls(samples, {name: {s for (lg, s) in samples if lg == name} for name in logs.logs}, by_model,
                   read_key(key) if key else None, logs.copies)


def _header_problem(fname: str, cols: set[str], targets: _Targets) -> Problem | None:
    named = "item_id" in cols or "sample_id" in cols
    missing = [c for c in ("rater_id", "metric", "score") if c not in cols]
    if not named:
        missing.append("sample_id (with log or model) or item_id")
    elif "sample_id" in cols and "item_id" not in cols and not ({"log", "model"} & cols):
        missing.append("log or model")
    if missing:
        return Problem(fname, None, f"header: missing column(s): {', '.join(missing)}", True)
    if "item_id" in cols and "sample_id" not in cols and targets.item_key is None:
        return Problem(fname, None, "ratings name dialogues by item_id: pass the sheets' key with --key", True)
    return None


def _check_row(row: dict[str, Any], targets: _Targets) -> tuple[list[str], dict[str, Any]]:
    """(errors, parsed fields) of one row; every independent check runs, so a row with three problems is
    named three times."""
    errors: list[str] = []
    rater = str(row.get("rater_id", "")).strip()
    metric = str(row.get("metric", "")).strip()
    if not rater:
        errors.append("field 'rater_id' is empty")
    if metric not in METRIC_KEYS:
        errors.append(f"field 'metric': unknown metric {metric!r} (expected one of {', '.join(METRIC_KEYS)})")
    epoch = row.get("epoch")
    if not _blank(epoch) and str(epoch).strip() not in ("1", "1.0"):
        errors.append(f"field 'epoch': {epoch!r}; only the first epoch's dialogues are rated")
    log, sid, where = _dialogue(row, targets.item_key, targets.by_log, targets.by_model, targets.copies)
    if where:
        errors.append(where)
    raw = row.get("score")
    blank = _blank(raw)
    score = None if blank else _score(raw)
    if not blank and score is None:
        errors.append(f"field 'score': {raw!r} is not an integer from 1 to 5")
    return errors, {"rater": rater, "metric": metric, "log": log, "sid": sid, "score": score}


def _few_items(frame: pd.DataFrame, min_items: int) -> list[Problem]:
    out = []
    for rater, part in frame.groupby("rater_id"):
        n_items = part[["log", "sample_id"]].drop_duplicates().shape[0]
        if n_items < min_items:
            rows = part["source"].tolist()
            out.append(Problem(rows[0].split(":")[0], None,
                               f"rater {rater} rated {n_items} dialogue(s) (< {min_items}; rows {rows[0]} .. {rows[-1]}): "
                               "kept, but left out of the alt-test", False))
    return out


def read_ratings(paths: list[str], logs: AuditLogs, *, key: str | None = None, min_items: int = 30,
                 strict: bool = False) -> Ratings:
    """Validated ratings of ``paths`` against ``logs``; raises ``UserError`` listing every fatal problem.

    ``strict``: a rater who left some of a dialogue's seven metrics unrated is an error, not a warning."""
    targets = _Targets.of(logs, key)
    problems: list[Problem] = []
    out: list[dict[str, Any]] = []
    seen: dict[tuple[str, str, str, str], str] = {}
    touched: dict[tuple[str, str, str], tuple[str, int]] = {}  # (rater, log, sample) -> (file, first row)
    simulated = False
    for given in paths:
        fname = Path(given).name
        rows = _read_rows(Path(given))
        header = _header_problem(fname, set().union(*(r.keys() for _, r in rows)), targets)
        if header:
            problems.append(header)
            continue
        for n, row in rows:
            simulated = simulated or "SIMULATED" in str(row.get("note", ""))
            errors, got = _check_row(row, targets)
            if errors:
                problems.extend(Problem(fname, n, e, True) for e in errors)
                continue
            rater, metric, log, sid = got["rater"], got["metric"], got["log"], got["sid"]
            touched.setdefault((rater, log, sid), (fname, n))
            if got["score"] is None:
                problems.append(Problem(fname, n, f"blank score (rater {rater}, {metric}): not rated", False))
                continue
            k = (rater, log, sid, metric)
            if k in seen:
                problems.append(Problem(fname, n, f"duplicate rating: rater {rater}, sample {sid} of {log}, {metric} "
                                                  f"(first at {seen[k]})", True))
                continue
            seen[k] = f"{fname}, row {n}"
            out.append({"log": log, "sample_id": sid, "candidate": targets.samples[(log, sid)], "rater_id": rater,
                        "metric": metric, "score": got["score"], "source": f"{fname}:{n}"})
    problems.extend(incomplete_sets(out, touched, strict=strict))
    frame = pd.DataFrame(out, columns=RATING_COLUMNS)
    problems.extend(_few_items(frame, min_items))
    fatal = [p for p in problems if p.fatal]
    if fatal:
        listing = "\n".join(f"  {p}" for p in fatal)
        raise UserError(f"{len(fatal)} problem(s) in the ratings; nothing was imported:\n{listing}")
    if frame.empty:
        raise UserError(f"no ratings in {', '.join(paths)} (every score blank?)")
    return Ratings(frame, problems, simulated)
