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
    return judge_messages(
        load_rubrics(language), ParsedDialogue(turns=tuple(rec.turn_texts())),  # type: ignore[arg-type]
        emotion=rec.emotion, emotion_ja=BY_LABEL[rec.emotion].ja, situation=rec.situation,
    )


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

    from emplifai.scorers.judge_prompt import response_schema

    t = time.monotonic()
    model = _model(engine, threads)
    # The first request loads the model (gguf/: starts the server); timed apart.
    await _call(model, [ChatMessageUser(content="Hi")], 1)
    load_s = time.monotonic() - t
    other = "en" if language == "ja" else "ja"
    pp = await _call(model, _judge_inputs(other, 0), 1)
    story = [ChatMessageUser(content="Write a long, detailed story about a lighthouse keeper and a storm.")]
    gen = await _call(model, story, gen_tokens)
    schema = response_schema(None)
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
    ap.add_argument("--child", choices=ENGINES, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child, args.language, args.judge_tokens, args.gen_tokens, int(args.threads or 0) or None)
        return 0
    rows = []
    runs = [(e, t) for e in args.engines.split(",") for t in (args.threads.split(",") if e == "gguf" else [""])]
    for engine, threads in runs:
        cmd = [sys.executable, __file__, "--child", engine, "--language", args.language, "--threads", threads,
               "--judge-tokens", str(args.judge_tokens), "--gen-tokens", str(args.gen_tokens)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            print(out.stderr[-3000:], file=sys.stderr)
            return out.returncode
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    keys = [k for k in rows[0] if k not in ("engine", "model")]
    print("\n| measure | " + " | ".join(r["engine"] for r in rows) + " |")
    print("|---|" + "---|" * len(rows))
    for k in keys:
        print(f"| {k} | " + " | ".join(str(r[k]) for r in rows) + " |")
    hf = next((r for r in rows if r["engine"] == "hf"), None)
    for gg in (r for r in rows if r["engine"] != "hf"):
        if hf is not None:
            print(f"judge call speed-up (hf / {gg['engine']}): first {hf['judge_first_s'] / gg['judge_first_s']:.1f}x, "
                  f"cached {hf['judge_cached_s'] / gg['judge_cached_s']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
