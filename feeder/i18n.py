"""The site's language: one gettext catalogue per language, dates and plurals by Babel.

Interface strings are English msgids in the templates; `feeder/messages/<language>.po`
translates them. Plural rules come from Babel's CLDR data for the language (the
catalogues carry no Plural-Forms header of their own), and dates are formatted
from CLDR skeletons, so "1 статья / 2 статьи / 5 статей" and "2 декабря 2026 г."
are never hand-written rules. Every date is shown in the configured time zone.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib.resources import files
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import format_datetime, match_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from feeder.errors import FeederError

CATALOGUE_PACKAGE = "feeder.messages"


class LanguageError(FeederError):
    """The configured language has no catalogue or is unknown to Babel."""


def catalogue_languages() -> list[str]:
    """The languages feeder speaks: one `.po` file each."""
    return sorted(
        entry.name.removesuffix(".po")
        for entry in files(CATALOGUE_PACKAGE).iterdir()
        if entry.name.endswith(".po")
    )


def translations(language: str) -> Translations:
    """The catalogue for `language`, compiled in memory (a few milliseconds, once per run)."""
    source = files(CATALOGUE_PACKAGE) / f"{language}.po"
    if not source.is_file():
        raise LanguageError(
            f"no interface catalogue for language {language!r}; feeder has "
            f"{', '.join(catalogue_languages())}: set 'language' to one of them"
        )
    with source.open("rb") as po_file:
        catalogue = read_po(po_file, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return Translations(compiled)


@dataclass(frozen=True)
class Dates:
    """One format per context, each a CLDR pattern for the language, in one time zone."""

    zone: ZoneInfo
    locale: Locale
    moment_pattern: str
    date_pattern: str
    day_pattern: str
    month_pattern: str
    time_pattern: str
    moment_glue: str  # CLDR's "{1}, {0}": where the date and the time go
    # Thousands of stories share a day or a minute: Babel formats each once (40 µs).
    _days: dict[date, str] = field(default_factory=dict, compare=False, repr=False)
    _times: dict[tuple[int, int], str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def for_language(cls, language: str, zone: ZoneInfo) -> Dates:
        try:
            locale = Locale.parse(language)
        except (UnknownLocaleError, ValueError) as error:
            raise LanguageError(f"language {language!r} is not known to Babel: {error}") from None
        # CLDR's own glue for a date and a time: "{1}, {0}" in Russian and English.
        glue = str(locale.datetime_formats["medium"])
        date, time = _pattern(locale, "yMMMMd"), _pattern(locale, "Hm")
        return cls(
            zone=zone,
            locale=locale,
            moment_pattern=glue.replace("{1}", date).replace("{0}", time),
            date_pattern=date,
            moment_glue=glue,
            day_pattern=_pattern(locale, "yMMMMEEEEd"),
            month_pattern=_pattern(locale, "yMMMM"),
            time_pattern=time,
        )

    def moment(self, moment: datetime) -> str:
        """A story's date and time, as headlines and the article page show it
        (`moment_pattern`, put together from the day's and the time's)."""
        local = moment.astimezone(self.zone)
        day = local.date()
        if day not in self._days:
            self._days[day] = self._format(local, self.date_pattern)
        return self.moment_glue.replace("{1}", self._days[day]).replace("{0}", self.time(local))

    def day(self, day: str) -> str:
        """`2023-10-01` (a local day) → "вс, 1 октября 2023 г."."""
        noon = datetime.fromisoformat(day).replace(hour=12, tzinfo=self.zone)
        return self._format(noon, self.day_pattern)

    def month(self, month: str) -> str:
        """`2023-09` → "сентябрь 2023 г."."""
        year, number = month.split("-")
        return self._format(
            datetime(int(year), int(number), 15, tzinfo=self.zone), self.month_pattern
        )

    def time(self, moment: datetime) -> str:
        """A story's time of day, beside its day's heading."""
        local = moment.astimezone(self.zone)
        key = (local.hour, local.minute)
        if key not in self._times:
            self._times[key] = self._format(local, self.time_pattern)
        return self._times[key]

    def _format(self, moment: datetime, pattern: str) -> str:
        return format_datetime(moment, pattern, tzinfo=self.zone, locale=self.locale)


def _pattern(locale: Locale, skeleton: str) -> str:
    """The locale's pattern for the CLDR skeleton closest to `skeleton`."""
    skeletons = locale.datetime_skeletons
    return str(skeletons[match_skeleton(skeleton, skeletons) or skeleton])


def og_locale(language: str) -> str:
    """Open Graph's `language_TERRITORY` (ru_RU, en_US): CLDR's likeliest territory
    for the language, so any language with a catalogue has one."""
    likely = Locale.parse(get_global("likely_subtags").get(language, language))
    return f"{likely.language}_{likely.territory}" if likely.territory else likely.language
