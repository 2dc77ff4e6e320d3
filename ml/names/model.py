"""The character-level name model: embedding → GRU/LSTM → linear over the next character.

A model may be conditioned on attributes (sex, era, race, which part of a full name): each
attribute has its own small embedding table whose row 0 means "any", and the sum of the chosen
rows is added to the character embedding at every step. Training shows every attribute as
"any" some of the time, so "any" is the learned mixture rather than an untrained row.

Also the checkpoint format, so that one ``.pt`` file carries everything needed to sample:
hyper-parameters, weights, the character list and the known (real) names of each name part.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ml.names.nameset import NameSet
from ml.names.stepper import GRUStepper
from ml.names.vocab import CharVocab

CHECKPOINT_FORMAT = "namecraft-names/1"
ANY = "any"
# A name part is conditioned like any other attribute, but it is never "any" (a surname
# model asked for "any part" would be meaningless), so it is listed first when present.
PART = "part"
GIVEN, FAMILY = "given", "family"


@dataclass
class ModelConfig:
    vocab_size: int
    cell: str = "gru"  # "gru" or "lstm"
    embedding_dim: int = 64
    hidden_size: int = 256
    num_layers: int = 2
    dropout: float = 0.2
    # attribute name → its values (without "any"); {} is an unconditional model
    attributes: dict[str, list[str]] = field(default_factory=dict)
    # also start every layer's hidden state from the attributes (not only the inputs), so a
    # deep network cannot drift into a memorised man's name when asked for a woman's
    condition_state: bool = False


class CharRNN(nn.Module):
    """Predicts the next character of a name from the ones before it."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if config.cell not in ("gru", "lstm"):
            raise ValueError(f"cell must be 'gru' or 'lstm', not {config.cell!r}")
        self.config = config
        rnn_class = nn.GRU if config.cell == "gru" else nn.LSTM
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim)
        # row 0 of each table is "any"; value i of the attribute is row i + 1
        self.attribute_embeddings = nn.ModuleList(
            nn.Embedding(len(values) + 1, config.embedding_dim)
            for values in config.attributes.values()
        )
        self.rnn = rnn_class(
            config.embedding_dim,
            config.hidden_size,
            num_layers=config.num_layers,
            batch_first=True,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_size, config.vocab_size)
        self.attribute_to_state = (
            nn.Linear(config.embedding_dim, config.num_layers * config.hidden_size)
            if config.condition_state and config.attributes
            else None
        )

    def forward(
        self, idx: torch.Tensor, state: Any = None, attributes: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, Any]:
        """``idx`` (batch, time) → logits (batch, time, vocab) and the recurrent state.

        ``attributes`` (batch, n_attributes) holds row indices (0 = any); None means all "any".
        A text stream whose condition changes along the way (the speaker of each line of a
        script, ``ml.phrases``) passes one row per position instead: (batch, time, n_attributes).
        """
        x = self.embedding(idx)
        if attributes is not None and len(self.attribute_embeddings):
            condition = sum(
                table(attributes[..., i]) for i, table in enumerate(self.attribute_embeddings)
            )
            per_position = attributes.dim() == 3
            x = x + (condition if per_position else condition[:, None, :])
            if state is None and self.attribute_to_state is not None and not per_position:
                state = self._initial_state(condition)
        x = self.dropout(x)
        out, state = self.rnn(x, state)
        return self.head(self.dropout(out)), state

    def _initial_state(self, condition: torch.Tensor) -> Any:
        """Per-layer start state from the attribute embedding (LSTM: hidden; cell starts at 0)."""
        assert self.attribute_to_state is not None
        layers, hidden = self.config.num_layers, self.config.hidden_size
        h0 = torch.tanh(self.attribute_to_state(condition))
        h0 = h0.view(-1, layers, hidden).transpose(0, 1).contiguous()
        return (h0, torch.zeros_like(h0)) if self.config.cell == "lstm" else h0

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def encode_attributes(self, chosen: dict[str, str]) -> torch.Tensor | None:
        """Row indices for ``chosen`` ({"sex": "f"}; missing or "any" → 0), shape (1, n).

        Raises ValueError naming the attribute and its allowed values on an unknown one.
        """
        schema = self.config.attributes
        if not schema:
            return None
        unknown = set(chosen) - set(schema)
        if unknown:
            raise ValueError(f"unknown attribute {sorted(unknown)[0]!r}; known: {list(schema)}")
        row = []
        for name, values in schema.items():
            value = chosen.get(name, ANY) or ANY
            if name == PART and value == ANY:
                value = GIVEN
            if value == ANY:
                row.append(0)
            elif value in values:
                row.append(values.index(value) + 1)
            else:
                raise ValueError(f"{name} must be one of {[ANY, *values]}, not {value!r}")
        return torch.tensor([row], dtype=torch.long)


