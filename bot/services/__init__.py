"""Services: what the bot can do, with no Telegram types in sight.

Handlers parse an update, call one of these, and format the answer. ``Services`` bundles them
so the Application carries a single object in ``bot_data``.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.db.instances import ReviewRepliesRepository
from bot.db.repository import SettingsRepository
from bot.services.favorites import FavoritesService
from bot.services.game import GameService
from bot.services.names import NameService
from bot.services.phrases import PhraseService
from bot.services.sentiment import SentimentService


@dataclass
class Services:
    names: NameService
    settings: SettingsRepository
    favorites: FavoritesService
    game: GameService
    sentiment: SentimentService
    phrases: PhraseService
    review_replies: ReviewRepliesRepository  # which answer an edited review edits
