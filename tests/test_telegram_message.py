"""The Telegram post a story becomes: layout, escaping, and the 4,096-unit limit."""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeder.channels.telegram.message import (
    ELLIPSIS,
    MESSAGE_LIMIT,
    StoryPost,
    hashtag,
    render_story,
    render_withdrawal,
)
from feeder.i18n import LanguageError
from tests.telegram_html import parse

BAKU = ZoneInfo("Asia/Baku")
URL = "https://news.example.org/2026/12/07/story-1.html"
POST = StoryPost(
    headline="Парламент принял бюджет",
    place="Баку",
    local_time=datetime(2026, 12, 7, 14, 5, tzinfo=BAKU),
    lead="Милли Меджлис одобрил бюджет на 2027 год.",
    url=URL,
    category="В мире",
)
HOSTILE = 'A <b>bold</b> &amp; "quoted" </a> tab\tnul\x00bell\x07 😀 <a href="x">'


def seen(post: StoryPost) -> list[str]:
    return parse(render_story(post)).text.split("\n")


def test_a_post_has_the_headline_dateline_lead_link_and_hashtag() -> None:
    html = render_story(POST)
    assert html.startswith("<b>Парламент принял бюджет</b>\n<i>Баку, ")
    assert seen(POST) == [
        "Парламент принял бюджет",
        "Баку, 7 декабря 2026\u202fг., 14:05",
        "",
        "Милли Меджлис одобрил бюджет на 2027 год.",
        "",
        "Читать полностью",
        "#В_мире",
    ]
    assert parse(html).links == [(URL, "Читать полностью")]


def test_an_english_post_speaks_english() -> None:
    lines = seen(replace(POST, language="en"))
    assert lines[1] == "Баку, December 7, 2026, 14:05"
    assert lines[-2] == "Read the story"


def test_the_time_is_shown_in_its_own_zone() -> None:
    utc = datetime(2026, 12, 7, 10, 5, tzinfo=ZoneInfo("UTC"))
    assert seen(replace(POST, local_time=utc.astimezone(BAKU)))[1].endswith("14:05")
    assert seen(replace(POST, local_time=utc))[1].endswith("10:05")


def test_a_naive_time_or_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        replace(POST, local_time=datetime(2026, 12, 7, 14, 5))
    with pytest.raises(LanguageError, match="'de'"):
        replace(POST, language="de")


@pytest.mark.parametrize(
    ("category", "tag"),
    [
        ("В мире", "#В_мире"),
        ("Экономика / Бизнес", "#Экономика_Бизнес"),
        ("  __Спорт__ ", "#Спорт"),
        ("COVID-19", "#COVID_19"),
        ("<b>Политика</b> 😀", "#b_Политика_b"),
        ("2024", None),
        ("", None),
    ],
)
def test_a_category_becomes_a_hashtag_of_letters_digits_and_underscores(
    category: str, tag: str | None
) -> None:
    assert hashtag(category) == tag


def test_a_category_with_no_letter_has_no_hashtag_line() -> None:
    assert seen(replace(POST, category="2024"))[-1] == "Читать полностью"


def test_hostile_text_in_every_field_stays_text() -> None:
    url = 'https://news.example.org/a?b=1&c="2"&d=</a><b>'
    post = StoryPost(HOSTILE, HOSTILE, POST.local_time, HOSTILE, url, HOSTILE)
    parsed = parse(render_story(post))  # valid Telegram HTML, or it raises
    shown = 'A <b>bold</b> &amp; "quoted" </a> tab nulbell 😀 <a href="x">'
    lines = parsed.text.split("\n")
    assert lines[0] == shown
    assert lines[1].startswith(f"{shown}, ")
    assert lines[3] == shown
    assert lines[-1] == "#A_b_bold_b_amp_quoted_a_tab_nulbell_a_href_x"
    assert parsed.links == [(url, "Читать полностью")]
    assert parsed.tags == ["b", "i", "a"]
    assert "\x00" not in render_story(post)


def test_line_breaks_in_a_field_do_not_break_the_layout() -> None:
    post = replace(POST, headline="Первая\nвторая\r\n\u2028строка", lead="Абзац\n\nс разрывом")
    assert seen(post)[0] == "Первая вторая строка"
    assert seen(post)[3] == "Абзац с разрывом"


def words(count: int, word: str = "слово") -> str:
    return " ".join(f"{word}{index}" for index in range(count))


def assert_cut_at_a_word(shown: str, original: str) -> None:
    assert shown.endswith(ELLIPSIS)
    kept = shown.removesuffix(ELLIPSIS)
    assert original.startswith(kept)
    assert original[len(kept)] == " "


