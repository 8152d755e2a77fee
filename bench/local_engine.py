"""The offline model through two engines, side by side: transformers (Inspect's ``hf/local`` on the
HF folder converted from the GGUF, see emplifai/local_model.py) and llama.cpp (``gguf/``).

Same model (SmolLM2-135M-Instruct, from the same GGUF file), same prompts, same settings (greedy,
the same token limits, the judge's response schema passed to both; ``hf/`` ignores it). Each engine
runs in its own child process, so each peak RSS is its own (for gguf/ the Inspect process and the
server process are both counted). Measured per engine:

- prompt tokens/s: a judge prompt in the other rubric language (no shared prefix with what
  follows), 1 token generated: input tokens / seconds;
- generated tokens/s: a short prompt that makes the model write at length, ``--gen-tokens``
  generated: output tokens / seconds;
- seconds per judge call, first: the real rubric-judge prompt (seven metrics) for one dialogue
  of the bundled sample set, ``--judge-tokens`` at most;
- seconds per judge call, cached: the same for another dialogue right after (llama.cpp reuses the
  rubric prefix it has just computed; transformers computes everything again).

    .venv/bin/python bench/local_engine.py --language ja --judge-tokens 300 --gen-tokens 128
    .venv/bin/python bench/local_engine.py --engines gguf --threads 1,2   # llama.cpp threads compared
    .venv/bin/python bench/local_engine.py --warm-start --language ja --judge-tokens 300

``--warm-start`` (gguf/ only) times the first verdict of the judge three ways, each from the moment
the model is asked for it (server start included): cold (a new process, an empty prompt cache), warm
in-process (the next verdict on the server the cold run started: the prefix is in its slot), and
restored (a new process whose server restores the prefix the cold run saved to disk). Each run is
the judge's real request: the structured prompt, the response schema with its rationale bound.

The model load is timed apart (``load_s``) and never counted in the per-call figures. Nothing here
uses the network.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

ENGINES = ("hf", "gguf")


def _judge_inputs(language: str, index: int) -> list[Any]:
    from emplifai.data import SAMPLE_PATH
    from emplifai.data.loaders import load_dialogues
    from emplifai.dialogue_format import ParsedDialogue
    from emplifai.scorers.judge_prompt import judge_messages
    from emplifai.scorers.rubrics import load_rubrics
    from emplifai.taxonomy import BY_LABEL

    rec = load_dialogues(SAMPLE_PATH)[index]
    # structured=True: what the rubric judge sends an engine that takes a response schema (gguf/).
    return judge_messages(
        load_rubrics(language), ParsedDialogue(turns=tuple(rec.turn_texts())),  # type: ignore[arg-type]
        emotion=rec.emotion, emotion_ja=BY_LABEL[rec.emotion].ja, situation=rec.situation, structured=True,
    )


def _judge_schema(language: str) -> Any:
    """The rubric judge's schema on gguf/: scores as enums, each rationale bounded (maxLength)."""
    from emplifai.judge_metrics import METRIC_KEYS
    from emplifai.scorers.judge_prompt import RATIONALE_MAX_CHARS, response_schema

    return response_schema(None, METRIC_KEYS, RATIONALE_MAX_CHARS[language])


def _model(engine: str, threads: int | None) -> Any:
    from inspect_ai.model import get_model

    if engine == "gguf":
        return get_model("gguf/smollm2-135m", slots=1, **({"threads": threads} if threads else {}))
    from emplifai.local_model import inspect_model_args, prepare_local_model

    name, args = inspect_model_args(prepare_local_model())
    return get_model(name, **args)


async def _call(model: Any, messages: Any, max_tokens: int, schema: Any = None) -> dict[str, float]:
    from inspect_ai.model import GenerateConfig

    cfg = GenerateConfig(temperature=0, max_tokens=max_tokens, response_schema=schema)
    t = time.monotonic()
    out = await model.generate(messages, config=cfg)
    s = time.monotonic() - t
    usage = out.usage
    return {"s": s, "in": usage.input_tokens if usage else 0, "out": usage.output_tokens if usage else 0}


async def _measure(engine: str, language: str, judge_tokens: int, gen_tokens: int,
                   threads: int | None) -> dict[str, Any]:
    from inspect_ai.model import ChatMessageUser

    t = time.monotonic()
    model = _model(engine, threads)
    # The first request loads the model (gguf/: starts the server); timed apart.
    await _call(model, [ChatMessageUser(content="Hi")], 1)
    load_s = time.monotonic() - t
    other = "en" if language == "ja" else "ja"
    pp = await _call(model, _judge_inputs(other, 0), 1)
    story = [ChatMessageUser(content="Write a long, detailed story about a lighthouse keeper and a storm.")]
    gen = await _call(model, story, gen_tokens)
    schema = _judge_schema(language)
    first = await _call(model, _judge_inputs(language, 1), judge_tokens, schema)
    cached = await _call(model, _judge_inputs(language, 2), judge_tokens, schema)
    return {
        "engine": engine if engine == "hf" else f"gguf threads={model.api.key.threads}",
        "model": str(model),
        "load_s": round(load_s, 1),
        "prompt_tokens": pp["in"],
        "prompt_tok_per_s": round(pp["in"] / pp["s"], 1),
        "generated_tokens": gen["out"],
        "gen_tok_per_s": round(gen["out"] / gen["s"], 1),
        "judge_prompt_tokens": first["in"],
        "judge_output_tokens": [first["out"], cached["out"]],
        "judge_first_s": round(first["s"], 1),
        "judge_cached_s": round(cached["s"], 1),
    }


