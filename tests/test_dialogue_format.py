from __future__ import annotations

import pytest

from emplifai.dialogue_format import (
    SPEAKER_LABELS,
    TEMPLATE_TURNS,
    FormatFailure,
    ParsedDialogue,
    brief_placeholders,
    check_turns,
    clean_turn_text,
    format_dialogue,
    parse_dialogue,
    strip_reasoning,
)

ABCD = ("a", "b", "c", "d")

# (id, model output, expected turns)
ACCEPTED = [
    ("canonical ja", "患者：a\n支援者：b\n患者：c\n支援者：d", ABCD),
    ("half-width colon and spaces", "患者: a\n支援者 : b\n患者:c\n支援者:   d  ", ABCD),
    ("english any case", "Patient: a\nSUPPORTER: b\npatient: c\nSupporter: d", ABCD),
    ("numbered speakers", "Patient 1: a\nSupporter 1: b\nPatient 2: c\nSupporter 2: d", ABCD),
    ("full-width numbered", "患者１：a\n支援者１：b\n患者２：c\n支援者２：d", ABCD),
    ("honorific and katakana", "患者さん：a\nサポーター：b\n患者様：c\nサポーター：d", ABCD),
    ("note in brackets", "患者：a\n支援者（家族）：b\n患者：c\nSupporter (friend): d", ABCD),
    ("bold label", "**患者**: a\n**支援者**: b\n**患者**：c\n**支援者**：d", ABCD),
    ("bold label and colon", "**患者:** a\n**支援者:** b\n**患者：** c\n**支援者：** d", ABCD),
    ("bold whole line", "**患者：a**\n**支援者：b**\n**患者：c**\n**支援者：d**", ABCD),
    ("italic label", "*患者*: a\n*支援者*: b\n_患者_: c\n_支援者_: d", ABCD),
    ("dot numbering", "1. 患者：a\n2. 支援者：b\n3. 患者：c\n4. 支援者：d", ABCD),
    ("paren numbering", "(1) 患者：a\n（2）支援者：b\n3) 患者：c\n4）支援者：d", ABCD),
    ("circled numbering", "①患者：a\n②支援者：b\n③患者：c\n④支援者：d", ABCD),
    ("bullets", "- 患者: a\n* 支援者: b\n・患者：c\n- **支援者**: d", ABCD),
    ("lenticular brackets", "【患者】a\n【支援者】b\n【患者】：c\n[Supporter] d", ABCD),
    ("blank lines between turns", "\n患者：a\n\n\n支援者：b\n\n患者：c\n\n支援者：d\n\n", ABCD),
    (
        "preamble and closing remark",
        "以下が会話です。\n\n患者：a\n支援者：b\n患者：c\n支援者：d\n\nこの会話では支援者が気持ちを受け止めています。",
        ABCD,
    ),
    ("code fence", "```\n患者：a\n支援者：b\n患者：c\n支援者：d\n```\n補足です。", ABCD),
    ("label alone on its line", "### 患者\na\n### 支援者\nb\n\n**患者**\nc\n支援者：\n\nd", ABCD),
    ("continuation lines joined", "患者：a1\na2\n支援者：b1\n\nb2\n---\n患者：c\n支援者：d1\nd2", ("a1\na2", "b1\nb2", "c", "d1\nd2")),
    ("markdown inside text kept", "患者：**つらい**\n支援者：「そうだね」\n患者：c\n支援者：d", ("**つらい**", "「そうだね」", "c", "d")),
    ("colon inside text kept", "患者：時間：朝\n支援者：b\n患者：c\n支援者：d", ("時間：朝", "b", "c", "d")),
    (
        "label-like words in the preamble are not labels",
        "患者さんの気持ちを考えて書きました。\n患者：a\n支援者：b\n患者：c\n支援者：d",
        ABCD,
    ),
    (
        "sentence starting with a label word stays text",
        "患者：a\n支援者：b\n患者さんは大丈夫だよ、と言われても\n患者：c\n支援者：d",
        ("a", "b\n患者さんは大丈夫だよ、と言われても", "c", "d"),
    ),
]


@pytest.mark.parametrize("text,expected", [(t, e) for _, t, e in ACCEPTED], ids=[i for i, _, _ in ACCEPTED])
def test_accepted(text: str, expected: tuple[str, ...]) -> None:
    parsed = parse_dialogue(text)
    assert isinstance(parsed, ParsedDialogue), parsed
    assert parsed.turns == expected


def test_preamble_and_trailing_are_kept_apart() -> None:
    parsed = parse_dialogue("会話例:\n患者：a\n支援者：b\n患者：c\n支援者：d\n\n以上です。\nよろしく。")
    assert isinstance(parsed, ParsedDialogue)
    assert parsed.preamble == "会話例:"
    assert parsed.trailing == "以上です。\nよろしく。"
    assert parsed.supporter_replies() == ("b", "d")
    assert parsed.patient_turns() == ("a", "c")


