"""The run record names the optimizer that really steps: with the DeepSpeed offload config, DeepSpeed's
own optimizer (built from the JSON's optimizer block) replaces the Trainer's ``optim``."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from accelerate.utils import DeepSpeedPlugin, patch_environment

from emplifai.training.run_record import deepspeed_config_of, hyperparameters, optimizer_in_use
from emplifai.training.sft import parse_args
from tests.test_sft_accelerate_configs import _launch_env

ROOT = Path(__file__).parent.parent / "training"
PAPER = ROOT / "configs" / "llm-jp-3.1-13b-instruct4.yaml"


def _deepspeed_config(accelerate_config: str) -> dict:
    """The DeepSpeed config a process of `accelerate launch --config_file <name>` gets (no deepspeed needed)."""
    _, env = _launch_env(accelerate_config)
    with patch_environment(**env):
        return DeepSpeedPlugin().deepspeed_config


def _prep(deepspeed_config: dict | None) -> SimpleNamespace:
    # What run_record reads of sft.Prepared; the trainer exposes accelerate's plugin as the Trainer does.
    state = SimpleNamespace(deepspeed_plugin=SimpleNamespace(deepspeed_config=deepspeed_config))
    trainer = SimpleNamespace(padding_free=True, completion_only_loss=True, is_deepspeed_enabled=bool(deepspeed_config),
                              accelerator=SimpleNamespace(state=state))
    return SimpleNamespace(trainer=trainer, split=SimpleNamespace(train=[0] * 64), n_rows=64, world_size=8,
                           token_lengths=[100] * 64, activation_checkpointing="trainer")


@pytest.mark.parametrize(
    ("accelerate_config", "expected"),
    [("deepspeed_zero3_offload_1node_8gpu", "DeepSpeed AdamW from the DeepSpeed config, run as DeepSpeedCPUAdam on "
                                            "the CPU (optimizer offloaded); optim=adamw_torch_fused is not used"),
     ("deepspeed_zero3_1node_8gpu", "adamw_torch_fused")],  # no optimizer block: the Trainer's AdamW steps
)
def test_record_names_the_optimizer_that_runs(accelerate_config: str, expected: str) -> None:
    script, train, model = parse_args(["--config", str(PAPER), "--use_cpu", "true"])
    assert train.optim == "adamw_torch_fused"  # what the config asks the Trainer for
    prep = _prep(_deepspeed_config(accelerate_config))
    hp = hyperparameters(prep, script, train, model, deepspeed_config_of(prep.trainer))
    assert hp["optimizer"] == expected


def test_no_deepspeed_is_the_trainers_optimizer() -> None:
    assert deepspeed_config_of(SimpleNamespace(is_deepspeed_enabled=False)) is None
    assert optimizer_in_use("adamw_torch_fused", None) == "adamw_torch_fused"
    gpu = {"optimizer": {"type": "AdamW"}, "zero_optimization": {"offload_optimizer": {"device": "none"}}}
    assert optimizer_in_use("adamw_torch", gpu) == ("DeepSpeed AdamW from the DeepSpeed config, run as FusedAdam on "
                                                    "the GPU; optim=adamw_torch is not used")


@pytest.mark.parametrize(
    "accelerate_config", ["deepspeed_zero3_offload_1node_8gpu", "deepspeed_zero3_1node_8gpu", "fsdp_1node_8gpu"]
)
def test_the_dry_run_names_the_optimizer_the_record_names(accelerate_config: str) -> None:
    from emplifai.training.plan import make_plan

    plan = make_plan(["--config", str(PAPER)], config_label="paper",
                     accelerate_yaml=ROOT / "accelerate" / f"{accelerate_config}.yaml", num_gpus=None)
    script, train, model = parse_args(["--config", str(PAPER), "--use_cpu", "true"])
    ds = _deepspeed_config(accelerate_config) if accelerate_config.startswith("deepspeed") else None
    assert plan.optimizer == hyperparameters(_prep(ds), script, train, model, ds)["optimizer"]
