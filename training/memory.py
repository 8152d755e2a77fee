"""Per-GPU memory estimate of a full-parameter SFT run, from formulas (no weights are loaded).

Model states, bytes per parameter, AdamW, 16-bit mixed precision with fp32 master weights:
2 (16-bit weights) + 4 (fp32 gradients) + 4 (fp32 master) + 8 (Adam m and v) = 18, the figure of both
DeepSpeed's ``estimate_zero3_model_states_mem_needs`` (``18 * params / gpus`` plus ``4 *
largest_layer_params``) and accelerate's ``estimate-memory`` (``accelerate.commands.estimate.
estimate_training_usage``: model 4 + gradients 6 + optimizer 8 bytes per parameter in mixed precision).
How each strategy holds them:

- DeepSpeed ZeRO-3: all 18 sharded over the GPUs, plus the gathered 16-bit largest layer and its
  16-bit gradient (4 bytes x largest layer); with the optimizer offloaded, the fp32 gradients and
  optimizer states (16 bytes) live in CPU memory (DeepSpeed counts 16 x params x 1.5 per node).
- FSDP2 (accelerate upcasts the weights to fp32 under mixed precision): fp32 weights 4 + fp32
  gradients 4 + Adam 8 = 16 bytes sharded, plus the gathered 16-bit weights and gradients of the
  root unit (embeddings, LM head) and of two decoder layers (the running one and the prefetched one).
- One process / DDP (no sharding): weights, gradients and Adam states in the model's dtype.

Activations of the largest micro-batch one process is handed, T tokens (``plan.longest_micro_batch_tokens``:
the per-device longest dialogues together when padding-free, per-device rows of max_length when packed;
the mean micro-batch would understate the peak): with activation
checkpointing, every layer's 16-bit input (L x T x hidden x 2 bytes) plus one layer recomputed in
the backward; a layer's activations are ~34 x T x hidden bytes (Korthikanti et al. 2022, 16-bit,
without the attention-score term that sdpa/flash attention never materialise); and the logits
(T x vocab x (2 + 4 + 4) bytes: 16-bit logits, their fp32 copy for the loss, its gradient; 4 + 4 + 4 for fp32).
Not counted: the CUDA context and NCCL buffers (~1-2 GiB), allocator fragmentation, DeepSpeed's
prefetch buckets beyond the largest layer. It is an estimate, not a measurement.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GIB = 1024**3
ACT_BYTES_PER_TOKEN_HIDDEN = 34
LOGIT_FP32_BYTES = 4 + 4  # the fp32 copy the loss is computed on, and its gradient
GPU_MEMORY_GIB = {"A100 40 GB": 40.0}

# Published architectures of the paper's models, used when neither a local folder nor the HF cache has
# the config (no hub here). llm-jp: the values of hf.co/llm-jp/llm-jp-3-13b/blob/main/config.json (the
# 3.1 instruct4 release is assumed to share the 13B architecture); Swallow-8B and MedLlama3-JP-v2 are
# Llama-3-8B fine-tunes (Meta's published Llama-3-8B config). Re-check against the real config.json.
_LLAMA3_8B = {"num_hidden_layers": 32, "hidden_size": 4096, "intermediate_size": 14336, "vocab_size": 128256,
              "num_attention_heads": 32, "num_key_value_heads": 8, "tie_word_embeddings": False}
KNOWN_ARCHITECTURES: dict[str, dict[str, Any]] = {
    "llm-jp/llm-jp-3.1-13b-instruct4": {
        "num_hidden_layers": 40, "hidden_size": 5120, "intermediate_size": 13824, "vocab_size": 99584,
        "num_attention_heads": 40, "num_key_value_heads": 40, "tie_word_embeddings": False},
    "tokyotech-llm/Llama-3-Swallow-8B-Instruct-v0.1": _LLAMA3_8B,
    "Eques/MedLlama3-JP-v2": _LLAMA3_8B,
}


@dataclass(frozen=True)
class ModelShape:
    """A Llama-style decoder's size, enough for the memory formulas."""

    name: str
    source: str
    layers: int
    hidden: int
    intermediate: int
    vocab: int
    heads: int
    kv_heads: int
    tied: bool

    @property
    def layer_params(self) -> int:
        head_dim = self.hidden // self.heads
        attention = 2 * self.hidden * self.hidden + 2 * self.hidden * self.kv_heads * head_dim
        return attention + 3 * self.hidden * self.intermediate + 2 * self.hidden  # + two RMSNorm weights

    @property
    def embedding_params(self) -> int:
        return self.vocab * self.hidden

    @property
    def root_params(self) -> int:
        """Outside the decoder layers: embeddings, LM head (unless tied), final norm."""
        return self.embedding_params * (1 if self.tied else 2) + self.hidden

    @property
    def params(self) -> int:
        return self.layers * self.layer_params + self.root_params

    @property
    def largest_layer_params(self) -> int:
        return max(self.layer_params, self.embedding_params)


