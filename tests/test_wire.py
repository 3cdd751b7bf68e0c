"""The wire-format parser: what an agency file becomes, or why it is refused."""

from __future__ import annotations

import codecs
from datetime import date

import pytest

from feeder.intake.wire import parse, story_id_for
from feeder.model import Article, Rejection, RejectReason
from tests.conftest import SEED, wire_text


def parsed(text: str | bytes, name: str = "001_0123456789abcdef.txt") -> Article:
    result = parse(text.encode() if isinstance(text, str) else text, name)
    assert isinstance(result, Article), result
    return result


def rejected(data: bytes, name: str = "bad.txt") -> Rejection:
    result = parse(data, name)
    assert isinstance(result, Rejection), result
    return result


def test_the_seed_article_parses_exactly() -> None:
    article = parsed(SEED.read_bytes(), SEED.name)
    assert article.story_id == "000_dac83acdb151354f"
    assert article.source_name == SEED.name
    assert article.title == "Алиев выразил соболезнования Путину в связью гибелью миротворцев"
    assert (article.place, article.agency) == ("Баку", "Turan")
    assert article.date == date(2023, 9, 21)
    assert article.category == "Политика"
    assert len(article.paragraphs) == 7
    assert article.paragraphs[0].startswith("Президент Азербайджана Ильхам Алиев")
    assert article.paragraphs[-1].endswith("с миротворцами РФ.")
    assert not any("--0--" in paragraph for paragraph in article.paragraphs)
    assert len(article.teasers) == 4
    assert article.teasers[0].startswith("Скандал вокруг фальсифицированного документа")
    assert not any("Скандал" in paragraph for paragraph in article.paragraphs)
    assert all("Написать отзыв" not in text for text in (*article.teasers, *article.paragraphs))
    assert len(article.sha256) == 64


@pytest.mark.parametrize(
    ("variant", "transform"),
    [
        ("CRLF line endings", lambda text: text.replace("\n", "\r\n").encode()),
        ("UTF-8 byte-order mark", lambda text: codecs.BOM_UTF8 + text.encode()),
        ("trailing blank lines", lambda text: (text + "\n\n \n\r\n").encode()),
        ("cp1251", lambda text: text.encode("cp1251")),
        ("cp1251 with CRLF", lambda text: text.replace("\n", "\r\n").encode("cp1251")),
        ("KOI8-R", lambda text: text.encode("koi8_r")),
        ("UTF-16 with BOM", lambda text: text.encode("utf-16")),
    ],
)
def test_encodings_and_line_endings_give_the_same_article(variant: str, transform) -> None:
    text = wire_text(
        title="Президент принял делегацию",
        paragraphs=("Встреча прошла в Баку.", "Стороны обсудили сотрудничество в энергетике."),
        category="Экономика",
    )
    reference = parsed(text)
    article = parsed(transform(text))
    assert (article.title, article.paragraphs, article.category, article.date) == (
        reference.title,
        reference.paragraphs,
        reference.category,
        reference.date,
    ), variant


