"""A feed for any search: the newest matching stories in the site's feed model.

Pure. The feed is the site's own feed model (`feeder.feeds.entries.feed_model`)
with the search's id, title and addresses, so every format renders it as it
renders a category's feed, and a reader subscribed to «Карабах» gets each new
story that mentions it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from urllib.parse import quote

from feeder.config import Config
from feeder.feeds.entries import feed_model
from feeder.feeds.model import FeedFormat, FeedModel
from feeder.feeds.xmlfeeds import STYLESHEET_PATH
from feeder.model import Entry
from feeder.search.request import SearchRequest
from feeder.slugs import ALL_NEWS

# The search page and its feeds, under base_url; the feeds are `search.<suffix>`.
SEARCH_PATH = "search"


@dataclass(frozen=True)
class SearchFeedModel(FeedModel):
    """A feed whose address carries the search after its suffix (`search.atom?q=…`)."""

    parameters: str = ""

    def self_url(self, feed_format: FeedFormat) -> str:
        return f"{self.location}.{feed_format.suffix}?{self.parameters}"


def feed_parameters(request: SearchRequest) -> str:
    """What a search feed keeps of a request: the words and the category (the
    newest stories, whatever the page's order, dates and page)."""
    return SearchRequest(text=request.text, category=request.category).query_string()


def search_feed(
    config: Config, request: SearchRequest, title: str, entries: list[Entry]
) -> SearchFeedModel:
    """`title` names the search in the site's language; `entries` come newest first."""
    parameters = feed_parameters(request)
    model = feed_model(config, ALL_NEWS, None, entries)
    return SearchFeedModel(
        **{
            **{field.name: getattr(model, field.name) for field in fields(model)},
            "id": f"{config.id_prefix}/search/{quote(parameters, safe='')}",
            "title": title,
            "description": title,
            "location": config.url(SEARCH_PATH),
            "alternate_url": config.url(f"{SEARCH_PATH}?{parameters}"),
            # A search feed is at the site's root, not beside the stylesheet.
            "stylesheet": STYLESHEET_PATH,
        },
        parameters=parameters,
    )
