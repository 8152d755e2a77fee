"""``emplifai synth``: generate, filter and write synthetic EmplifAI-format dialogues."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from emplifai.errors import PrerequisiteError, UserError

_MARKUP = re.compile(r"\[/?(?:bold|blue|red|green|yellow|italic|dim)(?: [a-z]+)*\]")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "synth",
        help="SYNTHEMPATHY-style synthetic dialogues in EmplifAI's schema (generated, judged, filtered)",
        description="Stage 1 brainstorms scenes per emotion, stage 2 rewrites each as a situation line, stage 3 "
        "writes dialogues with the benchmark's brief; the rubric judge, a label-consistency check, the format "
        "check, near-duplicate removal and emotion balance decide what is kept. See docs/synth.md.",
    )
    p.add_argument("--emotions", default="all", help="comma-separated emotions (labels or Japanese keywords) or 'all'")
    p.add_argument("--per-emotion", type=int, default=10, help="scenes (situations) per emotion, K (default 10)")
    p.add_argument("--dialogues", type=int, default=2, help="dialogues per situation, M (default 2)")
    # Required, but checked in run() so that a missing one is one line, not argparse's usage block.
    p.add_argument("--generator", default=None, help="model that writes scenes, situations and dialogues (required)")
    p.add_argument("--judge", default=None, help="rubric judge (required; should not be the generator)")
    p.add_argument("--labeler", default=None, help="model of the label-consistency check (default: the judge)")
    p.add_argument("--out", default=None, type=Path, help="output folder (required)")
    p.add_argument("--data", default=None, help="real EmplifAI-format data: near-duplicate reference and style "
                   "examples (default: the bundled sample set)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--thresholds", default=None,
                   help="judge minimums, e.g. 'harmlessness=4,sense_of_security=4' ('' = none; default: "
                   "general_empathy, emotion_specific_empathy, harmlessness, sense_of_security >= 4)")
    p.add_argument("--label-check", default="group", choices=("exact", "group", "off"),
                   help="keep when the labeler names the intended emotion (exact) or its sentiment group (group)")
    p.add_argument("--balance", default="equal", choices=("equal", "none"),
                   help="equal: cut every emotion to the smallest kept count among the requested emotions")
    p.add_argument("--dup-threshold", type=float, default=0.5,
                   help="near-duplicate when the Jaccard similarity of character 3-grams is >= this (default 0.5)")
    p.add_argument("--judge-mode", default="all", choices=("all", "per_metric"))
    p.add_argument("--eval-n", type=int, default=100, help="generation benchmark's -T n (eval situations to avoid)")
    p.add_argument("--eval-seed", type=int, default=42, help="generation benchmark's -T seed")
    p.add_argument("--max-connections", type=int, default=None, help="concurrent model calls (Inspect's default)")
    p.add_argument("--no-cache", action="store_true", help="do not reuse cached generations")
    p.add_argument("--structured", default="auto", choices=("auto", "on", "off"),
                   help="the judge's schema-constrained JSON output (off for servers that reject it)")
    p.add_argument("--price-in", type=float, default=None, help="price per million input tokens (for the estimate)")
    p.add_argument("--price-out", type=float, default=None, help="price per million output tokens")
    p.add_argument("--estimate-only", action="store_true", help="print the cost estimate and stop")
    p.add_argument("--yes", action="store_true", help="start an API run without asking (after the estimate)")
    p.add_argument("--display", default=None, help="Inspect display: full, rich, plain, log, none")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from emplifai.scorers.synth_filters import parse_thresholds
    from emplifai.synth.cost import estimate, format_estimate, is_local
    from emplifai.synth.pipeline import SynthConfig, run_synth
    from emplifai.tasks.synth import parse_emotions

    missing = [flag for flag, value in (("--generator", args.generator), ("--judge", args.judge),
                                        ("--out", args.out)) if not value]
    if missing:
        raise UserError(f"emplifai synth needs {', '.join(missing)} (see emplifai synth --help)")
    if args.per_emotion < 1 or args.dialogues < 1:
        raise UserError("--per-emotion and --dialogues must be at least 1")
    if not 0.0 < args.dup_threshold <= 1.0:
        raise UserError(f"--dup-threshold must be in (0, 1], got {args.dup_threshold}")
    emotions = parse_emotions(args.emotions)
    cfg = SynthConfig(
        emotions=emotions, per_emotion=args.per_emotion, out=args.out, dialogues=args.dialogues, seed=args.seed,
        data=args.data, thresholds=parse_thresholds(args.thresholds), label_mode=args.label_check,
        balance=args.balance, dup_threshold=args.dup_threshold, judge_mode=args.judge_mode, eval_n=args.eval_n,
        eval_seed=args.eval_seed, max_connections=args.max_connections, cache=not args.no_cache,
        structured=args.structured,
    )
    models = {"generator": args.generator, "grader": args.judge, "labeler": args.labeler or args.judge}
    if args.judge == args.generator:
        print(f"warning: the judge is the generator ({args.judge}): it grades its own dialogues, and the filter "
              "is only as good as the judge. Use a different, trusted judge for data you train on.", file=sys.stderr)
    # Resolved before the estimate and before anything is written, so an unknown provider is one
    # line; a provider's missing key or package is reported only if the run would start (the
    # estimate and the --yes question need neither). --estimate-only resolves nothing.
    flags = (("--generator", args.generator), ("--judge", args.judge), ("--labeler", args.labeler))
    if not args.estimate_only:
        for flag, name in flags:
            if name:
                _resolve(flag, name, missing_ok=True)
    paid = [m for m in models.values() if not is_local(m)]
    costs = estimate(emotions, args.per_emotion, args.dialogues, args.seed, judge_mode=args.judge_mode)
    if paid or args.estimate_only:
        print(format_estimate(costs, models, args.price_in, args.price_out))
    if args.estimate_only:
        return 0
    if paid and not args.yes:
        print(f"Not started: {', '.join(sorted(set(paid)))} bill(s) per token. Re-run with --yes to start.",
              file=sys.stderr)
        return 3
    generator, judge, labeler = (_resolve(flag, name) if name else None for flag, name in flags)
    run_synth(cfg, generator, judge, labeler, display=args.display)
    return 0


def _resolve(flag: str, name: str, *, missing_ok: bool = False) -> Any:
    """The model behind ``name``, resolved before anything is written, so an unknown provider, a
    missing package or key is one line and leaves no output folder. ``missing_ok``: a provider
    that is known but lacks its package or key (Inspect's PrerequisiteError) gives None."""
    if "/" not in name:
        raise UserError(f"{flag} {name!r}: expected provider/model, e.g. openai/gpt-4o or mockllm/model")
    from inspect_ai.model import get_model

    try:
        return get_model(name)
    except PrerequisiteError as e:
        if missing_ok:
            return None
        raise UserError(f"{flag} {name}: {_one_line(e)}") from None
    except Exception as e:  # noqa: BLE001 - whatever the provider raises, the user's model name is the cause
        raise UserError(f"{flag} {name}: {_one_line(e)}") from None


def _one_line(e: Exception) -> str:
    """Providers word their errors for a console: rich markup and several lines, made one plain line."""
    text = " ".join(line.strip() for line in _MARKUP.sub("", str(e)).splitlines() if line.strip())
    return text.removeprefix("ERROR: ") or type(e).__name__
