"""The phrase corpora: read, cut into scenes or chapters, split, and encode as a stream.

A corpus is a list of **units** (a scene of the Simpsons script, a chapter of Anna Karenina),
each a list of lines (a script line, a paragraph) that may carry a speaker. The text a model
reads is every line followed by a newline; the speaker is not in the text, it is the
condition (``ml.names.model.CharRNN``'s attribute embedding, row 0 = any speaker).

Held-out data is split **by unit**, never inside one: of every 20 consecutive units, slots 3
and 13 are test and slot 8 validation (10% and 5%, spread over the whole file so that no
season or part of the book is left out).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ml.names.vocab import CharVocab

NEWLINE = "\n"
SPLIT_PERIOD = 20
TEST_SLOTS = (3, 13)
VAL_SLOTS = (8,)
SPLITS = ("train", "val", "test")


def split_of(index: int) -> str:
    """Which split the unit at ``index`` (0-based, file order) belongs to."""
    slot = index % SPLIT_PERIOD
    if slot in TEST_SLOTS:
        return "test"
    return "val" if slot in VAL_SLOTS else "train"


@dataclass(frozen=True)
class Line:
    text: str
    speaker: str = ""  # as written in the data ("Moe_Szyslak"); "" when the corpus has none


@dataclass
class Unit:
    """A scene or a chapter: the unit of the held-out split."""

    lines: list[Line]

    @property
    def text(self) -> str:
        return "".join(line.text + NEWLINE for line in self.lines)


@dataclass
class PhraseCorpus:
    """A corpus as the trainer, the evaluator and the n-gram baseline all see it."""

    name: str  # "simpsons" or "tolstoy"
    units: list[Unit]
    stop: str  # where a phrase ends: "line" (a script line) or "sentence"
    # voice id → speaker as written in the data, for the conditioned speakers only
    voices: dict[str, str] = field(default_factory=dict)
    source: str = ""

    def split(self, which: str) -> list[Unit]:
        if which not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, not {which!r}")
        return [u for i, u in enumerate(self.units) if split_of(i) == which]

    @property
    def chars(self) -> set[str]:
        """Every character of the file (held-out ones too: the alphabet is the corpus's)."""
        return {ch for unit in self.units for ch in unit.text}

    def speaker_rows(self) -> dict[str, int]:
        """Speaker as written → attribute row (1 + its voice's index); others are row 0."""
        return {speaker: i + 1 for i, speaker in enumerate(self.voices.values())}


# --- Simpsons: "Speaker_Name: line", scenes separated by blank lines --------------------


def read_simpsons(path: str | Path, min_lines: int = 50) -> PhraseCorpus:
    """Scenes of the Moe's Tavern script; speakers with ``min_lines`` training lines get a voice.

    The first line (a copyright notice) is skipped. The text of a line is kept as written,
    stage directions in capitals included ("(BELCH)"), with runs of spaces collapsed.
    Voices are counted on the training scenes only and named by the speaker's first name in
    lower case ("Moe_Szyslak" → "moe"; the full name if two would collide).
    """
    raw = Path(path).read_text(encoding="utf-8-sig").split(NEWLINE)
    units: list[Unit] = []
    scene: list[Line] = []
    for row in raw[1:]:
        if not row.strip():
            if scene:
                units.append(Unit(scene))
                scene = []
            continue
        speaker, _, text = row.partition(": ")
        if not _:  # no speaker: the whole row is text
            speaker, text = "", row
        text = " ".join(text.split())
        if text:
            scene.append(Line(text, speaker.strip()))
    if scene:
        units.append(Unit(scene))
    corpus = PhraseCorpus("simpsons", units, stop="line", source=str(path))
    counts = Counter(line.speaker for unit in corpus.split("train") for line in unit.lines)
    frequent = [s for s, n in counts.most_common() if s and n >= min_lines]
    firsts = Counter(_first_name(s) for s in frequent)
    corpus.voices = {
        (_first_name(s) if firsts[_first_name(s)] == 1 else s.lower()): s for s in frequent
    }
    return corpus


def _first_name(speaker: str) -> str:
    return speaker.split("_")[0].lower()


# --- Tolstoy: paragraphs, chapters headed by a Roman numeral ---------------------------

_CHAPTER_HEADING = re.compile(r"[IVXLC]+")


def read_tolstoy(path: str | Path) -> PhraseCorpus:
    """Chapters of Anna Karenina (UTF-8 with a BOM); each paragraph is a line of text.

    A line holding only a Roman numeral starts a chapter and is dropped (the numbering
    restarts in each of the eight parts; 239 chapters in all). Non-breaking spaces become
    spaces; blank lines go. Case is kept.
    """
    text = Path(path).read_text(encoding="utf-8-sig").replace("\u00a0", " ")
    units: list[Unit] = []
    for row in text.split(NEWLINE):
        paragraph = " ".join(row.split())
        if _CHAPTER_HEADING.fullmatch(paragraph):
            units.append(Unit([]))
        elif paragraph:
            if not units:
                units.append(Unit([]))
            units[-1].lines.append(Line(paragraph))
    units = [u for u in units if u.lines]
    return PhraseCorpus("tolstoy", units, stop="sentence", source=str(path))


CORPORA: dict[str, tuple[str, Callable[[Path], PhraseCorpus]]] = {
    "simpsons": ("text/simpsons_moes_tavern_lines.txt", read_simpsons),
    "tolstoy": ("text/anna_karenina_ru.txt", read_tolstoy),
}


def read_corpus(name: str, path: str | Path, min_speaker_lines: int = 50) -> PhraseCorpus:
    if name == "simpsons":
        return read_simpsons(path, min_speaker_lines)
    if name not in CORPORA:
        raise ValueError(f"corpus must be one of {sorted(CORPORA)}, not {name!r}")
    return CORPORA[name][1](Path(path))


def default_path(name: str, data_root: Path) -> Path:
    return data_root / CORPORA[name][0]


# --- Encoding -------------------------------------------------------------------------


def encode_unit(
    unit: Unit, vocab: CharVocab, rows: dict[str, int], hidden: Sequence[bool] = ()
) -> tuple[torch.Tensor, torch.Tensor]:
    """Ids of ``"\\n" + text`` and the speaker row of every id after the first.

    The leading newline is the primer every unit starts from (in training the previous
    unit's last newline, in evaluation and sampling the first input). The speaker row at
    position t is that of the line the character t belongs to, a line's newline included;
    so when the input is the newline ending one line, the row is already the next speaker's:
    the model knows who talks before the first character. ``hidden[i]`` shows line i as "any".
    """
    ids = [vocab.stoi[NEWLINE]]
    speakers = [0]
    for i, line in enumerate(unit.lines):
        row = 0 if (i < len(hidden) and hidden[i]) else rows.get(line.speaker, 0)
        ids.extend(vocab.encode(line.text + NEWLINE))
        speakers.extend([row] * (len(line.text) + 1))
    if len(speakers) > 1:
        speakers[0] = speakers[1]  # unused: only positions after the primer are predicted
    return torch.tensor(ids), torch.tensor(speakers)


def encode_stream(
    units: Sequence[Unit],
    vocab: CharVocab,
    rows: dict[str, int],
    hide_share: float = 0.0,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Units one after another as one stream (ids, speaker rows), each line's speaker shown as
    "any" with probability ``hide_share`` (so row 0 learns the mixture, not just the rare)."""
    ids: list[torch.Tensor] = []
    speakers: list[torch.Tensor] = []
    for k, unit in enumerate(units):
        hidden: list[bool] = []
        if hide_share > 0:
            hidden = (torch.rand(len(unit.lines), generator=generator) < hide_share).tolist()
        unit_ids, unit_speakers = encode_unit(unit, vocab, rows, hidden)
        start = 0 if k == 0 else 1  # one newline between units: the previous one's last
        ids.append(unit_ids[start:])
        speakers.append(unit_speakers[start:])
    return torch.cat(ids), torch.cat(speakers)


def unknown_chars(units: Sequence[Unit], vocab: CharVocab) -> list[str]:
    seen: dict[str, None] = {}
    for unit in units:
        for ch in vocab.unknown_chars(unit.text):
            seen.setdefault(ch, None)
    return list(seen)
