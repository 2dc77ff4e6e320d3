"""Phrase models (issue 13) on tiny corpora: split, training, speaker conditioning, sampling,
the n-gram baseline and the CLI; and the shipped checkpoints."""

from __future__ import annotations

import json
import math
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ml.names.model import CharRNN, ModelConfig
from ml.phrases.data import (
    encode_stream,
    encode_unit,
    read_simpsons,
    read_tolstoy,
    split_of,
)
from ml.phrases.model import DEFAULT_CHECKPOINT_DIR, PhraseModel, find_voice, load_phrase_models
from ml.phrases.ngram import KneserNey, Unigram
from ml.phrases.sample import Phrase, cut_at_cap, phrase_end, sample_phrases
from ml.phrases.train import TrainConfig, train_phrases

# Each speaker has a word of their own; the line around it is the same for everyone, so only
# the speaker condition can tell which word comes.
WORDS = {"Moe_Szyslak": "pal", "Homer_Simpson": "donut", "Barney_Gumble": "burp"}
TEMPLATES = ["oh {w}.", "my {w} is here.", "no {w} today.", "a {w} for me."]


def _write_script(path: Path, scenes: int = 60, seed: int = 0) -> Path:
    rng = random.Random(seed)
    rows = ["[YEAR DATE 1989] © Twentieth Century Fox Film Corporation. All rights reserved."]
    for _ in range(scenes):
        rows.append("")
        for _ in range(6):
            speaker = rng.choice(list(WORDS))
            rows.append(f"{speaker}: {rng.choice(TEMPLATES).format(w=WORDS[speaker])}")
        if rng.random() < 0.3:
            rows.append("Lisa_Simpson: oh dad.")  # too rare for a voice: "any"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


SENTENCES = [
    "Анна пришла домой.",
    "Вронский ждал ее у двери.",
    "– Что? – сказал он.",
    "Она молчала, т. е. не отвечала.",
    "Кити смеялась!",
    "– Ну? – Ничего.",
]


def _write_novel(path: Path, chapters: int = 40, seed: int = 0) -> Path:
    rng = random.Random(seed)
    numerals = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"]
    rows = [""]
    for k in range(chapters):
        rows += [numerals[k % 10], ""]
        for _ in range(4):
            rows += [" ".join(rng.choice(SENTENCES) for _ in range(3)).replace(" – ", "\u00a0– ")]
            rows.append("")
    path.write_text("\ufeff" + "\n".join(rows), encoding="utf-8")
    return path


TINY = TrainConfig(
    embedding_dim=16,
    hidden_size=64,
    num_layers=1,
    dropout=0.0,
    bptt=32,
    batch_size=8,
    learning_rate=1e-2,
    warmup_steps=5,
    max_epochs=12,
    eval_every=40,
    attribute_dropout=0.2,
    cold_lines=4,
    max_chars=80,
    seed=3,
    threads=1,
)


@pytest.fixture(scope="module")
def script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_script(tmp_path_factory.mktemp("script") / "moes.txt")


