"""Every user-facing sentence, in English and Russian.

``t(lang, key, **values)`` picks the language (falling back to English) and fills the values.
Keeping all text here makes a third language one dictionary away.
"""

from __future__ import annotations

LANGUAGES = ("en", "ru")

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "start": (
            "Hi, {name}! I'm Namecraft: I invent names with small neural networks "
            "trained on real names.\n\n"
            "• /name Ser: eight names that start with “Ser”\n"
            "• /name: eight random names\n"
            "• /style: English or Russian names\n"
            "• /temp: how wild the names are (0.1–2.0)\n\n"
            "Current style: {style}, temperature {temperature}. /help lists everything."
        ),
        "help": (
            "<b>Namecraft</b> invents names with character-level RNNs.\n\n"
            "/name <i>prefix</i>: names that start with the prefix (random without one)\n"
            "/style [en|ru]: the name style\n"
            "/temp [0.1–2.0]: sampling temperature; low = classic, high = wild\n"
            "/language [en|ru]: interface language\n"
            "/help: this message\n\n"
            "✨ marks a newly invented name, 📖 a name that exists in the training data."
        ),
        "names_header": "Names starting with “{prefix}” · {style} · t={temperature}",
        "names_header_random": "Random names · {style} · t={temperature}",
        "names_short": "Only {found} distinct names came out; try a higher /temp.",
        "names_none": (
            "I couldn't invent a name from “{prefix}”. Try a shorter prefix or a higher /temp."
        ),
        "name_too_long": "That prefix is too long: names here have at most {limit} letters.",
        "name_bad_chars": "The {style} style can't write these characters: {chars}.",
        "name_try_style": "It looks like {suggested} names: switch with /style {code}.",
        "name_letters_only": "Use letters only, like /name Ser.",
        "legend": "✨ new · 📖 real",
        "temp_current": (
            "Your temperature is {temperature}.\n"
            "Low (0.3) gives familiar names, high (1.5) gives wild ones. "
            "Pick one or send /temp 0.8."
        ),
        "temp_set": "Temperature set to {temperature}.",
        "temp_invalid": (
            "“{value}” isn't a temperature I can use. Send a number from 0.1 to 2.0, "
            "for example /temp 0.8 (0,8 works too). Your temperature stays {temperature}."
        ),
        "style_current": "Names are in the {style} style. Choose:",
        "style_set": "Style set to {style}. Try /name.",
        "style_invalid": "I don't know the style “{value}”. Available: {available}.",
        "language_current": "Interface language: English. Choose:",
        "language_set": "Interface language: English.",
        "language_invalid": "Send /language en or /language ru.",
        "button_stale": "This button is out of date. Send the command again.",
        "unknown_command": "I don't know that command. /help lists what I can do.",
        "error": "Sorry, something went wrong on my side. Please try again.",
        "cmd_start": "Welcome and quick tour",
        "cmd_help": "All commands",
        "cmd_name": "Invent names: /name Ser",
        "cmd_style": "Choose the name style",
        "cmd_temp": "See or set the temperature",
        "cmd_language": "Interface language",
    },
    "ru": {
        "start": (
            "Привет, {name}! Я Namecraft: придумываю имена небольшими нейросетями, "
            "обученными на настоящих именах.\n\n"
            "• /name Сер: восемь имён на «Сер»\n"
            "• /name: восемь случайных имён\n"
            "• /style: русские или английские имена\n"
            "• /temp: насколько смелые имена (0.1–2.0)\n\n"
            "Сейчас стиль: {style}, температура {temperature}. Все команды: /help."
        ),
        "help": (
            "<b>Namecraft</b> придумывает имена посимвольными RNN.\n\n"
            "/name <i>начало</i>: имена с этим началом (без него случайные)\n"
            "/style [en|ru]: стиль имён\n"
            "/temp [0.1–2.0]: температура; низкая = привычные, высокая = смелые\n"
            "/language [en|ru]: язык интерфейса\n"
            "/help: эта справка\n\n"
            "✨ новое придуманное имя, 📖 имя есть в обучающих данных."
        ),
        "names_header": "Имена на «{prefix}» · {style} · t={temperature}",
        "names_header_random": "Случайные имена · {style} · t={temperature}",
        "names_short": "Получилось только {found} разных имён; попробуйте /temp повыше.",
        "names_none": (
            "Не получилось придумать имя на «{prefix}». "
            "Попробуйте начало покороче или /temp повыше."
        ),
        "name_too_long": "Слишком длинное начало: здесь имена не длиннее {limit} букв.",
        "name_bad_chars": "Стиль «{style}» не знает этих символов: {chars}.",
        "name_try_style": "Похоже на {suggested} имена: переключитесь командой /style {code}.",
        "name_letters_only": "Используйте только буквы, например /name Сер.",
        "legend": "✨ новое · 📖 настоящее",
        "temp_current": (
            "Ваша температура {temperature}.\n"
            "Низкая (0.3) даёт привычные имена, высокая (1.5) смелые. "
            "Выберите или отправьте /temp 0.8."
        ),
        "temp_set": "Температура теперь {temperature}.",
        "temp_invalid": (
            "«{value}» не подходит. Отправьте число от 0.1 до 2.0, например /temp 0.8 "
            "(можно 0,8). Температура остаётся {temperature}."
        ),
        "style_current": "Сейчас стиль «{style}». Выберите:",
        "style_set": "Стиль теперь «{style}». Попробуйте /name.",
        "style_invalid": "Не знаю стиль «{value}». Есть: {available}.",
        "language_current": "Язык интерфейса: русский. Выберите:",
        "language_set": "Язык интерфейса: русский.",
        "language_invalid": "Отправьте /language ru или /language en.",
        "button_stale": "Эта кнопка устарела. Отправьте команду ещё раз.",
        "unknown_command": "Не знаю такой команды. Всё, что я умею: /help.",
        "error": "Простите, у меня что-то сломалось. Попробуйте ещё раз.",
        "cmd_start": "Приветствие и краткий тур",
        "cmd_help": "Все команды",
        "cmd_name": "Придумать имена: /name Сер",
        "cmd_style": "Выбрать стиль имён",
        "cmd_temp": "Посмотреть или задать температуру",
        "cmd_language": "Язык интерфейса",
    },
}

STYLE_TITLES: dict[str, dict[str, str]] = {
    "en": {"en": "English", "ru": "Russian"},
    "ru": {"en": "английские", "ru": "русские"},
}


def pick_language(stored: str | None, telegram_code: str | None) -> str:
    """The user's chosen language, else Russian for ``ru*`` Telegram clients, else English."""
    if stored in LANGUAGES:
        return stored
    if telegram_code and telegram_code.lower().startswith("ru"):
        return "ru"
    return "en"


def t(lang: str, key: str, **values: object) -> str:
    table = TEXTS.get(lang, TEXTS["en"])
    template = table.get(key) or TEXTS["en"][key]
    return template.format(**values) if values else template


def style_title(lang: str, style: str) -> str:
    return STYLE_TITLES.get(lang, STYLE_TITLES["en"]).get(style, style)


def format_temperature(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.1f}"