def shape_from_config(name: str, cfg: dict[str, Any], source: str) -> ModelShape:
    heads = int(cfg["num_attention_heads"])
    return ModelShape(
        name=name, source=source, layers=int(cfg["num_hidden_layers"]), hidden=int(cfg["hidden_size"]),
        intermediate=int(cfg["intermediate_size"]), vocab=int(cfg["vocab_size"]), heads=heads,
        kv_heads=int(cfg.get("num_key_value_heads") or heads), tied=bool(cfg.get("tie_word_embeddings", False)),
    )


def load_shape(model_name: str) -> ModelShape | None:
    """The architecture from a local folder, the HF cache (no download), or the table above."""
    from emplifai.training.sft import LOCAL_MODEL_ALIAS

    path: Path | None = None
    if model_name == LOCAL_MODEL_ALIAS:
        from emplifai.local_model import local_model_path

        path = local_model_path() / "config.json"
    elif Path(model_name).expanduser().is_dir():
        path = Path(model_name).expanduser() / "config.json"
    else:
        try:
            from huggingface_hub import try_to_load_from_cache

            cached = try_to_load_from_cache(model_name, "config.json")
            path = Path(cached) if isinstance(cached, str) else None
        except (ImportError, ValueError):  # no huggingface_hub, or not a repo id (HFValidationError): the table
            path = None
    if path is not None and path.is_file():
        try:
            return shape_from_config(model_name, json.loads(path.read_text(encoding="utf-8")), str(path))
        except (KeyError, ValueError, TypeError):
            return None
    if model_name in KNOWN_ARCHITECTURES:
        return shape_from_config(model_name, KNOWN_ARCHITECTURES[model_name],
                                 "published config.json values (built in; hub not reachable)")
    return None


@dataclass(frozen=True)
class Strategy:
    kind: str  # "deepspeed", "fsdp" or "single" (one process or DDP: no sharding)
    zero_stage: int = 0
    offload_optimizer: bool = False
    offload_params: bool = False
    mixed_precision: str = "no"
    num_machines: int = 1
    label: str = ""
    cpu: bool = False  # a CPU run (accelerate's use_cpu): no GPU comparison


def deepspeed_config_file(accelerate_yaml: Path, cfg: dict[str, Any] | None = None) -> Path | None:
    """The DeepSpeed JSON an accelerate config names, resolved relative to the YAML's folder
    (accelerate itself resolves it against the working directory)."""
    if cfg is None:
        import yaml

        cfg = yaml.safe_load(accelerate_yaml.read_text(encoding="utf-8")) or {}
    name = (cfg.get("deepspeed_config") or {}).get("deepspeed_config_file")
    if not name or name == "none":
        return None
    path = Path(name).expanduser()
    return path if path.is_absolute() else (accelerate_yaml.parent / path).resolve()


