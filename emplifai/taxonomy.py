"""The 28 emotion labels (27 GoEmotions categories + neutral), their Japanese keywords and
sentiment groups, and a normaliser from what models really answer to a canonical label.

The normaliser never guesses: text that matches no label (or matches two different labels)
gives ``None``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

SentimentGroup = Literal["positive", "negative", "ambiguous", "neutral"]


@dataclass(frozen=True)
class Emotion:
    label: str  # canonical English label (GoEmotions spelling)
    ja: str  # Japanese keyword used by EmplifAI
    group: SentimentGroup


EMOTIONS: tuple[Emotion, ...] = (
    Emotion("admiration", "称賛", "positive"),
    Emotion("amusement", "娯楽", "positive"),
    Emotion("approval", "承認", "positive"),
    Emotion("caring", "思いやり", "positive"),
    Emotion("desire", "願望", "positive"),
    Emotion("excitement", "興奮", "positive"),
    Emotion("gratitude", "感謝", "positive"),
    Emotion("joy", "喜び", "positive"),
    Emotion("love", "愛", "positive"),
    Emotion("optimism", "楽観", "positive"),
    Emotion("pride", "誇り", "positive"),
    Emotion("relief", "安心", "positive"),
    Emotion("anger", "怒り", "negative"),
    Emotion("annoyance", "迷惑", "negative"),
    Emotion("disappointment", "失望", "negative"),
    Emotion("disapproval", "不承認", "negative"),
    Emotion("disgust", "嫌悪", "negative"),
    Emotion("embarrassment", "恥ずかしさ", "negative"),
    Emotion("fear", "恐れ", "negative"),
    Emotion("grief", "嘆き", "negative"),
    Emotion("nervousness", "緊張", "negative"),
    Emotion("remorse", "後悔", "negative"),
    Emotion("sadness", "悲しみ", "negative"),
    Emotion("confusion", "混乱", "ambiguous"),
    Emotion("curiosity", "好奇心", "ambiguous"),
    Emotion("realization", "気づき", "ambiguous"),
    Emotion("surprise", "驚き", "ambiguous"),
    Emotion("neutral", "平静", "neutral"),
)

LABELS: tuple[str, ...] = tuple(e.label for e in EMOTIONS)
GROUPS: tuple[SentimentGroup, ...] = ("positive", "negative", "ambiguous", "neutral")
BY_LABEL: dict[str, Emotion] = {e.label: e for e in EMOTIONS}
BY_JA: dict[str, Emotion] = {e.ja: e for e in EMOTIONS}


# Languages a run can be shown in: the brief, the labels, the speaker names and the rubric.
LANGUAGES: tuple[str, ...] = ("ja", "en")


def check_language(language: str) -> str:
    """``language`` itself if it is one of LANGUAGES; a clear error otherwise."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
    return language


def label_in(label: str, language: str) -> str:
    """How a canonical label is written in ``language``: its Japanese keyword, or itself in English."""
    check_language(language)
    return BY_LABEL[label].ja if language == "ja" else label


def group_of(label: str) -> SentimentGroup:
    """Sentiment group of a canonical label (KeyError for anything else)."""
    return BY_LABEL[label].group


def ja_of(label: str) -> str:
    """Japanese keyword of a canonical label (KeyError for anything else)."""
    return BY_LABEL[label].ja


