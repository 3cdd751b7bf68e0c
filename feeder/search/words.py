"""Words as the index and the queries see them: folded (case, ё → е, stress
marks) and stemmed by Snowball, Russian for Cyrillic words and English for
Latin ones, so a Russian site finds «Reuters» in any form and an English one
«Карабах».

The same functions cut a story for the index and a query for the search, and
the snippet marker uses them again, so what is marked is what matched.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import Stemmer

# Letters and digits, with the combining stress marks Russian texts sometimes
# carry inside a word; `_` and punctuation separate words, as FTS5's unicode61
# tokenizer separates the stems this module writes.
_WORD = re.compile(r"(?:[^\W_]|[\u0300-\u036f])+")
# The same words in folded text (no stress marks left), where `_` has become a
# space: four times faster than _WORD, which matters to a bulk ingest.
_FOLDED_WORD = re.compile(r"\w+")
_STRESS = re.compile(r"[\u0300-\u036f]")
# A candidate stem shorter than this is not tried for another word's form (`forms`).
_MIN_FORM = 5

_RUSSIAN = Stemmer.Stemmer("russian")
_ENGLISH = Stemmer.Stemmer("english")


def fold(text: str) -> str:
    """Case, ё/е and stress marks do not tell words apart."""
    return _STRESS.sub("", text.casefold()).replace("ё", "е")


def stem(folded: str) -> str:
    """The Snowball stem of a folded word: each stemmer changes only words of its
    own alphabet, so Cyrillic words get Russian rules and Latin ones English."""
    return str(_ENGLISH.stemWord(_RUSSIAN.stemWord(folded)))


def spans(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, folded word) of each word of `text`, for reading a query."""
    for match in _WORD.finditer(text):
        yield match.start(), match.end(), fold(match.group())


def stemmed_spans(text: str, indexed: str) -> tuple[list[tuple[int, int]], list[str]]:
    """Each word's (start, end) in `text`, and its stem, for marking matches.

    `indexed` is the text as the index holds it (`stems`): the same words, so
    when they are as many nothing is stemmed again. Finding the words in the
    text folded as a whole needs folding to keep every character in its
    place, as it does unless the text has stress marks or a letter that
    casefolds to two (ß, İ): such text is folded and stemmed word by word."""
    folded = text.casefold().replace("ё", "е")
    if len(folded) == len(text) and not _STRESS.search(text):
        spans = [match.span() for match in _WORD.finditer(folded)]
        stemmed = indexed.split()
        if len(stemmed) == len(spans):
            return spans, stemmed
    found = [(match.span(), fold(match.group())) for match in _WORD.finditer(text)]
    return [at for at, _ in found], [stem(word) for _, word in found]


def stems(text: str) -> str:
    """The text as the index holds it: its words' stems, in order, separated by spaces."""
    folded = _FOLDED_WORD.findall(fold(text).replace("_", " "))
    return " ".join(_ENGLISH.stemWords(_RUSSIAN.stemWords(folded)))


def words(text: str) -> list[str]:
    """The folded words of a query's part."""
    return [fold(word) for word in _WORD.findall(text)]


def forms(folded: str) -> tuple[str, ...]:
    """The stems under which other forms of a word may be indexed.

    Snowball cuts what looks like an ending, and in a name that can be part of
    the word: «Карабах» is indexed as «караб», «Карабаха» as «карабах». Another
    form of a word is, as a rule, the word with part of its ending cut or
    added, so a word is looked up under its own stem, under the stems of its
    shorter forms (down to its own stem's length: «карабаха» → «карабах» →
    «караб»), and under its own longer prefixes («карабах» finds the stem
    «карабах» of «Карабаха»). «Карабин» has no such form, so it stays apart;
    candidates under five letters are left out (too many words share them)."""
    own = stem(folded)
    shorter = (stem(folded[:length]) for length in range(len(own), len(folded)))
    longer = (folded[:length] for length in range(len(own) + 1, len(folded) + 1))
    candidates = [form for form in (*shorter, *longer) if len(form) >= _MIN_FORM]
    return tuple(dict.fromkeys([own, *candidates]))