# (id, model output, text the reason must contain)
REJECTED = [
    ("empty", "   \n ", "empty output"),
    ("no labels", "つらかったね。いつでも話を聞くよ。", "no speaker labels"),
    ("labels without colon are text", "患者 a\n支援者 b\n患者 c\n支援者 d", "no speaker labels"),
    ("three turns", "患者：a\n支援者：b\n患者：c", "found 3 turns, expected 4"),
    ("five turns", "患者：a\n支援者：b\n患者：c\n支援者：d\n患者：e", "found 5 turns, expected 4"),
    ("six turns", "患者：a\n支援者：b\n患者：c\n支援者：d\n\n患者：e\n支援者：f", "found 6 turns, expected 4"),
    ("one turn", "支援者：大丈夫だよ", "found 1 turns, expected 4"),
    ("supporter first", "支援者：a\n患者：b\n支援者：c\n患者：d", "wrong speaker order"),
    ("patient twice", "患者：a\n患者：b\n支援者：c\n支援者：d", "wrong speaker order"),
    ("empty supporter turn", "患者：a\n支援者：\n患者：c\n支援者：d", "turn 2"),
    ("empty last turn", "患者：a\n支援者：b\n患者：c\n**支援者**：", "turn 4"),
    ("unknown speaker label", "患者：a\n医師：b\n患者：c\n支援者：d", "found 3 turns"),
]


@pytest.mark.parametrize("text,reason", [(t, r) for _, t, r in REJECTED], ids=[i for i, _, _ in REJECTED])
def test_rejected(text: str, reason: str) -> None:
    result = parse_dialogue(text)
    assert isinstance(result, FormatFailure), result
    assert reason in result.reason


def test_wrong_order_reason_names_the_speakers() -> None:
    result = parse_dialogue("支援者：a\n患者：b\n支援者：c\n患者：d")
    assert isinstance(result, FormatFailure)
    assert "支援者 (supporter), 患者 (patient), 支援者 (supporter), 患者 (patient)" in result.reason


@pytest.mark.parametrize("language", sorted(SPEAKER_LABELS))
def test_format_is_four_labelled_lines(language: str) -> None:
    patient, supporter = SPEAKER_LABELS[language]
    text = format_dialogue(["p1", "s1", "p2", "s2"], language)
    lines = text.split("\n")
    assert len(lines) == 4
    assert [ln.startswith(lbl) for ln, lbl in zip(lines, [patient, supporter, patient, supporter])] == [True] * 4
    assert format_dialogue(["p1", "s1", "p2", "s2"]) == "患者：p1\n支援者：s1\n患者：p2\n支援者：s2"


ROUND_TRIP = [
    ("検査の結果が怖いです。", "それは不安になるよね。", "眠れなくて。", "今夜はそばにいるよ。"),
    ("Patient: 始まりがラベル風", "支援者：これも本文", "**強調**", "「引用」：コロン"),
    ("一行目\n二行目", "  前後の空白  ", "a\n\n\nb", "d"),
    ("1. 番号で始まる", "① 丸数字", "# 見出し風ではない#", "---ではない"),
]


@pytest.mark.parametrize("language", sorted(SPEAKER_LABELS))
@pytest.mark.parametrize("turns", ROUND_TRIP)
def test_round_trip(turns: tuple[str, ...], language: str) -> None:
    parsed = parse_dialogue(format_dialogue(turns, language))
    assert isinstance(parsed, ParsedDialogue), parsed
    assert parsed.turns == tuple(clean_turn_text(t) for t in turns)


def test_round_trip_is_exact_for_clean_turns() -> None:
    turns = ROUND_TRIP[0]
    parsed = parse_dialogue(format_dialogue(turns))
    assert isinstance(parsed, ParsedDialogue)
    assert parsed.turns == turns


