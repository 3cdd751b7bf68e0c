"""The Telegram message a story becomes, in the Bot API's HTML parse mode.

Telegram's HTML (https://core.telegram.org/bots/api#html-style) knows a few tags
and the entities `&lt;`, `&gt;`, `&amp;`, `&quot;`: every other `<`, `>` and `&`
must be escaped. A message holds 4,096 characters *after* that parsing, counted
in UTF-16 code units (an emoji outside the BMP counts two). So lengths are
measured on the plain text and the text is cut before it is escaped: a cut can
never fall inside a tag or an entity.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from feeder.i18n import Dates, LanguageError

MESSAGE_LIMIT = 4096
ELLIPSIS = "…"
# A dateline's place is a city and a category a word or two: hostile ones are cut
# to these (UTF-16 units), so that the link and the hashtag always fit.
PLACE_LIMIT = 100
HASHTAG_LIMIT = 100
# A lead cut shorter than this says nothing: it goes, and the headline is cut instead.
_SHORTEST_LEAD = 40
# Not left before an ellipsis: "Баку, …" reads as a fault.
_TRAILING = " ,;:–—-"


@dataclass(frozen=True)
class _Words:
    read: str
    withdrawn: str


# Three strings: a table here rather than msgids in the site's catalogues, which
# the templates own (a test checks that every template string is translated).
_WORDS = {
    "ru": _Words(read="Читать полностью", withdrawn="Материал отозван"),
    "en": _Words(read="Read the story", withdrawn="Story withdrawn"),
}


@dataclass(frozen=True)
class StoryPost:
    """What a channel post shows of a story. `local_time` is shown as it is, so it
    must be aware and already in the site's time zone; `language` is the site's."""

    headline: str
    place: str
    local_time: datetime
    lead: str
    url: str
    category: str
    language: str = "ru"

    def __post_init__(self) -> None:
        if self.local_time.utcoffset() is None:
            raise ValueError("local_time must be timezone-aware: it is shown as it is")
        _words(self.language)


def render_story(post: StoryPost) -> str:
    """The post: the headline in bold, the place and local time, the lead, a link to
    the article page and the category's hashtag, within `MESSAGE_LIMIT`. The lead is
    cut first, then the headline; the link and the hashtag always stay whole."""
    words = _words(post.language)
    dateline = _shorten(_clean(post.place), PLACE_LIMIT)
    when = _when(post.local_time, post.language)
    dateline = f"{dateline}, {when}" if dateline else when
    tag = hashtag(post.category)
    footer = f"{words.read}\n{tag}" if tag else words.read
    # Everything but the headline and the lead: two line breaks between blocks, one within.
    fixed = units(dateline) + 1 + 2 + units(footer)
    headline, lead = _fit(_clean(post.headline), _clean(post.lead), MESSAGE_LIMIT - fixed)
    blocks = [f"<b>{escape(headline)}</b>\n<i>{escape(dateline)}</i>"]
    if lead:
        blocks.append(escape(lead))
    link = f'<a href="{escape(_visible(post.url), quote=True)}">{escape(words.read)}</a>'
    blocks.append(f"{link}\n{tag}" if tag else link)
    return "\n\n".join(blocks)


def render_withdrawal(headline: str, language: str) -> str:
    """What a post is edited into when Telegram will not delete it (a channel post
    older than 48 hours): a bold notice over the headline struck through."""
    notice = _words(language).withdrawn
    struck = _shorten(_clean(headline), MESSAGE_LIMIT - units(notice) - 1)
    return f"<b>{escape(notice)}</b>\n<s>{escape(struck)}</s>"


def hashtag(category: str) -> str | None:
    """«В мире» → `#В_мире`: Telegram links a hashtag of letters, digits and `_` only.
    None when no letter is left, since Telegram does not link digits alone."""
    kept = (
        char if char == "_" or unicodedata.category(char)[0] in "LM" or char.isdecimal() else " "
        for char in unicodedata.normalize("NFC", _clean(category))
    )
    word = "_".join("".join(kept).replace("_", " ").split())
    word = _prefix(word, HASHTAG_LIMIT - 1).rstrip("_")
    return f"#{word}" if any(char.isalpha() for char in word) else None


def escape(text: str, *, quote: bool = False) -> str:
    """Telegram's HTML escaping: `&`, `<` and `>`, and `"` inside an attribute."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "&quot;") if quote else text


def units(text: str) -> int:
    """The length Telegram counts: UTF-16 code units."""
    return sum(2 if ord(char) > 0xFFFF else 1 for char in text)


def _fit(headline: str, lead: str, room: int) -> tuple[str, str]:
    """The headline and lead cut to `room` units together (with the lead's blank line):
    the lead first, and when too little of it would be left, the headline instead."""
    lead_room = room - units(headline) - 2
    if units(lead) <= lead_room:
        return headline, lead
    if lead_room >= _SHORTEST_LEAD:
        return headline, _shorten(lead, lead_room)
    return _shorten(headline, room), ""


def _shorten(text: str, room: int) -> str:
    """`text` within `room` units: cut after its last whole word that fits, then an
    ellipsis; a single word longer than half the room is cut where the room ends."""
    if units(text) <= room:
        return text
    cut = _prefix(text, room - units(ELLIPSIS))
    if not text[len(cut)].isspace():
        space = cut.rfind(" ")
        if space > len(cut) // 2:
            cut = cut[:space]
    return cut.rstrip(_TRAILING) + ELLIPSIS


def _prefix(text: str, room: int) -> str:
    """The longest start of `text` within `room` units, never half a surrogate pair."""
    used = 0
    for index, char in enumerate(text):
        used += units(char)
        if used > room:
            return text[:index]
    return text


def _clean(text: str) -> str:
    """One line of visible text: any run of white space (line breaks too) becomes one
    space, so a field cannot break the layout, and control characters go."""
    return " ".join(_visible("".join(" " if char.isspace() else char for char in text)).split())


def _visible(text: str) -> str:
    """`text` without control characters, which Telegram refuses, nor lone surrogates,
    which cannot even be sent as UTF-8."""
    return "".join(char for char in text if unicodedata.category(char) not in ("Cc", "Cs"))


def _words(language: str) -> _Words:
    if language not in _WORDS:
        raise LanguageError(
            f"no Telegram wording for language {language!r}; there is {', '.join(sorted(_WORDS))}"
        )
    return _WORDS[language]


def _when(moment: datetime, language: str) -> str:
    """The story's date and time as the site shows them, in the moment's own zone."""
    dates = _dates(language)
    return format_datetime(moment, dates.moment_pattern, tzinfo=moment.tzinfo, locale=dates.locale)


@functools.cache
def _dates(language: str) -> Dates:
    # Only the language's CLDR patterns are used: each post is shown in its own zone.
    return Dates.for_language(language, ZoneInfo("UTC"))
