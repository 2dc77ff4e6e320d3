"""A phrase checkpoint: the name models' ``CharRNN`` read as a text stream, plus its voices.

The network is ``ml.names.model.CharRNN`` unchanged: embedding → GRU/LSTM → linear over the
next character, with one attribute, ``speaker``, whose row 0 is "any" (the Tolstoy model has
no attribute). Where a name model gets one attribute row per name, a phrase model gets one
per character, because the speaker changes from line to line of a script.

Voices are what a user asks for: every conditioned speaker of a model ("moe", "homer", …)
and each corpus's own name ("tolstoy"; "simpsons" for any speaker at Moe's).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from ml.names.model import CharRNN, ModelConfig, quantize_int8
from ml.names.vocab import CharVocab

CHECKPOINT_FORMAT = "namecraft-phrases/1"
SPEAKER = "speaker"
DEFAULT_CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"
# corpus → checkpoint file name in the checkpoints folder
CHECKPOINTS = {"simpsons": "phrases-simpsons.pt", "tolstoy": "phrases-tolstoy.pt"}


@dataclass
class PhraseModel:
    corpus: str  # "simpsons" or "tolstoy"
    model: CharRNN
    vocab: CharVocab
    stop: str  # "line" or "sentence"
    voices: dict[str, str] = field(default_factory=dict)  # voice id → speaker in the data
    max_chars: int = 200  # the default length cap of a phrase
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def guidance(self) -> float:
        """The default speaker-guidance scale for sampling (1.0 = plain conditional), chosen
        after training and stored in ``meta`` (see ``ml.phrases.sample``)."""
        return float(self.meta.get("guidance", 1.0))

    def speaker_row(self, voice: str) -> int:
        """Attribute row of a voice: its speaker's, or 0 for the corpus's own name / "any"."""
        if voice in ("", "any", self.corpus):
            return 0
        if voice not in self.voices:
            raise ValueError(f"unknown voice {voice!r}; known: {', '.join(self.voice_ids())}")
        return list(self.voices).index(voice) + 1

    def voice_ids(self) -> list[str]:
        return [*self.voices, self.corpus]

    def save(self, path: str | Path) -> None:
        """Write the checkpoint; weights are stored as float16 to keep the file small."""
        state = {k: v.detach().to(torch.float16) for k, v in self.model.state_dict().items()}
        torch.save(
            {
                "format": CHECKPOINT_FORMAT,
                "corpus": self.corpus,
                "config": asdict(self.model.config),
                "state_dict": state,
                "chars": self.vocab.chars,
                "stop": self.stop,
                "voices": self.voices,
                "max_chars": self.max_chars,
                "meta": self.meta,
            },
            Path(path),
        )

    @classmethod
    def load(cls, path: str | Path, quantize: bool = False) -> PhraseModel:
        """Load on the CPU in eval mode (float32, or int8 GRU/linear layers with ``quantize``)."""
        blob = torch.load(Path(path), map_location="cpu", weights_only=True)
        if blob.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{path} is not a Namecraft phrase checkpoint")
        model = CharRNN(ModelConfig(**blob["config"]))
        model.load_state_dict({k: v.float() for k, v in blob["state_dict"].items()})
        model.eval()
        if quantize:
            model = quantize_int8(model)
        return cls(
            corpus=blob["corpus"],
            model=model,
            vocab=CharVocab(blob["chars"]),
            stop=blob["stop"],
            voices=dict(blob["voices"]),
            max_chars=int(blob["max_chars"]),
            meta=dict(blob.get("meta", {})),
        )


class VoiceNotFound(LookupError):
    """No shipped phrase model has the asked voice."""


def load_phrase_models(
    checkpoint_dir: str | Path = DEFAULT_CHECKPOINT_DIR, quantize: bool = False
) -> dict[str, PhraseModel]:
    """Every phrase checkpoint present in the folder, by corpus."""
    out = {}
    for corpus, name in CHECKPOINTS.items():
        path = Path(checkpoint_dir) / name
        if path.exists():
            out[corpus] = PhraseModel.load(path, quantize=quantize)
    return out


def voice_index(models: dict[str, PhraseModel]) -> dict[str, PhraseModel]:
    """Voice id → the model that speaks it (speakers first, then the corpora's own names)."""
    return {voice: bundle for bundle in models.values() for voice in bundle.voice_ids()}


def find_voice(models: dict[str, PhraseModel], voice: str) -> PhraseModel:
    voices = voice_index(models)
    key = voice.strip().lower()
    if key not in voices:
        known = ", ".join(voices) or "none (no phrase checkpoint found)"
        raise VoiceNotFound(f"unknown voice {voice!r}; voices: {known}")
    return voices[key]
