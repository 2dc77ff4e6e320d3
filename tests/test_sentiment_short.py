"""Short-text models, routing by length, calibration and reasons, on tiny synthetic data.

A tiny review model is trained first (its encoder is what the short model starts from), then
``train-sentiment-short`` on synthetic one-liners in three classes; everything on the CPU in
seconds. Quality on real data is measured by ``bench/sentiment.py``, not here.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from ml.__main__ import main as ml_main
from ml.sentiment import SentimentReader, clean_text
from ml.sentiment.calibration import expected_calibration_error, fit_temperature
from ml.sentiment.data import decode_unicode_escapes, read_csv
from ml.sentiment.evaluate import classification_metrics, macro_recall
from ml.sentiment.model import SentimentRNN, char_ngrams, idf_weights
from ml.sentiment.predict import SentimentClassifier
from ml.sentiment.reader import blend, pick_reasons, with_neutral, without
from ml.sentiment.short import bag_design_matrix
from tests.conftest import write_labelled_csv
from tests.test_sentiment_ml import plain_ece

POS = ["great", "wonderful", "loved", "excellent"]
NEG = ["awful", "terrible", "hated", "boring"]
FILLER = ["the", "film", "plot", "today", "we", "saw", "a", "story", "movie", "and"]


def _line(rng: random.Random, label: str, n_words: int) -> str:
    words = [rng.choice(FILLER) for _ in range(n_words)]
    if label != "neu":
        cue = POS if label == "pos" else NEG
        words.insert(rng.randrange(len(words) + 1), rng.choice(cue))
    return " ".join(words)


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a tiny binary review model, a tiny 3-class short model beside it, and a
    held-out short-text file."""
    root = tmp_path_factory.mktemp("data")
    (root / "sentiment").mkdir()
    rng = random.Random(0)
    reviews = [(_line(rng, y, 14), y) for y in ("neg", "pos") for _ in range(40)]
    write_labelled_csv(root / "sentiment" / "imdb_train.csv.gz", reviews)
    short = [(_line(rng, y, 4), y) for y in ("neg", "neu", "pos") for _ in range(60)]
    write_labelled_csv(root / "sentiment" / "tweeteval_sentiment_train.csv.gz", short)
    held_out = [(_line(rng, y, 4), y) for y in ("neg", "neu", "pos") for _ in range(15)]
    write_labelled_csv(root / "sentiment" / "tweeteval_sentiment_val.csv.gz", held_out)
    out = tmp_path_factory.mktemp("ckpt")
    code = ml_main(
        [
            "train-sentiment", "--lang", "en", "--data-dir", str(root),
            "--out", str(out / "sentiment-en.pt"), "--epochs", "6", "--vocab-size", "150",
            "--buckets", "2048", "--emb-dim", "16", "--hidden", "16", "--batch-size", "8",
            "--lr", "1e-2", "--bag-lr", "1e-2", "--head", "12", "--tail", "6",
            "--lm-epochs", "1", "--lm-batch-size", "4", "--lm-bptt", "16", "--device", "cpu",
        ]
    )  # fmt: skip
    assert code == 0
    code = ml_main(
        [
            "train-sentiment-short", "--lang", "en", "--data-dir", str(root),
            "--init", str(out / "sentiment-en.pt"), "--out", str(out / "sentiment-en-short.pt"),
            "--buckets", "4096", "--epochs", "8", "--batch-size", "16", "--lr", "1e-2",
            "--freeze-encoder-steps", "5", "--bag-c", "1", "4", "--head", "8", "--tail", "8",
            "--patience", "50", "--threads", "1",
        ]
    )  # fmt: skip
    assert code == 0
    (out / "held_out.csv.gz").write_bytes(
        (root / "sentiment" / "tweeteval_sentiment_val.csv.gz").read_bytes()
    )
    return out


