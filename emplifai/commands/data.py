"""``emplifai data validate|stats|leaks``: check a dataset copy, describe it, find benchmark text in it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from emplifai.data import SAMPLE_PATH
from emplifai.data.loaders import (
    DataSourceError,
    load_dialogues,
    load_dialogues_with_rows,
    parse_column_map,
    validate_source,
)
from emplifai.data.near_duplicates import DEFAULT_THRESHOLD, check_threshold
from emplifai.data.schema import DataValidationError, Problem
from emplifai.data.stats import dataset_stats, format_stats

# Exit codes: 1 = the data has problems, 2 = the source could not be read at all.
EXIT_PROBLEMS = 1
EXIT_UNREADABLE = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``data`` command group to the ``emplifai`` parser."""
    data = subparsers.add_parser("data", help="validate and describe EmplifAI-format data")
    sub = data.add_subparsers(dest="data_command", required=True)

    validate = sub.add_parser("validate", help="check a dataset and list every problem")
    _add_source_args(validate)
    validate.add_argument(
        "--allow-empty",
        action="store_true",
        help="accept a file with no rows at all (e.g. a synthetic batch that nothing passed); any row must still be valid",
    )
    validate.set_defaults(func=run_validate)

    stats = sub.add_parser("stats", help="counts per emotion/situation and reply lengths")
    _add_source_args(stats)
    stats.add_argument("--json", action="store_true", help="print the statistics as JSON")
    stats.set_defaults(func=run_stats)

    leaks = sub.add_parser(
        "leaks",
        help="rows whose situation or turns are near the benchmark's evaluation text (exit 1 if any)",
        description="Lists every row of PATH whose situation is near an evaluation situation of the generation "
        "benchmark (the pairs -T n / -T seed draw from --against) and every row whose four turns are near a "
        "dialogue of --against: exact Jaccard similarity of character 3-grams, every pair compared. "
        "Exit 1 when any row is listed, 0 when none. See docs/synth.md.",
    )
    _add_source_args(leaks)
    leaks.add_argument("--against", default="sample", metavar="DATA",
                       help="the real data the benchmark is run on (default: the bundled sample set)")
    leaks.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, metavar="J",
                       help=f"near when the Jaccard similarity is >= J (default {DEFAULT_THRESHOLD})")
    leaks.add_argument("-n", type=int, default=100, help="the generation benchmark's -T n (default 100)")
    leaks.add_argument("--seed", type=int, default=42, help="the generation benchmark's -T seed (default 42)")
    leaks.set_defaults(func=run_leaks)


def _add_source_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path",
        help="JSONL/CSV/Parquet file, datasets save_to_disk folder, hub id owner/name, "
        "or 'sample' for the bundled sample set",
    )
    parser.add_argument(
        "--map",
        dest="column_map",
        type=_column_map_arg,
        default=None,
        metavar="SPEC",
        help="column names of the file, e.g. 'emotion=label,patient_1=p1' (canonical=in_file)",
    )
    parser.add_argument("--hf-split", default=None, help="split to use from a Hugging Face DatasetDict")
    parser.add_argument(
        "--encoding",
        default=None,
        help="text encoding of a CSV/JSONL file, e.g. cp932 (Shift-JIS), utf-16 (default: UTF-8 with or "
        "without BOM, UTF-16 with BOM; any other encoding is named in the error)",
    )


def _column_map_arg(spec: str) -> dict[str, str]:
    try:
        return parse_column_map(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def resolve_path(path: str) -> str | Path:
    """``sample`` means the bundled sample set; anything else is passed on as given."""
    return SAMPLE_PATH if path == "sample" else path


def run_validate(args: argparse.Namespace) -> int:
    source = resolve_path(args.path)
    try:
        records, problems = validate_source(
            source, column_map=args.column_map, hf_split=args.hf_split, encoding=args.encoding
        )
    except DataSourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    if args.allow_empty and _only_emptiness(problems):
        print(f"OK {source}: 0 dialogues (an empty file, accepted with --allow-empty)")
        return 0
    if not problems:
        situations = len({r.situation_id for r in records})
        emotions = len({r.emotion for r in records})
        print(f"OK {source}: {len(records)} dialogues, {situations} situations, {emotions} emotions")
        return 0
    print(_problem_report(problems, kept=len(records)))
    return EXIT_PROBLEMS


def _only_emptiness(problems: list[Problem]) -> bool:
    """True when the file has no rows and that is all that is wrong (no rows means no columns either)."""
    return any(p.message == "no data rows" for p in problems) and all(
        p.row is None and (p.message == "no data rows" or p.message.startswith("required column is missing"))
        for p in problems
    )


def run_stats(args: argparse.Namespace) -> int:
    try:
        records = load_dialogues(
            resolve_path(args.path), column_map=args.column_map, hf_split=args.hf_split, encoding=args.encoding
        )
    except DataSourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    except DataValidationError as exc:
        print(_problem_report(exc.problems, kept=None), file=sys.stderr)
        print("fix these (see `emplifai data validate`) before computing statistics", file=sys.stderr)
        return EXIT_PROBLEMS
    stats = dataset_stats(records)
    print(json.dumps(stats, ensure_ascii=False, indent=2) if args.json else format_stats(stats))
    return 0


def run_leaks(args: argparse.Namespace) -> int:
    from emplifai.errors import UserError
    from emplifai.leak import BenchmarkText
    from emplifai.pairs import draw_eval_pairs

    if args.n < 1:
        raise UserError(f"-n must be at least 1, got {args.n}")
    threshold = check_threshold(args.threshold, "--threshold")
    source = resolve_path(args.path)
    rows, lines = load_dialogues_with_rows(source, column_map=args.column_map, hf_split=args.hf_split,
                                           encoding=args.encoding)
    against = load_dialogues(resolve_path(args.against))
    pairs = draw_eval_pairs(against, args.n, args.seed)
    check = BenchmarkText(pairs, against, threshold=threshold)
    found = check.check_all(rows, lines)
    for leak in found:
        print(f"LEAK {leak.part}: {leak.describe()}")
    scope = (f"{len(rows)} row(s) of {source} against {len(pairs)} evaluation situation(s) (n={args.n}, "
             f"seed={args.seed}) and {check.n_dialogues} dialogue(s) of {resolve_path(args.against)}; exact "
             f"Jaccard of character 3-grams >= {threshold:g}, every pair compared")
    if found:
        n_rows = len({leak.dialogue_id for leak in found})
        print(f"{len(found)} leak(s) in {n_rows} row(s): {scope}")
        return EXIT_PROBLEMS
    print(f"No leaks: {scope}")
    return 0


def _problem_report(problems: list[Problem], kept: int | None) -> str:
    # Problems arrive sorted by row (file-level ones, row None, first); one per line.
    rows = {p.row for p in problems if p.row is not None}
    head = f"{len(problems)} problem(s) in {problems[0].file}, {len(rows)} row(s) affected"
    if kept is not None:
        head += f"; {kept} valid dialogue(s)"
    return "\n".join([head, *(f"  {p}" for p in problems)])