def test_a_10000_character_lead_is_cut_at_a_word_within_the_limit() -> None:
    lead = words(1500)
    assert len(lead) > 10_000
    parsed = parse(render_story(replace(POST, lead=lead)))
    lines = parsed.text.split("\n")
    assert MESSAGE_LIMIT - 20 <= parsed.length <= MESSAGE_LIMIT
    assert lines[0] == POST.headline
    assert_cut_at_a_word(lines[3], lead)
    assert lines[-2:] == ["Читать полностью", "#В_мире"]
    assert parsed.links == [(URL, "Читать полностью")]


def test_the_limit_counts_text_after_parsing_not_the_markup() -> None:
    lead = " ".join(["<&>"] * 3000)  # 4 times longer escaped than shown
    parsed = parse(render_story(replace(POST, lead=lead)))
    assert MESSAGE_LIMIT - 20 <= parsed.length <= MESSAGE_LIMIT
    assert_cut_at_a_word(parsed.text.split("\n")[3], lead)


def test_the_limit_counts_utf16_units_so_an_astral_emoji_counts_two() -> None:
    lead = " ".join(["😀🇦🇿"] * 3000)
    html = render_story(replace(POST, lead=lead))
    parsed = parse(html)
    assert MESSAGE_LIMIT - 20 <= parsed.length <= MESSAGE_LIMIT
    assert len(parsed.text) < parsed.length - 1000
    html.encode("utf-8")  # no half of a surrogate pair
    assert_cut_at_a_word(parsed.text.split("\n")[3], lead)


def test_a_single_huge_word_is_cut_where_the_room_ends() -> None:
    parsed = parse(render_story(replace(POST, lead="я" * 10_000)))
    assert MESSAGE_LIMIT - 5 <= parsed.length <= MESSAGE_LIMIT
    assert parsed.text.split("\n")[3].endswith("яя" + ELLIPSIS)


def test_a_huge_headline_is_cut_after_the_lead_is_dropped() -> None:
    headline = words(1500, "заголовок")
    parsed = parse(render_story(replace(POST, headline=headline, lead=words(100))))
    lines = parsed.text.split("\n")
    assert parsed.length <= MESSAGE_LIMIT
    assert_cut_at_a_word(lines[0], headline)
    assert lines[1] == "Баку, 7 декабря 2026\u202fг., 14:05"
    assert lines[2:] == ["", "Читать полностью", "#В_мире"]
    assert parsed.links == [(URL, "Читать полностью")]


def test_a_huge_place_and_category_cannot_crowd_out_the_link() -> None:
    post = replace(POST, place=words(2000), category=words(2000), headline=words(2000))
    parsed = parse(render_story(post))
    lines = parsed.text.split("\n")
    assert parsed.length <= MESSAGE_LIMIT
    assert len(lines[1]) < 200 and len(lines[-1]) <= 100
    assert lines[-1].startswith("#слово0_слово1_")
    assert parsed.links == [(URL, "Читать полностью")]


@pytest.mark.parametrize(
    ("language", "notice"), [("ru", "Материал отозван"), ("en", "Story withdrawn")]
)
def test_the_withdrawal_notice_strikes_the_headline(language: str, notice: str) -> None:
    parsed = parse(render_withdrawal('Бюджет <b>"принят"</b> & утверждён', language))
    assert parsed.text == f'{notice}\nБюджет <b>"принят"</b> & утверждён'
    assert parsed.tags == ["b", "s"]


def test_the_withdrawal_notice_of_a_huge_headline_fits() -> None:
    parsed = parse(render_withdrawal(words(2000), "ru"))
    assert MESSAGE_LIMIT - 20 <= parsed.length <= MESSAGE_LIMIT


# A long field repeats a short one: as hostile, and cheap to make (a 12,000-character
# text drawn whole made Hypothesis's too-slow health check fail now and then).
long_fields = st.builds(
    lambda chunk, gap, count: gap.join([chunk] * count),
    st.text(min_size=1, max_size=40),
    st.sampled_from(["", " ", "\n"]),
    st.integers(min_value=100, max_value=3000),
)
fields = st.text(max_size=300) | long_fields


@settings(max_examples=150, deadline=None)
@given(
    headline=fields,
    place=st.text(max_size=200),
    lead=fields,
    path=st.text(max_size=100),
    category=st.text(max_size=200),
    language=st.sampled_from(["ru", "en"]),
)
def test_any_story_renders_valid_html_within_the_limit_with_its_link(
    headline: str, place: str, lead: str, path: str, category: str, language: str
) -> None:
    url = f"https://news.example.org/{path}"
    post = StoryPost(headline, place, POST.local_time, lead, url, category, language)
    parsed = parse(render_story(post))
    assert parsed.length <= MESSAGE_LIMIT
    assert len(parsed.links) == 1
    href, label = parsed.links[0]
    assert href == "".join(c for c in url if unicodedata.category(c) not in ("Cc", "Cs"))
    assert label in ("Читать полностью", "Read the story")
    tag = hashtag(category)
    assert parsed.text.endswith(f"{label}\n{tag}" if tag else label)