def test_short_training_writes_a_calibrated_three_class_checkpoint(tiny_models: Path) -> None:
    path = tiny_models / "sentiment-en-short.pt"
    metrics = json.loads(path.with_suffix(".metrics.json").read_text(encoding="utf-8"))
    assert metrics["labels"] == ["neg", "neu", "pos"] and metrics["domain"] == "short"
    assert metrics["bag_C"] in (1.0, 4.0) and set(metrics["bag_val_scores"]) == {"1.0", "4.0"}
    losses = [h["train_loss"] for h in metrics["history"]]
    assert losses[-1] < 0.8 * losses[0]
    # The temperature is stored in the file and the classifier picks it up.
    clf = SentimentClassifier.load(path)
    assert clf.domain == "short" and clf.labels == ("neg", "neu", "pos")
    assert clf.temperature == pytest.approx(metrics["temperature"])
    assert clf.temperature != 1.0
    # The encoder started from the review model: same tokenizer, so same ids.
    review = SentimentClassifier.load(tiny_models / "sentiment-en.pt")
    assert clf.tokenizer.to_str() == review.tokenizer.to_str()
    # ...which the reader then holds once, for both models
    reader = SentimentReader.load(tiny_models, "en")
    assert reader.short is not None and reader.short.tokenizer is reader.review.tokenizer


