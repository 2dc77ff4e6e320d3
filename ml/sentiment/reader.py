"""What the bot serves for one language: a short-text and a review model, and the routing rule.

Why two models: a one-line message and a 500-word film review are different tasks (different
words, lengths and label balance). Each model is trained on its own domain and the reader
sends a text to the one that knows texts like it. Both share the same tokenizer, so a text is
tokenized once and the ids are reused by the model that reads it.

- **By domain** when the short checkpoint carries a learned router (``router.py``; ru): a
  logistic regression "short post or review" on the text's subwords, length and shape. Texts
  of at most ``always_short_tokens`` (32) tokens always go to the short model, so a user's
  one-liner is read as a message even when it talks about a film.
- **By length** otherwise (en): up to ``max_short_tokens`` subword tokens (stored in the short
  checkpoint: about the longest of its training texts; en 64) → the short model (trained on
  tweets), longer → the review model (IMDB).

Three classes everywhere. The English review model knows only pos/neg (IMDB has no neutral
reviews), so for long English texts the reader factorises
``P(neu) = short model's P(neu)`` and ``P(pos|neg) = (1 - P(neu)) · review model's P(pos|neg)``:
the review model decides the polarity, the short model whether there is any. The Russian
review model has three classes; on long texts the short model adds a second opinion with the
weight ``short_blend`` chosen on the review model's validation slice (``calibration.py``).

Every reading also says whether there was anything to judge (text with no word the model
knows, e.g. "aaaaaaa" or "asdkjh", is neutral and "not sure", never 98% positive) and *why*:
the words or phrases of the text that pushed the verdict most.
- texts of up to 48 words: occlusion on the model that read it, i.e. how much the verdict's
  log-odds drop when a word (then an adjacent pair around the strongest words) is removed;
- longer texts: the review bag channel's exact per-n-gram contributions (occluding each of
  300 words of a review would cost 300 model calls).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ml.sentiment.data import LABELS_3, clean_text
from ml.sentiment.lexicon import EMOTICON, units_of
from ml.sentiment.model import _P1, _P2
from ml.sentiment.predict import SentimentClassifier
from ml.sentiment.tokenizer import encode_batch

MAX_SHORT_TOKENS = 64  # for short checkpoints that do not store their own routing length
MAX_REASONS = 3
# A word must move the verdict's log-odds by this much to be quoted. Log-odds, not probability:
# in "superb, moving, wonderful" each word alone barely moves a 99.9% verdict, but each one
# still moves its log-odds clearly (and the bag channel's contributions are in logit units too).
MIN_REASON_DROP = 0.2
RELATIVE_REASON_DROP = 0.3  # ... and at least 30% of the strongest reason's effect
MAX_OCCLUSION_UNITS = 48  # longer short texts: only the first units are tried one by one
SHORT_VIEW_WORDS = 24  # the short model reads a long text's first and last 24 words
# Words whose token ids a reader remembers for reasons (a few MB; forgotten all at once when full)
UNIT_CACHE_SIZE = 50_000

# Units that can be quoted as a reason: words (with inner apostrophes/hyphens), emoji and
# bracket emoticons (")))" is a strong positive signal in Russian posts).
_UNIT = re.compile(
    r"[^\W\d_]+(?:['’\-][^\W\d_]+)*|\d+|[\U0001F000-\U0001FAFF\u2600-\u27BF]|" + EMOTICON.pattern
)


@dataclass(frozen=True)
class Reading:
    """One verdict, with the calibrated probabilities and the evidence for it."""

    label: str  # "neg" | "neu" | "pos"
    confidence: float  # calibrated probability of ``label``
    probabilities: dict[str, float]
    model: str  # "short" or "review": which model read it
    n_tokens: int
    truncated: bool
    judgeable: bool  # False: no word the model knows, so nothing to judge
    reasons: tuple[str, ...] = field(default=())  # quoted from the text, strongest first


@dataclass
class _Unit:
    text: str
    start: int
    end: int


class SentimentReader:
    """One language: the review model, the short model (optional), and the routing rule."""

    def __init__(
        self,
        review: SentimentClassifier,
        short: SentimentClassifier | None = None,
        max_short_tokens: int | None = None,
        route_by_domain: bool = True,
    ) -> None:
        self.review = review
        # False: route by length even when the short model has a domain router (comparisons).
        self.route_by_domain = route_by_domain
        self.short = short
        self.lang = review.lang
        self.labels = LABELS_3
        if short is None:
            max_short_tokens = -1
        elif max_short_tokens is None:  # the short model's own routing length, else the default
            max_short_tokens = short.route_max_tokens or MAX_SHORT_TOKENS
        self.max_short_tokens = max_short_tokens
        self.tokenizer = review.tokenizer
        self._vocab = self.tokenizer.get_vocab()
        self._unit_ids_cache: dict[str, list[int]] = {}

    @classmethod
    def load(cls, checkpoint_dir: str | Path, lang: str, quantize: bool = True) -> SentimentReader:
        """``sentiment-<lang>.pt`` (reviews) and, when present, ``sentiment-<lang>-short.pt``."""
        folder = Path(checkpoint_dir)
        review = SentimentClassifier.load(folder / f"sentiment-{lang}.pt", quantize=quantize)
        short_path = folder / f"sentiment-{lang}-short.pt"
        short = (
            SentimentClassifier.load(short_path, quantize=quantize) if short_path.exists() else None
        )
        if short is not None and short.tokenizer.to_str() == review.tokenizer.to_str():
            short.tokenizer = review.tokenizer  # the short model's encoder started as the
            # review model's, so both files hold the same BPE: one copy is ~5 MB less
        return cls(review, short)

    @property
    def model_names(self) -> list[str]:
        """Human descriptions of the models, for /about."""
        return [m.model_name for m in (self.short, self.review) if m is not None]

    # ------------------------------------------------------------------------------ verdicts

    def probabilities(
        self, texts: list[str], cleaned: list[str] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, list[str], list[int], list[bool]]:
        """Calibrated and raw (temperature 1) 3-class probs (N, 3), model used, n_tokens,
        truncated, for raw texts (``cleaned``: their ``clean_text``, if the caller has it).
        Raw ones are only for measuring calibration."""
        n = len(texts)
        calibrated, raw = torch.zeros(n, 3), torch.zeros(n, 3)
        used = ["review"] * n
        if cleaned is None:
            cleaned = [clean_text(t, self.lang) for t in texts]
        token_ids = encode_batch(self.tokenizer, cleaned)
        n_tokens = [len(ids) for ids in token_ids]
        truncated = [False] * n
        goes_short = self.goes_short(cleaned, token_ids)
        short_rows = [i for i in range(n) if goes_short[i]]
        long_rows = [i for i in range(n) if not goes_short[i]]
        if short_rows:
            assert self.short is not None
            cal, unc, cut = self._three_way(
                self.short, [texts[i] for i in short_rows], [token_ids[i] for i in short_rows]
            )
            for j, i in enumerate(short_rows):
                calibrated[i], raw[i], used[i], truncated[i] = cal[j], unc[j], "short", cut[j]
        if long_rows:
            long_texts = [texts[i] for i in long_rows]
            cal, unc, cut = self._three_way(
                self.review, long_texts, [token_ids[i] for i in long_rows]
            )
            views = [short_view(t) for t in long_texts]  # the short model's second opinion
            if self.short is not None and len(self.review.labels) == 2:
                neu_cal, neu_raw, _ = self._three_way(self.short, views)
                cal, unc = with_neutral(cal, neu_cal[:, 1:2]), with_neutral(unc, neu_raw[:, 1:2])
            elif self.short is not None and self.review.short_blend > 0:
                second_cal, second_raw, _ = self._three_way(self.short, views)
                w = self.review.short_blend
                cal, unc = blend(cal, second_cal, w), blend(unc, second_raw, w)
            for j, i in enumerate(long_rows):
                calibrated[i], raw[i], truncated[i] = cal[j], unc[j], cut[j]
        return calibrated, raw, used, n_tokens, truncated

    def goes_short(self, cleaned: list[str], token_ids: list[list[int]]) -> list[bool]:
        """Per cleaned text: does the short model read it (else the review model)?"""
        if self.short is None:
            return [False] * len(cleaned)
        if self.short.router is not None and self.route_by_domain:
            return self.short.router.goes_short(cleaned, token_ids)
        return [len(ids) <= self.max_short_tokens for ids in token_ids]

    def _three_way(
        self,
        clf: SentimentClassifier,
        texts: list[str],
        token_ids: list[list[int]] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, list[bool]]:
        """A model's calibrated and raw probabilities as (neg, neu, pos); binary → neu = 0."""
        logits, _, truncated = clf.channel_logits(texts, token_ids=token_ids)
        mixed = logits["mixed"]
        columns = [self.labels.index(name) for name in clf.labels]
        out = []
        for temperature in (clf.temperature, 1.0):
            p = torch.zeros(len(texts), 3)
            p[:, columns] = (mixed / temperature).softmax(dim=-1)
            out.append(p)
        return out[0], out[1], [bool(c) for c in truncated.tolist()]

    def known_words(self, text: str) -> int:
        """Distinct words (2+ letters) and emoticons of the text that the models know.

        Known: a whole token of the vocabulary, or in the short model's lexicon (the words of
        its training texts, ``lexicon.py``), so "ненавижу", which BPE splits, counts. Gibberish,
        keyboard mashing and a letter repeated 3,000 times have none: BPE can spell them, but
        the models have never seen them as words, so there is nothing to judge.
        """
        return sum(1 for unit in units_of(clean_text(text, self.lang)) if self._knows(unit))

    def _knows(self, unit: str) -> bool:
        """Is this word or emoticon a whole token of the vocabulary or in the lexicon?"""
        lexicon = self.short.lexicon if self.short is not None else None
        return f"▁{unit}" in self._vocab or (lexicon is not None and unit in lexicon)

    def read(self, texts: list[str], explain: bool = True) -> list[Reading]:
        """Verdicts (and, with ``explain``, reasons) for a batch of raw texts."""
        if not texts:
            return []
        cleaned = [clean_text(t, self.lang) for t in texts]
        probs, _, used, n_tokens, truncated = self.probabilities(texts, cleaned)
        readings = []
        for i, text in enumerate(texts):
            p = probs[i]
            judgeable = any(map(self._knows, units_of(cleaned[i])))  # stops at the first
            best = int(p.argmax())
            if not judgeable:  # no evidence: every class equally likely, shown as neutral
                p, best = torch.full((3,), 1 / 3), self.labels.index("neu")
            reasons: tuple[str, ...] = ()
            if explain and judgeable and self.labels[best] != "neu":
                reasons = self.reasons(text, best, used[i], float(p[best]))
            readings.append(
                Reading(
                    label=self.labels[best],
                    confidence=float(p[best]),
                    probabilities={name: float(q) for name, q in zip(self.labels, p, strict=True)},
                    model=used[i],
                    n_tokens=n_tokens[i],
                    truncated=truncated[i],
                    judgeable=judgeable,
                    reasons=reasons,
                )
            )
        return readings

    # ------------------------------------------------------------------------------- reasons

    def reasons(self, text: str, label: int, model: str, p_label: float) -> tuple[str, ...]:
        """The words or phrases of ``text`` that pushed class ``label`` most, strongest first.

        ``p_label`` is the verdict's calibrated probability for the whole text (already known
        from ``probabilities``; occlusion measures how far removing a word moves it).
        """
        units = [_Unit(m.group(), m.start(), m.end()) for m in _UNIT.finditer(text)]
        if not units:
            return ()
        if model == "short":
            base = log_odds(torch.tensor(p_label))
            scored = self._occlusion_scores(text, units, label, base, self.short)
        elif len(units) <= MAX_OCCLUSION_UNITS:
            # A short review (the router sends film-talk of 33+ tokens here): occlusion on the
            # review model is cheap, and its bag channel's per-n-gram weights are too small on
            # a few sentences to pass the thresholds. The short model's 0.1 vote is left out.
            assert self.review is not None
            base = self._label_log_odds([text], label, self.review)[0]
            scored = self._occlusion_scores(text, units, label, base, self.review)
        else:
            scored = self._bag_scores(units, label)
        return pick_reasons(scored)

    def _occlusion_scores(
        self,
        text: str,
        units: list[_Unit],
        label: int,
        base: torch.Tensor,
        clf: SentimentClassifier | None,
    ) -> list[tuple[float, str, int, int]]:
        """(drop in log-odds of label, phrase, first unit, last unit), single units and pairs."""
        assert clf is not None
        units = units[:MAX_OCCLUSION_UNITS]
        singles = [without(text, [(u.start, u.end)]) for u in units]
        drops = base - self._label_log_odds(singles, label, clf)
        scored = [(float(drops[i]), units[i].text, i, i) for i in range(len(units))]
        # Adjacent pairs around the strongest single words ("not bad", "не понравился").
        top = sorted(range(len(units)), key=lambda i: -drops[i])[:3]
        pairs = sorted(
            {(i - 1, i) for i in top if i > 0} | {(i, i + 1) for i in top if i + 1 < len(units)}
        )
        if pairs:
            variants = [without(text, [(units[a].start, units[b].end)]) for a, b in pairs]
            pair_drops = base - self._label_log_odds(variants, label, clf)
            for (a, b), d in zip(pairs, pair_drops.tolist(), strict=True):
                scored.append((float(d), text[units[a].start : units[b].end], a, b))
        return scored

    def _label_log_odds(
        self, texts: list[str], label: int, clf: SentimentClassifier
    ) -> torch.Tensor:
        """log P(label) - log P(not label) under one model (calibrated), per text."""
        return log_odds(self._three_way(clf, texts)[0][:, label])

    def _bag_margin(self, column: int, features: np.ndarray) -> np.ndarray:
        """W[f, column] - mean_c W[f, c] of the review model's bag table, for features f.

        Only the rows asked for: a margin over the whole 1M-row table would keep 4 MB per
        class in memory for a few hundred look-ups per review.
        """
        model = self.review.model
        index = torch.from_numpy(np.asarray(features, dtype=np.int64))
        rows = model.bag.weight.detach()[index].float()  # fp16 when served
        if model.nb_ratio is not None and not model.config.get("bag_norm"):
            rows = rows * model.nb_ratio[index, None]
        return (rows[:, column] - rows.mean(dim=1)).numpy()

    def _unit_ids(self, words: list[str]) -> list[list[int]]:
        """Each word's token ids, as ``encode_batch`` gives them, remembered across calls.

        Reviews repeat the same few thousand words, and encoding a review's ~300 words one by
        one took a third of its reasons (1.8 of 4.8 ms). Safe with two workers on one reader:
        a result never depends on the shared cache surviving a ``clear`` by the other.
        """
        cache = self._unit_ids_cache
        found = {word: cache.get(word) for word in words}
        missing = [word for word, ids in found.items() if ids is None]
        if missing:
            fresh = dict(zip(missing, encode_batch(self.tokenizer, missing), strict=True))
            found.update(fresh)
            if len(cache) + len(fresh) > UNIT_CACHE_SIZE:
                cache.clear()
            cache.update(fresh)
        return [found[word] for word in words]  # type: ignore[misc]

    def _bag_scores(self, units: list[_Unit], label: int) -> list[tuple[float, str, int, int]]:
        """Each unit's (and adjacent pair's) contribution to the bag channel's logit margin.

        The bag channel is linear in its n-gram features: a unigram or bigram f adds W[f, c]
        to class c's logit, so W[f, label] - mean_c W[f, c] is exactly how much f favours the
        verdict. A unit scores its own tokens and the bigrams inside it; a pair adds the bigram
        across the boundary.
        """
        clf = self.review
        cfg = clf.model.config
        classes = [self.labels.index(name) for name in clf.labels]
        column = classes.index(label) if label in classes else None
        if column is None:
            return []
        vocab, buckets = cfg["vocab_size"], cfg["buckets"]
        unit_ids = self._unit_ids([u.text for u in units])

        def bigram(a: int, b: int) -> int:
            return vocab + (a * _P1 + b * _P2) % (buckets - vocab)

        inside = [set(ids) | {bigram(a, b) for a, b in itertools.pairwise(ids)} for ids in unit_ids]
        across = [
            bigram(unit_ids[i][-1], unit_ids[i + 1][0]) if unit_ids[i] and unit_ids[i + 1] else None
            for i in range(len(units) - 1)
        ]
        wanted = sorted(set().union(*inside) | {f for f in across if f is not None})
        margin = dict(
            zip(wanted, self._bag_margin(column, np.asarray(wanted)).tolist(), strict=True)
        )
        own = [sum(margin[f] for f in feats) for feats in inside]
        scored = [(own[i], units[i].text, i, i) for i in range(len(units))]
        for i in range(len(units) - 1):
            if across[i] is not None:
                across_margin = margin[across[i]]
                if units[i + 1].start - units[i].end <= 1:  # adjacent words only
                    phrase = f"{units[i].text} {units[i + 1].text}"
                    scored.append((own[i] + own[i + 1] + across_margin, phrase, i, i + 1))
        return scored


