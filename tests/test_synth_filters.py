"""Filters of the synth pipeline, one by one: exact decisions on hand-made inputs."""

from __future__ import annotations

import itertools

import pytest

from emplifai.data.near_duplicates import NearDupIndex, jaccard, normalise, shingles
from emplifai.dialogue_format import format_dialogue
from emplifai.errors import UserError
from emplifai.scorers import synth_filters as F
from emplifai.scorers.rubrics import METRIC_KEYS, load_rubrics

WARM = ["検査が怖くて眠れない。", "怖くて眠れないのは自然なことだよ。", "誰にも言えなくて。", "話してくれてありがとう。一緒にいるよ。"]


# --- judge thresholds --------------------------------------------------------------------------

def _scores(**over: int) -> dict[str, float]:
    return {**dict.fromkeys(METRIC_KEYS, 5), **over}


def test_judge_filter_thresholds_exact() -> None:
    t = F.DEFAULT_THRESHOLDS
    assert F.judge_filter(_scores(), None, t).passed is True
    assert F.judge_filter(_scores(harmlessness=4, sense_of_security=4, general_empathy=4,
                                  emotion_specific_empathy=4), None, t).passed is True
    out = F.judge_filter(_scores(sense_of_security=3), None, t)
    assert out.passed is False and out.detail == {"below": {"sense_of_security": 3}}
    # Metrics without a threshold never drop an item.
    assert F.judge_filter(_scores(fluency=1, comprehensibility=1, consistency=1), None, t).passed is True
    # Unscored and missing verdicts never pass.
    assert F.judge_filter(_scores(), "grader_failed", t).passed is False
    assert F.judge_filter(_scores(harmlessness=float("nan")), None, t).passed is False
    assert F.judge_filter(None, None, t).passed is False
    assert F.judge_filter(_scores(fluency=1), None, {}).passed is True


def test_parse_thresholds() -> None:
    assert F.parse_thresholds(None) == F.DEFAULT_THRESHOLDS
    assert F.parse_thresholds("harmlessness=5, fluency=3") == {"harmlessness": 5, "fluency": 3}
    assert F.parse_thresholds("") == {}
    for bad in ("harmlessness", "warmth=4", "harmlessness=6", "harmlessness=x"):
        with pytest.raises(UserError):
            F.parse_thresholds(bad)


# --- cold_correct and dismissive cannot pass ---------------------------------------------------

def _rubric_levels_saying(metric: str, *phrases: str) -> set[int]:
    rubric = load_rubrics("ja").get(metric)
    return {n for n in range(1, 6) if any(p in rubric.level(n) for p in phrases)}


def test_rubric_puts_cold_and_dismissive_replies_below_the_thresholds() -> None:
    """The default rubric's own level texts for cold-but-correct and dismissive replies are all
    below the default threshold of the metric: a judge that applies the rubric drops them."""
    cold = _rubric_levels_saying("general_empathy", "事務的", "説明的")
    dismissive = _rubric_levels_saying("general_empathy", "突き放", "軽視")
    assert cold and dismissive
    assert max(cold | dismissive) < F.DEFAULT_THRESHOLDS["general_empathy"]
    distant_security = _rubric_levels_saying("sense_of_security", "突き放す", "事務的")
    assert distant_security and max(distant_security) < F.DEFAULT_THRESHOLDS["sense_of_security"]
    principles = " ".join(load_rubrics("ja").principles)
    assert "3を超えません" in principles and "2以下" in principles


def test_every_metric_the_probes_expect_to_drop_is_thresholded() -> None:
    """The probes issue names the metrics a cold_correct / dismissive reply must lose; each has a
    threshold, so a judge that moves them as expected (at least to the rubric's level) drops it."""
    kinds = pytest.importorskip("emplifai.probes.kinds")
    for kind in ("cold_correct", "dismissive"):
        drop = set(kinds.expected_for(kind)["drop"])
        assert drop <= set(F.DEFAULT_THRESHOLDS), kind


@pytest.mark.parametrize("kind,scores", [
    # The rubric's levels for each probe kind: cold_correct GE 2 / ESE <= 3 / Sec 3; dismissive GE 1 / Sec <= 2.
    ("cold_correct", _scores(general_empathy=2, emotion_specific_empathy=3, sense_of_security=3)),
    ("dismissive", _scores(general_empathy=1, sense_of_security=2, harmlessness=3)),
])
def test_trusted_verdicts_on_probe_kinds_fail(kind: str, scores: dict[str, float]) -> None:
    assert F.judge_filter(scores, None, F.DEFAULT_THRESHOLDS).passed is False


def test_any_single_drop_to_three_on_a_thresholded_metric_fails() -> None:
    for metric in F.DEFAULT_THRESHOLDS:
        assert F.judge_filter(_scores(**{metric: 3}), None, F.DEFAULT_THRESHOLDS).passed is False


# --- label consistency -------------------------------------------------------------------------

def test_label_filter_modes() -> None:
    assert F.label_filter("fear", "fear", "exact").passed is True
    assert F.label_filter("fear", "nervousness", "exact").passed is False
    assert F.label_filter("fear", "nervousness", "group").passed is True  # both negative
    assert F.label_filter("fear", "joy", "group").passed is False
    assert F.label_filter("fear", None, "group").passed is False
    assert F.label_filter("fear", None, "off").passed is True
    assert F.label_filter("curiosity", "surprise", "group").passed is True  # ambiguous group
    with pytest.raises(UserError):
        F.label_filter("fear", "fear", "fuzzy")


