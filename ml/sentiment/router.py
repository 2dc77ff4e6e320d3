"""Which of a language's two models should read a text: a learned "review or short post" router.

Why not length alone: a 100-token film review and a 100-token VK post are the same length
but different tasks. The short model (trained on posts) misreads short film reviews and the
review model (trained on reviews) misreads long posts; with a length threshold some of each
go to the wrong model. This router is a logistic regression on what tells the two kinds of
text apart: the subword vocabulary (film words, plot words, chat words), the length, and the
shape of the text (line breaks, emoticons, exclamation marks, digits, capitals). It is fitted
on the two training files (reviews vs short posts) and stored in the short checkpoint's
``meta["router"]``, so no extra file ships.

A text of at most ``always_short_tokens`` tokens always goes to the short model: a user's
one-liner ("Отличный фильм!") is a short message however film-like its words are, and review
training data has almost nothing that short to learn from.

Cheap at serving time: the token ids are already there (the reader measures the length with
them), the rest is a few regex counts and one dot product.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

# Text-shape features, each a rate per token (or a log length). Names are stored with the
# weights, so the order below is part of the checkpoint format.
_EMOTICON = re.compile(r"[()]{2,}|[:;=]-?[()DPp]|[\U0001F000-\U0001FAFF\u2600-\u27BF]")
_SHAPE = {
    "newlines": re.compile(r"\n"),
    "exclamations": re.compile(r"!"),
    "questions": re.compile(r"\?"),
    "emoticons": _EMOTICON,
    "digits": re.compile(r"\d"),
    "capitals": re.compile(r"[A-ZА-ЯЁ]"),
    "latin": re.compile(r"[a-zA-Z]"),
    "quotes": re.compile(r"[«»\"]"),
}
SHAPE_NAMES = ("log_tokens", *_SHAPE)
ALWAYS_SHORT_TOKENS = 32  # RuSentiment median is 15 tokens; 0.07% of Kinopoisk reviews are ≤ 32


def shape_features(texts: list[str], n_tokens: list[int]) -> np.ndarray:
    """(N, len(SHAPE_NAMES)): log(1 + tokens) and per-token rates of the shape patterns."""
    out = np.zeros((len(texts), len(SHAPE_NAMES)), dtype=np.float64)
    for i, (text, n) in enumerate(zip(texts, n_tokens, strict=True)):
        out[i, 0] = math.log1p(n)
        for j, pattern in enumerate(_SHAPE.values(), start=1):
            out[i, j] = len(pattern.findall(text)) / max(n, 1)
    return out


def token_features(ids: list[list[int]], vocab_size: int) -> Any:
    """Sparse (N, vocab): which subword tokens occur, L2-normalised per text."""
    import scipy.sparse as sp

    rows, cols = [], []
    for i, seq in enumerate(ids):
        distinct = np.unique(np.asarray(seq, dtype=np.int64)) if seq else np.zeros(0, np.int64)
        rows.append(np.full(len(distinct), i))
        cols.append(distinct)
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    values = np.ones(len(r))
    m = sp.csr_matrix((values, (r, c)), shape=(len(ids), vocab_size))
    norms = np.sqrt(np.asarray(m.sum(axis=1)).ravel()).clip(min=1.0)
    return sp.diags(1.0 / norms) @ m


@dataclass
class DomainRouter:
    """P(short post | text) = sigmoid(token_weights · tokens + shape_weights · shape + bias)."""

    token_weights: np.ndarray  # (vocab,)
    shape_mean: np.ndarray  # standardisation of the shape features
    shape_scale: np.ndarray
    shape_weights: np.ndarray
    bias: float
    always_short_tokens: int = ALWAYS_SHORT_TOKENS
    threshold: float = 0.5  # on P(short); 0.5 unless validation said otherwise

    def short_probability(self, texts: list[str], ids: list[list[int]]) -> np.ndarray:
        """P(short post) per (cleaned) text; ``ids`` are its subword ids."""
        n_tokens = [len(x) for x in ids]
        shape = (shape_features(texts, n_tokens) - self.shape_mean) / self.shape_scale
        logit = shape @ self.shape_weights + self.bias
        for i, seq in enumerate(ids):
            distinct = np.unique(np.asarray(seq, dtype=np.int64))
            distinct = distinct[distinct < len(self.token_weights)]
            if len(distinct):
                logit[i] += self.token_weights[distinct].sum() / math.sqrt(len(distinct))
        return 1.0 / (1.0 + np.exp(-logit))

    def goes_short(self, texts: list[str], ids: list[list[int]]) -> list[bool]:
        """The routing decision: one-liners always short, the rest by the learned P(short)."""
        p = self.short_probability(texts, ids)
        return [
            len(seq) <= self.always_short_tokens or bool(p[i] >= self.threshold)
            for i, seq in enumerate(ids)
        ]

    # ------------------------------------------------------------------ checkpoint round trip

    def to_meta(self) -> dict[str, Any]:
        """Plain tensors and numbers only, so the checkpoint still loads with weights_only."""
        return {
            "kind": "domain-lr",
            "shape_names": list(SHAPE_NAMES),
            "token_weights": torch.from_numpy(self.token_weights.astype(np.float32)),
            "shape_mean": self.shape_mean.tolist(),
            "shape_scale": self.shape_scale.tolist(),
            "shape_weights": self.shape_weights.tolist(),
            "bias": float(self.bias),
            "always_short_tokens": int(self.always_short_tokens),
            "threshold": float(self.threshold),
        }

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> DomainRouter:
        if meta.get("kind") != "domain-lr" or list(meta["shape_names"]) != list(SHAPE_NAMES):
            raise ValueError("unknown router format")
        return cls(
            token_weights=meta["token_weights"].float().numpy().astype(np.float64),
            shape_mean=np.asarray(meta["shape_mean"], dtype=np.float64),
            shape_scale=np.asarray(meta["shape_scale"], dtype=np.float64),
            shape_weights=np.asarray(meta["shape_weights"], dtype=np.float64),
            bias=float(meta["bias"]),
            always_short_tokens=int(meta["always_short_tokens"]),
            threshold=float(meta.get("threshold", 0.5)),
        )


def fit_router(
    short_texts: list[str],
    short_ids: list[list[int]],
    review_texts: list[str],
    review_ids: list[list[int]],
    vocab_size: int,
    c: float = 1.0,
    always_short_tokens: int = ALWAYS_SHORT_TOKENS,
) -> DomainRouter:
    """Logistic regression "short post (1) vs review (0)", classes balanced.

    Only texts longer than ``always_short_tokens`` are fitted on: shorter ones never reach the
    router, and leaving them in would teach it little beyond "short means short".
    """
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    keep_s = [i for i, x in enumerate(short_ids) if len(x) > always_short_tokens]
    keep_r = [i for i, x in enumerate(review_ids) if len(x) > always_short_tokens]
    texts = [short_texts[i] for i in keep_s] + [review_texts[i] for i in keep_r]
    ids = [short_ids[i] for i in keep_s] + [review_ids[i] for i in keep_r]
    y = np.array([1] * len(keep_s) + [0] * len(keep_r))
    if len(set(y.tolist())) < 2:
        raise ValueError("the router needs texts of both kinds above always_short_tokens")
    shape = shape_features(texts, [len(x) for x in ids])
    mean, scale = shape.mean(axis=0), shape.std(axis=0) + 1e-6
    x = sp.hstack([token_features(ids, vocab_size), sp.csr_matrix((shape - mean) / scale)])
    clf = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
    clf.fit(x.tocsr(), y)
    coef = np.asarray(clf.coef_, dtype=np.float64)[0]
    return DomainRouter(
        token_weights=coef[:vocab_size],
        shape_mean=mean,
        shape_scale=scale,
        shape_weights=coef[vocab_size:],
        bias=float(clf.intercept_[0]),
        always_short_tokens=always_short_tokens,
    )


def fit_router_checkpoint(
    path: str | Path,
    data_dir: str | Path | None = None,
    c: float = 16.0,
    always_short_tokens: int = ALWAYS_SHORT_TOKENS,
    val_fraction: float = 0.1,
) -> dict[str, Any]:
    """Fit the router of a short checkpoint and store it in its ``meta["router"]``.

    Fitted on the training parts of the language's short-text and review training files (the
    same hash rule carves the same validation slices the models use), scored on those
    validation slices: the share of each sent to the wrong model, next to length routing.
    The weights of the model are untouched.
    """
    from ml.sentiment.data import load_short_split, load_split, train_val_split
    from ml.sentiment.tokenizer import encode_batch, tokenizer_from_str

    path = Path(path)
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    lang = ckpt["lang"]
    tok = tokenizer_from_str(ckpt["tokenizer"])
    vocab_size = ckpt["model_config"]["vocab_size"]
    short_train, short_val = train_val_split(
        load_short_split(lang, "train", data_dir), val_fraction
    )
    review_train, review_val = train_val_split(load_split(lang, "train", data_dir), val_fraction)
    router = fit_router(
        short_train.texts,
        encode_batch(tok, short_train.texts),
        review_train.texts,
        encode_batch(tok, review_train.texts),
        vocab_size,
        c=c,
        always_short_tokens=always_short_tokens,
    )
    length_limit = int(ckpt["meta"].get("route_max_tokens") or 64)
    report: dict[str, Any] = {"C": c, "always_short_tokens": always_short_tokens}
    for name, split, is_short in (("short", short_val, True), ("review", review_val, False)):
        ids = encode_batch(tok, split.texts)
        by_domain = router.goes_short(split.texts, ids)
        by_length = [len(x) <= length_limit for x in ids]
        report[f"val_{name}_misrouted"] = sum(g != is_short for g in by_domain) / len(ids)
        report[f"val_{name}_misrouted_by_length"] = sum(g != is_short for g in by_length) / len(ids)
    ckpt["meta"]["router"] = router.to_meta()
    ckpt["meta"]["router_report"] = report
    torch.save(ckpt, path)
    return report
