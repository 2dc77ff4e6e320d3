"""Reading reviews: pick the model by script, classify off the event loop."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ml.sentiment import SentimentClassifier, SentimentResult, route_language

# Telegram messages are at most 4096 characters, but a forwarded or replied-to text can be
# pasted together from several; past this many characters we keep the head and the tail (the
# model's own truncation keeps head + tail tokens too, so nothing it would read is lost).
MAX_CHARS = 30_000


class ReviewRefusal(Exception):
    """Text no model can read. ``kind``: ``empty``, ``no_letters`` or ``unavailable``."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class ReviewVerdict:
    lang: str
    model_name: str
    result: SentimentResult


class SentimentService:
    def __init__(self, classifiers: dict[str, SentimentClassifier]) -> None:
        self.classifiers = classifiers

    @property
    def available(self) -> bool:
        return bool(self.classifiers)

    async def analyse(self, text: str) -> ReviewVerdict:
        """The verdict for one review, or ReviewRefusal when no model can read it."""
        text = text.strip()
        if not text:
            raise ReviewRefusal("empty")
        cut_by_chars = len(text) > MAX_CHARS
        if cut_by_chars:
            half = MAX_CHARS // 2
            text = f"{text[:half]}\n{text[-half:]}"
        lang = route_language(text)
        if lang is None:
            raise ReviewRefusal("no_letters")
        classifier = self.classifiers.get(lang)
        if classifier is None:
            raise ReviewRefusal("unavailable")
        [result] = await asyncio.to_thread(classifier.predict, [text])
        if cut_by_chars and not result.truncated:
            result = SentimentResult(
                result.label, result.confidence, result.probabilities, True, result.n_tokens
            )
        return ReviewVerdict(lang, classifier.model_name, result)
