"""Rating sheets for human raters, blinded: random item ids, random order, the key kept apart.

Two designs:

- ``paper``: the EmplifAI paper's. Per log, the dialogues in random order are cut into groups of
  ``group_size`` (10); each group is rated by ``raters_per_item`` (3) raters of its own.
- ``alt-test``: what the alternative annotator test needs: every dialogue rated by at least
  ``raters_per_item`` (>= 3) raters and every rater given at least ``min_items`` (30) dialogues.
  ``n_raters`` raters share all dialogues; dialogue k of a log (in random order) goes to raters
  (offset + 3k + j) mod n_raters, j < 3, the offset running on across logs, so loads differ by at
  most one. Infeasible numbers are refused before anything is written.

Written: ``OUT/sheet_<rater>.csv`` (long format: one row per dialogue and metric, score blank; the
file comes back to ``emplifai audit import`` as it is), ``OUT/sheet_<rater>.html`` (a printable
form with the rubric in the raters' language), ``OUT/ratings_template.csv`` (all sheets in one
file) and the key (item id -> log, sample id, candidate) at ``--key``, outside OUT: hand OUT to
raters, never the key.
"""

from __future__ import annotations

import csv
import hashlib
import html
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emplifai.audit.logs import AuditLogs
from emplifai.errors import UserError
from emplifai.judge_metrics import METRIC_KEYS
from emplifai.scorers.agreement.alt_test import MIN_ITEMS_PER_RATER, MIN_RATERS
from emplifai.scorers.rubrics import RUBRIC_NAMES, load_rubrics

DESIGNS = ("paper", "alt-test")
SHEET_COLUMNS = ["rater_id", "position", "item_id", "metric", "score", "emotion", "situation", "dialogue"]
KEY_COLUMNS = ["item_id", "log", "sample_id", "epoch", "candidate", "model"]

_UI = {
    "ja": {"title": "評価シート", "rater": "評価者", "item": "対話", "situation": "状況", "emotion": "感情",
           "instructions": "各対話を読み、7つの項目それぞれについて、下の評価基準に最も合う点数（1〜5）に丸を付けてください。"
                           "対話を作成したモデルは伏せてあります。",
           "rubric": "評価基準", "principles": "採点方針", "metric": "項目", "not_dialogue": "（対話の形式になっていない出力）",
           "speakers": ("患者", "支援者", "患者", "支援者")},
    "en": {"title": "Rating sheet", "rater": "Rater", "item": "Dialogue", "situation": "Situation", "emotion": "Emotion",
           "instructions": "Read each dialogue and, for each of the seven metrics, circle the score (1-5) whose "
                           "description below fits best. The model that wrote the dialogue is hidden.",
           "rubric": "Rubric", "principles": "Scoring principles", "metric": "Metric",
           "not_dialogue": "(output not in dialogue form)", "speakers": ("Patient", "Supporter", "Patient", "Supporter")},
}


@dataclass
class SheetResult:
    design: str
    n_items: int
    n_raters: int
    items_per_rater: dict[str, int]
    raters_per_item: int
    out: Path
    key: Path
    notes: list[str]


def _item_ids(items: pd.DataFrame, seed: int) -> list[str]:
    """Opaque ids from a hash of (seed, log, sample): reproducible, and different for another batch of
    logs, so a key can never unblind the wrong batch's sheets. Lengthened on the (unlikely) collision."""
    digests = [hashlib.sha256(f"{seed}|{log}|{sid}".encode()).hexdigest() for log, sid in zip(items["log"], items["sample_id"])]
    for width in range(7, 65):
        ids = [f"I{d[:width]}" for d in digests]
        if len(set(ids)) == len(ids):
            return ids
    raise ValueError("duplicate (log, sample_id) among the dialogues")  # pragma: no cover - read_audit_logs prevents it


def _assign_paper(items: pd.DataFrame, rng: np.random.Generator, group_size: int, k: int) -> dict[str, list[int]]:
    raters: dict[str, list[int]] = {}
    n = 0
    for _, part in items.groupby("log", sort=True):
        order = list(rng.permutation(part.index.to_numpy()))
        for g in range(0, len(order), group_size):
            group = order[g:g + group_size]
            for _ in range(k):
                n += 1
                raters[f"R{n:03d}"] = list(group)
    return raters


