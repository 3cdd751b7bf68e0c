"""Rows → the pages people open in a browser, and the OPML file readers import.

Pure: Jinja2 with autoescaping renders the HTML, so agency text can never
become markup, and every value a template prints first loses the invisible
characters that could reorder or hide what surrounds it (bidi controls,
zero-width characters; `feeder.visible`, the rule feeds follow too). Interface strings come from the language's catalogue
(`feeder.i18n`), dates are local to the configured time zone. ElementTree
writes the OPML, so it is always well-formed.

Where pages live (`feeder.paths`): `index.html` (the front page),
`categories/<slug>.html`, under `archive/<slug>/` (slug `all` for all news) the
archive index `index.html`, month calendars `YYYY-MM.html` and day pages
`YYYY-MM-DD.html`, and `articles/<page key>.html`. Renderers take plain data
(`feeder.model`), never the store. Pages link to each other relatively, so the
output works from any host; feed addresses and canonical links are absolute.
"""

from __future__ import annotations

import functools
import itertools
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from jinja2 import Environment, FileSystemBytecodeCache, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from feeder.config import Config
from feeder.feeds.budget import shortened
from feeder.feeds.entries import feed_title
from feeder.feeds.formats import FEED_FORMATS
from feeder.feeds.model import FeedFormat, feed_path
from feeder.i18n import Dates, og_locale, translations
from feeder.model import Category, Day, Entry, Headline, Month, Neighbours
from feeder.paths import (
    FAVICON,
    FRONT_PAGE,
    archive_index_path,
    article_path,
    category_page_path,
    day_page_path,
    month_page_path,
)
from feeder.search.feed import SEARCH_PATH
from feeder.search.request import MAX_PAGE, MAX_RESULTS, PAGE_SIZE
from feeder.slugs import ALL_NEWS

if TYPE_CHECKING:
    from feeder.search.results import Results
    from feeder.search.snippets import Piece
from feeder.visible import visible

# Headlines on the front page and on each category page; older stories are in the archive.
NEWEST_HEADLINES = 30
# Months on the front page and on each category page; every month is in the archive index.
NEWEST_MONTHS = 12
# An article's description (its lead) in link previews and search results, which
# show about this much; cut at a word.
DESCRIPTION_MAX_CHARS = 200


def opml_path(feed_format: FeedFormat) -> str:
    """`feeds.opml` lists the primary format's feeds, as it always has."""
    if feed_format == FEED_FORMATS.primary:
        return "feeds.opml"
    return f"feeds-{feed_format.suffix}.opml"


def page_for_feed(path: str) -> str | None:
    """The page a person who opens feed `path` (relative to the output) is shown:
    a category's (or all news') feed, or one of its archive pages
    (`feeds/pages/<slug>/<page>.<suffix>`) → its category page (the front page).
    Decided from the path alone, so nginx's `map` decides the same."""
    parts = PurePosixPath(path).parts
    if not parts or parts[0] != "feeds" or FEED_FORMATS.for_path(path) is None:
        return None
    if len(parts) == 2:
        return category_page_path(PurePosixPath(path).stem)
    if len(parts) == 4 and parts[1] == "pages":
        return category_page_path(parts[2])
    return None


@dataclass(frozen=True)
class Alternate:
    """One feed: its `<link rel="alternate">` autodiscovery tag and its subscribe-box line."""

    title: str
    label: str
    href: str
    media_type: str


# A regeneration renders every day page of every category: each item is formatted
# here in about 5 µs, where a Jinja loop took 33 µs. Every value is escaped.
_DAY_ITEM = (
    '<li><time datetime="{iso}">{time}</time> <a href="../../{href}">{title}</a>{category}</li>\n'
)
_DAY_ITEM_CATEGORY = ' <span class="meta">{}</span>'


