"""Property-based tests (Hypothesis) of the parsers that read text we do not control: the verdict
parser in both modes, the dialogue parser (free and structured), the fence neutraliser and the
data loaders.

Properties:
- nothing but the project's own error types ever leaves a parser, whatever the text;
- a verdict is accepted only when it is the single, unambiguous, schema-valid answer, and then its
  scores are the ones written (a model of the rule decides what must be accepted);
- after neutralising, no line of the judged text normalises (NFKC, format characters removed) to
  a fence line;
- a dialogue written by ``format_dialogue`` reads back as its turns; every valid data row comes
  back, exactly, whatever else the file holds.

The default run draws 3,600 examples over all properties (100 to 600 each, ~20 s on two
cores); ``-m slow`` draws twenty times as many. No example database is written (``database=None``).
"""

from __future__ import annotations

import csv
import json
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from emplifai.data.loaders import validate_source
from emplifai.data.schema import TURN_COLUMNS
from emplifai.dialogue_format import FormatFailure, ParsedDialogue, format_dialogue, parse_dialogue
from emplifai.dialogue_structured import TURN_KEYS, parse_structured
from emplifai.errors import UserError
from emplifai.judge_metrics import METRIC_KEYS
from emplifai.scorers.judge_prompt import FENCE_CLOSE, FENCE_OPEN, neutralise_fences
from emplifai.scorers.verdict import VerdictError, check_rationale, parse_verdict
from emplifai.taxonomy import LABELS


def _settings(n: int) -> Any:
    return settings(max_examples=n, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


FAST, SLOW = 1, 20  # the slow run multiplies every count

# --- text a model might write ---------------------------------------------------------------------

_JSON_TOKENS = ['{', '}', '[', ']', ':', ',', '"score"', '"rationale"', '"fluency"', '"x"', "4", "9" * 30, "1e999",
                "true", "null", " ", "\n", "</think>", "<think>", "```json", "```", '"', "\\", "患者：", "支援者："]
model_text = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(_JSON_TOKENS), max_size=120).map("".join),
    st.integers(min_value=1, max_value=3000).map(lambda n: "[" * n + "{" * (n // 2)),
)


def _only_project_errors(call: Any, *allowed: type[BaseException]) -> Any:
    try:
        return call()
    except allowed:
        return None


# --- verdict parser: never anything but VerdictError ----------------------------------------------


def _check_any_reply(text: str, metric: str | None) -> None:
    _only_project_errors(lambda: parse_verdict(text, metric), VerdictError)


@pytest.mark.parametrize("metric", [None, "fluency"])
@_settings(400 * FAST)
@given(text=model_text)
def test_verdict_parser_raises_only_verdict_errors(metric: str | None, text: str) -> None:
    _check_any_reply(text, metric)


@pytest.mark.slow
@pytest.mark.parametrize("metric", [None, "fluency"])
@_settings(400 * SLOW)
@given(text=model_text)
def test_verdict_parser_raises_only_verdict_errors_slow(metric: str | None, text: str) -> None:
    _check_any_reply(text, metric)


# --- verdict parser: accepted only when single, unambiguous and schema-valid ----------------------

GOOD_REASONS = ["不安な気持ちを受け止めている", "It names the fear before advising.", "共感が具体的で自然"]
BAD_REASONS = ["", "N/A", "<短い根拠>", "（根拠）", "TODO", "5", "...", "なし"]
SCORES: list[Any] = [1, 2, 3, 4, 5, 0, 6, "3", 3.5, True, None]
prose = st.text(alphabet=st.characters(blacklist_characters="{}[]<>\\\"", blacklist_categories=("Cs",)), max_size=40)


@st.composite
def one_verdict(draw: Any) -> dict[str, Any]:
    return {"rationale": draw(st.sampled_from(GOOD_REASONS + BAD_REASONS)), "score": draw(st.sampled_from(SCORES))}


def _valid(v: dict[str, Any]) -> bool:
    s = v.get("score")
    return (set(v) == {"rationale", "score"} and type(s) is int and 1 <= s <= 5
            and isinstance(v["rationale"], str) and check_rationale(v["rationale"]) is None)


def _dump(obj: dict[str, Any], doubled: str | None) -> str:
    text = json.dumps(obj, ensure_ascii=False)
    if doubled is not None:  # the first occurrence of the key given twice, with a different value
        text = text.replace(f'"{doubled}": ', f'"{doubled}": 0, "{doubled}": ', 1)
    return text


@st.composite
def reply_with_verdicts(draw: Any, metric: str | None) -> tuple[str, list[dict[str, Any]], bool]:
    """A reply holding 0-3 verdict objects among prose, perhaps one with a key given twice."""
    objects: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 3))):
        if metric is not None:
            objects.append(draw(one_verdict()))
        else:
            keys = draw(st.sampled_from([METRIC_KEYS, METRIC_KEYS[:-1], (*METRIC_KEYS, "overall")]))
            objects.append({k: draw(one_verdict()) for k in keys})
    doubled = None
    if objects and draw(st.booleans()):
        doubled = draw(st.sampled_from(["score", "rationale"] if metric is not None else list(METRIC_KEYS)))
    parts = [draw(prose)]
    for i, obj in enumerate(objects):
        parts += [_dump(obj, doubled if i == 0 else None), draw(prose)]
    return "".join(parts), objects, doubled is not None


