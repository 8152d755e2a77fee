"""One judged question, asked until the judge's reply validates: the call, parse, retry and cache
steps every LLM judge of the project shares.

``ask_until_valid(grader, messages, parse, ...)``:

1. cache: a reply that validated in an earlier run is served from the verdict cache
   (``judge_cache``) and parsed again under today's rules; one that no longer validates is
   ignored (and overwritten by the next usable reply);
2. call: the grader is asked with ``cache=False`` (Inspect's cache would keep unusable replies);
3. parse: ``parse(reply)`` returns the answer or raises ``VerdictError``, whose message goes back
   to the judge as a corrective turn (``correction``) and into the record of the call;
4. retry: at most ``max_retries`` corrective retries, none when the judge's context window is
   full; a reply cut at the token limit says so in its error;
5. only a reply that validated is cached, under the first messages.

Every call and cache read is recorded (``Judgement.calls``): the Score keeps a reference to each
reply (sha256, length), not a copy, except for cached replies, which no model event holds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from inspect_ai.model import ChatMessage, ChatMessageAssistant, GenerateConfig, Model, ModelOutput

from emplifai.dialogue_format import strip_reasoning
from emplifai.scorers import judge_cache
from emplifai.scorers.judge_replies import reply_sha256
from emplifai.scorers.verdict import VerdictError

# A rejected reply is sent back to the judge with the correction; beyond this many characters it
# is cut (the judge only needs to see what went wrong, and the log need not copy it again).
RETRY_ECHO_CHARS = 2000


class Judgement:
    """The outcome of one judged question, with every call it took.

    A plain class, not a dataclass: `inspect score --scorer scorers/rubric_judge.py@rubric_judge`
    loads the scorer's file outside sys.modules, where dataclass creation failed.
    """

    def __init__(self, question: str) -> None:
        self.question = question
        self.answer: Any = None
        self.calls: list[dict[str, Any]] = []
        self.error: str | None = None
        self.error_kind: str | None = None  # of the last reply when failed: "ambiguous" | "invalid" | "context"


async def ask_until_valid(
    grader: Model,
    messages: list[ChatMessage],
    parse: Callable[[str], Any],
    *,
    question: str,
    correction: Callable[[str], ChatMessage],
    max_retries: int,
    config: GenerateConfig,
    use_cache: bool,
) -> Judgement:
    """A validated answer from the cache, else ask until a reply validates (at most
    1 + ``max_retries`` calls); see the module docstring."""
    out = Judgement(question)
    path = judge_cache.entry_path(grader, judge_cache.verdict_key(grader, messages, config)) if use_cache else None
    if _from_cache(out, path, parse):
        return out
    conversation = list(messages)
    for attempt in range(max_retries + 1):
        output = await grader.generate(conversation, config=config, cache=False)
        record = call_record(question, attempt, "model", output)
        out.calls.append(record)
        if output.stop_reason == "model_length" and not output.completion.lstrip().startswith("{"):
            # The judge's context window is full: a retry would only make the conversation longer.
            record["error"] = f"the judge's context window is full ({output.completion[:200]})"
            record["error_kind"] = "context"
            break
        try:
            out.answer = parse(output.completion)
        except VerdictError as e:
            record["error"], record["error_kind"] = _reply_error(output, e), e.kind
            if output.stop_reason == "model_length":
                break  # the reply filled the context window: a retry would not fit either
            conversation += [echo(output), correction(str(e))]
            continue
        judge_cache.store(path, output)
        return out
    last = out.calls[-1]
    out.error = f"{question}: {len(out.calls)} replies, none usable; last: {last['error']}"
    out.error_kind = last["error_kind"]
    return out


def _from_cache(out: Judgement, path: Any, parse: Callable[[str], Any]) -> bool:
    """The cache step: True when a cached reply still validates (``out.answer`` set)."""
    cached = judge_cache.fetch(path)
    if cached is None:
        return False
    record = call_record(out.question, None, "cache", cached)
    record["reply"] = cached.completion  # no model event in this log holds it
    out.calls.append(record)
    try:
        out.answer = parse(cached.completion)
        return True
    except VerdictError as e:
        # Stored under older, looser rules: ignore it; the next usable reply overwrites it.
        record["error"], record["error_kind"] = str(e), e.kind
        return False


def _reply_error(output: ModelOutput, error: VerdictError) -> str:
    """The parse error, led by what happened when the reply stopped at a token limit."""
    if output.stop_reason in ("max_tokens", "model_length"):
        return f"cut at the token limit ({output.stop_reason}): {error}"
    return str(error)


def call_record(question: str, attempt: int | None, source: str, output: ModelOutput) -> dict[str, Any]:
    """What the Score keeps of one reply: a reference to it (sha256, length), not a copy."""
    text = output.completion
    _, reasoning = strip_reasoning(text)
    return {
        "metric": question,
        "attempt": attempt,
        "source": source,
        "model": output.model,
        "reply_sha256": reply_sha256(text),
        "reply_chars": len(text),
        "reasoning_chars": len(reasoning),
        "usage": output.usage.model_dump(exclude_none=True) if output.usage else None,
        "error": None,
        "error_kind": None,
    }


def echo(output: ModelOutput) -> ChatMessageAssistant:
    """The rejected reply as the judge's turn of the retry conversation: reasoning removed, cut to
    RETRY_ECHO_CHARS."""
    text, _ = strip_reasoning(output.completion)
    text = text.strip()
    if len(text) > RETRY_ECHO_CHARS:
        text = text[:RETRY_ECHO_CHARS] + f"\n[... {len(text) - RETRY_ECHO_CHARS} characters cut]"
    return ChatMessageAssistant(content=text or "(empty)", model=output.model)


def token_totals(calls: list[dict[str, Any]]) -> dict[str, int]:
    """Tokens of the calls made in this run (cache reads cost nothing)."""
    totals = {"judge_input_tokens": 0, "judge_output_tokens": 0, "judge_total_tokens": 0}
    for c in calls:
        usage = c["usage"] or {}
        totals["judge_input_tokens"] += usage.get("input_tokens", 0)
        totals["judge_output_tokens"] += usage.get("output_tokens", 0)
        totals["judge_total_tokens"] += usage.get("total_tokens", 0)
    return totals
