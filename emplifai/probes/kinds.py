"""The probe kinds and what each one is expected to do to a judge's seven scores.

A *degrading* probe rewrites the supporter's replies in one named way (cold but correct, warm
towards the wrong emotion, dismissive, off topic): a judge that sees what a human sees must score
it strictly below its base dialogue on every metric the probe targets. An *invariance* probe
changes nothing a human would score (neutral filler, an instruction to the judge inside a reply,
another style of speaker labels): a trustworthy judge's scores must not move.
"""

from __future__ import annotations

from typing import Any

from emplifai.judge_metrics import METRIC_KEYS

BASE = "base"
DEGRADING: tuple[str, ...] = ("cold_correct", "wrong_emotion", "dismissive", "off_topic")
INVARIANT: tuple[str, ...] = ("padded", "injected", "label_noise")
PROBE_KINDS: tuple[str, ...] = (*DEGRADING, *INVARIANT)

# Which metrics must drop below the base (the probe's targets) and which should stay. "stay" is
# reported (collateral drops) but does not enter probe_accuracy: the issue defines accuracy on the
# targets only. The remaining metrics are left open on purpose (e.g. an off-topic reply may fairly
# lose emotion-specific empathy too).
_EXPECTED: dict[str, dict[str, tuple[str, ...]]] = {
    "cold_correct": {
        "drop": ("general_empathy", "emotion_specific_empathy", "sense_of_security"),
        "stay": ("comprehensibility", "consistency", "fluency", "harmlessness"),
    },
    "wrong_emotion": {
        "drop": ("emotion_specific_empathy",),
        "stay": ("fluency", "harmlessness"),
    },
    "dismissive": {
        "drop": ("harmlessness", "sense_of_security", "general_empathy"),
        "stay": ("fluency",),
    },
    "off_topic": {
        "drop": ("comprehensibility", "consistency"),
        "stay": ("fluency",),
    },
    **{kind: {"drop": (), "stay": METRIC_KEYS} for kind in INVARIANT},
}


def expected_for(kind: str) -> dict[str, list[str]]:
    """``{"drop": [...], "stay": [...]}`` for a probe kind (a fresh copy, JSON-ready)."""
    if kind not in _EXPECTED:
        raise ValueError(f"unknown probe kind {kind!r}; expected one of {PROBE_KINDS}")
    return {k: list(v) for k, v in _EXPECTED[kind].items()}


def check_expected(value: Any) -> str | None:
    """Why ``value`` is not a valid ``expected`` object, or None when it is."""
    if not isinstance(value, dict) or set(value) - {"drop", "stay"} or "drop" not in value:
        return 'must be an object {"drop": [metrics], "stay": [metrics]}'
    for key in ("drop", "stay"):
        items = value.get(key, [])
        if not isinstance(items, list) or any(m not in METRIC_KEYS for m in items):
            return f"'{key}' must be a list of metric keys from {list(METRIC_KEYS)}"
    if set(value["drop"]) & set(value.get("stay", [])):
        return "a metric cannot be both in 'drop' and in 'stay'"
    return None


def parse_kinds(spec: str) -> tuple[str, ...]:
    """``"all"`` or a comma list of kinds, in PROBE_KINDS order; ValueError on an unknown kind."""
    if spec.strip() == "all":
        return PROBE_KINDS
    asked = [p.strip() for p in spec.split(",") if p.strip()]
    unknown = [k for k in asked if k not in PROBE_KINDS]
    if unknown or not asked:
        raise ValueError(f"unknown probe kind(s) {unknown or [spec]}; expected 'all' or a comma list of {PROBE_KINDS}")
    return tuple(k for k in PROBE_KINDS if k in asked)
