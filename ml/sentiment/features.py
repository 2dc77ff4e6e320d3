"""Model inputs from token ids, shared by training and inference so both see the same features.

``encode_texts`` turns cleaned texts into (truncated RNN ids, hashed n-gram bags); ``collate``
pads a batch of them into tensors; ``length_batches`` groups similar lengths to save padding.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ml.sentiment.model import char_ngrams, hashed_ngrams, truncate_head_tail
from ml.sentiment.tokenizer import encode_batch


def encode_texts(
    tok: Any,
    texts: list[str],
    head: int,
    tail: int,
    vocab_size: int,
    buckets: int,
    ngram_order: int = 2,
    char_range: tuple[int, int] | list[int] | None = None,
) -> tuple[list[list[int]], list[np.ndarray], list[int], list[bool]]:
    """Tokenize, truncate for the RNN (head + tail), hash n-grams of the whole text.

    ``char_range`` (the short-text models) adds hashed character n-grams to each bag.
    """
    ids, bags, n_tokens, truncated = features_from_ids(
        encode_batch(tok, texts), head, tail, vocab_size, buckets, ngram_order
    )
    if char_range:
        bags = add_char_ngrams(bags, texts, char_range, vocab_size, buckets)
    return ids, bags, n_tokens, truncated


def add_char_ngrams(
    bags: list[np.ndarray],
    texts: list[str],
    char_range: tuple[int, int] | list[int],
    vocab_size: int,
    buckets: int,
) -> list[np.ndarray]:
    """Each text's bag with its hashed character n-grams added (distinct ids, sorted)."""
    lo, hi = char_range
    return [
        np.union1d(bag, char_ngrams(text, lo, hi, vocab_size, buckets))
        for bag, text in zip(bags, texts, strict=True)
    ]


def features_from_ids(
    all_ids: list[list[int]],
    head: int,
    tail: int,
    vocab_size: int,
    buckets: int,
    ngram_order: int = 2,
) -> tuple[list[list[int]], list[np.ndarray], list[int], list[bool]]:
    """``encode_texts`` after tokenizing: for callers that also need the full ids (training)."""
    ids, bags, n_tokens, truncated = [], [], [], []
    for full in all_ids:
        cut, was_cut = truncate_head_tail(full, head, tail)
        ids.append(cut if cut else [0])  # an empty text becomes one pad token (length 1)
        bags.append(hashed_ngrams(full, vocab_size, buckets, ngram_order))
        n_tokens.append(len(full))
        truncated.append(was_cut)
    return ids, bags, n_tokens, truncated


def collate(
    ids: list[list[int]], bags: list[np.ndarray], device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, ...]:
    """Pad token ids into (B, T) and flatten n-gram ids into EmbeddingBag (ids, offsets)."""
    lengths = torch.tensor([len(x) for x in ids], dtype=torch.long)
    tokens = torch.zeros(len(ids), int(lengths.max()), dtype=torch.long)
    for i, x in enumerate(ids):
        tokens[i, : len(x)] = torch.tensor(x, dtype=torch.long)
    bag_ids = torch.from_numpy(np.concatenate(bags))
    offsets = torch.tensor([0] + [len(b) for b in bags[:-1]], dtype=torch.long).cumsum(0)
    return tuple(t.to(device) for t in (tokens, lengths, bag_ids, offsets))


def length_batches(
    lengths: list[int],
    batch_size: int,
    gen: torch.Generator | None,
    max_tokens: int | None = None,
) -> list[list[int]]:
    """Batches of similar length (less padding, faster GRU), in random order when ``gen``.

    Shuffle, cut into pools of 50 batches, sort each pool by length, slice into batches,
    then shuffle the batches: random enough for SGD, nearly padding-free. ``max_tokens`` also
    caps a batch's padded size (texts × its longest text; one text always fits): the int8 GRU
    holds about 15 KB per padded token while it runs, so 8 reviews of 512 tokens need ~31 MB
    at once, and 4 need half that for nearly the same speed per review.
    """
    n = len(lengths)
    order = torch.randperm(n, generator=gen).tolist() if gen is not None else list(range(n))
    pool = batch_size * 50
    batches: list[list[int]] = []
    for s in range(0, n, pool):
        chunk = sorted(order[s : s + pool], key=lambda i: lengths[i])
        batch: list[int] = []
        for i in chunk:  # ascending, so text i is the longest of the batch it joins
            full = len(batch) >= batch_size
            if batch and (full or (max_tokens and (len(batch) + 1) * lengths[i] > max_tokens)):
                batches.append(batch)
                batch = []
            batch.append(i)
        if batch:
            batches.append(batch)
    if gen is not None:
        batches = [batches[i] for i in torch.randperm(len(batches), generator=gen).tolist()]
    return batches
