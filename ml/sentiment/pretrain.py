"""ULMFiT-style pretraining: teach the classifier's encoder to read reviews before it judges them.

Why: a BiGRU trained from scratch on 22k labelled reviews learns its word vectors and its
recurrent weights from one bit of supervision per review, and tops out near 88% on IMDB. A
language model trained on the same review text gets a training signal at *every token*, so the
embedding and the GRUs learn syntax, negation and sentiment-laden phrases first (Dai & Le 2015,
Howard & Ruder 2018). The classifier then starts from those weights.

The sentiment model's BiGRU is two unidirectional GRUs (``gru`` reads left to right,
``gru_reverse`` right to left), so each is pretrained as its own language model: ``gru``
predicts the next token of the review stream, ``gru_reverse`` the previous one (it reads the
stream reversed). Both share the embedding, and each has a small decoder tied to it
(hidden → emb_dim → vocabulary through the embedding matrix). The decoders are thrown away
after pretraining; the checkpoint holds only the classifier.

Training is the classic truncated back-propagation through time over one long token stream
(documents joined by the pad id, which is never a target), cut into ``batch_size`` parallel
rows; the hidden state is carried from window to window.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from ml.common import warmup_cosine
from ml.sentiment.model import SentimentRNN

ENCODER = ("embedding", "gru")  # state-dict prefixes of the parts that pretraining trains


@dataclass
class LMConfig:
    """Hyper-parameters of the pretraining stage (flags ``--lm-*`` of ``train-sentiment``)."""

    epochs: int = 10
    batch_size: int = 64
    bptt: int = 96
    lr: float = 2e-3
    weight_decay: float = 0.01
    grad_clip: float = 0.5
    max_minutes: float = math.inf


class TiedDecoder(nn.Module):
    """hidden → emb_dim projection, then logits through the (shared) embedding matrix."""

    def __init__(self, hidden: int, emb_dim: int, vocab_size: int) -> None:
        super().__init__()
        self.proj = nn.Linear(hidden, emb_dim)
        self.bias = nn.Parameter(torch.zeros(vocab_size))

    def forward(self, h: torch.Tensor, embedding_weight: torch.Tensor) -> torch.Tensor:
        return F.linear(self.proj(h), embedding_weight, self.bias)


def token_stream(docs: list[list[int]], gen: torch.Generator | None = None) -> torch.Tensor:
    """All documents (in random order when ``gen``) joined into one 1-D stream, pad-separated."""
    order = range(len(docs)) if gen is None else torch.randperm(len(docs), generator=gen).tolist()
    flat: list[int] = []
    for i in order:
        flat.extend(docs[i])
        flat.append(0)
    return torch.tensor(flat, dtype=torch.long)


def stream_rows(stream: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Cut a 1-D stream into ``batch_size`` contiguous rows: (B, L)."""
    rows = max(1, min(batch_size, len(stream) // 2))
    length = len(stream) // rows
    return stream[: rows * length].view(rows, length)


def lm_loss(
    model: SentimentRNN,
    rnn: nn.GRU,
    decoder: TiedDecoder,
    window: torch.Tensor,
    state: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Next-token cross-entropy of one (B, T+1) window; returns (loss, final hidden state)."""
    x, y = window[:, :-1], window[:, 1:]
    h, state = rnn(model.emb_dropout(model.embedding(x)), state)
    logits = decoder(model.dropout(h), model.embedding.weight)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=0)
    return loss, state


@torch.no_grad()
def lm_eval(
    model: SentimentRNN, decoders: nn.ModuleList, stream: torch.Tensor, cfg: LMConfig
) -> float:
    """Mean next-token loss of both directions on a held-out stream (nats per token)."""
    model.eval()
    decoders.eval()
    device = model.embedding.weight.device
    total, count = 0.0, 0
    for rnn, decoder, s in (
        (model.gru, decoders[0], stream),
        (model.gru_reverse, decoders[1], stream.flip(0)),
    ):
        rows = stream_rows(s, cfg.batch_size).to(device)
        state = None
        for t in range(0, rows.shape[1] - 1, cfg.bptt):
            window = rows[:, t : t + cfg.bptt + 1]
            loss, state = lm_loss(model, rnn, decoder, window, state)
            n = int((window[:, 1:] != 0).sum())
            total += loss.item() * n
            count += n
    return total / max(count, 1)


def pretrain_language_model(
    model: SentimentRNN,
    train_docs: list[list[int]],
    val_docs: list[list[int]],
    cfg: LMConfig,
    gen: torch.Generator,
) -> tuple[list[dict[str, float]], dict[str, float]]:
    """Pretrain ``model.embedding``, ``model.gru`` and ``model.gru_reverse`` as two LMs, in place.

    ``train_docs``/``val_docs`` are full (untruncated) token ids of unlabelled texts. Returns the
    loss history (for the report) and a summary (final validation loss and perplexity, time).
    The best epoch by validation loss is kept.
    """
    device = model.embedding.weight.device
    cfg_model = model.config
    decoders = nn.ModuleList(
        TiedDecoder(cfg_model["hidden"], cfg_model["emb_dim"], cfg_model["vocab_size"])
        for _ in range(2)
    ).to(device)
    encoder = [model.embedding, model.gru, model.gru_reverse]
    params = [p for m in encoder for p in m.parameters()] + list(decoders.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    val_stream = token_stream(val_docs)
    n_tokens = sum(len(d) + 1 for d in train_docs)
    steps_per_epoch = math.ceil(n_tokens / min(cfg.batch_size, max(1, n_tokens // 2)) / cfg.bptt)
    total_steps = max(1, steps_per_epoch * cfg.epochs)
    warmup = max(1, total_steps // 20)
    t0 = time.time()
    deadline = t0 + cfg.max_minutes * 60
    history: list[dict[str, float]] = []
    best_loss, best_state = math.inf, None
    step = 0
    for epoch in range(cfg.epochs):
        rows = stream_rows(token_stream(train_docs, gen), cfg.batch_size).to(device)
        rows_rev = rows.flip(1)  # each row reversed: the backward LM reads right to left
        states: list[torch.Tensor | None] = [None, None]
        running = []
        windows = range(0, rows.shape[1] - 1, cfg.bptt)
        bar = tqdm(windows, desc=f"LM epoch {epoch + 1}/{cfg.epochs}", mininterval=5)
        for t in bar:
            model.train()
            decoders.train()
            # Linear warm-up, then cosine decay to 10%: slanted-triangular in spirit.
            scale = warmup_cosine(step, total_steps, warmup, floor=0.1)
            for g in opt.param_groups:
                g["lr"] = cfg.lr * scale
            losses = []
            for k, (rnn, data) in enumerate(((model.gru, rows), (model.gru_reverse, rows_rev))):
                window = data[:, t : t + cfg.bptt + 1]
                loss, state = lm_loss(model, rnn, decoders[k], window, states[k])
                states[k] = state.detach()
                losses.append(loss)
            loss = (losses[0] + losses[1]) / 2
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            opt.step()
            step += 1
            running.append(loss.item())
            bar.set_postfix(loss=f"{loss.item():.3f}")
            if time.time() > deadline:
                break
        bar.close()
        val_loss = lm_eval(model, decoders, val_stream, cfg)
        train_loss = sum(running) / max(len(running), 1)
        history.append(
            {
                "lm_step": step,
                "lm_epoch": epoch + 1,
                "lm_train_loss": train_loss,
                "lm_val_loss": val_loss,
            }
        )
        tqdm.write(
            f"LM epoch {epoch + 1}: train {train_loss:.3f} val {val_loss:.3f} "
            f"(ppl {math.exp(val_loss):.1f}) | {(time.time() - t0) / 60:.1f} min"
        )
        if val_loss < best_loss:
            best_loss = val_loss
            # Only the encoder changes here; the bag channel and mixer are left alone.
            state = model.state_dict()
            best_state = {k: v.detach().clone() for k, v in state.items() if k.startswith(ENCODER)}
        if time.time() > deadline:
            break
    if best_state is not None:
        model.load_state_dict(best_state, strict=False)
    summary = {
        "lm_val_loss": best_loss,
        "lm_val_perplexity": math.exp(best_loss) if best_loss < 50 else math.inf,
        "lm_steps": step,
        "lm_epochs_run": len(history),
        "lm_minutes": round((time.time() - t0) / 60, 2),
        "lm_train_tokens": n_tokens,
    }
    return history, summary
