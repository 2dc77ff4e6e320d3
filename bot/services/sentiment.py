"""Reading the mood of a message: pick the language by script, read it off the event loop."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.inference import InferenceExecutor
from ml.sentiment import Reading, SentimentReader, route_language

# Zero-width and bidirectional-control characters: invisible to the user, noise to the model
# (and a way to hide a word from it). The model's own cleaning handles surrogates and controls.
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


class ReviewRefusal(Exception):
    """Text no model can read. ``kind``: ``empty``, ``no_letters`` or ``unavailable``."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class ReviewVerdict:
    lang: str
    reading: Reading


class SentimentService:
    def __init__(
        self, readers: dict[str, SentimentReader], executor: InferenceExecutor | None = None
    ) -> None:
        self.readers = readers
        self.executor = executor or InferenceExecutor()

    def model_names(self) -> dict[str, list[str]]:
        """Per language, the models that read messages (for /about)."""
        return {lang: reader.model_names for lang, reader in self.readers.items()}

    async def analyse(self, text: str) -> ReviewVerdict:
        """The verdict for one message, or ReviewRefusal when no model can read it.

        ``text`` is one Telegram text: a message, an edit, what follows /review or the text or
        caption it replies to, never several joined; Telegram caps those at 4096 characters,
        so the only cut is the review model's own (head + tail tokens, ``Reading.truncated``).
        """
        text = _INVISIBLE.sub("", text).strip()
        if not text:
            raise ReviewRefusal("empty")
        lang = route_language(text)
        if lang is None:
            raise ReviewRefusal("no_letters")
        reader = self.readers.get(lang)
        if reader is None:
            raise ReviewRefusal("unavailable")
        # concurrent messages in one language share a batch (the reader sorts it by length)
        reading = await self.executor.run_batched(("sentiment", lang), reader.read, text)
        return ReviewVerdict(lang, reading)
