"""Every kind of page, and a feed URL, as a person sees them in a real browser over HTTP.

Chromium opens each from `feeder serve` at 360 and 1280 pixels, with XSLT and
without it; the tests read the document it built (its text, its links) and check
that nothing is wider than a phone's screen. Screenshots are kept in
.artifacts/browser for a person to look at; they prove nothing by themselves.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from urllib.parse import quote

import pytest
from lxml import html

from feeder.config import Config
from feeder.feeds.formats import FEED_FORMATS
from feeder.feeds.model import feed_path
from feeder.pipeline import ingest_and_publish
from tests.browser import (
    WITHOUT_XSLT,
    console_messages,
    framed_page,
    rendered_page,
    screenshot,
)
from tests.conftest import deliver_day
from tests.site_pages import text, texts

NEWEST = "Цены на нефть"
HOSTILE_TITLE = "Взрыв <script>alert('x')</script> & «кавычки»"
LONG_WORD = "Сверхдлинноесловобезпробеловкотороенепомещаетсянаэкранетелефона" * 2
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# path, what its h1 says, a headline it lists, the slug whose feeds it offers
PAGES = {
    "front": ("index.html", "Тестовая лента", NEWEST, "all"),
    "category": ("categories/politika.html", "Политика", HOSTILE_TITLE, "politika"),
    "archive-index": ("archive/all/index.html", "Все новости: архив по месяцам", None, "all"),
    "month": ("archive/all/2023-09.html", "Все новости: сентябрь 2023 г.", None, "all"),
    "day": (
        "archive/politika/2023-09-02.html",
        "Политика: сб, 2 сентября 2023 г.",
        HOSTILE_TITLE,
        "politika",
    ),
    "article": ("articles/003_0000000000000003.html", NEWEST, None, "ekonomika"),
    # Opened by a browser, a feed shows its category's page, whatever its format.
    **{
        f"feed-{f.suffix}": (feed_path("politika", f), "Политика", HOSTILE_TITLE, "politika")
        for f in FEED_FORMATS
    },
}


@pytest.fixture
def published(served_config: Config, deliver) -> Config:
    deliver_day(deliver, 1, category="Политика", title="Первая новость", paragraphs=(LONG_WORD,))
    deliver_day(deliver, 2, category="Политика", title=HOSTILE_TITLE)
    deliver_day(deliver, 3, category="Экономика", title=NEWEST)
    ingest_and_publish(served_config)
    return served_config


@pytest.mark.slow
@pytest.mark.parametrize("name", list(PAGES))
def test_a_page_reads_right_in_a_browser_with_and_without_xslt_on_a_phone_and_a_desktop(
    published: Config, name: str
) -> None:
    path, heading, headline, slug = PAGES[name]
    for width, flags in ((360, ()), (1280, (WITHOUT_XSLT,))):
        framed = framed_page(published.output_dir, published.base_url, path, width, *flags)
        page = framed.page
        assert framed.content_width <= width, f"{name}: {framed.content_width} px in {width} px"
        assert framed.low_contrast == [], f"{name}: text below WCAG AA contrast"
        assert texts(page, "//h1") == [heading]
        if headline:
            assert headline in texts(page, "//main//li//a")
        assert texts(page, "//section[@class='subscribe']//code") == [
            published.url(feed_path(slug, feed_format)) for feed_format in FEED_FORMATS
        ]
        body = text(page.body)
        assert "Подписка" in body and "Скопируйте адрес" in body
        assert "Главная: свежие новости и все рубрики" in body
        assert not page.xpath("//script[contains(., 'alert')]")  # the hostile title is text
        # The copy button shows only where its script runs.
        assert page.xpath("//button[@data-copy][not(@hidden)]")
        primary = FEED_FORMATS.primary.label
        assert texts(page, "//button[@data-copy]")[0] == f"Скопировать адрес {primary}"
    for width in (360, 1280):
        shot = screenshot(published.url(path), name, width)
        assert shot.read_bytes().startswith(PNG_SIGNATURE)


# Opens the article in a frame, then loads the icon its <link rel="icon"> names, and
# writes into its own DOM the icon's size and the HTTP status of everything the
# article loaded (Resource Timing's responseStatus).
_ICON_PROBE = """<!DOCTYPE html>
<html><body>
<iframe id="frame" src="{target}"></iframe>
<script>
document.getElementById("frame").addEventListener("load", (event) => {{
  const framed = event.target.contentWindow;
  const statuses = framed.performance.getEntriesByType("resource")
    .map((entry) => `${{entry.name}} ${{entry.responseStatus}}`);
  const icon = new Image();
  const report = (size) => {{
    const result = document.createElement("textarea");
    result.id = "result";
    result.textContent = JSON.stringify({{size, statuses, href: icon.src}});
    document.body.append(result);
  }};
  icon.onload = () => report(`${{icon.naturalWidth}}x${{icon.naturalHeight}}`);
  icon.onerror = () => report("failed");
  icon.src = framed.document.querySelector("link[rel=icon]").href;
}});
</script>
</body></html>
"""


@pytest.mark.slow
def test_an_article_loads_its_favicon_and_writes_nothing_to_the_console(
    published: Config,
) -> None:
    url = published.url(PAGES["article"][0])
    assert console_messages(url) == []
    probe = published.output_dir / "icon-probe.html"
    probe.write_text(_ICON_PROBE.format(target=url))
    try:
        (result,) = rendered_page(published.url(probe.name)).xpath("//textarea[@id='result']")
    finally:
        probe.unlink()
    found = json.loads(result.text)
    assert found["href"] == published.url("favicon.ico")
    assert found["size"] in {"16x16", "32x32", "48x48"}
    assert all(line.endswith(" 200") for line in found["statuses"]), found["statuses"]


@pytest.mark.slow
def test_a_month_calendar_leads_to_its_days_and_a_day_lists_its_stories_at_local_times(
    published: Config,
) -> None:
    month = framed_page(published.output_dir, published.base_url, PAGES["month"][0], 360).page
    assert texts(month, "//ol[@class='calendar']/li") == [
        "пт, 1 сентября 2023 г. 1 статья",
        "сб, 2 сентября 2023 г. 1 статья",
        "вс, 3 сентября 2023 г. 1 статья",
    ]
    assert month.xpath("//ol[@class='calendar']//a/@href")[-1] == "2023-09-03.html"
    day = framed_page(published.output_dir, published.base_url, "archive/all/2023-09-03.html", 360)
    assert texts(day.page, "//h1") == ["Все новости: вс, 3 сентября 2023 г."]
    assert texts(day.page, "//ol[@class='day']/li") == [f"12:00 {NEWEST} Экономика"]
    assert day.page.xpath("//ol[@class='day']/li/time/@datetime") == ["2023-09-03T12:00:00+04:00"]
    assert texts(day.page, "//nav[@class='days']/a") == ["Раньше: сб, 2 сентября 2023 г."]
    assert texts(day.page, "//nav[@class='crumbs']/a") == ["Все новости", "сентябрь 2023 г."]


# Opens `target` in a frame sandboxed without scripts (JavaScript off, for the
# page only), types `query` into the header's search box and presses its button;
# once the frame has loaded what the form asked for, writes its address and
# document into its own DOM.
_SEARCH_PROBE = """<!DOCTYPE html>
<html><body>
<iframe id="frame" sandbox="allow-forms allow-same-origin" src="{target}"></iframe>
<script>
const frame = document.getElementById("frame");
let submitted = false;
frame.addEventListener("load", () => {{
  const framed = frame.contentDocument;
  if (!submitted) {{
    submitted = true;
    const box = framed.querySelector("header form[role=search] input[name=q]");
    box.focus();
    for (const letter of {query}) {{
      box.value += letter;
      box.dispatchEvent(new InputEvent("input", {{data: letter, bubbles: true}}));
    }}
    framed.querySelector("header form[role=search] button[type=submit]").click();
    return;
  }}
  const result = document.createElement("textarea");
  result.id = "result";
  result.textContent = JSON.stringify({{
    url: frame.contentWindow.location.href,
    dom: new XMLSerializer().serializeToString(framed),
  }});
  document.body.append(result);
}});
</script>
</body></html>
"""


@pytest.mark.slow
def test_the_header_search_box_finds_a_story_with_javascript_off(published: Config) -> None:
    query = "нефти"  # another form of the headline's «нефть»
    probe = published.output_dir / "search-probe.html"
    target = published.url(PAGES["category"][0])
    probe.write_text(_SEARCH_PROBE.format(target=target, query=json.dumps(query)))
    try:
        (result,) = rendered_page(published.url(probe.name)).xpath("//textarea[@id='result']")
    finally:
        probe.unlink()
    found = json.loads(result.text)
    assert found["url"] == published.url(f"search?q={quote(query)}")
    page = html.fromstring(found["dom"])
    assert texts(page, "//ol[contains(@class, 'results')]/li/h2/a") == [NEWEST]
    assert page.xpath("//ol[contains(@class, 'results')]//mark/text()") == ["нефть"]
    # Its scripts never ran: the copy buttons they show are still hidden.
    assert page.xpath("//button[@data-copy]") and not page.xpath(
        "//button[@data-copy][not(@hidden)]"
    )


@pytest.fixture
def static_server(published: Config) -> Iterator[str]:
    """The output served as plain files, as nginx serves it without feeder's negotiation:
    each file with the type its suffix registers."""
    types = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        **{f".{f.suffix}": f"{f.media_type}; charset=utf-8" for f in FEED_FORMATS},
        ".xsl": "text/xsl; charset=utf-8",
    }
    handler = type("Static", (http.server.SimpleHTTPRequestHandler,), {"extensions_map": types})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(handler, directory=str(published.output_dir))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.mark.slow
@pytest.mark.parametrize("flags", [(), (WITHOUT_XSLT,)], ids=["xslt", "no-xslt"])
def test_a_plain_static_server_shows_a_feed_as_its_text(
    static_server: str, flags: tuple[str, ...], tmp_path: Path
) -> None:
    """What docs/serving.md says: without the negotiation, Chromium shows the feed's
    source, readable but not a page, whatever its XSLT; which is why the pages offer
    feed addresses to copy rather than to open, and nginx must apply the rule."""
    page = rendered_page(static_server + feed_path("politika", FEED_FORMATS.primary), *flags)
    shown = text(page.body)
    assert "<rss" in shown and "Первая новость" in shown
    assert not page.xpath("//h1")
