"""The hand-stepped served form of the name GRUs (``ml.names.stepper``) against ``CharRNN``.

fp32: the same arithmetic as ``nn.GRU`` up to rounding, so the same logits and, from the same
seed, the same names. int8: the same products as the dynamically quantised ``nn.GRU`` but the
first layer's input exact, so the names differ draw by draw but not in distribution.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from ml.names.evaluate import mean_nll
from ml.names.model import CharRNN, ModelConfig, NameModel, expand_state, select_rows
from ml.names.registry import load_style
from ml.names.sample import GuidedRNN, Shape, sample_names
from ml.names.stepper import GRUStepper

SCHEMA = {"part": ["given", "family"], "sex": ["f", "m"], "era": ["1900", "2000"]}


def _tiny(num_layers: int, condition_state: bool, attributes: dict | None = None) -> CharRNN:
    torch.manual_seed(num_layers * 10 + condition_state)
    config = ModelConfig(
        vocab_size=11,
        hidden_size=24,
        embedding_dim=8,
        num_layers=num_layers,
        attributes=SCHEMA if attributes is None else attributes,
        condition_state=condition_state,
    )
    return CharRNN(config).eval()


@pytest.mark.parametrize(
    ("num_layers", "condition_state", "attributes"),
    [(1, False, None), (2, True, None), (3, True, None), (2, False, {})],
)
@torch.no_grad()
def test_fp32_stepper_gives_the_charrnn_logits(
    num_layers: int, condition_state: bool, attributes: dict | None
) -> None:
    """Whole sequences, and a prefix continued step by step after the rows were copied and
    some dropped (as the sampler does): the same logits as ``CharRNN`` within rounding."""
    model = _tiny(num_layers, condition_state, attributes)
    stepper = GRUStepper(model, int8=False)
    idx = torch.tensor([[1, 3, 5, 2, 7, 4], [1, 6, 6, 4, 9, 10], [1, 8, 3, 3, 5, 5]])
    asked = (
        model.encode_attributes({"sex": "f", "era": "2000"}) if model.config.attributes else None
    )
    rows = None if asked is None else asked.expand(3, -1)
    expected, _ = model(idx, attributes=rows)
    got, _ = stepper(idx, attributes=rows)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)

    # prefix of one row → copied to four rows → rows 1 and 3 kept → three more steps
    keep = torch.tensor([1, 3])
    prefix = idx[:1, :3]
    _, ref_state = model(prefix, attributes=asked)
    _, state = stepper(prefix, attributes=asked)
    ref_state, state = expand_state(ref_state, 4), expand_state(state, 4)
    ref_state, state = select_rows(ref_state, keep), select_rows(state, keep)
    tail = torch.tensor([[2, 7, 4], [9, 9, 10]])
    kept = None if asked is None else asked.expand(2, -1)
    expected, _ = model(tail, ref_state, attributes=kept)
    got, _ = stepper(tail, state, attributes=kept)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


@torch.no_grad()
def test_guided_stepper_matches_guided_rnn() -> None:
    model = _tiny(2, True)
    asked, free = model.encode_attributes({"sex": "m"}), model.encode_attributes({})
    idx = torch.tensor([[1, 3, 5, 2, 7], [1, 1, 9, 4, 6]])
    reference, stepper = (
        GuidedRNN(model, free, 2.5),
        GRUStepper(model, int8=False).guided(free, 2.5),
    )
    rows = asked.expand(2, -1)
    first, ref_state = reference(idx[:, :2], attributes=rows)
    got, state = stepper(idx[:, :2], attributes=rows)
    torch.testing.assert_close(got, first, atol=1e-5, rtol=1e-5)
    for t in range(2, idx.shape[1]):
        expected, ref_state = reference(idx[:, t : t + 1], ref_state, attributes=rows)
        got, state = stepper(idx[:, t : t + 1], state, attributes=rows)
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="guidance"):
        stepper(idx)  # the "any" branch needs the asked attributes


def test_fp32_stepper_draws_the_same_names_from_the_same_seed() -> None:
    """Through the whole sampler (rows leaving the batch, guidance, ends-with, prefixes,
    temperature): the stepper and ``nn.GRU`` give the same names; rounding may at most flip
    a rare draw, so one request in twenty may differ."""
    stepped = load_style("en")
    plain = dataclasses.replace(stepped, stepper=None)
    assert isinstance(stepped.stepper, GRUStepper) and not stepped.stepper.int8
    requests = []
    for i in range(20):
        kwargs: dict = {"attributes": {"sex": "f"} if i % 2 else {"era": "1920"}}
        if i % 5 == 0:
            kwargs["shape"] = Shape(ends_with="a")
        requests.append((["", "Ma", "Jo"][i % 3], 1.0 + 0.1 * (i % 4), i, kwargs))
    same = sum(
        sample_names(stepped, prefix, 8, t, seed=seed, **kw)
        == sample_names(plain, prefix, 8, t, seed=seed, **kw)
        for prefix, t, seed, kw in requests
    )
    assert same >= 19, same


def test_int8_stepper_scores_like_the_int8_gru() -> None:
    """The served form's held-out-style loss (here: on its own fp32 samples) is within int8
    noise of the fp32 weights' and of the int8 ``nn.GRU``'s."""
    fp32, int8 = load_style("ru"), load_style("ru", quantize=True)
    assert isinstance(int8.stepper, GRUStepper) and int8.stepper.int8
    names = [
        n.text.lower()
        for n in sample_names(fp32, "", 600, 1.0, seed=3, unique=False, attributes={"sex": "m"})
    ]
    reference = mean_nll(fp32.model, names, fp32.vocab)
    assert abs(mean_nll(int8.stepper, names, int8.vocab) - reference) < 0.02
    assert abs(mean_nll(int8.model, names, int8.vocab) - reference) < 0.02


def _measures(names: list[str], known: frozenset[str]) -> dict[str, torch.Tensor]:
    return {
        "length": torch.tensor([float(len(n)) for n in names]),
        "real": torch.tensor([float(n in known) for n in names]),
        "ends_in_a": torch.tensor([float(n.endswith("a")) for n in names]),
    }


@pytest.mark.parametrize("attributes", [{}, {"sex": "m"}, {"sex": "f", "era": "1950"}])
def test_int8_stepper_keeps_the_served_distribution(attributes: dict[str, str]) -> None:
    """2,000 en names per path, guided when a sex is asked: the new served form (int8
    stepper) against today's (int8 ``nn.GRU``): mean length, share of real names and share
    ending in -a (women's names mostly do) agree within 4 standard errors."""
    served = load_style("en", quantize=True)
    before = dataclasses.replace(served, stepper=None)
    kwargs = {"unique": False, "attributes": attributes, "screen": None}
    new = [n.text.lower() for n in sample_names(served, "", 2000, 1.0, seed=21, **kwargs)]
    old = [n.text.lower() for n in sample_names(before, "", 2000, 1.0, seed=22, **kwargs)]
    new_measures, old_measures = (
        _measures(new, served.known_names),
        _measures(old, served.known_names),
    )
    for name, a in new_measures.items():
        b = old_measures[name]
        stderr = float((a.var() / len(a) + b.var() / len(b)).sqrt())
        assert abs(float(a.mean() - b.mean())) < 4 * stderr + 1e-9, (name, a.mean(), b.mean())


def test_lstm_styles_sample_without_a_stepper(tmp_path) -> None:
    config = ModelConfig(vocab_size=30, cell="lstm", hidden_size=16, embedding_dim=8)
    from ml.names.vocab import CharVocab

    bundle = NameModel(
        style="en",
        model=CharRNN(config).eval(),
        vocab=CharVocab(list("abcdefghijklmnopqrstuvwxyz'")),
        known_names=frozenset(),
        max_length=12,
    )
    bundle.save(tmp_path / "names-en.pt")
    loaded = NameModel.load(tmp_path / "names-en.pt", quantize=True)
    assert loaded.stepper is None and loaded.served is loaded.model
    assert len(sample_names(loaded, "", 4, 1.0, seed=1, unique=False)) == 4
