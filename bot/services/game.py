"""The "real or invented?" group game: pick a name, collect votes, reveal and score.

All state (rounds, votes, scores) lives in the database, and the database decides the
reveal: the round's timer, /reveal and every instance's sweeper for rounds past their deadline
may all try, and the round is closed and announced once. A restart, or an instance that died,
loses nothing: another instance's sweeper (or the restarted one's) reveals the round.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.db.game import GameRepository, RoundRecord, ScoreRecord, VoteRecord
from bot.db.models import utcnow
from bot.services.names import NameService
from ml.names.obscenity import is_obscene
from ml.names.vocab import normalize_name, title_case

GAME_SECONDS = 30.0  # default voting time; the Application's bot_data["game_seconds"] wins
INVENT_TEMPERATURE = 0.9  # wild enough to be new, tame enough to be believable
INVENT_ATTEMPTS = 6


@dataclass(frozen=True)
class StartResult:
    round: RoundRecord
    created: bool  # False: the chat already had an open round, which is returned


@dataclass(frozen=True)
class Verdict:
    user_id: int
    display_name: str
    says_real: bool
    correct: bool


@dataclass(frozen=True)
class RevealResult:
    round: RoundRecord
    verdicts: list[Verdict]


class GameService:
    def __init__(
        self, names: NameService, repo: GameRepository, rng: random.Random | None = None
    ) -> None:
        self.names = names
        self.repo = repo
        self.rng = rng or random.Random()
        self._real_names: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[str, ...]] = {}

    def _known(self, style: str, controls: dict[str, str]) -> tuple[str, ...]:
        """Real names fitting the controls (common ones, so the round is fair), cached.

        The obscenity filter applies to real names too: crowd-sourced lists hold a few.
        """
        key = (style, tuple(sorted(controls.items())))
        if key not in self._real_names:
            model = self.names.models[style]
            names = [n for n in model.real_names_for(controls) if not is_obscene(n)]
            self._real_names[key] = tuple(names or sorted(model.known_names))
        return self._real_names[key]

    async def invent(self, style: str, controls: dict[str, str] | None = None) -> str | None:
        """A sampled name that is NOT in the training data, or None if none came out."""
        known = self.names.models[style].known_names
        for _ in range(INVENT_ATTEMPTS):
            batch = await self.names.generate(
                style, "", INVENT_TEMPERATURE, count=8, attributes=controls
            )
            fresh = [
                n.text
                for n in batch.names
                if not n.is_real and normalize_name(n.text) not in known and len(n.text) >= 3
            ]
            if fresh:
                return self.rng.choice(fresh)
        return None

    async def pick(self, style: str, controls: dict[str, str] | None = None) -> tuple[str, bool]:
        """(name, is_real): a coin flip between a real name and an invented one.

        Both sides follow the starter's controls (sex, era, race), so the real name cannot be
        told apart by being a man's name in a women's-names round.
        """
        controls = self.names.applicable(style, controls or {})
        if self.rng.random() < 0.5 and (invented := await self.invent(style, controls)):
            return invented, False
        return title_case(self.rng.choice(self._known(style, controls))), True

    async def start(
        self,
        chat_id: int,
        user_id: int,
        style: str,
        language: str,
        seconds: float,
        controls: dict[str, str] | None = None,
    ) -> StartResult:
        """Open a round in the chat, or hand back the one already open."""
        existing = await self.repo.open_round(chat_id)
        if existing is not None:
            return StartResult(existing, created=False)
        name, is_real = await self.pick(style, controls)
        deadline = utcnow() + timedelta(seconds=seconds)
        created = await self.repo.create_round(
            chat_id, user_id, style, language, name, is_real, deadline
        )
        if created is not None:
            return StartResult(created, created=True)
        # another /game won the race while we were sampling
        existing = await self.repo.open_round(chat_id)
        assert existing is not None
        return StartResult(existing, created=False)

    async def attach_message(
        self, round_id: int, message_id: int, thread_id: int | None = None
    ) -> None:
        """Remember the round's message (and its forum topic) for the reveal."""
        await self.repo.set_message(round_id, message_id, thread_id)

    async def discard(self, round_id: int) -> bool:
        """Undo ``start`` when the round's message could not be posted: with no message and
        no timer, the round would block the chat's next /game until someone sent /reveal."""
        return await self.repo.discard_round(round_id)

    async def vote(
        self, round_id: int, chat_id: int, user_id: int, display_name: str, says_real: bool
    ) -> str:
        """``ok``, ``over`` or ``invalid``; a later vote replaces the earlier one."""
        return await self.repo.vote(round_id, chat_id, user_id, display_name[:128], says_real)

    async def open_round(self, chat_id: int) -> RoundRecord | None:
        return await self.repo.open_round(chat_id)

    async def open_rounds(self) -> list[RoundRecord]:
        return await self.repo.open_rounds()

    async def due_rounds(self) -> list[tuple[int, int]]:
        """(round id, chat id) of the open rounds whose time is up."""
        return await self.repo.due_rounds(utcnow())

    async def reveal(self, round_id: int, chat_id: int) -> RevealResult | None:
        """Close and score the round; None when it was already revealed (or never existed)."""
        outcome = await self.repo.reveal(round_id, chat_id)
        if outcome is None:
            return None
        record, votes = outcome
        return RevealResult(record, [_verdict(vote, record.is_real) for vote in votes])

    async def leaderboard(self, chat_id: int, limit: int = 10) -> list[ScoreRecord]:
        return await self.repo.leaderboard(chat_id, limit)


def _verdict(vote: VoteRecord, is_real: bool) -> Verdict:
    return Verdict(vote.user_id, vote.display_name, vote.says_real, vote.says_real == is_real)


def seconds_left(deadline: datetime) -> float:
    """Time until ``deadline`` (never negative): how long a re-armed timer should wait."""
    return max(0.0, (deadline - utcnow()).total_seconds())
