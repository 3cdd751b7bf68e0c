"""A deterministic wire-format corpus: the same seed always gives the same files.

Articles look like the agency's (see docs/input.md): a headline, a `Баку/DD.MM.YY/Turan: ` dateline, paragraphs
closed by ` --0--`, a rubric, teasers and the site's boilerplate line. Sizes
vary around 3 KB and rubrics are skewed the way a news desk's are (politics
and economy dominate), so feeds fill unevenly as they do in production.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

AGENCY_ZONE = ZoneInfo("Asia/Baku")
# A busy wire: 100 stories a day from 2000 on, so 900,000 stories still end in
# the past (a file dated in the future would wait forever to settle).
FIRST_DAY = date(2000, 1, 1)
STORIES_PER_DAY = 100
# Stories of one day are filed from 08:00 local time, one every five minutes,
# so each file's mtime falls on its dateline's day and sets its time of day.
FIRST_FILING = timedelta(hours=8)
FILING_INTERVAL = timedelta(minutes=5)
CORRECTION_DELAY = timedelta(hours=1)

# Rubric and relative weight: a few rubrics carry most of the wire.
CATEGORIES = {
    "Политика": 24,
    "Экономика": 18,
    "Общество": 12,
    "В мире": 10,
    "Энергетика": 8,
    "Регион": 7,
    "Происшествия": 6,
    "Культура": 5,
    "Спорт": 4,
    "Наука": 3,
    "Здоровье": 2,
    "Интервью": 1,
}

_WORDS = (
    "президент",
    "правительство",
    "министр",
    "парламент",
    "заявил",
    "сообщил",
    "отметил",
    "подчеркнул",
    "переговоры",
    "соглашение",
    "договоренность",
    "безопасность",
    "развитие",
    "сотрудничество",
    "экономика",
    "бюджет",
    "инфляция",
    "нефть",
    "газ",
    "экспорт",
    "импорт",
    "рынок",
    "банк",
    "кредит",
    "манат",
    "компания",
    "проект",
    "строительство",
    "инвестиции",
    "регион",
    "город",
    "район",
    "жители",
    "власти",
    "граница",
    "конфликт",
    "мирный",
    "процесс",
    "делегация",
    "визит",
    "встреча",
    "обсуждение",
    "вопрос",
    "решение",
    "закон",
    "реформа",
    "выборы",
    "партия",
    "оппозиция",
    "суд",
    "дело",
    "расследование",
    "пресс-служба",
    "агентство",
    "источник",
    "эксперт",
    "аналитик",
    "данные",
    "статистика",
    "рост",
    "снижение",
    "прогноз",
    "показатель",
    "квартал",
    "год",
    "месяц",
    "неделя",
    "сегодня",
    "вчера",
    "завтра",
    "международный",
    "национальный",
    "государственный",
    "частный",
    "новый",
    "важный",
    "ключевой",
    "дальнейший",
    "совместный",
    "региональный",
    "энергетический",
    "транспортный",
    "культурный",
)
_SENTENCE_POOL = 4000
_TITLE_POOL = 2000


@dataclass(frozen=True)
class Story:
    """One generated delivery: its file name, bytes and filing time."""

    name: str
    data: bytes
    filed: datetime


class CorpusWriter:
    """Generates stories in sequence order; story `n` is always the same bytes."""

    def __init__(self, seed: int = 2023) -> None:
        self.seed = seed
        pool = random.Random(seed)
        self.sentences = [_sentence(pool, 8, 22) for _ in range(_SENTENCE_POOL)]
        self.titles = [_sentence(pool, 5, 11).removesuffix(".") for _ in range(_TITLE_POOL)]
        self.categories = list(CATEGORIES)
        self.weights = list(CATEGORIES.values())

    def story(self, number: int, revision: int = 1) -> Story:
        """Story `number`; a later `revision` is a correction with other text, same name."""
        rng = random.Random(f"{self.seed}/{number}/{revision}")
        day, slot = divmod(number, STORIES_PER_DAY)
        story_day = FIRST_DAY + timedelta(days=day)
        filed = datetime.combine(story_day, datetime.min.time(), AGENCY_ZONE)
        # A correction is filed an hour after the version it corrects.
        filed += FIRST_FILING + slot * FILING_INTERVAL + (revision - 1) * CORRECTION_DELAY
        paragraphs = [
            " ".join(rng.choices(self.sentences, k=rng.randint(1, 3)))
            for _ in range(rng.randint(3, 7))
        ]
        paragraphs[-1] += " --0--"
        lines = [
            f"{rng.choice(self.titles)} ({number})",
            f"Баку/{story_day:%d.%m.%y}/Turan: {paragraphs[0]}",
            *paragraphs[1:],
            rng.choices(self.categories, self.weights)[0],
        ]
        for _ in range(rng.randint(0, 3)):
            lines += ["-", rng.choice(self.sentences)]
        lines.append("Написать отзыв")
        return Story(self.name(number), "\n".join(lines).encode(), filed)

    def name(self, number: int) -> str:
        """The agency's file name: a sequence number and a 16-hex-digit id."""
        return f"{number:06d}_{random.Random(f'{self.seed}/{number}').getrandbits(64):016x}.txt"

    def write(self, directory: Path, numbers: Iterable[int], revision: int = 1) -> None:
        """Deliver stories into `directory` with their filing time as mtime."""
        directory.mkdir(parents=True, exist_ok=True)
        for number in numbers:
            deliver(directory, self.story(number, revision))


def deliver(directory: Path, story: Story) -> None:
    """A new file, never a rewrite in place: inboxes share the corpus by hard links."""
    path = directory / story.name
    path.unlink(missing_ok=True)
    path.write_bytes(story.data)
    moment = story.filed.timestamp()
    os.utime(path, (moment, moment))


def _sentence(rng: random.Random, shortest: int, longest: int) -> str:
    words = rng.choices(_WORDS, k=rng.randint(shortest, longest))
    return " ".join(words).capitalize() + "."
