"""Subword tokenizer: a Hugging Face ``tokenizers`` BPE model trained on the training split.

Why BPE and not words: reviews are full of rare names, typos and (in Russian) long inflected
forms; subwords keep the vocabulary small (so the embedding table fits the 20 MB budget) while
never producing an unknown token. The tokenizer is serialised with ``to_str()`` into the
checkpoint, so a ``.pt`` file is all the bot needs.
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

PAD = "<pad>"
UNK = "<unk>"
SPECIAL_TOKENS = [PAD, UNK]  # PAD must be id 0: embeddings use padding_idx=0


def train_tokenizer(texts: Iterable[str], vocab_size: int = 16_000) -> Tokenizer:
    """Train a lowercasing BPE tokenizer (Metaspace pre-tokenizer, so decode restores spaces)."""
    tok = Tokenizer(models.BPE(unk_token=UNK))
    tok.normalizer = normalizers.Sequence(
        [normalizers.NFKC(), normalizers.Lowercase(), normalizers.Replace("ё", "е")]
    )
    # Split punctuation off words first so "great!" and "great" share the token "great".
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Punctuation(), pre_tokenizers.Metaspace()]
    )
    tok.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIAL_TOKENS, show_progress=False
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def tokenizer_to_str(tok: Tokenizer) -> str:
    """Serialise for the checkpoint dict (a plain JSON string, safe for ``weights_only``)."""
    return tok.to_str()


def tokenizer_from_str(blob: str) -> Tokenizer:
    """Inverse of ``tokenizer_to_str``."""
    return Tokenizer.from_str(blob)


def encode_batch(tok: Tokenizer, texts: list[str]) -> list[list[int]]:
    """Token ids for many texts at once (the Rust side parallelises, if threads are allowed)."""
    return [enc.ids for enc in tok.encode_batch(texts, add_special_tokens=False)]
