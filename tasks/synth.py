"""Synthetic-data pipeline (SYNTHEMPATHY-style, EmplifAI schema): one Inspect task per stage.

``emplifai synth`` runs the three in order and filters between them; each stage is also an
ordinary task, so its log can be viewed, re-scored or finished with ``inspect eval-retry``.
The generator is the model role "generator" (falling back to ``--model``), the judge is the role
"grader", the labeler of the label-consistency check the role "labeler" (falling back to the
grader).

    inspect eval emplifai/synth_brainstorm --model <generator> -T emotions=joy,fear -T per_emotion=2
    inspect eval emplifai/synth_rewrite --model <generator> -T items=stage2_items.jsonl
    inspect eval emplifai/synth_dialogue --model <generator> --model-role grader=<judge> -T items=stage3_items.jsonl
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample

from emplifai.data.loaders import load_dialogues, read_jsonl_objects
from emplifai.data.schema import DataSourceError
from emplifai.errors import UserError
from emplifai.params import bool_param, choice_param, float_param, int_param, str_param
from emplifai.scorers.rubric_judge import STRUCTURED, check_grader, rubric_judge
from emplifai.scorers.rubrics import RUBRIC_NAMES
from emplifai.scorers.synth_checks import label_consistency, text_check
from emplifai.solvers.generation_prompt import PROMPT_VERSION, generation_messages, prompt_hash
from emplifai.solvers.synth_prompts import (
    SYNTH_BRIEF_VERSION,
    brainstorm_messages,
    brief_hash,
    brief_lines,
    rewrite_messages,
    role_generate,
    scene_specs,
)
from emplifai.taxonomy import BY_JA, BY_LABEL, EMOTIONS

STYLE_EXAMPLES = 3


def parse_emotions(spec: Any) -> list[str]:
    """``"joy,fear"`` / ``"all"`` / a list -> canonical labels (Japanese keywords accepted), in order."""
    if isinstance(spec, str):
        parts = [p.strip() for p in spec.split(",") if p.strip()]
    elif isinstance(spec, (list, tuple)):
        parts = [str(p).strip() for p in spec]
    else:
        raise UserError(f"-T emotions must be a comma-separated list of emotions or 'all', got {spec!r}")
    if parts == ["all"]:
        return [e.label for e in EMOTIONS]
    out: list[str] = []
    for p in parts:
        label = BY_JA[p].label if p in BY_JA else p.lower()
        if label not in BY_LABEL:
            raise UserError(f"unknown emotion {p!r}: expected one of the 28 labels, their Japanese keywords, or 'all'")
        if label not in out:
            out.append(label)
    if not out:
        raise UserError("-T emotions is empty")
    return out


def read_items(path: str, required: tuple[str, ...]) -> list[dict[str, Any]]:
    """Items handed from one stage to the next (JSONL written by the driver), read by the data
    loaders' JSONL reader; every error names the file, the line and the field."""
    try:
        rows = read_jsonl_objects(path)
    except DataSourceError:
        raise UserError(f"-T items: no such file {path!r}") from None
    items = []
    for n, item in rows:
        missing = [k for k in required if not item.get(k)]
        if missing:
            raise UserError(f"{path}, line {n}: missing field(s) {', '.join(missing)}")
        if item["emotion"] not in BY_LABEL:
            raise UserError(f"{path}, line {n}, field 'emotion': unknown label {item['emotion']!r}")
        items.append(item)
    if not items:
        raise UserError(f"{path}: no items")
    return items


def _metadata() -> dict[str, Any]:
    return {"synth_brief_version": SYNTH_BRIEF_VERSION, "synth_brief_hash": brief_hash()}


@task
def synth_brainstorm(
    emotions: str = "joy,fear",
    per_emotion: int = 2,
    seed: int = 42,
    temperature: float = 0.9,
    max_tokens: int = 400,
    cache: bool = True,
) -> Task:
    """Stage 1: one first-person chronic-care scene per (emotion, index).

    Args:
        emotions: Comma-separated emotions (English labels or Japanese keywords), or "all" (28).
        per_emotion: Scenes per emotion (K).
        seed: Seed of the draw of condition, stage of care and supporter per scene.
        temperature: Generator temperature.
        max_tokens: Generator output limit per scene.
        cache: Reuse cached generations on a re-run with the same seed.
    """
    labels = parse_emotions(emotions)
    per_emotion = int_param("per_emotion", per_emotion, min=1)
    seed = int_param("seed", seed)
    temperature = float_param("temperature", temperature, min=0.0, max=2.0)
    max_tokens = int_param("max_tokens", max_tokens, min=16)
    cache = bool_param("cache", cache)
    samples = [
        Sample(
            id=f"synth-{spec.emotion}-{spec.index:03d}",
            input=brainstorm_messages(spec),
            metadata={"emotion": spec.emotion, "index": spec.index, "condition": spec.condition,
                      "care_stage": spec.care_stage, "relation": spec.relation, "seed": seed},
        )
        for spec in scene_specs(labels, per_emotion, seed)
    ]
    return Task(
        dataset=MemoryDataset(samples, name="emplifai-synth-brainstorm"),
        solver=role_generate(temperature=temperature, max_tokens=max_tokens, cache=cache, variant=f"seed{seed}"),
        scorer=text_check("draft", brief_lines()),
        metadata={**_metadata(), "stage": "brainstorm", "emotions": labels, "per_emotion": per_emotion, "seed": seed},
    )


