"""How long `emplifai leaderboard` takes on a realistic folder: 20 models x 100 samples.

Builds the logs once (``--logs DIR``, reused when it already holds them): one real run of
tasks/generation.py over 100 pairs (the bundled sample set plus one marked copy of each
situation, the human reference replayed, a scripted ``mockllm`` grader), then 20 copies of it
written with ``inspect_ai.log.write_eval_log``, each with its own model name, eval id and
per-sample scores (seven integers 1..5 drawn around a per-model level, fixed seed), so the
board has 20 rows of 100 scored samples.

Then it times, each in a fresh process (what a user waits for):
- ``import``: ``python -c "import emplifai.cli; emplifai.cli.build_parser()"`` (the CLI's start-up);
- ``leaderboard``: ``emplifai leaderboard LOGS --out OUT`` end to end, ``--repeat`` times; the first
  run is reported as cold, the median of the others as warm (the OS file cache and Python's
  bytecode are warm).

    .venv/bin/python bench/leaderboard_speed.py --logs /tmp/lb-speed-logs --repeat 4

Before/after: ``--leaderboard-from DIR`` times another version of the leaderboard package on the
same logs, e.g. the one before issue 13 (``git archive 9b9ffac leaderboard | tar -x -C /tmp/before``,
then ``--leaderboard-from /tmp/before/leaderboard``): the command then imports the CLI as
``emplifai`` does and calls that package's ``write_leaderboard(LOGS, OUT)``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

N_MODELS = 20
N_SAMPLES = 100


def write_data(path: Path) -> None:
    """The bundled sample set plus one marked copy of every situation (enough pairs for 100)."""
    from emplifai.data import SAMPLE_PATH

    rows = [json.loads(line) for line in SAMPLE_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]
    copies = [
        {
            **r,
            "dialogue_id": r["dialogue_id"] + "-copy",
            "situation_id": r["situation_id"] + "-copy",
            "situation": r["situation"] + "（複製）",
        }
        for r in rows
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows + copies), encoding="utf-8")


def _grader_reply(messages, tools, tool_choice, config):  # noqa: ANN001, ANN202 - mockllm callable
    from inspect_ai.model import ModelOutput, ModelUsage

    from emplifai.judge_metrics import METRIC_KEYS

    verdict = {k: {"rationale": "気持ちを受け止めてから話を進めている。", "score": 3} for k in METRIC_KEYS}
    out = ModelOutput.from_content("mockllm/judge", json.dumps(verdict, ensure_ascii=False))
    out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
    return out


def build_logs(log_dir: Path) -> None:
    from inspect_ai import eval as inspect_eval
    from inspect_ai.log import read_eval_log, write_eval_log
    from inspect_ai.model import get_model

    from emplifai.judge_metrics import METRIC_KEYS
    from emplifai.tasks.generation import generation

    work = Path(tempfile.mkdtemp(prefix="lb-speed-"))
    data = work / "data.jsonl"
    write_data(data)
    [base] = inspect_eval(
        generation(data=str(data), n=N_SAMPLES, source="reference"),
        model=get_model("mockllm/reference-replay"),
        model_roles={"grader": get_model("mockllm/judge", custom_outputs=_grader_reply)},
        log_dir=str(work / "base"),
        display="none",
    )
    if base.status != "success":
        raise SystemExit(f"base run failed: {base.error}")
    log = read_eval_log(base.location)
    rng = random.Random(13)
    log_dir.mkdir(parents=True, exist_ok=True)
    for i in range(N_MODELS):
        level = 1.5 + 3.0 * i / (N_MODELS - 1)
        log.eval.model = f"mockllm/bench-model-{i:02d}"
        log.eval.eval_id = uuid.uuid4().hex
        log.eval.run_id = uuid.uuid4().hex
        log.eval.task_args = {**log.eval.task_args, "source": "model"}
        for sample in log.samples or []:
            score = sample.scores["rubric_judge"]
            values = {k: min(5, max(1, round(rng.gauss(level, 0.9)))) for k in METRIC_KEYS}
            score.value = {**values, "overall": sum(values.values()) / len(values), "format_ok": 1}
        write_eval_log(log, str(log_dir / f"2026-01-01T00-00-{i:02d}+00-00_generation_bench{i:02d}.eval"))


# Load emplifai.leaderboard from another folder (argv[1]) and write the board of argv[2] to argv[3].
_RUNNER = """
import importlib.util, sys
folder, logs, out = sys.argv[1:4]
spec = importlib.util.spec_from_file_location("emplifai.leaderboard", folder + "/__init__.py",
                                              submodule_search_locations=[folder])
mod = importlib.util.module_from_spec(spec)
sys.modules["emplifai.leaderboard"] = mod
import emplifai, emplifai.cli
emplifai.leaderboard = mod
spec.loader.exec_module(mod)
emplifai.cli.build_parser()
import emplifai.leaderboard.write as w
assert w.__file__.startswith(folder), w.__file__
w.write_leaderboard(logs, out)
"""


def _time(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one run of ``cmd`` in a fresh process.
    CPU time is the figure to compare on a busy machine: wall time then mostly measures the queue."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _fmt(runs: list[tuple[float, float]]) -> str:
    return f"wall {statistics.median(r[0] for r in runs):.2f} s, cpu {statistics.median(r[1] for r in runs):.2f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=Path, default=Path(tempfile.gettempdir()) / "lb-speed-logs")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: a temporary one)")
    parser.add_argument("--repeat", type=int, default=4, help="leaderboard runs (first = cold)")
    parser.add_argument(
        "--leaderboard-from",
        type=Path,
        default=None,
        help="time the leaderboard package in this folder instead of the installed one",
    )
    args = parser.parse_args()
    if len(list(args.logs.glob("*.eval"))) < N_MODELS:
        t = time.perf_counter()
        build_logs(args.logs)
        print(f"built {N_MODELS} logs x {N_SAMPLES} samples in {time.perf_counter() - t:.1f} s -> {args.logs}")
    out = args.out or Path(tempfile.mkdtemp(prefix="lb-speed-out-"))
    bindir = Path(sys.executable).parent
    emplifai = str(bindir / "emplifai") if (bindir / "emplifai").exists() else None
    cmd = [emplifai, "leaderboard"] if emplifai else [sys.executable, "-m", "emplifai.cli", "leaderboard"]
    imports = [_time([sys.executable, "-c", "import emplifai.cli; emplifai.cli.build_parser()"]) for _ in range(3)]
    if args.leaderboard_from is not None:
        folder = str(args.leaderboard_from.resolve())
        runs = [
            _time([sys.executable, "-c", _RUNNER, folder, str(args.logs), str(out)]) for _ in range(max(args.repeat, 2))
        ]
    else:
        runs = [_time([*cmd, str(args.logs), "--out", str(out)]) for _ in range(max(args.repeat, 2))]
    print(f"cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}")
    print(f"import (CLI start-up), median of 3: {_fmt(imports)}")
    print(f"emplifai leaderboard, cold: {_fmt(runs[:1])}")
    print(f"emplifai leaderboard, warm (median of {len(runs) - 1}): {_fmt(runs[1:])}")
    print(f"page: {out / 'leaderboard.html'} ({(out / 'leaderboard.html').stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
