"""Sampling names from a trained style, with attributes, shape constraints and a filter.

All names of one request are drawn in a single batch: the prefix is run through the network
once, its state is copied to every row, and the rows then grow one character per step until
each has produced the end token or hit the length cap.

Constraints are enforced inside sampling, not by hoping: a minimum length masks the end
token until it is reached, a maximum length drops the rows that overrun it, and "ends with"
scores the suffix (plus the end token) from every row's state at every step, so each step of
each row offers one candidate that ends exactly so; candidates are then drawn by their
probability under the model (Gumbel top-k), within a fixed budget of rows and steps.

A prefix may contain spaces, hyphens and apostrophes even when the style's data has none
("Mary Ann", "Anne-Ma", "O'Br"): the part after the last separator is what the model
continues, and what comes before is kept as typed. Letters with diacritics that the style
does not know are read as their base letter ("Zoë" is continued like "Zoe") but shown as typed.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from math import inf
from typing import Any

import torch

from ml.names.model import ANY, GIVEN, PART, NameModel, expand_state, select_rows
from ml.names.obscenity import is_obscene
from ml.names.vocab import BOS, EOS, fold_to_vocab, normalize_name, title_case

SEPARATORS = " -'’"
# Rows drawn per round for ``count`` missing unique names (common names repeat, so a round
# oversamples). 3×/24 was measured against 2×/16 in one process: no faster, so 2×/16 stays.
BATCH_MULT, BATCH_FLOOR = 2, 16
# When a request is still short and the temperature is raised to find more names, a
# continuation must stay plausible: mean loss per character at most this (real names ≈ 1.9).
WIDENED_MAX_NLL = 2.6

MIN_TEMPERATURE = 0.1
MAX_TEMPERATURE = 2.0
MAX_GUIDANCE = 4.0


class PrefixError(ValueError):
    """The prefix cannot be used with this style; ``reason`` says why in plain words.

    Exactly one of ``unknown_chars`` (characters the style never saw) and ``max_length``
    (the longest usable prefix, when this one is longer) is set, so callers can explain it.
    """

    def __init__(
        self, reason: str, unknown_chars: list[str] | None = None, max_length: int = 0
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.unknown_chars = unknown_chars or []
        self.max_length = max_length


@dataclass(frozen=True)
class GeneratedName:
    text: str  # cased like a name is written
    is_real: bool  # True when the style's training data holds this exact name (or each part)


@dataclass(frozen=True)
class Shape:
    """Constraints on the finished name (lengths count the letters shown, prefix included)."""

    min_len: int = 0
    max_len: int = 0  # 0: no limit beyond the style's own
    ends_with: str = ""

    def __post_init__(self) -> None:
        if self.min_len < 0 or self.max_len < 0:
            raise ValueError("lengths cannot be negative")
        if self.max_len and self.min_len > self.max_len:
            raise ValueError("the minimum length is above the maximum")


NO_SHAPE = Shape()


@dataclass(frozen=True)
class PreparedPrefix:
    shown: str  # what the user typed, cleaned and cased, kept verbatim in the output
    model_text: str  # what the network continues (after the last separator, folded)
    head: str  # the kept part before the last separator ('' when the model reads it all)


def fold_for(bundle: NameModel, text: str) -> tuple[str, list[str]]:
    """``text`` in the style's alphabet (é → e when only e is known) and the chars left over."""
    return fold_to_vocab(text, bundle.vocab, keep=SEPARATORS)


def check_prefix(bundle: NameModel, prefix: str) -> str:
    """Normalise a user prefix for ``bundle`` or raise PrefixError explaining what is wrong."""
    return prepare_prefix(bundle, prefix).shown.lower()


