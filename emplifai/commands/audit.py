"""``emplifai audit sheet|import|report|simulate``: from generation logs to a verdict per metric.

See docs/audit.md for the workflow.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from emplifai.errors import UserError


def _families(pairs: list[str] | None) -> dict[str, str]:
    out = {}
    for p in pairs or []:
        model, sep, fam = p.partition("=")
        if not sep or not model or not fam:
            raise UserError(f"--family {p!r}: expected MODEL=FAMILY, e.g. --family openai/gpt-4o=openai")
        out[model] = fam
    return out


def _at_least(flag: str, value: int, low: int, why: str = "") -> None:
    if value < low:
        raise UserError(f"{flag} {value}: must be >= {low}{f' ({why})' if why else ''}")


def _cmd_sheet(args: argparse.Namespace) -> int:
    from emplifai.audit.logs import read_audit_logs
    from emplifai.audit.sheets import check_design, write_sheets

    check_design(args.design, raters_per_item=args.raters_per_item, n_raters=args.raters, group_size=args.group_size,
                 min_items=args.min_items)
    logs = read_audit_logs(args.logs)
    key = args.key or str(Path(args.out).with_name(Path(args.out).name + ".key.csv"))
    res = write_sheets(logs, args.out, key, design=args.design, seed=args.seed, group_size=args.group_size,
                       raters_per_item=args.raters_per_item, n_raters=args.raters, min_items=args.min_items,
                       language=args.language)
    loads = sorted(res.items_per_rater.values())
    print(f"{res.design} design: {res.n_items} dialogues, {res.n_raters} raters, {res.raters_per_item}+ raters per "
          f"dialogue, {loads[0]}-{loads[-1]} dialogues per rater")
    for note in res.notes:
        print(f"  note: {note}")
    print(f"  sheets: {res.out}/sheet_<rater>.csv|html (give these to the raters)")
    print(f"     key: {res.key} (keep apart: it unblinds the sheets)")
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from emplifai.audit.logs import read_audit_logs
    from emplifai.audit.ratings import read_ratings

    _at_least("--min-items", args.min_items, 1, "the dialogues a rater needs before a warning")
    logs = read_audit_logs(args.logs)
    ratings = read_ratings(args.ratings, logs, key=args.key, min_items=args.min_items, strict=args.strict)
    frame = ratings.frame
    print(f"{len(frame)} ratings from {frame['rater_id'].nunique()} raters on "
          f"{frame[['log', 'sample_id']].drop_duplicates().shape[0]} dialogues of {frame['log'].nunique()} log(s)")
    for w in ratings.warnings:
        print(f"  warning: {w}")
    if args.out:
        frame.to_csv(args.out, index=False)
        print(f"  written: {args.out}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from emplifai.audit.analysis import check_knobs, run_audit
    from emplifai.audit.logs import read_audit_logs
    from emplifai.audit.ratings import read_ratings
    from emplifai.audit.report import write_report

    check_knobs(args.rater_type, args.epsilon, args.min_items, args.pairwise_tie_margin)
    logs = read_audit_logs(args.logs + (args.probe_logs or []) + (args.pairwise_logs or []))
    if args.pairwise_logs and logs.pairwise.empty:
        raise UserError(f"--pairwise-logs {' '.join(args.pairwise_logs)}: no finished pairwise log among them")
    ratings = read_ratings(args.ratings, logs, key=args.key, min_items=args.min_items, strict=args.strict)
    doc = run_audit(logs, ratings, rater_type=args.rater_type, epsilon=args.epsilon, min_items=args.min_items,
                    families=_families(args.family), tie_margin=args.pairwise_tie_margin)
    paths = write_report(doc, logs, ratings, args.out, leaderboard=args.leaderboard)
    if doc["simulated"]:
        print("SIMULATED ratings (not human data)")
    print(f"rater type {doc['rater_type']}: alt-test {doc['epsilon_reason']}")
    for r in doc["rows"]:
        if r["candidate"] == "(all candidates)":
            print(f"  {r['judge']} | {r['metric']}: {r['verdict']}")
    for r in (doc["pairwise"] or {}).get("rows", []):
        print(f"  pairwise {r['judge']} | {r['metric']}: {r['reading']} ({r['n']} pairs)")
    for kind, path in paths.items():
        print(f"{kind:>8}: {path}")
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from emplifai.audit.simulate import FAMILIES, check_simulation, simulate

    check_simulation(args.n, args.raters)
    paths = simulate(args.out, seed=args.seed, n=args.n, n_raters=args.raters)
    print("SIMULATED data (scripted candidates and judges, simulated raters; not human data):")
    for kind, path in paths.items():
        print(f"{kind:>8}: {path}")
    print(f"judge B's planted self-preference shows in the report with --family {' '.join(FAMILIES)}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="judge audit: rating sheets, ratings import, agreement report (docs/audit.md)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    s = p.add_subparsers(dest="audit_command", required=True)

    sh = s.add_parser("sheet", help="blinded rating sheets (CSV + printable HTML) from generation logs")
    sh.add_argument("logs", nargs="+", help="generation log files or folders")
    sh.add_argument("--out", required=True, help="folder for the sheets (what the raters get)")
    sh.add_argument("--key", help="key file (default: OUT.key.csv beside the folder, never inside it)")
    sh.add_argument("--design", choices=["paper", "alt-test"], default="paper",
                    help="paper: groups of 10, 3 raters each; alt-test: >= 3 raters per dialogue, >= 30 dialogues per rater")
    sh.add_argument("--raters", type=int,
                    help="alt-test design only: number of raters, >= --raters-per-item (default: raters per dialogue)")
    sh.add_argument("--raters-per-item", type=int, default=3, help=">= 1; >= 3 in the alt-test design (default 3)")
    sh.add_argument("--group-size", type=int, default=10, help="paper design: dialogues per group, >= 1 (default 10)")
    sh.add_argument("--min-items", type=int, default=30,
                    help="alt-test design: dialogues per rater at least, >= 30 (default 30)")
    sh.add_argument("--language", choices=["ja", "en"], help="raters' language (default: the judge's rubric language)")
    sh.add_argument("--seed", type=int, default=42)
    sh.set_defaults(func=_cmd_sheet)

    im = s.add_parser("import", help="validate ratings against the logs (every problem named by file and row)")
    im.add_argument("ratings", nargs="+", help="ratings files (.csv or .jsonl, long format)")
    im.add_argument("--logs", nargs="+", required=True, help="the generation logs the ratings refer to")
    im.add_argument("--key", help="the sheets' key file, when the ratings name dialogues by item_id")
    im.add_argument("--min-items", type=int, default=30,
                    help="warn about raters with fewer dialogues, >= 1 (default 30, the alt-test's minimum)")
    im.add_argument("--out", help="write the validated ratings (one row per rating) to this CSV")
    im.add_argument("--strict", action="store_true",
                    help="refuse ratings where a rater left some of the seven metrics of a dialogue unrated")
    im.set_defaults(func=_cmd_import)

    rp = s.add_parser("report", help="audit.json / audit.md / audit.html with a verdict per metric")
    rp.add_argument("--logs", nargs="+", required=True, help="generation logs (and judge_probes logs)")
    rp.add_argument("--probe-logs", nargs="+", help="judge_probes logs to show beside the verdicts")
    rp.add_argument("--pairwise-logs", nargs="+",
                    help="pairwise logs whose two dialogues per pair people rated (in the --logs runs): the pairwise "
                         "judge against people's implied preference, and against the absolute judges on the same pairs")
    rp.add_argument("--pairwise-tie-margin", type=float, default=0.0,
                    help="people prefer neither dialogue when their mean ratings differ by at most this (default 0: "
                         "only equal means tie)")
    rp.add_argument("--ratings", nargs="+", required=True)
    rp.add_argument("--key", help="the sheets' key file, when the ratings name dialogues by item_id")
    rp.add_argument("--out", required=True, help="output folder")
    rp.add_argument("--rater-type", choices=["expert", "skilled", "crowd"], default="crowd",
                    help="sets the alt-test epsilon: expert 0.2, skilled 0.15, crowd 0.1 (default crowd)")
    rp.add_argument("--epsilon", type=float, help="alt-test epsilon in (0, 1), overriding --rater-type")
    rp.add_argument("--min-items", type=int, default=30,
                    help="alt-test: dialogues per tested rater at least, >= 1 (default 30; raters with fewer than 30 "
                         "get the Wilcoxon signed-rank test, the authors' small-sample procedure)")
    rp.add_argument("--strict", action="store_true",
                    help="refuse ratings where a rater left some of the seven metrics of a dialogue unrated")
    rp.add_argument("--family", nargs="+", metavar="MODEL=FAMILY", help="model family overrides for self-preference")
    rp.add_argument("--leaderboard", help="link to the leaderboard page (default: ../leaderboard/leaderboard.html if present)")
    rp.set_defaults(func=_cmd_report)

    sm = s.add_parser("simulate", help="SIMULATED logs and ratings with planted properties (docs' worked example)")
    sm.add_argument("--out", required=True)
    sm.add_argument("--n", type=int, default=40, help="dialogues per simulated candidate, >= 1 (default 40)")
    sm.add_argument("--raters", type=int, default=4, help="simulated raters, >= 3 (default 4, 3 per dialogue)")
    sm.add_argument("--seed", type=int, default=7)
    sm.set_defaults(func=_cmd_simulate)
