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
            "• /phrase homer Mmm: three lines in a voice (Simpsons or Tolstoy)\n"
            "• /style: English, Russian or fantasy names\n"
            "• /temp: how wild the names are (0.1–2.0)\n"
            "• send me any message or review and I'll tell you its mood\n\n"
            "Current style: {style}, temperature {temperature}. /help lists everything."
        ),
        "help": (
            "<b>Namecraft</b> invents names with character-level RNNs.\n\n"
            "/name <i>prefix</i>: names that start with the prefix (random without one); "
            "Mary Ann, Anne-Ma, O'Br and Zoë work too. Buttons under the answer switch "
            "♀ / ♂ / any, the era (English names, 1880s–2020s) or the race (fantasy), and "
            "remember your choice. Shape: /name Ma..ella (ends with ella), /name ..son 5-7 "
            "(5 to 7 letters), /name Jo 4 (exactly 4)\n"
            "/fullname <i>prefix</i>: first name and surname (Russian: with a patronymic, "
            "agreeing with the sex)\n"
            "/phrase [<i>voice</i>] [<i>start</i>]: three lines in a voice: moe, homer, lenny, "
            "barney, carl, marge, simpsons (anyone at Moe's) or tolstoy (Russian, Anna "
            "Karenina); /phrase homer Mmm, /phrase tolstoy Анна; without a voice, a random "
            "one. ⭐ saves a line, 🔄 writes three more, the buttons below switch voices\n"
            "/style [en|ru|fantasy]: the name style\n"
            "/temp [0.1–2.0]: sampling temperature; low = classic, high = wild\n"
            "/review <i>text</i>: is it positive, neutral or negative, how sure am I, and which "
            "words decided it? Works on one-line messages and on long reviews, in English and "
            "Russian (in a private chat just send the text; in groups reply /review to a "
            "message). I can't read other languages, pictures or voice, and sarcasm often "
            "fools me.\n"
            "/favorites: your saved names and phrases (press ⭐ under a /name or /phrase "
            "answer to save one)\n"
            "/export: your favourites as .txt and .csv files\n"
            "/game: real or invented? guess in a group (or alone); a round ends by itself, "
            "/reveal ends it early (whoever started it or a chat admin), "
            "/top shows the scores\n"
            "Inline mode: in any chat type my @username and a prefix (Ser) to share a name; "
            "start with f: or m: for women's or men's names (f:Ma); a voice and a space "
            "first gives phrases instead (homer Mmm)\n"
            "/language [en|ru]: interface language\n"
            "/about: the models behind the bot and their terms\n"
            "/help: this message\n\n"
            "✨ marks a newly invented name, 📖 a name that exists in the training data."
        ),
        "about": (
            "<b>How Namecraft works</b>\n\n"
            "Names: character-level GRU networks trained here on real names.\n\n"
            "Mood: two small recurrent networks per language, trained here. Short messages "
            "are read by one trained on tweets (English) or VK posts (Russian); reviews and "
            "other long texts by one trained on film reviews (IMDB, Kinopoisk). Confidence is "
            "calibrated on held-out data: “70% sure” is right about 70% of the time.\n"
            "Models: {models}\n\n"
            "The mood models learned from research datasets (TweetEval, RuSentiment, IMDB, "
            "Kinopoisk reviews), so they are for non-commercial use. Your messages are not "
            "stored."
        ),
        "names_header": "Names starting with “{prefix}” · {style} · temperature {temperature}",
        "names_header_random": "Random names · {style} · temperature {temperature}",
        "fullnames_header": (
            "Full names, first name starting with “{prefix}” · {style} · temperature {temperature}"
        ),
        "fullnames_header_random": "Full names · {style} · temperature {temperature}",
        "fullnames_legend": "✨ after a part: invented; parts without it are real names.",
        "name_no_full": "The {style} style has no surnames yet: try /name.",
        "btn_full": "👤 Full names",
        "btn_single": "👤 First names only",
        "control_saved": "Saved: {value}. /name and /game follow it now.",
        "shape_ends": "ending in “{ending}”",
        "shape_letters_one": "{value} letter",
        "shape_letters_other": "{value} letters",
        "shape_range": "{low}–{high} letters",
        "name_bad_shape": (
            "Those lengths contradict each other. Examples: /name Ma 5-8 (5 to 8 letters), "
            "/name ..son (ending in son), /name Ma..ella."
        ),
        "names_short_one": "Only {found} distinct name came out; try a higher /temp.",
        "names_short_other": "Only {found} distinct names came out; try a higher /temp.",
        "names_none": (
            "I couldn't invent a name from “{prefix}”. Try a shorter prefix or a higher /temp."
        ),
        "name_too_long": "That prefix is too long: names here have at most {limit} letters.",
        "name_bad_chars": "The {style} style can't write these characters: {chars}.",
        "name_bad_chars_some": "The {style} style can't write some of those characters.",
        "name_try_style": "It looks like {suggested} names: switch with /style {code}.",
        "name_letters_only": "Use letters only, like /name Ser.",
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
        "settings_yours_only": "That changed your own setting only; this menu is someone else's.",
        "review_verdict": "{emoji} <b>{label}</b> · {confidence}% sure",
        "review_verdict_unsure": "🤔 Not sure: <b>{label}</b>, perhaps ({confidence}%)",
        "review_could_be": "It could just as well be {other}.",
        "review_why": "Why: {words}",
        "review_no_strong_words": "No word here pulls strongly either way.",
        "review_nothing": (
            "🤷 Nothing here I can judge: I don't recognise any words in it. "
            "Write a few words, e.g. “loved it” or “what a boring day”."
        ),
        "label_pos": "Positive",
        "label_neu": "Neutral",
        "label_neg": "Negative",
        "review_truncated_one": (
            "The review is long ({tokens} token): I read its beginning and its end."
        ),
        "review_truncated_other": (
            "The review is long ({tokens} tokens): I read its beginning and its end."
        ),
        "review_usage": (
            "Send /review followed by a review, or reply /review to a message. "
            "In a private chat just send me the text."
        ),
        "review_empty": "Send me something to read: one line or a whole review, about anything.",
        "review_no_letters": (
            "I read reviews in English and Russian, and I see no words here. "
            "Send a few words, like “a lovely film”."
        ),
        "review_unavailable": "Reading reviews in this language isn't available right now.",
        "non_text": ("I read text: send a review to hear its mood, or /name Ser for names. /help"),
        "button_stale": "This button is out of date. Send the command again.",
        "btn_more": "🔄 More",
        "fav_saved": "⭐ Saved {name} to your /favorites.",
        "fav_already": "{name} is already in your favourites.",
        "fav_invalid": (
            "This button is out of date or not from this chat. Send /name or /phrase again."
        ),
        "fav_empty": (
            "You have no favourite names yet. Send /name and press ⭐ next to a name you like."
        ),
        "fav_header": "⭐ <b>Your favourites</b> ({total}) · page {page} of {pages}",
        "fav_line": "{number}. {name} · {style}",
        "fav_line_prefix": "{number}. {name} · {style} · “{prefix}”",
        "fav_hint": "🗑 removes a name; /export sends the list as files.",
        "fav_removed": "Removed {name}. ↩ Undo brings it back.",
        "fav_removed_notice": "🗑 Removed <b>{name}</b> · ↩ Undo ({seconds} s)",
        "btn_undo": "↩ Undo: {name}",
        "fav_restored": "↩ {name} is back in your favourites.",
        "fav_undo_late": (
            "Too late to undo: that name is gone. Save it again with ⭐ under a /name answer."
        ),
        "fav_not_yours": "That isn't in your list. Send /favorites to see your own.",
        "fav_chat_sender": (
            "You are writing on behalf of a chat (as an anonymous admin or as a channel), so I "
            "can't tell whose favourites these would be. The ⭐ you press are saved to your own "
            "account: send /favorites or /export to me in a private chat."
        ),
        "fav_export_empty": (
            "Nothing to export yet: press ⭐ next to a name in a /name answer to save it."
        ),
        "fav_export_txt": "Your favourites ({count}), one per line.",
        "fav_export_csv": (
            "The same list as a table (CSV: name, style, prefix, saved_at, kind, voice)."
        ),
        "inline_bad_button": "Can't invent names from that · tap to see why",
        "inline_help": (
            "In any chat, type my @username and the first letters of a name, like Ser "
            "(f:Ma or m:Jo for women's or men's names), then tap a name to send it."
        ),
        "inline_none_title": "No names came out",
        "inline_real": "📖 real name · {style}",
        "inline_new": "✨ new name · {style}",
        "game_round": (
            "🎲 <b>Real or invented?</b>\n\n<b>{name}</b>\n\n"
            "Is this a real {style} name or did my network make it up? "
            "Voting ends in {seconds} s; you can change your vote until then."
        ),
        "btn_real": "📖 Real",
        "btn_fake": "✨ Invented",
        "game_round_reveal_group": (
            "Only the player who started the round or a chat admin can end it early: /reveal."
        ),
        "game_round_reveal_private": "/reveal ends it now.",
        "game_already_open": (
            "A round is already running: vote on the message above. It ends in {seconds} s."
        ),
        "game_reveal_not_allowed": (
            "Only the player who started this round or a chat admin can end it early. "
            "It ends by itself in {seconds} s: keep voting!"
        ),
        "game_closed": "🎲 <b>{name}</b>: voting is closed; the answer is in the reply below.",
        "game_voted_real": "Your vote: real. You can change it until the reveal.",
        "game_voted_fake": "Your vote: invented. You can change it until the reveal.",
        "game_over": "This round is over. Start a new one with /game.",
        "game_no_round": "No round is running. Start one with /game.",
        "game_answer_real": "🎲 <b>{name}</b> is a <b>real</b> name from my training data.",
        "game_answer_fake": "🎲 <b>{name}</b> was <b>invented</b> by my network.",
        "game_right": "✅ Right (+1): {players}",
        "game_wrong": "❌ Wrong: {players}",
        "game_no_votes": "Nobody voted this time.",
        "game_next": "/game for another round, /top for the scores.",
        "top_header": "🏆 <b>Top players in this chat</b>",
        "top_line": "{place}. {player} · points: {points} · rounds: {rounds}",
        "top_empty": "No scores here yet. Start a round with /game.",
        "cmd_favorites": "Your saved names",
        "cmd_export": "Export favourites as files",
        "cmd_game": "Game: real or invented name?",
        "cmd_reveal": "End the game round now",
        "cmd_top": "Game leaderboard",
        "unknown_command": "I don't know that command. /help lists what I can do.",
        "error": "Sorry, something went wrong on my side. Please try again.",
        "busy": "I'm swamped right now 🐢 Please try again in a few seconds.",
        "throttled_one": (
            "That's a lot of requests in a row 🙂 Please try again in {seconds} second."
        ),
        "throttled_other": (
            "That's a lot of requests in a row 🙂 Please try again in {seconds} seconds."
        ),
        "inline_throttled_one": "Too fast · try again in {seconds} second",
        "inline_throttled_other": "Too fast · try again in {seconds} seconds",
        "throttled_help": (
            "To keep up with everyone, I answer each person's first few requests at once and "
            "then about one a second. Wait a moment and type your query again."
        ),
        "bot_description": (
            "I invent names with small neural networks (English, Russian, fantasy): /name Ser. "
            "Send me a review and I'll tell you its mood. Save names with ⭐, play /game in groups."
        ),
        "bot_short_description": "Invents names and reads the mood of reviews. Try /name Ser",
        "cmd_start": "Welcome and quick tour",
        "cmd_help": "All commands",
        "cmd_name": "Invent names: /name Ser",
        "cmd_fullname": "Full names with surnames: /fullname Ma",
        "cmd_style": "Choose the name style",
        "cmd_temp": "See or set the temperature",
        "cmd_language": "Interface language",
        "cmd_review": "Mood of a message: /review text",
        "cmd_phrase": "Lines in a voice: /phrase homer Mmm",
        "phrase_header": "💬 <b>{voice}</b> · “{start}” · temperature {temperature}",
        "phrase_header_random": "💬 <b>{voice}</b> · temperature {temperature}",
        "phrase_none": "No line came out for “{start}” this time. Try 🔄 or another start.",
        "phrase_short": "(the filter dropped some lines)",
        "phrase_unknown_voice": (
            "I don't know the voice “{voice}”. Voices: {voices}. "
            "Example: /phrase homer Mmm, /phrase tolstoy Анна."
        ),
        "phrase_too_long": "That start is too long: at most {limit} characters, please.",
        "phrase_bad_chars": "The {voice} voice can't write these characters: {chars}",
        "phrase_bad_chars_some": "The {voice} voice can't write some of these characters.",
        "phrase_try_voice": "Try another voice: /phrase {code} …",
        "phrase_unavailable": "Phrases aren't available right now (no phrase model loaded).",
        "phrase_switched": "Voice: {voice}",
        "fav_saved_phrase": "⭐ Saved “{name}” to your /favorites.",
        "fav_already_phrase": "“{name}” is already in your favourites.",
        "fav_line_phrase": "{number}. 💬 {name} · <i>{voice}</i>",
        "fav_removed_phrase": "Removed “{name}”. ↩ Undo brings it back.",
        "fav_removed_notice_phrase": "🗑 Removed 💬 <b>{name}</b> · ↩ Undo ({seconds} s)",
        "fav_restored_phrase": "↩ “{name}” is back in your favourites.",
        "inline_phrase_bad_button": "Can't write a phrase from that · tap to see why",
        "inline_phrase": "💬 {voice}",
        "inline_phrase_none_title": "No line came out",
        "inline_phrase_help": (
            "For phrases in inline mode, type my @username, a voice and a space, then the "
            "start of the line: homer Mmm. Voices: {voices}. The start may be up to 100 "
            "characters, in letters the voice can write: Latin for the Simpsons voices, "
            "Russian (or Latin) for tolstoy. /phrase does the same here."
        ),
        "cmd_about": "The models behind the bot",
    },
    "ru": {
        "start": (
            "Привет, {name}! Я Namecraft: придумываю имена небольшими нейросетями, "
            "обученными на настоящих именах.\n\n"
            "• /name Сер: восемь имён на «Сер»\n"
            "• /name: восемь случайных имён\n"
            "• /phrase толстой Анна: три реплики голосом (Толстой или «Симпсоны»)\n"
            "• /style: русские, английские или фэнтези-имена\n"
            "• /temp: насколько смелые имена (0.1–2.0)\n"
            "• пришлите любое сообщение или отзыв, и я скажу, какое у него настроение\n\n"
            "Сейчас стиль «{style}», температура {temperature}. Все команды: /help."
        ),
        "help": (
            "<b>Namecraft</b> придумывает имена посимвольными RNN.\n\n"
            "/name <i>начало</i>: имена с этим началом (без него случайные); можно и "
            "«Анна-Ма», и «Mary Ann». Кнопки под ответом переключают ♀ / ♂ / любые, эпоху "
            "(английские имена, 1880-е–2020-е) или расу (фэнтези) и запоминают выбор. Форма: "
            "/name Ма..ша (кончается на «ша»), /name ..ов 5-7 (от 5 до 7 букв), /name Ан 4 "
            "(ровно 4)\n"
            "/fullname <i>начало</i>: имя и фамилия (для русских имён ещё и отчество, "
            "согласованное по полу)\n"
            "/phrase [<i>голос</i>] [<i>начало</i>]: три реплики голосом: moe (мо), homer "
            "(гомер), lenny, barney, carl, marge, simpsons (кто угодно в баре Мо) или tolstoy "
            "(толстой, «Анна Каренина»); /phrase homer Mmm, /phrase толстой Анна; без голоса "
            "случайный. ⭐ сохраняет реплику, 🔄 пишет ещё три, кнопки ниже меняют голос\n"
            "/style [en|ru|fantasy]: стиль имён\n"
            "/temp [0.1–2.0]: температура; низкая = привычные, высокая = смелые\n"
            "/review <i>текст</i>: положительный он, нейтральный или отрицательный, насколько я "
            "уверен и какие слова это решили. Читаю и короткие сообщения, и длинные отзывы, "
            "на русском и английском (в личном чате просто пришлите текст; в группе ответьте "
            "/review на сообщение). Другие языки, картинки и голос не читаю, а сарказм "
            "меня часто обманывает.\n"
            "/favorites: сохранённые имена и фразы (⭐ под ответом /name или /phrase "
            "сохраняет их)\n"
            "/export: избранное файлами .txt и .csv\n"
            "/game: настоящее или придуманное? угадывайте в группе (или в одиночку); "
            "раунд заканчивается сам, /reveal завершает его досрочно (тот, кто начал, или "
            "админ чата), /top показывает очки\n"
            "Инлайн-режим: в любом чате наберите мой @username и начало (Сер), "
            "чтобы поделиться именем; ж: или м: в начале дают женские или мужские имена "
            "(ж:Ан); голос и пробел в начале дают фразы вместо имён (толстой Анна)\n"
            "/language [en|ru]: язык интерфейса\n"
            "/about: какие модели внутри и на каких условиях\n"
            "/help: эта справка\n\n"
            "✨ новое придуманное имя, 📖 имя есть в обучающих данных."
        ),
        "about": (
            "<b>Как устроен Namecraft</b>\n\n"
            "Имена: посимвольные GRU-сети, обученные здесь на настоящих именах.\n\n"
            "Настроение: по две небольшие рекуррентные сети на язык, обученные здесь. Короткие "
            "сообщения читает сеть, обученная на твитах (английский) и постах ВКонтакте "
            "(русский), отзывы и другие длинные тексты — сеть, обученная на отзывах о "
            "фильмах (IMDB, Кинопоиск). Уверенность откалибрована на отложенных данных: «70%» "
            "означает, что я прав примерно в 70% таких случаев.\n"
            "Модели: {models}\n\n"
            "Модели настроения учились на исследовательских наборах данных (TweetEval, "
            "RuSentiment, IMDB, отзывы Кинопоиска), поэтому только для некоммерческого "
            "использования. Ваши сообщения не сохраняются."
        ),
        "names_header": "Имена на «{prefix}» · {style} · температура {temperature}",
        "names_header_random": "Случайные имена · {style} · температура {temperature}",
        "fullnames_header": (
            "Полные имена, имя на «{prefix}» · {style} · температура {temperature}"
        ),
        "fullnames_header_random": "Полные имена · {style} · температура {temperature}",
        "fullnames_legend": "✨ после части: придумана; части без неё — настоящие имена.",
        "name_no_full": "В стиле «{style}» пока нет фамилий: попробуйте /name.",
        "btn_full": "👤 Полные имена",
        "btn_single": "👤 Только имена",
        "control_saved": "Сохранено: {value}. /name и /game теперь учитывают это.",
        "shape_ends": "на «{ending}»",
        "shape_letters_one": "{value} буква",
        "shape_letters_few": "{value} буквы",
        "shape_letters_many": "{value} букв",
        "shape_range": "{low}–{high} букв",
        "name_bad_shape": (
            "Такие длины противоречат друг другу. Примеры: /name Ма 5-8 (от 5 до 8 букв), "
            "/name ..ова (имена на «ова»), /name Ма..ша."
        ),
        "names_short_one": "Получилось только {found} имя; попробуйте /temp повыше.",
        "names_short_few": "Получилось только {found} разных имени; попробуйте /temp повыше.",
        "names_short_many": "Получилось только {found} разных имён; попробуйте /temp повыше.",
        "names_none": (
            "Не получилось придумать имя на «{prefix}». "
            "Попробуйте начало покороче или /temp повыше."
        ),
        "name_too_long": "Слишком длинное начало: здесь имена не длиннее {limit} букв.",
        "name_bad_chars": "Стиль «{style}» не знает этих символов: {chars}.",
        "name_bad_chars_some": "Стиль «{style}» не знает некоторых из этих символов.",
        "name_try_style": "Похоже на стиль «{suggested}»: переключитесь командой /style {code}.",
        "name_letters_only": "Используйте только буквы, например /name Сер.",
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
        "settings_yours_only": "Изменилась только ваша настройка: это меню не ваше.",
        "review_verdict": "{emoji} <b>{label}</b> · уверенность {confidence}%",
        "review_verdict_unsure": "🤔 Не уверен, но скорее: <b>{label}</b> ({confidence}%)",
        "review_could_be": "С тем же успехом может быть и {other}.",
        "review_why": "Почему: {words}",
        "review_no_strong_words": "Здесь нет слов, которые сильно тянут в одну сторону.",
        "review_nothing": (
            "🤷 Тут мне нечего оценить: я не узнаю здесь ни одного слова. "
            "Напишите хоть пару слов, например «очень понравилось» или «скучный день»."
        ),
        "label_pos": "Положительный",
        "label_neu": "Нейтральный",
        "label_neg": "Отрицательный",
        "review_truncated_one": "Отзыв длинный ({tokens} токен): я прочитал начало и конец.",
        "review_truncated_few": "Отзыв длинный ({tokens} токена): я прочитал начало и конец.",
        "review_truncated_many": "Отзыв длинный ({tokens} токенов): я прочитал начало и конец.",
        "review_usage": (
            "Отправьте /review и текст отзыва или ответьте /review на сообщение. "
            "В личном чате просто пришлите текст."
        ),
        "review_empty": "Пришлите, что прочитать: одну строку или целый отзыв, о чём угодно.",
        "review_no_letters": (
            "Я читаю отзывы на русском и английском, а здесь не вижу слов. "
            "Напишите хотя бы пару слов, например «отличный фильм»."
        ),
        "review_unavailable": "Отзывы на этом языке сейчас не читаю.",
        "non_text": (
            "Я читаю текст: пришлите отзыв, и я скажу его настроение, или /name Сер для имён. /help"
        ),
        "button_stale": "Эта кнопка устарела. Отправьте команду ещё раз.",
        "btn_more": "🔄 Ещё",
        "fav_saved": "⭐ Имя {name} сохранено в /favorites.",
        "fav_already": "{name} уже есть в избранном.",
        "fav_invalid": (
            "Эта кнопка устарела или не из этого чата. Отправьте /name или /phrase ещё раз."
        ),
        "fav_empty": (
            "В избранном пока пусто. Отправьте /name и нажмите ⭐ рядом с понравившимся именем."
        ),
        "fav_header": "⭐ <b>Избранное</b> ({total}) · страница {page} из {pages}",
        "fav_line": "{number}. {name} · {style}",
        "fav_line_prefix": "{number}. {name} · {style} · «{prefix}»",
        "fav_hint": "🗑 удаляет имя; /export присылает список файлами.",
        "fav_removed": "Имя {name} удалено. ↩ Вернуть его ещё можно.",
        "fav_removed_notice": "🗑 Имя <b>{name}</b> удалено · ↩ Вернуть ({seconds} с)",
        "btn_undo": "↩ Вернуть {name}",
        "fav_restored": "↩ Имя {name} снова в избранном.",
        "fav_undo_late": (
            "Вернуть уже нельзя: имя удалено. Сохраните его снова ⭐ под ответом на /name."
        ),
        "fav_not_yours": "Этого нет в вашем списке. Ваш список: /favorites.",
        "fav_chat_sender": (
            "Вы пишете от имени чата (анонимным админом или каналом), и я не знаю, чьё это "
            "избранное. Имена, отмеченные ⭐, сохраняются в ваш личный список: отправьте "
            "/favorites или /export мне в личном чате."
        ),
        "fav_export_empty": (
            "Пока нечего выгружать: нажмите ⭐ рядом с именем в ответе на /name, чтобы сохранить."
        ),
        "fav_export_txt": "Избранное ({count}), по одному в строке.",
        "fav_export_csv": (
            "Тот же список таблицей (CSV: name, style, prefix, saved_at, kind, voice)."
        ),
        "inline_bad_button": "Из этого имён не придумать · нажмите, чтобы узнать почему",
        "inline_help": (
            "В любом чате наберите мой @username и первые буквы имени, например Сер "
            "(ж:Ан или м:Ив для женских или мужских имён), и нажмите на имя, чтобы отправить."
        ),
        "inline_none_title": "Имена не получились",
        "inline_real": "📖 настоящее имя · {style}",
        "inline_new": "✨ новое имя · {style}",
        "game_round": (
            "🎲 <b>Настоящее или придуманное?</b>\n\n<b>{name}</b>\n\n"
            "Это настоящее имя (стиль «{style}») или его придумала моя нейросеть? "
            "Голосование закончится через {seconds} с; до тех пор голос можно изменить."
        ),
        "btn_real": "📖 Настоящее",
        "btn_fake": "✨ Придуманное",
        "game_round_reveal_group": (
            "Завершить раунд досрочно может только тот, кто его начал, или админ чата: /reveal."
        ),
        "game_round_reveal_private": "/reveal завершает его сразу.",
        "game_already_open": (
            "Раунд уже идёт: голосуйте в сообщении выше. Он закончится через {seconds} с."
        ),
        "game_reveal_not_allowed": (
            "Завершить раунд досрочно может только тот, кто его начал, или админ чата. "
            "Он закончится сам через {seconds} с — голосуйте!"
        ),
        "game_closed": "🎲 <b>{name}</b>: голосование закрыто, ответ — в сообщении ниже.",
        "game_voted_real": "Ваш голос: настоящее. Его можно изменить до конца раунда.",
        "game_voted_fake": "Ваш голос: придуманное. Его можно изменить до конца раунда.",
        "game_over": "Этот раунд окончен. Новый: /game.",
        "game_no_round": "Сейчас раунда нет. Начните его командой /game.",
        "game_answer_real": "🎲 <b>{name}</b> — <b>настоящее</b> имя из моих обучающих данных.",
        "game_answer_fake": "🎲 <b>{name}</b> <b>придумала</b> моя нейросеть.",
        "game_right": "✅ Угадали (+1): {players}",
        "game_wrong": "❌ Не угадали: {players}",
        "game_no_votes": "В этот раз никто не голосовал.",
        "game_next": "/game — ещё раунд, /top — таблица очков.",
        "top_header": "🏆 <b>Лучшие игроки этого чата</b>",
        "top_line": "{place}. {player} · очки: {points} · раунды: {rounds}",
        "top_empty": "Здесь пока нет очков. Начните раунд командой /game.",
        "cmd_favorites": "Сохранённые имена",
        "cmd_export": "Выгрузить избранное файлами",
        "cmd_game": "Игра: настоящее имя или придуманное?",
        "cmd_reveal": "Завершить раунд игры",
        "cmd_top": "Таблица очков игры",
        "unknown_command": "Не знаю такой команды. Всё, что я умею: /help.",
        "error": "Простите, у меня что-то сломалось. Попробуйте ещё раз.",
        "busy": "Я сейчас завален работой 🐢 Попробуйте ещё раз через несколько секунд.",
        "throttled_one": (
            "Слишком много запросов подряд 🙂 Попробуйте ещё раз через {seconds} секунду."
        ),
        "throttled_few": (
            "Слишком много запросов подряд 🙂 Попробуйте ещё раз через {seconds} секунды."
        ),
        "throttled_many": (
            "Слишком много запросов подряд 🙂 Попробуйте ещё раз через {seconds} секунд."
        ),
        "inline_throttled_one": "Слишком часто · ещё раз через {seconds} секунду",
        "inline_throttled_few": "Слишком часто · ещё раз через {seconds} секунды",
        "inline_throttled_many": "Слишком часто · ещё раз через {seconds} секунд",
        "throttled_help": (
            "Чтобы успевать за всеми, я отвечаю каждому на несколько запросов сразу, а дальше "
            "примерно на один в секунду. Подождите немного и наберите запрос снова."
        ),
        "bot_description": (
            "Придумываю имена небольшими нейросетями (русские, английские, фэнтези): /name Сер. "
            "Пришлите отзыв, и я скажу его настроение. Сохраняйте имена ⭐, играйте в /game."
        ),
        "bot_short_description": "Придумываю имена и читаю настроение отзывов. /name Сер",
        "cmd_start": "Приветствие и краткий тур",
        "cmd_help": "Все команды",
        "cmd_name": "Придумать имена: /name Сер",
        "cmd_fullname": "Имя, отчество и фамилия: /fullname Ан",
        "cmd_style": "Выбрать стиль имён",
        "cmd_temp": "Посмотреть или задать температуру",
        "cmd_language": "Язык интерфейса",
        "cmd_review": "Настроение сообщения: /review текст",
        "cmd_phrase": "Реплики голосом: /phrase толстой Анна",
        "phrase_header": "💬 <b>{voice}</b> · «{start}» · температура {temperature}",
        "phrase_header_random": "💬 <b>{voice}</b> · температура {temperature}",
        "phrase_none": "На «{start}» в этот раз ничего не вышло. Нажмите 🔄 или начните иначе.",
        "phrase_short": "(фильтр убрал часть реплик)",
        "phrase_unknown_voice": (
            "Я не знаю голоса «{voice}». Голоса: {voices}. "
            "Например: /phrase толстой Анна, /phrase homer Mmm."
        ),
        "phrase_too_long": "Слишком длинное начало: не больше {limit} символов.",
        "phrase_bad_chars": "Голос {voice} не умеет писать такие символы: {chars}",
        "phrase_bad_chars_some": "Голос {voice} не умеет писать некоторые из этих символов.",
        "phrase_try_voice": "Попробуйте другой голос: /phrase {code} …",
        "phrase_unavailable": "Фразы сейчас недоступны (модель фраз не загружена).",
        "phrase_switched": "Голос: {voice}",
        "fav_saved_phrase": "⭐ Фраза «{name}» сохранена в /favorites.",
        "fav_already_phrase": "Фраза «{name}» уже есть в избранном.",
        "fav_line_phrase": "{number}. 💬 {name} · <i>{voice}</i>",
        "fav_removed_phrase": "Фраза «{name}» удалена. ↩ Вернуть её ещё можно.",
        "fav_removed_notice_phrase": "🗑 Фраза 💬 <b>{name}</b> удалена · ↩ Вернуть ({seconds} с)",
        "fav_restored_phrase": "↩ Фраза «{name}» снова в избранном.",
        "inline_phrase_bad_button": "Из этого фразы не написать · нажмите, чтобы узнать почему",
        "inline_phrase": "💬 {voice}",
        "inline_phrase_none_title": "Реплики не получились",
        "inline_phrase_help": (
            "Чтобы получить фразы в инлайн-режиме, наберите мой @username, голос и пробел, "
            "затем начало реплики: толстой Анна. Голоса: {voices}. Начало до 100 символов, "
            "буквами, которые голос умеет писать: латиницей для голосов «Симпсонов», "
            "кириллицей (или латиницей) для tolstoy. Здесь то же делает /phrase."
        ),
        "cmd_about": "Какие модели внутри",
    },
}

