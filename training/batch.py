"""The global batch is fixed (the paper's 32); gradient accumulation is derived from it at start-up.

global batch = per-device batch x processes (GPUs, all nodes) x gradient accumulation steps.
Configs state the global batch and the per-device batch; the accumulation is computed for the
world size the run actually has, so the same config gives the same optimisation on 1, 8 or 16
GPUs. Setting ``gradient_accumulation_steps`` by hand is refused: it would silently change the
global batch when the GPU count changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

GRAD_ACCUM_FIELD = "gradient_accumulation_steps"


def derive_gradient_accumulation(global_batch_size: int, per_device_batch_size: int, world_size: int) -> int:
    """Accumulation steps so that per_device x world_size x steps == global_batch_size exactly."""
    for name, value in (
        ("global_batch_size", global_batch_size),
        ("per_device_train_batch_size", per_device_batch_size),
        ("world_size", world_size),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    per_step = per_device_batch_size * world_size
    if global_batch_size % per_step:
        raise ValueError(
            f"global_batch_size={global_batch_size} is not a multiple of per_device_train_batch_size="
            f"{per_device_batch_size} x {world_size} process(es) = {per_step}; change the per-device batch "
            "or the number of processes so that it divides the global batch"
        )
    return global_batch_size // per_step


def reject_manual_gradient_accumulation(config: Mapping[str, Any] | None, argv: Sequence[str]) -> None:
    """Refuse ``gradient_accumulation_steps`` in the YAML config or on the command line."""
    where = []
    if config and GRAD_ACCUM_FIELD in config:
        where.append("the config file")
    if any(a == f"--{GRAD_ACCUM_FIELD}" or a.startswith(f"--{GRAD_ACCUM_FIELD}=") for a in argv):
        where.append("the command line")
    if where:
        raise ValueError(
            f"{GRAD_ACCUM_FIELD} is set in {' and '.join(where)}; it is derived from global_batch_size, "
            "per_device_train_batch_size and the number of processes. Remove it and set global_batch_size instead."
        )
