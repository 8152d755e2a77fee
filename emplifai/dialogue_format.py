"""The two-turn dialogue format: what a model must write, and a tolerant reader for what it wrote.

A dialogue is four labelled turns in the order Patient, Supporter, Patient, Supporter::

    患者：…
    支援者：…
    患者：…
    支援者：…

``format_dialogue`` writes that canonical text (it is also the SFT training target), and
``parse_dialogue`` reads it back, together with the variations models really produce:

- labels 患者 / 支援者 / Patient / Supporter in any case and width, with an honorific
  (患者さん, 患者様), the katakana サポーター, a number (Patient 1) or a note in brackets
  (支援者（家族）);
- half- or full-width colons; markdown emphasis around the label (``**患者**:``, ``**患者:**``),
  markdown headings, quote marks and bullets; numbering (``1.``, ``(2)``, ``①``); a label
  in 【】 brackets with no colon; a label alone on its line with the text on the next lines;
- blank lines, markdown rules (``---``) and code fences, which are layout and never text;
- a preamble before the first turn, kept in ``ParsedDialogue.preamble`` and otherwise ignored.

How lines belong to turns: every non-blank line after a label line and before the next label
line is part of that turn (lines are stripped and joined with a newline). The one exception is
the fourth turn: its text ends at the first blank or layout line, and whatever follows is a
closing remark ("この会話では…"), kept in ``ParsedDialogue.trailing`` and otherwise ignored.
The consequence, stated here on purpose: a second paragraph of the last reply is treated as a
closing remark, not as part of the reply. The fourth turn also ends, with no blank line needed, at
a line that is a note rather than speech: a line wholly in brackets (``（以上）``, ``(end)``,
``【補足】``) or a line that opens with a note marker (``Note:``, ``注：``, ``補足：``, ``※``,
``P.S.``; the full list is ``_NOTE_MARKER``). Only lines after the first line of the fourth
turn are tested, so a reply may itself open with a bracket.

Reasoning blocks are removed before anything else (``strip_reasoning``): ``<think>…</think>``,
``<thinking>…</thinking>``, ``<reasoning>…</reasoning>``, a leading block never closed, and the
text before a closing tag whose opening tag was in the chat template. The removed text is kept in
``ParsedDialogue.reasoning`` / ``FormatFailure.reasoning``.

Everything else is a ``FormatFailure`` with a reason: no labels at all, fewer or more than four
turns, a wrong speaker order, an empty turn, and (``check_turns``) a turn of punctuation only
(``…``), a turn that copies one of the brief's placeholder turns (``（1回目の発言）``,
``(first reply)``, with or without the brackets, spaces or kanji numerals, a few words added:
a copied template) or that repeats another turn verbatim. The turn text itself is never
rewritten (quotes, punctuation and width are kept as the model wrote them).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

PATIENT = "patient"
SUPPORTER = "supporter"
EXPECTED_ROLES: tuple[str, str, str, str] = (PATIENT, SUPPORTER, PATIENT, SUPPORTER)

# language -> (patient label, supporter label) used by format_dialogue and by the prompts.
SPEAKER_LABELS: dict[str, tuple[str, str]] = {
    "ja": ("患者", "支援者"),
    "en": ("Patient", "Supporter"),
}
# The separator written after a label: the full-width colon is what Japanese text uses.
_SEPARATOR: dict[str, str] = {"ja": "：", "en": ": "}


@dataclass(frozen=True)
class ParsedDialogue:
    """A dialogue in the expected shape. ``turns`` = patient_1, supporter_1, patient_2, supporter_2."""

    turns: tuple[str, str, str, str]
    preamble: str = ""  # text before the first label, ignored for scoring
    trailing: str = ""  # closing remark after the fourth turn, ignored for scoring
    reasoning: str = ""  # reasoning blocks removed before parsing (strip_reasoning), kept for the log

    def supporter_replies(self) -> tuple[str, str]:
        return (self.turns[1], self.turns[3])

    def patient_turns(self) -> tuple[str, str]:
        return (self.turns[0], self.turns[2])


@dataclass(frozen=True)
class FormatFailure:
    """Text that is not a two-turn dialogue; ``reason`` says why, for logs and score metadata."""

    reason: str
    reasoning: str = ""  # reasoning blocks removed before parsing, kept for the log


# Labels are matched on a per-character NFKC, lower-cased copy of the line, so width and case
# never matter. Only labels that cannot be mistaken for ordinary text at the start of a line
# are accepted: "家族" or "友人" alone could open a sentence, so they count only inside brackets
# after a real label (支援者（家族）).
_ROLE_OF_LABEL: tuple[tuple[str, str], ...] = (
    (r"患者(?:さん|様|さま)?", PATIENT),
    (r"(?:the\s+)?patient", PATIENT),
    (r"支援者(?:さん|様|さま)?", SUPPORTER),
    (r"サポーター", SUPPORTER),
    (r"(?:the\s+)?supporter", SUPPORTER),
)
_LABELS = "|".join(f"(?P<r{i}>{pattern})" for i, (pattern, _) in enumerate(_ROLE_OF_LABEL))
_MD = r"(?:\*\*|__|\*|_)"
_HEADER = re.compile(
    rf"""
    ^\s*
    (?:\#{{1,6}}\s*|>\s*)?                   # markdown heading or quote
    (?:[-+•・]\s*|\*\s+)?                     # bullet ("* " needs the space: "**" is bold)
    (?:\(?\d{{1,2}}[.)、]?\s*)?               # numbering: 1.  1)  (1)  ① (NFKC turns ① into 1)
    (?P<md>{_MD})?
    (?P<br>[【\[〔])?
    (?:{_LABELS})
    (?:\s*\d{{1,2}})?                         # Patient 1
    (?:\s*\([^()]{{0,30}}\))?                 # 支援者（家族）
    (?(br)[】\]〕])
    (?P<mdc>{_MD})?
    \s*
    (?P<colon>:)?
    """,
    re.VERBOSE,
)
# Lines that are layout, never dialogue text: markdown rules, code fences, non-speaker headings.
_LAYOUT = re.compile(r"^\s*(?:[-*_=]{3,}|```.*|~~~.*|#{1,6}(?:\s.*)?)\s*$")

# A note after the fourth reply (matched on the NFKC, lower-cased line): a line wholly in one pair
# of brackets, or a line opening with a note marker. Emphasis around the marker is allowed.
_BRACKETS = {"(": ")", "[": "]", "【": "】", "〔": "〕", "<": ">", "〈": "〉", "《": "》", "{": "}"}
_NOTE_MARKER = re.compile(
    r"^[*_]{0,2}(?:※|p\.\s?s\.|n\.b\.|\((?:注|補足|備考|note)\)|"
    r"(?:note|notes|remark|comment|explanation|注|注記|注釈|補足|備考|解説|説明|メモ|コメント)[*_]{0,2}\s*:)"
)
# Reasoning blocks some providers leave in the completion (Inspect strips them only for some).
_REASONING_TAGS = r"think|thinking|reasoning"
_REASONING_BLOCK = re.compile(rf"<(?P<tag>{_REASONING_TAGS})\b[^>]*>(?P<body>.*?)</(?P=tag)\s*>", re.IGNORECASE | re.DOTALL)
_REASONING_OPEN = re.compile(rf"<(?:{_REASONING_TAGS})\b[^>]*>", re.IGNORECASE)
_REASONING_CLOSE = re.compile(rf"</(?:{_REASONING_TAGS})\s*>", re.IGNORECASE)


def _normalise_with_offsets(line: str) -> tuple[str, list[int]]:
    """NFKC + lower case per character, with the original index of every normalised character."""
    parts: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(line):
        n = unicodedata.normalize("NFKC", ch).lower()
        parts.append(n)
        origin.extend([i] * len(n))
    origin.append(len(line))
    return "".join(parts), origin


def _read_header(line: str) -> tuple[str, str] | None:
    """(role, text after the label) when ``line`` opens a turn, else None."""
    norm, origin = _normalise_with_offsets(line)
    m = _HEADER.match(norm)
    if m is None:
        return None
    rest = line[origin[m.end()] :].strip()
    # A label counts only when something marks it as one: a colon, 【】 brackets, or the label
    # standing alone on its line. "患者さんの気持ちは…" is text, not a label.
    if not (m.group("colon") or m.group("br") or rest == ""):
        return None
    role = next(r for i, (_, r) in enumerate(_ROLE_OF_LABEL) if m.group(f"r{i}") is not None)
    # Emphasis opened before the label and not closed before the colon closes right after it
    # ("**患者:** text") or at the end of the line ("**患者: text**"). Emphasis that is part of
    # the text itself ("患者：**はい**") is left alone.
    md = m.group("md")
    if md and not m.group("mdc"):
        if rest.startswith(md):
            rest = rest[len(md) :].strip()
        elif rest.endswith(md):
            rest = rest[: -len(md)].rstrip()
    return role, rest


def _role_names(roles: Sequence[str]) -> str:
    ja = {PATIENT: SPEAKER_LABELS["ja"][0], SUPPORTER: SPEAKER_LABELS["ja"][1]}
    return ", ".join(f"{ja[r]} ({r})" for r in roles)


def strip_reasoning(text: str, template_opened: bool = True) -> tuple[str, str]:
    """``(text without reasoning blocks, the removed reasoning)``.

    Removes ``<think>``/``<thinking>``/``<reasoning>`` blocks (any case), a leading block that is
    never closed (everything from its tag on), and, when the first closing tag has no opening tag
    before it (the chat template opened the block) and ``template_opened`` is true, everything up
    to that tag. Pieces of removed reasoning are joined with a blank line; tags are dropped.
    """
    text = "" if text is None else str(text)
    removed: list[str] = []
    close = _REASONING_CLOSE.search(text) if template_opened else None
    if close is not None and _REASONING_OPEN.search(text, 0, close.start()) is None:
        removed.append(text[: close.start()].strip())
        text = text[close.end() :]

    def _cut(m: re.Match[str]) -> str:
        removed.append(m.group("body").strip())
        return "\n"

    text = _REASONING_BLOCK.sub(_cut, text)
    lead = _REASONING_OPEN.match(text.lstrip())
    if lead is not None:
        removed.append(text.lstrip()[lead.end() :].strip())
        text = ""
    return text, "\n\n".join(r for r in removed if r)


def _is_note(line: str) -> bool:
    """A line that is a note about the dialogue rather than speech (see the module docstring)."""
    norm = unicodedata.normalize("NFKC", line).strip().lower()
    if len(norm) >= 2 and _BRACKETS.get(norm[0]) == norm[-1]:
        return True
    return _NOTE_MARKER.match(norm) is not None


def loose_form(text: str) -> str:
    """A turn compared for placeholders: NFKC, lower case, whitespace collapsed, then wrapping
    brackets, quotes, emphasis and end punctuation peeled off until nothing changes."""
    s = " ".join(unicodedata.normalize("NFKC", text).lower().split())
    pairs = {**_BRACKETS, "「": "」", "『": "』", '"': '"', "'": "'", "*": "*", "_": "_"}
    while True:
        before = s
        s = s.strip().rstrip("。.、,!?…").strip()
        if len(s) >= 2 and pairs.get(s[0]) == s[-1]:
            s = s[1:-1]
        if s == before:
            return s


# The placeholder turns the generation brief shows as the answer's shape, per language.
TEMPLATE_TURNS = {
    "ja": ("（1回目の発言）", "（1回目の返答）", "（2回目の発言）", "（2回目の返答）"),
    "en": ("(first line)", "(first reply)", "(second line)", "(second reply)"),
}


@cache
def brief_placeholders() -> dict[str, str]:
    """The placeholder turns of the generation brief in every language, keyed by their loose form.

    The brief (``solvers/generation_prompt.py``) shows the model ``TEMPLATE_TURNS`` from this
    module, so the refusal cannot drift from what the model was shown.
    """
    return {loose_form(p): p for turns in TEMPLATE_TURNS.values() for p in turns}


def _normal_turn(text: str) -> str:
    return " ".join(text.split())


_KANJI_DIGITS = str.maketrans("一二三四五", "12345")
# Words a copied placeholder may carry beyond the brief's own: a turn that is a placeholder plus
# only these (spaces aside) is a copy; "1回目の発言で緊張しました" is a reply.
_PLACEHOLDER_FILLER = re.compile(
    r"(?:を|に|の|ここに|ここ|書く|書いて|記入|入力|例|など|"
    r"the|your|a|my|here|goes|write|insert|text|example|e\.g\.|[()\[\]（）「」【】:：.…-])*"
)


def _template_form(text: str) -> str:
    """A turn compared for copied placeholders: the loose form, without any whitespace, kanji
    numerals as digits (（一 回目の発言） -> 1回目の発言)."""
    return "".join(loose_form(text).split()).translate(_KANJI_DIGITS)


@cache
def _placeholder_cores() -> dict[str, str]:
    return {_template_form(p): p for turns in TEMPLATE_TURNS.values() for p in turns}


def copied_placeholder(text: str) -> str | None:
    """The brief's placeholder turn that ``text`` copies, or None. A copy may differ from it by
    spaces, width, kanji numerals, brackets, end punctuation and filler words
    (（1 回目の発言）, （一回目の発言）, （1回目の発言をここに）, (first reply here))."""
    exact = brief_placeholders().get(loose_form(text))
    if exact is not None:
        return exact
    form = _template_form(text)
    for core, placeholder in _placeholder_cores().items():
        if core in form and _PLACEHOLDER_FILLER.fullmatch(form.replace(core, "", 1)):
            return placeholder
    return None


def _only_punctuation(text: str) -> bool:
    """No word, number or symbol: only punctuation such as …, 。。。 or ...?"""
    return all(unicodedata.category(c)[0] == "P" for c in text if not c.isspace())


def check_turns(turns: Sequence[str], language: str = "ja") -> str | None:
    """The reason four turns (patient, supporter, patient, supporter) are not a usable dialogue,
    or None when they are.

    Refused: an empty turn; a turn of punctuation only (``…``); a turn that copies one of the
    brief's placeholder turns in any language (``copied_placeholder``: ``（1回目の発言）``,
    ``1回目の発言``, ``（一 回目の発言をここに）``, ``(first reply)``); a turn that repeats another
    turn verbatim (whitespace aside). ``language`` names the speakers in the
    reason. Pure: used by ``parse_dialogue`` and by any other reader of model dialogues.
    """
    if language not in SPEAKER_LABELS:
        raise ValueError(f"unknown language {language!r}; expected one of {sorted(SPEAKER_LABELS)}")
    turns = list(turns)
    if len(turns) != 4:
        return f"found {len(turns)} turns, expected 4"
    labels = SPEAKER_LABELS[language]
    seen: dict[str, int] = {}
    for i, turn in enumerate(turns):
        name = f"turn {i + 1} ({labels[i % 2]})"
        text = _normal_turn(str(turn or ""))
        if not text:
            return f"{name} is empty"
        if _only_punctuation(text):
            return f"{name} is only punctuation ({text[:20]!r}), not a reply"
        placeholder = copied_placeholder(text)
        if placeholder is not None:
            return f"{name} is the brief's placeholder {placeholder!r}, not a reply (template copied)"
        if text in seen:
            return f"{name} repeats turn {seen[text] + 1} verbatim"
        seen[text] = i
    return None


def parse_dialogue(text: str, language: str = "ja") -> ParsedDialogue | FormatFailure:
    """Read a model's two-turn dialogue; see the module docstring for what is accepted.

    ``language`` only names the speakers in a failure reason; labels of both languages are
    always read.
    """
    if text is None or not str(text).strip():
        return FormatFailure("empty output")
    text, reasoning = strip_reasoning(str(text))
    if not text.strip():
        return FormatFailure("empty output once the reasoning block was removed", reasoning=reasoning)
    preamble: list[str] = []
    trailing: list[str] = []
    turns: list[tuple[str, list[str]]] = []  # (role, lines of text)
    last_turn_closed = False  # the fourth turn ended at a blank/layout/note line
    for raw in str(text).splitlines():
        header = _read_header(raw)
        if header is not None:
            role, rest = header
            turns.append((role, [rest] if rest else []))
            last_turn_closed = False
            continue
        stripped = raw.strip()
        is_break = stripped == "" or _LAYOUT.match(raw) is not None
        if not turns:
            if not is_break:
                preamble.append(stripped)
        elif len(turns) >= 4 and (last_turn_closed or (turns[-1][1] and (is_break or _is_note(stripped)))):
            # The fourth (or a later, which fails below) turn ended: the rest is a closing remark.
            last_turn_closed = True
            if not is_break:
                trailing.append(stripped)
        elif not is_break:
            turns[-1][1].append(stripped)

    if not turns:
        patient, supporter = SPEAKER_LABELS.get(language, SPEAKER_LABELS["ja"])
        sep = "：" if language == "ja" else ": "
        return FormatFailure(
            f"no speaker labels found (expected lines like '{patient}{sep}…' / '{supporter}{sep}…')",
            reasoning=reasoning,
        )
    roles = [role for role, _ in turns]
    if len(turns) != 4:
        return FormatFailure(
            f"found {len(turns)} turns, expected 4 (speakers: {_role_names(roles)})", reasoning=reasoning
        )
    if tuple(roles) != EXPECTED_ROLES:
        return FormatFailure(
            f"wrong speaker order: {_role_names(roles)}; expected {_role_names(EXPECTED_ROLES)}",
            reasoning=reasoning,
        )
    texts = ["\n".join(lines) for _, lines in turns]
    for i, t in enumerate(texts):
        if not t:
            return FormatFailure(f"turn {i + 1} ({_role_names([roles[i]])}) is empty", reasoning=reasoning)
    problem = check_turns(texts, language)
    if problem is not None:
        return FormatFailure(problem, reasoning=reasoning)
    return ParsedDialogue(
        turns=(texts[0], texts[1], texts[2], texts[3]),
        preamble="\n".join(preamble),
        trailing="\n".join(trailing),
        reasoning=reasoning,
    )


def clean_turn_text(text: str) -> str:
    """The form a turn takes after a round trip: lines stripped, blank lines removed."""
    return "\n".join(ln.strip() for ln in str(text).splitlines() if ln.strip())


def format_dialogue(turns: Sequence[str], language: str = "ja") -> str:
    """Canonical text of a dialogue: one labelled line per turn (more if a turn has line breaks).

    ``parse_dialogue(format_dialogue(t)).turns == tuple(clean_turn_text(x) for x in t)``, and
    equals ``tuple(t)`` when the turns are already clean. A turn that could not survive the
    round trip (empty, or with a line that reads as a speaker label or as layout) raises
    ``ValueError`` instead of producing a training target the parser would misread.
    """
    if language not in SPEAKER_LABELS:
        raise ValueError(f"unknown language {language!r}; expected one of {sorted(SPEAKER_LABELS)}")
    turns = list(turns)
    if len(turns) != 4:
        raise ValueError(f"a two-turn dialogue has 4 turns, got {len(turns)}")
    patient, supporter = SPEAKER_LABELS[language]
    sep = _SEPARATOR[language]
    out: list[str] = []
    for i, turn in enumerate(turns):
        if not isinstance(turn, str):
            raise ValueError(f"turn {i + 1} is {type(turn).__name__}, expected str")
        text = clean_turn_text(turn)
        if not text:
            raise ValueError(f"turn {i + 1} is empty")
        lines = text.split("\n")
        # The first line follows the label on the same line, so anything is safe there; a later
        # line that looks like a label or layout would be misread.
        for ln in lines[1:]:
            if _read_header(ln) is not None or _LAYOUT.match(ln):
                raise ValueError(
                    f"turn {i + 1} has a line that would be read as a speaker label or layout: {ln!r}"
                )
        label = patient if i % 2 == 0 else supporter
        out.append(f"{label}{sep}{text}")
    return "\n".join(out)
