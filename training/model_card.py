"""The README.md model card written beside an SFT checkpoint, and the provenance it records.

The card is rendered from the run record (``emplifai_sft.json``, written next to it), so the
two never disagree: base model, data source and fingerprints, split, hyperparameters, the
prompt version, library versions and the git commit of the code that trained it.
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
from pathlib import Path
from typing import Any

RUN_RECORD_FILE = "emplifai_sft.json"
CARD_FILE = "README.md"
_VERSIONED = ("emplifai-bench", "torch", "transformers", "trl", "accelerate", "datasets", "peft", "deepspeed")


def git_state(path: Path | None = None) -> dict[str, Any]:
    """Commit of the checkout holding this code, and whether it had uncommitted changes."""
    cwd = path or Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd, capture_output=True, text=True, check=True, timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None, "note": "not a git checkout (installed package?)"}
    return {"commit": commit, "dirty": bool(dirty)}


def library_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in _VERSIONED:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def _yaml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid YAML scalar


def render_model_card(record: dict[str, Any]) -> str:
    """Markdown card (with a Hugging Face metadata header) for the run ``record``."""
    hp = record["hyperparameters"]
    split = record["split"]
    data = record["data"]
    git = record["git"]
    result = record.get("result", {})
    out_dir = record["output_dir"]
    commit = git.get("commit") or "unknown"
    if git.get("dirty"):
        commit += " (with uncommitted changes)"
    lines = [
        "---",
        f"base_model: {_yaml_str(record['base_model'])}",
        "library_name: transformers",
        "pipeline_tag: text-generation",
        "tags: [emplifai-bench, sft, trl]",
        "---",
        "",
        f"# SFT of {record['base_model']} on EmplifAI-format dialogues",
        "",
        "Trained by `emplifai train` (training/sft.py, TRL) to write the two-turn patient/supporter",
        "dialogue of the EmplifAI generation benchmark, from exactly the benchmark's prompt",
        f"(`{record['prompt']['version']}`, hash `{record['prompt']['hash']}`, language `{record['prompt']['language']}`,"
        f" max_chars {record['prompt']['max_chars']}). Loss on the assistant dialogue only.",
        "",
        "## Data",
        "",
        f"- source: `{data['source']}`",
        f"- data fingerprint (sha256 of the canonical rows, all data): `{split['data_sha256']}`",
        f"- training rows fingerprint: `{split['train_sha256']}`",
        f"- {split['n_dialogues']} dialogues in {split['n_situations']} situations; trained on "
        f"{split['n_train_dialogues']} dialogues in {split['n_train_situations']} situations",
        f"- split: `{split['mode']}`, benchmark pairs drawn with n={split['eval_n']}, seed={split['eval_seed']}; "
        f"{len(split['heldout_situation_ids'])} situations held out",
    ]
    if split.get("train_limit"):
        lines.append(f"- **smoke/partial run**: trained on only the first {split['train_limit']} dialogues of the split")
    if split["eval_pairs_in_train"]:
        lines.append(
            f"- **{len(split['eval_pairs_in_train'])} of the benchmark's evaluation situations are in the training "
            "data**: generation scores of this checkpoint are not on unseen situations"
        )
    else:
        lines.append("- none of the benchmark's evaluation situations is in the training data")
    lines += [
        "- situation and dialogue ids of both sides: `split.json`",
        "",
        "## Hyperparameters",
        "",
        "| parameter | value |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in hp.items()]
    if result:
        lines += ["", "## Result", "", "| | |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in result.items()]
    lines += [
        "",
        "## Provenance",
        "",
        f"- code: emplifai-bench commit `{commit}`",
        "- libraries: " + ", ".join(f"{k} {v}" for k, v in record["versions"].items() if v),
        f"- hardware: {record['hardware']}",
        "",
        "## Benchmark it",
        "",
        "```bash",
        f"inspect eval tasks/generation.py --model hf/local -M model_path={out_dir} -M do_sample=false \\",
        f"    -T n={split['eval_n']} -T seed={split['eval_seed']} --model-role grader=<judge model>",
        f"inspect eval tasks/generation.py --model vllm/{out_dir} \\",
        f"    -T n={split['eval_n']} -T seed={split['eval_seed']} --model-role grader=<judge model>",
        "```",
        "",
        "Evaluate with the same n and seed as above (and the same data), or the held-out situations are not the",
        "evaluated ones.",
        "",
    ]
    return "\n".join(lines)


def write_run_files(output_dir: Path, record: dict[str, Any], split_json: dict[str, Any]) -> None:
    """split.json, emplifai_sft.json and README.md into ``output_dir``."""
    from emplifai.training.split import SPLIT_FILE

    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / SPLIT_FILE).write_text(json.dumps(split_json, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (output_dir / RUN_RECORD_FILE).write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (output_dir / CARD_FILE).write_text(render_model_card(record), encoding="utf-8")
