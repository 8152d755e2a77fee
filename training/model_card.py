"""The README.md model card written beside an SFT checkpoint, and the provenance it records.

The card is rendered from the run record (``emplifai_sft.json``, written next to it), so the
two never disagree: base model, data source and fingerprints, split, hyperparameters, the
prompt version, library versions and the git commit of the code that trained it.
"""

from __future__ import annotations

import importlib.metadata
import json
import shlex
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


def _data_arg(record: dict[str, Any]) -> str:
    """The ``-T data=`` value that names the data the run was split from."""
    data = record["data"]
    path = data.get("path")
    if path:
        return str(path)
    if data.get("source", "").startswith("bundled sample"):
        from emplifai.data import SAMPLE_PATH

        return str(SAMPLE_PATH)
    return str(data["source"])


def benchmark_commands(record: dict[str, Any]) -> list[str]:
    """The exact commands that benchmark the checkpoint on the data and prompt it was trained for."""
    split, prompt, out = record["split"], record["prompt"], record["output_dir"]
    bench = record.get("benchmark", {})
    temperature = bench.get("temperature")
    common = [f"-T data={shlex.quote(_data_arg(record))}", f"-T language={prompt['language']}"]
    data = record["data"]
    if data.get("columns"):
        common.append(f"-T columns={shlex.quote(data['columns'])}")
    common.append(f"-T checkpoint_split={shlex.quote(str(Path(out) / 'split.json'))}")
    gen = [f"-T n={split['eval_n']}", f"-T seed={split['eval_seed']}", *common]
    if prompt.get("max_chars"):
        gen.append(f"-T max_chars={prompt['max_chars']}")
    decoding = f"--temperature {temperature}" if temperature is not None else "-M do_sample=false"
    model = f"--model hf/local -M model_path={shlex.quote(out)}"
    return [
        (f"inspect eval tasks/generation.py {model} {decoding} \\\n    {' '.join(gen)} \\\n"
         "    --model-role grader=<judge model, not this checkpoint>"),
        f"inspect eval tasks/emotion.py {model} {decoding} \\\n    {' '.join(common)}",
    ]


def _results_lines(results: list[dict[str, Any]]) -> list[str]:
    if not results:
        return ["No benchmark run recorded yet. After running the commands above, regenerate this card with",
                "`emplifai train card <this folder> --logs <log dir>`."]
    lines = ["| task | log | samples | data = training data | leak check | scores |", "|---|---|---|---|---|---|"]
    for r in results:
        scores = "; ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in r["scores"].items())
        lines.append(f"| {r['task']} | `{r['log']}` | {r['samples']} | {r['same_data']} | {r['leak_check']} | {scores} |")
    return lines


def _front_matter(record: dict[str, Any]) -> list[str]:
    """The Hugging Face metadata header."""
    license_ = record.get("base_model_license")
    language = record["prompt"]["language"]
    return [
        "---",
        f"base_model: {_yaml_str(record['base_model'])}",
        f"license: {_yaml_str(license_) if license_ else 'other  # the base model license applies; not stated in the run config'}",
        "language: [ja]" if language == "ja" else f"language: [{language}]",
        "library_name: transformers",
        "pipeline_tag: text-generation",
        "tags: [emplifai-bench, sft, trl, empathy, medical-dialogue]",
        "---",
        "",
    ]


def _summary_and_license(record: dict[str, Any]) -> list[str]:
    prompt = record["prompt"]
    license_ = record.get("base_model_license")
    return [
        f"# SFT of {record['base_model']} on EmplifAI-format dialogues",
        "",
        "Trained by `emplifai train` (training/sft.py, TRL) to write the two-turn patient/supporter",
        "dialogue of the EmplifAI generation benchmark, from exactly the benchmark's prompt",
        (f"(`{prompt['version']}`, hash `{prompt['hash']}`, language "
         f"`{prompt['language']}`, max_chars {prompt['max_chars']}). Loss on the assistant "
         "dialogue only."),
        "",
        "## License",
        "",
        f"Base model: `{record['base_model']}`, license `{license_ or 'not stated in the run config'}`. A fine-tune is a",
        "derivative of its base model: its terms apply to this checkpoint. The training data's own terms apply too",
        "(EmplifAI is not public; each user brings a copy under its terms).",
        "",
    ]


def _intended_use(record: dict[str, Any]) -> list[str]:
    return [
        "## Intended use and limitations",
        "",
        "- Intended for research: benchmarking empathetic replies to people living with illness, and comparing",
        "  fine-tuning recipes on the EmplifAI benchmark. Not a medical device and not a substitute for clinicians,",
        "  counsellors or crisis services; it must not be deployed to patients without clinical oversight.",
        "- It writes both sides of a short scripted dialogue in the benchmark's format; it was not trained to hold",
        "  real conversations, to give medical advice, or to detect risk (self-harm, emergencies).",
        "- The training dialogues were written by crowd workers and reviewed by medical annotators for",
        "  \"empathetically toxic\" replies; the model can still produce replies that are inaccurate, dismissive,",
        "  over-reassuring or aimed at the wrong emotion. LLM-judge scores of such models correlate only moderately",
        "  with human ratings (EmplifAI paper): read the results below together with human evaluation.",
        "- Japanese only" + (" (prompt language ja)." if record["prompt"]["language"] == "ja" else "."),
        "",
    ]


