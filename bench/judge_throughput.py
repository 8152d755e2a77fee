"""Throughput of the rubric judge: the generation task, end to end, against a fake API.

Starts ``bench/fake_openai_server.py`` (fixed latency per call), then runs the real generation
task (tasks/generation.py, source=model) over ``--samples`` pairs with both roles on the fake
server, ``openai-api/fake/candidate`` and grader ``openai-api/fake/judge``, once per judge
mode, each from an empty Inspect cache. It prints wall time against the ideal
(calls x latency / max_connections), judge calls and judge tokens per sample, and exits 1 when
a mode is slower than ``--max-ratio`` x ideal or ``all`` makes more than one judge call per
dialogue. Every step is bounded (``--timeout`` for the whole run).

The pairs come from the bundled sample set (56 situations), each also copied once with a marked
situation text so that there are enough distinct pairs for 100 samples.

    .venv/bin/python bench/judge_throughput.py --samples 100 --latency 1.0 --max-connections 10
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from emplifai.deps import exit_if_missing  # noqa: E402

exit_if_missing("openai", "uvicorn", "starlette", extra="serve", purpose="bench/judge_throughput.py")

from emplifai.data import SAMPLE_PATH

SERVER = Path(__file__).with_name("fake_openai_server.py")


def write_bench_data(path: Path) -> int:
    """The sample set plus one marked copy of every situation; returns the number of situations."""
    rows = [json.loads(line) for line in SAMPLE_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]
    copies = [
        {
            **r,
            "dialogue_id": r["dialogue_id"] + "-bench-copy",
            "situation_id": r["situation_id"] + "-bench-copy",
            "situation": r["situation"] + "（ベンチ用の複製）",
        }
        for r in rows
    ]
    with path.open("w", encoding="utf-8") as f:
        for r in rows + copies:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return len({r["situation_id"] for r in rows + copies})


def start_server(latency: float, lifetime: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), "--port", "0", "--latency", str(latency), "--lifetime", str(lifetime)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()  # the server prints its address first, at once
    if not line.startswith("LISTENING "):
        proc.kill()
        raise RuntimeError(f"fake server did not start (got {line!r})")
    return proc, line.split(" ", 1)[1]


def _cpu_seconds() -> float:
    """CPU time of this process (Inspect's event loop runs here; the fake server is another process)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _http(base: str, path: str, method: str = "GET") -> dict[str, Any]:
    root = base.rsplit("/v1", 1)[0]
    req = urllib.request.Request(root + path, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def run_mode(mode: str, data: Path, samples: int, max_connections: int, base: str, workdir: Path) -> dict[str, Any]:
    from inspect_ai import eval

    from emplifai.tasks.generation import generation

    # A fresh cache: a cached judge call costs nothing and would flatter the figures.
    os.environ["INSPECT_CACHE_DIR"] = str(workdir / f"cache-{mode}")
    _http(base, "/reset", "POST")
    start, cpu_start = time.perf_counter(), _cpu_seconds()
    log = eval(
        generation(data=str(data), n=samples, judge_mode=mode, source="model"),
        model="openai-api/fake/candidate",
        model_roles={"grader": "openai-api/fake/judge"},
        max_connections=max_connections,
        display="none",
        log_dir=str(workdir / "logs"),
    )[0]
    wall, cpu = time.perf_counter() - start, _cpu_seconds() - cpu_start
    if log.status != "success":
        raise RuntimeError(f"mode {mode}: eval {log.status}: {log.error.message if log.error else ''}")
    stats = _http(base, "/stats")
    assert log.samples is not None
    judged = [s.scores["rubric_judge"] for s in log.samples]
    return {
        "mode": mode,
        "samples": len(log.samples),
        "wall_s": wall,
        "cpu_s": cpu,
        "calls": stats["calls"],
        "max_in_flight": stats["max_in_flight"],
        "judge_structured": stats["judge_structured"],
        "judge_tokens_server": stats["prompt_tokens"]["judge"] + stats["completion_tokens"]["judge"],
        "judge_calls_scores": sum(s.metadata["judge_calls"] for s in judged),
        "judge_tokens_scores": sum(s.metadata.get("judge_total_tokens", 0) for s in judged),
        "unscored": sum(1 for s in judged if s.reason == "grader_failed"),
        "format_failures": sum(1 for s in judged if s.value["format_ok"] == 0),
        "log": log.location,
    }


def report(r: dict[str, Any], latency: float, max_connections: int, max_ratio: float) -> bool:
    n = r["samples"]
    calls = r["calls"]["candidate"] + r["calls"]["judge"]
    ideal = calls * latency / max_connections
    ratio = r["wall_s"] / ideal if ideal else float("inf")
    judge_per_sample = r["calls"]["judge"] / n
    ok = ratio <= max_ratio and (r["mode"] != "all" or judge_per_sample == 1)
    ok = ok and r["unscored"] == 0 and r["format_failures"] == 0 and r["judge_calls_scores"] == r["calls"]["judge"]
    print(
        f"{r['mode']:<10} samples={n} calls={calls} (candidate {r['calls']['candidate']}, judge {r['calls']['judge']}) "
        f"wall={r['wall_s']:.1f}s ideal={ideal:.1f}s ratio={ratio:.2f} eval_cpu={r['cpu_s']:.1f}s "
        f"judge_calls/sample={judge_per_sample:.2f} judge_tokens/sample={r['judge_tokens_server'] / n:.0f} "
        f"(from scores {r['judge_tokens_scores'] / n:.0f}) max_in_flight={r['max_in_flight']} "
        f"structured={r['judge_structured']}/{r['calls']['judge']} unscored={r['unscored']} "
        f"{'OK' if ok else 'FAIL'}"
    )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per fake API call")
    parser.add_argument("--max-connections", type=int, default=10)
    parser.add_argument("--modes", nargs="+", default=["all", "per_metric"], choices=["all", "per_metric"])
    parser.add_argument("--max-ratio", type=float, default=1.3, help="fail when wall > this x ideal")
    parser.add_argument("--timeout", type=float, default=600.0, help="hard limit for the whole bench (s)")
    args = parser.parse_args(argv)

    def _timeout(signum: int, frame: Any) -> None:
        raise TimeoutError(f"bench exceeded --timeout {args.timeout:.0f}s")

    signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(int(args.timeout))
    os.environ["FAKE_API_KEY"] = "fake-key"
    server, base = start_server(args.latency, lifetime=args.timeout + 60)
    os.environ["FAKE_BASE_URL"] = base
    ok = True
    try:
        with tempfile.TemporaryDirectory(prefix="judge-bench-") as tmp:
            workdir = Path(tmp)
            data = workdir / "bench_pairs.jsonl"
            pairs = write_bench_data(data)
            if pairs < args.samples:
                parser.error(f"--samples {args.samples} exceeds the {pairs} distinct pairs available")
            print(
                f"fake server {base}, latency {args.latency}s, max_connections {args.max_connections}, "
                f"{args.samples} samples of tasks/generation.py, load average {os.getloadavg()[0]:.1f} "
                f"on {os.cpu_count()} CPUs"
            )
            # Not measured: the first eval of a process pays one-off imports and client set-up.
            run_mode("all", data, 2, args.max_connections, base, workdir / "warmup")
            for mode in args.modes:
                ok = report(
                    run_mode(mode, data, args.samples, args.max_connections, base, workdir),
                    args.latency,
                    args.max_connections,
                    args.max_ratio,
                ) and ok
    finally:
        signal.alarm(0)
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
