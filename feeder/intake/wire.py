"""The agency wire format: one delivered file's bytes → an Article or a Rejection.

Pure: no I/O, no clock, no configuration, so every rule here is testable
from bytes alone. The format is described in docs/input.md.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from datetime import date, datetime

from feeder.intake.decoding import MixedEncodings, NotText, decode
from feeder.model import Article, Rejection, RejectReason, content_hash

END_MARK = "--0--"
TEASER_MARK = "-"
# Lines the agency's web page appends after the teasers; never content.
BOILERPLATE = frozenset({"Написать отзыв"})
# A category is a rubric of a word or a few; a longer line is misplaced text.
MAX_CATEGORY_LENGTH = 60

DATELINE = re.compile(
    r"^(?P<place>[^/]{1,60})/(?P<date>[^/]{0,20})/(?P<agency>[^/:]{1,60}):(?P<rest>.*)$"
)
DATE_SHAPES = {
    # ASCII digits only: `\d` would take fullwidth or Arabic-Indic ones too.
    re.compile(r"^[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{2}$"): "%d.%m.%y",
    re.compile(r"^[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}$"): "%d.%m.%Y",
}

_FIX = "; fix the file in the inbox or ask the agency to deliver it again"


def story_id_for(source_name: str) -> str:
    """The agency's identity of a story is its file name without `.txt`."""
    stem, dot, suffix = source_name.rpartition(".")
    return stem if dot and suffix.lower() == "txt" and stem else source_name


def parse(data: bytes, source_name: str) -> Article | Rejection:
    """A rejection carries the hash of the bytes (a changed file is news), an
    article that of its parsed content (a re-encoded copy is a duplicate)."""
    sha256 = hashlib.sha256(data).hexdigest()

    def reject(reason: RejectReason, message: str) -> Rejection:
        return Rejection(source_name, sha256, reason, message + _FIX)

    if not data:
        return reject(RejectReason.EMPTY, "the file is empty (0 bytes)")
    try:
        text = decode(data)
    except NotText as error:
        return reject(RejectReason.NOT_TEXT, f"not text in UTF-8, cp1251 or KOI8-R ({error})")
    except MixedEncodings as error:
        return reject(
            RejectReason.MIXED_ENCODINGS,
            f"{error}; published, it would show garbled letters; save the whole file in one "
            "encoding",
        )
    lines = [" ".join(line.split()) for line in text.split("\n")]
    lines = [line for line in lines if line]
    if not lines:
        return reject(RejectReason.EMPTY, "the file holds only white space")
    if DATELINE.match(lines[0]):
        return reject(
            RejectReason.NO_HEADLINE, "the first line is a dateline; the headline is missing"
        )
    if len(lines) < 2:
        return reject(
            RejectReason.NO_DATELINE, "no second line with the dateline 'PLACE/DD.MM.YY/AGENCY: '"
        )
    dateline = DATELINE.match(lines[1])
    if dateline is None:
        return reject(
            RejectReason.NO_DATELINE,
            f"line 2 does not start with a dateline 'PLACE/DD.MM.YY/AGENCY: ': {_excerpt(lines[1])!r}",
        )
    date_text = dateline["date"].strip()
    date_format = _date_format(date_text)
    if date_format is None:
        return reject(
            RejectReason.NO_DATELINE,
            f"the dateline has no date in the form DD.MM.YY: {_excerpt(lines[1])!r}",
        )
    try:
        story_date = _calendar_date(date_text, date_format)
    except ValueError:
        return reject(
            RejectReason.IMPOSSIBLE_DATE, f"the dateline date {date_text!r} is not a real date"
        )

    body = [dateline["rest"].strip(), *lines[2:]]
    end = next((index for index, line in enumerate(body) if line.endswith(END_MARK)), None)
    if end is None:
        return reject(RejectReason.NO_END_MARK, f"no end mark ' {END_MARK}' closes the body")
    body[end] = body[end].removesuffix(END_MARK).rstrip()
    paragraphs = tuple(paragraph for paragraph in body[: end + 1] if paragraph)
    if not paragraphs:
        return reject(
            RejectReason.NO_BODY, "the body between the dateline and the end mark is empty"
        )

    tail = body[end + 1 :]
    while tail and tail[-1] in BOILERPLATE:
        tail.pop()
    if not tail or tail[0] == TEASER_MARK:
        return reject(
            RejectReason.NO_CATEGORY, f"no category line after the end mark ' {END_MARK}'"
        )
    if len(tail[0]) > MAX_CATEGORY_LENGTH:
        return reject(
            RejectReason.NO_CATEGORY,
            f"the line after the end mark is too long for a category: {_excerpt(tail[0])!r}",
        )
    category = normalise_category(tail[0])
    if not category:
        return reject(
            RejectReason.NO_CATEGORY,
            f"the category line after the end mark ' {END_MARK}' holds only invisible characters",
        )
    place, agency, teasers = (
        dateline["place"].strip(),
        dateline["agency"].strip(),
        _teasers(tail[1:]),
    )
    return Article(
        story_id=story_id_for(source_name),
        source_name=source_name,
        title=lines[0],
        place=place,
        agency=agency,
        date=story_date,
        paragraphs=paragraphs,
        category=category,
        teasers=teasers,
        sha256=content_hash(
            lines[0], place, agency, story_date.isoformat(), paragraphs, category, teasers
        ),
    )


def normalise_category(name: str) -> str:
    """`  политика ` and `Политика` are one rubric: compatibility forms made plain
    (NFKC: fullwidth letters, ligatures), invisible and bidi controls dropped,
    spaces folded, the first letter capitalised. Empty if nothing visible is left."""
    plain = unicodedata.normalize("NFKC", name)
    visible = "".join(char for char in plain if unicodedata.category(char) != "Cf")
    folded = " ".join(visible.split())
    return folded[:1].upper() + folded[1:]


@functools.lru_cache(maxsize=4096)
def _calendar_date(text: str, date_format: str) -> date:
    """Tens of stories share a dateline date, and strptime is slow enough to show in bulk."""
    return datetime.strptime(text, date_format).date()


def _date_format(text: str) -> str | None:
    """Two-digit years follow strptime's %y rule: 69–99 are 19xx, 00–68 are 20xx."""
    return next(
        (date_format for shape, date_format in DATE_SHAPES.items() if shape.match(text)), None
    )


def _teasers(lines: list[str]) -> tuple[str, ...]:
    """Each teaser follows a line holding only '-'; stray lines become teasers of their own."""
    teasers: list[list[str]] = []
    for line in lines:
        if line == TEASER_MARK:
            teasers.append([])
        elif teasers:
            teasers[-1].append(line)
        else:
            teasers.append([line])
    return tuple(" ".join(teaser) for teaser in teasers if teaser)


def _excerpt(line: str, limit: int = 60) -> str:
    return line if len(line) <= limit else line[: limit - 1] + "…"
