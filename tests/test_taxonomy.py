import pytest

from emplifai.taxonomy import BY_JA, EMOTIONS, GROUPS, LABELS, group_of, ja_of, normalize_label


def test_table_matches_spec_counts():
    assert len(EMOTIONS) == 28 and len(set(LABELS)) == 28 and len(BY_JA) == 28
    counts = {g: sum(e.group == g for e in EMOTIONS) for g in GROUPS}
    assert counts == {"positive": 12, "negative": 11, "ambiguous": 4, "neutral": 1}
    assert group_of("confusion") == "ambiguous" and ja_of("relief") == "安心"


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("sadness", "sadness"),
        ("Sadness", "sadness"),
        ("SADNESS.", "sadness"),
        ("悲しみ", "sadness"),
        ("悲しみ。", "sadness"),
        ("**悲しみ**", "sadness"),
        ("「悲しみ」", "sadness"),
        ("`fear`", "fear"),
        ("'joy'", "joy"),
        ('"gratitude"', "gratitude"),
        ("ｓａｄｎｅｓｓ", "sadness"),  # full-width latin
        ("ＳＡＤ", "sadness"),
        ("感情: 恐れ", "fear"),
        ("感情：恐れ", "fear"),
        ("Emotion: fearful", "fear"),
        ("emotion - Anger", "anger"),
        ("Answer: relief", "relief"),
        ("答え：安心", "relief"),
        ("sad", "sadness"),
        ("悲しい", "sadness"),
        ("fearful", "fear"),
        ("怖い", "fear"),
        ("nervous", "nervousness"),
        ("grateful", "gratitude"),
        ("embarrassed", "embarrassment"),
        ("恥ずかしい", "embarrassment"),
        ("悲しみです", "sadness"),
        ("sadness (悲しみ)", "sadness"),
        ("悲しみ / sadness", "sadness"),
        ("## 感情: 嘆き", "grief"),
        ("neutral", "neutral"),
        ("平静", "neutral"),
        ("disapproval", "disapproval"),
        ("不承認", "disapproval"),
        ("悲しみ\nなぜなら患者は泣いているからです。", "sadness"),
        ("\n\n  怒り  \n", "anger"),
        ("愛．状況:", "love"),  # a label as the first sentence, then rambling (seen from SmolLM2)
        ("恐れ．恐れ．恐れ", "fear"),
        ("Sadness. The patient feels low.", "sadness"),
    ],
)
def test_normaliser_maps_real_answers(answer, expected):
    assert normalize_label(answer) == expected


@pytest.mark.parametrize(
    "answer",
    [
        None,
        "",
        "   ",
        "xyz",
        "この患者の感情は",
        "joy or sadness",  # two labels: never a guess
        "喜び、悲しみ",
        "hungry",
        "感情:",
    ],
)
def test_normaliser_returns_none_rather_than_guessing(answer):
    assert normalize_label(answer) is None


def test_every_label_and_keyword_round_trips():
    for e in EMOTIONS:
        assert normalize_label(e.label) == e.label
        assert normalize_label(e.label.upper()) == e.label
        assert normalize_label(e.ja) == e.label
