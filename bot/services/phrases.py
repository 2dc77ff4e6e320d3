"""Phrases in a voice for the bot: voices by any name, friendly reasons, inference off the loop.

The models and the sampler are ``ml.phrases``'; this adds what a chat needs: a voice asked for
in either language ("Homer", "гомер", "толстой"), a start text checked before any model runs
(too long, or characters the voice's alphabet cannot write, named), and the user's
temperature. The start text may be in any case: the sampler keeps it as typed and continues
the casing its model finds likeliest, so the answer starts with exactly what the user wrote.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

from bot.inference import InferenceExecutor
from bot.services.names import describe_char
from ml.names.sample import MAX_TEMPERATURE, MIN_TEMPERATURE
from ml.phrases.model import PhraseModel, voice_index
from ml.phrases.sample import Phrase, StartError, prepare_start, sample_phrases

DEFAULT_COUNT = 3
# The longest start text taken: a phrase should be more than its start (the models' caps
# are 200 and 300 characters, start included).
MAX_START = 100
# Other names a voice answers to (the voice ids themselves, in any case, always work).
ALIASES = {
    "мо": "moe",
    "гомер": "homer",
    "ленни": "lenny",
    "барни": "barney",
    "карл": "carl",
    "мардж": "marge",
    "симпсоны": "simpsons",
    "толстой": "tolstoy",
    "tolstoi": "tolstoy",
}


class PhraseRequestError(Exception):
    """A /phrase request we refuse, with what the user needs to fix it.

    ``kind``: "unknown_voice" (``voices`` lists the known ones), "too_long" (``limit``),
    "bad_chars" (``chars``, and ``suggested_voice`` that could write the start, if any) or
    "unavailable" (no phrase checkpoint is loaded).
    """

    def __init__(
        self,
        kind: str,
        *,
        voices: list[str] | None = None,
        chars: list[str] | None = None,
        suggested_voice: str | None = None,
        limit: int = 0,
    ) -> None:
        super().__init__(kind)
        self.kind = kind
        self.voices = voices or []
        self.chars = chars or []
        self.suggested_voice = suggested_voice
        self.limit = limit


@dataclass(frozen=True)
class PhraseBatch:
    voice: str
    start: str  # as the user typed it, spaces tidied: every phrase starts with it
    temperature: float
    phrases: list[Phrase]


class PhraseService:
    def __init__(
        self, models: dict[str, PhraseModel], executor: InferenceExecutor | None = None
    ) -> None:
        self.models = models
        self.executor = executor or InferenceExecutor()
        self._by_voice = voice_index(models)

    @property
    def voices(self) -> list[str]:
        """Every voice, speakers first, then the corpora's own names ("simpsons", "tolstoy")."""
        return list(self._by_voice)

    def resolve_voice(self, word: str) -> str | None:
        """The voice id a user's word names (any case, Russian aliases), or None."""
        key = unicodedata.normalize("NFC", word.strip()).lower()
        key = ALIASES.get(key, key)
        return key if key in self._by_voice else None

    def random_voice(self) -> str:
        if not self._by_voice:
            raise PhraseRequestError("unavailable")
        return random.choice(self.voices)

    def _readable(self, voice: str, start: str) -> bool:
        bundle = self._by_voice[voice]
        try:
            prepare_start(bundle, start, bundle.max_chars)
        except StartError:
            return False
        return True

    def validate(self, voice: str, start: str) -> str:
        """The tidied start text, or PhraseRequestError saying what is wrong (no model runs)."""
        if voice not in self._by_voice:
            raise PhraseRequestError("unknown_voice", voices=self.voices)
        cleaned = unicodedata.normalize("NFC", " ".join(start.split()))
        limit = min(MAX_START, self._by_voice[voice].max_chars - 1)
        if len(cleaned) > limit:
            raise PhraseRequestError("too_long", limit=limit)
        bundle = self._by_voice[voice]
        try:
            prepare_start(bundle, cleaned, bundle.max_chars)
        except StartError as error:
            suggested = next(
                (
                    other
                    for other, model in self._by_voice.items()
                    if model is not bundle and self._readable(other, cleaned)
                ),
                None,
            )
            raise PhraseRequestError(
                "bad_chars",
                chars=[describe_char(ch) for ch in error.unknown_chars[:6]],
                suggested_voice=suggested,
            ) from error
        return cleaned

    async def generate(
        self,
        voice: str,
        start: str,
        temperature: float,
        count: int = DEFAULT_COUNT,
        seed: int | None = None,
    ) -> PhraseBatch:
        """``count`` phrases (fewer if the obscenity filter drops some) in ``voice``."""
        cleaned = self.validate(voice, start)
        temperature = min(MAX_TEMPERATURE, max(MIN_TEMPERATURE, temperature))
        phrases = await self.executor.run(
            sample_phrases,
            self._by_voice[voice],
            cleaned,
            count,
            temperature,
            seed,
            voice=voice,
        )
        return PhraseBatch(voice, cleaned, temperature, phrases)
