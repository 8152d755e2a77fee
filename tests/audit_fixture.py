"""SIMULATED audit data made once per test session (emplifai audit simulate, small)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

_CACHE: dict[str, dict[str, Path]] = {}


def simulated(tmp_path_factory: Any, n: int = 24) -> dict[str, Path]:
    """Logs, sheets, key and simulated ratings of ``emplifai audit simulate --n n`` (4 logs, 4 raters)."""
    from emplifai.audit.simulate import simulate

    key = f"n{n}"
    if key not in _CACHE:
        _CACHE[key] = simulate(tmp_path_factory.mktemp(f"audit-sim-{n}"), n=n, seed=3)
    return _CACHE[key]
