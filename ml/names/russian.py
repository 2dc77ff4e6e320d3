"""Russian full names ("Имя Отчество Фамилия") with gender agreement.

The shared Russian lists cannot be sampled naively (see ``SOURCES.md``, "Russian full names ...
usability check"): no patronymics are shipped, so they are derived here from male first names,
and the surname list mixes male and female forms (Иванов, Иванова) with many invariant
Ukrainian and Belarusian surnames (Коваленко, Станкевич). Pick a surname with
:func:`male_base_surnames`, then let :func:`surname_for` derive the woman's form, so that a man
never gets ``Иванова`` and a woman never gets ``Иванов``.

Pure Python on purpose: the bot and the tests can use it without loading torch.
"""

from __future__ import annotations

from collections.abc import Iterable

SEX_VALUES = ("m", "f")

# Names whose patronymic no suffix rule gets right: a fleeting vowel or stem change, and the
# old -а/-я names whose feminine form is -инична. Value: (masculine, feminine).
PATRONYMIC_EXCEPTIONS: dict[str, tuple[str, str]] = {
    "Павел": ("Павлович", "Павловна"),
    "Лев": ("Львович", "Львовна"),
    "Пётр": ("Петрович", "Петровна"),
    "Петр": ("Петрович", "Петровна"),
    "Яков": ("Яковлевич", "Яковлевна"),
    "Михаил": ("Михайлович", "Михайловна"),
    "Гавриил": ("Гаврилович", "Гавриловна"),
    "Гаврила": ("Гаврилович", "Гавриловна"),
    "Данила": ("Данилович", "Даниловна"),
    "Илья": ("Ильич", "Ильинична"),
    "Кузьма": ("Кузьмич", "Кузьминична"),
    "Козьма": ("Козьмич", "Козьминична"),
    "Фома": ("Фомич", "Фоминична"),
    "Лука": ("Лукич", "Лукинична"),
}

# -ий names whose dictionary patronymic keeps the и (Дмитриевич, not Дмитрьевич). Mostly names
# with a consonant cluster before -ий; Евгений, Юрий, Василий and the rest take -ьевич.
IEVICH_NAMES = frozenset(
    {
        "Дмитрий",
        "Димитрий",
        "Георгий",
        "Евлампий",
        "Харлампий",
        "Олимпий",
        "Алимпий",
        "Онуфрий",
        "Ануфрий",
        "Ираклий",
        "Клавдий",
        "Аверкий",
    }
)

# Muslim (and a few other non-Slavic) names in -а that keep the vowel: Муса → Мусаевич, not
# Мусич. Names ending in -улла/-ула/-улло (Абдулла, Хабибулла, Файзулло) are caught by suffix.
AEVICH_NAMES = frozenset(
    {
        "Муса",
        "Мусса",
        "Иса",
        "Исса",
        "Айса",
        "Гайса",
        "Гисса",
        "Хамза",
        "Мустафа",
        "Мирза",
        "Муртаза",
        "Риза",
        "Рза",
        "Сафа",
        "Ахметсафа",
        "Вафа",
        "Талха",
        "Джума",
        "Ваха",
        "Бадма",
        "Шота",
        # Tatar names in -ша
        "Ахметша",
        "Мухаметша",
        "Мухамедша",
        "Мухаматша",
        "Мубаракша",
        "Давлетша",
        "Давлятша",
        "Гадельша",
        "Адельша",
        "Хасанша",
        "Тимерша",
        "Зиганша",
        "Жиганша",
        "Джиганша",
    }
)
AEVICH_SUFFIXES = ("улла", "ула", "улло")

# Surnames that look adjectival (-ой, -ий) but are nouns and stay the same for women; each is in
# ru_surnames_top.txt without a female partner.
INVARIANT_SURNAMES = frozenset({"Сысой", "Козодой", "Бокий", "Топчий", "Надточий"})

# A gendered surname ending needs at least this many letters before it; shorter words are
# invariant (Korean Цой, Шин; Рой; Рева, Бова are not female forms of Рев, Бов).
_MIN_STEM = 2

