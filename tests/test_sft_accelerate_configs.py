"""The accelerate configs (DeepSpeed ZeRO-3 and FSDP, 1 node x 8 GPUs and multi-node) load in
accelerate as `accelerate launch` reads them, and the training configs state the paper's run.
No GPU and no deepspeed package are needed: this stops before any process is started."""

from __future__ import annotations

import socket
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from accelerate.commands.launch import _validate_launch_command, launch_command_parser
from accelerate.utils import DeepSpeedPlugin, FullyShardedDataParallelPlugin, patch_environment
from accelerate.utils.launch import prepare_deepspeed_cmd_env, prepare_multi_gpu_env

from emplifai.training.batch import derive_batch, derive_gradient_accumulation
from emplifai.training.memory import deepspeed_config_file
from emplifai.training.sft import parse_args, route_activation_checkpointing

ROOT = Path(__file__).parent.parent / "training"
ACCEL = ROOT / "accelerate"
CONFIGS = ROOT / "configs"
PAPER = {
    "llm-jp-3.1-13b-instruct4": "llm-jp/llm-jp-3.1-13b-instruct4",
    "llama-3-swallow-8b-instruct-v0.1": "tokyotech-llm/Llama-3-Swallow-8B-Instruct-v0.1",
    "medllama3-jp-v2": "Eques/MedLlama3-JP-v2",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _launch_env(name: str, extra: list[str] = ()) -> tuple[object, dict[str, str]]:
    """What `accelerate launch --config_file <name>` would hand to every process, with the
    DeepSpeed JSON passed resolved as `emplifai train` passes it."""
    parser = launch_command_parser()
    ds_file = deepspeed_config_file(ACCEL / f"{name}.yaml")
    if ds_file is not None:
        extra = [*extra, "--deepspeed_config_file", str(ds_file)]
    args = parser.parse_args(["--config_file", str(ACCEL / f"{name}.yaml"), *extra, "training/sft.py"])
    args, defaults, mp_from_config = _validate_launch_command(args)
    if args.use_deepspeed:
        fields = list(defaults.deepspeed_config) + (["mixed_precision"] if mp_from_config else [])
        args.deepspeed_fields_from_accelerate_config = ",".join(fields)
        _, env = prepare_deepspeed_cmd_env(args)
    else:
        env = prepare_multi_gpu_env(args)
    return args, env


@pytest.mark.parametrize(
    ("name", "processes", "machines", "offload"),
    [("deepspeed_zero3_1node_8gpu", 8, 1, "none"), ("deepspeed_zero3_multinode", 16, 2, "none"),
     ("deepspeed_zero3_offload_1node_8gpu", 8, 1, "cpu")],
)
def test_deepspeed_zero3_configs_load(name: str, processes: int, machines: int, offload: str) -> None:
    # rank 0 checks that its port is free: take one that is (29500 may be busy on a shared machine)
    extra = ["--machine_rank", "0", "--main_process_ip", "10.0.0.1", "--main_process_port", str(_free_port())] \
        if machines > 1 else []
    args, env = _launch_env(name, extra)
    assert args.use_deepspeed and not args.use_fsdp
    assert (args.num_processes, args.num_machines) == (processes, machines)
    # bf16 comes from the training config through the JSON's "auto" (accelerate refuses both).
    assert env.get("ACCELERATE_MIXED_PRECISION", "no") == "no"  # TrainingArguments(bf16=True) sets it
    assert env["ACCELERATE_DEEPSPEED_CONFIG_FILE"] == str(deepspeed_config_file(ACCEL / f"{name}.yaml"))
    with patch_environment(**env):
        plugin = DeepSpeedPlugin()
    zero = plugin.deepspeed_config["zero_optimization"]
    assert plugin.deepspeed_config["bf16"]["enabled"] == "auto"
    assert zero["stage"] == 3
    # Without the 16-bit gather, save_model under ZeRO-3 writes no loadable weights.
    assert zero["stage3_gather_16bit_weights_on_model_save"] is True
    # Batch sizes are left to the Trainer, which takes them from the derived accumulation.
    assert plugin.deepspeed_config["gradient_accumulation_steps"] == "auto"
    # Buckets sized by transformers from the model's hidden size, not DeepSpeed's fixed defaults.
    for key in ("reduce_bucket_size", "stage3_prefetch_bucket_size", "stage3_param_persistence_threshold"):
        assert zero[key] == "auto", key
    assert zero["offload_optimizer"]["device"] == offload and zero["offload_param"]["device"] == "none"
    if offload == "cpu":  # DeepSpeed's own optimizer (CPU Adam), configured from the Trainer's values
        assert plugin.deepspeed_config["optimizer"]["params"]["lr"] == "auto"
    per_device, accumulation = derive_batch(32, 4, processes)
    assert per_device * processes * accumulation == 32


@pytest.mark.parametrize(
    ("name", "processes", "machines"), [("fsdp_1node_8gpu", 8, 1), ("fsdp_multinode", 16, 2)]
)
def test_fsdp_configs_load(name: str, processes: int, machines: int) -> None:
    extra = ["--machine_rank", "1", "--main_process_ip", "10.0.0.1"] if machines > 1 else []
    args, env = _launch_env(name, extra)
    assert args.use_fsdp and not args.use_deepspeed
    assert (args.num_processes, args.num_machines) == (processes, machines)
    assert env["ACCELERATE_MIXED_PRECISION"] == "bf16" and env["FSDP_VERSION"] == "2"
    with patch_environment(**env):
        plugin = FullyShardedDataParallelPlugin()
    assert plugin.fsdp_version == 2
    # A full state dict on save gives the plain checkpoint that hf/local and vllm load.
    assert plugin.state_dict_type.name == "FULL_STATE_DICT"
    assert derive_gradient_accumulation(32, 1, processes) * processes == 32


@pytest.mark.parametrize("wanted", [True, False])
@pytest.mark.parametrize(("name", "machines"), [("fsdp_1node_8gpu", 1), ("fsdp_multinode", 2)])
def test_fsdp_activation_checkpointing_is_the_training_configs(name: str, machines: int, wanted: bool) -> None:
    # One switch: the accelerate config sets none (a value there was always overridden), and FSDP's own
    # checkpointing follows the training config's activation_checkpointing, routed by sft.py.
    cfg = yaml.safe_load((ACCEL / f"{name}.yaml").read_text(encoding="utf-8"))
    assert "fsdp_activation_checkpointing" not in cfg["fsdp_config"]
    extra = ["--machine_rank", "1", "--main_process_ip", "10.0.0.1"] if machines > 1 else []
    _, env = _launch_env(name, extra)
    environ = dict(env)
    args = SimpleNamespace(activation_checkpointing=wanted, gradient_checkpointing=wanted)
    assert route_activation_checkpointing(args, environ) == ("fsdp" if wanted else "off")
    with patch_environment(**environ):
        plugin = FullyShardedDataParallelPlugin()
    assert plugin.activation_checkpointing is wanted
    assert args.activation_checkpointing is False  # never both: transformers refuses that under FSDP


def test_every_accelerate_config_is_tested() -> None:
    assert {p.stem for p in ACCEL.glob("*.yaml")} == {
        "cpu", "deepspeed_zero3_1node_8gpu", "deepspeed_zero3_multinode", "deepspeed_zero3_offload_1node_8gpu",
        "fsdp_1node_8gpu", "fsdp_multinode",
    }


@pytest.mark.parametrize("name", sorted(PAPER))
def test_paper_configs_state_the_papers_run(name: str) -> None:
    # --use_cpu: TrainingArguments refuses bf16 on a machine without a GPU unless told it is CPU.
    script, train, model = parse_args(["--config", str(CONFIGS / f"{name}.yaml"), "--use_cpu", "true"])
    assert model.model_name_or_path == PAPER[name]
    assert (train.num_train_epochs, train.learning_rate, train.bf16) == (3, 1e-4, True)
    # 32 dialogues per optimizer step: one dialogue per sequence (no packing), padding-free batches.
    assert script.global_batch_size == 32 and train.per_device_train_batch_size == 4
    assert model.use_peft is False and model.dtype == "bfloat16"
    assert not train.packing and train.padding_free and train.max_length is None
    assert train.completion_only_loss is True and train.activation_checkpointing is True
    assert script.eval_temperature in (0.7, 0.1) and script.base_model_license
    assert (script.split_mode, script.eval_n, script.eval_seed) == ("benchmark", 100, 42)


def test_lora_config_is_opt_in() -> None:
    _, _, model = parse_args(
        ["--config", str(CONFIGS / "lora-llama-3-swallow-8b-instruct-v0.1.yaml"), "--use_cpu", "true"]
    )
    assert model.use_peft is True and model.lora_r == 16
