"""SFT rows are the benchmark's own prompt and a target its parser reads back."""

from __future__ import annotations

import dataclasses

import pytest
from transformers import AutoTokenizer

from emplifai.data.loaders import load_dialogues
from emplifai.dialogue_format import ParsedDialogue, parse_dialogue
from emplifai.solvers.generation_prompt import generation_messages
from emplifai.tasks.generation import generation
from emplifai.training.data import check_lengths, sft_row, sft_rows, token_lengths


@pytest.fixture(scope="module")
def records():
    return load_dialogues()


def test_prompt_is_the_generation_task_input(records) -> None:
    # The task's sample input for a situation and the training prompt for that situation agree.
    task = generation(n=3, seed=42, max_chars=120)
    by_id = {r.dialogue_id: r for r in records}
    for sample in task.dataset:
        rec = by_id[sample.metadata["reference_dialogue_id"]]
        row = sft_row(rec, max_chars=120)
        assert row["prompt"] == [{"role": m.role, "content": m.content} for m in sample.input]


@pytest.mark.parametrize("language", ["ja", "en"])
def test_completion_parses_back_to_the_turns(records, language: str) -> None:
    for rec in records[:10]:
        row = sft_row(rec, language=language)
        assert [m["role"] for m in row["prompt"]] == ["system", "user"]
        assert row["prompt"][1]["content"] == generation_messages(rec.emotion, rec.situation, language=language)[1].content
        [assistant] = row["completion"]
        assert assistant["role"] == "assistant"
        parsed = parse_dialogue(assistant["content"])
        assert isinstance(parsed, ParsedDialogue) and parsed.turns == rec.turn_texts()


def test_untrainable_target_names_the_dialogue(records) -> None:
    bad = dataclasses.replace(records[0], supporter_1="よかった\n患者：ありがとう")
    with pytest.raises(ValueError, match=records[0].dialogue_id):
        sft_row(bad)


def test_too_long_dialogues_are_refused_by_id(records, local_model_dir) -> None:
    tok = AutoTokenizer.from_pretrained(local_model_dir)
    rows = sft_rows(records[:4])
    lengths = token_lengths(rows, tok)
    assert all(p < full for p, full in lengths)
    assert check_lengths(rows, records[:4], tok, None) == [full for _, full in lengths]
    limit = sorted(full for _, full in lengths)[1]  # two rows fit, two do not
    with pytest.raises(ValueError, match="2 training dialogue") as err:
        check_lengths(rows, records[:4], tok, limit)
    longest = max(range(4), key=lambda i: lengths[i][1])
    assert records[longest].dialogue_id in str(err.value)
