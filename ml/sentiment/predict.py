"""Inference API used by the bot: load one checkpoint, classify a batch of texts."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ml.names.nameset import NameSet
from ml.sentiment.checkpoint import CHECKPOINT_FORMAT, model_name_for
from ml.sentiment.data import clean_text
from ml.sentiment.features import add_char_ngrams, collate, features_from_ids, length_batches
from ml.sentiment.lexicon import lexicon_from_meta
from ml.sentiment.model import SentimentRNN
from ml.sentiment.router import DomainRouter
from ml.sentiment.tokenizer import encode_batch, tokenizer_from_str

# Padded tokens per model call: 4 reviews of 512 tokens. A call's int8 GRUs hold ~15 KB per
# padded token while they run, and the bot runs two calls at once; 4 reviews a call measured
# within 3% of 8 in speed per review.
MAX_BATCH_TOKENS = 2048


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
        temperature: float = 1.0,
        domain: str = "review",
        route_max_tokens: int | None = None,
        short_blend: float = 0.0,
        router: DomainRouter | None = None,
        lexicon: NameSet | None = None,
    ) -> None:
        self.model = model.eval()
        self.temperature = temperature  # fitted on validation (calibration.py); 1.0 if never
        self.domain = domain  # "review" (long texts) or "short" (one-line messages)
        self.route_max_tokens = route_max_tokens  # short models: longest text routed to them
        self.short_blend = short_blend  # 3-class review models: the short model's vote weight
        self.router = router  # short models: the learned "short post or review" router, if any
        self.lexicon = lexicon  # short models: the words of their training texts (lexicon.py)
        self.tokenizer = tokenizer
        self.lang = lang
        self.labels = labels
        self.head = head
        self.tail = tail
        self.model_name = model_name
        self.device = model.embedding.weight.device

    @classmethod
    def load(
        cls, path: str | Path, device: str = "cpu", quantize: bool = False
    ) -> SentimentClassifier:
        """Load a checkpoint written by ``train-sentiment`` in eval mode (the bot: on the CPU).

        Only plain tensors and Python containers are in the file, so ``weights_only=True``
        works, which means loading cannot execute code from the checkpoint. ``quantize``
        turns the GRUs into int8 dynamically quantised ones (CPU only): 2-3x faster on a
        ~300-word review, with test scores re-measured in the model card.
        """
        ckpt = torch.load(Path(path), map_location="cpu", weights_only=True)
        if ckpt.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{path}: not a sentiment checkpoint ({ckpt.get('format')!r})")
        # The checkpoint holds every tensor in fp16 (``save_checkpoint``). Served (int8), the
        # two big tables keep those very values in half the memory (12-14 MB less per model;
        # the bot serves four); rnn_logits and bag_logits compute in fp32 from them. The rest
        # is cast to fp32. The model takes the loaded tensors as they are (``assign``; its own
        # freshly initialised ones are dropped) and is quantised in place: copying the weights
        # into it and quantising a copy had held three fp32 versions of each table at once
        # while the bot started (its peak memory). Not built under ``torch.device("meta")``:
        # that context imports ~800 modules (sympy among them), 70 MB for good.
        half = {"embedding.weight", "bag.weight"} if quantize else set()
        model = SentimentRNN(**ckpt["model_config"])
        state = {k: v if k in half else v.float() for k, v in ckpt["state_dict"].items()}
        model.load_state_dict(state, assign=True)
        model.to(device)
        if quantize:
            model = quantize_gru(model)
        lang = ckpt["lang"]
        meta = ckpt.get("meta", {})
        return cls(
            model,
            tokenizer_from_str(ckpt["tokenizer"]),
            lang,
            tuple(ckpt["labels"]),
            int(ckpt["head_tokens"]),
            int(ckpt["tail_tokens"]),
            meta.get("model_name", model_name_for(lang)),
            temperature=float(meta.get("temperature", 1.0)),
            domain=str(meta.get("domain", "review")),
            route_max_tokens=meta.get("route_max_tokens"),
            short_blend=float(meta.get("short_blend", 0.0)),
            router=DomainRouter.from_meta(meta["router"]) if "router" in meta else None,
            lexicon=lexicon_from_meta(meta),
        )

    @torch.inference_mode()
    def channel_logits(
        self,
        texts: list[str],
        batch_size: int = 64,
        token_ids: list[list[int]] | None = None,
        max_tokens: int | None = MAX_BATCH_TOKENS,
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
        """({"mixed", "rnn", "bag"} → logits (N, C), n_tokens, truncated) for raw texts.

        Cleaning happens here. "mixed" is what the bot uses; the single channels are for
        evaluation (how much each contributes), and come at no extra cost. No temperature.
        ``token_ids``: the cleaned texts' subword ids when the caller has them already (the
        reader tokenizes once to route; tokenizing a review again costs about a millisecond).
        ``max_tokens``: at most this many padded tokens a batch (``length_batches``).
        """
        cfg = self.model.config
        cleaned = [clean_text(t, self.lang) for t in texts]
        if token_ids is None:
            token_ids = encode_batch(self.tokenizer, cleaned)
        ids, bags, n_tokens, truncated = features_from_ids(
            token_ids,
            self.head,
            self.tail,
            cfg["vocab_size"],
            cfg["buckets"],
            cfg.get("ngram_order", 2),  # checkpoints from before the option used bigrams
        )
        if cfg.get("char_ngrams"):
            bags = add_char_ngrams(
                bags, cleaned, cfg["char_ngrams"], cfg["vocab_size"], cfg["buckets"]
            )
        # Batches of similar length (less padding); results go back to the input order.
        logits = {name: torch.zeros(len(ids), len(self.labels)) for name in ("mixed", "rnn", "bag")}
        for rows in length_batches([len(x) for x in ids], batch_size, None, max_tokens):
            batch = collate([ids[i] for i in rows], [bags[i] for i in rows], self.device)
            index = torch.tensor(rows, dtype=torch.long)
            for name, value in zip(logits, self.model(*batch), strict=True):
                logits[name][index] = value.float().cpu()
        return logits, torch.tensor(n_tokens), torch.tensor(truncated)

    def channel_probabilities(
        self, texts: list[str], batch_size: int = 64
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
        """Softmax of ``channel_logits``; "mixed" is calibrated (divided by the temperature)."""
        logits, n_tokens, truncated = self.channel_logits(texts, batch_size)
        probs = {
            name: (value / (self.temperature if name == "mixed" else 1.0)).softmax(dim=-1)
            for name, value in logits.items()
        }
        return probs, n_tokens, truncated

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


def quantize_gru(model: SentimentRNN) -> SentimentRNN:
    """int8 dynamic quantisation of the two GRUs (weights int8, activations quantised per call),
    in place (a copy would hold the fp32 tables twice).

    The GRUs are ~95% of the time of a review; the rest stays fp32. ``quantize_dynamic`` is
    marked deprecated in favour of torchao, but it is what torch 2.13 ships for CPU GRUs.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(
            model, {nn.GRU}, dtype=torch.qint8, inplace=True
        )
