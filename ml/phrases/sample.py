"""Sampling phrases: a line of the script in a speaker's voice, or a sentence of the novel.

One request is one batch, as in ``ml.names.sample``: the start text runs through the network
once, its state is copied to every row, and each row grows one character per step until its
phrase ends; a finished row leaves the batch at once.

* **Start text in any case.** The user's start text is kept as typed in the answer. The
  network continues the casing it finds most likely among a few variants (as typed, lower
  case, Sentence case, Title Case, UPPER CASE), so "анна" is continued like "Анна" and
  "HOMER" like "Homer". Letters the model does not know are read as their base letter (ё → е).
* **Where a phrase ends.** A script line ends at the newline (never right after the start
  text). A sentence ends at ``.``, ``!``, ``?`` or ``…`` (closing quotes may follow) when the
  next word does not start in lower case: "т. е." and "– Что? – сказал он." go on; "Он ушел.
  Она …" ends after "ушел."; a paragraph end (newline) ends it too. The model writes a few
  characters past a candidate end to decide; they are not shown.
* **Length cap.** A phrase is at most ``max_chars`` characters, start text included. A row
  that has not ended within the cap is cut at its last space and marked with "…"
  (``finished`` False); finished phrases are preferred when the batch has more than asked.
* **Filter.** A phrase containing a word the obscenity filter (``ml.names.obscenity``) flags
  is dropped, as are repeats within a request.
"""

from __future__ import annotations

import math
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ml.names.model import expand_state, select_rows
from ml.names.obscenity import is_obscene
from ml.names.sample import MAX_GUIDANCE, MAX_TEMPERATURE, MIN_TEMPERATURE, GuidedRNN
from ml.names.vocab import BOS, EOS, PAD, fold_to_vocab
from ml.phrases.data import NEWLINE
from ml.phrases.model import PhraseModel

ELLIPSIS = "…"
# characters written past a candidate sentence end to decide whether it is one: a space, a
# dash and its space, the first letter of the next word (and a spare)
SENTENCE_LOOKAHEAD = 6
# ".", "!", "?", "…" (one or more), closing quotes or brackets, then space(s) and maybe a
# dash of reported speech with its space, up to the end of what is written
_PENDING_END = re.compile(r"[.!?…]+[»\"')]*(?=\s+(?:[–—-]\s+)?$)")
_DASHES = "–—-"


