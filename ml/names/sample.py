"""Sampling names from a trained style.

All names of one request are drawn in a single batch: the prefix is run through the network
once, its state is copied to every row, and the rows then grow one character per step until
each has produced the end token or hit the length cap.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import torch

from ml.names.model import NameModel, expand_state
from ml.names.vocab import BOS, EOS, normalize_name, title_case

MIN_TEMPERATURE = 0.1
MAX_TEMPERATURE = 2.0


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
    is_real: bool  # True when the style's training data holds this exact name


def check_prefix(bundle: NameModel, prefix: str) -> str:
    """Normalise a user prefix for ``bundle`` or raise PrefixError explaining what is wrong."""
    normalized = normalize_name(prefix)
    longest = bundle.max_length - 1
    if len(normalized) > longest:  # checked first: no point listing the characters of a novel
        raise PrefixError(
            f"the prefix is too long: names in this style have at most {longest} characters",
            max_length=longest,
        )
    unknown = bundle.vocab.unknown_chars(normalized)
    if unknown:
        shown = " ".join(repr(ch) for ch in unknown[:5])
        raise PrefixError(
            f"the {bundle.style!r} style does not know the characters {shown}", unknown
        )
    return normalized


@torch.inference_mode()
def sample_names(
    bundle: NameModel,
    prefix: str = "",
    count: int = 8,
    temperature: float = 1.0,
    seed: int | None = None,
    unique: bool = True,
    max_rounds: int = 6,
) -> list[GeneratedName]:
    """Up to ``count`` names starting with ``prefix``.

    Never returns the bare prefix (the end token is forbidden right after it). With ``unique``
    there are no duplicates; at low temperature a short list can come back when the model
    knows fewer than ``count`` distinct continuations. A fixed ``seed`` gives the same names.
    """
    if not MIN_TEMPERATURE <= temperature <= MAX_TEMPERATURE:
        raise ValueError(f"temperature must be in [{MIN_TEMPERATURE}, {MAX_TEMPERATURE}]")
    if count < 1:
        return []
    normalized = check_prefix(bundle, prefix)
    generator = torch.Generator()
    generator.manual_seed(seed if seed is not None else secrets.randbits(63))

    model, vocab = bundle.model, bundle.vocab
    context = torch.tensor([[BOS, *vocab.encode(normalized)]])
    logits, state = model(context)
    first_logits = logits[:, -1, :]  # the distribution over the character after the prefix

    seen: set[str] = set()
    results: list[GeneratedName] = []
    budget = bundle.max_length - len(normalized)
    for _ in range(max_rounds):
        batch = max(2 * (count - len(results)), 16) if unique else count - len(results)
        names = _grow(model, first_logits, state, batch, budget, temperature, generator)
        for ids in names:
            text = normalized + vocab.decode(ids)
            if unique and text in seen:
                continue
            seen.add(text)
            results.append(GeneratedName(title_case(text), text in bundle.known_names))
            if len(results) == count:
                return results
    return results


def _grow(
    model: torch.nn.Module,
    first_logits: torch.Tensor,
    state: object,
    batch: int,
    budget: int,
    temperature: float,
    generator: torch.Generator,
) -> list[list[int]]:
    """Sample ``batch`` continuations; rows that hit the length cap are dropped."""
    state = expand_state(state, batch)
    logits = first_logits.expand(batch, -1).clone()
    logits[:, EOS] = float("-inf")  # never the bare prefix
    rows = torch.empty(batch, 0, dtype=torch.long)
    done = torch.zeros(batch, dtype=torch.bool)
    for _ in range(budget):
        probs = torch.softmax(logits / temperature, dim=-1)
        nxt = torch.multinomial(probs, 1, generator=generator).squeeze(1)
        nxt = torch.where(done, torch.full_like(nxt, EOS), nxt)
        rows = torch.cat([rows, nxt[:, None]], dim=1)
        done |= nxt == EOS
        if bool(done.all()):
            break
        step_logits, state = model(nxt[:, None], state)
        logits = step_logits[:, -1, :]
    return [rows[i].tolist() for i in range(batch) if bool(done[i])]