def prepare_prefix(bundle: NameModel, prefix: str) -> PreparedPrefix:
    """Split and fold a user prefix, or raise PrefixError saying what is wrong with it."""
    cleaned = unicodedata.normalize("NFC", " ".join(prefix.split()))
    longest = bundle.max_length - 1
    if len(cleaned) > longest:  # checked first: no point listing the characters of a novel
        raise PrefixError(
            f"the prefix is too long: names in this style have at most {longest} characters",
            max_length=longest,
        )
    folded, unknown = fold_for(bundle, normalize_name(cleaned))
    if unknown:
        shown = " ".join(repr(ch) for ch in unknown[:5])
        raise PrefixError(
            f"the {bundle.style!r} style does not know the characters {shown}", unknown
        )
    if all(ch in bundle.vocab for ch in folded):
        head, stem = "", folded
    else:  # a separator the style never writes: continue only the last part
        cut = max(folded.rfind(sep) for sep in SEPARATORS) + 1
        head, stem = folded[:cut], folded[cut:]
        if head.strip(SEPARATORS) == "" and head:  # "-ann" or "'x": nothing before it
            raise PrefixError("a name cannot start with a separator", [head[0]])
    # Deliberate casing is kept ("McD", "DeLa", "O'Br"); "aN", "mary" or "MARY" are cased anew.
    deliberate = cleaned[:1].isupper() and not (len(cleaned) > 1 and cleaned.isupper())
    shown = cleaned if deliberate else title_case(cleaned.lower())
    return PreparedPrefix(shown=shown, model_text=stem, head=head)


def _is_real(bundle: NameModel, text: str, part: str) -> bool:
    known = bundle.known(part)
    if text in known:
        return True
    pieces = [p for p in text.replace("-", " ").replace("'", " ").split() if len(p) > 1]
    return len(pieces) > 1 and all(p in known for p in pieces)


@torch.inference_mode()
def sample_names(
    bundle: NameModel,
    prefix: str = "",
    count: int = 8,
    temperature: float = 1.0,
    seed: int | None = None,
    unique: bool = True,
    max_rounds: int = 6,
    *,
    attributes: Mapping[str, str] | None = None,
    shape: Shape = NO_SHAPE,
    screen: Callable[[str], bool] | None = is_obscene,
    guidance: float | None = None,
) -> list[GeneratedName]:
    """Up to ``count`` names starting with ``prefix``.

    ``attributes`` picks sex, era, race and the name part (``{"part": "family"}`` for a
    surname); missing ones are "any". ``screen`` drops names for which it returns True (by
    default the obscenity filter; None keeps everything, which benchmarks use to count).
    Never returns the bare prefix. With ``unique`` there are no duplicates; a short list comes
    back when the model knows fewer than ``count`` continuations within the constraints.
    A fixed ``seed`` gives the same names. ``guidance`` scales how strongly sex, era and race
    steer the names (``GuidedRNN``; None: the style's own default, 1.0: plain conditional).
    """
    if guidance is None:
        guidance = bundle.guidance
    if not 1.0 <= guidance <= MAX_GUIDANCE:
        raise ValueError(f"guidance must be in [1.0, {MAX_GUIDANCE}]")
    if not MIN_TEMPERATURE <= temperature <= MAX_TEMPERATURE:
        raise ValueError(f"temperature must be in [{MIN_TEMPERATURE}, {MAX_TEMPERATURE}]")
    if count < 1:
        return []
    chosen = dict(attributes or {})
    part = chosen.get(PART, GIVEN)
    if not bundle.model.config.attributes:
        chosen = {}  # an unconditional style serves every request from its one distribution
    prepared = prepare_prefix(bundle, prefix)
    suffix, unknown = fold_for(bundle, normalize_name(shape.ends_with))
    if unknown or any(ch not in bundle.vocab for ch in suffix):
        raise PrefixError(
            f"the {bundle.style!r} style cannot end a name with {shape.ends_with!r}",
            unknown or [ch for ch in suffix if ch not in bundle.vocab],
        )
    shown_len = len(prepared.shown)
    longest = min(bundle.max_length, shape.max_len or bundle.max_length)
    if shown_len >= longest:
        return []
    # a name is longer than its required ending ("Mason" for -son, never "Son" alone)
    min_new = max(1, shape.min_len - shown_len, len(suffix) + 1 - shown_len)
    budget = longest - shown_len

    generator = torch.Generator()
    generator.manual_seed(seed if seed is not None else secrets.randbits(63))
    model, vocab = bundle.served, bundle.vocab
    conditions = bundle.model.encode_attributes(chosen)
    if (
        conditions is not None
        and guidance != 1.0
        and any(value not in ("", ANY) for key, value in chosen.items() if key != PART)
    ):
        free = bundle.model.encode_attributes({PART: part})
        if bundle.stepper is not None:  # the stepper runs both branches in one state
            model = bundle.stepper.guided(free, guidance)
        else:
            model = GuidedRNN(model, free, guidance)
    context = torch.tensor([[BOS, *vocab.encode(prepared.model_text)]])
    logits, state = model(context, attributes=conditions)
    grower = _Grower(model, logits[:, -1, :], state, conditions, temperature, generator)
    # a separator never starts the continued word, follows another, or ends the name
    grower.separators = torch.tensor([vocab.stoi[c] for c in SEPARATORS if c in vocab.stoi])
    grower.at_word_start = not prepared.model_text
    suffix_ids = vocab.encode(suffix)

    seen: set[str] = set()
    results: list[GeneratedName] = []
    for round_index in range(max_rounds):
        missing = count - len(results)
        batch = max(BATCH_MULT * missing, BATCH_FLOOR) if unique else missing
        if unique and round_index >= 2:
            # Still short after two rounds (a long prefix such as "Christopherso" has few
            # likely endings): widen the search a little each round rather than give up.
            grower.temperature = min(
                MAX_TEMPERATURE, temperature * min(1.5, 1.25 ** (round_index - 1))
            )
        if suffix_ids:
            continuations = grower.with_suffix(batch, budget, min_new, suffix_ids, count)
        else:
            widened = grower.temperature > temperature
            continuations = grower.free(batch, budget, min_new, WIDENED_MAX_NLL if widened else inf)
        for ids in continuations:
            tail = vocab.decode(ids)
            model_text = prepared.head + prepared.model_text + tail
            if unique and model_text in seen:
                continue
            seen.add(model_text)
            text = prepared.shown + tail
            if screen is not None and screen(text):
                continue
            results.append(
                GeneratedName(
                    title_case_tail(text, len(prepared.shown)), _is_real(bundle, model_text, part)
                )
            )
            if len(results) == count:
                return results
    return results


