"""Errors a user can cause, printed as one line by both `inspect eval` and `emplifai`.

Inspect prints a ``PrerequisiteError`` as its message alone, with no traceback, from its own
exception hook. In inspect-ai 0.3.285 that class lives only in a private module, so this is the one
place the project imports it; ``tests/test_errors.py`` fails loudly if Inspect moves or renames it
(and checks that ``get_model(role=..., required=True)``, the public path that raises it, still
raises the same class).
"""

from __future__ import annotations

from inspect_ai._util.error import PrerequisiteError


class UserError(PrerequisiteError, ValueError):
    """A mistake in what the user gave (a file, a ``-T`` value, a model): the message says what is
    wrong and what to do. Raised anywhere; printed as one line by Inspect and by ``emplifai``. Also a
    ``ValueError``, so code that guards a value with ``except ValueError`` keeps working."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.args = (message,)

    def __str__(self) -> str:
        return str(self.message)


__all__ = ["PrerequisiteError", "UserError"]
