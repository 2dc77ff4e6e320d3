"""Russian full names: patronymic rules and exceptions, surname agreement, and checks on real data.

The data tests read the shared lists under ``NAMECRAFT_DATA_DIR`` and skip when they are absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ml.common import data_dir
from ml.names.russian import (
    full_name,
    is_female_form,
    male_base_surnames,
    patronymic,
    surname_for,
)

PATRONYMICS = [
    # regular: consonant → -ович
    ("Иван", "Иванович", "Ивановна"),
    ("Александр", "Александрович", "Александровна"),
    ("Даниил", "Даниилович", "Данииловна"),
    ("Фёдор", "Фёдорович", "Фёдоровна"),
    # consonant after which о is written е
    ("Франц", "Францевич", "Францевна"),
    ("Тадеуш", "Тадеушевич", "Тадеушевна"),
    # -й → -евич
    ("Сергей", "Сергеевич", "Сергеевна"),
    ("Алексей", "Алексеевич", "Алексеевна"),
    ("Николай", "Николаевич", "Николаевна"),
    # -ий → -ьевич, except the -иевич table
    ("Василий", "Васильевич", "Васильевна"),
    ("Евгений", "Евгеньевич", "Евгеньевна"),
    ("Юрий", "Юрьевич", "Юрьевна"),
    ("Дмитрий", "Дмитриевич", "Дмитриевна"),
    ("Георгий", "Георгиевич", "Георгиевна"),
    # -ь → -евич
    ("Игорь", "Игоревич", "Игоревна"),
    ("Лазарь", "Лазаревич", "Лазаревна"),
    # fleeting vowel or stem change
    ("Павел", "Павлович", "Павловна"),
    ("Лев", "Львович", "Львовна"),
    ("Пётр", "Петрович", "Петровна"),
    ("Петр", "Петрович", "Петровна"),
    ("Яков", "Яковлевич", "Яковлевна"),
    ("Михаил", "Михайлович", "Михайловна"),
    # -а/-я → -ич/-ична, old names → -инична
    ("Никита", "Никитич", "Никитична"),
    ("Савва", "Саввич", "Саввична"),
    ("Илья", "Ильич", "Ильинична"),
    ("Кузьма", "Кузьмич", "Кузьминична"),
    ("Фома", "Фомич", "Фоминична"),
    ("Лука", "Лукич", "Лукинична"),
    # Muslim names in -а keep the vowel
    ("Муса", "Мусаевич", "Мусаевна"),
    ("Иса", "Исаевич", "Исаевна"),
    ("Абдулла", "Абдуллаевич", "Абдуллаевна"),
    ("Хабибулла", "Хабибуллаевич", "Хабибуллаевна"),
    ("Яхья", "Яхьяевич", "Яхьяевна"),
    # other vowels
    ("Али", "Алиевич", "Алиевна"),
    ("Лом-Али", "Лом-Алиевич", "Лом-Алиевна"),
    ("Отто", "Оттович", "Оттовна"),
]


@pytest.mark.parametrize(("father", "male", "female"), PATRONYMICS)
def test_patronymic(father: str, male: str, female: str) -> None:
    assert patronymic(father, "m") == male
    assert patronymic(father, "f") == female


@pytest.mark.parametrize("sex", ["", "M", "male", "x"])
def test_bad_sex_is_rejected(sex: str) -> None:
    with pytest.raises(ValueError):
        patronymic("Иван", sex)
    with pytest.raises(ValueError):
        surname_for("Иванов", sex)
    with pytest.raises(ValueError):
        full_name("Иван", "Иван", "Иванов", sex)


SURNAMES = [
    # +а
    ("Иванов", "Иванова"),
    ("Васильев", "Васильева"),
    ("Лёвин", "Лёвина"),
    ("Пушкин", "Пушкина"),
    ("Птицын", "Птицына"),
    # adjectival
    ("Достоевский", "Достоевская"),
    ("Трубецкой", "Трубецкая"),
    ("Донской", "Донская"),
    ("Толстой", "Толстая"),
    ("Белый", "Белая"),
    ("Рыжий", "Рыжая"),
    ("Осадчий", "Осадчая"),
    ("Завгородний", "Завгородняя"),
    ("Римский-Корсаков", "Римская-Корсакова"),
    # invariant: the same for women
    ("Коваленко", "Коваленко"),
    ("Шевченко", "Шевченко"),
    ("Станкевич", "Станкевич"),
    ("Шевчук", "Шевчук"),
    ("Мороз", "Мороз"),
    ("Черных", "Черных"),
    ("Седых", "Седых"),
    ("Дурново", "Дурново"),
    ("Палий", "Палий"),
    ("Сысой", "Сысой"),
    ("Рева", "Рева"),
    # too short for a suffix
    ("Цой", "Цой"),
    ("Шин", "Шин"),
]


@pytest.mark.parametrize(("male", "female"), SURNAMES)
def test_surname_for(male: str, female: str) -> None:
    assert surname_for(male, "m") == male
    assert surname_for(male, "f") == female


@pytest.mark.parametrize(
    ("surname", "female"),
    [
        ("Иванова", True),
        ("Зуева", True),
        ("Пушкина", True),
        ("Достоевская", True),
        ("Толстая", True),
        ("Завгородняя", True),
        ("Тычина", True),  # invariant, but indistinguishable by ending: accepted
        ("Иванов", False),
        ("Коваленко", False),
        ("Рева", False),
        ("Бова", False),
        ("Толстой", False),
    ],
)
def test_is_female_form(surname: str, female: bool) -> None:
    assert is_female_form(surname) is female


def test_male_base_surnames_keeps_male_and_invariant_in_order() -> None:
    mixed = [
        "Иванов",
        "Иванова",
        "Коваленко",
        " Станкевич ",
        "",
        "Иванов",
        "Смирнова",
        "Толстая",
        "Толстой",
        "Мороз",
        "Тычина",
        "Скорина",
        "Рева",
        "Достоевская",
    ]
    assert male_base_surnames(mixed) == [
        "Иванов",
        "Коваленко",
        "Станкевич",
        "Толстой",
        "Мороз",
        "Рева",
    ]


def test_full_name() -> None:
    assert full_name("Анна", "Павел", "Иванов", "f") == "Анна Павловна Иванова"
    assert full_name("Иван", "Павел", "Иванов", "m") == "Иван Павлович Иванов"
    assert full_name("Мария", "Илья", "Коваленко", "f") == "Мария Ильинична Коваленко"
    assert full_name("Лев", "Николай", "Толстой", "m") == "Лев Николаевич Толстой"


def _read_list(name: str) -> list[str]:
    path: Path = data_dir() / "names" / "ru" / name
    if not path.is_file():
        pytest.skip(f"shared data not found: {path}")
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip()]


def test_rules_agree_with_real_surname_list() -> None:
    surnames = _read_list("ru_surnames_top.txt")
    known = set(surnames)
    base = male_base_surnames(surnames)
    assert base and not any(is_female_form(s) for s in base)
    # The female form we derive should usually be attested in the same list.
    top = [s for s in base if s.endswith(("ов", "ев", "ёв", "ин", "ын"))][:200]
    assert len(top) == 200
    attested = sum(surname_for(s, "f") in known for s in top)
    assert attested >= 0.9 * len(top), attested


def test_patronymics_for_real_first_names() -> None:
    names = _read_list("ru_first_names_male.txt")[:100]
    assert len(names) == 100
    bad = [
        name
        for name in names
        if not patronymic(name, "m").endswith("ич") or not patronymic(name, "f").endswith("на")
    ]
    assert not bad