async def _first_verdicts(language: str, judge_tokens: int, count: int) -> list[dict[str, float]]:
    """``count`` judge calls on dialogues 1, 2, ... timed from model creation (the first includes
    the server start and, if the cache has one, the prefix restore)."""
    from inspect_ai.model import get_model

    t = time.monotonic()
    model = get_model("gguf/smollm2-135m", slots=1)
    calls = []
    for index in range(1, count + 1):
        call = await _call(model, _judge_inputs(language, index), judge_tokens, _judge_schema(language))
        call["s"] = time.monotonic() - t if index == 1 else call["s"]
        calls.append(call)
    return calls


def _warm_child(phase: str, language: str, judge_tokens: int) -> None:
    from emplifai.providers import gguf_server

    calls = asyncio.run(_first_verdicts(language, judge_tokens, 2 if phase == "cold" else 1))
    gguf_server.save_prompt_caches()
    print(json.dumps({"phase": phase, "calls": calls, "events": gguf_server.prompt_cache_events}), flush=True)


def _warm_start(language: str, judge_tokens: int) -> int:
    import tempfile

    env = {**os.environ, "EMPLIFAI_PROMPT_CACHE": tempfile.mkdtemp(prefix="emplifai-bench-prompt-cache-")}
    phases = ("cold", "restored")
    got = run_children([[sys.executable, __file__, "--warm-child", phase, "--language", language,
                         "--judge-tokens", str(judge_tokens)] for phase in phases], env=env)
    if isinstance(got, int):
        return got
    rows = dict(zip(phases, got, strict=True))
    cold, warm = rows["cold"]["calls"]
    [restored] = rows["restored"]["calls"]
    print(f"\n| seconds to the first verdict ({language} rubric, structured) | s | judge prompt tokens computed |")
    print("|---|---|---|")
    for name, call in (("cold: new process, empty prompt cache", cold),
                       ("warm: the next verdict on the same server (in-process)", warm),
                       ("restored: new process, prefix restored from disk", restored)):
        print(f"| {name} | {call['s']:.1f} | {call['in']} |")
    print(f"restored / cold: {restored['s'] / cold['s']:.2f}")
    return 0


def run_children(cmds: list[list[str]], env: dict[str, str] | None = None) -> list[dict[str, Any]] | int:
    """Each command in a process of its own, in turn: the JSON of its last output line (printed as
    it comes), or the exit code of the first that fails (its stderr's tail printed)."""
    rows = []
    for cmd in cmds:
        out = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
        if out.returncode != 0:
            print(out.stderr[-3000:], file=sys.stderr)
            return out.returncode
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    return rows


def print_table(rows: list[dict[str, Any]], label: str, skip: tuple[str, ...] = ()) -> None:
    """A Markdown table: one column per row (headed by its ``label`` value), one line per measure."""
    print("\n| measure | " + " | ".join(str(r[label]) for r in rows) + " |")
    print("|---|" + "---|" * len(rows))
    for k in (k for k in rows[0] if k != label and k not in skip):
        print(f"| {k} | " + " | ".join(str(r[k]) for r in rows) + " |")


def _child(engine: str, language: str, judge_tokens: int, gen_tokens: int, threads: int | None) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    result = asyncio.run(_measure(engine, language, judge_tokens, gen_tokens, threads))
    if engine == "gguf":
        from emplifai.providers.gguf_server import stop_all_servers

        stop_all_servers()  # waits for the server, so its peak RSS is in RUSAGE_CHILDREN
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    server = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result["peak_rss_mb"] = round((own + server) / 1024)
    print(json.dumps(result), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--language", choices=("ja", "en"), default="ja", help="rubric language of the judge calls")
    ap.add_argument("--judge-tokens", type=int, default=300)
    ap.add_argument("--gen-tokens", type=int, default=128)
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--threads", default="", help="gguf/ thread counts to run, comma-separated (default: its default)")
    ap.add_argument("--warm-start", action="store_true", help="gguf/ only: first verdict cold, warm, restored")
    ap.add_argument("--child", choices=ENGINES, help=argparse.SUPPRESS)
    ap.add_argument("--warm-child", choices=("cold", "restored"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.warm_child:
        _warm_child(args.warm_child, args.language, args.judge_tokens)
        return 0
    if args.warm_start:
        return _warm_start(args.language, args.judge_tokens)
    if args.child:
        _child(args.child, args.language, args.judge_tokens, args.gen_tokens, int(args.threads or 0) or None)
        return 0
    runs = [(e, t) for e in args.engines.split(",") for t in (args.threads.split(",") if e == "gguf" else [""])]
    rows = run_children([[sys.executable, __file__, "--child", engine, "--language", args.language, "--threads",
                          threads, "--judge-tokens", str(args.judge_tokens), "--gen-tokens", str(args.gen_tokens)]
                         for engine, threads in runs])
    if isinstance(rows, int):
        return rows
    print_table(rows, "engine", skip=("model",))
    hf = next((r for r in rows if r["engine"] == "hf"), None)
    for gg in (r for r in rows if r["engine"] != "hf"):
        if hf is not None:
            print(f"judge call speed-up (hf / {gg['engine']}): first {hf['judge_first_s'] / gg['judge_first_s']:.1f}x, "
                  f"cached {hf['judge_cached_s'] / gg['judge_cached_s']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
