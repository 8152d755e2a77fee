"""The SFTTrainer that training/sft.py builds: loss on the dialogue only, dialogues packed whole,
packed dialogues never attend to each other. Real SmolLM2 model and tokenizer, no training step."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from emplifai.solvers.generation_prompt import reference_completion
from emplifai.training.sft import parse_args, prepare

SMOKE = Path(__file__).parent.parent / "training" / "configs" / "smoke-cpu-smollm2.yaml"


@pytest.fixture(scope="module")
def prep(local_model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("sft")
    script, train, model = parse_args([
        "--config", str(SMOKE), "--output_dir", str(out), "--max_train_dialogues", "3", "--max_length", "4608",
        "--global_batch_size", "4", "--per_device_train_batch_size", "2",
    ])
    return prepare(script, train, model)


def test_batch_and_loss_settings(prep) -> None:
    args = prep.trainer.args
    assert (args.per_device_train_batch_size, prep.world_size, args.gradient_accumulation_steps) == (2, 1, 2)
    assert prep.trainer.completion_only_loss is True
    assert prep.trainer.padding_free is True  # implied by bfd packing


def test_three_dialogues_packed_whole_into_one_row(prep) -> None:
    ds = prep.trainer.train_dataset
    assert prep.n_rows == len(ds) == 1
    row = ds[0]
    assert sorted(row["seq_lengths"]) == sorted(prep.token_lengths)
    assert len(row["input_ids"]) == sum(prep.token_lengths) <= 4608


def test_labels_cover_exactly_each_dialogue_and_its_end_of_turn(prep) -> None:
    tok = prep.trainer.processing_class
    row = prep.trainer.train_dataset[0]
    expected = {reference_completion(rec) + tok.eos_token + "\n" for rec in prep.split.train}
    start, seen = 0, set()
    for length in row["seq_lengths"]:
        labels = row["labels"][start:start + length]
        ids = row["input_ids"][start:start + length]
        first = next(i for i, lab in enumerate(labels) if lab != -100)
        # prompt masked, completion kept, one contiguous span to the end of the dialogue
        assert all(lab == -100 for lab in labels[:first])
        assert labels[first:] == ids[first:]
        assert tok.decode(ids[:first]).endswith("<|im_start|>assistant\n")
        seen.add(tok.decode(labels[first:]))
        start += length
    assert seen == expected


def test_collator_restarts_positions_per_dialogue(prep) -> None:
    row = prep.trainer.train_dataset[0]
    batch = prep.trainer.data_collator([row])
    assert "attention_mask" not in batch  # padding-free: boundaries come from position_ids
    pos = batch["position_ids"][0].tolist()
    starts = [i for i, p in enumerate(pos) if p == 0]
    lengths = row["seq_lengths"]
    assert starts == [sum(lengths[:k]) for k in range(len(lengths))]
    # the first token of a dialogue is never predicted from the previous dialogue
    assert all(batch["labels"][0, s].item() == -100 for s in starts)


def test_packed_dialogues_do_not_attend_to_each_other(prep) -> None:
    # transformers builds a block-diagonal mask from restarting position ids (sdpa/eager), so a
    # packed forward equals separate forwards; flash-attention uses the same position ids.
    model = prep.trainer.model.eval()
    a = torch.randint(100, 40000, (1, 24))
    b = torch.randint(100, 40000, (1, 16))
    with torch.no_grad():
        packed = model(input_ids=torch.cat([a, b], 1),
                       position_ids=torch.cat([torch.arange(24), torch.arange(16)])[None], use_cache=False).logits
        alone_a = model(input_ids=a, use_cache=False).logits
        alone_b = model(input_ids=b, use_cache=False).logits
    torch.testing.assert_close(packed[:, :24], alone_a, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(packed[:, 24:], alone_b, atol=1e-4, rtol=1e-4)
