"""The sentiment model: a bidirectional GRU over subword tokens, plus an n-gram side channel.

Architecture (all in one ``nn.Module`` so one checkpoint holds everything)::

    tokens ─ Embedding ─ BiGRU (length-aware) ─ [max ‖ mean pool] ─ Linear ─► rnn logits ─┐
                                                                         mixer (2C → C) ─► logits
    hashed uni+bigrams of all tokens ─ NB-weighted EmbeddingBag (sum) ─► bag logits ───┘

Why the side channel: on IMDB a BiGRU on 22k reviews reaches ~88% from scratch and ~90% after
language-model pretraining (``pretrain.py``), while a linear model over n-grams with
naive-Bayes feature weights (NBSVM, Wang & Manning 2012) reaches ~91.5%. Their errors differ,
so a late fusion of the two beats both. The bag channel is a fastText-style hashed
EmbeddingBag whose per-feature input weights are the NB log-count ratios computed on the
training split; its output is the channel's logits.
Each channel is trained with its own loss; the mixer (a 2C→C linear layer over the
concatenated logits) is fitted afterwards on the validation slice.

Truncation policy: the RNN reads at most ``head + tail`` tokens (default 256 + 256): the
first ``head`` and the last ``tail``. Reviews state their verdict at the start or the end,
and the middle of a 2,000-word essay is mostly plot. The bag channel is cheap and always sees
every n-gram of the whole text.
"""

from __future__ import annotations

import zlib

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# Hashing constants for n-gram buckets; they are part of the model (changing them breaks
# checkpoints), so they are stored in the checkpoint config too.
_P1, _P2, _P3 = 1_000_003, 7_919, 104_729


def truncate_head_tail(ids: list[int], head: int, tail: int) -> tuple[list[int], bool]:
    """Keep the first ``head`` and last ``tail`` tokens; report whether anything was cut."""
    if len(ids) <= head + tail:
        return ids, False
    return ids[:head] + (ids[-tail:] if tail > 0 else []), True


def hashed_ngrams(ids: list[int], vocab_size: int, buckets: int, order: int = 2) -> np.ndarray:
    """Distinct unigram and hashed n-gram feature ids of one text (binarized, as in NBSVM).

    Unigrams keep their token id; bigrams (and trigrams when ``order`` is 3) are hashed into
    ``[vocab_size, buckets)``.
    """
    x = np.asarray(ids, dtype=np.int64)
    parts = [x]
    if order >= 2 and len(x) > 1:
        parts.append(vocab_size + (x[:-1] * _P1 + x[1:] * _P2) % (buckets - vocab_size))
    if order >= 3 and len(x) > 2:
        tri = x[:-2] * _P1 + x[1:-1] * _P2 + x[2:] * _P3
        parts.append(vocab_size + (tri * _P2) % (buckets - vocab_size))
    x = np.concatenate(parts)
    if len(x) == 0:
        x = np.zeros(1, dtype=np.int64)  # the pad id: r[0] is 0, so an empty text adds nothing
    return np.unique(x)


def char_ngrams(text: str, lo: int, hi: int, vocab_size: int, buckets: int) -> np.ndarray:
    """Hashed character n-gram ids (``lo``..``hi`` chars) inside word boundaries, like
    scikit-learn's ``char_wb`` analyzer: each word is padded with one space on both sides.

    Why: short Russian posts are full of inflected forms, typos and emoticons; character
    n-grams share evidence between "отлично", "отличный" and "отличнооо" where BPE pieces may
    not (TF-IDF+LR on RuSentiment: word n-grams 62.8 macro-F1, char_wb 2-5 71.7). CRC32 keeps
    the hash stable across processes (Python's ``hash`` is salted per run).
    """
    span = buckets - vocab_size
    out = set()
    for word in text.lower().replace("ё", "е").split():
        padded = f" {word} "
        for n in range(lo, hi + 1):
            for i in range(len(padded) - n + 1):
                out.add(
                    vocab_size + zlib.crc32(padded[i : i + n].encode("utf-8", "replace")) % span
                )
    return np.fromiter(out, dtype=np.int64, count=len(out))


def idf_weights(features: list[np.ndarray], buckets: int, min_df: int = 2) -> torch.Tensor:
    """Smoothed inverse document frequency per feature (scikit-learn's formula), 0 below min_df.

    Used as the bag channel's per-feature input scale in the short-text models, where the bag
    is a TF-IDF logistic regression (binary tf, L2-normalised per text).
    """
    df = np.zeros(buckets, dtype=np.float64)
    for f in features:
        df[f] += 1
    n = len(features)
    idf = np.log((1 + n) / (1 + df)) + 1.0
    idf[df < min_df] = 0.0
    idf[0] = 0.0
    return torch.from_numpy(idf.astype(np.float32))