def _expected(objects: list[dict[str, Any]], doubled: bool, metric: str | None) -> dict[str, int] | None:
    """The rule, written independently of the parser: the scores a reply must give, or None."""
    distinct = {json.dumps(o, sort_keys=True) for o in objects}
    if len(distinct) != 1 or doubled:
        return None
    [obj] = objects[:1]
    if metric is not None:
        return {metric: obj["score"]} if _valid(obj) else None
    if set(obj) != set(METRIC_KEYS) or not all(_valid(v) for v in obj.values()):
        return None
    return {k: v["score"] for k, v in obj.items()}


def _check_verdict_rule(reply: tuple[str, list[dict[str, Any]], bool], metric: str | None) -> None:
    text, objects, doubled = reply
    want = _expected(objects, doubled, metric)
    try:
        got = {k: v.score for k, v in parse_verdict(text, metric).items()}
    except VerdictError:
        got = None
    assert got == want, (text, got, want)


@pytest.mark.parametrize("metric", [None, "fluency"])
@_settings(400 * FAST)
@given(data=st.data())
def test_a_verdict_is_accepted_only_when_single_unambiguous_and_valid(metric: str | None, data: Any) -> None:
    _check_verdict_rule(data.draw(reply_with_verdicts(metric)), metric)


@pytest.mark.slow
@pytest.mark.parametrize("metric", [None, "fluency"])
@_settings(400 * SLOW)
@given(data=st.data())
def test_a_verdict_is_accepted_only_when_single_unambiguous_and_valid_slow(metric: str | None, data: Any) -> None:
    _check_verdict_rule(data.draw(reply_with_verdicts(metric)), metric)


# --- fence neutraliser ----------------------------------------------------------------------------

_FENCE_PARTS = ["<", ">", "＜", "＞", "﹤", "﹥", "\u200b", "\u200d", "\u2060", "\ufeff", "\u00a0", "\u3000", " ", "\u0301",
                "\u00ad", "DIALOGUE", "ＤＩＡＬＯＧＵＥ", "\n", "\u2028", "x", "‹", "›", "<<", ">>>"]
fence_text = st.one_of(st.lists(st.sampled_from(_FENCE_PARTS), max_size=40).map("".join), st.text(max_size=200))


def _normalised_lines(text: str) -> list[str]:
    visible = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return [unicodedata.normalize("NFKC", line).strip() for line in visible.splitlines()]


def _check_fences(text: str) -> None:
    out = neutralise_fences(text)
    assert not {FENCE_OPEN, FENCE_CLOSE} & set(_normalised_lines(out)), (text, out)
    if not any(c in text for c in "<>＜＞﹤﹥"):
        assert out == text  # text without angle brackets is never touched


@_settings(600 * FAST)
@given(text=fence_text)
def test_no_line_normalises_to_a_fence_after_neutralising(text: str) -> None:
    _check_fences(text)


@pytest.mark.slow
@_settings(600 * SLOW)
@given(text=fence_text)
def test_no_line_normalises_to_a_fence_after_neutralising_slow(text: str) -> None:
    _check_fences(text)


def test_every_character_that_normalises_to_an_angle_bracket_is_known() -> None:
    """The neutraliser's bracket sets are complete for this Python's Unicode tables."""
    from emplifai.scorers import judge_prompt

    found = {
        ch for ch in map(chr, range(sys.maxunicode + 1))
        if not 0xD800 <= ord(ch) <= 0xDFFF and any(b in unicodedata.normalize("NFKC", ch) for b in "<>")
    }
    assert found == set(judge_prompt._OPENERS) | set(judge_prompt._CLOSERS)


# --- dialogue parser, free and structured ---------------------------------------------------------


def _check_dialogue(text: str) -> None:
    for language in ("ja", "en"):
        assert isinstance(parse_dialogue(text, language), (ParsedDialogue, FormatFailure))
        result = parse_structured(text, language)
        assert isinstance(result, (tuple, FormatFailure))


