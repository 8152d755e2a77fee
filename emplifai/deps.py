"""Optional dependencies: a missing one is named in one line with the extra that installs it."""

from __future__ import annotations

import importlib.util
import sys

from emplifai.errors import UserError


def missing_modules(*modules: str) -> list[str]:
    """The top-level modules of ``modules`` that cannot be imported here."""
    return [m for m in modules if not _importable(m.split(".")[0])]


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # ValueError: sys.modules holds None for it (import blocked)
        return False


def require_modules(*modules: str, extra: str, purpose: str) -> None:
    """Raise a ``UserError`` naming every missing module and the extra that installs it."""
    missing = missing_modules(*modules)
    if missing:
        raise UserError(
            f"{purpose} needs {', '.join(missing)} (not installed): pip install 'emplifai[{extra}]'"
        )


def exit_if_missing(*modules: str, extra: str, purpose: str) -> None:
    """For scripts: print the ``require_modules`` message as one line on stderr and exit 2."""
    try:
        require_modules(*modules, extra=extra, purpose=purpose)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
