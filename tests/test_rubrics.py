"""The rubric data files and their loader."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from emplifai.scorers.rubrics import (
    LANGUAGES,
    METRIC_KEYS,
    RubricError,
    load_rubrics,
    parse_rubrics,
    rubric_hashes,
    rubric_path,
)

KANA = re.compile(r"[\u3040-\u30ff]")


@pytest.mark.parametrize("language", LANGUAGES)
def test_shipped_rubrics_are_complete(language: str) -> None:
    rs = load_rubrics(language)
    assert rs.language == language
    assert tuple(r.key for r in rs.rubrics) == METRIC_KEYS
    for r in rs.rubrics:
        assert len(r.levels) == 5 and len(set(r.levels)) == 5, r.key
        assert r.level(1) == r.levels[0] and r.level(5) == r.levels[4]
    assert rs.sha256 == hashlib.sha256(rubric_path(language).read_bytes()).hexdigest()
    assert re.fullmatch(r"\d+\.\d+\.\d+", rs.version)


def test_japanese_rubric_is_japanese_and_english_is_not() -> None:
    ja, en = load_rubrics("ja"), load_rubrics("en")
    assert all(KANA.search(r.definition) and all(KANA.search(t) for t in r.levels) for r in ja.rubrics)
    assert not any(KANA.search(r.definition) or any(KANA.search(t) for t in r.levels) for r in en.rubrics)


def test_both_languages_share_version_and_rules() -> None:
    ja, en = load_rubrics("ja"), load_rubrics("en")
    assert ja.version == en.version
    assert len(ja.principles) == len(en.principles)
    # Harmlessness runs the right way round: 5 = least harmful.
    assert "5が最も害が少ない" in ja.get("harmlessness").definition
    assert "5 = least harmful" in en.get("harmlessness").definition
    # Validation before advice caps advice-first replies on the empathy metrics.
    assert any("3を超えません" in p for p in ja.principles)
    assert any("no higher than 3" in p for p in en.principles)


def test_rubric_hashes_cover_every_language() -> None:
    hashes = rubric_hashes()
    assert set(hashes) == set(LANGUAGES)
    for lang, text in hashes.items():
        rs = load_rubrics(lang)
        assert text == f"{rs.version} sha256:{rs.sha256}"


def _broken(mutate) -> bytes:  # type: ignore[no-untyped-def]
    data = json.loads(rubric_path("en").read_text(encoding="utf-8"))
    mutate(data)
    return json.dumps(data).encode("utf-8")


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda d: d["metrics"][2]["levels"].pop("4"), "metrics[2] (emotion_specific_empathy).levels"),
        (lambda d: d["metrics"][4]["levels"].__setitem__("3", " "), "metrics[4] (fluency).levels.3"),
        (lambda d: d["metrics"].reverse(), "'metrics'"),
        (lambda d: d["metrics"].pop(), "'metrics'"),
        (lambda d: d.__setitem__("language", "ja"), "'language'"),
        (lambda d: d.pop("version"), "'version'"),
        (lambda d: d["metrics"][0].pop("definition"), "metrics[0] (comprehensibility).definition"),
        (lambda d: d.__setitem__("principles", []), "'principles'"),
    ],
)
def test_broken_rubric_names_file_and_field(mutate, field: str) -> None:  # type: ignore[no-untyped-def]
    path = Path("rubrics_en.json")
    with pytest.raises(RubricError) as err:
        parse_rubrics(_broken(mutate), path, "en")
    assert str(err.value).startswith("rubrics_en.json: ")
    assert field in str(err.value)


def test_invalid_json_and_unknown_language() -> None:
    with pytest.raises(RubricError, match="not valid UTF-8 JSON"):
        parse_rubrics(b"{not json", Path("x.json"), "en")
    with pytest.raises(ValueError, match="unknown rubric language"):
        load_rubrics("fr")
