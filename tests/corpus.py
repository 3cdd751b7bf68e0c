"""Every kind of delivery the inbox may receive, each built from the seed article.

A Variant is what lands in the inbox: files (bytes under a name, with an age),
folders and symbolic links, delivered in rounds with an ingest run after each.
Each variant changes one thing about the seed, so its outcome is that thing's.
The expected outcomes are the table in tests/test_corpus.py, which
docs/input.md mirrors.
"""

from __future__ import annotations

import codecs
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import SEED

SEED_NAME = SEED.name
SEED_TEXT = SEED.read_text(encoding="utf-8")
SEED_LINES = SEED_TEXT.split("\n")
END_MARK = " --0--"
END_LINE = next(index for index, line in enumerate(SEED_LINES) if line.endswith(END_MARK))
CATEGORY_LINE = END_LINE + 1
BOILERPLATE = "Написать отзыв"
FIRST_PARAGRAPH = SEED_LINES[1].partition(": ")[2]
TEASERS = [line for line in SEED_LINES[CATEGORY_LINE + 1 :] if line not in {"-", BOILERPLATE}]

MARKUP = "<script>alert('x')</script> & ]]> &amp;"
MARKUP_TITLE = f"Заголовок {MARKUP}"
LONG_TITLE = " ".join(["Очень длинный заголовок"] * 100)
CORRECTED_TITLE = "Алиев выразил соболезнования Путину в связи с гибелью миротворцев"
# The seed's title with characters XML forbids; removing them gives the seed's title back.
CONTROL_TITLE = (
    "Алиев\x00 выразил\x0b соболезнования\x1f Путину\x7f в\x85 связью гибелью миротворцев"
)
# config.toml's default max_file_size.
DEFAULT_SIZE_LIMIT = 1024 * 1024


@dataclass(frozen=True)
class File:
    """A regular file, last modified `age_seconds` ago; `readable=False` is `chmod 000`."""

    name: str
    data: bytes
    age_seconds: float = 3600
    readable: bool = True

    def place(self, inbox: Path) -> None:
        path = inbox / self.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.data)
        moment = time.time() - self.age_seconds
        os.utime(path, (moment, moment))
        path.chmod(0o644 if self.readable else 0)


@dataclass(frozen=True)
class GrowingFile(File):
    """A file the agency is still writing: `tail` is appended while feeder reads it."""

    tail: bytes = b"\n"


@dataclass(frozen=True)
class Folder:
    name: str

    def place(self, inbox: Path) -> None:
        (inbox / self.name).mkdir()


@dataclass(frozen=True)
class Symlink:
    """A symbolic link; `target` is relative to the inbox, as `ln -s` inside it takes it."""

    name: str
    target: str

    def place(self, inbox: Path) -> None:
        (inbox / self.name).symlink_to(self.target)


Drop = File | Folder | Symlink


@dataclass(frozen=True)
class Variant:
    """`subject` is the file the expected outcome is about; an ingest follows each round."""

    key: str
    subject: str
    rounds: tuple[tuple[Drop, ...], ...]


# --- the seed with one thing changed --------------------------------------------


def _joined(lines: list[str]) -> str:
    return "\n".join(lines)


def replaced(index: int, line: str) -> str:
    return _joined([*SEED_LINES[:index], line, *SEED_LINES[index + 1 :]])


def with_dateline(prefix: str) -> str:
    """The seed whose dateline `Баку/21.09.23/Turan: ` is `prefix` instead."""
    return replaced(1, prefix + FIRST_PARAGRAPH)


def without(unwanted: Callable[[int, str], bool]) -> str:
    return _joined([line for index, line in enumerate(SEED_LINES) if not unwanted(index, line)])


def _is_teaser(index: int, line: str) -> bool:
    return index > CATEGORY_LINE and line != BOILERPLATE


def seed_file(
    text: str = SEED_TEXT,
    name: str = SEED_NAME,
    age_seconds: float = File.age_seconds,
    readable: bool = True,
) -> File:
    return File(name, text.encode(), age_seconds, readable)


