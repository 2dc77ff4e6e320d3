"""Building the PTB Application: services, start-up/shut-down hooks, and every handler.

``register_handlers`` is the one place a new command is wired in.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from telegram import BotCommand, BotCommandScopeAllGroupChats, BotCommandScopeDefault, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.config import Settings
from bot.db.engine import Database, upgrade_to_head
from bot.db.favorites import FavoritesRepository
from bot.db.game import GameRepository
from bot.db.instances import (
    JobRunsRepository,
    ProcessedUpdatesRepository,
    ReviewRepliesRepository,
)
from bot.db.repository import SettingsRepository
from bot.handlers import basics, favorites, game, inline, names, phrases, reviews, settings
from bot.handlers.common import FAIR_USE_KEY, throttled
from bot.inference import InferenceExecutor
from bot.instances import (
    INSTANCE_KEY,
    JOB_RUNS_KEY,
    PROCESSED_UPDATES_KEY,
    REDELIVERY_GROUP,
    cancel_pending_releases,
    new_instance_id,
    schedule_update_pruning,
    skip_redelivered,
)
from bot.lifecycle import stop_application
from bot.metrics import METRICS_KEY, BotMetrics
from bot.sanitize import CleanUpdatesRequest
from bot.sending import RetryingRequest
from bot.services import Services
from bot.services.favorites import FavoritesService
from bot.services.game import GAME_SECONDS, GameService
from bot.services.names import NameService
from bot.services.phrases import PhraseService
from bot.services.sentiment import SentimentService
from bot.texts import t
from bot.throttle import FairUse
from bot.updates import TwoLaneUpdateProcessor
from ml.names.model import NameModel
from ml.names.registry import load_all_styles
from ml.phrases.model import PhraseModel, load_phrase_models
from ml.sentiment import SentimentReader

log = logging.getLogger(__name__)

# (command, text key) in menu order; the same list feeds both languages' menus.
MENU = [
    ("name", "cmd_name"),
    ("fullname", "cmd_fullname"),
    ("phrase", "cmd_phrase"),
    ("style", "cmd_style"),
    ("temp", "cmd_temp"),
    ("review", "cmd_review"),
    ("favorites", "cmd_favorites"),
    ("export", "cmd_export"),
    ("game", "cmd_game"),
    ("reveal", "cmd_reveal"),
    ("top", "cmd_top"),
    ("language", "cmd_language"),
    ("help", "cmd_help"),
    ("about", "cmd_about"),
    ("start", "cmd_start"),
]
GROUP_MENU = ["name", "fullname", "phrase", "review", "favorites", "game", "reveal", "top", "help"]
SENTIMENT_LANGUAGES = ("en", "ru")


@dataclass
class Models:
    """Every checkpoint the bot serves, loaded once and shared by Applications."""

    names: dict[str, NameModel]
    sentiment: dict[str, SentimentReader]
    phrases: dict[str, PhraseModel] = field(default_factory=dict)  # by corpus


def load_models(checkpoint_dir: Path) -> Models:
    """Name models, the phrase models (issue 13) and, per language, the sentiment reader
    (short + review model); every one int8."""
    sentiment = {
        lang: SentimentReader.load(checkpoint_dir, lang)
        for lang in SENTIMENT_LANGUAGES
        if (Path(checkpoint_dir) / f"sentiment-{lang}.pt").exists()
    }
    return Models(
        names=load_all_styles(checkpoint_dir, quantize=True),
        sentiment=sentiment,
        phrases=load_phrase_models(checkpoint_dir, quantize=True),
    )


def register_handlers(app: Application) -> None:
    """Every handler. ``throttled`` marks the actions that run a model: they count against
    the user's rate limit (bot/throttle.py); inline mode checks it itself, after its
    debounce and cache, so only a query that reaches the model counts.

    The redelivery check comes first, in a group of its own: an update already taken on (by
    this instance or another on the same database) stops there, so a redelivery saves, votes
    and answers nothing twice."""
    app.add_handler(TypeHandler(Update, skip_redelivered), group=REDELIVERY_GROUP)
    app.add_handler(CommandHandler("start", basics.start_command))
    app.add_handler(CommandHandler("help", basics.help_command))
    app.add_handler(CommandHandler("about", basics.about_command))
    app.add_handler(CommandHandler("name", throttled(names.name_command)))
    app.add_handler(CommandHandler(["fullname", "full"], throttled(names.fullname_command)))
    app.add_handler(CommandHandler("phrase", throttled(phrases.phrase_command)))
    app.add_handler(CommandHandler("temp", settings.temp_command))
    app.add_handler(CommandHandler("style", settings.style_command))
    app.add_handler(CommandHandler(["language", "lang"], settings.language_command))
    app.add_handler(CommandHandler("review", throttled(reviews.review_command)))
    app.add_handler(CommandHandler(["favorites", "favourites", "fav"], favorites.favorites_command))
    app.add_handler(CommandHandler("export", favorites.export_command))
    app.add_handler(CommandHandler("game", throttled(game.game_command)))
    app.add_handler(CommandHandler("reveal", game.reveal_command))
    app.add_handler(CommandHandler("top", game.top_command))
    app.add_handler(InlineQueryHandler(inline.inline_query))
    # Buttons: one compiled pattern per kind of data, anchored at both ends; a handler reads
    # the groups from context.matches (common.button_match). Data of no known shape (forged,
    # or from a button no version ever made) falls through to stale_button below.
    app.add_handler(CallbackQueryHandler(settings.settings_button, pattern=settings.SETTINGS_DATA))
    # The favourites/game buttons carry ids only; each handler checks them against the DB.
    app.add_handler(CallbackQueryHandler(favorites.favorite_button, pattern=favorites.FAV_DATA))
    app.add_handler(CallbackQueryHandler(throttled(names.more_button), pattern=names.MORE_DATA))
    app.add_handler(
        CallbackQueryHandler(throttled(names.control_button), pattern=names.CONTROL_DATA)
    )
    app.add_handler(
        CallbackQueryHandler(throttled(phrases.more_button), pattern=phrases.PHRASE_MORE_DATA)
    )
    app.add_handler(
        CallbackQueryHandler(throttled(phrases.voice_button), pattern=phrases.PHRASE_VOICE_DATA)
    )
    app.add_handler(CallbackQueryHandler(favorites.favorites_button, pattern=favorites.LIST_DATA))
    app.add_handler(CallbackQueryHandler(game.vote_button, pattern=game.GAME_DATA))
    app.add_handler(
        MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE, basics.unknown_command)
    )
    # Plain text in a private chat is a review; in groups the bot ignores ordinary chatter.
    app.add_handler(
        MessageHandler(
            # (names the user shared through inline mode arrive "via bot": not reviews)
            filters.TEXT & ~filters.COMMAND & ~filters.VIA_BOT & filters.ChatType.PRIVATE,
            throttled(reviews.review_message),
        )
    )
    app.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE & ~filters.TEXT,
            basics.non_text_message,
        )
    )
    app.add_handler(CallbackQueryHandler(basics.stale_button))
    app.add_error_handler(basics.on_error)


async def set_command_menus(app: Application) -> None:
    """Register the command menu and the bot's profile texts in English (default) and Russian."""
    for lang in ("en", "ru"):
        code = None if lang == "en" else lang
        await app.bot.set_my_description(t(lang, "bot_description"), language_code=code)
        await app.bot.set_my_short_description(t(lang, "bot_short_description"), language_code=code)
        commands = [BotCommand(cmd, t(lang, key)) for cmd, key in MENU]
        group = [c for c in commands if c.command in GROUP_MENU]
        await app.bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=code)
        await app.bot.set_my_commands(
            group, scope=BotCommandScopeAllGroupChats(), language_code=code
        )


