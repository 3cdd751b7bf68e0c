"""A post in Telegram's HTML parse mode as Telegram reads it, for the tests.

Python's own HTML parser reads the markup; on top of it, the rules of
https://core.telegram.org/bots/api#html-style are checked: only Telegram's tags,
properly nested and closed, only its four named entities, and no bare `<`, `>`
or `&`. The visible text is what a subscriber reads and what the 4,096 limit
counts, in UTF-16 code units.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser

TAGS = {
    "a",
    "b",
    "blockquote",
    "code",
    "del",
    "em",
    "i",
    "ins",
    "pre",
    "s",
    "span",
    "strike",
    "strong",
    "tg-emoji",
    "tg-spoiler",
    "u",
}
ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


@dataclass
class Parsed:
    text: str
    links: list[tuple[str, str]]  # (href, the link's visible text)
    tags: list[str]  # in the order they open

    @property
    def length(self) -> int:
        return len(self.text.encode("utf-16-le")) // 2


def parse(html: str) -> Parsed:
    """The post's visible text, links and tags; AssertionError where Telegram would
    refuse it ("can't parse entities")."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    assert not reader.open, f"never closed: {reader.open}"
    assert reader.rawdata == "", f"left unparsed: {reader.rawdata!r}"
    return Parsed("".join(reader.text), reader.links, reader.tags)


@dataclass
class _Link:
    href: str
    start: int


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.text: list[str] = []
        self.links: list[tuple[str, str]] = []
        self.tags: list[str] = []
        self.open: list[str] = []
        self._link: _Link | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in TAGS, f"Telegram has no <{tag}>"
        self.tags.append(tag)
        self.open.append(tag)
        if tag == "a":
            (name, href), *others = attrs
            assert name == "href" and href and not others, attrs
            self._link = _Link(href, len("".join(self.text)))

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open}"
        self.open.pop()
        if tag == "a" and self._link is not None:
            self.links.append((self._link.href, "".join(self.text)[self._link.start :]))
            self._link = None

    def handle_data(self, data: str) -> None:
        bare = set(data) & set("<>&")
        assert not bare, f"unescaped {bare} in {data!r}"
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        assert name in ENTITIES, f"Telegram knows no &{name};"
        self.text.append(ENTITIES[name])

    def handle_charref(self, name: str) -> None:
        self.text.append(chr(int(name[1:], 16) if name[0] in "xX" else int(name)))

    def handle_comment(self, data: str) -> None:
        raise AssertionError(f"a comment: {data!r}")

    def handle_decl(self, decl: str) -> None:
        raise AssertionError(f"a declaration: {decl!r}")

    def handle_pi(self, data: str) -> None:
        raise AssertionError(f"a processing instruction: {data!r}")

    def unknown_decl(self, data: str) -> None:
        raise AssertionError(f"a declaration: {data!r}")