def strategy_of(accelerate_yaml: Path | None) -> Strategy:
    """Sharding, offload and precision from an accelerate config (None: accelerate's default)."""
    if accelerate_yaml is None:
        return Strategy(kind="single", label="no accelerate config (assumed: no sharding)")
    import yaml

    cfg = yaml.safe_load(accelerate_yaml.read_text(encoding="utf-8")) or {}
    mp = str(cfg.get("mixed_precision", "no"))
    machines = int(cfg.get("num_machines", 1) or 1)
    dist = str(cfg.get("distributed_type", "NO"))
    if dist == "DEEPSPEED":
        ds = cfg.get("deepspeed_config") or {}
        stage = int(ds.get("zero_stage", 0))
        off_opt = str(ds.get("offload_optimizer_device", "none")) in ("cpu", "nvme")
        off_par = str(ds.get("offload_param_device", "none")) in ("cpu", "nvme")
        ds_file = deepspeed_config_file(accelerate_yaml, cfg)
        if ds_file is not None:
            ds_json = json.loads(ds_file.read_text(encoding="utf-8"))
            zero = ds_json.get("zero_optimization", {})
            if (ds_json.get("bf16") or {}).get("enabled") in ("auto", True):
                mp = "bf16 (from the training config's bf16, via the DeepSpeed JSON's auto)"
            stage = int(zero.get("stage", 0))
            off_opt = str((zero.get("offload_optimizer") or {}).get("device", "none")) in ("cpu", "nvme")
            off_par = str((zero.get("offload_param") or {}).get("device", "none")) in ("cpu", "nvme")
        label = f"DeepSpeed ZeRO-{stage}" + (", optimizer offloaded to CPU" if off_opt else "") + (
            ", parameters offloaded to CPU" if off_par else "")
        if stage != 3:
            raise ValueError(f"{accelerate_yaml}: the memory estimate covers ZeRO-3 only (zero_stage {stage})")
        return Strategy("deepspeed", stage, off_opt, off_par, mp, machines, label)
    if dist == "FSDP":
        fs = cfg.get("fsdp_config") or {}
        off = bool(fs.get("fsdp_offload_params", False))
        return Strategy("fsdp", 0, off, off, mp, machines,
                        "FSDP full sharding" + (", parameters and optimizer offloaded to CPU" if off else ""))
    cpu = bool(cfg.get("use_cpu", False))
    return Strategy("single", 0, False, False, mp, machines, "one CPU process" if cpu else f"{dist}: no sharding",
                    cpu=cpu)


@dataclass(frozen=True)
class MemoryEstimate:
    strategy: Strategy
    world_size: int
    micro_tokens: int
    activation_checkpointing: bool
    rows: tuple[tuple[str, float, str], ...]  # (what, bytes per GPU, how)
    cpu_bytes_per_node: float

    @property
    def total(self) -> float:
        return sum(b for _, b, _ in self.rows)

    def render(self, shape: ModelShape) -> str:
        lines = [
            (f"memory per {'process' if self.strategy.cpu else 'GPU'} (ESTIMATE from formulas, see "
             f"training/memory.py): {self.strategy.label}, {self.world_size} process(es), mixed precision "
             f"{self.strategy.mixed_precision}"),
            (f"  model: {shape.name}, {shape.params / 1e9:.2f} B parameters "
             f"({shape.layers} layers, hidden {shape.hidden}, vocab {shape.vocab}; from {shape.source})"),
        ]
        width = max(len(w) for w, _, _ in self.rows)
        for what, b, how in self.rows:
            lines.append(f"  {what.ljust(width)}  {b / GIB:7.2f} GiB  {how}")
        lines.append(f"  {'total'.ljust(width)}  {self.total / GIB:7.2f} GiB")
        for gpu, cap in GPU_MEMORY_GIB.items() if not self.strategy.cpu else ():
            verdict = "fits" if self.total / GIB <= cap - 2 else "does NOT fit"
            lines.append(f"  on an {gpu}: {verdict} ({cap - self.total / GIB:+.1f} GiB left before the CUDA "
                         "context, NCCL buffers and fragmentation, ~1-2 GiB)")
        if self.cpu_bytes_per_node:
            lines.append(f"  CPU memory per node for offloaded states: {self.cpu_bytes_per_node / GIB:.0f} GiB "
                         "(DeepSpeed's estimate, x1.5 buffer)")
        return "\n".join(lines)


