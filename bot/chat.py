"""Talk to the bot from a terminal, with no Telegram: ``python -m bot chat``.

The real PTB ``Application`` runs against ``FakeBotApi`` (a local fake Bot API server), and
this module plays the Telegram client: each line typed becomes a private-chat message, and
whatever the bot does (messages, edits, button answers, documents) is printed back. This is
the quickest way to try the bot by hand in an offline environment, and because it drives
the same code path as production polling, what works here works on Telegram.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any, TextIO

from telegram.ext import Application

from bot.fake_api import FakeBotApi
from bot.lifecycle import stop_application

__all__ = ["BANNER", "TerminalChat", "run_terminal_chat"]

BANNER = """\
Namecraft terminal chat (offline: a local fake Telegram server, the real bot code).
Type a message and press Enter. Special commands:
  /press N      press button N of the last bot message that had buttons
  /edit TEXT    edit your last message to TEXT
  /inline TEXT  run an inline query (like typing "@bot TEXT") and show the results
  /quit         exit (Ctrl-D works too)
Any other /command is sent to the bot as-is.
"""

ApplicationFactory = Callable[[str, str], Application]

# Method names whose calls we print; everything else (getMe, setMyCommands...) stays quiet.
_SHOWN_METHODS = frozenset(
    {
        "sendMessage",
        "sendDocument",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
        "answerCallbackQuery",
        "answerInlineQuery",
        "deleteMessage",
    }
)


async def _stdin_lines(prompt: str = "you> ") -> AsyncIterator[str]:
    """Lines typed by the user; ``input`` runs in a thread so the bot keeps running meanwhile."""
    while True:
        try:
            yield await asyncio.to_thread(input, prompt)
        except EOFError:
            return


def render_keyboard(message: dict[str, Any]) -> str:
    """Inline keyboard as one line of numbered buttons: ``[1] ⭐ Serena  [2] Max``."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    buttons = [button for row in rows for button in row]
    return "  ".join(f"[{i}] {button['text']}" for i, button in enumerate(buttons, start=1))


def render_message(message: dict[str, Any]) -> list[str]:
    """Lines showing a bot message: its text or document, then its buttons."""
    lines: list[str] = []
    if "text" in message:
        lines.append(message["text"])
    document = message.get("document")
    if document is not None:
        lines.append(f"[document {document.get('file_name')}, {document.get('file_size')} bytes]")
    if message.get("caption"):
        lines.append(message["caption"])
    keyboard = render_keyboard(message)
    if keyboard:
        lines.append(keyboard)
    return lines


