"""The sentiment checkpoint file: one self-contained ``.pt`` that the bot loads with no extras."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ml.common import save_training_report
from ml.sentiment.model import SentimentRNN, fold_nb_ratio
from ml.sentiment.tokenizer import tokenizer_to_str

CHECKPOINT_FORMAT = "namecraft-sentiment-v1"


def model_name_for(lang: str, pretrained: bool = False) -> str:
    """Short human description shown by the bot."""
    corpus = "IMDB" if lang == "en" else "Kinopoisk"
    rnn = "LM-pretrained BiGRU" if pretrained else "BiGRU"
    return f"{rnn}+NB-bigrams · {corpus} ({lang})"


def save_checkpoint(
    path: Path,
    model: SentimentRNN,
    tok: Any,
    lang: str,
    labels: tuple[str, ...],
    head: int,
    tail: int,
    meta: dict[str, Any],
) -> None:
    """One file: fp16 weights, config, tokenizer JSON, labels, metadata.

    Weights are stored in fp16, with the NB ratios folded into the bag table, to stay under the
    20 MB budget (the embedding and the 1M-bucket bag table dominate);
    ``SentimentClassifier.load`` casts them back to fp32. Only tensors
    and plain containers go in, so loading works with ``weights_only=True``.
    """
    model = fold_nb_ratio(model)
    state = {k: v.detach().cpu().to(torch.float16) for k, v in model.state_dict().items()}
    ckpt = {
        "format": CHECKPOINT_FORMAT,
        "lang": lang,
        "labels": list(labels),
        "model_config": model.config,
        "head_tokens": head,
        "tail_tokens": tail,
        "tokenizer": tokenizer_to_str(tok),
        "state_dict": state,
        "meta": meta,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, path)


def save_run(
    out: Path,
    model: SentimentRNN,
    tok: Any,
    args: Any,
    labels: tuple[str, ...],
    meta: dict[str, Any],
    metrics: dict[str, Any],
    history: list[dict[str, float]],
    title: str,
) -> None:
    """End of a training run (both trainers): the checkpoint, then its metrics JSON and plot.

    ``args`` supplies ``lang``, ``head`` and ``tail``; ``metrics`` gains ``checkpoint_bytes``.
    """
    save_checkpoint(out, model, tok, args.lang, labels, args.head, args.tail, meta)
    metrics["checkpoint_bytes"] = out.stat().st_size
    save_training_report(out.with_suffix(""), history, metrics, title)
    print(f"saved {out} ({out.stat().st_size / 1e6:.1f} MB)")