def _join_states(first: Any, second: Any) -> Any:
    """Concatenate two recurrent states along the batch (GRU tensors or LSTM tuples)."""
    if isinstance(first, tuple):
        return tuple(_join_states(a, b) for a, b in zip(first, second, strict=True))
    return torch.cat([first, second], dim=1)


def _split_state(state: Any, rows: int) -> tuple[Any, Any]:
    """Undo ``_join_states``: the first ``rows`` rows, and the rest."""
    if isinstance(state, tuple):
        halves = [_split_state(s, rows) for s in state]
        return tuple(h[0] for h in halves), tuple(h[1] for h in halves)
    return state[:, :rows], state[:, rows:]


class GuidedRNN(torch.nn.Module):
    """Classifier-free guidance over attributes, as a drop-in for ``CharRNN`` when sampling.

    Every row runs twice in one batch: with the requested attributes, and with the same
    name part but sex, era and race left "any" (the mixture the model learned by seeing
    attributes hidden in training). The next-character log-probabilities are then
    ``log p_any + scale · (log p_asked − log p_any)``: scale 1 is the plain conditional model;
    above 1 moves each step further from what "any" would write, which sharpens the
    requested sex (or era, race) at the cost of some variety. The state is a pair (asked, any).
    """

    def __init__(self, model: torch.nn.Module, free: torch.Tensor, scale: float) -> None:
        super().__init__()
        self.model, self.free, self.scale = model, free, scale

    def forward(
        self, idx: torch.Tensor, state: Any = None, attributes: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, Any]:
        assert attributes is not None, "guidance needs the requested attributes"
        rows = idx.shape[0]
        both = torch.cat([attributes, self.free.expand_as(attributes)])
        joined = None if state is None else _join_states(*state)
        logits, new_state = self.model(torch.cat([idx, idx]), joined, attributes=both)
        asked = torch.log_softmax(logits[:rows], dim=-1)
        anyone = torch.log_softmax(logits[rows:], dim=-1)
        return anyone + self.scale * (asked - anyone), _split_state(new_state, rows)


