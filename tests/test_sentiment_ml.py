"""Tests for the sentiment ML package: cleaning, tokenizer, routing, truncation, tiny training.

Everything runs on CPU on synthetic data in a few seconds; no shared datasets are needed.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
import torch

from ml.__main__ import main as ml_main
from ml.sentiment import SentimentClassifier, SentimentResult, clean_text, route_language
from ml.sentiment.data import LABELS_3, load_file, read_csv, train_val_split
from ml.sentiment.evaluate import binary_accuracy, classification_metrics
from ml.sentiment.model import SentimentRNN, fold_nb_ratio, hashed_ngrams, truncate_head_tail
from ml.sentiment.pretrain import (
    ENCODER,
    LMConfig,
    pretrain_language_model,
    stream_rows,
    token_stream,
)
from ml.sentiment.tokenizer import tokenizer_from_str, tokenizer_to_str, train_tokenizer
from tests.conftest import write_labelled_csv

# ------------------------------------------------------------------------------ cleaning


def test_clean_removes_br_and_html_tags() -> None:
    raw = "Great film.<br /><br />The <b>acting</b> was <i>superb</i> &amp; moving.<br/>End"
    out = clean_text(raw, "en")
    assert "<" not in out and ">" not in out
    assert "acting was superb & moving." in out
    assert out.startswith("Great film.\n")  # <br /> is a line break, not glued words
    assert out.endswith("End")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Отличный фильм.\n\n8 из 10", "Отличный фильм."),
        ("Отличный фильм.\n\n7/10", "Отличный фильм."),
        ("Так себе.\n\n7,5 из 10.", "Так себе."),
        ("Шедевр. Оценка: 10/10!!!", "Шедевр. Оценка:"),
        ("Шедевр!\n\n<b>10 из 10</b>", "Шедевр!"),
        ("Скучно. 3 из 10", "Скучно."),
        ("Хорошо.\n\n9 из 10\n\nP.S. спасибо", "Хорошо.\n\nP.S. спасибо"),
    ],
)
def test_clean_strips_trailing_kinopoisk_score(raw: str, expected: str) -> None:
    assert clean_text(raw, "ru") == expected


def test_clean_keeps_scores_that_are_not_a_trailing_verdict() -> None:
    mid = "Это 5 из 10 фильмов, которые стоит смотреть.\n\nКонец истории."
    assert clean_text(mid, "ru") == mid
    # A score in the first paragraph of a long review is not in the trailing lines.
    early = "Оценка 8 из 10\n\n" + "\n\n".join(f"Абзац {i}." for i in range(5))
    assert "8 из 10" in clean_text(early, "ru")
    # English text is never score-stripped (IMDB has no such leak): "7/10" stays.
    assert clean_text("Pretty good. 7/10", "en") == "Pretty good. 7/10"
    # "110/10" or "2.5/10" style numbers are not the author's score pattern.
    assert "0.10 из 10" in clean_text("Счёт 0.10 из 10", "ru")


def test_clean_is_used_by_loader(tmp_path: Path) -> None:
    path = tmp_path / "k.csv.gz"
    write_labelled_csv(path, [("Хорошо<br />очень.\n\n9 из 10", "pos"), ("x", "skip")])
    split = load_file(path, "ru", LABELS_3)
    assert split.texts == ["Хорошо\nочень."]  # cleaned, and the unknown label dropped
    assert split.labels == [LABELS_3.index("pos")]


def test_train_val_split_is_deterministic_and_disjoint() -> None:
    from ml.sentiment.data import Split

    texts = [f"review number {i}" for i in range(400)]
    data = Split(texts, [i % 2 for i in range(400)], ("neg", "pos"))
    a_train, a_val = train_val_split(data, 0.1)
    _, b_val = train_val_split(data, 0.1)
    assert a_val.texts == b_val.texts
    assert set(a_train.texts).isdisjoint(a_val.texts)
    assert len(a_train) + len(a_val) == 400
    assert 15 <= len(a_val) <= 70  # ~10%


# ------------------------------------------------------------------------------ tokenizer


def test_tokenizer_round_trip_and_checkpoint_reload() -> None:
    corpus = [
        "the movie was wonderful and the actors were great",
        "a boring film with terrible acting and a bad plot",
        "фильм был прекрасным, актёры великолепны",
    ] * 20
    tok = train_tokenizer(corpus, vocab_size=300)
    text = "the actors were wonderful"
    ids = tok.encode(text).ids
    assert 0 < len(ids) < len(text)  # subwords merged, not characters
    assert tok.decode(ids) == text
    assert tok.decode(tok.encode("Фильм был ПРЕКРАСНЫМ").ids) == "фильм был прекрасным"
    # Stored inside a checkpoint dict, it reloads to the very same ids.
    blob = tokenizer_to_str(tok)
    reloaded = tokenizer_from_str(blob)
    for t in [*corpus[:3], "unseen words: zyzzyva!"]:
        assert reloaded.encode(t).ids == tok.encode(t).ids
    assert tok.token_to_id("<pad>") == 0


# ------------------------------------------------------------------------------ routing


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("This film was great", "en"),
        ("Этот фильм был отличным", "ru"),
        ("Фильм Titanic — шедевр", "ru"),  # Cyrillic majority
        ("The film «Брат» was great", "en"),  # Latin majority
        ("ab вг", "en"),  # tie → en, documented
        ("Café crème", "en"),
        ("", None),
        ("12345 !!! 🙂🙂", None),
        ("映画はとても良かった", None),
        ("   ", None),
    ],
)
def test_route_language(text: str, lang: str | None) -> None:
    assert route_language(text) == lang


# ------------------------------------------------------------------------------ truncation


def test_truncate_head_tail() -> None:
    ids = list(range(1, 101))
    cut, was_cut = truncate_head_tail(ids, 10, 5)
    assert was_cut and cut == list(range(1, 11)) + list(range(96, 101))
    same, was_cut = truncate_head_tail(ids, 60, 40)
    assert not was_cut and same == ids


def test_hashed_ngrams_are_distinct_and_in_range() -> None:
    f = hashed_ngrams([5, 6, 5, 6], vocab_size=10, buckets=100)
    assert sorted(set(f.tolist())) == f.tolist()  # binarized: each feature once
    assert {5, 6} <= set(f.tolist())
    assert all(0 <= v < 100 for v in f.tolist())
    assert len([v for v in f.tolist() if v >= 10]) == 2  # bigrams (5,6) and (6,5)


def test_trigram_order_adds_trigrams_and_keeps_bigram_features() -> None:
    ids = [5, 6, 7, 5, 6, 7]
    bigram = set(hashed_ngrams(ids, vocab_size=10, buckets=10_000).tolist())
    trigram = set(hashed_ngrams(ids, vocab_size=10, buckets=10_000, order=3).tolist())
    assert bigram < trigram  # order 2 features unchanged, so old checkpoints read the same
    assert len(trigram - bigram) == 3  # (5,6,7), (6,7,5), (7,5,6)
    assert set(hashed_ngrams(ids, 10, 10_000, order=1).tolist()) == {5, 6, 7}


# ------------------------------------------------------------------------------ metrics


def test_metrics_and_binary_accuracy() -> None:
    labels = ("neg", "neu", "pos")
    m = classification_metrics([0, 1, 2, 2], [0, 2, 2, 2], labels)
    assert m["accuracy"] == 0.75
    assert m["confusion_matrix"] == [[1, 0, 0], [0, 0, 1], [0, 0, 2]]
    assert m["macro_f1"] == pytest.approx((1 + 0 + 0.8) / 3)
    # The neu row is ignored; argmax is restricted to pos vs neg (row 0 predicts neu
    # overall but neg > pos, so it counts as correct).
    probs = torch.tensor([[0.3, 0.6, 0.1], [0.1, 0.8, 0.1], [0.5, 0.1, 0.4], [0.1, 0.1, 0.8]])
    assert binary_accuracy(probs, [0, 1, 2, 2], labels) == pytest.approx(2 / 3)


# ------------------------------------------------------------------------------ tiny training

POS_WORDS = ["great", "wonderful", "superb", "brilliant", "loved", "excellent", "moving"]
NEG_WORDS = ["awful", "terrible", "boring", "waste", "hated", "dull", "worst"]
FILLER = ["the", "film", "plot", "actors", "and", "was", "a", "story", "really", "movie"]


def _synthetic_review(rng: random.Random, label: str, n_words: int = 12) -> str:
    cue = POS_WORDS if label == "pos" else NEG_WORDS
    words = [rng.choice(FILLER) for _ in range(n_words)]
    for _ in range(3):
        words.insert(rng.randrange(len(words)), rng.choice(cue))
    return " ".join(words) + ".<br /><br />" + rng.choice(FILLER)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Train a tiny en model on 64 synthetic rows (grouped by label, like the real files)."""
    root = tmp_path_factory.mktemp("data")
    (root / "sentiment").mkdir()
    rng = random.Random(0)
    rows = [(_synthetic_review(rng, y), y) for y in ("neg", "pos") for _ in range(32)]
    write_labelled_csv(root / "sentiment" / "imdb_train.csv.gz", rows)
    test_rows = [(_synthetic_review(rng, y), y) for y in ("neg", "pos") for _ in range(20)]
    write_labelled_csv(root / "sentiment" / "imdb_test.csv.gz", test_rows)
    out = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    code = ml_main(
        [
            "train-sentiment", "--lang", "en", "--data-dir", str(root), "--out", str(out),
            "--epochs", "12", "--vocab-size", "120", "--buckets", "2048", "--emb-dim", "16",
            "--hidden", "16", "--batch-size", "8", "--evals-per-epoch", "1", "--patience", "50",
            "--lr", "1e-2", "--bag-lr", "1e-2", "--head", "12", "--tail", "6",
            "--lm-epochs", "3", "--lm-batch-size", "4", "--lm-bptt", "16", "--lm-lr", "1e-2",
            "--freeze-encoder-steps", "5", "--device", "cpu",
        ]
    )  # fmt: skip
    assert code == 0
    return out, root / "sentiment" / "imdb_test.csv.gz"