class TerminalChat:
    """The client side of the chat: sends what the user types, prints what the bot did.

    Kept separate from the app lifecycle in ``run_terminal_chat`` so tests can drive it with
    any ``FakeBotApi`` and output stream.
    """

    def __init__(
        self,
        api: FakeBotApi,
        out: TextIO,
        *,
        language_code: str = "en",
        reply_timeout: float = 10.0,
        quiet_period: float = 0.3,
    ) -> None:
        self.api = api
        self.out = out
        self.user = api.user(language_code=language_code)
        self.chat_id: int = self.user["id"]
        self.reply_timeout = reply_timeout
        self.quiet_period = quiet_period
        self.seen_calls = api.mark()
        self.last_user_message: dict[str, Any] | None = None
        self.last_buttons_message: dict[str, Any] | None = None
        self.pending_inline: set[str] = set()

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    async def handle_line(self, line: str) -> bool:
        """Act on one typed line; returns False when the user wants to quit."""
        text = line.strip()
        command, _, argument = text.partition(" ")
        argument = argument.strip()
        if not text:
            return True
        if command in ("/quit", "/exit"):
            return False
        if command == "/press":
            if not self._press(argument):
                return True
        elif command == "/edit":
            if self.last_user_message is None or not argument:
                self.say("(usage: /edit NEW TEXT, after you have sent a message)")
                return True
            self.last_user_message = self.api.edit_message(self.last_user_message, argument)
        elif command == "/inline":
            self.pending_inline.add(self.api.inline_query(argument, user=self.user))
        else:
            self.last_user_message = self.api.send_message(text, user=self.user)
        await self.wait_and_show()
        return True

    def _press(self, argument: str) -> bool:
        if self.last_buttons_message is None:
            self.say("(no message with buttons yet)")
            return False
        message = self._current(self.last_buttons_message)
        buttons = [
            b for row in (message.get("reply_markup") or {}).get("inline_keyboard", []) for b in row
        ]
        if not argument.isdigit() or not 1 <= int(argument) <= len(buttons):
            self.say(f"(usage: /press N with N from 1 to {len(buttons)})")
            return False
        button = buttons[int(argument) - 1]
        if "callback_data" not in button:
            target = button.get("url") or button.get("switch_inline_query") or "?"
            self.say(f"(button {argument} is not a callback button: {target})")
            return False
        self.api.press_button(message, button["callback_data"], user=self.user)
        return True

    def _current(self, message: dict[str, Any]) -> dict[str, Any]:
        for candidate in self.api.bot_messages(message["chat"]["id"]):
            if candidate["message_id"] == message["message_id"]:
                return candidate
        return message

    async def wait_and_show(self) -> None:
        """Wait until the bot answered and then went quiet for a moment; print what it did."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.reply_timeout
        start = self.seen_calls
        while loop.time() < deadline:
            before = len(self.api.calls)
            if self._has_shown_call(start):
                await asyncio.sleep(self.quiet_period)
                if len(self.api.calls) == before:
                    break
            else:
                await asyncio.sleep(0.02)
        else:
            if not self._has_shown_call(start):
                self.say("(no reply from the bot)")
        self.show_new_calls()

    def _has_shown_call(self, start: int) -> bool:
        return any(call["method"] in _SHOWN_METHODS for call in self.api.calls[start:])

    def show_new_calls(self) -> None:
        """Print every call recorded since the last time, in order."""
        calls = self.api.calls[self.seen_calls :]
        self.seen_calls += len(calls)
        for call in calls:
            self._show_call(call)

    def _show_call(self, call: dict[str, Any]) -> None:
        method, params = call["method"], call["params"]
        if not call["ok"]:
            if method in _SHOWN_METHODS:
                self.say(f"(!) {method} failed: {call['error']}")
            return
        result = call.get("result")
        if method in ("sendMessage", "sendDocument") and isinstance(result, dict):
            self._show_message("bot> ", result)
        elif method.startswith("editMessage") and isinstance(result, dict):
            self._show_message(f"bot (edited #{result['message_id']})> ", result)
        elif method == "answerCallbackQuery" and params.get("text"):
            kind = "alert" if params.get("show_alert") else "toast"
            self.say(f"bot [{kind}]> {params['text']}")
        elif method == "answerInlineQuery":
            self._show_inline_results(params)
        elif method == "deleteMessage":
            self.say(f"bot (deleted #{params.get('message_id')})")

    def _show_message(self, prefix: str, message: dict[str, Any]) -> None:
        lines = render_message(message)
        self.say(prefix + (lines[0] if lines else ""))
        for line in lines[1:]:
            self.say(" " * len(prefix) + line)
        if render_keyboard(message):
            self.last_buttons_message = message

    def _show_inline_results(self, params: dict[str, Any]) -> None:
        results = params.get("results") or []
        self.say(f"inline results ({len(results)}):")
        for i, result in enumerate(results, start=1):
            title = result.get("title") or result.get("type", "result")
            content = (result.get("input_message_content") or {}).get("message_text", "")
            description = result.get("description") or content
            self.say(f"  [{i}] {title}" + (f" — {description}" if description else ""))


async def run_terminal_chat(
    build_application: ApplicationFactory,
    *,
    language_code: str = "en",
    lines: AsyncIterator[str] | None = None,
    out: TextIO | None = None,
    reply_timeout: float = 10.0,
    quiet_period: float = 0.3,
) -> None:
    """Run the bot built by ``build_application(token, base_url)`` and chat with it.

    ``lines`` replaces stdin and ``out`` replaces stdout (for tests); scripted lines are
    echoed after the ``you>`` prompt so the transcript reads like an interactive session.
    Lifecycle mirrors ``Application.run_polling`` (including post_init / post_stop /
    post_shutdown), because the bot may rely on those hooks, e.g. to register commands.
    """
    out = out if out is not None else sys.stdout
    scripted = lines is not None
    source = lines if lines is not None else _stdin_lines()
    async with FakeBotApi() as api:
        app = build_application(api.token, api.base_url)
        await app.initialize()
        try:
            if app.post_init is not None:
                await app.post_init(app)
            assert app.updater is not None, "the chat needs an Application with an Updater"
            await app.updater.start_polling(poll_interval=0, timeout=1)
            await app.start()
            chat = TerminalChat(
                api,
                out,
                language_code=language_code,
                reply_timeout=reply_timeout,
                quiet_period=quiet_period,
            )
            print(BANNER, file=out, flush=True)
            chat.show_new_calls()  # anything the bot sent on its own while starting
            async for line in source:
                if scripted:
                    print(f"you> {line}", file=out, flush=True)
                if not await chat.handle_line(line):
                    break
            print("bye", file=out, flush=True)
        finally:
            await stop_application(app)