def title_case_tail(text: str, kept: int) -> str:
    """The first ``kept`` characters as the user typed them; the rest cased like a name."""
    if kept == 0:
        return title_case(text)
    cased = title_case(text.lower())
    return text[:kept] + cased[kept:]


def _draw(probs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One index per row of ``probs``: exactly ``torch.multinomial(probs, 1).squeeze(1)``.

    It is how torch draws one sample (argmax of p / q with q ~ Exp(1), the same numbers from
    the same generator), without its validity checks, which cost more than the draw on a
    16-row batch; every row here has some probability left (never all characters masked).
    """
    noise = torch.empty_like(probs).exponential_(1, generator=generator)
    return probs.div_(noise).argmax(dim=-1)


class _Grower:
    """Grows continuations of one prefix state in batches (one request's worth of rows).

    Which row ended, and which row's last character was a separator, is kept in Python
    lists read from one ``tolist()`` per step: on a batch of 8–32 rows each small tensor op
    costs more than the same work on a list.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        first_logits: torch.Tensor,
        state: object,
        conditions: torch.Tensor | None,
        temperature: float,
        generator: torch.Generator,
    ) -> None:
        self.model, self.first_logits, self.state = model, first_logits, state
        self.conditions, self.temperature, self.generator = conditions, temperature, generator
        self.separators = torch.empty(0, dtype=torch.long)  # ids of " ", "-", "'" in the vocab
        self.at_word_start = False  # the prefix's last word is empty (no prefix, or "Mary ")

    def _mask_separators(self, logits: torch.Tensor, after: list[bool]) -> torch.Tensor:
        """No separator (nor the end) right after a separator or at the start of a word, so
        "-Thilly", "Baun ", "Quari'" and "O''Br" cannot be written. ``after``: per row."""
        if len(self.separators) and any(after):
            rows = torch.tensor([i for i, flag in enumerate(after) if flag])
            logits[rows[:, None], self.separators[None, :]] = float("-inf")
            logits[rows, EOS] = float("-inf")
        return logits

    def _sample(self, logits: torch.Tensor) -> torch.Tensor:
        """One next character per row at the grower's temperature (``logits`` is not changed)."""
        scaled = logits if self.temperature == 1.0 else logits / self.temperature
        return _draw(torch.softmax(scaled, dim=-1), self.generator)

    def _start(self, batch: int) -> tuple[torch.Tensor, object, torch.Tensor | None]:
        logits = self.first_logits.expand(batch, -1).clone()
        conditions = None if self.conditions is None else self.conditions.expand(batch, -1)
        return logits, expand_state(self.state, batch), conditions

    def free(self, batch: int, budget: int, min_new: int, max_nll: float = inf) -> list[list[int]]:
        """``batch`` samples; the end token is masked before ``min_new`` characters, and rows
        still going after ``budget`` characters are dropped (never cut short).

        Finished rows leave the batch at once, so each step runs the network only on the rows
        still writing (a batch of names is mostly short ones waiting for the longest).

        ``max_nll`` drops continuations whose mean loss per character (at temperature 1, end
        token included) is above it: the guard when the temperature was raised to find more.
        """
        logits, state, conditions = self._start(batch)
        written: list[list[int]] = [[] for _ in range(batch)]
        finished: list[int] = []
        live = list(range(batch))  # original row of each row still in the batch
        guarded = max_nll < inf  # the loss is only tracked when something is judged on it
        nll = [0.0] * batch
        separator_ids = set(self.separators.tolist())
        after_sep = [self.at_word_start] * batch
        for step in range(budget + 1):
            if step < min_new:
                logits[:, EOS] = float("-inf")
            logits = self._mask_separators(logits, after_sep)
            loss = torch.log_softmax(logits, dim=-1) if guarded else None
            nxt = self._sample(logits)
            chars = nxt.tolist()
            if loss is not None:
                picked = loss.gather(1, nxt[:, None]).squeeze(1)
                for row, value in zip(live, picked.tolist(), strict=True):
                    nll[row] -= value
            keep = []  # positions (in this step's batch) of the rows still writing
            for i, (row, char) in enumerate(zip(live, chars, strict=True)):
                if char != EOS:
                    written[row].append(char)
                    keep.append(i)
                else:
                    finished.append(row)
            if step == budget or not keep:
                break  # rows still going here ran past the budget: dropped
            after_sep = [chars[i] in separator_ids for i in keep]
            if len(keep) < len(live):
                live = [live[i] for i in keep]
                index = torch.tensor(keep)
                nxt, state = nxt[index], select_rows(state, index)
                conditions = None if conditions is None else conditions[index]
            step_logits, state = self.model(nxt[:, None], state, attributes=conditions)
            logits = step_logits[:, -1, :]
        finished.sort()  # in row order, as drawn
        if guarded:
            finished = [r for r in finished if nll[r] / (len(written[r]) + 1) <= max_nll]
        return [written[r] for r in finished]

    def with_suffix(
        self, batch: int, budget: int, min_new: int, suffix: list[int], count: int
    ) -> list[list[int]]:
        """Continuations ending in ``suffix``, best first by a Gumbel top-k draw.

        At each step every live row is scored on "the suffix, then the end": one forward pass
        over the suffix from the row's state. Each (row, step) is a candidate whose weight is
        the model's probability of the whole continuation; rows then take one sampled step.
        """
        logits, state, conditions = self._start(batch)
        rows = torch.empty(batch, 0, dtype=torch.long)
        logp = torch.zeros(batch)
        scores: list[torch.Tensor] = []  # per step: (batch,) log-probability of ending there
        prefixes: list[torch.Tensor] = []  # per step: (batch, step) characters before the suffix
        k = len(suffix)
        suffix_tensor = torch.tensor(suffix)
        separator_ids = set(self.separators.tolist())
        after_sep = [self.at_word_start] * batch
        for step in range(budget - k + 1):
            if step + k >= min_new:
                first = torch.log_softmax(logits, dim=-1)[:, suffix[0]]
                tail_logits, _ = self.model(
                    suffix_tensor.expand(batch, -1), state, attributes=conditions
                )
                tail = torch.log_softmax(tail_logits, dim=-1)
                rest = tail[:, : k - 1, :].gather(2, suffix_tensor[1:].expand(batch, -1)[..., None])
                scores.append(logp + first + rest.sum(dim=(1, 2)) + tail[:, k - 1, EOS])
                prefixes.append(rows)
            # one free step for every row; ending without the suffix would waste the row
            masked = self._mask_separators(logits.clone(), after_sep)
            masked[:, EOS] = float("-inf")
            nxt = self._sample(masked)
            after_sep = [char in separator_ids for char in nxt.tolist()]
            logp = logp + torch.log_softmax(logits, dim=-1).gather(1, nxt[:, None]).squeeze(1)
            rows = torch.cat([rows, nxt[:, None]], dim=1)
            step_logits, state = self.model(nxt[:, None], state, attributes=conditions)
            logits = step_logits[:, -1, :]
        if not scores:
            return []
        flat = torch.cat(scores) / self.temperature
        uniform = torch.rand(flat.numel(), generator=self.generator).clamp_min(1e-12)
        keys = flat - torch.log(-torch.log(uniform))  # Gumbel top-k: sampling w/o replacement
        found: dict[tuple[int, ...], None] = {}  # the same name is reached from many rows
        for i in torch.argsort(keys, descending=True).tolist():
            found.setdefault(tuple(prefixes[i // batch][i % batch].tolist()), None)
            if len(found) == 2 * count:
                break
        return [[*ids, *suffix, EOS] for ids in found]