def _binary_junk() -> bytes:
    """A misdirected upload: an image header and noise (seeded, so always the same bytes)."""
    return b"\x89PNG\r\n\x1a\n" + random.Random(5).randbytes(4000)


# `Новость.txt` as a Windows tool names it, in cp1251: Python sees surrogate escapes.
NOT_UTF8_NAME = os.fsdecode("Новость".encode("cp1251") + b".txt")

# KOI8-R has no typographic quotes or dashes; the agency's KOI8-R system writes plain ones.
KOI8_R_LACKS = str.maketrans({"«": '"', "»": '"', "–": "-"})
CRLF = SEED_TEXT.replace("\n", "\r\n")
LAST_PARAGRAPH = SEED_LINES[END_LINE].removesuffix(END_MARK)
WITHOUT_END_MARK = replaced(END_LINE, LAST_PARAGRAPH)
END_MARK_OWN_LINE = replaced(END_LINE, LAST_PARAGRAPH + "\n--0--")
MARKUP_IN_TITLE_AND_BODY = _joined(
    [MARKUP_TITLE, f"Баку/21.09.23/Turan: {MARKUP} {FIRST_PARAGRAPH}", *SEED_LINES[2:]]
)
NO_BODY = _joined([SEED_LINES[0], "Баку/21.09.23/Turan: --0--", *SEED_LINES[CATEGORY_LINE:]])
CORRECTED = replaced(0, CORRECTED_TITLE)
# The headline from the agency's KOI8-R system, the body from its cp1251 one.
MIXED_ENCODINGS = (
    SEED_LINES[0].translate(KOI8_R_LACKS).encode("koi8_r")
    + b"\n"
    + _joined(SEED_LINES[1:]).encode("cp1251")
)
# Invisible characters: zero-width space and joiner, a right-to-left override.
INVISIBLE = "\u200b\u200d\u202e"
# Far enough ahead that its nanoseconds since 1970 do not fit in 64 bits.
YEAR_2300 = -300 * 365 * 86400