def short_view(text: str, words: int = SHORT_VIEW_WORDS) -> str:
    """The first and last ``words`` words of a long text: what the short model reads of it.

    Reviews state their verdict at the start and the end; a window of one-line-message size
    keeps the short model's second opinion cheap (about a third of a full read).
    """
    parts = text.split()
    if len(parts) <= 2 * words:
        return text
    return " ".join(parts[:words] + parts[-words:])


def log_odds(p: torch.Tensor) -> torch.Tensor:
    """log p - log(1 - p), clamped away from 0 and 1."""
    p = p.clamp(1e-6, 1 - 1e-6)
    return p.log() - (1 - p).log()


def with_neutral(polar: torch.Tensor, p_neu: torch.Tensor) -> torch.Tensor:
    """(neg, 0, pos) from a binary model + P(neu) from another → (1-P)·neg, P, (1-P)·pos."""
    return torch.cat([polar[:, :1] * (1 - p_neu), p_neu, polar[:, 2:] * (1 - p_neu)], dim=1)


def blend(review: torch.Tensor, short: torch.Tensor, w: float) -> torch.Tensor:
    """softmax((1-w)·log p_review + w·log p_short): the short model as a second opinion."""
    logp = (1 - w) * review.clamp(min=1e-9).log() + w * short.clamp(min=1e-9).log()
    return logp.softmax(dim=1)