@pytest.fixture(scope="module")
def trained(script: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("ckpt") / "phrases-simpsons.pt"
    metrics = train_phrases(read_simpsons(script, min_lines=20), out, TINY, show_progress=False)
    return out, metrics


@pytest.fixture(scope="module")
def moes(trained: tuple[Path, dict]) -> PhraseModel:
    return PhraseModel.load(trained[0])


@pytest.fixture(scope="module")
def novel(tmp_path_factory: pytest.TempPathFactory) -> PhraseModel:
    folder = tmp_path_factory.mktemp("novel")
    corpus = read_tolstoy(_write_novel(folder / "anna.txt"))
    out = folder / "phrases-tolstoy.pt"
    train_phrases(corpus, out, TINY, show_progress=False)
    return PhraseModel.load(out)


# --- data and split -------------------------------------------------------------------


def test_split_keeps_every_scene_whole_and_apart(script: Path) -> None:
    corpus = read_simpsons(script, min_lines=20)
    assert len(corpus.units) == 60
    assert {split_of(i) for i in range(20)} == {"train", "val", "test"}
    test = corpus.split("test")
    assert test == [corpus.units[i] for i in (3, 13, 23, 33, 43, 53)]
    assert [u for s in ("train", "val", "test") for u in corpus.split(s)].__len__() == 60
    # the training stream is exactly the training scenes, no held-out scene's text
    ids, _ = encode_stream(corpus.split("train"), _vocab(corpus), {})
    stream = "".join(_vocab(corpus).itos[i] for i in ids.tolist())
    assert stream == "\n" + "".join(u.text for u in corpus.split("train"))
    held_out = {id(u) for s in ("val", "test") for u in corpus.split(s)}
    assert not held_out & {id(u) for u in corpus.split("train")}


def test_simpsons_reader_voices_and_any(script: Path) -> None:
    corpus = read_simpsons(script, min_lines=20)
    # Lisa is too rare for a voice: her lines are "any"
    assert corpus.voices == {
        "moe": "Moe_Szyslak",
        "homer": "Homer_Simpson",
        "barney": "Barney_Gumble",
    }
    assert "© Twentieth" not in "".join(u.text for u in corpus.units)
    unit = corpus.units[0]
    ids, speakers = encode_unit(unit, _vocab(corpus), corpus.speaker_rows())
    # the newline that ends a line already carries the next line's speaker
    first_len = len(unit.lines[0].text) + 1
    rows = corpus.speaker_rows()
    assert speakers[1 : first_len + 1].tolist() == [rows.get(unit.lines[0].speaker, 0)] * first_len
    assert int(speakers[first_len + 1]) == rows.get(unit.lines[1].speaker, 0)
    assert len(ids) == len(unit.text) + 1


def test_tolstoy_reader_splits_by_chapter(tmp_path: Path) -> None:
    corpus = read_tolstoy(_write_novel(tmp_path / "anna.txt", chapters=25))
    assert len(corpus.units) == 25 and corpus.stop == "sentence"
    text = "".join(u.text for u in corpus.units)
    assert "\ufeff" not in text and "\u00a0" not in text
    assert not re.search(r"^[IVX]+$", text, re.M)  # headings are not text
    assert len(corpus.split("test")) == 3 and len(corpus.split("val")) == 1
    assert corpus.split("val")[0] is corpus.units[8]


def _vocab(corpus):
    from ml.names.vocab import CharVocab

    return CharVocab(corpus.chars)


# --- the network ---------------------------------------------------------------------------


def test_per_position_attributes_match_per_sequence_ones() -> None:
    torch.manual_seed(0)
    net = CharRNN(
        ModelConfig(
            vocab_size=9, hidden_size=16, embedding_dim=8, attributes={"speaker": ["a", "b"]}
        )
    )
    net.eval()
    idx = torch.tensor([[3, 4, 5, 6], [6, 5, 4, 3]])
    rows = torch.tensor([[1], [2]])
    whole, _ = net(idx, attributes=rows)
    per_position, _ = net(idx, attributes=rows[:, None, :].expand(-1, 4, -1))
    torch.testing.assert_close(whole, per_position)
    switched, _ = net(idx, attributes=torch.tensor([[[1], [1], [2], [2]]] * 2))
    assert torch.allclose(switched[:, :2], net(idx[:, :2], attributes=torch.tensor([[1], [1]]))[0])
    assert not torch.allclose(switched[0, 2:], whole[0, 2:])


# --- training ------------------------------------------------------------------------------


def test_training_learns_and_writes_its_report(trained: tuple[Path, dict]) -> None:
    out, metrics = trained
    history = json.loads(out.with_suffix(".metrics.json").read_text())["history"]
    vals = [h["val_loss"] for h in history if "val_loss" in h]
    assert len(vals) >= 3 and min(vals) < vals[0]
    best = next(h for h in history if h["step"] == metrics["best_step"] and "val_loss" in h)
    assert metrics["val_bits_per_char"] == round(best["val_loss"] / math.log(2), 4)
    assert best["val_loss"] <= min(vals) + 1e-4
    assert out.with_suffix(".loss.png").stat().st_size > 1000
    assert metrics["units"] == {"train": 51, "val": 3, "test": 6}
    for key in ("test_bits_per_char", "ngram_test_bits_per_char", "test_bits_per_char_any_speaker"):
        assert 0 < metrics[key] < 1, (key, metrics[key])  # uniform: log2(31) = 5 bits
    # the speaker is worth bits: knowing it beats hiding it
    assert metrics["test_bits_per_char"] < metrics["test_bits_per_char_any_speaker"]


def test_speaker_conditioning_steers(moes: PhraseModel) -> None:
    for voice, speaker in (
        ("moe", "Moe_Szyslak"),
        ("homer", "Homer_Simpson"),
        ("barney", "Barney_Gumble"),
    ):
        lines = sample_phrases(moes, "", 20, 0.5, seed=1, voice=voice, unique=False, screen=None)
        own = sum(WORDS[speaker] in p.text for p in lines)
        assert len(lines) == 20 and own >= 16, (voice, [p.text for p in lines])
        assert all(p.voice == voice for p in lines)


def test_guidance_sharpens_the_voice(moes: PhraseModel) -> None:
    """At t=1.8 the plain model slips into another speaker's word now and then; guidance
    (each row also run as "any", then pushed away from it) must make that rarer."""

    def slips(guidance: float) -> float:
        wrong = total = 0
        for voice, speaker in (("moe", "Moe_Szyslak"), ("homer", "Homer_Simpson")):
            others = [w for s, w in WORDS.items() if s != speaker]
            for seed in range(10):
                lines = sample_phrases(
                    moes, "", 20, 1.8, seed=seed, voice=voice, unique=False, screen=None,
                    guidance=guidance,
                )  # fmt: skip
                wrong += sum(any(w in p.text for w in others) for p in lines)
                total += len(lines)
        return wrong / total

    plain, guided = slips(1.0), slips(3.0)
    assert plain > 0.02 and guided < plain / 2, (plain, guided)
    with pytest.raises(ValueError, match="guidance"):
        sample_phrases(moes, "", 3, voice="moe", guidance=0.5)


# --- sampling ------------------------------------------------------------------------------


def test_start_text_kept_as_typed_and_lines_end(moes: PhraseModel) -> None:
    for start in ("MY", "my", "My ", "oh"):
        lines = sample_phrases(moes, start, 8, 0.8, seed=2, voice="homer", screen=None)
        assert lines and all(p.text.startswith(start) for p in lines), (start, lines)
        assert all(p.finished and p.text.endswith(".") and "\n" not in p.text for p in lines)
        assert all(len(p.text) > len(start.strip()) for p in lines)


def test_length_cap(moes: PhraseModel) -> None:
    lines = sample_phrases(moes, "my", 10, 1.0, seed=3, voice="moe", max_chars=10, unique=False)
    assert lines and all(len(p.text) <= 10 for p in lines)
    cut = [p for p in lines if not p.finished]
    assert cut and all(p.text.endswith("…") and p.text.startswith("my") for p in cut)
    assert cut_at_cap("my pal is here", 10, keep=2) == "my pal…"
    assert cut_at_cap("abcdefghijkl", 6, keep=2) == "abcde…"


def test_screen_drops_phrases_and_errors_are_plain(moes: PhraseModel) -> None:
    lines = sample_phrases(moes, "", 8, 1.0, seed=4, voice="moe", screen=lambda t: "pal" in t)
    assert all("pal" not in p.text for p in lines)
    with pytest.raises(ValueError, match="unknown voice"):
        sample_phrases(moes, "", 3, voice="lisa")
    with pytest.raises(ValueError, match="cannot read"):
        sample_phrases(moes, "Ж", 3)
    with pytest.raises(ValueError, match="temperature"):
        sample_phrases(moes, "", 3, temperature=5.0)


def _one_at_a_time(bundle: PhraseModel, n: int, temperature: float, seed: int) -> list[str]:
    """A reference sampler: one row, one character at a time, no batching tricks."""
    generator = torch.Generator().manual_seed(seed)
    newline = bundle.vocab.stoi["\n"]
    rows = torch.tensor([[[bundle.speaker_row("moe")]]])
    out = []
    while len(out) < n:
        logits, state = bundle.model(torch.tensor([[newline]]), attributes=rows)
        text = ""
        for step in range(bundle.max_chars + 1):
            scores = logits[0, -1].clone()
            scores[:3] = float("-inf")
            if step == 0:
                scores[newline] = float("-inf")
            nxt = int(
                torch.multinomial(torch.softmax(scores / temperature, -1), 1, generator=generator)
            )
            if nxt == newline:
                out.append(text)
                break
            text += bundle.vocab.itos[nxt]
            logits, state = bundle.model(torch.tensor([[nxt]]), state, attributes=rows)
    return out


def test_batched_sampling_keeps_the_distribution(moes: PhraseModel) -> None:
    """Rows leave the batch as they end; lines must come out as a plain loop draws them."""
    with torch.inference_mode():
        reference = _one_at_a_time(moes, 400, 1.5, seed=5)
    batched: list[Phrase] = []
    for seed in range(40):
        batched += sample_phrases(
            moes, "", 10, 1.5, seed=seed, voice="moe", unique=False, screen=None
        )
    for measure in (len, lambda s: float("pal" in s)):
        a = torch.tensor([float(measure(p.text)) for p in batched])
        b = torch.tensor([float(measure(s)) for s in reference])
        stderr = float((a.var() / len(a) + b.var() / len(b)).sqrt())
        assert abs(float(a.mean() - b.mean())) < 4 * stderr + 1e-9, (a.mean(), b.mean())


def test_sentence_end_rule() -> None:
    assert phrase_end("Он ушел. О", 0, "sentence") == len("Он ушел.")
    assert phrase_end("Он ушел. ", 0, "sentence") is None  # not decided yet
    assert phrase_end("т. е. он", 0, "sentence") is None  # lower case goes on
    assert phrase_end("– Что? – с", 0, "sentence") is None  # reported speech goes on
    assert phrase_end("– Что? – Н", 0, "sentence") == len("– Что?")
    assert phrase_end("Да!» О", 0, "sentence") == len("Да!»")
    assert phrase_end("Анна вошла\n", 0, "sentence") == len("Анна вошла")
    assert phrase_end("Анна. Вронский", 5, "sentence") is None  # the start text's own end
    assert phrase_end("hey. You", 0, "line") is None
    assert phrase_end("hey. You\n", 0, "line") == len("hey. You")


def test_sentences_stop_at_their_end(novel: PhraseModel) -> None:
    phrases = sample_phrases(novel, "анна", 12, 0.7, seed=6, screen=None, unique=False)
    assert phrases and all(p.text.startswith("анна") for p in phrases)
    finished = [p for p in phrases if p.finished]
    assert len(finished) >= 9
    for p in finished:
        assert re.search(r"[.!?…]»?$", p.text), p.text
        assert not re.search(r"[.!?…] [А-ЯЁ]", p.text), p.text  # one sentence, not two
    capped = sample_phrases(novel, "Анна", 6, 1.0, seed=6, max_chars=15, unique=False)
    assert all(len(p.text) <= 15 for p in capped)


# --- the n-gram baseline -------------------------------------------------------------------


def test_kneser_ney_is_a_distribution_and_beats_unigrams(script: Path) -> None:
    corpus = read_simpsons(script, min_lines=20)
    alphabet = corpus.chars | {"Q"}  # a letter no text has
    model = KneserNey(5, alphabet).fit(u.text for u in corpus.split("train"))
    for context in ("my do", "no b", "zzzz", ""):
        total = sum(model.prob(context, ch) for ch in model.alphabet)
        assert abs(total - 1) < 1e-9, (context, total)
    assert model.prob("my do", "n") > 0.9  # "donut" is the only word after "my do"
    held_out = [u.text for u in corpus.split("test")]
    bits = model.bits_per_char(held_out)
    unigram = Unigram(alphabet).fit(u.text for u in corpus.split("train")).bits_per_char(held_out)
    assert math.isfinite(bits) and 0 < bits < unigram - 1, (bits, unigram)
    assert math.isfinite(model.bits_per_char(["QQQ\n"]))


# --- command line --------------------------------------------------------------------------


def test_cli_phrase_json_and_eval(trained: tuple[Path, dict], script: Path) -> None:
    folder = str(trained[0].parent)
    phrase = [sys.executable, "-m", "ml", "phrase", "--checkpoint-dir", folder]
    result = subprocess.run(
        [*phrase, "--voice", "Moe", "--start", "oh", "-n", "3", "--seed", "1", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    items = json.loads(result.stdout.strip().splitlines()[-1])
    assert 1 <= len(items) <= 3  # only a few distinct lines start with "oh" here
    assert all({"text", "voice", "finished"} <= set(i) and i["voice"] == "moe" for i in items)
    assert all(i["text"].startswith("oh") for i in items)
    refused = subprocess.run([*phrase, "--voice", "tolstoy"], capture_output=True, text=True)
    assert refused.returncode == 2 and "unknown voice" in refused.stderr
    evaluated = subprocess.run(
        [
            sys.executable,
            "-m",
            "ml",
            "eval-phrases",
            "--checkpoint",
            str(trained[0]),
            "--data",
            str(script),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(evaluated.stdout.strip().splitlines()[-1])
    assert report["bits_per_char"] == trained[1]["test_bits_per_char"]
    assert report["ngram_bits_per_char"] == trained[1]["ngram_test_bits_per_char"]
    assert report["split"] == "test" and report["n_units"] == 6
    by_voice = report["bits_per_char_by_voice"]
    assert set(by_voice) - {"others"} == {"moe", "homer", "barney"}
    # a line names its speaker's word (log2(3) bits a line at most, ~0.1 bit a character)
    for voice in ("moe", "homer", "barney"):
        assert by_voice[voice]["own"] < by_voice[voice]["any"] - 0.05, by_voice
    assert sum(v["chars"] for v in by_voice.values()) == report["n_chars"]


# --- shipped checkpoints -------------------------------------------------------------------


def test_shipped_phrase_models() -> None:
    models = load_phrase_models()
    assert set(models) == {"simpsons", "tolstoy"}
    for name in ("phrases-simpsons.pt", "phrases-tolstoy.pt"):
        assert (DEFAULT_CHECKPOINT_DIR / name).stat().st_size <= 10 * 1024 * 1024
    assert {"moe", "homer", "barney"} <= set(models["simpsons"].voices)
    assert find_voice(models, "Tolstoy") is models["tolstoy"]
    for voice, start in (("tolstoy", "анна"), ("homer", "Moe")):
        phrases = sample_phrases(find_voice(models, voice), start, 3, 0.8, seed=1, voice=voice)
        assert phrases and all(p.text.startswith(start) for p in phrases)
        meta = find_voice(models, voice).meta
        assert meta["test_bits_per_char"] < meta["ngram_test_bits_per_char"]
