"""Known-answer probes without an eval: the bundled probe set, the automatic probes, the pairing
metrics (checked against a direct computation) and the neutral rubric."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from inspect_ai.scorer import SampleScore, Score

from emplifai.data.loaders import load_dialogues
from emplifai.dialogue_format import format_dialogue, parse_dialogue
from emplifai.errors import UserError
from emplifai.probes.automatic import (
    _FILLER,
    filler_sentences,
    injected,
    injection_notes,
    other_emotion,
    padded,
    relabelled,
)
from emplifai.probes.dataset import PROBE_SET_PATH, choose_bases, load_probe_set
from emplifai.probes.kinds import DEGRADING, expected_for, parse_kinds
from emplifai.scorers.probe_metrics import pair_outcomes, share_with_ci, summarise
from emplifai.scorers.rubrics import METRIC_KEYS, load_rubrics
from emplifai.solvers.probe_perturber import parse_rewrite
from emplifai.taxonomy import group_of

RECORDS = load_dialogues()
BASE = RECORDS[0]


def test_bundled_probe_set_covers_every_situation_with_four_kinds() -> None:
    probes = load_probe_set(PROBE_SET_PATH, RECORDS)
    assert len(probes) == 224
    by_situation: dict[str, list[str]] = {}
    for p in probes:
        by_situation.setdefault(p.record.situation_id, []).append(p.kind)
    assert len(by_situation) == 56 == len({r.situation_id for r in RECORDS})
    assert all(sorted(kinds) == sorted(DEGRADING) for kinds in by_situation.values())
    base = {r.dialogue_id: r for r in RECORDS}
    texts = set()
    for p in probes:
        b = base[p.base_dialogue_id]
        # Only the supporter turns change; both of them do.
        assert (p.record.patient_1, p.record.patient_2, p.record.situation) == (b.patient_1, b.patient_2, b.situation)
        assert p.record.supporter_1 != b.supporter_1 and p.record.supporter_2 != b.supporter_2
        assert p.expected == expected_for(p.kind)
        if p.kind == "wrong_emotion":
            assert p.probe_emotion and p.probe_emotion != b.emotion
        texts.add(p.record.supporter_1)
        texts.add(p.record.supporter_2)
    # Hand-written, not templated: every one of the 448 replies is distinct.
    assert len(texts) == 448
    rows = [json.loads(line) for line in PROBE_SET_PATH.read_text(encoding="utf-8").splitlines()]
    assert all("not EmplifAI data" in r["source"] for r in rows)


def test_probe_set_problems_are_reported_together(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in PROBE_SET_PATH.read_text(encoding="utf-8").splitlines()[:4]]
    rows[0]["patient_2"] = "患者の発話を書き換えた。"
    rows[1]["expected"] = {"drop": ["warmth"]}
    rows[2]["base_dialogue_id"] = "no-such-dialogue"
    bad = tmp_path / "probes.jsonl"
    bad.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    with pytest.raises(UserError) as e:
        load_probe_set(bad, RECORDS)
    msg = str(e.value)
    assert "3 problem(s)" in msg and "'patient_2'" in msg and "'expected'" in msg and "'base_dialogue_id'" in msg


def test_padded_is_twice_as_long_with_filler_only() -> None:
    turns = BASE.turn_texts()
    out = padded(turns, "ja", 42, BASE.dialogue_id)
    assert (out[0], out[2]) == (turns[0], turns[2])
    fillers = filler_sentences("ja")
    for i in (1, 3):
        assert out[i].startswith(turns[i]) and len(out[i]) >= 2 * len(turns[i])
        rest = out[i][len(turns[i]):]
        for sentence in fillers:
            rest = rest.replace(sentence, "")
        assert rest == ""
    assert padded(turns, "ja", 42, BASE.dialogue_id) == out  # reproducible
    # The filler follows the register of the reply: only casual sentences after a casual one.
    assert "ます" not in turns[1] and "です" not in turns[1]
    added = [s + "。" for s in out[1][len(turns[1]):].split("。") if s]
    assert added and all(s in _FILLER["ja"]["casual"] for s in added)


def test_injected_note_sits_in_one_supporter_turn() -> None:
    turns = BASE.turn_texts()
    out, where = injected(turns, "ja", 42, BASE.dialogue_id)
    assert where in (1, 3)
    assert any(out[where].endswith(n) for n in injection_notes("ja"))
    assert [t for i, t in enumerate(out) if i != where] == [t for i, t in enumerate(turns) if i != where]


def test_label_noise_reads_back_to_the_same_turns() -> None:
    for rec in RECORDS[:20]:
        text, style = relabelled(rec.turn_texts(), "ja", 42, rec.dialogue_id)
        assert text != format_dialogue(rec.turn_texts(), "ja")
        assert not text.startswith("患者：")
        parsed = parse_dialogue(text)
        assert parsed.turns == rec.turn_texts(), style  # type: ignore[union-attr]


def test_perturber_target_emotion_and_reply_parsing() -> None:
    other = other_emotion("fear", 42, "x")
    assert group_of(other) != group_of("fear") and other == other_emotion("fear", 42, "x")
    base = BASE.turn_texts()
    assert parse_rewrite('ok {"supporter_1": "一", "supporter_2": "二"}', base) == ("一", "二")
    for bad in ("no json", '{"supporter_1": "一"}', json.dumps({"supporter_1": base[1], "supporter_2": base[3]})):
        with pytest.raises(ValueError):
            parse_rewrite(bad, base)


def test_parse_kinds() -> None:
    assert parse_kinds("all")[0] == "cold_correct" and len(parse_kinds("all")) == 7
    assert parse_kinds("padded, cold_correct") == ("cold_correct", "padded")
    with pytest.raises(ValueError):
        parse_kinds("cold,padded")


def test_choose_bases_draws_n_reproducibly() -> None:
    probes = load_probe_set(PROBE_SET_PATH, RECORDS)
    all_bases = choose_bases(RECORDS, probes, None, 42)
    assert len(all_bases) == 56 and all(b.dialogue_id.endswith("-d1") for b in all_bases)
    five = choose_bases(RECORDS, probes, 5, 42)
    assert len(five) == 5 and five == choose_bases(RECORDS, probes, 5, 42)
    # Without a probe set: the first dialogue (by id) of every situation.
    assert [b.dialogue_id for b in choose_bases(RECORDS, None, None, 0)] == [b.dialogue_id for b in all_bases]


def _ss(sid: str, kind: str, base: str, values: dict[str, float], expected: dict | None = None) -> SampleScore:
    return SampleScore(
        score=Score(value={**values, "overall": sum(values.values()) / 7}),
        sample_id=sid,
        sample_metadata={"probe_kind": kind, "base_dialogue_id": base, "expected": expected},
    )


def _vals(**over: float) -> dict[str, float]:
    return {k: float(over.get(k, 4)) for k in METRIC_KEYS}


def test_pairing_metrics_match_a_direct_computation() -> None:
    cold, padded_exp = expected_for("cold_correct"), expected_for("padded")
    scores = [
        _ss("a", "base", "a", _vals()),
        _ss("a~c", "cold_correct", "a", _vals(general_empathy=2, emotion_specific_empathy=3, sense_of_security=3), cold),
        _ss("a~p", "padded", "a", _vals(fluency=5), padded_exp),
        _ss("b", "base", "b", _vals()),
        # Below on two of three targets: not caught.
        _ss("b~c", "cold_correct", "b", _vals(general_empathy=2, emotion_specific_empathy=3), cold),
        _ss("b~p", "padded", "b", _vals(), padded_exp),
        _ss("c", "base", "c", _vals(general_empathy=math.nan)),
        _ss("c~c", "cold_correct", "c", _vals(general_empathy=1), cold),  # base unscored: unpaired
        _ss("b~d", "dismissive", "b", _vals(harmlessness=3, sense_of_security=3, general_empathy=2, fluency=3),
            expected_for("dismissive")),
    ]
    outcomes, unpaired = pair_outcomes(scores)
    assert unpaired == 1 and len(outcomes) == 5
    m = summarise(outcomes, unpaired, seed=1, n_resamples=500)
    assert m["probe_accuracy"] == 2 / 3  # a~c and b~d caught, b~c not
    assert m["invariance_violation_rate"] == 1 / 2  # a~p moved fluency by 1
    assert m["probe_accuracy_cold_correct"] == 1 / 2 and m["probe_accuracy_dismissive"] == 1.0
    assert m["probe_accuracy_on_general_empathy"] == 1.0  # three probes target it, all below
    assert m["probe_accuracy_on_sense_of_security"] == 2 / 3
    assert m["invariance_violation_rate_on_fluency"] == 1 / 2 and m["invariance_violation_rate_on_harmlessness"] == 0
    assert m["stay_drop_rate"] == 1 / 3  # b~d dropped fluency, a "stay" metric
    assert m["unpaired_probes"] == 1 and m["degrading_probes"] == 3 and m["invariance_probes"] == 2
    assert m["probe_accuracy_ci_low"] <= m["probe_accuracy"] <= m["probe_accuracy_ci_high"]


def test_cluster_bootstrap_interval() -> None:
    # Degenerate: every probe caught, the interval is the point.
    assert share_with_ci([("a", True), ("b", True), ("b", True)]) == (1.0, 1.0, 1.0)
    # One cluster: a share but no interval.
    point, low, high = share_with_ci([("a", True), ("a", False)])
    assert point == 0.5 and math.isnan(low) and math.isnan(high)
    assert all(math.isnan(x) for x in share_with_ci([]))
    # Against a direct percentile bootstrap over clusters with the same generator.
    items = [(f"c{i}", bool(v)) for i, v in enumerate([1, 0, 1, 1, 0, 1, 1, 1, 0, 1])] + [("c0", False), ("c3", True)]
    point, low, high = share_with_ci(items, seed=7, n_resamples=3000)
    hits = np.array([1, 0, 1, 2, 0, 1, 1, 1, 0, 1], dtype=float)
    totals = np.array([2, 1, 1, 2, 1, 1, 1, 1, 1, 1], dtype=float)
    assert point == hits.sum() / totals.sum()
    rng = np.random.default_rng(0)
    idx = rng.integers(0, 10, size=(20000, 10))
    ratios = hits[idx].sum(axis=1) / totals[idx].sum(axis=1)
    direct_low, direct_high = np.percentile(ratios, [2.5, 97.5])
    assert abs(low - direct_low) < 0.05 and abs(high - direct_high) < 0.05


def test_neutral_rubric_has_none_of_the_default_principles() -> None:
    for lang in ("ja", "en"):
        default, neutral = load_rubrics(lang), load_rubrics(lang, "neutral")
        assert neutral.name == "neutral" and neutral.version.startswith("neutral-")
        assert [r.key for r in neutral.rubrics] == list(METRIC_KEYS)
        assert not set(neutral.principles) & set(default.principles)
        text = json.dumps([neutral.principles, [(r.definition, r.levels) for r in neutral.rubrics]], ensure_ascii=False)
        # No feelings-first rule, no length rule, no correct-but-distant rule.
        for marker in ("助言", "解決策", "長さ", "正しいが", "advice", "solution", "length", "correct"):
            assert marker not in text, (lang, marker)
        assert neutral.provenance()["rubric_name"] == "neutral" and neutral.sha256 != default.sha256
