"""Text normalisation shared by the red-flag rules and the model features.

Recognizer partials arrive lowercase, without punctuation and with numbers as
words; typed or reference text has capitals, punctuation, digits and
contractions. Both are brought to the same form here: lowercase words, digits
spelled out, contractions expanded so that negations stay visible ("can't" →
"can not"), and sentence breaks kept as a ``.`` token for negation scope.
No word is ever dropped: negations and domain words carry the meaning.

Text of lowercase letters, apostrophes and spaces only, which is what Vosk
writes, takes a faster path with the same result: one cached word at a time,
because the classifier normalises every partial of every call.
"""

from __future__ import annotations

import re
from functools import lru_cache

#: Token that stands for a sentence break (., ?, !, ;) in the normalised text.
BREAK = "."

_CONTRACTIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"\bcan'?t\b", "can not"),
        (r"\bcannot\b", "can not"),
        (r"\bwon'?t\b", "will not"),
        (r"\bain'?t\b", "is not"),
        (r"\b(do|does|did|is|are|was|were|has|have|had|could|would|should|must|need)n'?t\b", r"\1 not"),
        (r"\bi'?m\b", "i am"),
        (r"\b(he|she|it|that|there|what|who|where)'s\b", r"\1 is"),
        (r"'re\b", " are"),
        (r"'ve\b", " have"),
        (r"'ll\b", " will"),
        (r"'d\b", " would"),
    )
)
_SENTENCE_BREAK = re.compile(r"[.?!;]+(?:\s|$)")
_NON_WORD = re.compile(r"[^a-z0-9. ]+")
_DIGITS = re.compile(r"\d+")
_DECIMAL_POINT = re.compile(r"(\d)\.(\d)")
_SPACES = re.compile(r"\s+")
#: Lowercase letters, apostrophes and spaces only. Every rule above then acts
#: inside single words, so normalising such text word by word gives the same
#: result as normalising it whole.
_PLAIN_WORDS = re.compile(r"[a-z' ]*")
#: Maximum words ``_normalize_word`` keeps. Each partial of a call repeats the
#: words of the one before it, so a few thousand cover many calls at once. The
#: cache contains single words of recent calls, without order or call id.
WORD_CACHE_SIZE = 4096

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
         "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(value: int) -> str:
    """Spell a whole number below a million the way a recognizer writes it."""
    if value < 20:
        return _ONES[value]
    if value < 100:
        tens, ones = divmod(value, 10)
        return _TENS[tens] + ("" if ones == 0 else " " + _ONES[ones])
    if value < 1000:
        hundreds, rest = divmod(value, 100)
        return _ONES[hundreds] + " hundred" + ("" if rest == 0 else " " + number_words(rest))
    if value < 1_000_000:
        thousands, rest = divmod(value, 1000)
        return number_words(thousands) + " thousand" + ("" if rest == 0 else " " + number_words(rest))
    return " ".join(_ONES[int(digit)] for digit in str(value))


def normalize(text: str) -> str:
    """Return ``text`` as lowercase words with sentence breaks kept as ``.`` tokens."""
    if _PLAIN_WORDS.fullmatch(text):
        # A word can normalise to nothing ("'") or to two words ("cant" -> "can not").
        return " ".join(word for word in map(_normalize_word, text.split()) if word)
    return _normalize_text(text)


@lru_cache(maxsize=WORD_CACHE_SIZE)
def _normalize_word(word: str) -> str:
    return _normalize_text(word)


def _normalize_text(text: str) -> str:
    lowered = text.lower().replace("\u2019", "'")
    for pattern, replacement in _CONTRACTIONS:
        lowered = pattern.sub(replacement, lowered)
    lowered = _DECIMAL_POINT.sub(r"\1 point \2", lowered)
    lowered = _DIGITS.sub(lambda m: f" {number_words(int(m.group()))} ", lowered)
    lowered = _SENTENCE_BREAK.sub(f" {BREAK} ", lowered + " ")
    lowered = lowered.replace("'", "").replace("-", " ")
    lowered = _NON_WORD.sub(" ", lowered).replace(".", f" {BREAK} ")
    tokens = _SPACES.sub(" ", lowered).strip().split(" ")
    # Collapse runs of breaks and drop breaks at either end.
    kept: list[str] = []
    for token in tokens:
        if not token or (token == BREAK and (not kept or kept[-1] == BREAK)):
            continue
        kept.append(token)
    while kept and kept[-1] == BREAK:
        kept.pop()
    return " ".join(kept)


def model_text(normalized: str) -> str:
    """Return normalised text without break tokens, as the model features see it."""
    return " ".join(token for token in normalized.split(" ") if token != BREAK)
