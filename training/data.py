"""Canonical dialogue records -> TRL prompt-completion rows, built from the benchmark's own prompt.

A row is conversational prompt-completion: ``prompt`` = the system and user messages the
generation task sends (``generation_messages``, imported, never copied), ``completion`` = one
assistant message holding the record's dialogue in the format the benchmark's parser reads
(``reference_completion`` = ``format_dialogue`` of the four turns). TRL tokenises prompt and
prompt+completion with the model's chat template and masks the prompt out of the loss
(``completion_only_loss``), which works with any chat template; ``assistant_only_loss`` would
need ``{% generation %}`` markers that most templates (SmolLM2's, Llama-3's) lack.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from inspect_ai.model import ChatMessage

from emplifai.data.schema import DialogueRecord
from emplifai.solvers.generation_prompt import generation_messages, reference_completion


def message_dicts(messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
    """Inspect chat messages as the ``{"role", "content"}`` dicts chat templates take."""
    out = []
    for m in messages:
        if not isinstance(m.content, str):
            # The generation brief is plain text; anything else would need a multimodal template.
            raise ValueError(f"{m.role} message has non-text content; SFT rows take text only")
        out.append({"role": m.role, "content": m.content})
    return out


def sft_row(record: DialogueRecord, *, language: str = "ja", max_chars: int | None = None) -> dict[str, Any]:
    """One prompt-completion row for ``record``."""
    prompt = generation_messages(record.emotion, record.situation, language=language, max_chars=max_chars)
    try:
        completion = reference_completion(record, language)
    except ValueError as e:
        raise ValueError(f"dialogue {record.dialogue_id!r}: cannot be written as a training target: {e}") from e
    return {"prompt": message_dicts(prompt), "completion": [{"role": "assistant", "content": completion}]}


def sft_rows(
    records: Sequence[DialogueRecord], *, language: str = "ja", max_chars: int | None = None
) -> list[dict[str, Any]]:
    return [sft_row(r, language=language, max_chars=max_chars) for r in records]


def _ids(encoded: Any) -> list[int]:
    # apply_chat_template(tokenize=True) returns a list or a BatchEncoding depending on the version.
    return list(encoded["input_ids"] if hasattr(encoded, "keys") else encoded)


def token_lengths(rows: Sequence[dict[str, Any]], tokenizer: Any) -> list[tuple[int, int]]:
    """(prompt tokens, prompt+completion tokens) per row, tokenised as TRL does."""
    out = []
    for row in rows:
        prompt = _ids(tokenizer.apply_chat_template(row["prompt"], tokenize=True, add_generation_prompt=True))
        full = _ids(tokenizer.apply_chat_template(row["prompt"] + row["completion"], tokenize=True))
        out.append((len(prompt), len(full)))
    return out


def check_lengths(
    rows: Sequence[dict[str, Any]], records: Sequence[DialogueRecord], tokenizer: Any, max_length: int | None
) -> list[int]:
    """Token lengths of the rows; an error naming every dialogue longer than ``max_length``.

    TRL's "bfd" packing truncates a sequence longer than ``max_length`` without a word, which
    would cut the end of a dialogue (or all of it, when the prompt alone is longer) out of
    training; a valid dialogue is never silently dropped, so this fails instead.
    """
    lengths = token_lengths(rows, tokenizer)
    if max_length is not None:
        too_long = [(rec.dialogue_id, full) for rec, (_, full) in zip(records, lengths, strict=True) if full > max_length]
        if too_long:
            shown = ", ".join(f"{d} ({n} tokens)" for d, n in too_long[:10])
            more = f" and {len(too_long) - 10} more" if len(too_long) > 10 else ""
            raise ValueError(
                f"{len(too_long)} training dialogue(s) are longer than max_length={max_length} tokens with this "
                f"tokenizer: {shown}{more}. Raise max_length to at least {max(n for _, n in too_long)}."
            )
    return [full for _, full in lengths]