def test_reader_routes_by_length_and_reads_all_three_classes(tiny_models: Path) -> None:
    reader = SentimentReader.load(tiny_models, "en", quantize=True)
    reader.max_short_tokens = 10
    long_text = "the film and the plot and the story were great " * 3
    readings = reader.read(
        ["we loved the movie", "the movie was awful", "the film today", long_text]
    )
    assert [r.model for r in readings] == ["short", "short", "short", "review"]
    assert [r.label for r in readings[:3]] == ["pos", "neg", "neu"]
    for r in readings:
        assert set(r.probabilities) == {"neg", "neu", "pos"}
        assert sum(r.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
        assert r.confidence == pytest.approx(max(r.probabilities.values()))
    # The binary review model decides the polarity, the short model whether there is any.
    assert readings[3].label == "pos" and readings[3].probabilities["neu"] > 0


def test_reasons_quote_the_words_that_decided(tiny_models: Path) -> None:
    reader = SentimentReader.load(tiny_models, "en")
    [reading] = reader.read(["we saw the movie and hated the plot"])
    assert reading.label == "neg"
    assert reading.reasons and "hated" in reading.reasons[0]
    [neutral] = reader.read(["the film today"])
    assert neutral.label == "neu" and neutral.reasons == ()  # nothing to quote for neutral
    # The review path quotes from the bag channel's n-gram weights.
    reader.max_short_tokens = 3
    [long_reading] = reader.read(["the plot and the story were terrible and the film"])
    assert long_reading.model == "review" and long_reading.label == "neg"
    assert any("terrible" in r for r in long_reading.reasons), long_reading.reasons


def test_review_reasons_do_not_depend_on_the_remembered_word_ids(
    tiny_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Long texts' reasons encode each word once and then remember it (``_unit_ids``): the
    same reasons from a cold cache, a warm one and one that overflowed and was cleared."""
    import ml.sentiment.reader as reader_module

    reader = SentimentReader.load(tiny_models, "en")
    reader.max_short_tokens = 3
    texts = [  # over MAX_OCCLUSION_UNITS words: reasons from the bag channel's weights
        " ".join(["the plot and the story were terrible and the film"] * 6),
        " ".join(["a wonderful film with a great story and the best cast"] * 6),
    ]
    cold = [r.reasons for r in reader.read(texts)]
    assert all(cold) and reader._unit_ids_cache  # remembered
    assert [r.reasons for r in reader.read(texts)] == cold
    reader._unit_ids_cache.clear()
    monkeypatch.setattr(reader_module, "UNIT_CACHE_SIZE", 4)  # every text overflows it
    assert [r.reasons for r in reader.read(texts)] == cold
    assert len(reader._unit_ids_cache) <= 10  # one text's words at most, not all of them
    words = ["the", "plot", "the"]
    assert reader._unit_ids(words) == [
        enc.ids for enc in reader.tokenizer.encode_batch(words, add_special_tokens=False)
    ]


@pytest.mark.parametrize("text", ["aaaaaaaaaaaaaaaaaaaa", "qzxv wprt", "a" * 3000, "Zzyzx"])
def test_text_with_nothing_to_judge_is_neutral_and_unsure(tiny_models: Path, text: str) -> None:
    reader = SentimentReader.load(tiny_models, "en")
    [reading] = reader.read([text])
    assert not reading.judgeable
    assert reading.label == "neu" and reading.confidence < 0.5 and reading.reasons == ()


def test_eval_cli_scores_the_served_reader(
    tiny_models: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tiny_models / "held_out.csv.gz"  # no "tweeteval_" prefix: read as is
    args = ["eval-sentiment", "--lang", "en", "--checkpoint-dir", str(tiny_models)]
    assert ml_main([*args, "--data", str(data)]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["labels"] == ["neg", "neu", "pos"] and result["n"] == 45
    assert result["macro_recall"] >= 0.8  # the synthetic task is easy
    assert result["short_model_fraction"] == 1.0
    # A pos/neg row right in three classes stays right when the choice is only pos vs neg.
    matrix, (neg, pos) = result["confusion_matrix"], (0, 2)
    polar_right = (matrix[neg][neg] + matrix[pos][pos]) / (sum(matrix[neg]) + sum(matrix[pos]))
    assert result["binary_accuracy"] >= polar_right
    # ECE of the served probabilities, calibrated and at temperature 1, bin by bin
    rows = read_csv(data)
    calibrated, raw, *_ = SentimentReader.load(tiny_models, "en").probabilities(
        [text for text, _ in rows]
    )
    truth = [result["labels"].index(label) for _, label in rows]
    for key, probs in (("ece", calibrated), ("ece_raw", raw)):
        confidence, predicted = probs.max(dim=1)
        correct = [p == y for p, y in zip(predicted.tolist(), truth, strict=True)]
        assert result[key] == pytest.approx(plain_ece(confidence.tolist(), correct), abs=1e-4)


# ------------------------------------------------------------------------------ pure parts


def test_char_ngrams_are_stable_in_range_and_shared_by_inflections() -> None:
    a = char_ngrams("Отлично", 2, 5, vocab_size=100, buckets=10_000)
    assert a.tolist() == char_ngrams("отлично", 2, 5, 100, 10_000).tolist()  # case-free
    assert a.min() >= 100 and a.max() < 10_000
    b = char_ngrams("отличный", 2, 5, 100, 10_000)
    c = char_ngrams("ужасно", 2, 5, 100, 10_000)
    assert len(np.intersect1d(a, b)) > len(np.intersect1d(a, c)) + 3


def test_bag_channel_computes_exactly_the_tfidf_rows_the_regression_was_fitted_on() -> None:
    torch.manual_seed(0)
    buckets = 256
    model = SentimentRNN(20, 3, emb_dim=4, hidden=4, buckets=buckets, bag_norm=True).eval()
    bags = [np.array([3, 40, 77]), np.array([3, 5]), np.array([90, 91, 92, 93])]
    model.nb_ratio.copy_(idf_weights(bags + bags[:1], buckets, min_df=1))
    torch.nn.init.normal_(model.bag.weight)
    x = bag_design_matrix(bags, model.nb_ratio.numpy(), buckets)
    expected = torch.from_numpy(x @ model.bag.weight.detach().numpy()).float()
    ids = torch.from_numpy(np.concatenate(bags))
    offsets = torch.tensor([0, 3, 5])
    with torch.no_grad():
        got = model.bag_logits(ids, offsets) - model.bag_bias
    assert torch.allclose(got, expected, atol=1e-5)
    assert np.allclose(np.sqrt(x.multiply(x).sum(axis=1)), 1.0)  # each row L2-normalised


def test_temperature_scaling_recovers_a_known_temperature_and_lowers_ece() -> None:
    gen = torch.Generator().manual_seed(0)
    true_logits = torch.randn(4000, 3, generator=gen) * 2
    y = torch.multinomial(true_logits.softmax(1), 1, generator=gen).squeeze(1)
    overconfident = true_logits * 3  # what an over-sure model would say
    t = fit_temperature(overconfident, y)
    assert t == pytest.approx(3.0, rel=0.15)
    before = expected_calibration_error(overconfident.softmax(1), y)
    after = expected_calibration_error((overconfident / t).softmax(1), y)
    assert after < 0.03 < before


def test_macro_recall_matches_its_definition() -> None:
    y_true, y_pred = [0, 0, 1, 1, 1, 2], [0, 1, 1, 1, 0, 0]
    assert macro_recall(y_true, y_pred, 3) == pytest.approx((1 / 2 + 2 / 3 + 0) / 3)
    assert classification_metrics(y_true, y_pred, ("a", "b", "c"))["macro_recall"] == (
        pytest.approx((1 / 2 + 2 / 3) / 3)
    )


def test_neutral_factorisation_and_phrase_picking() -> None:
    polar = torch.tensor([[0.2, 0.0, 0.8]])
    p = with_neutral(polar, torch.tensor([[0.5]]))
    assert p[0].tolist() == pytest.approx([0.1, 0.5, 0.4])
    review, short = torch.tensor([[0.7, 0.2, 0.1]]), torch.tensor([[0.1, 0.2, 0.7]])
    assert torch.allclose(blend(review, short, 0.0), review)
    mixed = blend(review, short, 0.5)[0]
    assert mixed.sum().item() == pytest.approx(1.0) and mixed[0] == pytest.approx(mixed[2])
    # A pair is quoted only when it beats its stronger word clearly; no overlaps, no repeats.
    scored = [(0.30, "not", 0, 0), (0.10, "bad", 1, 1), (0.60, "not bad", 0, 1), (0.2, "Bad", 3, 3)]
    assert pick_reasons(scored) == ("not bad", "Bad")
    assert pick_reasons([(0.3, "very", 0, 0), (0.32, "very good", 0, 1)]) == ("very",)
    assert without("I do not like it", [(5, 8)]) == "I do like it"


def test_tweeteval_escapes_are_decoded_on_read(tmp_path: Path) -> None:
    path = tmp_path / "tweeteval_sentiment_val.csv.gz"
    write_labelled_csv(path, [("I\\u2019m happy\\u002c really", "pos")])
    assert read_csv(path) == [("I’m happy, really", "pos")]
    other = tmp_path / "rusentiment_test.csv.gz"
    write_labelled_csv(other, [("путь C:\\u2019", "neu")])
    assert read_csv(other)[0][0] == "путь C:\\u2019"  # only the escaped source is decoded
    assert decode_unicode_escapes("\\ud83d!") == "\ufffd!"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("bad\ud800 film", "bad\ufffd film"),  # a lone surrogate (legal in Bot API JSON)
        ("ok\x00\x1b[31m", "ok[31m"),  # control characters
    ],
)
def test_clean_text_makes_any_user_string_safe_for_the_tokenizer(raw: str, expected: str) -> None:
    cleaned = clean_text(raw, "en")
    assert cleaned == expected
    cleaned.encode("utf-8")  # no lone surrogate left


POST_WORDS = ["today", "we", "saw", "a", "and", "great", "hated"]
REVIEW_WORDS = ["the", "film", "plot", "story", "movie", "wonderful", "boring"]


def _domain_texts(rng: random.Random, words: list[str], n: int) -> list[tuple[str, str]]:
    """n texts of 4-24 words drawn from one domain's vocabulary (lengths of both overlap)."""
    return [
        (" ".join(rng.choice(words) for _ in range(rng.randint(4, 24))), rng.choice(["pos", "neg"]))
        for _ in range(n)
    ]


def test_domain_router_sends_posts_and_reviews_to_their_model_whatever_their_length(
    tiny_models: Path, tmp_path: Path
) -> None:
    """Length routing sends a long post to the review model and a short review to the short
    model; the learned router reads what kind of text it is. One-liners always go short."""
    rng = random.Random(3)
    (tmp_path / "data" / "sentiment").mkdir(parents=True)
    posts, reviews = _domain_texts(rng, POST_WORDS, 150), _domain_texts(rng, REVIEW_WORDS, 150)
    write_labelled_csv(tmp_path / "data" / "sentiment" / "tweeteval_sentiment_train.csv.gz", posts)
    write_labelled_csv(tmp_path / "data" / "sentiment" / "imdb_train.csv.gz", reviews)
    folder = tmp_path / "ckpt"
    folder.mkdir()
    for name in ("sentiment-en.pt", "sentiment-en-short.pt"):
        (folder / name).write_bytes((tiny_models / name).read_bytes())
    code = ml_main(
        [
            "fit-sentiment-router", "--checkpoint", str(folder / "sentiment-en-short.pt"),
            "--data-dir", str(tmp_path / "data"), "--always-short-tokens", "3", "--c", "4",
        ]
    )  # fmt: skip
    assert code == 0
    meta = torch.load(folder / "sentiment-en-short.pt", weights_only=True)["meta"]
    assert meta["router_report"]["val_review_misrouted"] < 0.1
    long_post = "today we saw a great and today we saw a great and today we saw a"
    short_review = "the film plot story movie"
    one_liner = "the film"  # 2 tokens: a message, however film-like
    texts = [long_post, short_review, one_liner]

    by_length = SentimentReader.load(folder, "en", quantize=False)
    by_length.route_by_domain, by_length.max_short_tokens = False, 10
    assert by_length.probabilities(texts)[2] == ["review", "short", "short"]

    by_domain = SentimentReader.load(folder, "en", quantize=False)
    assert by_domain.short is not None and by_domain.short.router is not None
    assert by_domain.probabilities(texts)[2] == ["short", "review", "short"]
    # The stored router survives the checkpoint's weights_only round trip unchanged.
    router = by_domain.short.router
    again = type(router).from_meta(router.to_meta())
    ids = [[5, 6, 7, 8, 9, 10]]
    assert again.short_probability(["x"], ids) == pytest.approx(
        router.short_probability(["x"], ids), rel=1e-5
    )


def test_stacked_training_fits_the_mixer_out_of_fold_and_keeps_the_router(
    tiny_models: Path, tmp_path: Path
) -> None:
    """``--stack-folds 3``: both channels cross-fitted over hash folds, the mixer and temperature
    fitted on every row's out-of-fold logits, the final channels trained on all rows for the
    epoch count the folds chose, and the donor's router carried over into the new file."""
    rng = random.Random(5)
    data = tmp_path / "data"
    (data / "sentiment").mkdir(parents=True)
    rows = [(_line(rng, y, 4), y) for y in ("neg", "neu", "pos") for _ in range(50)]
    write_labelled_csv(data / "sentiment" / "tweeteval_sentiment_train.csv.gz", rows)
    reviews = [(_line(rng, y, 14), y) for y in ("neg", "pos") for _ in range(30)]
    write_labelled_csv(data / "sentiment" / "imdb_train.csv.gz", reviews)
    donor = tmp_path / "donor-short.pt"
    donor.write_bytes((tiny_models / "sentiment-en-short.pt").read_bytes())
    assert ml_main(
        [
            "fit-sentiment-router", "--checkpoint", str(donor), "--data-dir", str(data),
            "--always-short-tokens", "3", "--c", "4",
        ]
    ) == 0  # fmt: skip
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "sentiment-en.pt").write_bytes((tiny_models / "sentiment-en.pt").read_bytes())
    out = folder / "sentiment-en-short.pt"
    code = ml_main(
        [
            "train-sentiment-short", "--lang", "en", "--data-dir", str(data),
            "--init", str(folder / "sentiment-en.pt"), "--out", str(out),
            "--buckets", "4096", "--epochs", "4", "--batch-size", "16", "--lr", "1e-2",
            "--freeze-encoder-steps", "5", "--bag-c", "1", "4", "--head", "8", "--tail", "8",
            "--threads", "1", "--stack-folds", "3", "--router-from", str(donor),
        ]
    )  # fmt: skip
    assert code == 0
    metrics = json.loads(out.with_suffix(".metrics.json").read_text(encoding="utf-8"))
    cv = metrics["cv"]
    assert metrics["n_train"] == len(rows) and metrics["n_val"] == 0
    # Every row is held out exactly once, and each fold trained on all the others.
    assert sum(f["n_held_out"] for f in metrics["folds"]) == len(rows)
    assert all(f["n_train"] + f["n_held_out"] == len(rows) for f in metrics["folds"])
    assert len(cv["rnn_oof_loss_per_eval"]) >= 2 * 4  # ≥ 2 evaluations an epoch, 4 epochs
    assert cv["rnn_best_eval"] == int(np.argmin(cv["rnn_oof_loss_per_eval"]))
    # The final RNN ran for the epoch count chosen out of fold (no validation slice is left).
    steps_per_epoch = -(-len(rows) // 16)
    assert metrics["steps"] == round(cv["rnn_best_epoch"] * steps_per_epoch)
    assert metrics["mixer_class_weight"] == max(
        cv["stacked_by_weighting"], key=cv["stacked_by_weighting"].get
    )
    assert cv["bag_only"] > 0.8 and cv["stacked"] > 0.8  # the cue words are easy to learn
    assert len(cv["plain_recipe_repeats"]) == 3
    # The served path: int8 at load, temperature and router read from the file.
    reader = SentimentReader.load(folder, "en", quantize=True)
    assert reader.short is not None and reader.short.router is not None
    assert reader.short.temperature == pytest.approx(metrics["temperature"])
    assert reader.short.route_max_tokens == metrics["route_max_tokens"]
    donor_router = torch.load(donor, weights_only=True)["meta"]["router"]
    served_router = torch.load(out, weights_only=True)["meta"]["router"]
    assert torch.equal(donor_router["token_weights"], served_router["token_weights"])
    readings = reader.read(["we loved the movie", "the movie was awful", "the film today"])
    assert [r.model for r in readings] == ["short"] * 3
    assert [r.label for r in readings] == ["pos", "neg", "neu"]


def test_units_of_a_message_fold_emoticons_and_skip_a_held_down_letter() -> None:
    from ml.sentiment.lexicon import units_of

    assert units_of("Ёлки, КАЙФ))))) :-) аааааа a") == {"елки", "кайф", "))", ":)"}
    assert units_of("((( ;D") == {"((", ";D"}


def test_words_of_the_training_texts_make_a_message_judgeable(
    tiny_models: Path, tmp_path: Path
) -> None:
    """A word the tiny BPE splits into pieces ("zorgle") counts as known once the lexicon has
    it (3+ training texts); one seen twice, a letter held down and mashing do not."""
    import shutil

    from ml.sentiment.lexicon import build_lexicon

    folder = tmp_path / "ckpt"
    shutil.copytree(tiny_models, folder)
    data = tmp_path / "data"
    (data / "sentiment").mkdir(parents=True)
    rows = [("zorgle the film", "neg")] * 3 + [("blarf today", "pos")] * 2
    rows += [("aaaaaaaa", "neu")] * 5 + [("the story", "neu")] * 3
    write_labelled_csv(data / "sentiment" / "tweeteval_sentiment_train.csv.gz", rows)
    short = folder / "sentiment-en-short.pt"
    before = SentimentReader.load(folder, "en")
    assert "▁zorgle" not in before._vocab and before.known_words("zorgle") == 0
    code = ml_main(["fit-sentiment-lexicon", "--checkpoint", str(short), "--data-dir", str(data)])
    assert code == 0
    reader = SentimentReader.load(folder, "en")
    assert list(reader.short.lexicon) == list(build_lexicon([r[0] for r in rows]))
    assert "zorgle" in reader.short.lexicon and "blarf" not in reader.short.lexicon
    [known] = reader.read(["zorgle"])
    assert known.judgeable
    for text in ("blarf", "aaaaaaaa", "qzxv wprt"):
        [reading] = reader.read([text])
        assert not reading.judgeable and reading.label == "neu", text
    # the model's weights and its other meta are untouched
    a = torch.load(tiny_models / "sentiment-en-short.pt", weights_only=True)
    b = torch.load(short, weights_only=True)
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])
    assert {k: v for k, v in b["meta"].items() if not k.startswith("lexicon")} == a["meta"]