def quantize_int8(model: CharRNN) -> CharRNN:
    """int8 dynamic quantisation of the recurrent and linear layers (embeddings stay fp32).

    ``quantize_dynamic`` is marked deprecated in favour of torchao, but it is what torch 2.13
    ships for CPU GRUs and LSTMs; the returned module is still a ``CharRNN``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(
            model, {nn.GRU, nn.LSTM, nn.Linear}, dtype=torch.qint8
        )


def expand_state(state: Any, batch: int) -> Any:
    """Repeat a batch-of-one recurrent state ``batch`` times.

    A state is a GRU tensor, an LSTM (hidden, cell) tuple, or a tuple of such states (the
    guided sampler keeps one per branch), so tuples are expanded element by element.
    """
    if isinstance(state, tuple):
        return tuple(expand_state(s, batch) for s in state)
    return state.expand(-1, batch, -1).contiguous()


def select_rows(state: Any, index: torch.Tensor) -> Any:
    """The rows ``index`` of a recurrent state (batch is dim 1), in the same nesting."""
    if isinstance(state, tuple):
        return tuple(select_rows(s, index) for s in state)
    return state.index_select(1, index)


@dataclass
class NameModel:
    """A trained style: the network plus what it needs to talk in names."""

    style: str
    model: CharRNN
    vocab: CharVocab
    # real given names (the only part of older checkpoints); a compact NameSet once loaded
    known_names: Collection[str]
    max_length: int
    meta: dict[str, Any] = field(default_factory=dict)
    known_family: Collection[str] = frozenset()  # real surnames / epithets, when modelled
    # common real given names per attribute combination ("sex=f|era=1920" → names), so a game
    # or a demo can show a *real* name that fits the user's controls
    examples: dict[str, list[str]] = field(default_factory=dict)
    # what ``sample_names`` runs: the hand-stepped form of a GRU model (``ml.names.stepper``),
    # built by ``load``; None samples through ``model`` itself (LSTMs, bundles built in memory)
    stepper: GRUStepper | None = None

    @property
    def served(self) -> torch.nn.Module:
        """The network that sampling runs (and that ``eval-names`` scores as served)."""
        return self.stepper if self.stepper is not None else self.model

    @property
    def attributes(self) -> dict[str, list[str]]:
        return self.model.config.attributes

    def known(self, part: str = GIVEN) -> Collection[str]:
        return self.known_family if part == FAMILY else self.known_names

    @property
    def guidance(self) -> float:
        """The default attribute-guidance scale for sampling (1.0 = plain conditional).

        Chosen per style after training and stored in ``meta`` (see ``sample.GuidedRNN``).
        """
        return float(self.meta.get("guidance", 1.0))

    def has_family_part(self) -> bool:
        return FAMILY in self.attributes.get(PART, [])

    def real_names_for(self, chosen: dict[str, str]) -> list[str]:
        """Real given names that fit ``chosen`` controls (all known names when none stored).

        A stored group fits when it agrees with every chosen control; a group recorded without
        a control (crowd-sourced names of unknown sex) fits only requests that leave it "any".
        """
        wanted = {k: v for k, v in chosen.items() if v and v != ANY and k != PART}
        if not self.examples:
            return sorted(self.known_names)
        out: dict[str, None] = {}
        for key, names in self.examples.items():
            have = dict(item.split("=", 1) for item in key.split("|") if item)
            if all(have.get(k) == v for k, v in wanted.items()):
                out.update(dict.fromkeys(names))
        return list(out)

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
                "known_family": sorted(self.known_family),
                "examples": self.examples,
                "max_length": self.max_length,
                "meta": self.meta,
            },
            Path(path),
        )

    @classmethod
    def load(cls, path: str | Path, quantize: bool = False) -> NameModel:
        """Load on the CPU in eval mode, weights cast back to float32.

        ``quantize`` serves the GRU and linear layers with int8 weights (dynamic quantisation),
        at no measurable NLL cost (model card). A GRU style also gets its ``stepper`` (int8
        with ``quantize``, else fp32), which is what sampling runs: about half the time of
        the int8 ``nn.GRU`` for a /name on one thread (model card).
        """
        blob = torch.load(Path(path), map_location="cpu", weights_only=True)
        if blob.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{path} is not a Namecraft name checkpoint")
        model = CharRNN(ModelConfig(**blob["config"]))
        model.load_state_dict({k: v.float() for k, v in blob["state_dict"].items()})
        model.eval()
        stepper = None
        if model.config.cell == "gru":
            stepper = GRUStepper(model, int8=quantize)
        if quantize:
            model = quantize_int8(model)
        return cls(
            style=blob["style"],
            model=model,
            vocab=CharVocab(blob["chars"]),
            known_names=NameSet(blob["known_names"]),
            max_length=int(blob["max_length"]),
            meta=dict(blob.get("meta", {})),
            known_family=NameSet(blob.get("known_family", [])),
            examples={k: list(v) for k, v in blob.get("examples", {}).items()},
            stepper=stepper,
        )
