"""Two-turn generation (EmplifAI task 2): given an emotion and a situation, write the two-turn
dialogue; an LLM judge (model role "grader") scores it on seven rubric metrics.

    inspect eval tasks/generation.py --model <model> --model-role grader=<judge model>
    inspect eval emplifai/generation --model <model> --model-role grader=<judge> -T max_chars=120
    inspect eval emplifai/generation --model none/none --model-role grader=<judge> -T source=reference
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from inspect_ai import Epochs, Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.solver import Solver, generate

from emplifai.data.schema import DialogueRecord
from emplifai.dialogue_structured import DIALOGUE_FORMATS
from emplifai.fewshot import draw_examples
from emplifai.leak import LEAK_MODES, check_leak
from emplifai.pairs import draw_eval_pairs  # noqa: F401  (re-exported: callers import the draw from here)
from emplifai.params import BUNDLED_DATA, choice_param, int_param, str_param
from emplifai.scorers.reply_length import reply_length
from emplifai.scorers.rubric_judge import STRUCTURED, check_grader, check_grader_bound, judged_mean, rubric_judge
from emplifai.scorers.rubrics import RUBRIC_NAMES
from emplifai.solvers.generation_prompt import (
    PROMPT_VERSION,
    generation_messages,
    prompt_hash,
    reference_completion,
    reference_replay,
)
from emplifai.solvers.structured_dialogue import structured_dialogue
from emplifai.task_data import draw_task_pairs, load_task_data
from emplifai.taxonomy import BY_LABEL

logger = logging.getLogger(__name__)

JUDGE_MODES: tuple[str, ...] = ("all", "per_metric")
SOURCES: tuple[str, ...] = ("model", "reference")


def _sample(
    rec: DialogueRecord, records: Sequence[DialogueRecord], *, language: str, fewshot: int, seed: int,
    max_chars: int | None, dialogue_format: str = "free",
) -> Sample:
    examples = draw_examples(records, rec, fewshot, seed)
    return Sample(
        id=rec.situation_id,
        input=generation_messages(
            rec.emotion, rec.situation, language=language, max_chars=max_chars, examples=examples,
            dialogue_format=dialogue_format,
        ),
        target=reference_completion(rec, language),
        metadata={
            "emotion": rec.emotion,
            "emotion_ja": BY_LABEL[rec.emotion].ja,
            "situation": rec.situation,
            "situation_id": rec.situation_id,
            "reference_dialogue_id": rec.dialogue_id,
            "reference_turns": list(rec.turn_texts()),
            "fewshot_dialogue_ids": [ex.dialogue_id for ex in examples],
            "language": language,
            "max_chars": max_chars,
        },
    )


@task
def generation(
    data: str | None = BUNDLED_DATA,
    n: int = 100,
    seed: int = 42,
    language: str = "ja",
    fewshot: int = 0,
    judge_mode: str = "all",
    judge_max_tokens: int | None = None,
    judge_retries: int = 2,
    structured: str = "auto",
    rubric: str = "default",
    max_chars: int | None = None,
    source: str = "model",
    dialogue_format: str = "free",
    columns: str | None = None,
    encoding: str | None = None,
    checkpoint_split: str | None = None,
    leak: str = "exclude",
) -> Task:
    """Two-turn empathetic dialogue generation, scored by a rubric judge, reply length and format.

    Args:
        data: Path (JSONL, CSV, Parquet, a `datasets` folder) or Hugging Face hub id of an
            EmplifAI-format dataset. Default: the project's bundled Japanese sample set (not
            EmplifAI data), also named `bundled-sample`; `-T data=null` is refused. A relative path is read from the directory you ran `inspect`
            in, even though Inspect builds file tasks from inside `tasks/`.
        n: Number of (emotion, situation) pairs to evaluate (paper: 100). Where the data holds
            fewer pairs, all are used; the task metadata says so and a warning is logged.
        seed: random_state of the scikit-learn draw of the pairs (paper: 42), also the seed of
            the few-shot example draw.
        language: "ja" or "en": the language of the brief, the speaker labels and the judge's
            rubric; "en" also counts reply words as whitespace tokens.
        fewshot: Number of example dialogues from other situations shown in the brief (0 = none,
            as in the paper).
        judge_mode: "all" = the judge scores the seven metrics in one call; "per_metric" = one
            call per metric.
        judge_max_tokens: Token limit of each judge reply (default: the grader's own config,
            e.g. `--model-role 'grader={model: ..., max_tokens: 800}'`, else the provider's).
        judge_retries: Corrective retries after an unusable judge reply (an integer >= 0,
            default 2); a sample still without a usable verdict is unscored.
        structured: JSON-schema constrained judge output: "on", "off", or "auto" (default) =
            on when the grader's provider is one Inspect passes the schema to and whose servers
            honour it (openai, openai-api, anthropic, google, vertex, mistral, grok, groq,
            deepseek, bedrock, azureai, together, fireworks, openrouter, vllm, sglang, ollama,
            gguf, mockllm), off for any other (hf, llama-cpp-python, ...). Replies are validated
            the same way either way. With several epochs a sample is unscored unless the judge
            scored every epoch (see docs/judge.md).
        max_chars: Limit in characters per supporter reply, stated in the brief (None = no
            limit, as in the paper). Used to test whether the judge's preference for long
            replies goes away when length is constrained.
        source: "model" = the evaluated model writes the dialogues; "reference" = the dataset's
            own human dialogue (the first by dialogue_id for each pair) is replayed as the
            output without calling the model, to score the human baseline.
        dialogue_format: "free" (default, the paper's protocol) = the model writes the four
            labelled lines; "structured" = the model returns the four turns as one JSON object
            (schema-enforced where the provider supports it: gguf/, vllm/, openai/ ...), checked
            like free turns and then judged the same way. Measures content when a model cannot
            follow the free format; the two are never ranked together (task metadata
            `dialogue_format`).
        columns: Column mapping for copies whose columns are named otherwise,
            e.g. "emotion=label,patient_1=p1".
        encoding: Text encoding of a CSV/JSONL `data` file, e.g. "cp932" for a Japanese Excel
            export (default: UTF-8 with or without BOM, or UTF-16 with BOM; any other encoding
            is named in the error).
        rubric: The judge's rubric set: "default" (seven metrics, the project's scoring
            principles), "neutral" (the seven definitions only) or "epitome" (three metrics:
            emotional reactions, interpretations, explorations; scorers/rubrics/).
        checkpoint_split: The `split.json` an SFT run wrote beside its checkpoint (or the
            checkpoint folder). Default: read from the evaluated model's folder when it is one
            (`hf/local -M model_path=<folder>`, `vllm/<folder>`). Pairs whose situation the
            checkpoint trained on are handled as `leak` says (emplifai/leak.py).
        leak: "exclude" (default) = pairs the checkpoint trained on are not scored, and the log's
            task metadata lists them; "tag" = scored, each sample's metadata says `trained_on`.
    """
    n = int_param("n", n, min=1)
    seed = int_param("seed", seed)
    fewshot = int_param("fewshot", fewshot, min=0)
    judge_mode = choice_param("judge_mode", judge_mode, JUDGE_MODES)
    judge_max_tokens = int_param("judge_max_tokens", judge_max_tokens, min=1, optional=True)
    judge_retries = int_param("judge_retries", judge_retries, min=0)
    # -T values are YAML, where a bare on/off is a boolean.
    if isinstance(structured, bool):
        structured = "on" if structured else "off"
    structured = choice_param("structured", structured, STRUCTURED)
    rubric = choice_param("rubric", rubric, RUBRIC_NAMES)
    max_chars = int_param("max_chars", max_chars, min=1, optional=True)
    source = choice_param("source", source, SOURCES)
    dialogue_format = choice_param("dialogue_format", dialogue_format, DIALOGUE_FORMATS)
    checkpoint_split = str_param("checkpoint_split", checkpoint_split)
    leak = choice_param("leak", leak, LEAK_MODES)
    # Every other parameter is checked above, before any data is read.
    task_data = load_task_data(data, columns=columns, encoding=encoding, language=language)
    data, language, records = task_data.data, task_data.language, task_data.records
    drawn = draw_task_pairs(task_data, n, seed, task="generation")
    pairs = drawn.pairs
    # Under `inspect eval` a missing grader stops the command here: one line, non-zero exit
    # (after the data, so a wrong path is reported as such with or without a grader).
    check_grader_bound("generation")
    leak_check = check_leak(pairs, records, checkpoint_split=checkpoint_split, mode=leak, task="generation")
    pairs = leak_check.kept
    samples = [
        _sample(
            rec, records, language=language, fewshot=fewshot, seed=seed, max_chars=max_chars,
            dialogue_format=dialogue_format,
        )
        for rec in pairs
    ]
    if "checkpoint_split" in leak_check.metadata:
        for sample, rec in zip(samples, pairs, strict=True):
            sample.metadata["trained_on"] = leak_check.trained_on(rec)
    if source == "reference":
        solver: Solver = reference_replay(language=language)
    else:
        solver = structured_dialogue(language=language) if dialogue_format == "structured" else generate()
    return Task(
        dataset=MemoryDataset(samples, name="emplifai-generation", location=task_data.location),
        # Stops each sample before any model call when no grader is bound (and warns when the
        # grader is the candidate), instead of failing only at scoring time.
        setup=check_grader(),
        solver=solver,
        scorer=[
            rubric_judge(
                mode=judge_mode, language=language, max_retries=judge_retries, structured=structured,
                max_tokens=judge_max_tokens, rubric=rubric,
            ),
            reply_length(language=language),
        ],
        # With --epochs N a sample is unscored unless every epoch was judged (Inspect's mean would
        # average over the judged epochs alone); other scorers keep Inspect's mean.
        epochs=Epochs(1, judged_mean()),
        metadata={
            "prompt_version": PROMPT_VERSION,
            "prompt_hash": prompt_hash(language, dialogue_format),
            # Read by the leaderboard: free and structured runs are different protocols.
            "dialogue_format": dialogue_format,
            **drawn.metadata(task_data, kept=pairs),  # n_pairs, eval_situation_ids: after the leak check
            "source": source,
            **leak_check.metadata,
        },
    )