def nb_log_ratios(
    features: list[np.ndarray], labels: list[int], buckets: int, pos: int, neg: int
) -> torch.Tensor:
    """Naive-Bayes log-count ratio r = log(p/|p|) - log(q/|q|) per feature, pos vs neg.

    ``p``/``q`` are add-one smoothed document counts in positive/negative training texts. For
    three classes neutral texts are ignored: r measures polarity, and the channel's linear
    weights still learn a neutral output from it.
    """
    p = np.ones(buckets, dtype=np.float64)
    q = np.ones(buckets, dtype=np.float64)
    for f, y in zip(features, labels, strict=True):
        if y == pos:
            p[f] += 1
        elif y == neg:
            q[f] += 1
    r = np.log(p / p.sum()) - np.log(q / q.sum())
    r[0] = 0.0
    return torch.from_numpy(r.astype(np.float32))


def text_index(bag_ids: torch.Tensor, bag_offsets: torch.Tensor) -> tuple[int, torch.Tensor]:
    """(number of texts, the text each flat n-gram id belongs to) of an EmbeddingBag batch."""
    sizes = torch.diff(bag_offsets, append=bag_offsets.new_tensor([len(bag_ids)]))
    return len(sizes), torch.repeat_interleave(
        torch.arange(len(sizes), device=bag_ids.device), sizes
    )