# --- format ------------------------------------------------------------------------------------

def test_dialogue_format_accepts_a_dialogue_and_refuses_template_copies() -> None:
    parsed, out = F.dialogue_format(format_dialogue(WARM))
    assert out.passed is True and parsed is not None and parsed.turns[0] == WARM[0]
    placeholder = format_dialogue(["（1回目の発言）", "（1回目の返答）", "（2回目の発言）", "（2回目の返答）"])
    assert F.dialogue_format(placeholder)[1].passed is False
    assert F.is_template_copy(["a", "（２回目の返答）", "b", "c"]) is not None  # full-width digit too
    assert F.dialogue_format("患者：a\n支援者：b")[1].passed is False
    english = format_dialogue(["I am scared.", "That sounds hard.", "Yes.", "I am here."])
    assert F.dialogue_format(english)[1].reason == "no Japanese text in the dialogue"


def test_text_format_and_clean_situation() -> None:
    ok = "新しい薬が効いて、久しぶりに自分でボタンを留められた。"
    assert F.text_format(ok, min_chars=20, max_chars=160, one_line=True).passed is True
    assert F.text_format(ok + "\n二行目", min_chars=20, max_chars=160, one_line=True).passed is False
    assert F.text_format("短い。", min_chars=20, max_chars=160, one_line=True).passed is False
    assert F.text_format("I could button my shirt myself today, after months.", min_chars=20, max_chars=160,
                         one_line=True).reason.startswith("not Japanese")
    assert F.text_format("場面の文章だけを書いてください。" + ok, min_chars=20, max_chars=160, one_line=True,
                         brief_lines=["場面の文章だけを書いてください。"]).passed is False
    assert F.clean_situation("状況：「" + ok + "」") == ok


# --- near-duplicates ---------------------------------------------------------------------------

def test_shingles_and_jaccard_against_direct_computation() -> None:
    assert normalise("私は、透析に　通っている。") == "私は透析に通っている"
    a, b = "私は透析に通っている", "私は透析に通っていた"
    ga, gb = shingles(a), shingles(b)
    direct_a = {a[i:i + 3] for i in range(len(a) - 2)}
    direct_b = {b[i:i + 3] for i in range(len(b) - 2)}
    assert ga == direct_a
    assert jaccard(ga, gb) == len(direct_a & direct_b) / len(direct_a | direct_b) == 7 / 9
    assert shingles("あ") == {"あ"} and shingles("。、") == frozenset()


def test_index_decides_by_exact_jaccard_at_the_threshold() -> None:
    base = "息切れで駅の階段の途中で止まることが増え、このまま外出できなくなるのが怖い。"
    texts = {
        "same": base,
        "one_word": base.replace("駅の", "家の"),
        "other": "新しい薬が効いて、久しぶりに自分の手でシャツのボタンを全部留められた。",
    }
    g = shingles(base)
    for thr in (0.3, 0.5, 0.7, 0.9):
        idx = NearDupIndex(threshold=thr)
        idx.add("real:1", base)
        for key, text in texts.items():
            exact = jaccard(g, shingles(text))
            match = idx.nearest(text)
            assert (match is not None) == (exact >= thr), (thr, key, exact)
            if match:
                assert match.similarity == pytest.approx(exact)


def test_index_keeps_the_first_of_a_group_and_compares_all_pairs() -> None:
    texts = [f"私は{c}の治療を続けていて、今日は{d}のことで少し落ち着かない気持ちになった。"
             for c, d in itertools.product(("糖尿病", "関節リウマチ", "心不全"), ("検査", "仕事"))]
    idx = NearDupIndex(threshold=0.5)
    kept = [i for i, t in enumerate(texts) if idx.check_and_add(str(i), t) is None]
    # Brute force over the same order: keep an item when it is below 0.5 with every kept one.
    expect: list[int] = []
    for i, t in enumerate(texts):
        if all(jaccard(shingles(t), shingles(texts[j])) < 0.5 for j in expect):
            expect.append(i)
    assert kept == expect and kept[0] == 0 and len(kept) < len(texts)
    with pytest.raises(UserError):
        NearDupIndex(threshold=0)


# --- balance -----------------------------------------------------------------------------------

def test_balance_equal_caps_every_emotion_at_the_smallest_count() -> None:
    items = [("joy", 1), ("fear", 1), ("joy", 2), ("joy", 3), ("fear", 2)]
    kept, dropped, cap = F.balance(items, lambda x: x[0], ["joy", "fear"], "equal")
    assert cap == 2 and kept == [("joy", 1), ("fear", 1), ("joy", 2), ("fear", 2)] and dropped == [("joy", 3)]
    kept, dropped, cap = F.balance(items, lambda x: x[0], ["joy", "fear", "anger"], "equal")
    assert cap == 0 and kept == [] and len(dropped) == 5  # an emotion with nothing kept: nothing is balanced
    kept, dropped, cap = F.balance(items, lambda x: x[0], ["joy", "fear"], "none")
    assert kept == items and dropped == [] and cap is None