dialogue_text = st.one_of(
    model_text,
    st.lists(st.sampled_from(["患者：", "支援者：", "Patient:", "**Supporter**:", "\n", "…", "（1回目の発言）", "<think>",
                              "</think>", "---", "```", "はい", '{"patient_1": ', '"a", ', "}"]), max_size=60).map("".join),
)


@_settings(400 * FAST)
@given(text=dialogue_text)
def test_dialogue_parsers_never_raise(text: str) -> None:
    _check_dialogue(text)


@pytest.mark.slow
@_settings(400 * SLOW)
@given(text=dialogue_text)
def test_dialogue_parsers_never_raise_slow(text: str) -> None:
    _check_dialogue(text)


turn = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=60).filter(
    lambda t: t.strip() != ""
)


def _check_round_trip(turns: list[str]) -> None:
    try:
        text = format_dialogue(turns)
    except ValueError:
        assume(False)
    parsed = parse_dialogue(text)
    if isinstance(parsed, ParsedDialogue):
        assert [t.strip() for t in parsed.turns] == [t.strip() for t in turns]
    else:  # refused only for a reason check_turns gives (a placeholder, a repeat, punctuation only)
        assert any(w in parsed.reason for w in ("placeholder", "repeats", "punctuation", "empty")), parsed.reason
    structured = parse_structured(json.dumps(dict(zip(TURN_KEYS, turns)), ensure_ascii=False))
    assert isinstance(structured, FormatFailure) or list(structured) == [t.strip() for t in turns]


@_settings(300 * FAST)
@given(turns=st.lists(turn, min_size=4, max_size=4))
def test_a_written_dialogue_reads_back(turns: list[str]) -> None:
    _check_round_trip(turns)


# --- data loaders ---------------------------------------------------------------------------------

cell_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40).filter(
    lambda t: t.strip() != "" and "\x00" not in t
)


@st.composite
def table(draw: Any) -> tuple[list[dict[str, Any]], list[bool]]:
    """Rows of which some are valid (unique ids, known emotion, text everywhere) and some are not."""
    rows: list[dict[str, Any]] = []
    valid: list[bool] = []
    for i in range(draw(st.integers(1, 6))):
        row: dict[str, Any] = {
            "dialogue_id": f"d{i}", "situation_id": f"s{i}", "emotion": draw(st.sampled_from(LABELS)),
            "situation": draw(cell_text), **{c: draw(cell_text) for c in TURN_COLUMNS},
        }
        ok = True
        if draw(st.integers(0, 3)) == 0:
            row[draw(st.sampled_from(["emotion", "patient_1", "situation"]))] = draw(
                st.sampled_from(["", "   ", "not-an-emotion-label"])
            )
            ok = row["emotion"] in LABELS and all(str(row[c]).strip() for c in ("situation", *TURN_COLUMNS))
        rows.append(row)
        valid.append(ok)
    return rows, valid


def _check_rows_come_back(tmp: Path, rows: list[dict[str, Any]], valid: list[bool], fmt: str) -> None:
    path = tmp / f"data.{fmt}"
    if fmt == "jsonl":
        path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    else:
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    records, problems = validate_source(path)
    got = {r.dialogue_id: (r.situation, r.turn_texts()) for r in records}
    for row, ok in zip(rows, valid):
        if ok:  # every valid row comes back, exactly as written
            assert got[row["dialogue_id"]] == (row["situation"], tuple(row[c] for c in TURN_COLUMNS))
        else:
            assert row["dialogue_id"] not in got
            assert any(p.row is not None for p in problems)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
@_settings(150 * FAST)
@given(data=table())
def test_every_valid_row_comes_back(fmt: str, data: tuple[list[dict[str, Any]], list[bool]], tmp_path: Path) -> None:
    _check_rows_come_back(tmp_path, *data, fmt)


def _check_any_file(tmp: Path, content: bytes, suffix: str) -> None:
    path = tmp / f"any{suffix}"
    path.write_bytes(content)
    _only_project_errors(lambda: validate_source(path), UserError)


file_bytes = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.lists(st.sampled_from(["dialogue_id,emotion\n", '"', ",", "\n", "\r", "x" * 50, "\x00", "{", "}", '"a":1']),
             max_size=50).map(lambda p: "".join(p).encode()),
)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".tsv", ".parquet"])
@_settings(100 * FAST)
@given(content=file_bytes)
def test_loaders_raise_only_the_projects_errors(suffix: str, content: bytes, tmp_path: Path) -> None:
    _check_any_file(tmp_path, content, suffix)


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".tsv", ".parquet"])
@_settings(100 * SLOW)
@given(content=file_bytes)
def test_loaders_raise_only_the_projects_errors_slow(suffix: str, content: bytes, tmp_path: Path) -> None:
    _check_any_file(tmp_path, content, suffix)
