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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inspect_ai import eval as inspect_eval
from inspect_ai.log import EvalLog, EvalSample
from inspect_ai.model import Model

from emplifai.data.loaders import load_dialogues
from emplifai.data.near_duplicates import Match, NearDupIndex, dialogue_text
from emplifai.data.schema import DialogueRecord
from emplifai.errors import UserError
from emplifai.heartbeat import heartbeat
from emplifai.pairs import draw_eval_pairs
from emplifai.scorers import synth_filters as F
from emplifai.scorers.synth_filters import Outcome
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
    """Every real situation (evaluation ones tagged ``eval:``), for the exact near-duplicate check."""
    index = NearDupIndex(cfg.dup_threshold, cfg.ngram)
    seen: set[str] = set()
    for r in records:
        if r.situation_id not in seen:
            seen.add(r.situation_id)
            tag = "eval" if r.situation_id in eval_ids else "real"
            index.add(f"{tag}:{r.situation_id}", r.situation)
    return index


def _dup_outcome(match: Match | None) -> Outcome:
    if match is None:
        return Outcome(True)
    where = "the real data's evaluation situations" if match.key.startswith("eval:") else (
        "the real data" if match.key.startswith("real:") else "an earlier synthetic item")
    return Outcome(False, f"near-duplicate of {match.key} ({where}), Jaccard {match.similarity:.2f}",
                   {"of": match.key, "jaccard": round(match.similarity, 4)})


@dataclass
class _Run:
    """What every stage of one run needs: the configuration, the models and the real data."""

    cfg: SynthConfig
    generator: ModelSpec
    roles: dict[str, ModelSpec]
    display: str | None
    echo: Callable[[str], None]
    records: list[DialogueRecord]
    eval_ids: set[str]
    logs: dict[str, str] = field(default_factory=dict)

    def stage(self, name: str, key: str, task: Any, n: int) -> EvalLog:
        log = _run_stage(name, task, self.cfg, self.roles, self.generator, self.display, self.echo, n)
        self.logs[key] = log.location
        return log


def _scored_text(item: Item, sample: EvalSample, field_name: str, outcome: str) -> None:
    """The stage's text into ``item.fields[field_name]`` and its format check into ``outcome``."""
    sc = _score(sample, "text_check")
    item.fields[field_name] = sc.answer if sc else ""
    item.outcomes[outcome] = Outcome(**sc.metadata["outcome"]) if sc else Outcome(False, "unscored")


def _stage_brainstorm(run: _Run) -> list[Item]:
    """Stage 1: one scene per (emotion, index), each checked for format and near-duplicates."""
    from emplifai.tasks.synth import synth_brainstorm

    cfg = run.cfg
    task = synth_brainstorm(emotions=",".join(cfg.emotions), per_emotion=cfg.per_emotion, seed=cfg.seed,
                            cache=cfg.cache)
    log = run.stage("1/3 brainstorm", "brainstorm", task, len(task.dataset))
    situations: list[Item] = []
    for s in sorted(log.samples or [], key=lambda s: str(s.id)):
        md = s.metadata or {}
        item = Item(str(s.id), "situation", md["emotion"], str(s.id),
                    {k: md.get(k) for k in ("condition", "care_stage", "relation")})
        if s.error:
            item.outcomes["error"] = Outcome(False, f"stage 1 sample error: {s.error.message[:200]}")
        else:
            item.outcomes["error"] = Outcome(True)
            _scored_text(item, s, "draft", "draft_format")
        situations.append(item)
    index = _situation_index(cfg, run.records, run.eval_ids)
    for item in situations:
        if item.failed_at(F.SITUATION_FILTERS) is None:
            item.outcomes["draft_near_dup"] = _dup_outcome(index.check_and_add(item.id, item.fields["draft"]))
    return situations


def _stage_rewrite(run: _Run, situations: list[Item]) -> None:
    """Stage 2: each surviving scene rewritten as one situation line, checked like the drafts."""
    from emplifai.tasks.synth import synth_rewrite

    cfg = run.cfg
    alive = [i for i in situations if i.failed_at(F.SITUATION_FILTERS) is None]
    if not alive:
        run.echo("[synth] stage 2/3 rewrite: not run (no scene passed stage 1)")
        return
    path = cfg.out / "work" / "stage2_items.jsonl"
    _write_jsonl(path, [{"situation_id": i.id, "emotion": i.emotion, "draft": i.fields["draft"]} for i in alive])
    task = synth_rewrite(items=str(path), data=cfg.data, seed=cfg.seed, cache=cfg.cache)
    log = run.stage("2/3 rewrite", "rewrite", task, len(alive))
    by_id = {i.id: i for i in alive}
    for s in log.samples or []:
        item = by_id[str(s.id)]
        if s.error:
            item.outcomes["error"] = Outcome(False, f"stage 2 sample error: {s.error.message[:200]}")
        else:
            _scored_text(item, s, "situation", "situation_format")
    index = _situation_index(cfg, run.records, run.eval_ids)
    for item in alive:
        if item.failed_at(F.SITUATION_FILTERS) is None:
            item.outcomes["situation_near_dup"] = _dup_outcome(index.check_and_add(item.id, item.fields["situation"]))