STYLE_TITLES: dict[str, dict[str, str]] = {
    "en": {"en": "English", "ru": "Russian", "fantasy": "Fantasy"},
    "ru": {"en": "английский", "ru": "русский", "fantasy": "фэнтези"},
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


VOICE_TITLES: dict[str, dict[str, str]] = {
    "en": {
        "moe": "Moe",
        "homer": "Homer",
        "lenny": "Lenny",
        "barney": "Barney",
        "carl": "Carl",
        "marge": "Marge",
        "simpsons": "Anyone at Moe's",
        "tolstoy": "Tolstoy",
    },
    "ru": {
        "moe": "Мо",
        "homer": "Гомер",
        "lenny": "Ленни",
        "barney": "Барни",
        "carl": "Карл",
        "marge": "Мардж",
        "simpsons": "Кто угодно у Мо",
        "tolstoy": "Толстой",
    },
}


def voice_title(lang: str, voice: str) -> str:
    """How a /phrase voice reads in a header or on a button: 'Homer', 'Гомер'."""
    return VOICE_TITLES.get(lang, VOICE_TITLES["en"]).get(voice, voice)


CONTROL_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "sex:f": "♀ female",
        "sex:m": "♂ male",
        "sex:any": "⚥ any",
        "era:any": "🕰 any era",
        "race:any": "🧝 any race",
        "race:human": "🧑 Human",
        "race:elf": "🧝 Elf",
        "race:dwarf": "⛏ Dwarf",
        "race:halfling": "🍀 Halfling",
        "race:gnome": "🍄 Gnome",
        "race:orc": "🪓 Orc",
        "race:tiefling": "😈 Tiefling",
        "race:dragonborn": "🐉 Dragonborn",
    },
    "ru": {
        "sex:f": "♀ женские",
        "sex:m": "♂ мужские",
        "sex:any": "⚥ любые",
        "era:any": "🕰 любая эпоха",
        "race:any": "🧝 любая раса",
        "race:human": "🧑 Люди",
        "race:elf": "🧝 Эльфы",
        "race:dwarf": "⛏ Дварфы",
        "race:halfling": "🍀 Полурослики",
        "race:gnome": "🍄 Гномы",
        "race:orc": "🪓 Орки",
        "race:tiefling": "😈 Тифлинги",
        "race:dragonborn": "🐉 Драконорождённые",
    },
}


def control_label(lang: str, name: str, value: str) -> str:
    """How a control value reads on a button or in a header: '♀ female', '🕰 1920s'."""
    labels = CONTROL_LABELS.get(lang, CONTROL_LABELS["en"])
    if f"{name}:{value}" in labels:
        return labels[f"{name}:{value}"]
    if name == "era":
        return f"🕰 {value}-е" if lang == "ru" else f"🕰 {value}s"
    return value


def plural_form(lang: str, n: int) -> str:
    """CLDR plural category: en one/other; ru one/few/many (1 буква, 2 буквы, 5 букв)."""
    if lang == "ru":
        if n % 10 == 1 and n % 100 != 11:
            return "one"
        if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
            return "few"
        return "many"
    return "one" if n == 1 else "other"


def plural(lang: str, key: str, n: int, **values: object) -> str:
    """``t`` for a sentence with a number in it: picks ``<key>_<category>``."""
    return t(lang, f"{key}_{plural_form(lang, n)}", **values)


def format_temperature(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.1f}"