_VOWELS = frozenset("аеёиоуыэюя")
_HUSHING = frozenset("жшчщц")  # unstressed о is written е after these: Францевич
_FEMALE_ENDINGS = ("ова", "ева", "ёва", "ина", "ына", "ская", "цкая", "ая", "яя")

# Male ending → female ending, longest first; the +а endings are handled separately.
_ADJECTIVAL_ENDINGS = (
    ("ский", "ская"),
    ("цкий", "цкая"),
    ("ской", "ская"),
    ("цкой", "цкая"),
    ("ний", "няя"),
    ("ой", "ая"),
    ("ый", "ая"),
)
_PLUS_A_ENDINGS = ("ов", "ев", "ёв", "ин", "ын")
# Outside -ский/-цкий/-ний, -ий is adjectival only after these (Рыжий, Долгий, Осадчий); after
# other letters it is a Ukrainian noun surname that does not change (Палий, Передерий).
_ADJECTIVAL_IY_AFTER = frozenset("гкхжшчщ")


def _check_sex(sex: str) -> None:
    """Reject anything but "m"/"f" so that a typo cannot silently produce a man's form."""
    if sex not in SEX_VALUES:
        raise ValueError(f"sex must be one of {SEX_VALUES}, got {sex!r}")


def _has_stem(word: str, ending: str) -> bool:
    """True if ``word`` ends in ``ending`` with enough letters before it to be a suffix."""
    return word.lower().endswith(ending) and len(word) - len(ending) >= _MIN_STEM


def _patronymic_stem(father: str) -> tuple[str, str]:
    """Split the derivation into (stem, kind) with kind "ov", "ev" or "ich".

    One place decides the stem so that the masculine and feminine forms always agree.
    """
    low = father.lower()
    last = low[-1]
    if low.endswith("ий"):
        if father in IEVICH_NAMES:
            return father[:-1], "ev"  # Дмитрий → Дмитри-евич
        return father[:-2] + "ь", "ev"  # Василий → Василь-евич
    if last in "йь":
        return father[:-1], "ev"  # Сергей → Серге-евич, Николай → Никола-евич, Игорь
    if last in "ая":
        if father in AEVICH_NAMES or low.endswith(AEVICH_SUFFIXES):
            return father, "ev"  # Муса → Муса-евич, Абдулла → Абдулла-евич
        if last == "я" and len(low) > 1 and (low[-2] in _VOWELS or low[-2] == "ь"):
            return father, "ev"  # Яхья → Яхья-евич, Зия → Зия-евич
        return father[:-1], "ich"  # Никита → Никит-ич, Савва → Савв-ич
    if last == "о":
        if low.endswith(AEVICH_SUFFIXES):
            return father, "ev"  # Файзулло → Файзулло-евич
        stem = father[:-1]  # Отто → Отт-ович, Марко → Марк-ович, Михайло → Михайл-ович
        return stem, "ev" if stem[-1:].lower() in _HUSHING else "ov"
    if last in _VOWELS:
        return father, "ev"  # Али → Али-евич, Абу → Абу-евич
    return father, "ev" if last in _HUSHING else "ov"  # Иван → Иван-ович, Франц → Франц-евич


_PATRONYMIC_SUFFIXES = {
    "ov": ("ович", "овна"),
    "ev": ("евич", "евна"),
    "ich": ("ич", "ична"),
}


def patronymic(father: str, sex: str) -> str:
    """The patronymic from a father's first name: ``("Иван", "f")`` → ``"Ивановна"``.

    The shared data ship no patronymics, so they are built by the suffix rules (consonant →
    -ович; -й/-ь → -евич; -ий → -ьевич; -а/-я → -ич) plus the tables at the top of this module
    for the names those rules get wrong. ``father`` is a male name in title case; a hyphenated
    name (Лом-Али) is treated as one word. The result is not checked against a dictionary: rare
    non-Slavic names get a plausible form, which their bearers may not use.
    """
    _check_sex(sex)
    father = father.strip()
    if not father:
        raise ValueError("father's name is empty")
    if father in PATRONYMIC_EXCEPTIONS:
        male, female = PATRONYMIC_EXCEPTIONS[father]
        return male if sex == "m" else female
    stem, kind = _patronymic_stem(father)
    male_suffix, female_suffix = _PATRONYMIC_SUFFIXES[kind]
    return stem + (male_suffix if sex == "m" else female_suffix)


