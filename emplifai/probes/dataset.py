"""Probe samples: each base dialogue and its probes, as Inspect samples that replay a fixed text.

Where the semantic probes come from:
- the bundled sample set: the hand-written probe set in ``emplifai/data/probes/`` (one base
  dialogue per situation, four rewrites each);
- a user's data with ``-T probe_data=FILE``: that file, in the same schema (canonical columns plus
  ``probe_kind``, ``base_dialogue_id``, ``expected``), checked against the data;
- a user's data without one: the perturber model writes them at run time (``perturber.py``).
The automatic probes (``automatic.py``) are built here from any base dialogue.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inspect_ai.dataset import Sample

from emplifai.data.loaders import load_dialogues
from emplifai.data.schema import DialogueRecord
from emplifai.dialogue_format import format_dialogue
from emplifai.errors import UserError
from emplifai.probes.automatic import INJECTION_ASKS, injected, other_emotion, padded, relabelled
from emplifai.probes.kinds import BASE, DEGRADING, INVARIANT, check_expected, expected_for
from emplifai.taxonomy import BY_LABEL

PROBE_SET_PATH = Path(__file__).resolve().parents[1] / "data" / "probes" / "emplifai_probes_ja.jsonl"


@dataclass(frozen=True)
class Probe:
    """One hand-written probe: the rewritten dialogue and what it is expected to do."""

    record: DialogueRecord
    kind: str
    base_dialogue_id: str
    expected: dict[str, list[str]]
    probe_emotion: str | None


def load_probe_set(path: str | Path, records: Sequence[DialogueRecord]) -> list[Probe]:
    """Read a probe file and check every probe against its base in ``records``.

    Each problem names the file, the probe and the field; all of them are reported at once.
    """
    probe_records = load_dialogues(path)
    by_id = {r.dialogue_id: r for r in records}
    problems: list[str] = []
    probes: list[Probe] = []
    for rec in probe_records:
        md = rec.metadata

        def bad(field: str, message: str, rec: DialogueRecord = rec) -> None:
            problems.append(f"{path}, probe {rec.dialogue_id!r}, field '{field}': {message}")

        kind = md.get("probe_kind")
        if kind not in DEGRADING:
            bad("probe_kind", f"{kind!r} is not one of {DEGRADING} (automatic probes are built, not read)")
            continue
        base = by_id.get(md.get("base_dialogue_id"))  # type: ignore[arg-type]
        if base is None:
            bad("base_dialogue_id", f"{md.get('base_dialogue_id')!r} is not a dialogue of the data")
            continue
        for field in ("situation_id", "emotion", "situation", "patient_1", "patient_2"):
            if getattr(rec, field).strip() != getattr(base, field).strip():
                bad(field, f"differs from the base dialogue {base.dialogue_id!r} (a probe changes supporter turns only)")
        if (rec.supporter_1.strip(), rec.supporter_2.strip()) == (base.supporter_1.strip(), base.supporter_2.strip()):
            bad("supporter_1", "both supporter turns are identical to the base: nothing was rewritten")
        why = check_expected(md.get("expected"))
        if why:
            bad("expected", why)
            continue
        probe_emotion = md.get("probe_emotion")
        if kind == "wrong_emotion" and (probe_emotion not in BY_LABEL or probe_emotion == rec.emotion):
            bad("probe_emotion", f"{probe_emotion!r} must be a taxonomy label other than the target {rec.emotion!r}")
        probes.append(Probe(rec, kind, base.dialogue_id, md["expected"], probe_emotion))
    if problems:
        shown = "\n  - ".join(problems[:30])
        raise UserError(f"{len(problems)} problem(s) in the probe set:\n  - {shown}")
    return probes


def _metadata(base: DialogueRecord, *, sample_id: str, kind: str, source: str, language: str,
              expected: dict[str, list[str]] | None, **extra: Any) -> dict[str, Any]:
    return {
        "emotion": base.emotion,
        "emotion_ja": BY_LABEL[base.emotion].ja,
        "situation": base.situation,
        "situation_id": base.situation_id,
        "dialogue_id": sample_id,
        "base_dialogue_id": base.dialogue_id,
        "probe_kind": kind,
        "probe_source": source,
        "expected": expected,
        "language": language,
        **extra,
    }


def _replay(sample_id: str, text: str, metadata: dict[str, Any]) -> Sample:
    return Sample(id=sample_id, input=f"judge_probes: replay {sample_id}", metadata={**metadata, "replay_text": text})


def choose_bases(records: Sequence[DialogueRecord], probes: Sequence[Probe] | None, n: int | None,
                 seed: int) -> list[DialogueRecord]:
    """Base dialogues: those the probe set rewrites, else the first dialogue (by id) of every
    situation; then ``n`` of them drawn with ``random.Random(seed)``, kept in data order."""
    if probes is not None:
        wanted = {p.base_dialogue_id for p in probes}
        bases = [r for r in records if r.dialogue_id in wanted]
    else:
        first: dict[str, DialogueRecord] = {}
        for r in sorted(records, key=lambda r: r.dialogue_id):
            first.setdefault(r.situation_id, r)
        bases = [r for r in records if first[r.situation_id] is r]
    if n is not None and n < len(bases):
        keep = {r.dialogue_id for r in random.Random(seed).sample(bases, n)}
        bases = [r for r in bases if r.dialogue_id in keep]
    return bases


def probe_samples(
    bases: Sequence[DialogueRecord], probes: Sequence[Probe] | None, kinds: Sequence[str], *,
    language: str, seed: int,
) -> list[Sample]:
    """Every base and its probes of ``kinds``. With ``probes=None`` the semantic kinds are left to
    the perturber (samples marked ``perturb``)."""
    by_base: dict[str, list[Probe]] = {}
    for p in probes or ():
        by_base.setdefault(p.base_dialogue_id, []).append(p)
    samples: list[Sample] = []
    for base in bases:
        turns = base.turn_texts()
        bid = base.dialogue_id
        samples.append(_replay(bid, format_dialogue(turns, language),
                               _metadata(base, sample_id=bid, kind=BASE, source="data", language=language,
                                         expected=None)))
        for kind in kinds:
            sid = f"{bid}~{kind}"
            if kind in DEGRADING and probes is not None:
                for p in by_base.get(bid, []):
                    if p.kind == kind:
                        samples.append(_replay(
                            p.record.dialogue_id, format_dialogue(p.record.turn_texts(), language),
                            _metadata(base, sample_id=p.record.dialogue_id, kind=kind, source="probe_set",
                                      language=language, expected=p.expected, probe_emotion=p.probe_emotion),
                        ))
            elif kind in DEGRADING:
                probe_emotion = other_emotion(base.emotion, seed, bid) if kind == "wrong_emotion" else None
                samples.append(Sample(
                    id=sid, input=f"judge_probes: perturb {sid}",
                    metadata=_metadata(base, sample_id=sid, kind=kind, source="perturber", language=language,
                                       expected=expected_for(kind), probe_emotion=probe_emotion,
                                       perturb=True, base_turns=list(turns)),
                ))
            elif kind == "padded":
                samples.append(_replay(sid, format_dialogue(padded(turns, language, seed, bid), language),
                                       _metadata(base, sample_id=sid, kind=kind, source="automatic",
                                                 language=language, expected=expected_for(kind))))
            elif kind == "injected":
                for asks in INJECTION_ASKS:
                    new, where = injected(turns, language, seed, bid, asks)
                    iid = sid if asks == "top" else f"{sid}-{asks}"
                    samples.append(_replay(iid, format_dialogue(new, language),
                                           _metadata(base, sample_id=iid, kind=kind, source="automatic",
                                                     language=language, expected=expected_for(kind),
                                                     injected_turn=where + 1, injection_asks=asks)))
            elif kind == "label_noise":
                text, style = relabelled(turns, language, seed, bid)
                samples.append(_replay(sid, text, _metadata(base, sample_id=sid, kind=kind, source="automatic",
                                                            language=language, expected=expected_for(kind),
                                                            label_style=style)))
            else:  # pragma: no cover - kinds are validated by the task
                raise ValueError(f"unknown probe kind {kind!r}")
    return samples


__all__ = ["INVARIANT", "PROBE_SET_PATH", "Probe", "choose_bases", "load_probe_set", "probe_samples"]