@pytest.mark.parametrize(
    "turns,message",
    [
        (["a", "b", "c"], "4 turns, got 3"),
        (["a", " \n ", "c", "d"], "turn 2 is empty"),
        (["a", "b\n患者：割り込み", "c", "d"], "speaker label or layout"),
        (["a", "b", "c\n---", "d"], "speaker label or layout"),
        (["a", "b", "c", 4], "turn 4 is int"),
    ],
)
def test_format_refuses_what_would_not_round_trip(turns: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        format_dialogue(turns)


def test_format_unknown_language() -> None:
    with pytest.raises(ValueError, match="unknown language"):
        format_dialogue(ABCD, "fr")


# --- issue 9: copied templates, repeated turns, reasoning blocks, trailing notes -----------------



@pytest.mark.parametrize("language", sorted(TEMPLATE_TURNS))
def test_every_brief_placeholder_is_refused(language: str) -> None:
    for i, placeholder in enumerate(TEMPLATE_TURNS[language]):
        turns = ["検査が怖い。", "そうだね。", "眠れない。", "そばにいるよ。"]
        for variant in (placeholder, placeholder.strip("()（）"), f"【{placeholder.strip('()（）')}】。"):
            turns[i] = variant
            assert check_turns(turns, language) == (
                f"turn {i + 1} ({SPEAKER_LABELS[language][i % 2]}) is the brief's placeholder "
                f"{placeholder!r}, not a reply (template copied)"
            )


def test_placeholders_come_from_the_brief() -> None:
    assert sorted(brief_placeholders().values()) == sorted(p for t in TEMPLATE_TURNS.values() for p in t)


def test_a_turn_mentioning_a_placeholder_word_is_still_a_reply() -> None:
    assert check_turns(["1回目の発言で緊張しました。", "そうだったんだね。", "はい。", "first reply is hard"]) is None


def test_repeats_are_refused_whitespace_aside() -> None:
    assert check_turns(["a", "b", " a ", "d"]) == "turn 3 (患者) repeats turn 1 verbatim"
    assert check_turns(["a", "b c", "c", "b  c"], "en") == "turn 4 (Supporter) repeats turn 2 verbatim"
    assert check_turns(["a", "b", "c", "B"]) is None  # a different turn, if only by case


def test_check_turns_shape_and_language() -> None:
    assert check_turns(["a", "b", "c"]) == "found 3 turns, expected 4"
    assert check_turns(["a", "", "c", "d"]) == "turn 2 (支援者) is empty"
    with pytest.raises(ValueError, match="unknown language"):
        check_turns(ABCD, "fr")


@pytest.mark.parametrize(
    "text, kept, removed",
    [
        ("<think>患者：x\n支援者：y</think>\n答え", "\n\n答え", "患者：x\n支援者：y"),
        ("<THINKING>a</thinking>b<reasoning>c</reasoning>", "\nb\n", "a\n\nc"),
        ("  <think>考え中…", "", "考え中…"),  # a leading block never closed: all of it
        ("答え\n<think>考え中", "答え\n<think>考え中", ""),  # unclosed but not leading: left alone
        ("template-opened reasoning</think>答え", "答え", "template-opened reasoning"),
        ("no reasoning", "no reasoning", ""),
        ("答え <think> is a word here", "答え <think> is a word here", ""),
    ],
)
def test_strip_reasoning(text: str, kept: str, removed: str) -> None:
    assert strip_reasoning(text) == (kept, removed)


def test_reasoning_with_speaker_lines_is_not_a_fifth_turn() -> None:
    parsed = parse_dialogue("<think>\n患者：下書き\n</think>\n患者：a\n支援者：b\n患者：c\n支援者：d")
    assert isinstance(parsed, ParsedDialogue) and parsed.turns == ABCD and parsed.reasoning == "患者：下書き"
    failed = parse_dialogue("<think>患者：a\n支援者：b")
    assert isinstance(failed, FormatFailure) and failed.reasoning == "患者：a\n支援者：b"


NOTES = ["（以上）", "(end)", "Note: the supporter validates first.", "注：支援者は共感している。", "※補足です", "**Note:** x",
         "P.S. 以上です", "補足：これは例です"]


@pytest.mark.parametrize("note", NOTES)
@pytest.mark.parametrize("gap", ["\n", "\n\n"])
def test_a_note_after_the_last_reply_is_never_part_of_it(note: str, gap: str) -> None:
    parsed = parse_dialogue(f"患者：a\n支援者：b\n患者：c\n支援者：d1\nd2{gap}{note}\nmore")
    assert isinstance(parsed, ParsedDialogue)
    assert parsed.turns == ("a", "b", "c", "d1\nd2") and parsed.trailing == f"{note}\nmore"


def test_note_rule_only_after_the_first_line_of_the_last_turn() -> None:
    parsed = parse_dialogue("患者：a\n支援者：（うなずいて）\n大丈夫\n患者：c\n支援者：(smiles) d\n注意して帰ってね")
    assert isinstance(parsed, ParsedDialogue)
    assert parsed.turns == ("a", "（うなずいて）\n大丈夫", "c", "(smiles) d\n注意して帰ってね")


def test_missing_labels_reason_names_the_languages_labels() -> None:
    ja = parse_dialogue("つらかったね。", "ja")
    en = parse_dialogue("That sounds hard.", "en")
    assert isinstance(ja, FormatFailure) and "'患者：…' / '支援者：…'" in ja.reason
    assert isinstance(en, FormatFailure) and "'Patient: …' / 'Supporter: …'" in en.reason