def check_design(design: str, *, raters_per_item: int, n_raters: int | None, group_size: int, min_items: int) -> None:
    """Refuse numbers a design cannot use, before anything is read or written: one line naming the flag."""
    if design not in DESIGNS:
        raise UserError(f"--design {design!r}: expected one of {', '.join(DESIGNS)}")
    if raters_per_item < 1:
        raise UserError(f"--raters-per-item {raters_per_item}: must be >= 1")
    if design == "paper":
        if group_size < 1:
            raise UserError(f"--group-size {group_size}: must be >= 1")
        if n_raters is not None:
            raise UserError(f"--raters {n_raters}: only for --design alt-test; the paper design gives each group of "
                            "--group-size dialogues --raters-per-item raters of its own")
        return
    if raters_per_item < MIN_RATERS:
        raise UserError(f"--raters-per-item {raters_per_item}: the alt-test design needs every dialogue rated by at "
                        f"least {MIN_RATERS} raters (Calderon et al. 2025)")
    if n_raters is not None and n_raters < raters_per_item:
        raise UserError(f"--raters {n_raters}: must be >= --raters-per-item ({raters_per_item}), each dialogue goes to "
                        "that many different raters")
    if min_items < MIN_ITEMS_PER_RATER:
        raise UserError(f"--min-items {min_items}: must be >= {MIN_ITEMS_PER_RATER} for the alt-test design (its "
                        "per-rater t-test, Calderon et al. 2025)")