def _data_section(record: dict[str, Any]) -> list[str]:
    """Source, fingerprints, split, and whether any evaluation situation was trained on."""
    split, data = record["split"], record["data"]
    lines = [
        "## Data",
        "",
        f"- source: `{data['source']}`",
        (f"- data fingerprint (emplifai.data.fingerprint, all data; the benchmark tasks log the same): "
         f"`{split['data_fingerprint']}`"),
        f"- training dialogues fingerprint: `{split['train_fingerprint']}`",
        (f"- {split['n_dialogues']} dialogues in {split['n_situations']} situations; trained on "
         f"{split['n_train_dialogues']} dialogues in {split['n_train_situations']} situations"),
        (f"- split: `{split['mode']}`, benchmark pairs drawn with n={split['eval_n']}, seed={split['eval_seed']}; "
         f"{len(split['heldout_situation_ids'])} situations held out"),
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
    return lines + [
        "- situation and dialogue ids of both sides, and content keys of the trained situations: `split.json`",
        "  (the benchmark tasks read it and do not score what the checkpoint trained on: `-T checkpoint_split`)",
        "",
    ]


def _training_section(record: dict[str, Any]) -> list[str]:
    """Hyperparameters, and the training result when there is one."""
    lines = ["## Hyperparameters", "", "| parameter | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in record["hyperparameters"].items()]
    result = record.get("result", {})
    if result:
        lines += ["", "## Training result", "", "| | |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in result.items()]
    return lines


def _benchmark_section(record: dict[str, Any]) -> list[str]:
    """The exact commands that benchmark the checkpoint, and the results recorded so far."""
    temperature = record.get("benchmark", {}).get("temperature")
    return [
        "",
        "## Benchmark it",
        "",
        "Same data, n, seed, language and length limit as the split above, "
        + (f"temperature {temperature} (the paper's for this model)." if temperature is not None
           else "greedy decoding (no temperature set in the run config)."),
        "",
        "```bash",
        *benchmark_commands(record),
        "```",
        "",
        "With `vllm/`, pass the folder as the model name (`--model vllm/<folder>`); the split is read from it.",
        "",
        "## Evaluation results",
        "",
        *_results_lines(record.get("benchmark_results", [])),
        "",
    ]


def _provenance(record: dict[str, Any]) -> list[str]:
    git = record["git"]
    commit = git.get("commit") or "unknown"
    if git.get("dirty"):
        commit += " (with uncommitted changes)"
    return [
        "## Provenance",
        "",
        f"- code: emplifai-bench commit `{commit}`",
        "- libraries: " + ", ".join(f"{k} {v}" for k, v in record["versions"].items() if v),
        f"- hardware: {record['hardware']}",
        "",
    ]


def render_model_card(record: dict[str, Any]) -> str:
    """Markdown card (with a Hugging Face metadata header) for the run ``record``."""
    sections = (_front_matter, _summary_and_license, _intended_use, _data_section, _training_section,
                _benchmark_section, _provenance)
    return "\n".join(line for section in sections for line in section(record))


def _is_this_checkpoint(model: str, model_args: dict[str, Any], checkpoint: Path) -> bool:
    target = checkpoint.resolve()
    candidates = [model_args.get("model_path"), model.split("/", 1)[1] if "/" in model else None]
    for cand in candidates:
        if isinstance(cand, str) and cand:
            try:
                if Path(cand).expanduser().resolve() == target:
                    return True
            except OSError:
                continue
    return False


def collect_results(checkpoint: Path, log_dir: Path, data_fingerprint: str) -> list[dict[str, Any]]:
    """Headline scores of the generation and emotion logs in ``log_dir`` whose model is ``checkpoint``."""
    from inspect_ai.log import list_eval_logs, read_eval_log

    rows = []
    for info in list_eval_logs(str(log_dir), recursive=True):
        log = read_eval_log(info, header_only=True)
        task = log.eval.task.rsplit("/", 1)[-1]
        if task not in ("generation", "emotion") or log.status != "success" or log.results is None:
            continue
        if not _is_this_checkpoint(log.eval.model, log.eval.model_args or {}, checkpoint):
            continue
        meta = log.eval.metadata or {}
        scores: dict[str, Any] = {}
        for score in log.results.scores:
            for name, metric in score.metrics.items():
                # the card lists the values; the log keeps their standard errors ("stderr" in the
                # names of older logs, "<metric>_stderr" in the judge's one-score-per-judge names)
                if name != "stderr" and not name.endswith("_stderr"):
                    scores[f"{score.name}/{name}"] = metric.value
        rows.append({
            "task": task,
            "log": Path(info.name).name,
            "samples": log.results.completed_samples,
            "same_data": meta.get("data_fingerprint") == data_fingerprint,
            "leak_check": meta.get("leak_check", "not recorded"),
            "scores": scores,
        })
    return rows


def regenerate_card(checkpoint: Path, log_dir: Path | None) -> tuple[Path, int]:
    """Rewrite ``checkpoint``/README.md (and the run record) with results from ``log_dir``."""
    from emplifai.errors import UserError

    record_path = checkpoint / RUN_RECORD_FILE
    if not record_path.is_file():
        raise UserError(f"{checkpoint}: no {RUN_RECORD_FILE}; is this the output folder of `emplifai train`?")
    record = json.loads(record_path.read_text(encoding="utf-8"))
    if log_dir is not None:
        if not log_dir.is_dir():
            raise UserError(f"--logs {log_dir}: no such folder")
        record["benchmark_results"] = collect_results(checkpoint, log_dir, record["split"]["data_fingerprint"])
    record_path.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    card = checkpoint / CARD_FILE
    card.write_text(render_model_card(record), encoding="utf-8")
    return card, len(record.get("benchmark_results", []))


def write_run_files(output_dir: Path, record: dict[str, Any], split_json: dict[str, Any]) -> None:
    """split.json, emplifai_sft.json and README.md into ``output_dir``."""
    from emplifai.training.split import SPLIT_FILE

    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / SPLIT_FILE).write_text(json.dumps(split_json, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (output_dir / RUN_RECORD_FILE).write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (output_dir / CARD_FILE).write_text(render_model_card(record), encoding="utf-8")