def _dialogue_item(s: EvalSample, sit: Item, cfg: SynthConfig) -> Item:
    """One stage-3 sample as an item: format, judge and label outcomes."""
    item = Item(str(s.id), "dialogue", sit.emotion, sit.id,
                {"situation": sit.fields["situation"], "variant": (s.metadata or {}).get("variant")})
    if s.error:
        item.outcomes["error"] = Outcome(False, f"stage 3 sample error: {s.error.message[:200]}")
        return item
    item.outcomes["error"] = Outcome(True)
    completion = s.output.completion if s.output else ""
    parsed, fmt = F.dialogue_format(completion)
    item.outcomes["format"] = fmt
    if parsed is None:
        item.fields["raw_output"] = completion[:2000]
        return item
    item.fields["turns"] = list(parsed.turns)
    judge = _score(s, "rubric_judge")
    value = judge.value if judge is not None and isinstance(judge.value, dict) else None
    item.fields["judge_scores"] = {k: value.get(k) for k in F.METRIC_KEYS} if value else None
    item.outcomes["judge"] = F.judge_filter(value, judge.reason if judge else None, cfg.thresholds)
    # The label check runs on every well-formed dialogue (the stage's scorer already asked), so its
    # outcome is recorded even where the judge has dropped the item.
    label = _score(s, "label_consistency")
    pred = (label.metadata or {}).get("pred") if label is not None else None
    item.fields["label_pred"] = pred
    item.outcomes["label"] = F.label_filter(sit.emotion, pred, cfg.label_mode)
    return item


def _stage_dialogue(run: _Run, situations: list[Item]) -> list[Item]:
    """Stage 3: M dialogues per surviving situation, judged and labelled."""
    from emplifai.tasks.synth import synth_dialogue

    cfg = run.cfg
    ready = [i for i in situations if i.failed_at(F.SITUATION_FILTERS) is None and "situation" in i.fields]
    if not ready:
        run.echo("[synth] stage 3/3 dialogue: not run (no situation passed stages 1-2)")
        return []
    path = cfg.out / "work" / "stage3_items.jsonl"
    _write_jsonl(path, [{"situation_id": i.id, "emotion": i.emotion, "situation": i.fields["situation"]}
                        for i in ready])
    task = synth_dialogue(items=str(path), dialogues=cfg.dialogues, language=cfg.language,
                          judge_mode=cfg.judge_mode, structured=cfg.structured, cache=cfg.cache, seed=cfg.seed)
    log = run.stage("3/3 dialogue + judge + label", "dialogue", task, len(ready) * cfg.dialogues)
    situation_of = {i.id: i for i in ready}
    return [_dialogue_item(s, situation_of[(s.metadata or {})["situation_id"]], cfg)
            for s in sorted(log.samples or [], key=lambda s: str(s.id))]


def _drop_near_duplicate_dialogues(run: _Run, dialogues: list[Item]) -> None:
    """Turns near a real dialogue or an earlier synthetic one (exact Jaccard, the leak check's index)."""
    index = NearDupIndex(run.cfg.dup_threshold, run.cfg.ngram)
    index.add_many((f"real:{r.dialogue_id}", dialogue_text(r.turn_texts())) for r in run.records)
    for item in dialogues:
        if item.failed_at(F.DIALOGUE_FILTERS) is None:
            item.outcomes["near_dup"] = _dup_outcome(index.check_and_add(item.id, dialogue_text(item.fields["turns"])))


def _balance(run: _Run, dialogues: list[Item]) -> tuple[list[Item], int | None]:
    """Equal numbers per emotion (or none); then every filter an item never reached is marked skipped."""
    survivors = [i for i in dialogues if i.failed_at(F.DIALOGUE_FILTERS) is None]
    kept, dropped, cap = F.balance(survivors, lambda i: i.emotion, run.cfg.emotions, run.cfg.balance)
    for item in kept:
        item.outcomes["balance"] = Outcome(True, "" if cap is None else f"cap {cap} per emotion")
    for item in dropped:
        item.outcomes["balance"] = Outcome(False, f"over the cap of {cap} per emotion (balance={run.cfg.balance})")
    return kept, cap


def _mark_skipped(situations: list[Item], dialogues: list[Item]) -> None:
    for item in dialogues:
        for name in F.DIALOGUE_FILTERS:
            item.outcomes.setdefault(name, F.SKIPPED)
    for item in situations:
        for name in F.SITUATION_FILTERS[1:]:
            item.outcomes.setdefault(name, F.SKIPPED)


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
    records, eval_ids = _reference(cfg)  # before any folder is made: bad data leaves nothing behind
    labeler = labeler if labeler is not None else judge
    roles: dict[str, ModelSpec] = {"generator": generator, "grader": judge, "labeler": labeler}
    models = {"generator": _model_name(generator), "judge": _model_name(judge), "labeler": _model_name(labeler)}
    cfg.out.mkdir(parents=True, exist_ok=True)
    run = _Run(cfg, generator, roles, display, echo, records, eval_ids)

    situations = _stage_brainstorm(run)
    _stage_rewrite(run, situations)
    dialogues = _stage_dialogue(run, situations)
    _drop_near_duplicate_dialogues(run, dialogues)
    kept, cap = _balance(run, dialogues)
    _mark_skipped(situations, dialogues)

    result = SynthResult(situations, dialogues, kept, run.logs, models, cap)
    write_outputs(cfg, result)
    echo(f"[synth] kept {len(kept)} of {len(dialogues)} dialogue(s) from {len(situations)} scene(s) -> "
         f"{cfg.out / 'synthetic.jsonl'}; summary in {cfg.out / 'summary.md'}")
    return result
