"""What a reader typed → a query feeder understands, and the FTS5 MATCH expression for it.

FTS5's own syntax is never handed what a reader typed: `AND AND`, a lone
`NEAR`, `title:` or an odd quote would be a syntax error, or a search of
columns readers should not reach. The text is read here as words, "phrases in
quotes", `prefixes*` and `-exclusions`, everything else being a separator,
and the expression is built from quoted stems, which hold only letters and
digits. What cannot be searched is a `SearchProblem` whose message says what to
change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from feeder.search import problems
from feeder.search.problems import SearchProblem
from feeder.search.words import forms, spans, stem, words

# Longer queries are refused, not cut: a cut query would find something else.
MAX_QUERY_CHARS = 500
# Words, phrases and prefixes in one query; each is a lookup in the index.
MAX_PARTS = 16
# A shorter prefix would match a good part of the dictionary.
MIN_PREFIX_CHARS = 3

# A quoted phrase (an unclosed quote runs to the end), or a run of other characters.
_CHUNK = re.compile(r'(-?)"([^"]*)"?|(-?)([^\s"]+)')
# Only title and text are searched; `category` holds the filter's token.
_TEXT_COLUMNS = "{title body}"


@dataclass(frozen=True)
class Word:
    """Any form of one word: matches a story word whose stem is one of `stems`."""

    stems: tuple[str, ...]

    def expression(self) -> str:
        return _any(f'"{form}"' for form in self.stems)

    def hints(self) -> tuple[str, ...]:
        return self.stems

    def runs(self, stemmed: list[str]) -> Iterator[tuple[int, int]]:
        return ((at, at) for at, word in enumerate(stemmed) if word in self.stems)


@dataclass(frozen=True)
class Phrase:
    """Words in this order, each in any of the forms its stem covers."""

    stems: tuple[str, ...]

    def expression(self) -> str:
        return f'"{" ".join(self.stems)}"'

    def hints(self) -> tuple[str, ...]:
        return self.stems[:1]

    def runs(self, stemmed: list[str]) -> Iterator[tuple[int, int]]:
        """The phrase where its words come in order, not its words anywhere."""
        first, length = self.stems[0], len(self.stems)
        for at, word in enumerate(stemmed):
            if word == first and tuple(stemmed[at : at + length]) == self.stems:
                yield at, at + length - 1


@dataclass(frozen=True)
class Prefix:
    """Words whose stem starts with `stem` (`вакцин*`: вакцина, вакцинация, …)."""

    stem: str

    def expression(self) -> str:
        return f'"{self.stem}"*'

    def hints(self) -> tuple[str, ...]:
        return (self.stem,)

    def runs(self, stemmed: list[str]) -> Iterator[tuple[int, int]]:
        return ((at, at) for at, word in enumerate(stemmed) if word.startswith(self.stem))


Part = Word | Phrase | Prefix


@dataclass(frozen=True)
class Query:
    wanted: tuple[Part, ...]
    excluded: tuple[Part, ...]

    def match(self, category_token: str | None = None) -> str:
        """The FTS5 MATCH expression: every wanted part, none of the excluded, in
        the title or text; and the category's token, when filtered by one."""
        expression = f"({_TEXT_COLUMNS} : ({' AND '.join(p.expression() for p in self.wanted)}))"
        if self.excluded:
            excluded = " OR ".join(part.expression() for part in self.excluded)
            expression += f" NOT ({_TEXT_COLUMNS} : ({excluded}))"
        if category_token is not None:
            expression = f'({expression}) AND (category : "{category_token}")'
        return expression

    def may_match(self, stemmed: str) -> bool:
        """False when no word of these stems (a text's, space-separated) can match:
        a wanted part's stems (a phrase's first) must be in them. Cheaper than
        `marks`, so it spares most paragraphs of a results page."""
        return any(hint in stemmed for part in self.wanted for hint in part.hints())

    def marks(self, stemmed: list[str]) -> list[tuple[int, int]]:
        """The runs of a text's words (first and last index, in order, apart) that
        a wanted part matched, given the stems of the text's words."""
        runs: list[tuple[int, int]] = []
        for first, last in sorted(run for part in self.wanted for run in part.runs(stemmed)):
            if runs and first <= runs[-1][1]:
                runs[-1] = (runs[-1][0], max(last, runs[-1][1]))
            else:
                runs.append((first, last))
        return runs


def parse(text: str) -> Query:
    """Raises SearchProblem when nothing can be searched for."""
    if len(text) > MAX_QUERY_CHARS:
        raise SearchProblem(problems.TOO_LONG, limit=MAX_QUERY_CHARS)
    wanted: list[Part] = []
    excluded: list[Part] = []
    for match in _CHUNK.finditer(text):
        minus, phrase, chunk_minus, chunk = match.groups()
        into = excluded if (minus or chunk_minus) else wanted
        if phrase is not None:
            into.extend(_phrase(words(phrase)))
        else:
            into.extend(_chunk(chunk))
    if len(wanted) + len(excluded) > MAX_PARTS:
        raise SearchProblem(problems.TOO_MANY_WORDS, limit=MAX_PARTS)
    if not wanted:
        if excluded:
            raise SearchProblem(problems.ONLY_EXCLUDED)
        raise SearchProblem(problems.NO_WORDS)
    return Query(tuple(wanted), tuple(excluded))


def _phrase(folded: list[str]) -> list[Part]:
    if len(folded) == 1:
        return [Word(forms(folded[0]))]
    return [Phrase(tuple(stem(word) for word in folded))] if folded else []


def _chunk(chunk: str) -> list[Part]:
    """Words outside quotes; a `*` right after a word makes it a prefix, and any
    other character (`:`, `(`, `^`, a lone `*`) only separates words."""
    parts: list[Part] = []
    for _start, end, folded in spans(chunk):
        if not chunk.startswith("*", end):
            parts.append(Word(forms(folded)))
        elif len(folded) < MIN_PREFIX_CHARS:
            raise SearchProblem(problems.SHORT_PREFIX, limit=MIN_PREFIX_CHARS)
        else:
            parts.append(Prefix(stem(folded)))
    return parts


def _any(expressions: Iterable[str]) -> str:
    return f"({' OR '.join(expressions)})"
