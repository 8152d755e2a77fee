"""The gguf/ judge under llama.cpp's attention settings: flash attention and the key cache type.

For each setting, a new process runs the bundled judge (SmolLM2-135M-Instruct) through the
``gguf/`` provider, prompt cache off, and measures:

- prompt tokens/s: the structured Japanese judge prompt of one dialogue (~7,000 tokens), 1 token out;
- generated tokens/s at long context: the same prompt again (llama.cpp reuses all of it but the
  last token), ``--long-tokens`` generated under the judge's schema: what a verdict's decoding costs;
- generated tokens/s at short context: a short prompt, ``--short-tokens`` generated;
- a verdict, s: the next dialogue judged after it (the rubric prefix in the slot), at most
  ``--judge-tokens``: the per-verdict cost of every sample after the first.

    .venv/bin/python bench/attention.py
    .venv/bin/python bench/attention.py --settings off:q8_0,auto:f16

Prints one JSON line per setting and a Markdown table; nothing here uses the network.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

# bench/ is on sys.path when this file runs as a script (and in its child processes).
from local_engine import _call, _judge_inputs, _judge_schema, print_table, run_children

DEFAULT_SETTINGS = "auto:f16,off:f16,off:q8_0,on:q8_0"


async def _measure(flash_attn: str, cache_type_k: str, long_tokens: int, short_tokens: int,
                   judge_tokens: int) -> dict[str, Any]:
    from inspect_ai.model import ChatMessageUser, get_model

    model = get_model("gguf/smollm2-135m", slots=1, prompt_cache="false", flash_attn=flash_attn,
                      cache_type_k=cache_type_k)
    t = time.monotonic()
    await _call(model, [ChatMessageUser(content="Hi")], 1)
    load_s = time.monotonic() - t
    schema = _judge_schema("ja")
    prompt = await _call(model, _judge_inputs("ja", 0), 1, schema)
    long = await _call(model, _judge_inputs("ja", 0), long_tokens, schema)
    verdict = await _call(model, _judge_inputs("ja", 1), judge_tokens, schema)
    story = [ChatMessageUser(content="Write a long, detailed story about a lighthouse keeper and a storm.")]
    short = await _call(model, story, short_tokens)
    return {
        "setting": f"flash_attn={flash_attn}, cache_type_k={cache_type_k}",
        "load_s": round(load_s, 1),
        "prompt_tokens": prompt["in"],
        "prompt_tok_per_s": round(prompt["in"] / prompt["s"], 1),
        "long_context_gen_tok_per_s": round(long["out"] / long["s"], 1),
        "long_context_generated": long["out"],
        "short_context_gen_tok_per_s": round(short["out"] / short["s"], 1),
        "verdict_s": round(verdict["s"], 1),
        "verdict_tokens_in_out": [verdict["in"], verdict["out"]],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--settings", default=DEFAULT_SETTINGS, help="flash_attn:cache_type_k pairs, comma-separated")
    ap.add_argument("--long-tokens", type=int, default=200)
    ap.add_argument("--short-tokens", type=int, default=128)
    ap.add_argument("--judge-tokens", type=int, default=300)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        fa, kv = args.child.split(":")
        result = asyncio.run(_measure(fa, kv, args.long_tokens, args.short_tokens, args.judge_tokens))
        print(json.dumps(result), flush=True)
        return 0
    rows = run_children([[sys.executable, __file__, "--child", setting, "--long-tokens", str(args.long_tokens),
                          "--short-tokens", str(args.short_tokens), "--judge-tokens", str(args.judge_tokens)]
                         for setting in args.settings.split(",")])
    if isinstance(rows, int):
        return rows
    print_table(rows, "setting")
    return 0


if __name__ == "__main__":
    sys.exit(main())
