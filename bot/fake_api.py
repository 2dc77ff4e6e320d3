"""A local fake of the Telegram Bot API, good enough to run a real PTB 22 ``Application``.

Telegram is unreachable from where this project is developed and tested, so instead of
mocking PTB we point it (``ApplicationBuilder().base_url(api.base_url)``) at this aiohttp
server. The bot then does real HTTP, real long polling and real JSON (de)serialisation,
which catches the mistakes mocks hide: wrong parameter names, callback data over 64 bytes,
HTML that Telegram would refuse to parse, editing a message to the same content, ...

Tests play the *user* side through synchronous helpers (``send_message``, ``press_button``,
...) that enqueue updates, and read what the bot did from ``calls`` / ``bot_messages``.
Everything runs in one asyncio event loop, so no locking is needed.
"""

from __future__ import annotations

import asyncio
import bisect
import copy
import html
import itertools
import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Self

from aiohttp import web

__all__ = ["FakeBotApi", "TelegramApiError", "UploadedFile", "parse_formatted_text"]

MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200

# Methods whose successful call puts a new message into a chat: what ``wait_for_reply`` watches.
REPLY_METHODS = frozenset({"sendMessage", "sendDocument"})

# Form fields that are plain strings in the Bot API. PTB sends every other value JSON-encoded
# in form data, but strings verbatim, so a text of "123" must not be decoded into an int.
STRING_FIELDS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "query",
        "callback_query_id",
        "inline_query_id",
        "inline_message_id",
        "next_offset",
        "url",
        "language_code",
        "action",
        "description",
        "short_description",
        "name",
        "message_effect_id",
        "business_connection_id",
        "emoji",
        "title",
        "secret_token",
    }
)

# update types Telegram leaves out when allowed_updates is an empty list
NOT_DEFAULT_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

# The inline-keyboard button fields that make a button do something; one is required.
BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "web_app",
    "login_url",
    "callback_game",
    "pay",
    "copy_text",
)

# The placeholder users Telegram puts in ``from`` of messages sent on behalf of a chat
GROUP_ANONYMOUS_BOT_ID = 1087968824  # an anonymous group admin (sender_chat: the group)
CHANNEL_BOT_ID = 136817688  # a channel posting, or a user writing as a channel (sender_chat)

# getChatMember statuses the fake answers (restricted members are not modelled)
MEMBER_STATUSES = frozenset({"creator", "administrator", "member", "left", "kicked"})

COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")
BOT_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")


class TelegramApiError(Exception):
    """An error reply in Telegram's shape: ``{"ok": false, "error_code", "description"}``."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description


def _bad_request(what: str) -> TelegramApiError:
    return TelegramApiError(400, f"Bad Request: {what}")


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request (e.g. the ``document`` of ``sendDocument``)."""

    filename: str
    content: bytes
    mime_type: str | None = None


# --------------------------------------------------------------------------------------------
# Formatted text: Telegram strips the markup server-side and returns plain text + entities.
# Emulating it means tests see what users would see, and broken markup fails like it does live.
# --------------------------------------------------------------------------------------------


def _utf16_len(text: str) -> int:
    """Entity offsets are in UTF-16 code units, so emoji count twice."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode())


def parse_formatted_text(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Return ``(plain_text, entities)`` for ``text`` sent with ``parse_mode``.

    Raises ``TelegramApiError`` ("can't parse entities: ...") for markup Telegram rejects.
    """
    mode = (parse_mode or "").lower()
    if not mode:
        return text, []
    if mode != "html":  # the bot sends HTML only (Defaults in bot.app.build_application)
        raise _bad_request(f"unsupported parse_mode {parse_mode!r}: this fake speaks HTML only")
    plain, entities = _HtmlParser(text).parse()
    entities = [e for e in entities if e["length"] > 0]
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return plain, entities


def _entities_error(what: str) -> TelegramApiError:
    return _bad_request(f"can't parse entities: {what}")


_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_TAG_RE = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)"
    r"((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)\s*>"
)
_HTML_ATTR_RE = re.compile(r"([a-zA-Z-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+)))?")
_HTML_ENTITY_RE = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")