class StartError(ValueError):
    """The start text cannot be used with this model; ``reason`` says why in plain words."""

    def __init__(self, reason: str, unknown_chars: list[str] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.unknown_chars = unknown_chars or []


@dataclass(frozen=True)
class Phrase:
    text: str
    voice: str
    finished: bool  # ended at a line or sentence end (False: cut at the length cap, ends in …)


def phrase_end(text: str, start: int, stop: str) -> int | None:
    """Where the phrase in ``text`` ends (its length), once its last character decides it.

    ``start`` is the length of the start text: only ends the model wrote count. ``stop`` is
    "line" (a newline ends it) or "sentence" (see the module docstring). None: not yet.
    """
    last = text[-1:]
    if last == NEWLINE and len(text) > start:
        return len(text.rstrip())
    if stop == "line" or not last or last.isspace() or last in _DASHES:
        return None
    pending = _PENDING_END.search(text, start, len(text) - 1)
    if pending is None or last.islower():
        return None
    return pending.end()


def cut_at_cap(text: str, cap: int, keep: int) -> str:
    """``text`` cut at its last space before ``cap`` − 1 characters, with "…" (≤ cap in all).

    The first ``keep`` characters (the start text) are never cut into.
    """
    head = text[: cap - 1]
    space = head.rfind(" ")
    if space > keep:
        head = head[:space].rstrip(" ,;:–—-")
    return head + ELLIPSIS


@dataclass(frozen=True)
class PreparedStart:
    shown: str  # as the user typed it (spaces tidied): the answer starts with exactly this
    variants: list[str]  # casings of it in the model's alphabet, the model picks one


def prepare_start(bundle: PhraseModel, start: str, cap: int) -> PreparedStart:
    """Tidy a start text and list its casings the model can read, or raise StartError."""
    shown = unicodedata.normalize("NFC", " ".join(start.split()))
    if shown and start[-1].isspace():
        shown += " "  # "Hey " asks for a new word
    if len(shown) >= cap:
        raise StartError(f"the start text is too long (at most {cap - 1} characters)")
    folded, unknown = fold_to_vocab(shown, bundle.vocab)
    casings = [
        folded,
        folded.lower(),
        folded[:1].upper() + folded[1:].lower(),
        " ".join(w[:1].upper() + w[1:].lower() for w in folded.split(" ")),
        folded.upper(),
    ]
    variants = [
        v
        for v in dict.fromkeys(casings)
        if len(v) == len(folded) and all(ch in bundle.vocab for ch in v)
    ]
    if not variants:
        raise StartError(
            f"the {bundle.corpus!r} model cannot read {', '.join(map(repr, unknown))}",
            unknown,
        )
    return PreparedStart(shown, variants)


@torch.inference_mode()
def sample_phrases(
    bundle: PhraseModel,
    start: str = "",
    count: int = 5,
    temperature: float = 1.0,
    seed: int | None = None,
    *,
    voice: str = "",
    max_chars: int | None = None,
    screen: Callable[[str], bool] | None = is_obscene,
    unique: bool = True,
    guidance: float | None = None,
) -> list[Phrase]:
    """Up to ``count`` phrases that start with ``start``, in ``voice`` (a speaker of the
    model, or ""/its corpus name for any). A fixed ``seed`` gives the same phrases.

    ``guidance`` scales how strongly a speaker steers (``ml.names.sample.GuidedRNN``: every
    row also runs as "any", and the step is log p_any + s·(log p_voice − log p_any));
    None: the model's own default, 1.0: the plain conditional model.
    """
    if not MIN_TEMPERATURE <= temperature <= MAX_TEMPERATURE:
        raise ValueError(f"temperature must be in [{MIN_TEMPERATURE}, {MAX_TEMPERATURE}]")
    if guidance is None:
        guidance = bundle.guidance
    if not 1.0 <= guidance <= MAX_GUIDANCE:
        raise ValueError(f"guidance must be in [1.0, {MAX_GUIDANCE}]")
    cap = max_chars or bundle.max_chars
    if cap < 2:
        raise ValueError("max_chars must be at least 2")
    if count < 1:
        return []
    row = bundle.speaker_row(voice)
    voice = voice or bundle.corpus
    prepared = prepare_start(bundle, start, cap)
    model, vocab = bundle.model, bundle.vocab
    conditioned = bool(model.config.attributes)
    if conditioned and row != 0 and guidance != 1.0:
        model = GuidedRNN(model, torch.zeros((1, 1, 1), dtype=torch.long), guidance)

    # One forward pass over every casing of the start text; the likeliest one is continued.
    newline = vocab.stoi[NEWLINE]
    context = torch.tensor([[newline, *vocab.encode(v)] for v in prepared.variants])
    speakers = torch.full((*context.shape, 1), row) if conditioned else None
    logits, state = model(context, attributes=speakers)
    logp = torch.log_softmax(logits[:, :-1], dim=-1).gather(2, context[:, 1:, None])
    best = int(logp.sum(dim=(1, 2)).argmax())
    model_text = prepared.variants[best]
    first = logits[best, -1]
    state = select_rows(state, torch.tensor([best]))

    rows = count + max(2, math.ceil(count / 2))
    generator = torch.Generator().manual_seed(seed if seed is not None else secrets.randbits(63))
    budget = cap - len(prepared.shown)  # new characters that fit under the cap
    steps = budget + (1 if bundle.stop == "line" else SENTENCE_LOOKAHEAD)
    never = torch.tensor([PAD, BOS, EOS])

    logits = first.expand(rows, -1).clone()
    state = expand_state(state, rows)
    written = [""] * rows
    live = list(range(rows))
    outcome: dict[int, tuple[str, bool]] = {}
    for step in range(steps):
        logits[:, never] = float("-inf")
        if step == 0:
            logits[:, newline] = float("-inf")  # a phrase is more than its start text
        probs = torch.softmax(logits / temperature, dim=-1)
        nxt = torch.multinomial(probs, 1, generator=generator).squeeze(1)
        going: list[int] = []
        for i, (r, char_id) in enumerate(zip(live, nxt.tolist(), strict=True)):
            written[r] += vocab.itos[char_id]
            text = model_text + written[r]
            end = phrase_end(text, len(model_text), bundle.stop)
            if end is not None:
                new = written[r][: end - len(model_text)]
                if len(prepared.shown) + len(new) <= cap:
                    outcome[r] = ((prepared.shown + new).rstrip(), True)
                else:
                    outcome[r] = (cut_at_cap(prepared.shown + new, cap, len(prepared.shown)), False)
            elif step == steps - 1:
                outcome[r] = (
                    cut_at_cap(prepared.shown + written[r], cap, len(prepared.shown)),
                    False,
                )
            else:
                going.append(i)
        if not going:
            break
        if len(going) < len(live):
            keep = torch.tensor(going)
            live = [live[i] for i in going]
            nxt, state = nxt[keep], select_rows(state, keep)
        step_attributes = torch.full((len(live), 1, 1), row) if conditioned else None
        step_logits, state = model(nxt[:, None], state, attributes=step_attributes)
        logits = step_logits[:, -1, :]

    results: list[Phrase] = []
    seen: set[str] = set()
    for want_finished in (True, False):
        for r in range(rows):
            text, finished = outcome[r]
            if finished != want_finished or (unique and text in seen):
                continue
            seen.add(text)
            if screen is not None and screen(text):
                continue
            results.append(Phrase(text, voice, finished))
            if len(results) == count:
                return results
    return results
