"""The ``emplifai synth`` driver: run the three stage tasks, filter between them, write the output.

Stage tasks are ordinary Inspect tasks (``tasks/synth.py``) run through ``inspect_ai.eval`` with
the generator as the eval's model and role "generator", the judge as role "grader" and the
labeler (default: the judge) as role "labeler"; their logs land in ``OUT/logs`` and are the record
of every model call. Between stages the driver reads each log, applies the filters
(``emplifai.scorers.synth_filters``) and hands the survivors to the next stage as a JSONL file in
``OUT/work``. Every generated item ends up in ``OUT/items.jsonl`` with each filter's outcome; the
kept dialogues in ``OUT/synthetic.jsonl`` (canonical schema + provenance columns).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inspect_ai import eval as inspect_eval
from inspect_ai.log import EvalLog, EvalSample
from inspect_ai.model import Model

from emplifai.data.loaders import load_dialogues
from emplifai.data.schema import DialogueRecord
from emplifai.errors import UserError
from emplifai.heartbeat import heartbeat
from emplifai.pairs import draw_eval_pairs
from emplifai.scorers import synth_filters as F
from emplifai.scorers.synth_filters import Outcome
from emplifai.synth.dedup import NearDupIndex
from emplifai.synth.records import Item, SynthConfig, SynthResult
from emplifai.synth.writer import write_outputs

ModelSpec = str | Model


def _model_name(m: ModelSpec) -> str:
    return m if isinstance(m, str) else str(m)


def _run_stage(
    name: str, task: Any, cfg: SynthConfig, roles: dict[str, ModelSpec], generator: ModelSpec,
    display: str | None, echo: Callable[[str], None], n: int,
) -> EvalLog:
    echo(f"[synth] stage {name}: {n} sample(s)")
    kwargs: dict[str, Any] = {}
    if cfg.max_connections is not None:
        kwargs["max_connections"] = cfg.max_connections
    with heartbeat(f"synth stage {name} ({n} sample(s))"):  # a line every 30 s outside a terminal
        logs = inspect_eval(
            task, model=generator, model_roles=roles, log_dir=str(cfg.out / "logs"), display=display,
            fail_on_error=False, score_display=False, **kwargs,
        )
    log = logs[0]
    if log.status == "error" or log.samples is None:
        err = log.error.message if log.error else "no samples in the log"
        raise UserError(f"synth stage {name} failed: {err} (log: {log.location})")
    errors = sum(1 for s in log.samples if s.error)
    echo(f"[synth] stage {name}: done ({len(log.samples)} samples, {errors} errored) -> {log.location}")
    return log


def _score(sample: EvalSample, name: str) -> Any:
    return (sample.scores or {}).get(name)


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _reference(cfg: SynthConfig) -> tuple[list[DialogueRecord], set[str]]:
    records = load_dialogues(cfg.data)
    eval_ids = {r.situation_id for r in draw_eval_pairs(records, cfg.eval_n, cfg.eval_seed)}
    return records, eval_ids


def _situation_index(cfg: SynthConfig, records: list[DialogueRecord], eval_ids: set[str]) -> NearDupIndex:
    index = NearDupIndex(cfg.dup_threshold, cfg.ngram)
    seen: set[str] = set()
    for r in records:
        if r.situation_id not in seen:
            seen.add(r.situation_id)
            tag = "eval" if r.situation_id in eval_ids else "real"
            index.add(f"{tag}:{r.situation_id}", r.situation)
    return index


def _dup_outcome(match: Any) -> Outcome:
    if match is None:
        return Outcome(True)
    where = "the real data's evaluation situations" if match.key.startswith("eval:") else (
        "the real data" if match.key.startswith("real:") else "an earlier synthetic item")
    return Outcome(False, f"near-duplicate of {match.key} ({where}), Jaccard {match.similarity:.2f}",
                   {"of": match.key, "jaccard": round(match.similarity, 4)})


def run_synth(
    cfg: SynthConfig,
    generator: ModelSpec,
    judge: ModelSpec,
    labeler: ModelSpec | None = None,
    *,
    display: str | None = None,
    echo: Callable[[str], None] = print,
) -> SynthResult:
    """Run stages 1-3 and every filter; write items.jsonl, synthetic.jsonl and the summary."""
    from emplifai.tasks.synth import synth_brainstorm, synth_dialogue, synth_rewrite

    cfg.out.mkdir(parents=True, exist_ok=True)
    work = cfg.out / "work"
    records, eval_ids = _reference(cfg)
    labeler = labeler if labeler is not None else judge
    roles: dict[str, ModelSpec] = {"generator": generator, "grader": judge, "labeler": labeler}
    models = {"generator": _model_name(generator), "judge": _model_name(judge), "labeler": _model_name(labeler)}
    logs: dict[str, str] = {}
    run = {"cfg": cfg, "roles": roles, "generator": generator, "display": display, "echo": echo}

    # --- stage 1: brainstorm ---------------------------------------------------------------
    task1 = synth_brainstorm(emotions=",".join(cfg.emotions), per_emotion=cfg.per_emotion, seed=cfg.seed,
                             cache=cfg.cache)
    log1 = _run_stage("1/3 brainstorm", task1, n=len(task1.dataset), **run)
    logs["brainstorm"] = log1.location
    situations: list[Item] = []
    for s in sorted(log1.samples or [], key=lambda s: str(s.id)):
        md = s.metadata or {}
        item = Item(str(s.id), "situation", md["emotion"], str(s.id),
                    {k: md.get(k) for k in ("condition", "care_stage", "relation")})
        if s.error:
            item.outcomes["error"] = Outcome(False, f"stage 1 sample error: {s.error.message[:200]}")
        else:
            item.outcomes["error"] = Outcome(True)
            sc = _score(s, "text_check")
            item.fields["draft"] = sc.answer if sc else ""
            item.outcomes["draft_format"] = Outcome(**sc.metadata["outcome"]) if sc else Outcome(False, "unscored")
        situations.append(item)
    draft_index = _situation_index(cfg, records, eval_ids)
    for item in situations:
        if item.failed_at(F.SITUATION_FILTERS) is None:
            item.outcomes["draft_near_dup"] = _dup_outcome(draft_index.check_and_add(item.id, item.fields["draft"]))

    # --- stage 2: rewrite -------------------------------------------------------------------
    alive = [i for i in situations if i.failed_at(F.SITUATION_FILTERS) is None]
    if alive:
        path2 = work / "stage2_items.jsonl"
        _write_jsonl(path2, [{"situation_id": i.id, "emotion": i.emotion, "draft": i.fields["draft"]} for i in alive])
        task2 = synth_rewrite(items=str(path2), data=cfg.data, seed=cfg.seed, cache=cfg.cache)
        log2 = _run_stage("2/3 rewrite", task2, n=len(alive), **run)
        logs["rewrite"] = log2.location
        by_id = {i.id: i for i in alive}
        for s in log2.samples or []:
            item = by_id[str(s.id)]
            if s.error:
                item.outcomes["error"] = Outcome(False, f"stage 2 sample error: {s.error.message[:200]}")
                continue
            sc = _score(s, "text_check")
            item.fields["situation"] = sc.answer if sc else ""
            item.outcomes["situation_format"] = Outcome(**sc.metadata["outcome"]) if sc else Outcome(False, "unscored")
        sit_index = _situation_index(cfg, records, eval_ids)
        for item in alive:
            if item.failed_at(F.SITUATION_FILTERS) is None:
                match = sit_index.check_and_add(item.id, item.fields["situation"])
                item.outcomes["situation_near_dup"] = _dup_outcome(match)
    else:
        echo("[synth] stage 2/3 rewrite: not run (no scene passed stage 1)")

    # --- stage 3: dialogues, judge, label -----------------------------------------------------
    ready = [i for i in situations if i.failed_at(F.SITUATION_FILTERS) is None and "situation" in i.fields]
    dialogues: list[Item] = []
    if ready:
        path3 = work / "stage3_items.jsonl"
        _write_jsonl(path3, [{"situation_id": i.id, "emotion": i.emotion, "situation": i.fields["situation"]}
                             for i in ready])
        task3 = synth_dialogue(items=str(path3), dialogues=cfg.dialogues, language=cfg.language,
                               judge_mode=cfg.judge_mode, structured=cfg.structured, cache=cfg.cache, seed=cfg.seed)
        log3 = _run_stage("3/3 dialogue + judge + label", task3, n=len(ready) * cfg.dialogues, **run)
        logs["dialogue"] = log3.location
        situation_of = {i.id: i for i in ready}
        for s in sorted(log3.samples or [], key=lambda s: str(s.id)):
            md = s.metadata or {}
            sit = situation_of[md["situation_id"]]
            item = Item(str(s.id), "dialogue", sit.emotion, sit.id,
                        {"situation": sit.fields["situation"], "variant": md.get("variant")})
            dialogues.append(item)
            if s.error:
                item.outcomes["error"] = Outcome(False, f"stage 3 sample error: {s.error.message[:200]}")
                continue
            item.outcomes["error"] = Outcome(True)
            completion = s.output.completion if s.output else ""
            parsed, fmt = F.dialogue_format(completion)
            item.outcomes["format"] = fmt
            if parsed is None:
                item.fields["raw_output"] = completion[:2000]
                continue
            item.fields["turns"] = list(parsed.turns)
            judge = _score(s, "rubric_judge")
            value = judge.value if judge is not None and isinstance(judge.value, dict) else None
            item.fields["judge_scores"] = {k: value.get(k) for k in F.METRIC_KEYS} if value else None
            item.outcomes["judge"] = F.judge_filter(value, judge.reason if judge else None, cfg.thresholds)
            # The label check runs on every well-formed dialogue (the stage's scorer already asked),
            # so its outcome is recorded even where the judge has dropped the item.
            label = _score(s, "label_consistency")
            pred = (label.metadata or {}).get("pred") if label is not None else None
            item.fields["label_pred"] = pred
            item.outcomes["label"] = F.label_filter(sit.emotion, pred, cfg.label_mode)
    else:
        echo("[synth] stage 3/3 dialogue: not run (no situation passed stages 1-2)")

    # --- near-duplicates (within the batch and against the real dialogues), then balance ------
    dial_index = NearDupIndex(cfg.dup_threshold, cfg.ngram)
    dial_index.add_many((f"real:{r.dialogue_id}", "\n".join(r.turn_texts())) for r in records)
    for item in dialogues:
        if item.failed_at(F.DIALOGUE_FILTERS) is None:
            match = dial_index.check_and_add(item.id, "\n".join(item.fields["turns"]))
            item.outcomes["near_dup"] = _dup_outcome(match)
    survivors = [i for i in dialogues if i.failed_at(F.DIALOGUE_FILTERS) is None]
    kept, dropped, cap = F.balance(survivors, lambda i: i.emotion, cfg.emotions, cfg.balance)
    for item in kept:
        item.outcomes["balance"] = Outcome(True, "" if cap is None else f"cap {cap} per emotion")
    for item in dropped:
        item.outcomes["balance"] = Outcome(False, f"over the cap of {cap} per emotion (balance={cfg.balance})")
    for item in dialogues:
        for name in F.DIALOGUE_FILTERS:
            item.outcomes.setdefault(name, F.SKIPPED)
    for item in situations:
        for name in F.SITUATION_FILTERS[1:]:
            item.outcomes.setdefault(name, F.SKIPPED)

    result = SynthResult(situations, dialogues, kept, logs, models, cap)
    write_outputs(cfg, result)
    echo(f"[synth] kept {len(kept)} of {len(dialogues)} dialogue(s) from {len(situations)} scene(s) -> "
         f"{cfg.out / 'synthetic.jsonl'}; summary in {cfg.out / 'summary.md'}")
    return result