# Word forms models produce instead of the bare keyword. Keys are compared after
# normalisation (NFKC, lower case); each maps to exactly one canonical label.
_ALIASES: dict[str, str] = {
    # admiration
    "admire": "admiration", "admiring": "admiration", "admired": "admiration",
    "賞賛": "admiration", "称賛する": "admiration", "尊敬": "admiration", "感心": "admiration",
    # amusement
    "amused": "amusement", "amusing": "amusement", "fun": "amusement", "面白い": "amusement",
    "おもしろい": "amusement", "楽しさ": "amusement", "可笑しさ": "amusement", "おかしさ": "amusement",
    # approval
    "approve": "approval", "approving": "approval", "approved": "approval", "賛成": "approval",
    "同意": "approval", "肯定": "approval",
    # caring
    "care": "caring", "cared": "caring", "compassion": "caring", "思いやる": "caring",
    "気遣い": "caring", "配慮": "caring",
    # desire
    "desires": "desire", "wish": "desire", "want": "desire", "longing": "desire",
    "願い": "desire", "望み": "desire", "欲求": "desire",
    # excitement
    "excited": "excitement", "exciting": "excitement", "わくわく": "excitement",
    "ワクワク": "excitement", "興奮する": "excitement",
    # gratitude
    "grateful": "gratitude", "thankful": "gratitude", "thanks": "gratitude",
    "感謝する": "gratitude", "ありがたい": "gratitude", "有り難い": "gratitude",
    # joy
    "joyful": "joy", "happy": "joy", "happiness": "joy", "嬉しい": "joy", "うれしい": "joy",
    "喜ぶ": "joy", "よろこび": "joy", "嬉しさ": "joy", "幸せ": "joy",
    # love
    "loving": "love", "loved": "love", "愛情": "love", "愛する": "love",
    # optimism
    "optimistic": "optimism", "hopeful": "optimism", "hope": "optimism", "楽観的": "optimism",
    "前向き": "optimism", "希望": "optimism",
    # pride
    "proud": "pride", "誇らしい": "pride", "誇らしさ": "pride", "誇りに思う": "pride",
    # relief
    "relieved": "relief", "安堵": "relief", "ほっとする": "relief", "ほっと": "relief",
    "安心する": "relief", "安心感": "relief",
    # anger
    "angry": "anger", "mad": "anger", "rage": "anger", "怒る": "anger", "いかり": "anger",
    "腹立ち": "anger", "憤り": "anger",
    # annoyance
    "annoyed": "annoyance", "annoying": "annoyance", "irritation": "annoyance",
    "irritated": "annoyance", "苛立ち": "annoyance", "いらだち": "annoyance",
    "イライラ": "annoyance", "迷惑する": "annoyance", "煩わしさ": "annoyance",
    # disappointment
    "disappointed": "disappointment", "disappointing": "disappointment",
    "がっかり": "disappointment", "失望する": "disappointment", "落胆": "disappointment",
    # disapproval
    "disapprove": "disapproval", "disapproving": "disapproval", "反対": "disapproval",
    "不賛成": "disapproval", "否認": "disapproval",
    # disgust
    "disgusted": "disgust", "disgusting": "disgust", "嫌悪感": "disgust",
    "嫌悪する": "disgust", "不快感": "disgust",
    # embarrassment
    "embarrassed": "embarrassment", "embarrassing": "embarrassment", "shame": "embarrassment",
    "恥ずかしい": "embarrassment", "羞恥": "embarrassment", "恥": "embarrassment",
    # fear
    "afraid": "fear", "scared": "fear", "fearful": "fear", "frightened": "fear",
    "怖い": "fear", "こわい": "fear", "恐怖": "fear", "恐れる": "fear",
    # grief
    "grieving": "grief", "grieve": "grief", "mourning": "grief", "悲嘆": "grief",
    "嘆く": "grief", "哀悼": "grief",
    # nervousness
    "nervous": "nervousness", "anxious": "nervousness", "anxiety": "nervousness",
    "緊張する": "nervousness", "ドキドキ": "nervousness", "どきどき": "nervousness",
    # remorse
    "remorseful": "remorse", "regret": "remorse", "regretful": "remorse", "guilt": "remorse",
    "guilty": "remorse", "後悔する": "remorse", "悔やみ": "remorse", "罪悪感": "remorse",
    # sadness
    "sad": "sadness", "sorrow": "sadness", "unhappy": "sadness", "悲しい": "sadness",
    "かなしい": "sadness", "悲しさ": "sadness", "哀しみ": "sadness",
    # confusion
    "confused": "confusion", "confusing": "confusion", "困惑": "confusion",
    "混乱する": "confusion", "戸惑い": "confusion",
    # curiosity
    "curious": "curiosity", "interest": "curiosity", "interested": "curiosity",
    "興味": "curiosity", "好奇心旺盛": "curiosity",
    # realization
    "realize": "realization", "realise": "realization", "realisation": "realization",
    "realized": "realization", "insight": "realization", "気付き": "realization",
    "気づく": "realization", "悟り": "realization",
    # surprise
    "surprised": "surprise", "surprising": "surprise", "astonishment": "surprise",
    "びっくり": "surprise", "驚く": "surprise", "おどろき": "surprise",
    # neutral
    "none": "neutral", "no emotion": "neutral", "neutrality": "neutral", "中立": "neutral",
    "ニュートラル": "neutral", "平常": "neutral", "感情なし": "neutral",
}