class Site:
    """Renders pages for one configuration; templates are compiled once, not per page."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.dates = Dates.for_language(config.language, config.timezone)
        self.environment = Environment(
            loader=PackageLoader("feeder.site"),
            autoescape=select_autoescape(["html", "xsl"]),
            trim_blocks=True,
            lstrip_blocks=True,
            # Templates ship with the package; checking their mtime on every page
            # cost two stats per article.
            auto_reload=False,
            # Compiling the templates took a one-story run 60 ms; the cache is keyed
            # by each template's source, so an upgrade recompiles them.
            bytecode_cache=_bytecode_cache(config),
            extensions=["jinja2.ext.i18n"],
            finalize=_finalize,
        )
        # Each page asks for the same few strings: each is looked up once, and called
        # plainly (Jinja's "newstyle" gettext cost 25 µs a call, a fifth of a page);
        # templates fill placeholders with the `format` filter, before escaping.
        catalogue = translations(config.language)
        self._gettext = functools.cache(catalogue.gettext)
        self.environment.install_gettext_callables(  # type: ignore[attr-defined]
            self._gettext, functools.cache(catalogue.ngettext)
        )
        # Cyrillic as it is: `tojson` still escapes <, >, & and ' for a <script> element.
        self.environment.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
        self.environment.filters.update(
            moment=self.dates.moment,
            month_name=self.dates.month,
            day_name=self.dates.day,
            time=self.dates.time,
            iso=lambda moment: moment.astimezone(config.timezone).isoformat(),
            shortened=lambda text: shortened(text, DESCRIPTION_MAX_CHARS),
            marked=_marked,
        )
        self.environment.globals.update(
            config=config,
            all_news=ALL_NEWS,
            article_path=article_path,
            category_page_path=category_page_path,
            month_page_path=month_page_path,
            archive_index_path=archive_index_path,
            feed_title=feed_title,
            favicon=FAVICON,
            og_locale=og_locale(config.language),
            # The OPML files of the formats after the primary one (`feeds.opml`).
            other_opml=[(f.label, opml_path(f)) for f in FEED_FORMATS if f != FEED_FORMATS.primary],
            # Read once: an include renders the file again for every page.
            stylesheet=Markup(
                PackageLoader("feeder.site").get_source(self.environment, "style.css")[0]
            ),
        )
        self._alternates = functools.cache(functools.partial(alternates, config))
        self._template = functools.cache(self.environment.get_template)
        # Per Site, not on the method: a cache on the class would keep every Site
        # (its templates and catalogue) of every run alive for the daemon's life.
        self._subscribe_box = functools.cache(self._render_subscribe_box)

    def front(
        self, categories: list[Category], headlines: list[Entry], months: list[Month]
    ) -> bytes:
        """The newest headlines of all news, every category, the newest months and
        the feeds: its size does not grow with the archive."""
        feeds = self._alternates(ALL_NEWS, None)
        everything = list(feeds) + [
            link
            for category in categories
            for link in self._alternates(category.slug, category.name)
        ]
        return self._render(
            "front.html",
            FRONT_PAGE,
            categories=categories,
            headlines=headlines,
            years=_by_year(months),
            feeds=feeds,
            alternates=everything,
        )

    def category(self, category: Category, headlines: list[Entry], months: list[Month]) -> bytes:
        """`months`: the newest few; the archive index has them all."""
        return self._render(
            "category.html",
            category_page_path(category.slug),
            category=category,
            headlines=headlines,
            years=_by_year(months),
            feeds=self._alternates(category.slug, category.name),
        )

    def archive_index(self, slug: str, category: str | None, months: list[Month]) -> bytes:
        """Every month of a category (or all news) that has stories, by year, newest
        first; no counts, so only a month that appears or goes changes it."""
        return self._render(
            "archive.html",
            archive_index_path(slug),
            slug=slug,
            category=category,
            years=_by_year(months),
            feeds=self._alternates(slug, category),
        )

    def month(
        self,
        slug: str,
        category: str | None,
        month: str,
        days: list[Day],
        earlier: str | None,
        later: str | None,
    ) -> bytes:
        """A month's calendar: its days that have stories, with their counts, and the
        months around it. At most 31 lines, whatever the month holds."""
        return self._render(
            "month.html",
            month_page_path(slug, month),
            slug=slug,
            category=category,
            month=month,
            count=sum(day.stories for day in days),
            days=days,
            earlier=earlier,
            later=later,
            feeds=self._alternates(slug, category),
        )

    def day(
        self,
        slug: str,
        category: str | None,
        day: str,
        headlines: list[Headline],
        earlier: str | None,
        later: str | None,
    ) -> bytes:
        """Every story of a local day, newest first, with the days around it."""
        return self._render(
            "day.html",
            day_page_path(slug, day),
            slug=slug,
            category=category,
            day=day,
            count=len(headlines),
            items=self._day_items(headlines, show_category=category is None),
            earlier=earlier,
            later=later,
            feeds=self._alternates(slug, category),
        )

    def article(self, entry: Entry, neighbours: Neighbours) -> bytes:
        url = self.config.url(article_path(entry.page_key))
        return self._render(
            "article.html",
            article_path(entry.page_key),
            entry=entry,
            neighbours=neighbours,
            feeds=self._alternates(entry.category_slug, entry.category),
            news_article=self._news_article(entry, url),
        )

    def search(self, results: Results, feeds: tuple[Alternate, ...]) -> bytes:
        """The search page (served by feeder's server, never written): the form,
        what was wrong with the request, a page of results with the matches
        marked, and the search's feeds."""
        return self._render(
            "search.html",
            SEARCH_PATH,
            feeds,
            box=self._render_subscribe_box(feeds, "", False) if results.searched else None,
            results=results,
            page_size=PAGE_SIZE,
            max_page=MAX_PAGE,
            max_results=MAX_RESULTS,
        )

    def search_title(self, text: str) -> str:
        """A search feed's title: the query, in the site's language."""
        title = self._gettext("%(query)s: search") % {"query": text}
        return f"{title} — {self.config.site_title}"

    def search_description(self) -> str:
        """What the OpenSearch description says is searched."""
        return self._gettext("Search the news of %(site)s") % {"site": self.config.site_title}

    def withdrawal_notice(self, page_key: str, withdrawn_at: datetime) -> bytes:
        """What a withdrawn story's page becomes: no word of the story, only that
        it was withdrawn and when (the reason stays in the database)."""
        return self._render("withdrawn.html", article_path(page_key), (), withdrawn_at=withdrawn_at)

    def _news_article(self, entry: Entry, url: str) -> dict[str, object]:
        """schema.org NewsArticle; the template's `tojson` keeps `</script>` out of it."""
        zone = self.config.timezone
        return {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": visible(entry.title),
            "datePublished": entry.published.astimezone(zone).isoformat(),
            "dateModified": entry.updated.astimezone(zone).isoformat(),
            "articleSection": visible(entry.category),
            "dateline": visible(entry.place),
            "inLanguage": self.config.language,
            "mainEntityOfPage": url,
            "url": url,
            "author": {"@type": "Organization", "name": visible(entry.agency)},
            "publisher": {"@type": "Organization", "name": self.config.site_title},
        }

    def opml(self, categories: list[Category], feed_format: FeedFormat) -> bytes:
        """Every category feed plus all news, for one-step import into a reader, in
        one format: a reader given two would show every story twice (`opml_path`)."""
        config = self.config
        opml = ElementTree.Element("opml", version="2.0")
        head = ElementTree.SubElement(opml, "head")
        ElementTree.SubElement(head, "title").text = config.site_title
        body = ElementTree.SubElement(opml, "body")
        feeds = [(ALL_NEWS, None), *((category.slug, category.name) for category in categories)]
        for slug, name in feeds:
            ElementTree.SubElement(
                body,
                "outline",
                type="rss",  # what OPML calls any feed
                text=feed_title(config, name),
                title=feed_title(config, name),
                xmlUrl=config.url(feed_path(slug, feed_format)),
                htmlUrl=config.url(category_page_path(slug)),
            )
        ElementTree.indent(opml)
        document: bytes = ElementTree.tostring(opml, encoding="utf-8", xml_declaration=True)
        return document + b"\n"

    def feed_stylesheet(self) -> bytes:
        """The XSLT page a browser that still runs XSLT shows for a feed URL served
        without feeder's negotiation (docs/serving.md); it shares the pages' CSS."""
        return self._template("feed.xsl").render().encode()

    def _day_items(self, headlines: list[Headline], show_category: bool) -> Markup:
        zone = self.config.timezone
        return Markup(
            "".join(
                _DAY_ITEM.format(
                    iso=local.isoformat(),
                    time=self.dates.time(local),
                    href=article_path(headline.page_key),
                    title=escape(visible(headline.title)),
                    category=_DAY_ITEM_CATEGORY.format(escape(visible(headline.category)))
                    if show_category
                    else "",
                )
                for headline in headlines
                for local in (headline.published.astimezone(zone),)
            )
        )

    def _render_subscribe_box(self, feeds: tuple[Alternate, ...], root: str, opml: bool) -> Markup:
        """The same for every page of a category at one depth: rendered once."""
        macro = self._template("macros.html").module.subscribe  # type: ignore[attr-defined]
        return Markup(macro(feeds, root, opml))

    def _render(
        self,
        template: str,
        path: str,
        feeds: tuple[Alternate, ...],
        box: Markup | None = None,
        **context: object,
    ) -> bytes:
        """`box`: a subscribe box not to keep (a search's), instead of the cached one."""
        root = "../" * (len(PurePosixPath(path).parts) - 1)
        subscribe = box if box is not None else self._subscribe_box(feeds, root, path == FRONT_PAGE)
        return (
            self._template(template)
            .render(
                root=root,
                canonical=self.config.url(path),
                feeds=feeds,
                subscribe_box=subscribe,
                **context,
            )
            .encode()
        )


def alternates(config: Config, slug: str, category: str | None) -> tuple[Alternate, ...]:
    title = feed_title(config, category)
    return tuple(
        Alternate(
            f"{title} ({feed_format.label})",
            feed_format.label,
            config.url(feed_path(slug, feed_format)),
            feed_format.discovery_type,
        )
        for feed_format in FEED_FORMATS
    )


def _by_year(months: Iterable[Month]) -> list[tuple[str, list[Month]]]:
    """Newest year first, as the months come."""
    return [
        (year, list(group)) for year, group in itertools.groupby(months, key=lambda m: m.month[:4])
    ]


def _bytecode_cache(config: Config) -> FileSystemBytecodeCache | None:
    """Beside the database; without one where it can be made, templates compile each run."""
    directory = config.database.with_name(config.database.name + ".templates")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return FileSystemBytecodeCache(str(directory))


def _marked(pieces: list[Piece]) -> Markup:
    """A search result's headline or snippet, escaped, its matches in <mark>: a
    filter, as the macro it replaces cost a quarter of the results page. One
    str join of escaped pieces: a Markup join with Markup % per mark took three
    times as long, 9 % of the server's time under wrk."""
    return Markup(
        "".join(
            f"<mark>{escape(piece.text)}</mark>" if piece.marked else escape(piece.text)
            for piece in pieces
        )
    )


def _finalize(value: object) -> object:
    """Applied by Jinja to every printed value, before escaping."""
    return visible(value) if type(value) is str else value