def test_tiny_training_loss_falls_and_report_written(tiny_run: tuple[Path, Path]) -> None:
    ckpt, _ = tiny_run
    assert ckpt.exists()
    metrics = json.loads(ckpt.with_suffix(".metrics.json").read_text(encoding="utf-8"))
    assert ckpt.with_suffix(".loss.png").stat().st_size > 1000
    history = metrics["history"]
    classifier = [h for h in history if "train_loss" in h]
    assert len(classifier) >= 5
    assert classifier[-1]["train_loss"] < 0.7 * classifier[0]["train_loss"]
    assert classifier[-1]["train_loss_bag"] < classifier[0]["train_loss_bag"]
    assert metrics["labels"] == ["neg", "pos"]
    # The language-model stage ran first, learned, and is in the report.
    lm = [h for h in history if "lm_val_loss" in h]
    assert [h["lm_epoch"] for h in lm] == [1, 2, 3]
    assert lm[-1]["lm_val_loss"] < lm[0]["lm_val_loss"]
    assert metrics["lm_val_loss"] == min(h["lm_val_loss"] for h in lm)
    assert "LM-pretrained" in metrics["model_name"]


def test_checkpoint_stores_nb_ratios_folded(tiny_run: tuple[Path, Path]) -> None:
    ckpt = torch.load(tiny_run[0], weights_only=True)
    assert ckpt["model_config"]["nb_folded"] is True
    assert "nb_ratio" not in ckpt["state_dict"]
    assert all(v.dtype == torch.float16 for v in ckpt["state_dict"].values())


