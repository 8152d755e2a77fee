"""Cost estimate of a synth run, shown before any call to a paid API.

An upper bound, from the run's own prompts: calls assume every item passes every filter (so
every stage runs on all of them) and no judge retry; input tokens are the characters of the
actual prompts (for the dialogue-dependent parts, the stage's output limit) counted as one token
per character, which over-counts for most tokenizers on Japanese text (typically 0.5-1 token per
character) and much more on English; output tokens are each stage's ``max_tokens``. Prices are
not guessed: give ``--price-in`` / ``--price-out`` (per million tokens) to get a currency figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emplifai.dialogue_format import ParsedDialogue
from emplifai.scorers.judge_prompt import judge_messages
from emplifai.scorers.rubrics import load_rubrics
from emplifai.solvers.emotion_prompt import system_prompt as emotion_system_prompt
from emplifai.solvers.generation_prompt import generation_messages
from emplifai.solvers.synth_prompts import brainstorm_messages, rewrite_messages, scene_specs

# Output limits of the stage tasks (their defaults in tasks/synth.py) and of the labeler.
MAX_TOKENS = {"brainstorm": 400, "rewrite": 200, "dialogue": 700, "judge": 900, "label": 32}
# Providers that run on the user's own machine or server: no per-token bill, no confirmation asked.
LOCAL_PROVIDERS = frozenset({"mockllm", "none", "gguf", "hf", "vllm", "sglang", "llama-cpp-python", "ollama",
                             "transformer_lens", "nnterp"})


@dataclass(frozen=True)
class StageCost:
    stage: str
    role: str
    calls: int
    input_tokens: int
    output_tokens: int


def is_local(model: Any) -> bool:
    """True for a Model instance (tests) or a provider that runs locally."""
    if not isinstance(model, str):
        return True
    return model.split("/", 1)[0] in LOCAL_PROVIDERS


def _chars(messages: list[Any]) -> int:
    return sum(len(m.text) for m in messages)


def estimate(emotions: list[str], per_emotion: int, dialogues: int, seed: int, language: str = "ja",
             judge_mode: str = "all") -> list[StageCost]:
    """Upper-bound calls and tokens per stage and role."""
    specs = scene_specs(emotions, per_emotion, seed)
    n_scenes = len(specs)
    n_dialogues = n_scenes * dialogues
    draft = "あ" * MAX_TOKENS["brainstorm"]
    situation = "あ" * 90
    style = ["あ" * 80] * 3
    turns = ["あ" * (MAX_TOKENS["dialogue"] // 4)] * 4
    parsed = ParsedDialogue(turns=(turns[0], turns[1], turns[2], turns[3]))
    rubrics = load_rubrics(language)
    judge_calls = n_dialogues * (1 if judge_mode == "all" else 7)
    judge_in = _chars(judge_messages(rubrics, parsed, emotion="joy", emotion_ja="喜び", situation=situation,
                                     metric=None if judge_mode == "all" else "fluency"))
    return [
        StageCost("1 brainstorm", "generator", n_scenes, sum(_chars(brainstorm_messages(s)) for s in specs),
                  n_scenes * MAX_TOKENS["brainstorm"]),
        StageCost("2 rewrite", "generator", n_scenes,
                  n_scenes * _chars(rewrite_messages(emotions[0], draft, style)), n_scenes * MAX_TOKENS["rewrite"]),
        StageCost("3 dialogue", "generator", n_dialogues,
                  n_dialogues * _chars(generation_messages(emotions[0], situation, language=language)),
                  n_dialogues * MAX_TOKENS["dialogue"]),
        StageCost("3 judge", "grader", judge_calls, judge_calls * judge_in,
                  judge_calls * (MAX_TOKENS["judge"] if judge_mode == "all" else 150)),
        StageCost("3 label", "labeler", n_dialogues,
                  n_dialogues * (len(emotion_system_prompt(language)) + 4 * len(turns[0]) + 120),
                  n_dialogues * MAX_TOKENS["label"]),
    ]


def format_estimate(costs: list[StageCost], models: dict[str, str], price_in: float | None = None,
                    price_out: float | None = None) -> str:
    lines = [("Cost estimate (upper bound: every item passes every filter, 1 token per character, "
              "full output limits, no judge retries):"),
             f"  {'stage':<14}{'model':<40}{'calls':>8}{'input tok':>12}{'output tok':>12}"]
    for c in costs:
        lines.append(f"  {c.stage:<14}{models.get(c.role, c.role)[:39]:<40}{c.calls:>8}{c.input_tokens:>12}"
                     f"{c.output_tokens:>12}")
    tin, tout = sum(c.input_tokens for c in costs), sum(c.output_tokens for c in costs)
    lines.append(f"  {'total':<54}{sum(c.calls for c in costs):>8}{tin:>12}{tout:>12}")
    if price_in is not None and price_out is not None:
        lines.append(f"  at {price_in}/{price_out} per million input/output tokens: "
                     f"{(tin * price_in + tout * price_out) / 1e6:.2f} (upper bound, all models at one price)")
    return "\n".join(lines)
