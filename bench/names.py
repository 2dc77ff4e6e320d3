"""Benchmark of the shipped name models: NLL, novelty, sex control, realism, obscenity, latency.

    .venv/bin/python bench/names.py [--data-dir ../shared/data] [--samples 10000] [--repeats 200]

Prints one table per measure and, last, one JSON line. Every number is measured in this run,
on the served form of the styles (``NameModel.load(quantize=True)``: the hand-stepped GRU of
``ml.names.stepper`` with int8 products, the style's guidance):

* NLL: ``names-makemore.pt`` on makemore's test split (and on its names unseen in training);
  the conditional styles on their own held-out names (split by name), per attribute.
* novel: share of t=1.0 samples that are in none of the style's lists.
* sex control: a character n-gram classifier (logistic regression, char 1–4-grams) trained on
  real names by sex; the share of names generated for "f" / "m" at t=1.0 that it reads as the
  requested sex. Baselines side by side: the classifier's own accuracy on held-out real names
  (the ceiling) and the same share for names generated with sex = any (what no control gives).
* race control (fantasy): the same with a classifier over the eight races.
* realism: the same kind of classifier trained to tell held-out real names from generated ones
  (5-fold cross-validated accuracy; 50% = indistinguishable, lower is better for us).
* obscene: names the obscenity filter flags among ``--samples`` raw samples per style, and
  after the filter (what users can see).
* latency: one ``/name`` (8 names, one thread), p50/p99, next to the unconditional makemore
  model with the same sampler as the baseline; and one en ``/name`` by each sampling path
  (naive loop, batched ``nn.GRU`` fp32 / int8, ``GRUStepper`` fp32 / int8), interleaved.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from timing import latency_summary  # bench/timing.py (this script's folder is on sys.path)

from ml.common import data_dir
from ml.names.corpora import BUILDERS, NameCorpus
from ml.names.evaluate import evaluate_checkpoint, evaluate_corpus_checkpoint
from ml.names.model import PART, NameModel
from ml.names.obscenity import is_obscene
from ml.names.registry import DEFAULT_CHECKPOINT_DIR, checkpoint_path
from ml.names.sample import GeneratedName, sample_names
from ml.names.vocab import BOS, EOS, normalize_name

PREFIXES = {
    "en": ["", "Ser", "Ma", "Jo"],
    "ru": ["", "Сер", "Ма", "Ан"],
    "fantasy": ["", "Ar", "Gal", "Th"],
    "makemore": ["", "Ser", "Ma", "Jo"],
}
SEX_STYLES = ("en", "ru")


def char_classifier() -> tuple[TfidfVectorizer, LogisticRegression]:
    return (
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True),
        LogisticRegression(max_iter=2000, C=4.0),
    )


def labelled_examples(corpus: NameCorpus, control: str) -> tuple[list[str], list[str]]:
    """(names, value) of real given names whose ``control`` is known and unambiguous."""
    index = list(corpus.attributes).index(control)
    part_index = list(corpus.attributes).index(PART)
    seen: dict[str, set[int]] = {}
    for row in (*corpus.train, *corpus.val, *corpus.test):
        if row.attributes[part_index] == 1 and row.attributes[index]:
            seen.setdefault(row.text, set()).add(row.attributes[index])
    names = sorted(n for n, s in seen.items() if len(s) == 1)
    values = corpus.attributes[control]
    return names, [values[next(iter(seen[n])) - 1] for n in names]


def control_reader(
    corpus: NameCorpus, control: str
) -> tuple[Callable[[list[GeneratedName]], np.ndarray], float]:
    """A classifier of ``control`` fitted on 90% of the real names, and its held-out accuracy.

    Returns (read, ceiling): ``read`` gives the predicted value for each generated name.
    """
    names, labels = labelled_examples(corpus, control)
    order = list(range(len(names)))
    random.Random(0).shuffle(order)
    cut = len(order) * 9 // 10
    train, held = order[:cut], order[cut:]
    vectorizer, classifier = char_classifier()
    classifier.fit(vectorizer.fit_transform([names[i] for i in train]), [labels[i] for i in train])
    held_pred = classifier.predict(vectorizer.transform([names[i] for i in held]))
    ceiling = float(np.mean(held_pred == np.array([labels[i] for i in held])))

    def read(generated: list[GeneratedName]) -> np.ndarray:
        return classifier.predict(vectorizer.transform([normalize_name(g.text) for g in generated]))

    return read, ceiling


def race_control(bundle: NameModel, corpus: NameCorpus, samples: int) -> dict[str, float]:
    """Like sex control, for fantasy races (8 classes; the ceiling is low: crowd labels)."""
    read, ceiling = control_reader(corpus, "race")
    races = corpus.attributes["race"]
    out = {"classifier_accuracy_real": round(100 * ceiling, 2), "guidance": bundle.guidance}
    for key, guidance in (("agree_mean", None), ("plain_agree_mean", 1.0)):
        agree = []
        for race in races:
            generated = sample_names(
                bundle,
                "",
                samples // 4,
                1.0,
                seed=5,
                unique=False,
                attributes={"race": race},
                guidance=guidance,
            )
            agree.append(float(np.mean(read(generated) == race)))
        out[key] = round(100 * statistics.mean(agree), 2)
    pred_any = read(sample_names(bundle, "", samples, 1.0, seed=6, unique=False))
    out["agree_any_mean"] = round(100 * float(np.mean([np.mean(pred_any == r) for r in races])), 2)
    return out


def sex_control(bundle: NameModel, corpus: NameCorpus, samples: int) -> dict[str, float]:
    """Served (the style's guidance) and plain conditional (guidance 1.0) side by side."""
    read, ceiling = control_reader(corpus, "sex")
    out = {"classifier_accuracy_real": round(100 * ceiling, 2), "guidance": bundle.guidance}
    for prefix, guidance in (("", None), ("plain_", 1.0)):
        agree = []
        for sex in ("f", "m"):
            generated = sample_names(
                bundle,
                "",
                samples,
                1.0,
                seed=7,
                unique=False,
                attributes={"sex": sex},
                guidance=guidance,
            )
            share = float(np.mean(read(generated) == sex))
            out[f"{prefix}agree_{sex}"] = round(100 * share, 2)
            agree.append(share)
        out[f"{prefix}agree_mean"] = round(100 * statistics.mean(agree), 2)
    anyone = sample_names(bundle, "", samples, 1.0, seed=8, unique=False)
    out["female_share_any"] = round(100 * float(np.mean(read(anyone) == "f")), 2)
    return out


def realism(bundle: NameModel, corpus: NameCorpus, samples: int, control: str = "") -> float:
    """Cross-validated accuracy of telling held-out real given names from generated ones.

    With ``control`` ("sex", "race") the names are generated for each of its values in turn,
    as a user who sets it would get them (guidance included), and compared with held-out real
    names whose value of it is known.
    """
    names = list(corpus.attributes)
    part_index = names.index(PART) if corpus.attributes else -1
    control_index = names.index(control) if control else -1
    real_pool = sorted(
        {
            r.text
            for r in corpus.test
            if (part_index < 0 or r.attributes[part_index] == 1)
            and (control_index < 0 or r.attributes[control_index])
        }
    )
    random.Random(1).shuffle(real_pool)
    n = min(samples, len(real_pool))
    if control:
        values = corpus.attributes[control]
        generated = []
        for value in values:
            generated += sample_names(
                bundle, "", n // len(values) + 1, 1.0, seed=9, attributes={control: value}
            )
        generated = generated[:n]
    else:
        generated = sample_names(bundle, "", n, 1.0, seed=9)
    fake = [normalize_name(g.text) for g in generated]
    real = real_pool[: len(fake)]
    texts, labels = real + fake, [1] * len(real) + [0] * len(fake)
    vectorizer, classifier = char_classifier()
    features = vectorizer.fit_transform(texts)
    scores = cross_val_score(classifier, features, labels, cv=5, scoring="accuracy")
    return round(100 * float(scores.mean()), 2)


def obscene_counts(bundle: NameModel, samples: int) -> tuple[int, int, list[str]]:
    raw = sample_names(bundle, "", samples, 1.0, seed=11, unique=False, screen=None)
    flagged = [g.text for g in raw if is_obscene(g.text)]
    shown = sample_names(bundle, "", samples, 1.0, seed=11, unique=False)
    return len(flagged), sum(is_obscene(g.text) for g in shown), flagged[:5]


@torch.inference_mode()
def naive_names(bundle: NameModel, prefix: str, count: int, seed: int) -> list[str]:
    """The old way: one row, one character at a time, until ``count`` distinct names (t=1)."""
    generator = torch.Generator().manual_seed(seed)
    net, vocab = bundle.model, bundle.vocab
    start = torch.tensor([[BOS, *vocab.encode(normalize_name(prefix))]])
    found: set[str] = set()
    while len(found) < count:
        logits, state = net(start)
        chars: list[int] = []
        for _ in range(bundle.max_length):
            nxt = int(torch.multinomial(torch.softmax(logits[0, -1], -1), 1, generator=generator))
            if nxt == EOS:
                found.add(vocab.decode(chars))
                break
            chars.append(nxt)
            logits, state = net(torch.tensor([[nxt]]), state)
    return sorted(found)


def sampling_paths(path: Path, repeats: int) -> dict[str, float]:
    """p50 ms of one /name (8 names) by the old and new paths, interleaved in one process so
    the machine's drift hits all of them alike: a naive loop (fp32), the batched sampler on
    ``nn.GRU`` (fp32, and int8: what the bot served before issue 11), and on the hand-stepped
    ``GRUStepper`` (fp32, and int8: what the bot serves). Each batched path also runs guided
    (sex "f" at the style's guidance: two rows per row)."""
    stepper_fp32, stepper_int8 = NameModel.load(path), NameModel.load(path, quantize=True)
    gru_fp32 = dataclasses.replace(stepper_fp32, stepper=None)
    gru_int8 = dataclasses.replace(stepper_int8, stepper=None)
    batched = {
        "batched_fp32": gru_fp32,
        "batched_int8": gru_int8,
        "stepper_fp32": stepper_fp32,
        "stepper_int8": stepper_int8,
    }
    paths: dict[str, Callable[[str, int], object]] = {
        "naive_fp32": lambda prefix, seed: naive_names(gru_fp32, prefix, 8, seed)
    }
    for name, bundle in batched.items():
        paths[name] = lambda prefix, seed, b=bundle: sample_names(b, prefix, 8, 1.0, seed=seed)
        paths[f"{name}_guided"] = lambda prefix, seed, b=bundle: sample_names(
            b, prefix, 8, 1.0, seed=seed, attributes={"sex": "f"}
        )
    timings: dict[str, list[float]] = {name: [] for name in paths}
    for i in range(repeats):
        prefix = PREFIXES["en"][i % len(PREFIXES["en"])]
        for name, run in paths.items():
            started = time.perf_counter()
            run(prefix, i)
            timings[name].append((time.perf_counter() - started) * 1000)
    out = {f"{name}_p50_ms": round(statistics.median(t), 2) for name, t in timings.items()}
    for name in paths:
        guided = name.endswith("_guided")
        out[f"{name}_ratio"] = round(out[f"{name}_p50_ms"] / out["naive_fp32_p50_ms"], 2)
        before = "batched_int8_guided" if guided else "batched_int8"
        out[f"{name}_vs_int8_gru"] = round(out[f"{name}_p50_ms"] / out[f"{before}_p50_ms"], 2)
    return out


def compare_served_forms(
    bundle: NameModel, corpus: NameCorpus, samples: int
) -> list[dict[str, object]]:
    """The new served form (int8 ``GRUStepper``) against the old one (int8 ``nn.GRU``):
    ``samples`` names each (t=1.0, not unique, unscreened) with every control "any" and with
    each sex (and for fantasy one race) asked; mean length, share of real names, share read
    as "f" by the sex classifier (and as the race, fantasy), and the largest gap in standard
    errors (|difference| / combined standard error; below 4 is agreement)."""
    old = dataclasses.replace(bundle, stepper=None)
    read_sex, _ = control_reader(corpus, "sex")
    read_race = control_reader(corpus, "race")[0] if "race" in corpus.attributes else None
    settings: list[dict[str, str]] = [{}, {"sex": "f"}, {"sex": "m"}]
    if read_race is not None:
        settings.append({"race": "elf"})
    rows = []
    for asked in settings:
        row: dict[str, object] = {"asked": asked}
        measures = {}
        for form, served in (("old", old), ("new", bundle)):
            names = sample_names(
                served, "", samples, 1.0, seed=31, unique=False, attributes=asked, screen=None
            )
            texts = [normalize_name(g.text) for g in names]
            values = {
                "length": np.array([len(t) for t in texts], dtype=float),
                "real": np.array([g.is_real for g in names], dtype=float),
                "read_f": (read_sex(names) == "f").astype(float),
            }
            if read_race is not None:
                values["read_elf"] = (read_race(names) == "elf").astype(float)
            measures[form] = values
            for key, v in values.items():
                row[f"{form}_{key}"] = round(float(v.mean()), 4 if key != "length" else 3)
        gaps = []
        for key, a in measures["new"].items():
            b = measures["old"][key]
            stderr = float(np.sqrt(a.var() / len(a) + b.var() / len(b))) or 1e-9
            gaps.append(abs(float(a.mean() - b.mean())) / stderr)
        row["max_gap_stderr"] = round(max(gaps), 2)
        rows.append(row)
    return rows


def latency(
    bundle: NameModel, style: str, repeats: int, attributes: dict[str, str] | None = None
) -> tuple[float, float]:
    timings = []
    for i in range(repeats):
        prefix = PREFIXES[style][i % len(PREFIXES[style])]
        started = time.perf_counter()
        sample_names(bundle, prefix, 8, temperature=1.0, seed=i, attributes=attributes)
        timings.append((time.perf_counter() - started) * 1000)
    return latency_summary(timings)


def quality_of(
    bundle: NameModel, corpus: NameCorpus, path: Path, control: str, args: argparse.Namespace
) -> dict[str, object]:
    """Everything but latency for one conditional style."""
    evaluation = evaluate_corpus_checkpoint(path, corpus, samples=1000, quantize=True)
    row: dict[str, object] = {
        "test_nll": evaluation["test_nll"],
        "test_nll_by_attribute": evaluation["test_nll_by_attribute"],
        "novel_share": evaluation["novel_share"],
    }
    if control == "sex":
        row["sex_control"] = sex_control(bundle, corpus, args.classifier_samples)
    if "race" in corpus.attributes:
        row["race_control"] = race_control(bundle, corpus, args.classifier_samples)
    row["realism_accuracy"] = realism(bundle, corpus, args.classifier_samples)
    if control:
        row["realism_controlled"] = realism(bundle, corpus, args.classifier_samples, control)
    before, after, examples = obscene_counts(bundle, args.samples)
    row.update(obscene_raw=before, obscene_shown=after, obscene_examples=examples)
    return row


def print_served_comparison(ckpt_dir: Path, root: Path, samples: int) -> None:
    """``--compare-served``: one table row per style and request, then one JSON line."""
    print(
        f"int8 nn.GRU (old) vs int8 GRUStepper (new), {samples} names each, t=1.0; "
        "gap = largest |difference| in standard errors"
    )
    print(
        f"{'style':8} {'asked':14} {'length':^14} {'real':^14} {'read ♀':^14} "
        f"{'read elf':^14} {'gap':>5}"
    )
    report: dict[str, list[dict[str, object]]] = {}
    for style, build in BUILDERS.items():
        path = checkpoint_path(style, ckpt_dir)
        if not path.exists():
            continue
        report[style] = compare_served_forms(
            NameModel.load(path, quantize=True), build(root), samples
        )
        for row in report[style]:
            asked = ",".join(f"{k}={v}" for k, v in row["asked"].items()) or "any"
            pairs = [
                f"{row.get(f'old_{key}', '-')!s:>6}→{row.get(f'new_{key}', '-')!s:<7}"
                for key in ("length", "real", "read_f", "read_elf")
            ]
            print(f"{style:8} {asked:14} {' '.join(pairs)} {row['max_gap_stderr']:>5}")
    print(json.dumps({"bench": "names-served-forms", "samples": samples, "styles": report}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--checkpoint-dir", default=str(DEFAULT_CHECKPOINT_DIR))
    parser.add_argument("--samples", type=int, default=10_000, help="samples per style")
    parser.add_argument("--classifier-samples", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--latency-only",
        action="store_true",
        help="only the latency table (quick, e.g. on a machine that is quiet for a minute)",
    )
    parser.add_argument(
        "--compare-served",
        action="store_true",
        help="only compare the int8 GRUStepper's names with the int8 nn.GRU's (issue 11)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    root = data_dir(args.data_dir)
    ckpt_dir = Path(args.checkpoint_dir)
    if args.compare_served:
        print_served_comparison(ckpt_dir, root, args.classifier_samples)
        return
    report: dict[str, dict[str, object]] = {}

    # the baseline: the previous release's en model (fp32, unconditional), same sampler
    makemore = NameModel.load(ckpt_dir / "names-makemore.pt")
    p50, p99 = latency(makemore, "makemore", args.repeats)
    report["makemore"] = {"latency_ms_p50": round(p50, 2), "latency_ms_p99": round(p99, 2)}
    if not args.latency_only:
        quality = evaluate_checkpoint(
            ckpt_dir / "names-makemore.pt", [root / "names/makemore/names.txt"], samples=1000
        )
        for key in ("test_nll", "test_nll_unseen", "novel_share"):
            report["makemore"][key] = quality[key]

    for style, build in BUILDERS.items():
        path = checkpoint_path(style, ckpt_dir)
        if not path.exists():
            continue
        bundle = NameModel.load(path, quantize=True)  # as the bot serves it
        corpus = build(root)
        row: dict[str, object] = {"parameters": bundle.meta.get("parameters")}  # fp32 count
        control = "sex" if style in SEX_STYLES else "race" if "race" in corpus.attributes else ""
        if not args.latency_only:
            row.update(quality_of(bundle, corpus, path, control, args))
        p50, p99 = latency(bundle, style, args.repeats)
        row.update(latency_ms_p50=round(p50, 2), latency_ms_p99=round(p99, 2))
        if control:
            asked = {control: corpus.attributes[control][0]}
            p50, p99 = latency(bundle, style, args.repeats, asked)
            row.update(
                latency_controlled=asked,
                latency_controlled_ms_p50=round(p50, 2),
                latency_controlled_ms_p99=round(p99, 2),
            )
        report[style] = row
    paths = sampling_paths(checkpoint_path("en", ckpt_dir), max(30, args.repeats // 4))

    print("NLL (nats/char, held-out names) and novelty at t=1.0")
    print(f"{'model':9} {'test_nll':>9} {'novel':>6}  per attribute")
    for style, row in report.items():
        if "test_nll" not in row:
            continue
        attrs = row.get("test_nll_by_attribute") or {"unseen": row.get("test_nll_unseen")}
        shown = ", ".join(f"{k} {v}" for k, v in attrs.items())
        print(f"{style:9} {row['test_nll']!s:>9} {row['novel_share']!s:>6}  {shown}")
    print("\nSex control at t=1.0 (% of generated names read as the requested sex; target ≥ 90)")
    print("served = the style's guidance scale; plain = guidance 1.0 (the conditional model alone)")
    print(
        f"{'style':6} {'guide':>5} {'f':>6} {'m':>6} {'mean':>6} | {'plain':>6} "
        f"{'real (ceiling)':>14} {'any→f':>6}"
    )
    for style in SEX_STYLES:
        sc = report.get(style, {}).get("sex_control")
        if isinstance(sc, dict):
            print(
                f"{style:6} {sc['guidance']:>5} {sc['agree_f']:>6} {sc['agree_m']:>6} "
                f"{sc['agree_mean']:>6} | {sc['plain_agree_mean']:>6} "
                f"{sc['classifier_accuracy_real']:>14} {sc['female_share_any']:>6}"
            )
    rc = report.get("fantasy", {}).get("race_control")
    if isinstance(rc, dict):
        print(
            "\nRace control (fantasy, 8 races): generated names read as the requested race "
            f"{rc['agree_mean']}% served (guidance {rc['guidance']}), {rc['plain_agree_mean']}% "
            f"plain | real held-out names {rc['classifier_accuracy_real']}% "
            f"(ceiling) | race = any {rc['agree_any_mean']}% (no control = chance)"
        )
    print("\nRealism (real-vs-generated classifier accuracy %, 50 = indistinguishable; 'asked':")
    print(
        "names generated with sex (en, ru) or race (fantasy) set, against real ones that have it)"
    )
    print("Obscene names in raw samples → shown after the filter (target 0); latency of one /name")
    print("(8 names) with all controls 'any', and with sex or race set (guided: two rows per row)")
    print(
        f"{'style':9} {'realism':>8} {'asked':>6} {'obscene':>8} {'shown':>6} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'asked p50':>9} {'p99':>6}"
    )
    for style, row in report.items():
        print(
            f"{style:9} {row.get('realism_accuracy', '-')!s:>8} "
            f"{row.get('realism_controlled', '-')!s:>6} {row.get('obscene_raw', '-')!s:>8}"
            f" {row.get('obscene_shown', '-')!s:>6} {row['latency_ms_p50']:>7}"
            f" {row['latency_ms_p99']:>7} {row.get('latency_controlled_ms_p50', '-')!s:>9}"
            f" {row.get('latency_controlled_ms_p99', '-')!s:>6}"
        )
    print(
        "\nOne /name (en, 8 names) by path, interleaved in one process: p50 ms, × the naive"
        " loop, × batched int8 nn.GRU (served before issue 11); guided: sex f, two rows per row"
    )
    header = f"  {'path':13} {'p50 ms':>7} {'×naive':>7} {'×int8 GRU':>9}"
    print(f"{header} | {'guided':>7} {'×int8 GRU':>9}")
    for name in ("naive_fp32", "batched_fp32", "batched_int8", "stepper_fp32", "stepper_int8"):
        line = (
            f"  {name:13} {paths[f'{name}_p50_ms']:>7} {paths[f'{name}_ratio']:>7}"
            f" {paths[f'{name}_vs_int8_gru']:>9}"
        )
        if f"{name}_guided_p50_ms" in paths:
            line += (
                f" | {paths[f'{name}_guided_p50_ms']:>7} {paths[f'{name}_guided_vs_int8_gru']:>9}"
            )
        print(line)
    print(
        json.dumps(
            {
                "bench": "names",
                "threads": args.threads,
                "samples": args.samples,
                "styles": report,
                "sampling_paths": paths,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