@pytest.mark.parametrize(
    ("data", "reason", "words"),
    [
        (b"", RejectReason.EMPTY, "empty"),
        (b" \n\r\n\t \n", RejectReason.EMPTY, "white space"),
        (bytes(range(256)) * 8, RejectReason.NOT_TEXT, "not text"),
        (wire_text(title="").encode(), RejectReason.NO_HEADLINE, "headline"),
        (b"Headline only", RejectReason.NO_DATELINE, "dateline"),
        (
            wire_text().replace("Баку/21.09.23/Turan: ", "").encode(),
            RejectReason.NO_DATELINE,
            "dateline",
        ),
        (wire_text(date="вчера").encode(), RejectReason.NO_DATELINE, "no date"),
        (wire_text(date="").encode(), RejectReason.NO_DATELINE, "no date"),
        (
            wire_text(date="31.02.23").encode(),
            RejectReason.IMPOSSIBLE_DATE,
            "'31.02.23' is not a real date",
        ),
        (wire_text(date="12.13.23").encode(), RejectReason.IMPOSSIBLE_DATE, "not a real date"),
        (wire_text(end_mark="").encode(), RejectReason.NO_END_MARK, "end mark ' --0--'"),
        (
            wire_text(category=None, teasers=()).encode(),
            RejectReason.NO_CATEGORY,
            "no category line",
        ),
        (wire_text(category=None).encode(), RejectReason.NO_CATEGORY, "no category line"),
        (wire_text(category="   ").encode(), RejectReason.NO_CATEGORY, "no category line"),
        (
            wire_text(category="Очень " * 20).encode(),
            RejectReason.NO_CATEGORY,
            "too long for a category",
        ),
        (wire_text(paragraphs=("",)).encode(), RejectReason.NO_BODY, "body"),
    ],
    ids=lambda value: value.value if isinstance(value, RejectReason) else None,
)
def test_each_defect_is_rejected_with_its_own_reason(
    data: bytes, reason: RejectReason, words: str
) -> None:
    rejection = rejected(data, "bad.txt")
    assert rejection.reason is reason
    assert words in rejection.message
    assert rejection.source_name == "bad.txt"
    assert "fix the file" in rejection.message  # every message says what to do


def test_an_end_mark_on_its_own_line_closes_the_body() -> None:
    article = parsed(wire_text(paragraphs=("Один.", "Два."), end_mark="\n--0--"))
    assert article.paragraphs == ("Один.", "Два.")
    assert article.category == "Политика"


def test_a_one_paragraph_story_may_end_on_the_dateline() -> None:
    article = parsed(wire_text(paragraphs=("Коротко.",)))
    assert article.paragraphs == ("Коротко.",)


def test_category_spacing_and_case_are_normalised() -> None:
    assert parsed(wire_text(category="  политика  ")).category == "Политика"
    assert parsed(wire_text(category="В   мире")).category == "В мире"


def test_characters_xml_forbids_are_removed_and_markup_kept_as_text() -> None:
    article = parsed(
        wire_text(
            title="Заголовок\x0b <script>alert(1)</script> & ]]>", paragraphs=("a\x00b\x1fc",)
        )
    )
    assert article.title == "Заголовок <script>alert(1)</script> & ]]>"
    assert article.paragraphs == ("abc",)


def test_a_file_that_is_mostly_control_characters_is_not_text() -> None:
    assert rejected(b"\x01\x02\x03\x04" * 100).reason is RejectReason.NOT_TEXT


@pytest.mark.parametrize(
    ("dateline_date", "expected"),
    [
        ("01.01.00", date(2000, 1, 1)),
        ("31.12.68", date(2068, 12, 31)),
        ("01.01.69", date(1969, 1, 1)),
        ("29.02.24", date(2024, 2, 29)),
        ("5.3.24", date(2024, 3, 5)),
        ("21.09.2023", date(2023, 9, 21)),
    ],
)
def test_dateline_dates(dateline_date: str, expected: date) -> None:
    assert parsed(wire_text(date=dateline_date)).date == expected


def test_teasers_are_kept_apart_from_the_body() -> None:
    article = parsed(wire_text(paragraphs=("Текст.",), teasers=("Первый тизер.", "Второй тизер.")))
    assert article.teasers == ("Первый тизер.", "Второй тизер.")
    assert article.paragraphs == ("Текст.",)


@pytest.mark.parametrize(
    ("name", "story_id"),
    [
        ("000_dac83acdb151354f.txt", "000_dac83acdb151354f"),
        ("Новость 110.txt", "Новость 110"),
        ("UPPER.TXT", "UPPER"),
        ("no-suffix", "no-suffix"),
    ],
)
def test_the_story_id_is_the_file_name_without_txt(name: str, story_id: str) -> None:
    assert story_id_for(name) == story_id
