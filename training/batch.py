"""The global batch is fixed (the paper's 32); gradient accumulation is derived from it at start-up.

global batch = per-device batch x processes (GPUs, all nodes) x gradient accumulation steps.
Configs state the global batch and the per-device batch; the accumulation is computed for the
world size the run actually has, so the same config gives the same optimisation on 1, 8 or 16
GPUs. Setting ``gradient_accumulation_steps`` by hand is refused: it would silently change the
global batch when the GPU count changes.

``per_device_train_batch_size`` in a config is the most one process holds per forward pass: where
it does not divide ``global batch / processes`` (the paper configs' 4 on 16 GPUs: 32 / 16 = 2), it is
lowered to the largest size that does, so the global batch stays exact on 1, 2, 4, 8, 16 or 32 GPUs.
A process count that does not divide the global batch (3, 6, 12 GPUs for 32) is an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from emplifai.params import int_param

GRAD_ACCUM_FIELD = "gradient_accumulation_steps"


def _positive(**values: Any) -> list[int]:
    return [int_param(name, value, min=1, flag="") for name, value in values.items()]


def derive_gradient_accumulation(global_batch_size: int, per_device_batch_size: int, world_size: int) -> int:
    """Accumulation steps so that per_device x world_size x steps == global_batch_size exactly."""
    global_batch_size, per_device_batch_size, world_size = _positive(
        global_batch_size=global_batch_size, per_device_train_batch_size=per_device_batch_size, world_size=world_size)
    per_step = per_device_batch_size * world_size
    if global_batch_size % per_step:
        raise ValueError(
            f"global_batch_size={global_batch_size} is not a multiple of per_device_train_batch_size="
            f"{per_device_batch_size} x {world_size} process(es) = {per_step}; change the per-device batch "
            "or the number of processes so that it divides the global batch"
        )
    return global_batch_size // per_step


def derive_batch(global_batch_size: int, max_per_device: int, world_size: int) -> tuple[int, int]:
    """(per-device batch, accumulation steps): the largest per-device batch <= ``max_per_device``
    such that per-device x world_size x accumulation == ``global_batch_size`` exactly."""
    global_batch_size, max_per_device, world_size = _positive(
        global_batch_size=global_batch_size, per_device_train_batch_size=max_per_device, world_size=world_size)
    if global_batch_size % world_size:
        raise ValueError(
            f"global_batch_size={global_batch_size} is not a multiple of the {world_size} process(es): no equal "
            f"per-device batches give exactly {global_batch_size} sequences per optimizer step; use a process count "
            f"that divides {global_batch_size}"
        )
    per_process = global_batch_size // world_size
    per_device = max(d for d in range(1, min(max_per_device, per_process) + 1) if per_process % d == 0)
    return per_device, derive_gradient_accumulation(global_batch_size, per_device, world_size)


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