class _HtmlParser:
    """Telegram's HTML dialect: a fixed tag set, strict nesting, ``<`` must be escaped."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.out: list[str] = []
        self.length = 0  # UTF-16 length of the output so far
        self.entities: list[dict[str, Any]] = []
        self.stack: list[tuple[str, int, dict[str, str], int]] = []

    def _emit(self, text: str) -> None:
        self.out.append(text)
        self.length += _utf16_len(text)

    def parse(self) -> tuple[str, list[dict[str, Any]]]:
        src, pos = self.source, 0
        while pos < len(src):
            char = src[pos]
            if char == "<":
                match = _HTML_TAG_RE.match(src, pos)
                if match is None:
                    raise _entities_error(
                        f"Unsupported start tag at byte offset {_byte_offset(src, pos)}"
                        " (escape '<' as &lt;)"
                    )
                self._tag(match, _byte_offset(src, pos))
                pos = match.end()
            elif char == "&":
                match = _HTML_ENTITY_RE.match(src, pos)
                if match is None:
                    self._emit("&")
                    pos += 1
                else:
                    self._emit(html.unescape(match.group(0)))
                    pos = match.end()
            else:
                nxt = min(
                    (i for i in (src.find("<", pos), src.find("&", pos)) if i >= 0),
                    default=len(src),
                )
                self._emit(src[pos:nxt])
                pos = nxt
        if self.stack:
            tag = self.stack[-1][0]
            raise _entities_error(f'Can\'t find end tag corresponding to start tag "{tag}"')
        return "".join(self.out), self.entities

    def _tag(self, match: re.Match[str], byte_offset: int) -> None:
        closing, tag = match.group(1) == "/", match.group(2).lower()
        if tag not in _HTML_TAGS:
            kind = "end" if closing else "start"
            raise _entities_error(f'Unsupported {kind} tag "{tag}" at byte offset {byte_offset}')
        if not closing:
            attrs = {
                m.group(1).lower(): html.unescape(m.group(2) or m.group(3) or m.group(4) or "")
                for m in _HTML_ATTR_RE.finditer(match.group(3))
            }
            if tag == "span" and attrs.get("class") != "tg-spoiler":
                raise _entities_error(f'Unsupported start tag "span" at byte offset {byte_offset}')
            self.stack.append((tag, self.length, attrs, byte_offset))
            return
        if not self.stack or self.stack[-1][0] != tag:
            expected = f'"</{self.stack[-1][0]}>"' if self.stack else "no end tag"
            raise _entities_error(
                f"Unmatched end tag at byte offset {byte_offset}, expected {expected}, "
                f'found "</{tag}>"'
            )
        _, start, attrs, _ = self.stack.pop()
        entity: dict[str, Any] = {
            "type": _HTML_TAGS[tag],
            "offset": start,
            "length": self.length - start,
        }
        if tag == "a":
            entity["url"] = attrs.get("href", "")
        elif tag == "blockquote" and "expandable" in attrs:
            entity["type"] = "expandable_blockquote"
        elif tag == "tg-emoji":
            entity["custom_emoji_id"] = attrs.get("emoji-id", "")
        elif tag == "code" and self.stack and self.stack[-1][0] == "pre":
            # <pre><code class="language-x"> is a single pre entity with a language
            language = attrs.get("class", "").removeprefix("language-")
            if language:
                self.stack[-1][2]["language"] = language
            return
        elif tag == "pre" and attrs.get("language"):
            entity["language"] = attrs["language"]
        self.entities.append(entity)


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


def _as_int(value: Any) -> Any:
    """Telegram accepts ids as numbers or numeric strings; normalise to int where possible."""
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return value


def _decode_form_value(name: str, value: str) -> Any:
    if name in STRING_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _describe_buttons(buttons: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    return [(button.get("text", ""), button.get("callback_data")) for button in buttons]


def _short(value: Any, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class FakeBotApi:
    """In-process fake Telegram Bot API server; see the module docstring for why.

    Bot-side state worth asserting on:

    * ``calls``: every bot call except ``getUpdates`` (which would drown everything else), as
      ``{"method", "params", "time", "ok", "result" | "error"}``; failed calls are included.
    * ``bot_messages(chat_id)``: what the user would see now (edits and deletions applied).
    * ``callback_answers[query_id]`` / ``inline_answers[query_id]``: the decoded answer params.
    * ``documents``: ``{"chat_id", "message_id", "filename", "content", "mime_type",
      "caption", "file_id"}`` per sent document.
    * ``commands[(scope_json, language_code)]``: list of ``{"command", "description"}``; use
      ``get_commands()`` rather than building keys by hand.

    Test-side controls: ``fail(method, ...)`` makes the next call(s) of a method fail like
    Telegram would; ``set_member_status(chat_id, user_id, status)`` is what getChatMember
    answers for a user it has seen (default: ``member``).
    """

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        bot_username: str = "namecraft_test_bot",
        bot_name: str = "Namecraft",
        *,
        port: int = 0,
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        self.bot_name = bot_name
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.base_url = ""
        self._port = port
        self._runner: web.AppRunner | None = None
        self._closing = False

        self.calls: list[dict[str, Any]] = []
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.inline_answers: dict[str, dict[str, Any]] = {}
        self.documents: list[dict[str, Any]] = []
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        self.reply_keyboards: dict[int, dict[str, Any] | None] = {}
        self.chat_actions: list[dict[str, Any]] = []
        self.inline_message_edits: list[dict[str, Any]] = []
        self.profile: dict[str, dict[str, str]] = {}
        self.poll_count = 0
        # setWebhook's decoded params while a webhook is set (then getUpdates answers 409)
        self.webhook: dict[str, Any] | None = None

        self._updates: list[dict[str, Any]] = []
        # Update ids go on counting across runs (from the clock), as Telegram's do for a bot:
        # the bot ignores an id it has handled before (bot/instances.py), and a terminal chat
        # on a kept database would otherwise have every message of its second run ignored.
        self._update_ids = itertools.count(int(time.time() * 1000))
        self.last_update: dict[str, Any] | None = None  # the latest enqueued, for redelivery
        self._query_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._allowed_updates: set[str] | None = None
        self._update_event = asyncio.Event()
        self._call_event = asyncio.Event()
        # per chat: indexes into ``calls`` of its successful replies, and who waits for one
        # (so that hundreds of chats waiting at once do not each rescan every call)
        self._reply_indexes: dict[Any, list[int]] = {}
        self._reply_waiters: dict[Any, list[asyncio.Future[None]]] = {}

        self._chats: dict[int, dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._messages: dict[int, list[dict[str, Any]]] = {}
        self._last_message_id: dict[int, int] = {}
        self._pending_callbacks: dict[str, dict[str, Any]] = {}
        self._pending_inline: dict[str, dict[str, Any]] = {}
        self._files: dict[str, UploadedFile] = {}
        self._faults: list[dict[str, Any]] = []
        self._stalls: list[dict[str, Any]] = []
        self._member_status: dict[tuple[int, int], str] = {}

        self._methods: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "setChatMenuButton": self._set_chat_menu_button,
                "getChatMenuButton": self._get_chat_menu_button,
                "setMyDescription": self._set_profile("description"),
                "setMyShortDescription": self._set_profile("short_description"),
                "setMyName": self._set_profile("name"),
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "editMessageCaption": self._edit_message_caption,
                "answerCallbackQuery": self._answer_callback_query,
                "answerInlineQuery": self._answer_inline_query,
                "sendDocument": self._send_document,
                "sendChatAction": self._send_chat_action,
                "deleteMessage": self._delete_message,
                "getChatMember": self._get_chat_member,
                "close": self._returns_true,
                "logOut": self._returns_true,
            }.items()
        }

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on 127.0.0.1 (a free port unless one was given) and fill in ``base_url``."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # short shutdown_timeout: stop() wakes all long polls, nothing else runs for long
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}/bot"
        self._closing = False

    async def stop(self) -> None:
        """Answer pending long polls with ``[]`` right away, then close the server."""
        self._closing = True
        self._notify_updates()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ---- user side: what tests and the terminal chat do -------------------------------------

    def user(
        self,
        user_id: int = 1001,
        first_name: str = "Ann",
        language_code: str | None = "en",
        username: str | None = None,
    ) -> dict[str, Any]:
        """A Telegram ``User`` dict for a human."""
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username is not None:
            user["username"] = username
        if language_code is not None:
            user["language_code"] = language_code
        return user

    def send_message(
        self,
        text: str,
        *,
        user: dict[str, Any] | None = None,
        chat_id: int | None = None,
        chat_type: str = "private",
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
        sender_chat: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Enqueue a ``message`` update from ``user`` (default: ``self.user()``); returns it.

        Private chats have the user's id; groups need a negative id (default -100 for
        "group", -1001000000001 for "supergroup"). ``/command`` words get bot_command entities.
        ``message_thread_id`` posts in that forum topic (the supergroup becomes a forum).
        ``sender_chat`` (a chat dict, see ``channel``) sends on behalf of a chat, as Telegram
        does it: ``from`` is then the placeholder GroupAnonymousBot when it is the group itself
        (an anonymous admin), else Channel_Bot (a channel, or a user writing as a channel).
        """
        if sender_chat is not None and user is None:
            if chat_type == "private" or chat_id is None:
                raise ValueError("messages on behalf of a chat need a group chat_id")
            placeholder = sender_chat["id"] == chat_id
            user = {
                "id": GROUP_ANONYMOUS_BOT_ID if placeholder else CHANNEL_BOT_ID,
                "is_bot": True,
                "first_name": "Group" if placeholder else "Channel",
                "username": "GroupAnonymousBot" if placeholder else "Channel_Bot",
            }
        user = user or self.user()
        self._users[user["id"]] = user
        if message_thread_id is not None and chat_type != "supergroup":
            raise ValueError("forum topics exist only in supergroups")
        chat = self._chat_for(user, chat_id, chat_type, forum=message_thread_id is not None)
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat["id"]),
            "from": copy.deepcopy(user),
            "chat": copy.deepcopy(chat),
            "date": int(time.time()),
            "text": text,
        }
        if message_thread_id is not None:
            message["message_thread_id"] = message_thread_id
            message["is_topic_message"] = True
        if sender_chat is not None:
            message["sender_chat"] = copy.deepcopy(sender_chat)
        entities = self._command_entities(text)
        if entities:
            message["entities"] = entities
        if reply_to_message_id is not None:
            replied = self._find_message(chat["id"], reply_to_message_id)
            if replied is None:
                raise AssertionError(
                    f"no message {reply_to_message_id} in chat {chat['id']} to reply to"
                )
            message["reply_to_message"] = self._without_reply(replied)
        self._messages.setdefault(chat["id"], []).append(message)
        self._enqueue("message", message)
        return copy.deepcopy(message)

    def edit_message(self, message: dict[str, Any], new_text: str) -> dict[str, Any]:
        """The user edits one of their messages: updates it and enqueues ``edited_message``."""
        stored = self._find_message(message["chat"]["id"], message["message_id"])
        if stored is None or stored.get("from", {}).get("is_bot"):
            raise AssertionError(f"no user message {message['message_id']} to edit")
        stored["text"] = new_text
        stored.pop("entities", None)
        entities = self._command_entities(new_text)
        if entities:
            stored["entities"] = entities
        stored["edit_date"] = int(time.time())
        self._enqueue("edited_message", stored)
        return copy.deepcopy(stored)

    def press_button(
        self,
        message: dict[str, Any],
        callback_data: str,
        *,
        user: dict[str, Any] | None = None,
        forged: bool = False,
    ) -> str:
        """Press an inline button of a bot message; enqueues ``callback_query``, returns its id.

        The button must be on the message *as it is now*, like in a real client, unless
        ``forged``: then any data is sent, as a modified client or a stale button could.
        """
        stored = self._current(message)
        buttons = self._buttons(stored)
        if not forged and callback_data not in [b.get("callback_data") for b in buttons]:
            raise AssertionError(
                f"message {stored['message_id']} has no button with callback_data "
                f"{callback_data!r}; buttons: {_describe_buttons(buttons)}"
            )
        chat = stored["chat"]
        if user is None:
            user = self._users.get(chat["id"]) if chat["type"] == "private" else None
            user = user or self.user()
        query_id = str(next(self._query_ids))
        query = {
            "id": query_id,
            "from": copy.deepcopy(user),
            "message": copy.deepcopy(stored),
            "chat_instance": str(abs(chat["id"]) * 7919),
            "data": callback_data,
        }
        self._pending_callbacks[query_id] = query
        self._enqueue("callback_query", query)
        return query_id

    def press_inline_button(
        self, inline_message_id: str, callback_data: str, *, user: dict[str, Any] | None = None
    ) -> str:
        """Press a button of a message sent through inline mode: the query has no ``message``,
        only ``inline_message_id``, as Telegram sends it. Returns the query id."""
        query_id = str(next(self._query_ids))
        query = {
            "id": query_id,
            "from": copy.deepcopy(user or self.user()),
            "inline_message_id": inline_message_id,
            "chat_instance": "-1",
            "data": callback_data,
        }
        self._pending_callbacks[query_id] = query
        self._enqueue("callback_query", query)
        return query_id

    @staticmethod
    def channel(chat_id: int = -1002000000001, title: str = "Test channel") -> dict[str, Any]:
        """A channel ``Chat`` dict, e.g. for ``send_message(..., sender_chat=api.channel())``."""
        if chat_id >= 0:
            raise ValueError("channel ids are negative")
        return {"id": chat_id, "type": "channel", "title": title}

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """What getChatMember answers for this user in this chat (creator, administrator, ...)."""
        if status not in MEMBER_STATUSES:
            raise ValueError(f"unsupported status {status!r}; one of {sorted(MEMBER_STATUSES)}")
        self._member_status[(chat_id, user_id)] = status

    def fail(
        self,
        method: str,
        description: str = "Bad Request: not enough rights to send text messages to the chat",
        *,
        error_code: int = 400,
        times: int = 1,
        when: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (those ``when(params)`` accepts) fail
        with this Telegram error instead of running; they are recorded as failed calls."""
        self._faults.append(
            {
                "method": method.lower(),
                "error": TelegramApiError(error_code, description),
                "times": times,
                "when": when,
            }
        )

    def stall(
        self,
        method: str,
        seconds: float,
        *,
        times: int = 1,
        when: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` run (and are recorded) but their response
        comes ``seconds`` late: the client times out on a call that did happen."""
        self._stalls.append(
            {"method": method.lower(), "seconds": seconds, "times": times, "when": when}
        )

    def find_button(self, message: dict[str, Any], text_contains: str) -> str:
        """callback_data of the first inline button (current state) whose text contains this."""
        buttons = self._buttons(self._current(message))
        for button in buttons:
            if text_contains in button["text"] and "callback_data" in button:
                return button["callback_data"]
        raise AssertionError(
            f"no button containing {text_contains!r}; buttons: {_describe_buttons(buttons)}"
        )

    def inline_query(
        self, query: str, *, user: dict[str, Any] | None = None, offset: str = ""
    ) -> str:
        """Enqueue an ``inline_query`` (user typed ``@bot query``); returns its id."""
        user = user or self.user()
        query_id = str(next(self._query_ids))
        inline = {
            "id": query_id,
            "from": copy.deepcopy(user),
            "query": query,
            "offset": offset,
            "chat_type": "sender",
        }
        self._pending_inline[query_id] = inline
        self._enqueue("inline_query", inline)
        return query_id

    def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """Messages the bot sent to the chat, as they look now (edits applied, deletions gone)."""
        return [
            copy.deepcopy(m)
            for m in self._messages.get(chat_id, [])
            if m.get("from", {}).get("id") == self.bot_id
        ]

    def iter_messages(self, chat_id: int) -> Iterator[dict[str, Any]]:
        """All messages (user's and bot's) in a chat, oldest first, as copies."""
        for message in self._messages.get(chat_id, []):
            yield copy.deepcopy(message)

    def get_commands(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]]:
        """Commands set for exactly this scope/language (empty list if none)."""
        return copy.deepcopy(self.commands.get(self._commands_key(scope, language_code), []))

    async def wait_fetched(self, *, timeout: float = 10.0) -> None:
        """Wait until the bot has fetched every update enqueued so far and confirmed it (its
        next getUpdates asked for a later offset): PTB has queued each of them by then, so
        ``Application.update_queue.join()`` afterwards waits until all are handled."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._deliverable():
            if loop.time() >= deadline:
                pending = [u["update_id"] for u in self._updates]
                raise TimeoutError(f"updates {pending} not fetched within {timeout}s")
            await asyncio.sleep(0.01)

    def mark(self) -> int:
        """Current number of recorded calls, to pass as ``since`` to the wait helpers."""
        return len(self.calls)

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        *,
        timeout: float = 10.0,
        since: int = 0,
    ) -> dict[str, Any]:
        """Wait for a recorded call (failed ones too) of ``method`` at index >= ``since``.

        Returns the whole call record ``{"method", "params", "ok", "result"/"error", ...}``.
        """

        def matches(call: dict[str, Any]) -> bool:
            return call["method"] == method and (predicate is None or predicate(call["params"]))

        call = await self._wait_for(matches, since, timeout)
        if call is None:
            raise TimeoutError(
                f"no {method} call matching the predicate within {timeout}s; "
                + self.dump_calls(since)
            )
        return call

    async def wait_for_reply(
        self, chat_id: int, *, timeout: float = 10.0, since: int | None = None
    ) -> dict[str, Any]:
        """Params of the next successful sendMessage/sendDocument to ``chat_id``.

        ``since`` defaults to "now", so call ``mark()`` *before* enqueueing the user action
        when the bot may answer faster than this coroutine starts.
        """
        call = await self.wait_for_reply_call(chat_id, timeout=timeout, since=since)
        return call["params"]

    async def wait_for_reply_call(
        self, chat_id: int, *, timeout: float = 10.0, since: int | None = None
    ) -> dict[str, Any]:
        """Like ``wait_for_reply`` but the whole call record (``time`` says when it arrived).

        Replies are indexed per chat, so many chats can wait at once (a load benchmark with
        hundreds of users) without each waiter rescanning every call the bot makes.
        """
        start = self.mark() if since is None else since
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            indexes = self._reply_indexes.get(chat_id, [])
            found = bisect.bisect_left(indexes, start)
            if found < len(indexes):
                return self.calls[indexes[found]]
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"no reply to chat {chat_id} within {timeout}s; " + self.dump_calls(start)
                )
            waiter: asyncio.Future[None] = loop.create_future()
            waiters = self._reply_waiters.setdefault(chat_id, [])
            waiters.append(waiter)
            try:
                with suppress(TimeoutError):
                    await asyncio.wait_for(waiter, remaining)
            finally:
                if waiter in waiters:
                    waiters.remove(waiter)

    def dump_calls(self, since: int = 0) -> str:
        """Readable list of recorded calls, for assertion messages."""
        lines = [f"calls since #{since} ({len(self.calls) - since}):"]
        for index, call in enumerate(self.calls[since:], start=since):
            status = "ok" if call["ok"] else f"ERROR {call['error']}"
            lines.append(f"  #{index} {call['method']} [{status}] {_short(call['params'])}")
        return "\n".join(lines)

    # ---- internals: user-side state ---------------------------------------------------------

    def _chat_for(
        self, user: dict[str, Any], chat_id: int | None, chat_type: str, forum: bool = False
    ) -> dict[str, Any]:
        if chat_type == "private":
            if chat_id is not None and chat_id != user["id"]:
                raise ValueError("a private chat's id is the user's id")
            chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
            if "username" in user:
                chat["username"] = user["username"]
        elif chat_type in ("group", "supergroup"):
            default_id = -100 if chat_type == "group" else -1001000000001
            chat_id = default_id if chat_id is None else chat_id
            if chat_id >= 0:
                raise ValueError("group chat ids are negative")
            chat = {"id": chat_id, "type": chat_type, "title": f"Test {chat_type}"}
            if forum or self._chats.get(chat_id, {}).get("is_forum"):
                chat["is_forum"] = True
        else:
            raise ValueError(f"unsupported chat_type {chat_type!r}")
        self._chats[chat["id"]] = chat
        return chat

    def _command_entities(self, text: str) -> list[dict[str, Any]]:
        return [
            {
                "type": "bot_command",
                "offset": _utf16_len(text[: m.start()]),
                "length": _utf16_len(m.group(0)),
            }
            for m in COMMAND_RE.finditer(text)
        ]

    def _next_message_id(self, chat_id: int) -> int:
        self._last_message_id[chat_id] = self._last_message_id.get(chat_id, 0) + 1
        return self._last_message_id[chat_id]

    def _find_message(self, chat_id: Any, message_id: Any) -> dict[str, Any] | None:
        chat_id, message_id = _as_int(chat_id), _as_int(message_id)
        for message in self._messages.get(chat_id, []):
            if message["message_id"] == message_id:
                return message
        return None

    def _current(self, message: dict[str, Any]) -> dict[str, Any]:
        stored = self._find_message(message["chat"]["id"], message["message_id"])
        if stored is None:
            raise AssertionError(f"message {message['message_id']} no longer exists")
        return stored

    @staticmethod
    def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]

    @staticmethod
    def _without_reply(message: dict[str, Any]) -> dict[str, Any]:
        """Telegram nests replied-to messages one level deep only."""
        flat = copy.deepcopy(message)
        flat.pop("reply_to_message", None)
        return flat

    def _enqueue(self, kind: str, payload: dict[str, Any]) -> None:
        update = {"update_id": next(self._update_ids), kind: copy.deepcopy(payload)}
        self._updates.append(update)
        self.last_update = copy.deepcopy(update)
        self._notify_updates()

    def _notify_updates(self) -> None:
        # swap-and-set wakes every current waiter; later waiters wait on the fresh event
        event, self._update_event = self._update_event, asyncio.Event()
        event.set()

    def _record(self, call: dict[str, Any]) -> None:
        self.calls.append(call)
        event, self._call_event = self._call_event, asyncio.Event()
        event.set()
        if call["ok"] and call["method"] in REPLY_METHODS:
            chat_id = _as_int(call["params"].get("chat_id"))
            self._reply_indexes.setdefault(chat_id, []).append(len(self.calls) - 1)
            for waiter in self._reply_waiters.pop(chat_id, []):
                if not waiter.done():
                    waiter.set_result(None)

    async def _wait_for(
        self, matches: Callable[[dict[str, Any]], bool], since: int, timeout: float
    ) -> dict[str, Any] | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        checked = since
        while True:
            for call in self.calls[checked:]:
                if matches(call):
                    return call
            checked = max(checked, len(self.calls))
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            with suppress(TimeoutError):
                await asyncio.wait_for(self._call_event.wait(), remaining)

    # ---- internals: HTTP ----------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.match_info["tail"]
        token, _, method = path.removeprefix("bot").partition("/")
        if not path.startswith("bot") or not method:
            return self._error_response(TelegramApiError(404, "Not Found"))
        if token != self.token:
            return self._error_response(TelegramApiError(401, "Unauthorized"))
        name, handler = self._methods.get(method.lower(), (method, None))
        params: dict[str, Any] = {}
        try:
            params = await self._read_params(request)
            if handler is None:
                raise TelegramApiError(404, "Not Found: method not found")
            self._raise_injected_fault(name, params)
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
        except TelegramApiError as error:
            if name != "getUpdates":
                self._record(self._call(name, params, ok=False, error=error.description))
            return self._error_response(error)
        if name == "getUpdates":
            self.poll_count += 1
        else:
            self._record(self._call(name, params, ok=True, result=copy.deepcopy(result)))
        for stall in self._stalls:
            if stall["method"] == name.lower() and (stall["when"] is None or stall["when"](params)):
                stall["times"] -= 1
                if stall["times"] <= 0:
                    self._stalls.remove(stall)
                await asyncio.sleep(stall["seconds"])
                break
        return web.json_response({"ok": True, "result": result})

    def _raise_injected_fault(self, method: str, params: dict[str, Any]) -> None:
        for fault in self._faults:
            if fault["method"] == method.lower() and (
                fault["when"] is None or fault["when"](params)
            ):
                fault["times"] -= 1
                if fault["times"] <= 0:
                    self._faults.remove(fault)
                raise fault["error"]

    @staticmethod
    def _call(method: str, params: dict[str, Any], **outcome: Any) -> dict[str, Any]:
        return {"method": method, "params": params, "time": time.time(), **outcome}

    @staticmethod
    def _error_response(error: TelegramApiError) -> web.Response:
        return web.json_response(
            {"ok": False, "error_code": error.code, "description": error.description},
            status=error.code,
        )

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        """Merge query string and body (JSON, urlencoded or multipart) into decoded params."""
        params: dict[str, Any] = {
            key: _decode_form_value(key, value) for key, value in request.query.items()
        }
        uploads: dict[str, UploadedFile] = {}
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError as exc:
                    raise _bad_request("can't parse JSON request body") from exc
                if not isinstance(body, dict):
                    raise _bad_request("request body must be a JSON object")
                params.update(body)
            else:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        uploads[key] = UploadedFile(
                            filename=value.filename or key,
                            content=value.file.read(),
                            mime_type=value.content_type,
                        )
                    elif isinstance(value, str):
                        params[key] = _decode_form_value(key, value)
        for key, value in params.items():
            if isinstance(value, str) and value.startswith("attach://"):
                attached = uploads.get(value.removeprefix("attach://"))
                if attached is not None:
                    params[key] = attached
        for key, upload in uploads.items():
            params.setdefault(key, upload)
        return params

    # ---- internals: bot-side helpers ----------------------------------------------------------

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_name,
            "username": self.bot_username,
        }

    def _require_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("chat_id") in (None, ""):
            raise _bad_request("chat_id is empty")
        chat = self._chats.get(_as_int(params["chat_id"]))
        if chat is None:
            # real Telegram: the user has to talk to the bot first
            raise _bad_request("chat not found")
        return chat

    def _text_and_entities(
        self, params: dict[str, Any], text_key: str, entities_key: str
    ) -> tuple[str, list[dict[str, Any]]]:
        text = params.get(text_key)
        text = "" if text is None else str(text)
        if params.get(entities_key):
            return text, list(params[entities_key])
        return parse_formatted_text(text, params.get("parse_mode"))

    def _inline_markup(self, chat_id: int, markup: Any) -> dict[str, Any] | None:
        """Validate reply_markup; returns the inline keyboard to store on the message, if any.

        Reply keyboards never show up in a Message object, so they go to ``reply_keyboards``.
        """
        if markup is None or markup == "":
            return None
        if isinstance(markup, str):
            try:
                markup = json.loads(markup)
            except ValueError as exc:
                raise _bad_request("can't parse reply keyboard markup JSON object") from exc
        if not isinstance(markup, dict):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise _bad_request(
                    'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
                )
            for button in (b for row in rows for b in row):
                self._check_button(button)
            rows = [row for row in rows if row]
            return {"inline_keyboard": rows} if rows else None
        if "keyboard" in markup:
            self.reply_keyboards[chat_id] = markup
        elif markup.get("remove_keyboard"):
            self.reply_keyboards[chat_id] = None
        elif not markup.get("force_reply"):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        return None

    @staticmethod
    def _check_button(button: Any) -> None:
        if not isinstance(button, dict) or not str(button.get("text", "")).strip():
            raise _bad_request("can't parse inline keyboard button: Text must be non-empty")
        if not any(key in button for key in BUTTON_ACTIONS):
            raise _bad_request(
                "can't parse inline keyboard button: Text buttons are unallowed in the "
                "inline keyboard"
            )
        if "callback_data" in button:
            size = len(str(button["callback_data"]).encode())
            if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                raise _bad_request("BUTTON_DATA_INVALID")

    def _reply_target(self, chat_id: int, params: dict[str, Any]) -> dict[str, Any] | None:
        reply = params.get("reply_parameters")
        if isinstance(reply, str):
            reply = json.loads(reply)
        if reply is None and params.get("reply_to_message_id") is not None:
            reply = {
                "message_id": params["reply_to_message_id"],
                "allow_sending_without_reply": params.get("allow_sending_without_reply"),
            }
        if not reply:
            return None
        target_chat = _as_int(reply.get("chat_id", chat_id))
        replied = self._find_message(target_chat, reply.get("message_id"))
        if replied is None and not reply.get("allow_sending_without_reply"):
            raise _bad_request("message to be replied not found")
        return self._without_reply(replied) if replied else None

    def _new_bot_message(
        self, chat: dict[str, Any], params: dict[str, Any], content: dict[str, Any]
    ) -> dict[str, Any]:
        markup = self._inline_markup(chat["id"], params.get("reply_markup"))
        reply_to = self._reply_target(chat["id"], params)
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat["id"]),
            "from": self._bot_user(),
            "chat": copy.deepcopy(chat),
            "date": int(time.time()),
        }
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        # Forum topics, as Telegram does it: an explicit message_thread_id, else a reply stays in
        # the topic of the message it answers; anything else lands in the General topic.
        thread = params.get("message_thread_id")
        if thread not in (None, ""):
            if not chat.get("is_forum"):
                raise _bad_request("message thread not found")
            message["message_thread_id"] = int(thread)
            message["is_topic_message"] = True
        elif reply_to is not None and reply_to.get("is_topic_message"):
            message["message_thread_id"] = reply_to["message_thread_id"]
            message["is_topic_message"] = True
        message.update(content)
        if markup is not None:
            message["reply_markup"] = markup
        self._messages.setdefault(chat["id"], []).append(message)
        return copy.deepcopy(message)

    def _editable_message(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("chat_id") in (None, "") or params.get("message_id") in (None, ""):
            raise _bad_request("message identifier is not specified")
        message = self._find_message(params["chat_id"], params["message_id"])
        if message is None:
            raise _bad_request("message to edit not found")
        if message.get("from", {}).get("id") != self.bot_id:
            raise _bad_request("message can't be edited")
        return message

    @staticmethod
    def _not_modified() -> TelegramApiError:
        return _bad_request(
            "message is not modified: specified new message content and reply markup are "
            "exactly the same as a current content and reply markup of the message"
        )

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
        if isinstance(scope, str):
            scope = json.loads(scope)
        scope = scope or {"type": "default"}
        if "chat_id" in scope:
            scope = {**scope, "chat_id": _as_int(scope["chat_id"])}
        return json.dumps(scope, sort_keys=True), str(language_code or "")

    # ---- Bot API methods ----------------------------------------------------------------------

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _returns_true(self, params: dict[str, Any]) -> bool:
        return True

    def _set_webhook(self, params: dict[str, Any]) -> bool:
        """Telegram's checks that matter here: a URL, 1-100 connections, a secret of the
        allowed characters. Delivering is up to the test (``take_updates``)."""
        url = str(params.get("url") or "")
        if not url:
            # Telegram: an empty URL removes the webhook, like deleteWebhook
            return self._delete_webhook(params)
        if not re.fullmatch(r"https?://[^/\s]+(/\S*)?", url):
            raise _bad_request("bad webhook: Failed to resolve host: Name or service not known")
        connections = int(_as_int(params.get("max_connections") or 40))
        if not 1 <= connections <= 100:
            raise _bad_request("bad webhook: Max connections must be between 1 and 100")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad_request("bad webhook: secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        if allowed is not None:
            self._allowed_updates = set(allowed) if allowed else None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = {**params, "max_connections": connections}
        return True

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = None
        return True

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook:
            info["max_connections"] = self.webhook["max_connections"]
            if self.webhook.get("allowed_updates") is not None:
                info["allowed_updates"] = list(self.webhook["allowed_updates"])
        return info

    def take_updates(self) -> list[dict[str, Any]]:
        """The updates waiting for the bot, removed from the queue: what Telegram would post
        to a webhook (tests post them themselves, see tests/test_webhook.py)."""
        ready = copy.deepcopy(self._deliverable())
        self._updates.clear()
        return ready

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Real long polling: wait up to ``timeout`` s, but answer as soon as an update exists.

        Refused with 409 while a webhook is set, as Telegram does."""
        if self.webhook is not None:
            raise TelegramApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = int(_as_int(params.get("offset") or 0))
        limit = min(max(int(_as_int(params.get("limit") or 100)), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        allowed = params.get("allowed_updates")
        if allowed is not None:
            self._allowed_updates = set(allowed) if allowed else None
        if offset < 0:
            del self._updates[: max(len(self._updates) + offset, 0)]
        elif offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            ready = self._deliverable()[:limit]
            remaining = deadline - loop.time()
            if ready or self._closing or remaining <= 0:
                return copy.deepcopy(ready)
            with suppress(TimeoutError):
                await asyncio.wait_for(self._update_event.wait(), remaining)

    def _deliverable(self) -> list[dict[str, Any]]:
        """Pending updates, permanently dropping kinds the bot did not subscribe to."""

        def allowed(update: dict[str, Any]) -> bool:
            kind = next(key for key in update if key != "update_id")
            if self._allowed_updates is None:
                return kind not in NOT_DEFAULT_UPDATES
            return kind in self._allowed_updates

        self._updates = [u for u in self._updates if allowed(u)]
        return self._updates

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad_request('parameter "commands" is required')
        if len(commands) > 100:
            raise _bad_request("too many commands")
        for command in commands:
            if not BOT_COMMAND_RE.fullmatch(str(command.get("command", ""))):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad_request("command description is empty or too long")
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self.commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        return self.commands.get(key, [])

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self.commands.pop(
            self._commands_key(params.get("scope"), params.get("language_code")), None
        )
        return True

    def _set_chat_menu_button(self, params: dict[str, Any]) -> bool:
        chat_id = _as_int(params.get("chat_id"))
        button = params.get("menu_button") or {"type": "default"}
        self.menu_buttons[chat_id] = button
        return True

    def _get_chat_menu_button(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = _as_int(params.get("chat_id"))
        return self.menu_buttons.get(chat_id) or self.menu_buttons.get(None) or {"type": "default"}

    def _set_profile(self, field: str) -> Callable[[dict[str, Any]], bool]:
        def handler(params: dict[str, Any]) -> bool:
            language = str(params.get("language_code") or "")
            self.profile.setdefault(language, {})[field] = str(params.get(field) or "")
            return True

        return handler

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._require_chat(params)
        text, entities = self._text_and_entities(params, "text", "entities")
        if not text.strip():
            raise _bad_request("message text is empty")
        if len(text) > MAX_MESSAGE_LENGTH:
            raise _bad_request("message is too long")
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        return self._new_bot_message(chat, params, content)

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        text, entities = self._text_and_entities(params, "text", "entities")
        if not text.strip():
            raise _bad_request("message text is empty")
        if len(text) > MAX_MESSAGE_LENGTH:
            raise _bad_request("MESSAGE_TOO_LONG")
        if params.get("inline_message_id"):
            self.inline_message_edits.append(dict(params))
            return True
        message = self._editable_message(params)
        if "text" not in message:
            raise _bad_request("there is no text in the message to edit")
        markup = self._inline_markup(message["chat"]["id"], params.get("reply_markup"))
        if (
            message["text"] == text
            and message.get("entities", []) == entities
            and message.get("reply_markup") == markup
        ):
            raise self._not_modified()
        message["text"] = text
        self._set_optional(message, "entities", entities or None)
        self._set_optional(message, "reply_markup", markup)
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    def _edit_message_caption(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        caption, entities = self._text_and_entities(params, "caption", "caption_entities")
        if len(caption) > MAX_CAPTION_LENGTH:
            raise _bad_request("message caption is too long")
        if params.get("inline_message_id"):
            self.inline_message_edits.append(dict(params))
            return True
        message = self._editable_message(params)
        if "text" in message:
            raise _bad_request("there is no caption in the message to edit")
        markup = self._inline_markup(message["chat"]["id"], params.get("reply_markup"))
        if (
            message.get("caption", "") == caption
            and message.get("caption_entities", []) == entities
            and message.get("reply_markup") == markup
        ):
            raise self._not_modified()
        self._set_optional(message, "caption", caption or None)
        self._set_optional(message, "caption_entities", entities or None)
        self._set_optional(message, "reply_markup", markup)
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        if params.get("inline_message_id"):
            self.inline_message_edits.append(dict(params))
            return True
        message = self._editable_message(params)
        markup = self._inline_markup(message["chat"]["id"], params.get("reply_markup"))
        if message.get("reply_markup") == markup:
            raise self._not_modified()
        self._set_optional(message, "reply_markup", markup)
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    @staticmethod
    def _set_optional(target: dict[str, Any], key: str, value: Any) -> None:
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if self._pending_callbacks.pop(query_id, None) is None:
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if len(str(params.get("text") or "")) > MAX_CALLBACK_ANSWER_LENGTH:
            raise _bad_request("MESSAGE_TOO_LONG")
        self.callback_answers[query_id] = {
            k: v for k, v in params.items() if k != "callback_query_id"
        }
        return True

    def _answer_inline_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("inline_query_id", ""))
        if query_id not in self._pending_inline:
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        results = params.get("results")
        if not isinstance(results, list):
            raise _bad_request('parameter "results" is required')
        if len(results) > 50:
            raise _bad_request("RESULTS_TOO_MUCH")
        ids = [str(result.get("id", "")) for result in results]
        if any(not 1 <= len(i.encode()) <= 64 for i in ids):
            raise _bad_request("RESULT_ID_INVALID")
        if len(set(ids)) != len(ids):
            raise _bad_request("RESULT_ID_DUPLICATE")
        del self._pending_inline[query_id]
        self.inline_answers[query_id] = {k: v for k, v in params.items() if k != "inline_query_id"}
        return True

    def _send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._require_chat(params)
        document = params.get("document")
        if isinstance(document, str) and document in self._files:
            document = self._files[document]
        if isinstance(document, str) and document:
            # a URL or an unknown file_id: nothing to download here, keep the reference
            document = UploadedFile(filename=document.rsplit("/", 1)[-1], content=b"")
        elif not isinstance(document, UploadedFile):
            raise _bad_request("there is no document in the request")
        elif not document.content:
            raise _bad_request("file must be non-empty")
        caption, entities = self._text_and_entities(params, "caption", "caption_entities")
        if len(caption) > MAX_CAPTION_LENGTH:
            raise _bad_request("message caption is too long")
        file_id = f"DOC{next(self._file_ids):06d}"
        self._files[file_id] = document
        content: dict[str, Any] = {
            "document": {
                "file_id": file_id,
                "file_unique_id": f"U{file_id}",
                "file_name": document.filename,
                "mime_type": document.mime_type or "application/octet-stream",
                "file_size": len(document.content),
            }
        }
        if caption:
            content["caption"] = caption
        if entities:
            content["caption_entities"] = entities
        message = self._new_bot_message(chat, params, content)
        self.documents.append(
            {
                "chat_id": chat["id"],
                "message_id": message["message_id"],
                "filename": document.filename,
                "content": document.content,
                "mime_type": document.mime_type,
                "caption": caption or None,
                "file_id": file_id,
            }
        )
        return message

    def _send_chat_action(self, params: dict[str, Any]) -> bool:
        chat = self._require_chat(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        self.chat_actions.append({"chat_id": chat["id"], "action": params["action"]})
        return True

    def _get_chat_member(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._require_chat(params)
        user_id = _as_int(params.get("user_id"))
        if not isinstance(user_id, int) or user_id <= 0:
            raise _bad_request("invalid user_id specified")
        user = self._users.get(user_id)
        if user is None:
            raise _bad_request("user not found")
        status = self._member_status.get((chat["id"], user_id), "member")
        member: dict[str, Any] = {"status": status, "user": copy.deepcopy(user)}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                {
                    "can_be_edited": False,
                    "is_anonymous": False,
                    "can_manage_chat": True,
                    "can_delete_messages": True,
                    "can_manage_video_chats": True,
                    "can_restrict_members": True,
                    "can_promote_members": False,
                    "can_change_info": True,
                    "can_invite_users": True,
                    "can_post_stories": False,
                    "can_edit_stories": False,
                    "can_delete_stories": False,
                }
            )
        elif status == "kicked":
            member["until_date"] = 0
        return member

    def _delete_message(self, params: dict[str, Any]) -> bool:
        message = self._find_message(params.get("chat_id"), params.get("message_id"))
        if message is None:
            raise _bad_request("message to delete not found")
        self._messages[message["chat"]["id"]].remove(message)
        return True
