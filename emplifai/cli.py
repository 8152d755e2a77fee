"""The ``emplifai`` command line. Each command group lives in its own module and registers itself."""

from __future__ import annotations

import argparse
import importlib
import sys

from emplifai.errors import UserError

# Modules that expose ``register(subparsers)``; each adds one command group.
_COMMAND_MODULES = tuple(
    f"emplifai.commands.{group}" for group in ("data", "model", "leaderboard", "train", "demo", "synth", "audit", "probes")
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emplifai", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


# A user's mistake (UserError): one line on stderr, no traceback.
EXIT_USER_ERROR = 2


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
