"""The OpenSearch description (`/opensearch.xml`) that lets a browser add the site's search.

Pure; ElementTree writes it, so it is always well-formed. Pages point to it
with `<link rel="search">`; it names the results page and the Atom feed of a search.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from feeder.config import Config
from feeder.feeds.formats import FEED_FORMATS
from feeder.paths import FAVICON
from feeder.search.feed import SEARCH_PATH

MEDIA_TYPE = "application/opensearchdescription+xml"
OPENSEARCH_PATH = "opensearch.xml"
_NAMESPACE = "http://a9.com/-/spec/opensearch/1.1/"
# The spec's limits on ShortName and Description.
_SHORT_NAME_CHARS = 16
_DESCRIPTION_CHARS = 1024


def opensearch_description(config: Config, description: str) -> bytes:
    """`description` says what is searched, in the site's language."""
    root = ElementTree.Element("OpenSearchDescription", xmlns=_NAMESPACE)
    ElementTree.SubElement(root, "ShortName").text = config.site_title[:_SHORT_NAME_CHARS]
    ElementTree.SubElement(root, "Description").text = description[:_DESCRIPTION_CHARS]
    ElementTree.SubElement(root, "InputEncoding").text = "UTF-8"
    ElementTree.SubElement(root, "Language").text = config.language
    ElementTree.SubElement(
        root, "Image", width="16", height="16", type="image/x-icon"
    ).text = config.url(FAVICON)
    ElementTree.SubElement(
        root, "Url", type="text/html", method="get", template=_template(config, SEARCH_PATH)
    )
    for feed_format in FEED_FORMATS:
        ElementTree.SubElement(
            root,
            "Url",
            type=feed_format.media_type,
            template=_template(config, f"{SEARCH_PATH}.{feed_format.suffix}"),
        )
    ElementTree.SubElement(
        root, "Url", type=MEDIA_TYPE, rel="self", template=config.url(OPENSEARCH_PATH)
    )
    ElementTree.indent(root)
    document: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"


def _template(config: Config, path: str) -> str:
    return f"{config.url(path)}?q={{searchTerms}}"
