"""Check raw rows against the canonical schema and turn the good ones into ``DialogueRecord``s.

Every problem is reported with file, row and field; a row with no problem is always kept.
Emotion labels are matched exactly (English label or Japanese keyword after NFKC, strip and
lower-casing): the fuzzy ``normalize_label`` is for model answers, not for gold data.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from emplifai.data.schema import (
    CANONICAL_COLUMNS,
    OPTIONAL_COLUMNS,
    TURN_COLUMNS,
    DialogueRecord,
    Problem,
)
from emplifai.taxonomy import EMOTIONS, ja_of

ID_COLUMNS = ("dialogue_id", "situation_id")
TEXT_COLUMNS = ("situation", *TURN_COLUMNS)

_EMOTION_KEYS: dict[str, str] = {}
for _e in EMOTIONS:
    _EMOTION_KEYS[_e.label] = _e.label
    _EMOTION_KEYS[unicodedata.normalize("NFKC", _e.ja).lower()] = _e.label
_JA_KEYS: dict[str, str] = {unicodedata.normalize("NFKC", e.ja): e.label for e in EMOTIONS}

_Report = Callable[[str | None, str], None]  # records one problem of the current row: (field, message)


def validate_rows(
    rows: Sequence[Mapping[str, Any]],
    file: str,
    *,
    row_numbers: Sequence[int] | None = None,
    columns: Sequence[str] | None = None,
) -> tuple[list[DialogueRecord], list[Problem]]:
    """Validate raw rows (canonical column names); return the valid records and every problem.

    ``row_numbers`` gives each row's 1-based position in the source (default 1..n);
    ``columns`` the source's columns (default: every key seen in ``rows``).
    """
    numbers = list(row_numbers) if row_numbers is not None else list(range(1, len(rows) + 1))
    if len(numbers) != len(rows):
        raise ValueError(f"{len(rows)} rows but {len(numbers)} row numbers")
    present = set(columns) if columns is not None else {k for row in rows for k in row}
    problems: list[Problem] = []
    for col in CANONICAL_COLUMNS:
        if col not in present:
            problems.append(Problem(file, None, col, "required column is missing (map it with --map / column_map)"))
    # A garbled column name is reported once, not on every row; its rows stay valid (the
    # column can only be metadata), but the problem still fails load_dialogues.
    for col in present:
        if isinstance(col, str) and _has_bad_bytes(col):
            first = next((n for row, n in zip(rows, numbers) if col in row), None)
            seen = f" (first in row {first})" if first is not None else ""
            problems.append(Problem(file, None, _show(col), f"column name is not valid UTF-8{seen}"))
    if not rows:
        problems.append(Problem(file, None, None, "no data rows"))

    candidates: list[tuple[int, DialogueRecord]] = []
    for row, rowno in zip(rows, numbers):
        record, row_problems = _check_row(row, rowno, file, present)
        problems.extend(row_problems)
        if record is not None:
            candidates.append((rowno, record))

    bad_rows = _check_across_rows(candidates, file, problems)
    records = [rec for rowno, rec in candidates if rowno not in bad_rows]
    problems.sort(key=lambda p: -1 if p.row is None else p.row)
    return records, problems


# --- one row -------------------------------------------------------------------------------


def _check_row(
    row: Mapping[str, Any], rowno: int, file: str, present: set[str]
) -> tuple[DialogueRecord | None, list[Problem]]:
    problems: list[Problem] = []

    def bad(col: str | None, message: str) -> None:
        problems.append(Problem(file, rowno, col, message))

    values: dict[str, Any] = {}
    for col in ID_COLUMNS:
        if col in present:
            values[col] = _id_value(row.get(col), col, bad)
    for col in TEXT_COLUMNS:
        if col in present:
            values[col] = _text_value(row.get(col), col, bad)

    emotion = None
    if "emotion" in present:
        raw = _text_value(row.get("emotion"), "emotion", bad)
        if raw is not None:
            emotion = _EMOTION_KEYS.get(unicodedata.normalize("NFKC", raw).strip().lower())
            if emotion is None:
                bad("emotion", f"unknown emotion {_show(raw)!r}: not one of the 28 labels or Japanese keywords")
    emotion_ja = _optional_text(row.get("emotion_ja"), "emotion_ja", bad)
    if emotion_ja is not None:
        ja_label = _JA_KEYS.get(unicodedata.normalize("NFKC", emotion_ja).strip())
        if ja_label is None:
            bad("emotion_ja", f"unknown Japanese emotion keyword {_show(emotion_ja)!r}")
        elif emotion is not None and ja_label != emotion:
            bad("emotion_ja", f"emotion_ja {emotion_ja.strip()!r} ({ja_label}) disagrees with emotion {emotion!r}")
        emotion_ja = None if ja_label is None else ja_of(ja_label)
    split = _optional_text(row.get("split"), "split", bad)

    known = set(CANONICAL_COLUMNS) | set(OPTIONAL_COLUMNS)
    metadata = {k: v for k, v in row.items() if k not in known}
    for key, value in metadata.items():
        if isinstance(value, str) and _has_bad_bytes(value):
            bad(_show(key), _bad_bytes_message(value))

    if problems or emotion is None or any(values.get(c) is None for c in CANONICAL_COLUMNS if c != "emotion"):
        return None, problems
    record = DialogueRecord(
        **{c: values[c] for c in CANONICAL_COLUMNS if c != "emotion"},
        emotion=emotion,
        emotion_ja=emotion_ja,
        split=split.strip() if split is not None else None,
        metadata=metadata,
    )
    return record, problems


def _id_value(value: Any, col: str, bad: _Report) -> str | None:
    # A CSV id 7 arrives as "7", a JSON or Parquet one as 7: both become "7". Floats and bools
    # are refused because "7.0" or "True" as an id is almost surely a conversion accident.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _text_value(value, col, bad)


def _text_value(value: Any, col: str, bad: _Report) -> str | None:
    if value is None:
        bad(col, "value is missing")
        return None
    if not isinstance(value, str):
        bad(col, f"expected text, got {type(value).__name__}: {_show(value)}")
        return None
    if _has_bad_bytes(value):
        bad(col, _bad_bytes_message(value))
        return None
    if not value.strip():
        bad(col, "value is empty")
        return None
    return value


def _optional_text(value: Any, col: str, bad: _Report) -> str | None:
    # Optional columns: null or an empty cell means "not given".
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _text_value(value, col, bad)


# --- across rows ---------------------------------------------------------------------------


def _check_across_rows(candidates: list[tuple[int, DialogueRecord]], file: str, problems: list[Problem]) -> set[int]:
    """Duplicate ids and inconsistent situations; returns the rows found at fault.

    The first row of an id or situation is taken as the reference; each later row that clashes
    with it is the one reported (naming the earlier row) and dropped.
    """
    at_fault: set[int] = set()
    first_of_id: dict[str, int] = {}
    first_of_situation: dict[str, tuple[int, DialogueRecord]] = {}
    for rowno, rec in candidates:
        if rec.dialogue_id in first_of_id:
            problems.append(Problem(
                file, rowno, "dialogue_id",
                f"duplicate dialogue_id {rec.dialogue_id!r} (also in row {first_of_id[rec.dialogue_id]})",
            ))
            at_fault.add(rowno)
        else:
            first_of_id[rec.dialogue_id] = rowno
        if rec.situation_id not in first_of_situation:
            first_of_situation[rec.situation_id] = (rowno, rec)
            continue
        ref_row, ref = first_of_situation[rec.situation_id]
        if rec.emotion != ref.emotion:
            problems.append(Problem(
                file, rowno, "emotion",
                f"situation_id {rec.situation_id!r} has emotion {ref.emotion!r} in row {ref_row} "
                f"but {rec.emotion!r} here",
            ))
            at_fault.add(rowno)
        if rec.situation.strip() != ref.situation.strip():
            problems.append(Problem(
                file, rowno, "situation",
                f"situation_id {rec.situation_id!r} has a different situation text in row {ref_row}",
            ))
            at_fault.add(rowno)
    return at_fault


# --- text that did not decode ---------------------------------------------------------------


def _has_bad_bytes(text: str) -> bool:
    # The readers decode with errors="surrogateescape": every undecodable byte is a lone
    # surrogate. JSON "\ud800" escapes land here too, and are equally unusable text.
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def _bad_bytes_message(text: str) -> str:
    pos = next(i for i, ch in enumerate(text) if "\ud800" <= ch <= "\udfff")
    byte = ord(text[pos]) - 0xDC00 if "\udc80" <= text[pos] <= "\udcff" else None
    what = f"byte 0x{byte:02x}" if byte is not None else "a lone surrogate"
    return f"text is not valid UTF-8 ({what} at character {pos + 1}; was the file saved as Shift-JIS?)"


def _show(value: Any) -> str:
    """A printable excerpt: surrogates would crash print(), so they become \\x.. escapes."""
    text = value if isinstance(value, str) else repr(value)
    text = "".join(
        f"\\x{ord(ch) - 0xDC00:02x}" if "\udc80" <= ch <= "\udcff"
        else f"\\u{ord(ch):04x}" if "\ud800" <= ch <= "\udfff"
        else ch
        for ch in text
    )
    return text if len(text) <= 40 else text[:37] + "..."