def _assign_alt(items: pd.DataFrame, rng: np.random.Generator, n_raters: int, k: int,
                min_items: int) -> dict[str, list[int]]:
    per_rater = len(items) * k / n_raters
    if math.floor(per_rater) < min_items:
        most = max(k, (len(items) * k) // min_items)
        raise UserError(
            f"{len(items)} dialogues x {k} raters each / {n_raters} raters = {per_rater:.1f} dialogues per rater, "
            f"below the alt-test's minimum of {min_items}: use at most {most} raters, or more dialogues")
    names = [f"R{i + 1:03d}" for i in range(n_raters)]
    raters: dict[str, list[int]] = {r: [] for r in names}
    offset = 0
    for _, part in items.groupby("log", sort=True):
        for idx in rng.permutation(part.index.to_numpy()):
            for j in range(k):
                raters[names[(offset + j) % n_raters]].append(idx)
            offset += k
    return raters


def _dialogue_text(row: pd.Series, ui: dict[str, Any]) -> str:
    if row["turns"] is None:
        return f"{ui['not_dialogue']}\n{row['completion']}"
    return "\n".join(f"{s}: {t}" for s, t in zip(ui["speakers"], row["turns"]))


def write_sheets(
    logs: AuditLogs, out: str | Path, key: str | Path, *, design: str = "paper", seed: int = 42,
    group_size: int = 10, raters_per_item: int = 3, n_raters: int | None = None, min_items: int = 30,
    language: str | None = None,
) -> SheetResult:
    """Write the blinded sheets of every dialogue in ``logs`` (see the module docstring)."""
    check_design(design, raters_per_item=raters_per_item, n_raters=n_raters, group_size=group_size,
                 min_items=min_items)
    out_dir, key_path = Path(out), Path(key)
    if key_path.resolve().is_relative_to(out_dir.resolve()):
        raise UserError(f"--key {key_path} is inside {out_dir}: keep the key apart from the sheets the raters get")
    items = logs.items.reset_index(drop=True)
    if items.empty:
        raise UserError("the logs hold no dialogues to rate")
    notes: list[str] = [f"{copy} holds the same dialogues as {orig} (a rescored copy): each dialogue is on the "
                        "sheets once" for copy, orig in sorted(logs.copies.items())]
    scored = logs.scores.drop_duplicates(["rubric", "rubric_language"]) if not logs.scores.empty else pd.DataFrame()
    lang = language or (str(scored["rubric_language"].iloc[0]) if len(scored) and scored["rubric_language"].iloc[0]
                        else str(items["language"].iloc[0]))
    if lang not in _UI:
        raise UserError(f"--language {lang!r}: expected ja or en")
    rubric_name = "default"
    if len(scored):
        name, _, version = str(scored["rubric"].iloc[0]).partition(" ")
        rubric_name = name if name in RUBRIC_NAMES else "default"
        shipped = load_rubrics(lang, rubric_name).version
        if len(scored) > 1:
            notes.append(f"the judges used several rubrics ({', '.join(scored['rubric'].astype(str))}); the sheets show {rubric_name}")
        if version != shipped:
            notes.append(f"the judge used rubric {rubric_name} {version}; the shipped {lang} rubric is {shipped}")
    rubrics = load_rubrics(lang, rubric_name)
    rng = np.random.default_rng(seed)
    items["item_id"] = _item_ids(items, seed)
    if design == "paper":
        assignment = _assign_paper(items, rng, group_size, raters_per_item)
    else:
        assignment = _assign_alt(items, rng, raters_per_item if n_raters is None else n_raters, raters_per_item,
                                 min_items)
    out_dir.mkdir(parents=True, exist_ok=True)
    key_path.parent.mkdir(parents=True, exist_ok=True)
    items.assign(epoch=1)[KEY_COLUMNS].to_csv(key_path, index=False)
    ui = _UI[lang]
    all_rows: list[dict[str, Any]] = []
    for rater, idxs in assignment.items():
        order = list(rng.permutation(idxs))
        rows = []
        for pos, idx in enumerate(order, start=1):
            it = items.loc[idx]
            emotion = it["emotion_ja"] if lang == "ja" and it["emotion_ja"] else it["emotion"]
            for metric in METRIC_KEYS:
                rows.append({"rater_id": rater, "position": pos, "item_id": it["item_id"], "metric": metric,
                             "score": "", "emotion": emotion, "situation": it["situation"],
                             "dialogue": _dialogue_text(it, ui)})
        pd.DataFrame(rows, columns=SHEET_COLUMNS).to_csv(out_dir / f"sheet_{rater}.csv", index=False,
                                                         quoting=csv.QUOTE_NONNUMERIC)
        (out_dir / f"sheet_{rater}.html").write_text(_html(rater, order, items, rubrics, ui, lang), encoding="utf-8")
        all_rows.extend(rows)
    pd.DataFrame(all_rows, columns=SHEET_COLUMNS).to_csv(out_dir / "ratings_template.csv", index=False,
                                                         quoting=csv.QUOTE_NONNUMERIC)
    per_item = pd.Series([i for idxs in assignment.values() for i in idxs]).value_counts()
    return SheetResult(design, len(items), len(assignment), {r: len(v) for r, v in assignment.items()},
                       int(per_item.min()), out_dir, key_path, notes)


_CSS = """body{font-family:sans-serif;max-width:60em;margin:1em auto;line-height:1.5}
.item{page-break-before:always;border-top:2px solid #444;padding-top:.5em}
.turn{margin:.2em 0 .2em 1em}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .6em}
.box{font-size:1.2em;text-align:center}.rubric dt{font-weight:bold;margin-top:.6em}
@media print{.noprint{display:none}}"""


def _html(rater: str, order: list[int], items: pd.DataFrame, rubrics: Any, ui: dict[str, Any], lang: str) -> str:
    e = html.escape
    rub = [f"<h2>{e(ui['rubric'])}</h2><h3>{e(ui['principles'])}</h3><ul>"
           + "".join(f"<li>{e(p)}</li>" for p in rubrics.principles) + "</ul><dl class=rubric>"]
    for r in rubrics.rubrics:
        rub.append(f"<dt>{e(r.name)}</dt><dd>{e(r.definition)}<ol>"
                   + "".join(f"<li>{e(level)}</li>" for level in r.levels) + "</ol></dd>")
    rub.append("</dl>")
    body = []
    for pos, idx in enumerate(order, start=1):
        it = items.loc[idx]
        emotion = it["emotion_ja"] if lang == "ja" and it["emotion_ja"] else it["emotion"]
        turns = (it["turns"] and [f"<p class=turn><b>{e(s)}</b>: {e(t)}</p>" for s, t in zip(ui["speakers"], it["turns"])]
                 or [f"<p class=turn>{e(ui['not_dialogue'])}</p><pre>{e(it['completion'])}</pre>"])
        table = "".join(f"<tr><td>{e(r.name)}</td>" + "".join("<td class=box>☐</td>" for _ in range(5)) + "</tr>"
                        for r in rubrics.rubrics)
        body.append(f"<section class=item><h3>{e(ui['item'])} {pos} <small>({e(it['item_id'])})</small></h3>"
                    f"<p><b>{e(ui['situation'])}</b>: {e(str(it['situation']))}<br><b>{e(ui['emotion'])}</b>: {e(str(emotion))}</p>"
                    + "".join(turns)
                    + f"<table><tr><th>{e(ui['metric'])}</th>" + "".join(f"<th>{n}</th>" for n in range(1, 6)) + "</tr>"
                    + table + "</table></section>")
    return (f"<!DOCTYPE html><html lang={lang}><head><meta charset=utf-8><title>{e(ui['title'])} {e(rater)}</title>"
            f"<style>{_CSS}</style></head><body><h1>{e(ui['title'])}: {e(ui['rater'])} {e(rater)}</h1>"
            f"<p>{e(ui['instructions'])}</p>{''.join(rub)}{''.join(body)}</body></html>")
