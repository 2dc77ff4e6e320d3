"""Sentiment datasets: reading the shared CSVs, the one cleaning function, and the val split.

Every text the model ever sees, in training, evaluation or in the bot, goes through
``clean_text``. Keeping a single function is the whole point: a model trained on cleaned text
and served raw text degrades silently, and nobody notices until users complain.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import html
import re
from dataclasses import dataclass
from pathlib import Path

from ml.common import data_dir

# Label order is part of the checkpoint: logits index into this tuple.
LABELS_BINARY: tuple[str, ...] = ("neg", "pos")
LABELS_3: tuple[str, ...] = ("neg", "neu", "pos")

# Which files make up each language's task. RuSentiment is optional extra ru training data
# (social-media posts, not reviews, and CC BY-NC-SA), so it is opt-in via ``--extra``.
DATASETS: dict[str, dict[str, str]] = {
    "en": {"train": "imdb_train.csv.gz", "test": "imdb_test.csv.gz"},
    "ru": {"train": "kinopoisk_reviews_train.csv.gz", "test": "kinopoisk_reviews_test.csv.gz"},
}
EXTRA_RU_TRAIN = "rusentiment_train.csv.gz"

# Short texts (one-line messages), 3 classes in both languages: the short-text models.
# TweetEval's test split is not public here, so its official validation split is the held-out
# set we report; the models carve their own validation slice out of train.
SHORT_DATASETS: dict[str, dict[str, str]] = {
    "en": {"train": "tweeteval_sentiment_train.csv.gz", "test": "tweeteval_sentiment_val.csv.gz"},
    "ru": {"train": "rusentiment_train.csv.gz", "test": "rusentiment_test.csv.gz"},
}
# Files that keep their source's literal ``\uXXXX`` escapes (see SOURCES.md, TweetEval).
_ESCAPED_SOURCES = ("tweeteval_",)
_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def labels_for(lang: str) -> tuple[str, ...]:
    """IMDB is binary (neg/pos); Kinopoisk has a neutral class too."""
    return LABELS_BINARY if lang == "en" else LABELS_3


# ---------------------------------------------------------------------------------------------
# Cleaning

_BR = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)
_TAG = re.compile(r"</?[a-zA-Z][^<>]{0,200}>")
# The Kinopoisk author's own score ("8 из 10", "7/10", "7,5 из 10"), as given in SOURCES.md.
_SCORE = re.compile(r"(?<![\d,.])(10|[0-9]([.,]5)?)\s*(из|/)\s*10\b")
# What may follow a score for it to count as "the line ends with a score": punctuation only.
_SCORE_TAIL = re.compile(r"[\s.,;:!?…)\]»\"'*\-–—]*")
_SCORE_TAIL_LINES = 3  # look at the last 3 non-empty lines only
_SPACES = re.compile(r"[ \t\u00a0]+")
# Lone UTF-16 surrogates (legal in Bot API JSON as "\\ud800") cannot be encoded and would
# crash the Rust tokenizer; C0 control characters carry no meaning. Neither occurs in the
# datasets, so removing them changes no training text (C1 characters do occur: IMDB and
# Kinopoisk use \x96/\x97 as dashes, so they stay).
_SURROGATES = re.compile(r"[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def strip_html(text: str) -> str:
    """Turn ``<br />`` into line breaks, drop any other tag, and unescape entities (&amp;)."""
    text = _BR.sub("\n", text)
    text = _TAG.sub(" ", text)
    return html.unescape(text)


def strip_trailing_score(text: str) -> str:
    """Remove the author's score when it ends one of the last non-empty lines.

    Policy: only the last ``_SCORE_TAIL_LINES`` non-empty lines are looked at, and a score is
    removed only when nothing but punctuation follows it on its line. So "10 из 10!" at the end
    goes, while "5 из 10 фильмов" (a phrase, not a verdict) or a score in the middle of a
    paragraph stays. ~64% of Kinopoisk reviews end with such a score, which would otherwise
    leak the label.
    """
    lines = text.split("\n")
    seen = 0
    for i in range(len(lines) - 1, -1, -1):
        if not lines[i].strip():
            continue
        seen += 1
        if seen > _SCORE_TAIL_LINES:
            break
        line = lines[i]
        for m in reversed(list(_SCORE.finditer(line))):
            if _SCORE_TAIL.fullmatch(line[m.end() :]):
                line = line[: m.start()].rstrip()  # the score and its trailing punctuation
        lines[i] = line
    return "\n".join(lines)


def clean_text(text: str, lang: str) -> str:
    """The single cleaning step, shared by training and inference.

    Lone surrogates become U+FFFD and C0 control characters go (user input can hold them).
    HTML tags (IMDB's ``<br />``, Kinopoisk's ``<b>``/``<i>``) are removed, and for Russian
    the trailing author score is stripped (see ``strip_trailing_score``). Whitespace is
    normalised so that pasted text and dataset text look alike. Case is left to the
    tokenizer's normaliser.
    """
    text = _CONTROL.sub("", _SURROGATES.sub("\ufffd", text))
    text = strip_html(text)
    if lang == "ru":
        text = strip_trailing_score(text)
    text = _SPACES.sub(" ", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return "\n".join(line.strip() for line in text.split("\n")).strip()


# ---------------------------------------------------------------------------------------------
# Loading


@dataclass
class Split:
    """Cleaned texts and integer labels (indices into ``labels``)."""

    texts: list[str]
    labels: list[int]
    label_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.texts)


def decode_unicode_escapes(text: str) -> str:
    """``I\\u2019m`` → ``I’m``: TweetEval's 2013-2015 tweets keep JSON escapes as literal text.

    Real messages never contain them, so they are decoded when such a file is read (a lone
    surrogate escape becomes U+FFFD rather than an unencodable string).
    """

    def one(m: re.Match[str]) -> str:
        ch = chr(int(m.group(1), 16))
        return "\ufffd" if "\ud800" <= ch <= "\udfff" else ch

    return _UNICODE_ESCAPE.sub(one, text)


def read_csv(path: str | Path, limit: int | None = None) -> list[tuple[str, str]]:
    """Read a (possibly gzip'd) ``text,label`` CSV into (text, label) pairs."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        rows = [(r["text"], r["label"]) for r in csv.DictReader(f)]
    if path.name.startswith(_ESCAPED_SOURCES):
        rows = [(decode_unicode_escapes(t), y) for t, y in rows]
    if limit is not None and limit < len(rows):
        # Files are grouped by label, so a plain head would be one class: take an even stride.
        step = len(rows) / limit
        rows = [rows[int(i * step)] for i in range(limit)]
    return rows


def load_file(
    path: str | Path, lang: str, label_names: tuple[str, ...], limit: int | None = None
) -> Split:
    """Load one CSV, clean every text, and map labels; rows with unknown labels are dropped."""
    index = {name: i for i, name in enumerate(label_names)}
    texts, labels = [], []
    for text, label in read_csv(path, limit):
        if label in index:
            texts.append(clean_text(text, lang))
            labels.append(index[label])
    return Split(texts, labels, label_names)


def load_split(
    lang: str,
    split: str,
    root: str | Path | None = None,
    limit: int | None = None,
    extra: bool = False,
) -> Split:
    """Load ``train`` or ``test`` for a language; ``extra`` adds RuSentiment to ru train."""
    base = data_dir(root) / "sentiment"
    names = labels_for(lang)
    data = load_file(base / DATASETS[lang][split], lang, names, limit)
    if extra and lang == "ru" and split == "train":
        more = load_file(base / EXTRA_RU_TRAIN, lang, names, limit)
        data = Split(data.texts + more.texts, data.labels + more.labels, names)
    return data


def load_short_split(
    lang: str, split: str, root: str | Path | None = None, limit: int | None = None
) -> Split:
    """Load the short-text ``train`` or held-out ``test`` file of a language (3 classes)."""
    base = data_dir(root) / "sentiment"
    return load_file(base / SHORT_DATASETS[lang][split], lang, LABELS_3, limit)


def train_val_split(data: Split, val_fraction: float = 0.1) -> tuple[Split, Split]:
    """Carve the validation slice out of train by hashing the text.

    Rule: a row goes to validation when the first 8 hex digits of SHA-1(text), read as an
    integer, fall below ``val_fraction`` of the range. This is deterministic, independent of
    row order and seed, and keeps duplicate texts on the same side (IMDB has ~100 duplicates).
    """
    threshold = int(val_fraction * 0xFFFFFFFF)
    train_t, train_y, val_t, val_y = [], [], [], []
    for text, y in zip(data.texts, data.labels, strict=True):
        h = int(hashlib.sha1(text.encode("utf-8")).hexdigest()[:8], 16)
        if h < threshold:
            val_t.append(text)
            val_y.append(y)
        else:
            train_t.append(text)
            train_y.append(y)
    names = data.label_names
    return Split(train_t, train_y, names), Split(val_t, val_y, names)


def training_split(data: Split, val_fraction: float = 0.1) -> tuple[Split, Split]:
    """``train_val_split`` for a training run, which needs both sides: on tiny data (tests)
    where the hash leaves one side empty, the first tenth becomes validation instead."""
    train, val = train_val_split(data, val_fraction)
    if len(val) and len(train):
        return train, val
    cut = max(1, len(data) // 10)
    names = data.label_names
    return Split(data.texts[cut:], data.labels[cut:], names), Split(
        data.texts[:cut], data.labels[:cut], names
    )