async def on_startup(app: Application) -> None:
    await upgrade_to_head(app.bot_data["database_url"])
    try:  # the menu is a convenience: a Bot API server that refuses it must not stop the bot
        await set_command_menus(app)
    except TelegramError:
        log.warning("could not register the command menu", exc_info=True)
    await game.restore_timers(app)  # rounds a restart left open get their reveal timer back
    game.schedule_sweeper(app)  # and any instance reveals a round whose time is up
    await favorites.schedule_pruning(app)  # stored /name answers expire; saved names never do
    favorites.schedule_removal_sweep(app)  # 🗑'd favourites go once their undo window is over
    reviews.schedule_reply_pruning(app)  # review→answer ids age out (one instance prunes)
    schedule_update_pruning(app)  # so do the ids of updates handled (redelivery check)
    me = app.bot
    log.info(
        "bot @%s ready with name styles %s and phrase voices %s",
        me.username,
        ", ".join(app.bot_data["services"].names.styles),
        ", ".join(app.bot_data["services"].phrases.voices) or "none",
    )


async def on_shutdown(app: Application) -> None:
    cancel_pending_releases(app)
    await app.bot_data["database"].close()
    app.bot_data["executor"].shutdown()


def rate_limiter(messages_per_second: float) -> AIORateLimiter | None:
    """The bot's overall send limit (BOT_RATE_LIMIT); None when it is 0 (no limiter at all).

    Telegram answers 429 with retry_after when a bot sends too fast; the limiter waits and
    retries such a call twice before giving up. Only calls with a chat_id wait for it, so
    button and inline answers are never held behind queued messages.
    """
    if messages_per_second <= 0:
        return None
    return AIORateLimiter(overall_max_rate=messages_per_second, max_retries=2)