@task
def synth_rewrite(
    items: str | None = None,
    data: str | None = None,
    seed: int = 42,
    temperature: float = 0.3,
    max_tokens: int = 200,
    cache: bool = True,
) -> Task:
    """Stage 2: each scene rewritten as one situation line in the dataset's style.

    Args:
        items: JSONL of scenes: situation_id, emotion, draft (written by `emplifai synth`).
        data: EmplifAI-format data whose situations are shown as style examples (default: the
            bundled sample set). Examples are drawn with `seed` from other emotions.
        seed: Seed of the style-example draw.
        temperature: Generator temperature.
        max_tokens: Generator output limit.
        cache: Reuse cached generations on a re-run.
    """
    items = str_param("items", items, optional=False)
    seed = int_param("seed", seed)
    temperature = float_param("temperature", temperature, min=0.0, max=2.0)
    max_tokens = int_param("max_tokens", max_tokens, min=16)
    cache = bool_param("cache", cache)
    rows = read_items(items, ("situation_id", "emotion", "draft"))
    records = load_dialogues(str_param("data", data))
    situations = sorted({(r.emotion, r.situation) for r in records})
    samples = []
    for item in rows:
        rng = random.Random(f"{seed}:{item['situation_id']}")
        pool = [s for e, s in situations if e != item["emotion"]]
        examples = rng.sample(pool, min(STYLE_EXAMPLES, len(pool)))
        samples.append(Sample(
            id=item["situation_id"],
            input=rewrite_messages(item["emotion"], item["draft"], examples),
            metadata={"emotion": item["emotion"], "draft": item["draft"], "style_examples": examples},
        ))
    return Task(
        dataset=MemoryDataset(samples, name="emplifai-synth-rewrite", location=str(Path(items).name)),
        solver=role_generate(temperature=temperature, max_tokens=max_tokens, cache=cache, variant=f"seed{seed}"),
        scorer=text_check("situation", brief_lines()),
        metadata={**_metadata(), "stage": "rewrite", "seed": seed},
    )


@task
def synth_dialogue(
    items: str | None = None,
    dialogues: int = 2,
    language: str = "ja",
    judge_mode: str = "all",
    structured: str = "auto",
    judge_max_tokens: int | None = None,
    rubric: str = "default",
    temperature: float = 0.8,
    max_tokens: int = 700,
    cache: bool = True,
    seed: int = 42,
) -> Task:
    """Stage 3: M two-turn dialogues per situation, with the benchmark's own brief, judged by the
    rubric judge (role "grader") and checked for label consistency (role "labeler").

    Args:
        items: JSONL of situations: situation_id, emotion, situation (written by `emplifai synth`).
        dialogues: Dialogues per situation (M).
        language: Language of the brief and the judge's rubric ("ja"; "en" for English runs).
        judge_mode: "all" (one judge call for the seven metrics) or "per_metric".
        structured: The judge's schema-constrained output: "auto" (by provider), "on" or "off".
        judge_max_tokens: Output limit of each judge call (None = the provider's).
        rubric: Rubric set of the judge: "default" (the filter's thresholds are for its seven
            metrics), "neutral" or "epitome" (its three metrics have no thresholds in the filter).
        temperature: Generator temperature (the M dialogues of a situation differ through it).
        max_tokens: Generator output limit per dialogue.
        cache: Reuse cached generations on a re-run.
        seed: Recorded with the items; part of the cache scope.
    """
    items = str_param("items", items, optional=False)
    dialogues = int_param("dialogues", dialogues, min=1)
    language = choice_param("language", language, ("ja", "en"))
    judge_mode = choice_param("judge_mode", judge_mode, ("all", "per_metric"))
    if isinstance(structured, bool):  # -T values are YAML: a bare on/off is a boolean
        structured = "on" if structured else "off"
    structured = choice_param("structured", structured, STRUCTURED)
    judge_max_tokens = int_param("judge_max_tokens", judge_max_tokens, min=1, optional=True)
    rubric = choice_param("rubric", rubric, RUBRIC_NAMES)
    temperature = float_param("temperature", temperature, min=0.0, max=2.0)
    max_tokens = int_param("max_tokens", max_tokens, min=16)
    cache = bool_param("cache", cache)
    seed = int_param("seed", seed)
    rows = read_items(items, ("situation_id", "emotion", "situation"))
    samples = [
        Sample(
            id=f"{item['situation_id']}-d{j}",
            input=generation_messages(item["emotion"], item["situation"], language=language),
            metadata={"emotion": item["emotion"], "emotion_ja": BY_LABEL[item["emotion"]].ja,
                      "situation": item["situation"], "situation_id": item["situation_id"], "variant": j},
        )
        for item in rows
        for j in range(1, dialogues + 1)
    ]
    judge_kwargs: dict[str, Any] = {"mode": judge_mode, "language": language, "structured": structured,
                                    "max_tokens": judge_max_tokens, "rubric": rubric}
    return Task(
        dataset=MemoryDataset(samples, name="emplifai-synth-dialogue", location=str(Path(items).name)),
        setup=check_grader(),
        solver=role_generate(temperature=temperature, max_tokens=max_tokens, cache=cache, variant=f"seed{seed}"),
        scorer=[rubric_judge(**judge_kwargs), label_consistency(language=language)],
        metadata={**_metadata(), "stage": "dialogue", "prompt_version": PROMPT_VERSION,
                  "prompt_hash": prompt_hash(language), "dialogues": dialogues, "seed": seed},
    )