def without(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with the character spans removed (and the gap closed to one space)."""
    out, last = [], 0
    for start, end in sorted(spans):
        out.append(text[last:start])
        last = end
    out.append(text[last:])
    return re.sub(r"\s{2,}", " ", "".join(out)).strip()


def pick_reasons(scored: list[tuple[float, str, int, int]]) -> tuple[str, ...]:
    """Strongest non-overlapping phrases above the thresholds, no repeats, at most three.

    A pair is preferred to its single words only when it moves the verdict clearly more than
    the stronger of them (so "not bad" is quoted as a phrase, "very very" is not).
    """
    single = {a: s for s, _, a, b in scored if a == b}
    chosen: list[tuple[float, str, int, int]] = []
    taken: set[int] = set()
    seen: set[str] = set()
    ranked = sorted(scored, key=lambda r: -r[0])
    floor = max(MIN_REASON_DROP, RELATIVE_REASON_DROP * ranked[0][0]) if ranked else 0.0
    for s, phrase, a, b in ranked:
        if s < floor or len(chosen) == MAX_REASONS:
            break
        if a != b and s < 1.25 * max(single.get(a, 0.0), single.get(b, 0.0)):
            continue
        key = phrase.lower()
        if taken & set(range(a, b + 1)) or key in seen:
            continue
        chosen.append((s, phrase, a, b))
        taken |= set(range(a, b + 1))
        seen.add(key)
    return tuple(phrase for _, phrase, _, _ in chosen)
