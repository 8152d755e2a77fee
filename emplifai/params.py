"""One validator for every task parameter (``-T name=value``).

Inspect parses ``-T`` values as YAML, so ``-T fewshot=abc`` arrives as the string ``"abc"`` and
``-T fewshot=1.5`` as a float: each task checks its parameters here, before any data is read, and a
wrong value is a ``UserError`` naming the parameter, what it must be and what was given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from emplifai.errors import UserError


def _fail(name: str, must: str, value: Any, flag: str = "-T") -> UserError:
    where = f"{flag} {name}" if flag else name
    return UserError(f"{where} must be {must}, got {value!r}")


def int_param(name: str, value: Any, *, min: int | None = None, max: int | None = None,
              optional: bool = False, flag: str = "-T") -> int | None:
    """An integer (bools and floats refused; an integral string such as "3" accepted).

    ``flag`` is what the message puts before the name: "-T" for a task parameter, "-M" for a model
    argument, "--" style names pass ``flag=""``, a function's own arguments its name ("rubric_judge:").
    """
    if value is None and optional:
        return None
    bounds = _bounds(min, max)
    must = f"an integer{bounds}" + (" (or omitted)" if optional else "")
    if isinstance(value, bool):
        raise _fail(name, must, value, flag)
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise _fail(name, must, value, flag) from None
    if not isinstance(value, int):
        raise _fail(name, must, value, flag)
    if (min is not None and value < min) or (max is not None and value > max):
        raise _fail(name, must, value, flag)
    return value


def float_param(name: str, value: Any, *, min: float | None = None, max: float | None = None,
                optional: bool = False, flag: str = "-T") -> float | None:
    """A number (bools refused); ``flag`` as in ``int_param``."""
    if value is None and optional:
        return None
    must = f"a number{_bounds(min, max)}" + (" (or omitted)" if optional else "")
    if isinstance(value, bool):
        raise _fail(name, must, value, flag)
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise _fail(name, must, value, flag) from None
    if not isinstance(value, (int, float)):
        raise _fail(name, must, value, flag)
    value = float(value)
    if (min is not None and value < min) or (max is not None and value > max):
        raise _fail(name, must, value, flag)
    return value


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def bool_param(name: str, value: Any) -> bool:
    """true/false (YAML gives a bool; the strings true/false/yes/no/1/0 are accepted too)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise _fail(name, "true or false", value)


def choice_param(name: str, value: Any, choices: Sequence[str]) -> str:
    """One of a fixed set of strings."""
    if isinstance(value, str) and value in choices:
        return value
    raise _fail(name, "one of " + ", ".join(choices), value)


def str_param(name: str, value: Any, *, optional: bool = True) -> str | None:
    """A non-empty string (a path, a hub id, a mapping); numbers YAML made of it are turned back."""
    if value is None and optional:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise _fail(name, "a non-empty string", value)
    return value


# The value of a task's `data` parameter that means the project's bundled sample set (its default):
# an explicit `-T data=null` is then a mistake to report, not a silent fall-back to the sample.
BUNDLED_DATA = "bundled-sample"


def data_param(name: str, value: Any) -> str | None:
    """A data source (path or hub id), or None for ``BUNDLED_DATA``; ``-T data=null`` is refused."""
    if value is None:
        raise UserError(
            f"-T {name}=null names no data: give a file, folder or hub id, or leave -T {name} out to use "
            "the bundled sample set"
        )
    if value == BUNDLED_DATA:
        return None
    return str_param(name, value, optional=False)


def _bounds(min: float | None, max: float | None) -> str:
    if min is not None and max is not None:
        return f" from {min} to {max}"
    if min is not None:
        return f" >= {min}"
    if max is not None:
        return f" <= {max}"
    return ""