_LOOKUP: dict[str, str] = {}
for _e in EMOTIONS:
    _LOOKUP[_e.label] = _e.label
    _LOOKUP[_e.ja] = _e.label
for _k, _v in _ALIASES.items():
    _LOOKUP[unicodedata.normalize("NFKC", _k).lower()] = _v

# A leading "label:" the model wrote before its answer.
_PREFIX = re.compile(
    r"^(?:final\s+answer|answer|emotion|label|prediction|predicted\s+emotion|the\s+emotion\s+is|"
    r"感情ラベル|感情|答え|回答|解答|ラベル|予測|正解)\s*(?:は|[:：=\-]|is)?\s*",
    re.IGNORECASE,
)
_STRIP_CHARS = " \t\r\n\"'`*_#>「」『』【】[]()（）<>《》〈〉.,!?;:。、，．！？；：・…-~〜"
_TOKEN = re.compile(r"[a-z]+(?:\s[a-z]+)?|[^\sa-z0-9]+")
# Japanese copulas / politeness a model appends: "悲しみです", "恐れだと思います".
_SENTENCE_END = re.compile(r"[。.!?！？]")
_JA_TAIL = re.compile(r"(?:です|でした|だと思います|と思います|だと考えます|である|だ)$")


def _clean(text: str) -> str:
    s = unicodedata.normalize("NFKC", text).strip().lower()
    s = re.sub(r"\*\*|__", "", s)
    s = s.strip(_STRIP_CHARS)
    s = _PREFIX.sub("", s)
    s = s.strip(_STRIP_CHARS)
    s = _JA_TAIL.sub("", s).strip(_STRIP_CHARS)
    return s


def normalize_label(text: str | None) -> str | None:
    """Map a model's answer to one of the 28 canonical labels, or ``None``.

    Accepts an English label or Japanese keyword in any case or width, wrapped in quotes or
    markdown, with trailing punctuation, after a prefix such as ``感情:`` or ``Emotion:``, or as
    a common word form (``sad``, ``悲しい``, ``fearful``, ``怖い``). An answer that names two
    different labels, or none, gives ``None``: a wrong guess would inflate accuracy.
    """
    if text is None:
        return None
    # The first non-empty line carries the answer; explanations follow on later lines.
    lines = [ln for ln in str(text).splitlines() if _clean(ln)]
    if not lines:
        return None
    first_line = _clean(lines[0])
    label = _match(first_line)
    if label is None:
        # "愛．状況: ..." / "Sadness. The patient ...": a label stated as the first sentence.
        first_sentence = _clean(_SENTENCE_END.split(first_line, maxsplit=1)[0])
        if first_sentence != first_line:
            label = _match(first_sentence)
    return label


def _match(s: str) -> str | None:
    if s in _LOOKUP:
        return _LOOKUP[s]
    # "sadness (悲しみ)", "悲しみ / sadness": every recognised token must agree on one label.
    found = {_LOOKUP[t] for t in _tokens(s) if t in _LOOKUP}
    if len(found) == 1:
        return found.pop()
    return None


def _tokens(s: str) -> list[str]:
    parts = re.split(r"[\s/|,、，()（）「」:：]+", s)
    out: list[str] = []
    for p in parts:
        p = p.strip(_STRIP_CHARS)
        if p:
            out.append(p)
            out.append(_JA_TAIL.sub("", p))
    return out
