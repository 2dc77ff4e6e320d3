"""The character-level name model: embedding → GRU/LSTM → linear over the next character.

Also the checkpoint format, so that one ``.pt`` file carries everything needed to sample:
hyper-parameters, weights, the character list and the known (real) names of the style.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ml.names.vocab import CharVocab

CHECKPOINT_FORMAT = "namecraft-names/1"


@dataclass
class ModelConfig:
    vocab_size: int
    cell: str = "gru"  # "gru" or "lstm"
    embedding_dim: int = 64
    hidden_size: int = 256
    num_layers: int = 2
    dropout: float = 0.2


class CharRNN(nn.Module):
    """Predicts the next character of a name from the ones before it."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if config.cell not in ("gru", "lstm"):
            raise ValueError(f"cell must be 'gru' or 'lstm', not {config.cell!r}")
        self.config = config
        rnn_class = nn.GRU if config.cell == "gru" else nn.LSTM
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim)
        self.rnn = rnn_class(
            config.embedding_dim,
            config.hidden_size,
            num_layers=config.num_layers,
            batch_first=True,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_size, config.vocab_size)

    def forward(self, idx: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        """``idx`` (batch, time) → logits (batch, time, vocab) and the recurrent state."""
        x = self.dropout(self.embedding(idx))
        out, state = self.rnn(x, state)
        return self.head(self.dropout(out)), state

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def expand_state(state: Any, batch: int) -> Any:
    """Repeat a batch-of-one recurrent state ``batch`` times (GRU tensor or LSTM tuple)."""
    if isinstance(state, tuple):
        return tuple(s.expand(-1, batch, -1).contiguous() for s in state)
    return state.expand(-1, batch, -1).contiguous()


@dataclass
class NameModel:
    """A trained style: the network plus what it needs to talk in names."""

    style: str
    model: CharRNN
    vocab: CharVocab
    known_names: frozenset[str]
    max_length: int
    meta: dict[str, Any] = field(default_factory=dict)

    def save(self, path: str | Path) -> None:
        """Write the checkpoint; weights are stored as float16 to keep the file small."""
        state = {k: v.detach().to(torch.float16) for k, v in self.model.state_dict().items()}
        torch.save(
            {
                "format": CHECKPOINT_FORMAT,
                "style": self.style,
                "config": asdict(self.model.config),
                "state_dict": state,
                "chars": self.vocab.chars,
                "known_names": sorted(self.known_names),
                "max_length": self.max_length,
                "meta": self.meta,
            },
            Path(path),
        )

    @classmethod
    def load(cls, path: str | Path) -> NameModel:
        """Load on the CPU in eval mode, weights cast back to float32."""
        blob = torch.load(Path(path), map_location="cpu", weights_only=True)
        if blob.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{path} is not a Namecraft name checkpoint")
        model = CharRNN(ModelConfig(**blob["config"]))
        model.load_state_dict({k: v.float() for k, v in blob["state_dict"].items()})
        model.eval()
        return cls(
            style=blob["style"],
            model=model,
            vocab=CharVocab(blob["chars"]),
            known_names=frozenset(blob["known_names"]),
            max_length=int(blob["max_length"]),
            meta=dict(blob.get("meta", {})),
        )
