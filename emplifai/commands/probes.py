"""``emplifai probes compare LOG [LOG ...] [--out FILE]``: judge_probes and pairwise_probes logs side by side;
``emplifai probes stats [--data D] [--probe-data P]``: what a probe set holds."""

from __future__ import annotations

import argparse
from pathlib import Path


def _cmd_compare(args: argparse.Namespace) -> int:
    import sys

    from emplifai.audit.probe_report import compare_markdown, read_probe_run, run_differences

    runs = [read_probe_run(p) for p in args.logs]
    text = compare_markdown(runs)
    print(text, end="")
    for warning in run_differences(runs):  # also where a reader of the terminal sees warnings
        print(f"warning: {warning}", file=sys.stderr)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        print(f"written: {out}")
    return 0


def _cmd_stats(args: argparse.Namespace) -> int:
    from emplifai.audit.probe_report import probe_set_stats

    print(probe_set_stats(args.data, args.probe_data), end="")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("probes", help="known-answer probe reports (judge_probes and pairwise_probes logs)",
                       description="Reports on tasks/judge_probes.py and tasks/pairwise_probes.py runs. "
                       "See docs/probes.md.")
    group = p.add_subparsers(dest="probes_command", required=True)
    c = group.add_parser("compare", help="probe accuracy, invariance and trust verdict of probe logs side by side",
                         description="One column per log (e.g. the same judge with -T rubric=default and "
                         "-T rubric=neutral, or the same judge's judge_probes and pairwise_probes runs), headed "
                         "by judge, rubric and start time, with its judging mode (absolute or pairwise), trust "
                         "verdict and 95%% bootstrap intervals, as a Markdown table; says which way of judging "
                         "earned the better verdict when an absolute and a pairwise run share judge and bases; "
                         "warns when the runs' probe sets, judging modes, rubrics, base dialogues or data differ.")
    c.add_argument("logs", nargs="+", help="judge_probes or pairwise_probes .eval log files")
    c.add_argument("--out", default=None, help="also write the table to this Markdown file")
    c.set_defaults(func=_cmd_compare)
    st = group.add_parser("stats", help="a probe set: probes per kind and their length relative to the base",
                          description="Checks a probe set against its data and prints, per kind, the number "
                          "of probes and the supporter replies' length relative to the base dialogue.")
    st.add_argument("--data", default=None, help="the base dialogues (default: the bundled sample)")
    st.add_argument("--probe-data", default=None, help="the probe file (default: the bundled probe set)")
    st.set_defaults(func=_cmd_stats)
