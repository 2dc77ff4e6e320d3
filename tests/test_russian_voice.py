"""The bot speaks Russian in one voice (issue 12 item 4).

The voice is masculine first person: "я прочитал", "Не уверен", "я прав". Replies once mixed
in feminine forms ("Читала модель …" right above "я не очень уверен"). This scans every Russian
text for a feminine past-tense verb or a feminine first-person adjective. A feminine verb is
fine only with a feminine subject noun reviewed for it below ("его придумала моя нейросеть",
"эта кнопка устарела"): there the sentence is about that thing, not about the bot.
"""

from __future__ import annotations

import re

import pytest

from bot.texts import CONTROL_LABELS, STYLE_TITLES, TEXTS, VOICE_TITLES, t

# feminine past tense (читала, прочитала, нашла, ошиблась) of a verb whose subject is not "я"
FEMININE_PAST = re.compile(r"\b[а-яё]+(?:ла|лась)\b", re.IGNORECASE)
# the bot about itself in the feminine: "уверена", "рада", "я права", …
FEMININE_SELF = re.compile(
    r"\b(?:уверена|рада|готова|должна|согласна|благодарна|довольна|сама)\b|\bя\s+права\b",
    re.IGNORECASE,
)
# verb → the feminine nouns it may have as its subject (reviewed: not the bot speaking)
REVIEWED_SUBJECTS = {
    "придумала": ("нейросеть",),
    "устарела": ("кнопка",),
    "изменилась": ("настройка",),
}
# words ending in -ла that are not verbs
NOT_VERBS = frozenset({"сила", "правила", "дела", "пчела", "стрела", "игла", "мгла"})
CLAUSE = re.compile(r"[.!?;:\n(]")


def russian_texts() -> dict[str, str]:
    texts = {f"TEXTS[{key}]": text for key, text in TEXTS["ru"].items()}
    texts.update({f"CONTROL_LABELS[{k}]": v for k, v in CONTROL_LABELS["ru"].items()})
    texts.update({f"STYLE_TITLES[{k}]": v for k, v in STYLE_TITLES["ru"].items()})
    texts.update({f"VOICE_TITLES[{k}]": v for k, v in VOICE_TITLES["ru"].items()})
    return texts


def other_voice(text: str) -> list[str]:
    """Feminine forms in ``text`` that speak for the bot (empty when it is all one voice)."""
    found = [m.group(0) for m in FEMININE_SELF.finditer(text)]
    for clause in CLAUSE.split(text):
        for match in FEMININE_PAST.finditer(clause):
            verb = match.group(0).lower()
            if verb in NOT_VERBS:
                continue
            subjects = REVIEWED_SUBJECTS.get(verb, ())
            if not any(subject in clause.lower() for subject in subjects):
                found.append(match.group(0))
    return found


@pytest.mark.parametrize(
    "old",
    [
        "😐 <b>Нейтральный</b> · уверенность 55%\n<i>Читала модель sentiment-ru</i>",
        "Отзыв длинный: я прочитала начало и конец.",
        "🤔 Не уверена, но скорее: <b>Положительный</b>",
        "Я рада, что вам понравилось.",
        "Простите, я ошиблась.",
        "Его придумала я.",
    ],
)
def test_the_scan_catches_the_feminine_voice(old: str) -> None:
    assert other_voice(old)


def test_every_russian_text_speaks_in_one_voice() -> None:
    mixed = {where: other_voice(text) for where, text in russian_texts().items()}
    assert not {where: forms for where, forms in mixed.items() if forms}


def test_the_voice_is_masculine_first_person() -> None:
    assert "Не уверен," in t("ru", "review_verdict_unsure")
    for key in ("review_truncated_one", "review_truncated_few", "review_truncated_many"):
        assert "я прочитал " in t("ru", key)
    assert "насколько я уверен" in t("ru", "help")
    assert "я прав " in t("ru", "about")