# One file each: (key, the file). The subject is that file.
SINGLE_FILES: list[tuple[str, File | Folder | Symlink]] = [
    ("seed", seed_file()),
    ("crlf", seed_file(CRLF)),
    ("utf8-bom", File(SEED_NAME, codecs.BOM_UTF8 + SEED_TEXT.encode())),
    ("utf16-bom", File(SEED_NAME, SEED_TEXT.encode("utf-16"))),
    ("cp1251", File(SEED_NAME, CRLF.encode("cp1251"))),
    ("koi8-r", File(SEED_NAME, SEED_TEXT.translate(KOI8_R_LACKS).encode("koi8_r"))),
    ("trailing-blank-lines", seed_file(SEED_TEXT + "\n\n \n\t\r\n\n")),
    ("end-mark-own-line", seed_file(END_MARK_OWN_LINE)),
    ("no-teasers", seed_file(without(_is_teaser))),
    ("teasers-no-boilerplate", seed_file(without(lambda index, line: line == BOILERPLATE))),
    ("category-odd-spacing", seed_file(replaced(CATEGORY_LINE, "  политика "))),
    ("year-00", seed_file(with_dateline("Баку/01.01.00/Turan: "))),
    ("year-68", seed_file(with_dateline("Баку/21.09.68/Turan: "))),
    ("year-69", seed_file(with_dateline("Баку/21.09.69/Turan: "))),
    ("four-digit-year", seed_file(with_dateline("Баку/21.09.2023/Turan: "))),
    ("control-characters", seed_file(replaced(0, CONTROL_TITLE))),
    ("markup", seed_file(MARKUP_IN_TITLE_AND_BODY)),
    ("long-title", seed_file(replaced(0, LONG_TITLE))),
    ("name-cyrillic", seed_file(name="Новость.txt")),
    ("name-spaces", seed_file(name="news 110 final.txt")),
    ("name-not-utf8", seed_file(name=NOT_UTF8_NAME)),
    ("suffix-upper-case", seed_file(name="000_dac83acdb151354f.TXT")),
    ("no-headline", seed_file(without(lambda index, line: index == 0))),
    ("unknown-dateline", seed_file(with_dateline("Баку, 21 сентября 2023 (Turan) — "))),
    ("dateline-without-date", seed_file(with_dateline("Баку//Turan: "))),
    ("impossible-date", seed_file(with_dateline("Баку/31.02.23/Turan: "))),
    ("missing-end-mark", seed_file(WITHOUT_END_MARK)),
    ("no-body", seed_file(NO_BODY)),
    ("no-category", seed_file(without(lambda index, line: index == CATEGORY_LINE))),
    ("empty-category", seed_file(replaced(CATEGORY_LINE, " "))),
    ("paragraph-as-category", seed_file(replaced(CATEGORY_LINE, SEED_LINES[2]))),
    ("category-invisible-characters", seed_file(replaced(CATEGORY_LINE, f"По{INVISIBLE}литика"))),
    ("category-only-invisible", seed_file(replaced(CATEGORY_LINE, INVISIBLE))),
    ("dateline-fullwidth-digits", seed_file(with_dateline("Баку/２１.０９.２３/Turan: "))),
    ("dateline-arabic-indic-digits", seed_file(with_dateline("Баку/٢١.٠٩.٢٣/Turan: "))),
    ("mixed-encodings", File(SEED_NAME, MIXED_ENCODINGS)),
    ("file-time-impossible", seed_file(age_seconds=YEAR_2300)),
    ("empty", File(SEED_NAME, b"")),
    ("whitespace-only", File(SEED_NAME, b" \r\n\t\n  \n")),
    ("utf16-no-bom", File(SEED_NAME, SEED_TEXT.encode("utf-16-le"))),
    ("binary-junk", File(SEED_NAME, _binary_junk())),
    ("too-large", File(SEED_NAME, SEED_TEXT.encode() + b" " * DEFAULT_SIZE_LIMIT)),
    ("unreadable", seed_file(readable=False)),
    ("not-txt", seed_file(name="000_dac83acdb151354f.doc")),
    ("hidden", seed_file(name=".000_dac83acdb151354f.txt")),
    ("directory", Folder("x.txt")),
    ("symlink-dangling", Symlink("link.txt", "missing.txt")),
]

OUTSIDE = f"../elsewhere/{SEED_NAME}"
# Deliveries of several files or in several rounds: (key, subject, rounds).
SEQUENCES: list[tuple[str, str, tuple[tuple[Drop, ...], ...]]] = [
    ("just-written", SEED_NAME, ((seed_file(age_seconds=0),), (seed_file(),))),
    ("growing", SEED_NAME, ((GrowingFile(SEED_NAME, SEED_TEXT.encode()),), (seed_file(),))),
    ("duplicate", "001_copy.txt", ((seed_file(), seed_file(name="001_copy.txt")),)),
    ("correction", SEED_NAME, ((seed_file(age_seconds=7200),), (seed_file(CORRECTED),))),
    (
        "correction-twice",
        SEED_NAME,
        (
            (seed_file(age_seconds=7200),),
            (seed_file(CORRECTED, age_seconds=3600),),
            (seed_file(CORRECTED, age_seconds=1800),),
        ),
    ),
    (
        "fixed-in-place",
        SEED_NAME,
        ((seed_file(WITHOUT_END_MARK, age_seconds=7200),), (seed_file(),)),
    ),
    ("symlink-inside", "link.txt", ((seed_file(), Symlink("link.txt", SEED_NAME)),)),
    ("symlink-outside", "link.txt", ((seed_file(name=OUTSIDE), Symlink("link.txt", OUTSIDE)),)),
]


def variants() -> list[Variant]:
    """The whole corpus, in the order of the table in docs/input.md."""
    return [
        *(Variant(key, drop.name, ((drop,),)) for key, drop in SINGLE_FILES),
        *(Variant(key, subject, rounds) for key, subject, rounds in SEQUENCES),
    ]