def estimate_memory(
    shape: ModelShape, strategy: Strategy, world_size: int, *, micro_tokens: int,
    activation_checkpointing: bool, mixed_precision: bool, dtype_bytes: int = 2,
) -> MemoryEstimate:
    """Bytes per GPU by part (see the module docstring for every assumption)."""
    p, n = shape.params, world_size
    rows: list[tuple[str, float, str]] = []
    cpu = 0.0
    if strategy.kind == "deepspeed":
        largest = 4 * shape.largest_layer_params
        if strategy.offload_params:
            rows += [("parameters", 0.0, "offloaded to CPU")]
            cpu = 18 * p * 1.5 / strategy.num_machines
        else:
            rows += [("parameters", 2 * p / n, f"16-bit, sharded: 2 B x {p / 1e9:.2f} B / {n}")]
        if strategy.offload_optimizer:
            rows += [("gradients", 0.0, "fp32 partition offloaded to CPU"),
                     ("optimizer states", 0.0, "fp32 master + Adam m, v offloaded to CPU")]
            cpu = cpu or 16 * p * 1.5 / strategy.num_machines
        else:
            rows += [("gradients", 4 * p / n, f"fp32, sharded: 4 B x params / {n}"),
                     ("optimizer states", 12 * p / n, f"fp32 master + Adam m, v, sharded: 12 B x params / {n}")]
        rows.append(("gathered layer", largest, (f"16-bit largest layer + its gradient: 4 B x "
                                                 f"{shape.largest_layer_params / 1e6:.0f} M (DeepSpeed's term)")))
    elif strategy.kind == "fsdp":
        working = 2 * 2 * (shape.root_params + 2 * shape.layer_params)
        if strategy.offload_params:
            rows += [("parameters", 0.0, "offloaded to CPU"), ("gradients", 0.0, "offloaded to CPU"),
                     ("optimizer states", 0.0, "on CPU (the optimizer steps on the CPU)")]
            cpu = 16 * p / strategy.num_machines
        else:
            rows += [("parameters", 4 * p / n, f"fp32 shards (upcast for mixed precision): 4 B x params / {n}"),
                     ("gradients", 4 * p / n, f"fp32 shards: 4 B x params / {n}"),
                     ("optimizer states", 8 * p / n, f"Adam m, v in fp32, sharded: 8 B x params / {n}")]
        rows.append(("gathered units", working,
                     "16-bit weights + gradients of the root unit (embeddings, head) and 2 decoder layers"))
    else:
        b = dtype_bytes  # the Trainer trains in the dtype the model was loaded in
        rows += [("parameters", b * p, f"{b} B x params, not sharded"),
                 ("gradients", b * p, f"{b} B x params"),
                 ("optimizer states", 2 * b * p, f"Adam m, v: 2 x {b} B x params")]
    t, h = micro_tokens, shape.hidden
    layer_act = ACT_BYTES_PER_TOKEN_HIDDEN * t * h
    if activation_checkpointing:
        act = shape.layers * t * h * 2 + layer_act
        how = (f"checkpointed: layer inputs 2 B x {shape.layers} x {t} tokens (longest micro-batch) x {h} "
               "+ one layer recomputed (34 B x T x h)")
    else:
        act = shape.layers * layer_act
        how = f"no checkpointing: 34 B x {t} tokens (longest micro-batch) x {h} x {shape.layers} layers"
    rows.append(("activations", act, how))
    logit_bytes = (2 if strategy.kind != "single" else dtype_bytes) + LOGIT_FP32_BYTES
    rows.append(("logits", t * shape.vocab * logit_bytes,
                 f"{t} tokens x {shape.vocab} x {logit_bytes} B (logits, fp32 copy, its gradient)"))
    return MemoryEstimate(strategy, world_size, micro_tokens, activation_checkpointing, tuple(rows), cpu)