def build_application(settings: Settings, models: Models | None = None) -> Application:
    """A ready-to-start Application; pass ``models`` to share loaded checkpoints (tests, chat)."""
    models = models or load_models(settings.checkpoint_dir)
    db = Database.connect(settings.database_url)
    executor = InferenceExecutor(
        workers=settings.inference_workers or None,
        torch_threads=settings.torch_threads,
        max_pending=settings.inference_queue,
    )
    metrics = BotMetrics()
    metrics.watch_inference(executor)
    name_service = NameService(models.names, executor)
    services = Services(
        names=name_service,
        settings=SettingsRepository(db),
        favorites=FavoritesService(FavoritesRepository(db)),
        game=GameService(name_service, GameRepository(db)),
        sentiment=SentimentService(models.sentiment, executor),
        phrases=PhraseService(models.phrases, executor),
        review_replies=ReviewRepliesRepository(db, per_chat=reviews.REMEMBERED_REPLIES),
    )
    builder = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.api_base_url)
        # every text the bot sends, edits or offers inline is HTML (bot/texts.py; user input
        # goes in escaped): messages, edits, captions and inline results' message content
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        # both requests go over aiohttp (bot/http.py), not PTB's httpx: less CPU per call.
        # every update's text is cleaned once, before any handler sees it (bot/sanitize.py)
        .get_updates_request(CleanUpdatesRequest())
        # every other call retries what can safely be retried (bot/sending.py)
        .request(RetryingRequest(connection_pool_size=256))
        # presses and inline queries never wait behind replies queued for sending
        .concurrent_updates(TwoLaneUpdateProcessor(metrics=metrics))
        .post_init(on_startup)
        .post_shutdown(on_shutdown)
    )
    limiter = rate_limiter(settings.bot_rate_limit)
    if limiter is not None:
        builder = builder.rate_limiter(limiter)
    app = builder.build()
    app.bot_data.update(
        services=services,
        database=db,
        database_url=settings.database_url,
        executor=executor,
    )
    app.bot_data[METRICS_KEY] = metrics  # /metrics (bot/webhook.py), one registry per app
    app.bot_data[INSTANCE_KEY] = new_instance_id()  # who runs a shared job (bot/instances.py)
    app.bot_data[JOB_RUNS_KEY] = JobRunsRepository(db)
    app.bot_data[PROCESSED_UPDATES_KEY] = ProcessedUpdatesRepository(db)
    app.bot_data[FAIR_USE_KEY] = FairUse()  # per-user limits, inline debounce and cache
    app.bot_data.setdefault(game.SECONDS_KEY, GAME_SECONDS)  # tests shorten the voting time
    register_handlers(app)
    return app


@asynccontextmanager
async def polling(app: Application, poll_timeout: float = 1.0) -> AsyncIterator[Application]:
    """Run ``app`` with long polling inside the current event loop, like ``run_polling`` does.

    ``run_polling`` owns the loop and blocks; the end-to-end tests need the same start-up
    (including ``post_init``: migrations, command menus) inside their loop.
    """
    await app.initialize()
    if app.post_init:
        await app.post_init(app)
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(
        poll_interval=0.0, timeout=int(poll_timeout), allowed_updates=Update.ALL_TYPES
    )
    try:
        yield app
    finally:
        await stop_application(app)