def _female_surname_part(part: str) -> str:
    """The woman's form of one part of a surname (no hyphens); unchanged if invariant."""
    if part in INVARIANT_SURNAMES:
        return part
    low = part.lower()
    for ending in _PLUS_A_ENDINGS:
        if _has_stem(part, ending):
            return part + "а"  # Иванов → Иванова, Пушкин → Пушкина
    for male, female in _ADJECTIVAL_ENDINGS:
        if _has_stem(part, male):
            return part[: -len(male)] + female
    if _has_stem(part, "ий") and low[-3] in _ADJECTIVAL_IY_AFTER:
        return part[:-2] + "ая"  # Рыжий → Рыжая, Осадчий → Осадчая
    return part  # Коваленко, Станкевич, Шевчук, Черных, Мороз, Палий


def surname_for(surname: str, sex: str) -> str:
    """The form of a male or invariant surname for ``sex``: ``("Иванов", "f")`` → ``"Иванова"``.

    Only the gendered Russian endings change (-ов/-ев/-ёв/-ин/-ын → +а; -ский/-цкий/-ской/-цкой
    → -ская/-цкая; -ой/-ый and -ий after г/к/х/ж/ш/ч/щ → -ая; -ний → -няя). Everything else,
    including the many Ukrainian and Belarusian surnames in the shared list (-енко, -ич, -ук,
    -их/-ых, consonant and vowel endings), is the same for women. An ending counts only with at
    least two letters before it, so short surnames such as Цой or Шин stay as they are. Each
    part of a double surname agrees on its own (Римский-Корсаков → Римская-Корсакова). A
    surname already in a female form is returned unchanged, so pass male or invariant forms
    (see :func:`male_base_surnames`).
    """
    _check_sex(sex)
    if sex == "m":
        return surname
    return "-".join(_female_surname_part(part) for part in surname.split("-"))


def is_female_form(surname: str) -> bool:
    """True if ``surname`` looks like a woman's form (-ова/-ева/-ёва/-ина/-ына/-ая/-яя).

    Decided by ending alone, with at least two letters before it (so Рева and Бова are not
    female forms). Invariant surnames that happen to end like a female form (Тычина, Скорина)
    are reported as female: the list gives no way to tell them apart.
    """
    return any(_has_stem(surname, ending) for ending in _FEMALE_ENDINGS)


def male_base_surnames(surnames: Iterable[str]) -> list[str]:
    """The male and invariant forms from a mixed list, in their first order, without repeats.

    Every female-looking form is dropped, whether or not its male partner is in the list,
    because :func:`surname_for` derives female forms from these and a woman's surname must
    never be given to a man. The cost: the few real invariant surnames ending in -ина/-ына
    and the like (Тычина, Скорина) are dropped rather than wrongly masculinised to Тычин.
    Blank entries are skipped and surrounding whitespace is stripped.
    """
    seen: set[str] = set()
    kept: list[str] = []
    for raw in surnames:
        surname = raw.strip()
        if not surname or surname in seen or is_female_form(surname):
            continue
        seen.add(surname)
        kept.append(surname)
    return kept


def full_name(first: str, father: str, surname: str, sex: str) -> str:
    """ "Имя Отчество Фамилия" with agreement: ``("Анна", "Павел", "Иванов", "f")`` →
    ``"Анна Павловна Иванова"``.

    ``father`` is the father's first name and ``surname`` the male or invariant form; the
    caller picks a ``first`` name of the matching sex.
    """
    return f"{first} {patronymic(father, sex)} {surname_for(surname, sex)}"
