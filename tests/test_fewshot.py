import pytest

from emplifai.data.schema import DialogueRecord
from emplifai.fewshot import draw_examples


def _rec(did: str, sid: str) -> DialogueRecord:
    return DialogueRecord(did, sid, "joy", f"situation {sid}", "p1", "s1", "p2", "s2")


RECORDS = [_rec(f"{s}-d{d}", s) for s in ("a", "b", "c", "d") for d in (1, 2)]


def test_examples_come_from_other_situations_one_each():
    ex = draw_examples(RECORDS, RECORDS[0], 3, seed=1)
    assert len(ex) == 3
    assert {e.situation_id for e in ex} == {"b", "c", "d"}


def test_draw_is_reproducible_and_order_independent():
    a = draw_examples(RECORDS, RECORDS[2], 2, seed=7)
    b = draw_examples(list(reversed(RECORDS)), RECORDS[2], 2, seed=7)
    assert [e.dialogue_id for e in a] == [e.dialogue_id for e in b]
    assert draw_examples(RECORDS, RECORDS[2], 0, seed=7) == []


def test_too_few_situations_is_an_error_not_fewer_examples():
    with pytest.raises(ValueError, match="fewshot=4 needs 4 situations"):
        draw_examples(RECORDS, RECORDS[0], 4, seed=1)
