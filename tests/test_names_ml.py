"""The name model stack: vocabulary, split, training on tiny data, sampling invariants."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ml.names.data import encode_batch, makemore_split, read_names
from ml.names.evaluate import evaluate_checkpoint
from ml.names.model import NameModel
from ml.names.sample import PrefixError, sample_names
from ml.names.train import TrainConfig, train_names
from ml.names.vocab import BOS, EOS, PAD, CharVocab, title_case

TINY_NAMES = """
serena sergio serafina sergei serge serenity seraphina sera serina serenia
anna anne annabel annalise annika anton antonio antonia andrea andrew
maria marie mario marina marco mark martin martina mary maya
elena elena eliza elias elijah ella ellie elise eloise elsa
olivia oliver olga oscar otto owen ophelia orla ora oren
""".split()


@pytest.fixture(scope="module")
def names_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("names") / "names.txt"
    # blank lines and stray spaces must be ignored by the reader
    path.write_text("\n".join(TINY_NAMES * 4) + "\n\n  \n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(names_file: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("ckpt") / "names-en.pt"
    config = TrainConfig(
        style="en",
        hidden_size=48,
        embedding_dim=16,
        num_layers=1,
        dropout=0.0,
        max_epochs=25,
        patience=25,
        warmup_steps=5,
        batch_size=32,
        val_size=20,
        seed=7,
    )
    metrics = train_names([names_file], out, config, show_progress=False)
    return out, metrics


def test_vocab_round_trip_and_specials() -> None:
    vocab = CharVocab.from_names(["anna", "bob"])
    assert len(vocab) == 3 + 4  # specials + a b n o
    ids = vocab.encode("bona")
    assert min(ids) > EOS
    assert vocab.decode([*ids, EOS, vocab.stoi["a"]]) == "bona"  # stops at end token
    assert vocab.decode([BOS, *ids, PAD]) == "bona"
    assert vocab.unknown_chars("bØb🙂Ø") == ["Ø", "🙂"]
    with pytest.raises(ValueError):
        CharVocab(["ab"])


def test_title_case_handles_hyphens_and_spaces() -> None:
    assert title_case("anna-maria") == "Anna-Maria"
    assert title_case("jean luc") == "Jean Luc"
    assert title_case("ёлка") == "Ёлка"


def test_encode_batch_pads_and_shifts() -> None:
    vocab = CharVocab.from_names(["ab", "b"])
    inputs, targets = encode_batch(["ab", "b"], vocab)
    a, b = vocab.stoi["a"], vocab.stoi["b"]
    assert inputs.tolist() == [[BOS, a, b], [BOS, b, PAD]]
    assert targets.tolist() == [[a, b, EOS], [b, EOS, PAD]]


def test_makemore_split_is_the_published_rule() -> None:
    names = [f"n{i}" for i in range(32033)]
    train, test = makemore_split(names)
    assert len(test) == 1000 and len(train) == 31033
    torch.manual_seed(3407)
    rp = torch.randperm(32033).tolist()
    assert test == [names[i] for i in rp[-1000:]]
    small_train, small_test = makemore_split(names[:200])
    assert len(small_test) == 20 and len(small_train) == 180


def test_read_names_skips_blanks_and_lowercases(tmp_path: Path) -> None:
    path = tmp_path / "n.txt"
    path.write_text("\ufeffAnna\n\n  Bob  \nMary Ann\tf\n", encoding="utf-8")
    assert read_names([path]) == ["anna", "bob", "mary ann"]


def test_training_learns_and_writes_report(trained: tuple[Path, dict]) -> None:
    out, metrics = trained
    bundle = NameModel.load(out)
    uniform = math.log(len(bundle.vocab))
    assert metrics["val_nll"] < uniform - 0.5, metrics  # clearly better than guessing
    assert out.with_suffix(".metrics.json").exists()
    assert out.with_suffix(".loss.png").stat().st_size > 1000
    report = json.loads(out.with_suffix(".metrics.json").read_text())
    assert report["history"] and report["test_nll"] == metrics["test_nll"]
    assert "serena" in bundle.known_names


def test_sampling_invariants(trained: tuple[Path, dict]) -> None:
    bundle = NameModel.load(trained[0])
    names = sample_names(bundle, "Ser", 8, temperature=1.0, seed=1)
    texts = [n.text for n in names]
    assert texts, "the model should produce names for a prefix it has seen"
    assert all(t.startswith("Ser") for t in texts)
    assert all(t.lower() != "ser" for t in texts)  # never the bare prefix
    assert len(set(texts)) == len(texts)  # no duplicates
    assert all(len(t) < bundle.max_length for t in texts)  # end token respected, cap honoured
    assert all(n.is_real == (n.text.lower() in bundle.known_names) for n in names)
    assert texts == [n.text for n in sample_names(bundle, "ser", 8, 1.0, seed=1)]  # seeded


def test_prefix_is_case_insensitive_and_title_cased(trained: tuple[Path, dict]) -> None:
    bundle = NameModel.load(trained[0])
    names = sample_names(bundle, "aN", 4, temperature=1.0, seed=3)
    assert names and all(n.text.startswith("An") for n in names)


def test_higher_temperature_is_more_diverse(trained: tuple[Path, dict]) -> None:
    bundle = NameModel.load(trained[0])
    cold = sample_names(bundle, "", 200, temperature=0.2, seed=5, unique=False)
    hot = sample_names(bundle, "", 200, temperature=2.0, seed=5, unique=False)
    assert len({n.text for n in hot}) > len({n.text for n in cold})


def test_prefix_errors(trained: tuple[Path, dict]) -> None:
    bundle = NameModel.load(trained[0])
    with pytest.raises(PrefixError) as error:
        sample_names(bundle, "Сер", 3)
    assert error.value.unknown_chars == ["с", "е", "р"]
    with pytest.raises(PrefixError, match="too long"):
        sample_names(bundle, "a" * 200, 3)
    with pytest.raises(ValueError):
        sample_names(bundle, "a", 3, temperature=5.0)


def nll_one_name_at_a_time(bundle: NameModel, names: list[str]) -> float:
    """Mean NLL per character written out: each name on its own (no batch, no padding),
    every next character and the end token scored."""
    bundle.model.eval()
    total, characters = 0.0, 0
    with torch.no_grad():
        for name in names:
            ids = [BOS, *bundle.vocab.encode(name), EOS]
            logits, _ = bundle.model(torch.tensor([ids[:-1]]))
            log_probs = torch.log_softmax(logits[0], dim=-1)
            total -= sum(log_probs[i, ids[i + 1]].item() for i in range(len(ids) - 1))
            characters += len(ids) - 1
    return total / characters


def test_eval_matches_training_report(trained: tuple[Path, dict], names_file: Path) -> None:
    out, metrics = trained
    result = evaluate_checkpoint(out, [names_file], samples=50)
    assert result["test_nll"] == pytest.approx(metrics["test_nll_shipped"], abs=1e-3)
    bundle = NameModel.load(out)
    train, test = makemore_split(read_names([names_file]))
    # the batched, padded mean_nll is the plain per-name likelihood of the makemore test split
    assert result["test_nll"] == pytest.approx(nll_one_name_at_a_time(bundle, test), abs=1e-3)
    # novel_share: samples (t=1.0, the eval's seed 0) whose name is not in the training split
    generated = sample_names(bundle, "", 50, temperature=1.0, seed=0, unique=False)
    novel = sum(name.text.lower() not in set(train) for name in generated)
    assert result["samples"] == 50 and result["novel_share"] == novel / 50


def test_cli_prints_json_last(trained: tuple[Path, dict], names_file: Path) -> None:
    out, _ = trained
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ml",
            "eval-names",
            "--checkpoint",
            str(out),
            "--data",
            str(names_file),
            "--samples",
            "20",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"test_nll", "novel_share", "n_test"} <= set(last)
