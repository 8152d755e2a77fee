"""A fake OpenAI-compatible chat-completions server for throughput benchmarks (no real model).

Every call waits a fixed latency, then answers:
- a judge call (the prompt holds the judge's dialogue fence) with valid rubric JSON: all seven
  metrics, or the one metric a per_metric prompt asks for, scores derived from a hash of the
  prompt so they vary but repeat exactly for the same prompt;
- any other call (the candidate) with a valid four-turn Japanese dialogue carrying a serial
  number, so no two dialogues are alike and the judge's cache never short-circuits a bench run.

It counts calls, the largest number of calls in flight, and tokens (fake tokens: one per
character, a stand-in for a tokenizer that would need the network), per kind, at ``GET /stats``;
``POST /reset`` zeroes them. Streaming is refused (Inspect's openai-api provider does not stream
unless asked).

    python bench/fake_openai_server.py --port 0 --latency 1.0
    # prints "LISTENING http://127.0.0.1:<port>/v1", then serves until killed or --lifetime ends.

Inspect reaches it as ``openai-api/fake/<name>`` with FAKE_BASE_URL=http://127.0.0.1:<port>/v1
and FAKE_API_KEY=<anything>.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import socket
import sys
import time
from typing import Any

from emplifai.deps import exit_if_missing  # noqa: E402

exit_if_missing("uvicorn", "starlette", extra="serve", purpose="bench/fake_openai_server.py")

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from emplifai.dialogue_format import format_dialogue
from emplifai.judge_metrics import METRIC_KEYS
from emplifai.scorers.judge_prompt import FENCE_OPEN

_ASKED_METRIC = re.compile(r"^## .+ \((\w+)\)$", re.MULTILINE)


class Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.calls = {"candidate": 0, "judge": 0}
        self.prompt_tokens = {"candidate": 0, "judge": 0}
        self.completion_tokens = {"candidate": 0, "judge": 0}
        self.judge_structured = 0  # judge calls that carried a response_format json_schema
        self.in_flight = 0
        self.max_in_flight = 0
        self.serial = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "judge_structured": self.judge_structured,
            "max_in_flight": self.max_in_flight,
        }


def _content_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _judge_reply(prompt: str, system: str) -> str:
    digest = hashlib.sha256(prompt.encode("utf-8")).digest()
    scores = {key: 1 + digest[i] % 5 for i, key in enumerate(METRIC_KEYS)}
    asked = _ASKED_METRIC.findall(system)
    if len(asked) == 1:
        return json.dumps({"rationale": "ベンチ用の固定の根拠です。", "score": scores[asked[0]]}, ensure_ascii=False)
    return json.dumps(
        {k: {"rationale": "ベンチ用の固定の根拠です。", "score": v} for k, v in scores.items()}, ensure_ascii=False
    )


def _candidate_reply(serial: int) -> str:
    return format_dialogue(
        [
            f"通院の帰り道、急に不安になってしまいました。（{serial}）",
            "急に不安が押し寄せてきたのですね。そう感じるのは自然なことだと思います。",
            "はい、誰かに聞いてほしくて。",
            "話してくださってありがとうございます。落ち着くまで、ここで一緒にゆっくり話しましょう。",
        ]
    )


def build_app(latency: float) -> Starlette:
    stats = Stats()

    async def chat(request: Request) -> JSONResponse:
        body = await request.json()
        if body.get("stream"):
            return JSONResponse({"error": {"message": "the fake server does not stream"}}, status_code=400)
        messages = body.get("messages") or []
        prompt = "\n".join(_content_text(m) for m in messages)
        system = next((_content_text(m) for m in messages if m.get("role") in ("system", "developer")), "")
        kind = "judge" if FENCE_OPEN in prompt else "candidate"
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        try:
            await asyncio.sleep(latency)
        finally:
            stats.in_flight -= 1
        stats.serial += 1
        reply = _judge_reply(prompt, system) if kind == "judge" else _candidate_reply(stats.serial)
        stats.calls[kind] += 1
        stats.prompt_tokens[kind] += len(prompt)
        stats.completion_tokens[kind] += len(reply)
        if kind == "judge" and (body.get("response_format") or {}).get("type") == "json_schema":
            stats.judge_structured += 1
        return JSONResponse(
            {
                "id": f"fake-{stats.serial}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "fake"),
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}
                ],
                "usage": {
                    "prompt_tokens": len(prompt),
                    "completion_tokens": len(reply),
                    "total_tokens": len(prompt) + len(reply),
                },
            }
        )

    async def get_stats(request: Request) -> JSONResponse:
        return JSONResponse(stats.as_dict())

    async def reset(request: Request) -> JSONResponse:
        stats.reset()
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/stats", get_stats, methods=["GET"]),
            Route("/reset", reset, methods=["POST"]),
        ]
    )


async def serve(host: str, port: int, latency: float, lifetime: float) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    print(f"LISTENING http://{host}:{sock.getsockname()[1]}/v1", flush=True)
    config = uvicorn.Config(build_app(latency), log_level="warning", access_log=False, backlog=2048)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    # Never outlive a forgotten benchmark: stop after `lifetime` seconds.
    done, _ = await asyncio.wait({task}, timeout=lifetime)
    if not done:
        server.should_exit = True
        await task


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = any free port (printed on start)")
    parser.add_argument("--latency", type=float, default=1.0, help="seconds each call takes (default 1)")
    parser.add_argument("--lifetime", type=float, default=1800.0, help="stop after this many seconds")
    args = parser.parse_args(argv)
    if args.latency < 0:
        parser.error("--latency must be >= 0")
    asyncio.run(serve(args.host, args.port, args.latency, args.lifetime))
    return 0


if __name__ == "__main__":
    sys.exit(main())