def test_tiny_checkpoint_loads_and_predicts(tiny_run: tuple[Path, Path]) -> None:
    ckpt, _ = tiny_run
    clf = SentimentClassifier.load(ckpt)
    assert clf.lang == "en" and clf.labels == ("neg", "pos")
    assert not clf.model.training
    assert "BiGRU" in clf.model_name
    texts = [
        "the film was great wonderful and superb",
        "the plot was awful terrible and boring",
        "",
    ]
    results = clf.predict(texts)
    assert len(results) == 3 and all(isinstance(r, SentimentResult) for r in results)
    for r in results:
        assert r.label in ("neg", "pos")
        assert set(r.probabilities) == {"neg", "pos"}
        assert sum(r.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
        assert r.confidence == pytest.approx(max(r.probabilities.values()))
    assert results[0].label == "pos" and results[1].label == "neg"
    assert clf.predict([]) == []


def test_truncation_is_reported(tiny_run: tuple[Path, Path]) -> None:
    ckpt, _ = tiny_run
    clf = SentimentClassifier.load(ckpt)  # trained with --head 12 --tail 6
    long_text = " ".join(["the great film"] * 20)
    short, long_ = clf.predict(["great film", long_text])
    assert not short.truncated and short.n_tokens <= 18
    assert long_.truncated and long_.n_tokens > 18
    # Only head + tail tokens reach the RNN; same head and tail → same RNN input.
    ids = clf.tokenizer.encode(long_text).ids
    assert truncate_head_tail(ids, clf.head, clf.tail)[0] == ids[:12] + ids[-6:]


def plain_ece(confidences: list[float], correct: list[bool], bins: int = 15) -> float:
    """Expected calibration error written out: per equal-width bin of confidence,
    |accuracy - mean confidence|, weighted by the bin's share of the rows."""
    total = 0.0
    for b in range(bins):
        rows = [i for i, c in enumerate(confidences) if b / bins < c <= (b + 1) / bins]
        if rows:
            accuracy = sum(correct[i] for i in rows) / len(rows)
            confidence = sum(confidences[i] for i in rows) / len(rows)
            total += len(rows) / len(confidences) * abs(accuracy - confidence)
    return total


def test_eval_cli_prints_json_last(
    tiny_run: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt, test_csv = tiny_run
    assert ml_main(["eval-sentiment", "--checkpoint", str(ckpt), "--data", str(test_csv)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    result = json.loads(last)
    assert result["n"] == len(read_csv(test_csv)) == 40
    assert result["labels"] == ["neg", "pos"]
    assert sum(map(sum, result["confusion_matrix"])) == 40
    assert result["accuracy"] >= 0.8  # the synthetic task is easy
    assert result["binary_accuracy"] == result["accuracy"]  # binary model on a binary file
    # ECE is that of what the served (int8) model predicts on the file, bin by bin
    rows = read_csv(test_csv)
    served = SentimentClassifier.load(ckpt, quantize=True).predict([text for text, _ in rows])
    correct = [r.label == label for r, (_, label) in zip(served, rows, strict=True)]
    ece = plain_ece([r.confidence for r in served], correct)
    assert "macro_recall" in result and result["ece"] == pytest.approx(ece, abs=1e-4)
    # Each channel alone is scored from the same pass, with its own confusion matrix.
    assert set(result["channels"]) == {"rnn", "bag"}
    for channel in result["channels"].values():
        matrix = channel["confusion_matrix"]
        assert sum(map(sum, matrix)) == 40
        assert channel["accuracy"] == pytest.approx((matrix[0][0] + matrix[1][1]) / 40)


def test_served_model_keeps_its_tables_in_fp16_and_reads_the_same(
    tiny_run: tuple[Path, Path],
) -> None:
    """The bot's form holds the embedding and the bag table in fp16 (the checkpoint's own
    values, half the memory) and must score every text exactly as with fp32 tables."""
    ckpt, test_csv = tiny_run
    texts = [text for text, _ in read_csv(test_csv)]
    served = SentimentClassifier.load(ckpt, quantize=True)
    fp32 = SentimentClassifier.load(ckpt)  # loading never changes the checkpoint's numbers
    for name, value in fp32.model.state_dict().items():
        if name.startswith(("embedding", "bag.")):
            assert torch.equal(served.model.state_dict()[name].float(), value), name
    assert served.model.embedding.weight.dtype == torch.float16
    assert served.model.bag.weight.dtype == torch.float16
    half, _, _ = served.channel_logits(texts, batch_size=8)
    served.model.embedding.float()
    served.model.bag.float()
    full, _, _ = served.channel_logits(texts, batch_size=8)
    for name in ("rnn", "bag", "mixed"):
        torch.testing.assert_close(half[name], full[name], rtol=0, atol=1e-5)
    assert half["mixed"].dtype == torch.float32


def test_balanced_class_weights() -> None:
    from ml.sentiment.train import class_weights

    w = class_weights([0, 0, 0, 1], 2, "balanced")
    assert w.tolist() == pytest.approx([4 / 6, 2.0])
    assert class_weights([0, 0, 0, 1], 2, "none").tolist() == [1.0, 1.0]


def test_token_stream_joins_documents_with_pad_and_cuts_rows() -> None:
    stream = token_stream([[5, 6, 7], [8], [9, 10]])
    assert stream.tolist() == [5, 6, 7, 0, 8, 0, 9, 10, 0]
    rows = stream_rows(stream, batch_size=2)
    assert rows.tolist() == [[5, 6, 7, 0], [8, 0, 9, 10]]  # the last token is dropped
    shuffled = token_stream([[1], [2], [3], [4]], torch.Generator().manual_seed(0))
    assert sorted(shuffled.tolist()) == [0, 0, 0, 0, 1, 2, 3, 4]


def test_lm_pretraining_learns_and_trains_only_the_encoder() -> None:
    """A cyclic token pattern is learnable; the bag channel and head must not move."""
    torch.manual_seed(0)
    model = SentimentRNN(12, 2, emb_dim=16, hidden=24, buckets=64, emb_dropout=0.0, dropout=0.0)
    docs = [[1 + (i + k) % 10 for k in range(40)] for i in range(30)]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    cfg = LMConfig(epochs=4, batch_size=6, bptt=12, lr=1e-2)
    history, summary = pretrain_language_model(
        model, docs[:24], docs[24:], cfg, torch.Generator().manual_seed(0)
    )
    assert len(history) == 4 and summary["lm_epochs_run"] == 4
    assert summary["lm_val_loss"] < 0.5 * math.log(12)  # far below a uniform guess
    after = model.state_dict()
    for name in before:
        moved = not torch.equal(before[name], after[name])
        assert moved == name.startswith(ENCODER), name


def test_folding_nb_ratios_keeps_predictions() -> None:
    torch.manual_seed(0)
    model = SentimentRNN(50, 3, emb_dim=8, hidden=8, buckets=512).eval()
    torch.nn.init.normal_(model.bag.weight)
    model.nb_ratio.normal_()
    folded = fold_nb_ratio(model)
    assert folded.nb_ratio is None and folded.config["nb_folded"]
    tokens, lengths = torch.randint(1, 50, (2, 7)), torch.tensor([7, 4])
    bag_ids, offsets = torch.randint(1, 512, (30,)), torch.tensor([0, 11])
    with torch.no_grad():
        expected = model(tokens, lengths, bag_ids, offsets)[0]
        assert torch.allclose(folded(tokens, lengths, bag_ids, offsets)[0], expected, atol=1e-5)


# ------------------------------------------------------------------------ batching, pooling


def test_length_batches_keep_a_padded_token_budget() -> None:
    """Served batches: every text once, each batch within ``max_tokens`` padded tokens
    (texts × the longest) unless it is one text alone, and similar lengths together."""
    from ml.sentiment.features import length_batches

    rng = random.Random(3)
    lengths = [rng.choice([3, 40, 300, 512, 900]) for _ in range(60)]
    batches = length_batches(lengths, 64, None, max_tokens=2048)
    assert sorted(i for b in batches for i in b) == list(range(60))
    for batch in batches:
        padded = len(batch) * max(lengths[i] for i in batch)
        assert padded <= 2048 or len(batch) == 1
    # 4 reviews of 512 tokens a batch; the short texts go together
    assert length_batches([512] * 9 + [10] * 5, 64, None, max_tokens=2048) == [
        [9, 10, 11, 12, 13],
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [8],
    ]
    # without a budget only the count limits a batch
    assert [len(b) for b in length_batches([512] * 9, 8, None)] == [8, 1]


def test_rnn_pooling_skips_padding_and_matches_the_masked_form() -> None:
    """``rnn_logits`` pools each direction over real positions only: the same logits as
    masking a padded batch, and a text reads the same alone as padded among longer ones."""
    from ml.sentiment.model import pool_real_positions

    torch.manual_seed(0)
    h = torch.randn(3, 7, 5)
    lengths = torch.tensor([7, 4, 1])
    maxima, means = pool_real_positions(h, lengths)
    valid = torch.arange(7)[None, :, None] < lengths[:, None, None]
    assert torch.allclose(maxima, h.masked_fill(~valid, float("-inf")).amax(1))
    assert torch.allclose(means, (h * valid).sum(1) / lengths[:, None])

    model = SentimentRNN(vocab_size=50, n_classes=2, emb_dim=8, hidden=6, buckets=64).eval()
    tokens = torch.randint(1, 50, (3, 7))
    tokens[1, 4:] = 0
    tokens[2, 1:] = 0
    with torch.no_grad():
        batch = model.rnn_logits(tokens, lengths)
        alone = torch.cat(
            [
                model.rnn_logits(tokens[i : i + 1, :n], lengths[i : i + 1])
                for i, n in enumerate(lengths.tolist())
            ]
        )
    assert torch.allclose(batch, alone, atol=1e-5)