def pool_real_positions(h: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Max and mean over each row's first ``lengths[i]`` positions of ``h`` (B, T, H): (B, H)
    each. A row of length 0 (``collate`` makes none) is pooled over its first position."""
    T = h.shape[1]
    if bool((lengths == T).all()):
        return h.amax(dim=1), h.sum(dim=1) / T
    rows = [h[i, : max(int(n), 1)] for i, n in enumerate(lengths.tolist())]
    maxima = torch.stack([r.amax(dim=0) for r in rows])
    means = torch.stack([r.sum(dim=0) for r in rows]) / lengths[:, None].clamp(min=1).to(h.dtype)
    return maxima, means


class SentimentRNN(nn.Module):
    """BiGRU with max+mean pooling, an NB-weighted n-gram bag channel, and a logit mixer."""

    def __init__(
        self,
        vocab_size: int,
        n_classes: int,
        emb_dim: int = 128,
        hidden: int = 128,
        buckets: int = 1 << 20,
        emb_dropout: float = 0.3,
        dropout: float = 0.4,
        ngram_order: int = 2,
        nb_folded: bool = False,
        char_ngrams: tuple[int, int] | list[int] | None = None,
        bag_norm: bool = False,
    ) -> None:
        super().__init__()
        self.config = dict(
            vocab_size=vocab_size,
            n_classes=n_classes,
            emb_dim=emb_dim,
            hidden=hidden,
            buckets=buckets,
            emb_dropout=emb_dropout,
            dropout=dropout,
            ngram_order=ngram_order,
            nb_folded=nb_folded,
            char_ngrams=list(char_ngrams) if char_ngrams else None,
            bag_norm=bag_norm,
        )
        self.embedding = nn.Embedding(vocab_size, emb_dim, padding_idx=0)
        self.emb_dropout = nn.Dropout(emb_dropout)
        # Bidirectional GRU as two unidirectional GRUs (see ``rnn_logits`` for why).
        self.gru = nn.GRU(emb_dim, hidden, batch_first=True)
        self.gru_reverse = nn.GRU(emb_dim, hidden, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.rnn_head = nn.Linear(4 * hidden, n_classes)
        # Bag channel: sum over distinct n-grams f of r[f] * W[f] (+ bias).
        self.bag = nn.EmbeddingBag(buckets, n_classes, mode="sum")
        nn.init.zeros_(self.bag.weight)
        self.bag_bias = nn.Parameter(torch.zeros(n_classes))
        # Per-feature input scale: the NB ratio r in the review models (a saved review model has
        # r folded into the table, W' = r·W, see ``fold_nb_ratio``: the same function in 2 MB
        # less), or the idf in the short-text models, whose ``bag_norm`` L2-normalises each
        # text's scaled features (TF-IDF); the norm needs the scale, so there it is kept.
        self.register_buffer("nb_ratio", None if nb_folded else torch.zeros(buckets))
        # Mixer starts as "add the two channels' logits" and is refitted on validation data.
        self.mixer = nn.Linear(2 * n_classes, n_classes)
        with torch.no_grad():
            eye = torch.eye(n_classes)
            self.mixer.weight.copy_(torch.cat([eye, eye], dim=1))
            self.mixer.bias.zero_()

    def rnn_logits(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, T) right-padded token ids and their lengths → (B, C) logits of the RNN channel.

        Length-aware without ``pack_padded_sequence``: on CPU the packed GRU backward is ~30x
        slower than the padded one (measured, torch 2.13). Instead the backward direction runs
        a second GRU over each sequence reversed *within its own length*, so neither direction
        reads padding before real tokens, and pooling skips the padded positions.

        Pooling (max and mean over the real positions) is per direction and per row, on views:
        a batch of 8 reviews of 512 tokens has 6 MB of states per direction, and un-reversing,
        joining, masking and multiplying them by the mask had made four copies of 6-12 MB each
        (a padded batch of 8 pooled this way is ~20% faster). Max and mean do not depend on
        the order of the positions, so the backward states are pooled in the reversed order
        they come in.
        """
        T = tokens.shape[1]
        x = self.emb_dropout(self.embedding(tokens).float())  # served embeddings are fp16
        h_fwd, _ = self.gru(x)
        if bool((lengths == T).all()):  # no padding (e.g. one text): reversing is a flip
            h_bwd = self.gru_reverse(x.flip(1))[0]
        else:
            pos = torch.arange(T, device=tokens.device)[None, :]
            rev = torch.where(pos < lengths[:, None], lengths[:, None] - 1 - pos, pos)
            h_bwd, _ = self.gru_reverse(x.gather(1, rev[:, :, None].expand(-1, -1, x.shape[-1])))
        pooled = [pool_real_positions(h, lengths) for h in (h_fwd, h_bwd)]
        features = torch.cat([pooled[0][0], pooled[1][0], pooled[0][1], pooled[1][1]], dim=1)
        return self.rnn_head(self.dropout(features))

    def bag_logits(self, bag_ids: torch.Tensor, bag_offsets: torch.Tensor) -> torch.Tensor:
        """Flat n-gram ids with per-text offsets (EmbeddingBag layout) → (B, C) logits."""
        weights = None if self.nb_ratio is None else self.nb_ratio[bag_ids]
        normalise = self.config.get("bag_norm") and weights is not None
        served_fp16 = self.bag.weight.dtype != torch.float32
        if normalise or served_fp16:
            n_texts, text_of = text_index(bag_ids, bag_offsets)
        if normalise:
            sq = torch.zeros(n_texts, device=weights.device).index_add_(0, text_of, weights**2)
            weights = weights / sq.sqrt().clamp(min=1e-6)[text_of]
        if served_fp16:  # the served fp16 table: summed in fp32
            rows = self.bag.weight[bag_ids].float()
            if weights is not None:
                rows = rows * weights[:, None]
            summed = rows.new_zeros(n_texts, rows.shape[1]).index_add_(0, text_of, rows)
            return summed + self.bag_bias
        return self.bag(bag_ids, bag_offsets, per_sample_weights=weights) + self.bag_bias

    def mix(self, rnn: torch.Tensor, bag: torch.Tensor) -> torch.Tensor:
        """Late fusion of the two channels' logits."""
        return self.mixer(torch.cat([rnn, bag], dim=1))

    def forward(
        self,
        tokens: torch.Tensor,
        lengths: torch.Tensor,
        bag_ids: torch.Tensor,
        bag_offsets: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns (mixed logits, rnn logits, bag logits)."""
        rnn = self.rnn_logits(tokens, lengths)
        bag = self.bag_logits(bag_ids, bag_offsets)
        return self.mix(rnn, bag), rnn, bag


def fold_nb_ratio(model: SentimentRNN) -> SentimentRNN:
    """The same model with the NB ratios multiplied into the bag table (for inference/saving).

    sum_f r[f]·W[f] equals sum_f W'[f] with W' = r[:, None]·W, so the 1M-entry ratio buffer
    need not be stored. Returns a new CPU model; ``model`` is left as it is.
    """
    if model.nb_ratio is None or model.config.get("bag_norm"):
        return model  # nothing to fold, or the scale is needed for the per-text norm
    folded = SentimentRNN(**{**model.config, "nb_folded": True})
    state = {k: v.detach().cpu() for k, v in model.state_dict().items() if k != "nb_ratio"}
    state["bag.weight"] = state["bag.weight"] * model.nb_ratio.detach().cpu()[:, None]
    folded.load_state_dict(state)
    return folded.eval()


def fit_mixer(
    model: SentimentRNN,
    rnn: torch.Tensor,
    bag: torch.Tensor,
    y: torch.Tensor,
    class_weight: torch.Tensor | None = None,
    steps: int = 200,
) -> None:
    """Fit the mixer (2C·C + C parameters) on held-out logits by L-BFGS on cross-entropy.

    The channels' own training logits are overconfident (the bag nearly memorises the train
    split), so the mixing weights must come from data neither channel was trained on.
    """
    mixer = model.mixer
    opt = torch.optim.LBFGS(mixer.parameters(), lr=0.5, max_iter=steps)
    feats = torch.cat([rnn, bag], dim=1).detach()

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(mixer(feats), y, weight=class_weight)
        loss = loss + 1e-3 * mixer.weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)


def count_parameters(model: nn.Module) -> dict[str, int]:
    """Parameter counts per channel, for the model card."""
    bag = model.bag.weight.numel() + model.bag_bias.numel()
    total = sum(p.numel() for p in model.parameters())
    return {"total": total, "bag_channel": bag, "rnn_channel": total - bag}
