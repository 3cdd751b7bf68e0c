"""What the site's pages need from the database, and the record of what they must redo.

A trigger on `articles` records every story saved, with where it was before
(category, publish time) and where it is now, in the same transaction as the
save, whoever saves it. `apply_changes` turns those records into dirty marks:
the day pages and month calendars on both sides (per category and for all
news), and the stories before and after both positions in their category,
whose prev/next links may have changed. So a new story costs its own day and
month pages and one or two neighbours, never a walk of the archive, and a crash
between the save and the pages leaves the records for the next run.

Days and months are calendar days and months of `published` in the configured
time zone. They are computed here rather than in SQL, which knows no time zones;
the zone they were computed in is kept, and a changed zone recounts them all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from feeder.model import Day, Headline, Month, Neighbour, Neighbours
from feeder.slugs import ALL_NEWS
from feeder.store.database import Database, chunks, from_utc_text, utc_text

# Change records turned into dirty marks per transaction.
CHANGE_BATCH = 5_000
_PAGES_SITEMAP = "pages_sitemap_dirty"
_TIMEZONE = "timezone"
# The tables of counted periods, each with the strftime pattern of a local time's period.
_PERIODS = (("months", "%Y-%m"), ("days", "%Y-%m-%d"))
# A period's table, slug and period: where a change is counted.
_Key = tuple[str, str, str]


def month_of(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m")


def day_bounds(day: str, zone: ZoneInfo) -> tuple[str, str]:
    """The UTC text range [start, end) of a local calendar day (23 or 25 hours long
    where clocks change: wall-clock midnights, not 24 hours)."""
    start = datetime.fromisoformat(day).replace(tzinfo=zone)
    return utc_text(start), utc_text(start + timedelta(days=1))


class SiteRecords(Database):
    """Days and months are those of the time zone given to `apply_changes`."""

    # --- turning change records into dirty marks --------------------------------

    def apply_changes(self, zone: ZoneInfo, rendering: list[str] | None = None) -> None:
        """Dirty marks for every change recorded since the last call.

        `rendering`: the stories whose pages are about to be rendered while earlier
        pages may be in flight; None when nothing is in flight, which also marks
        the pages noted stale since."""
        counted_in = self._state(_TIMEZONE)
        if counted_in is None:
            with self.transaction():
                self._set_state(_TIMEZONE, zone.key)
        elif counted_in != zone.key:
            self._recount(zone)
        while rows := self.connection.execute(
            "SELECT id, old_slug, old_published, new_slug, new_published, updated "
            "FROM site_changes ORDER BY id LIMIT ?",
            [CHANGE_BATCH],
        ).fetchall():
            self._apply(rows, zone, rendering)
        if rendering is None:
            with self.transaction():
                self.connection.execute(
                    "UPDATE articles SET page_dirty = 1 WHERE page_dirty = 0 "
                    "AND story_id IN (SELECT story_id FROM stale_pages)"
                )
                self.connection.execute("DELETE FROM stale_pages")

    def _recount(self, zone: ZoneInfo) -> None:
        """Days and months afresh for a new time zone: every story counts as new,
        and every page shows dates, so every page is redone. Periods are emptied
        rather than deleted, so those left without a story in the new zone are
        marked, and their pages removed."""
        with self.transaction():
            self.connection.execute("UPDATE months SET stories = 0, dirty = 1")
            self.connection.execute("UPDATE days SET stories = 0, dirty = 1")
            self.connection.execute("DELETE FROM site_changes")
            self.connection.execute(
                "INSERT INTO site_changes (story_id, new_slug, new_published, updated) "
                "SELECT story_id, category_slug, published, updated FROM articles ORDER BY story_id"
            )
            self.connection.execute("UPDATE articles SET page_dirty = 1")
            self._set_state(_TIMEZONE, zone.key)

    def _apply(
        self,
        rows: list[tuple[int, str | None, str | None, str | None, str | None, str]],
        zone: ZoneInfo,
        rendering: list[str] | None,
    ) -> None:
        added: Counter[_Key] = Counter()
        updated: dict[_Key, str] = {}
        for _, old_slug, old_published, new_slug, new_published, changed in rows:
            # A withdrawn story has no new position: it left the archive.
            for slug, published, step in (
                (old_slug, old_published, -1),
                (new_slug, new_published, 1),
            ):
                if slug is None or published is None:
                    continue
                local = from_utc_text(published).astimezone(zone)
                for table, pattern in _PERIODS:
                    period = local.strftime(pattern)
                    for key in ((table, slug, period), (table, ALL_NEWS, period)):
                        added[key] += step
                        updated[key] = max(updated.get(key, ""), changed)
        last = rows[-1][0]
        with self.transaction():
            self._mark_neighbours(last, rendering)
            for key, change in sorted(updated.items()):
                self._count(key, added[key], change)
                if key[0] == "days":
                    self._date_day(key[1], key[2], zone)
            self.connection.execute("DELETE FROM site_changes WHERE id <= ?", [last])

    def _mark_neighbours(self, last: int, rendering: list[str] | None) -> None:
        """The stories next to each old and new position now link to other stories.

        A clean page is marked dirty; a dirty one not about to be rendered may be in
        flight with its old links, and is noted stale."""
        self.connection.execute(
            "CREATE TEMP TABLE IF NOT EXISTS neighbour_pages (story_id TEXT PRIMARY KEY)"
        )
        self.connection.execute("DELETE FROM temp.neighbour_pages")
        self.connection.execute(
            "WITH positions(story_id, slug, published) AS ("
            " SELECT story_id, new_slug, new_published FROM site_changes WHERE id <= ?1"
            " UNION SELECT story_id, old_slug, old_published FROM site_changes"
            " WHERE id <= ?1 AND old_slug IS NOT NULL) "
            "INSERT OR IGNORE INTO temp.neighbour_pages SELECT story_id FROM ("
            f" SELECT ({_OLDER.format(story='p', slug='p.slug')}) AS story_id FROM positions AS p"
            f" UNION SELECT ({_NEWER.format(story='p', slug='p.slug')}) FROM positions AS p)"
            " WHERE story_id IS NOT NULL",
            [last],
        )
        if rendering is not None:
            self.connection.execute(
                "CREATE TEMP TABLE IF NOT EXISTS rendering_pages (story_id TEXT PRIMARY KEY)"
            )
            self.connection.execute("DELETE FROM temp.rendering_pages")
            self.connection.executemany(
                "INSERT OR IGNORE INTO temp.rendering_pages VALUES (?)",
                [(story_id,) for story_id in rendering],
            )
            self.connection.execute(
                "INSERT OR IGNORE INTO stale_pages SELECT n.story_id "
                "FROM temp.neighbour_pages AS n JOIN articles AS a ON a.story_id = n.story_id "
                "WHERE a.page_dirty = 1 AND n.story_id NOT IN temp.rendering_pages"
            )
        self.connection.execute(
            "UPDATE articles SET page_dirty = 1 WHERE page_dirty = 0 "
            "AND story_id IN temp.neighbour_pages"
        )

    def _count(self, key: _Key, added: int, updated: str) -> None:
        table, slug, period = key
        column = _column(table)
        (stories,) = self.connection.execute(
            f"INSERT INTO {table} (slug, {column}, stories, updated, dirty) VALUES (?, ?, ?, ?, 1) "
            f"ON CONFLICT (slug, {column}) DO UPDATE SET stories = stories + excluded.stories, "
            "updated = max(updated, excluded.updated), dirty = 1 RETURNING stories",
            [slug, period, added, updated],
        ).fetchone()
        appeared = added > 0 and stories == added
        if appeared or stories == 0:
            # The periods around it link to it, or no longer do.
            for neighbour in self._neighbours_of(table, slug, period):
                if neighbour is not None:
                    self.connection.execute(
                        f"UPDATE {table} SET dirty = 1 WHERE slug = ? AND {column} = ?",
                        [slug, neighbour],
                    )
            if table == "months":  # the archive indexes and the sitemaps list months
                self._set_state(_PAGES_SITEMAP, "1")

    def _date_day(self, slug: str, day: str, zone: ZoneInfo) -> None:
        """A day's last change is its stories' latest, as they are now: the same
        stories give the same sitemaps, whatever came and went in between runs."""
        start, end = day_bounds(day, zone)
        category = "" if slug == ALL_NEWS else "AND category_slug = :slug"
        self.connection.execute(
            "UPDATE days SET updated = coalesce((SELECT max(updated) FROM articles "
            f"WHERE published >= :start AND published < :end {category}), updated) "
            "WHERE slug = :slug AND day = :day",
            {"start": start, "end": end, "slug": slug, "day": day},
        )

    def _neighbours_of(self, table: str, slug: str, period: str) -> tuple[str | None, str | None]:
        """The nearest earlier and later periods of `slug` that have stories."""
        column = _column(table)
        earlier = self.connection.execute(
            f"SELECT max({column}) FROM {table} WHERE slug = ? AND {column} < ? AND stories > 0",
            [slug, period],
        ).fetchone()[0]
        later = self.connection.execute(
            f"SELECT min({column}) FROM {table} WHERE slug = ? AND {column} > ? AND stories > 0",
            [slug, period],
        ).fetchone()[0]
        return earlier, later

    def _mark_clean(self, table: str, periods: Iterable[tuple[str, str, int]]) -> None:
        """Written periods lose their mark; emptied ones (their pages removed) their row."""
        column = _column(table)
        for slug, period, stories in periods:
            if stories:
                self.connection.execute(
                    f"UPDATE {table} SET dirty = 0 WHERE slug = ? AND {column} = ?",
                    [slug, period],
                )
            else:
                self.connection.execute(
                    f"DELETE FROM {table} WHERE slug = ? AND {column} = ? AND stories = 0",
                    [slug, period],
                )

    # --- months -------------------------------------------------------------------

    def dirty_months(self) -> list[Month]:
        return self._months("WHERE dirty = 1 ORDER BY slug, month", [])

    def months(self, slug: str, limit: int = -1) -> list[Month]:
        """The months of a category (or all news) that have stories, newest first;
        the newest `limit` of them if one is given."""
        return self._months(
            "WHERE slug = ? AND stories > 0 ORDER BY month DESC LIMIT ?", [slug, limit]
        )

    def all_months(self) -> list[Month]:
        return self._months("WHERE stories > 0 ORDER BY slug, month", [])

    def months_of_year(self, year: str) -> list[Month]:
        """Every category's (and all news') months of `year` that have stories."""
        return self._months(
            "WHERE month BETWEEN ? AND ? AND stories > 0 ORDER BY slug, month",
            [f"{year}-01", f"{year}-12"],
        )

    def years(self) -> list[str]:
        """The years (YYYY) that have stories, oldest first."""
        rows = self.connection.execute(
            "SELECT DISTINCT substr(month, 1, 4) FROM months WHERE slug = ? AND stories > 0 "
            "ORDER BY 1",
            [ALL_NEWS],
        )
        return [year for (year,) in rows]

    def mark_months_clean(self, months: Iterable[Month]) -> None:
        self._mark_clean("months", ((m.slug, m.month, m.stories) for m in months))

    def mark_month_dirty(self, month: Month) -> None:
        self.connection.execute(
            "UPDATE months SET dirty = 1 WHERE slug = ? AND month = ?", [month.slug, month.month]
        )

    def mark_all_months_dirty(self) -> None:
        self.connection.execute("UPDATE months SET dirty = 1")
        self._set_state(_PAGES_SITEMAP, "1")

    def month_neighbours(self, slug: str, month: str) -> tuple[str | None, str | None]:
        """The nearest earlier and later months of `slug` that have stories."""
        return self._neighbours_of("months", slug, month)

    def _months(self, where: str, parameters: Sequence[object]) -> list[Month]:
        rows = self.connection.execute(
            f"SELECT slug, month, stories, updated FROM months {where}", parameters
        )
        return [
            Month(slug, month, stories, from_utc_text(updated))
            for slug, month, stories, updated in rows
        ]

    # --- days ---------------------------------------------------------------------

    def dirty_days(self) -> list[Day]:
        return self._days("WHERE dirty = 1 ORDER BY slug, day", [])

    def all_days(self) -> list[Day]:
        return self._days("WHERE stories > 0 ORDER BY slug, day", [])

    def days_of_month(self, slug: str, month: str) -> list[Day]:
        """The days of a month of `slug` that have stories, in calendar order."""
        return self._days(
            "WHERE slug = ? AND day BETWEEN ? AND ? AND stories > 0 ORDER BY day",
            [slug, f"{month}-01", f"{month}-31"],
        )

    def days_of_year(self, year: str) -> list[Day]:
        """The days of all news in `year` that have stories, in calendar order."""
        return self._days(
            "WHERE slug = ? AND day BETWEEN ? AND ? AND stories > 0 ORDER BY day",
            [ALL_NEWS, f"{year}-01-01", f"{year}-12-31"],
        )

    def days_on(self, day: str) -> list[Day]:
        """All news' and each category's page of one day, those that have stories."""
        return self._days("WHERE day = ? AND stories > 0 ORDER BY slug", [day])

    def day_neighbours(self, slug: str, day: str) -> tuple[str | None, str | None]:
        """The nearest earlier and later days of `slug` that have stories."""
        return self._neighbours_of("days", slug, day)

    def mark_days_clean(self, days: Iterable[Day]) -> None:
        self._mark_clean("days", ((d.slug, d.day, d.stories) for d in days))

    def mark_day_dirty(self, day: Day) -> None:
        self.connection.execute(
            "UPDATE days SET dirty = 1 WHERE slug = ? AND day = ?", [day.slug, day.day]
        )

    def mark_all_days_dirty(self) -> None:
        self.connection.execute("UPDATE days SET dirty = 1")

    def day_headlines(self, slug: str, day: str, zone: ZoneInfo) -> list[Headline]:
        """Every story of a local day, newest first, without bodies."""
        start, end = day_bounds(day, zone)
        category = "" if slug == ALL_NEWS else "AND category_slug = ?"
        parameters = [start, end] if slug == ALL_NEWS else [start, end, slug]
        return self._headlines(
            f"WHERE published >= ? AND published < ? {category} "
            "ORDER BY published DESC, story_id DESC",
            parameters,
        )

    def _days(self, where: str, parameters: Sequence[object]) -> list[Day]:
        rows = self.connection.execute(
            f"SELECT slug, day, stories, updated FROM days {where}", parameters
        )
        return [
            Day(slug, day, stories, from_utc_text(updated)) for slug, day, stories, updated in rows
        ]

    # --- stories by time ----------------------------------------------------------

    def headlines_since(self, moment: datetime, limit: int) -> list[Headline]:
        """The newest stories published at `moment` or later, for the news sitemap."""
        return self._headlines(
            "WHERE published >= ? ORDER BY published DESC, story_id DESC LIMIT ?",
            [utc_text(moment), limit],
        )

    def _headlines(self, where: str, parameters: Sequence[object]) -> list[Headline]:
        rows = self.connection.execute(
            "SELECT page_key, title, category, category_slug, published, updated "
            f"FROM articles {where}",
            parameters,
        )
        return [
            Headline(key, title, name, slug, from_utc_text(published), from_utc_text(updated))
            for key, title, name, slug, published, updated in rows
        ]

    # --- neighbours of stories --------------------------------------------------------

    def neighbours(self, story_ids: list[str]) -> dict[str, Neighbours]:
        """Each story's previous and next story in its category, in one query per call."""
        found: dict[str, Neighbours] = {}
        for chunk in chunks(story_ids):
            rows = self.connection.execute(
                "SELECT s.story_id, older.page_key, older.title, newer.page_key, newer.title "
                "FROM articles AS s "
                f"LEFT JOIN articles AS older ON older.story_id = ({_OLDER.format(story='s', slug='s.category_slug')}) "
                f"LEFT JOIN articles AS newer ON newer.story_id = ({_NEWER.format(story='s', slug='s.category_slug')}) "
                f"WHERE s.story_id IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
            for story_id, older_key, older_title, newer_key, newer_title in rows:
                found[story_id] = Neighbours(
                    Neighbour(older_key, older_title) if older_key else None,
                    Neighbour(newer_key, newer_title) if newer_key else None,
                )
        return found

    # --- singletons -------------------------------------------------------------------

    def pages_sitemap_dirty(self) -> bool:
        return self._state(_PAGES_SITEMAP) == "1"

    def mark_pages_sitemap_clean(self) -> None:
        self._set_state(_PAGES_SITEMAP, "0")

    def mark_pages_sitemap_dirty(self) -> None:
        self._set_state(_PAGES_SITEMAP, "1")

    def _state(self, key: str) -> str | None:
        row = self.connection.execute(
            "SELECT value FROM site_state WHERE key = ?", [key]
        ).fetchone()
        return row[0] if row else None

    def _set_state(self, key: str, value: str) -> None:
        self.connection.execute(
            "INSERT INTO site_state (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )


def _column(table: str) -> str:
    """A period table's key column: `month` in `months`, `day` in `days`."""
    return table.removesuffix("s")


# The story just before / after {story} in category {slug}, by (published, story_id),
# from the (category_slug, published, story_id) index.
_OLDER = (
    "SELECT a.story_id FROM articles AS a WHERE a.category_slug = {slug} "
    "AND (a.published, a.story_id) < ({story}.published, {story}.story_id) "
    "ORDER BY a.published DESC, a.story_id DESC LIMIT 1"
)
_NEWER = (
    "SELECT a.story_id FROM articles AS a WHERE a.category_slug = {slug} "
    "AND (a.published, a.story_id) > ({story}.published, {story}.story_id) "
    "ORDER BY a.published, a.story_id LIMIT 1"
)
