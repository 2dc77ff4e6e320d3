"""Inference API used by the bot: load one checkpoint, classify a batch of texts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ml.sentiment.checkpoint import CHECKPOINT_FORMAT, model_name_for
from ml.sentiment.data import clean_text
from ml.sentiment.features import collate, encode_texts
from ml.sentiment.model import SentimentRNN
from ml.sentiment.tokenizer import tokenizer_from_str


@dataclass(frozen=True)
class SentimentResult:
    """One prediction."""

    label: str  # "pos" | "neu" | "neg"
    confidence: float  # probability of label, 0..1
    probabilities: dict[str, float]
    truncated: bool  # True when the truncation policy cut the text
    n_tokens: int  # tokens before truncation


class SentimentClassifier:
    """A loaded sentiment checkpoint: tokenizer + model + labels, ready for ``predict``."""

    lang: str
    labels: tuple[str, ...]
    model_name: str

    def __init__(
        self,
        model: SentimentRNN,
        tokenizer: object,
        lang: str,
        labels: tuple[str, ...],
        head: int,
        tail: int,
        model_name: str,
    ) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.lang = lang
        self.labels = labels
        self.head = head
        self.tail = tail
        self.model_name = model_name
        self.device = model.embedding.weight.device

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> SentimentClassifier:
        """Load a checkpoint written by ``train-sentiment`` in eval mode (the bot: on the CPU).

        Only plain tensors and Python containers are in the file, so ``weights_only=True``
        works, which means loading cannot execute code from the checkpoint.
        """
        ckpt = torch.load(Path(path), map_location="cpu", weights_only=True)
        if ckpt.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{path}: not a sentiment checkpoint ({ckpt.get('format')!r})")
        model = SentimentRNN(**ckpt["model_config"])
        model.load_state_dict({k: v.float() for k, v in ckpt["state_dict"].items()})
        model.to(device)
        lang = ckpt["lang"]
        return cls(
            model,
            tokenizer_from_str(ckpt["tokenizer"]),
            lang,
            tuple(ckpt["labels"]),
            int(ckpt["head_tokens"]),
            int(ckpt["tail_tokens"]),
            ckpt.get("meta", {}).get("model_name", model_name_for(lang)),
        )

    @torch.inference_mode()
    def channel_probabilities(
        self, texts: list[str], batch_size: int = 64
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
        """({"mixed", "rnn", "bag"} → probs (N, C), n_tokens, truncated) for raw texts.

        Cleaning happens here. "mixed" is what the bot uses; the single channels are for
        evaluation (how much each contributes), and come at no extra cost.
        """
        cfg = self.model.config
        cleaned = [clean_text(t, self.lang) for t in texts]
        ids, bags, n_tokens, truncated = encode_texts(
            self.tokenizer,
            cleaned,
            self.head,
            self.tail,
            cfg["vocab_size"],
            cfg["buckets"],
            cfg.get("ngram_order", 2),  # checkpoints from before the option used bigrams
        )
        out: dict[str, list[torch.Tensor]] = {"mixed": [], "rnn": [], "bag": []}
        for s in range(0, len(texts), batch_size):
            batch = collate(ids[s : s + batch_size], bags[s : s + batch_size], self.device)
            for name, logits in zip(out, self.model(*batch), strict=True):
                out[name].append(logits.softmax(dim=-1).cpu())
        empty = torch.zeros(0, len(self.labels))
        probs = {name: torch.cat(parts) if parts else empty for name, parts in out.items()}
        return probs, torch.tensor(n_tokens), torch.tensor(truncated)

    def probabilities(self, texts: list[str], batch_size: int = 64) -> tuple[torch.Tensor, ...]:
        """(probs (N, C), n_tokens, truncated) for raw texts: the mixed model's output."""
        probs, n_tokens, truncated = self.channel_probabilities(texts, batch_size)
        return probs["mixed"], n_tokens, truncated

    def predict(self, texts: list[str]) -> list[SentimentResult]:
        """Classify a batch of raw texts (cleaned with the training-time ``clean_text``)."""
        if not texts:
            return []
        probs, n_tokens, truncated = self.probabilities(texts)
        results = []
        for p, n, cut in zip(probs.tolist(), n_tokens.tolist(), truncated.tolist(), strict=True):
            best = max(range(len(p)), key=p.__getitem__)
            results.append(
                SentimentResult(
                    label=self.labels[best],
                    confidence=float(p[best]),
                    probabilities={name: float(q) for name, q in zip(self.labels, p, strict=True)},
                    truncated=bool(cut),
                    n_tokens=int(n),
                )
            )
        return results
