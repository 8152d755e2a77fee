"""``emplifai demo``: the main job on the embedded default (see ``emplifai.demo``)."""

from __future__ import annotations

import argparse

from emplifai.demo import OFFLINE_MODEL, check_demo_arguments, run_demo


def _cmd_demo(args: argparse.Namespace) -> int:
    check_demo_arguments(
        emotion_limit=args.emotion_limit, generation_n=args.generation_n, probe_n=args.probe_n, model=args.model
    )
    return run_demo(
        log_dir=args.log_dir, emotion_limit=args.emotion_limit or None, generation_n=args.generation_n,
        probe_n=args.probe_n, model=args.model,
    )


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run every stage offline on the bundled sample set with a local model")
    p.add_argument("--log-dir", default="logs")
    p.add_argument("--emotion-limit", type=int, default=20, help="first N dialogues of the emotion task (0 = all)")
    p.add_argument("--generation-n", type=int, default=2, help="pairs for each generation run")
    p.add_argument("--probe-n", type=int, default=1, help="base dialogues for the judge probes")
    p.add_argument("--model", default=OFFLINE_MODEL,
                   help="candidate and judge (default: the bundled SmolLM2; any gguf/<file.gguf> works)")
    p.set_defaults(func=_cmd_demo)
