"""Name generation for the bot: validation with friendly reasons, inference off the loop."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.inference import InferenceExecutor
from ml.names.full import FullName, sample_full_names
from ml.names.model import PART, NameModel
from ml.names.registry import STYLES, style_accepting
from ml.names.sample import (
    MAX_TEMPERATURE,
    MIN_TEMPERATURE,
    NO_SHAPE,
    GeneratedName,
    PrefixError,
    Shape,
    check_prefix,
    sample_names,
)

DEFAULT_COUNT = 8


class NameRequestError(Exception):
    """A request we refuse, with what the user needs to fix it.

    ``kind`` is one of ``KINDS``; ``bad_shape`` means lengths that contradict each other.
    """

    KINDS = ("too_long", "bad_chars", "unknown_style", "no_full", "bad_shape")

    def __init__(
        self,
        kind: str,
        *,
        chars: list[str] | None = None,
        suggested_style: str | None = None,
        limit: int = 0,
    ) -> None:
        super().__init__(kind)
        self.kind = kind
        self.chars = chars or []
        self.suggested_style = suggested_style
        self.limit = limit


@dataclass(frozen=True)
class NameQuery:
    """What follows /name: a prefix plus optional shape words.

    ``Ma..ella`` = starts with Ma, ends with ella; ``..son`` = ends with son; ``5-8``, ``-6``,
    ``7-`` or ``6`` = length in letters. Digits never occur in names, so a length cannot be
    mistaken for a prefix.
    """

    prefix: str
    shape: Shape = NO_SHAPE

    @property
    def text(self) -> str:
        """The query as stored with an answer (re-parsed for 🔄 and the control buttons)."""
        words = [self.prefix] if self.prefix else []
        if self.shape.ends_with:
            words = [f"{self.prefix}..{self.shape.ends_with}"]
        low, high = self.shape.min_len, self.shape.max_len
        if low and low == high:
            words.append(str(low))
        elif low or high:
            words.append(f"{low or ''}-{high or ''}")
        return " ".join(words)


LENGTH_WORD = re.compile(r"(\d{1,2})?-(\d{1,2})?|(\d{1,2})")


def parse_query(text: str) -> NameQuery:
    """Split user text into prefix and shape; raises NameRequestError on impossible lengths."""
    prefix_words, ends_with, low, high = [], "", 0, 0
    for word in text.split():
        length = LENGTH_WORD.fullmatch(word)
        if length and length[3]:  # "6": exactly six letters
            low = high = int(length[3])
        elif length and word != "-":
            low, high = int(length[1] or 0), int(length[2] or 0)
        elif ".." in word:
            head, _, ends_with = word.partition("..")
            ends_with = ends_with.strip(".")
            if head:
                prefix_words.append(head)
        else:
            prefix_words.append(word)
    try:
        shape = Shape(min_len=low, max_len=high, ends_with=ends_with)
    except ValueError as error:
        raise NameRequestError("bad_shape") from error
    return NameQuery(" ".join(prefix_words), shape)


@dataclass(frozen=True)
class NameBatch:
    style: str
    prefix: str  # as the user typed it, cleaned of extra spaces
    temperature: float
    names: list[GeneratedName] | list[FullName]
    attributes: dict[str, str] = field(default_factory=dict)  # the controls that applied
    full: bool = False
    shape: Shape = NO_SHAPE

    @property
    def query(self) -> str:
        return NameQuery(self.prefix, self.shape).text


def describe_char(ch: str) -> str:
    """How to show a rejected character: itself when printable, else its code point."""
    if ch == " ":
        return "␣"
    if ch.isprintable() and not ch.isspace():
        return ch
    return f"U+{ord(ch):04X}"


class NameService:
    def __init__(
        self, models: dict[str, NameModel], executor: InferenceExecutor | None = None
    ) -> None:
        if not models:
            raise ValueError("no name models loaded: ml/checkpoints/names-*.pt are missing")
        self.models = models
        self.executor = executor or InferenceExecutor()

    @property
    def styles(self) -> list[str]:
        return [style for style in STYLES if style in self.models]

    def default_style(self, language: str | None) -> str:
        if language == "ru" and "ru" in self.models:
            return "ru"
        return "en" if "en" in self.models else self.styles[0]

    def resolve_style(self, style: str | None, language: str | None) -> str:
        return style if style in self.models else self.default_style(language)

    def controls(self, style: str) -> dict[str, list[str]]:
        """The controls a style offers (sex, era, race) and their values, without "any"."""
        model = self.models.get(style)
        if model is None:
            return {}
        return {k: v for k, v in model.attributes.items() if k != PART}

    def applicable(self, style: str, wanted: Mapping[str, str]) -> dict[str, str]:
        """The user's controls that this style understands; the rest mean "any" here."""
        offered = self.controls(style)
        return {k: v for k, v in wanted.items() if v in offered.get(k, [])}

    def has_full_names(self, style: str) -> bool:
        return style in self.models and self.models[style].has_family_part()

    def validate(self, style: str, prefix: str, ends_with: str = "") -> str:
        """The cleaned prefix, or NameRequestError saying what is wrong with it (or the ending).

        The rules themselves are ``ml.names.sample.check_prefix``'s; this only adds what a chat
        user needs: printable names for odd characters and a style that could write them.
        """
        if style not in self.models:
            raise NameRequestError("unknown_style")
        cleaned = unicodedata.normalize("NFC", " ".join(prefix.split()))
        try:
            check_prefix(self.models[style], cleaned)
            if ends_with:
                check_prefix(self.models[style], unicodedata.normalize("NFC", ends_with))
        except PrefixError as error:
            if not error.unknown_chars:
                raise NameRequestError("too_long", limit=error.max_length) from error
            raise NameRequestError(
                "bad_chars",
                chars=[describe_char(ch) for ch in error.unknown_chars[:6]],
                suggested_style=style_accepting(cleaned, self.models, exclude=style),
            ) from error
        return cleaned

    async def generate(
        self,
        style: str,
        prefix: str,
        temperature: float,
        count: int = DEFAULT_COUNT,
        seed: int | None = None,
        attributes: Mapping[str, str] | None = None,
        full: bool = False,
    ) -> NameBatch:
        """Names (or full names) for a request; controls the style lacks are dropped.

        ``prefix`` is the user's text after the command, shape words included (see NameQuery).
        """
        query = parse_query(prefix)
        cleaned = self.validate(style, query.prefix, query.shape.ends_with)
        if full and not self.has_full_names(style):
            raise NameRequestError("no_full")
        temperature = min(MAX_TEMPERATURE, max(MIN_TEMPERATURE, temperature))
        chosen = self.applicable(style, attributes or {})
        sampler = sample_full_names if full else sample_names
        # one request per call: requests differ in prefix, controls and temperature
        names = await self.executor.run(
            sampler,
            self.models[style],
            cleaned,
            count,
            temperature,
            seed,
            attributes=chosen,
            shape=query.shape,
        )
        return NameBatch(style, cleaned, temperature, names, chosen, full, query.shape)
