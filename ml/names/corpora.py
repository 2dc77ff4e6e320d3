"""Training tables for the conditional name models: one per script, rows with attributes.

A row is a name part (lower case), its attribute values and a sampling weight. Training draws
rows with probability proportional to the weight, which is a *damped* frequency
(``frequency ** DAMPING``): common names come out often, as they do in life, but the long tail
of rare names is still seen, so the model keeps inventing rather than repeating the top 100.

Held-out rows are chosen by name (a stable hash of the text), so no name is on both sides:
a test name was never seen in training under any attribute or part.

* ``en``: US SSA first names by sex and decade (weights from births per million of the
  decade, so the 4-year 2020 bin and the small 1880s are not drowned by the baby boom) and
  Census 2000 surnames (part ``family``).
* ``ru``: first names by sex with counts (typo-filtered list, ё merged into е, patronymics
  that the source lists as first names removed) and surnames in their male or invariant form
  (female forms are derived by rule when a full name is built; see ``ml.names.russian``).
* ``fantasy``: D&D race × sex tables, crowd-sourced D&D character names with free-typed races
  normalised to eight, and Tolkien's characters; multi-word names give a given name and an
  epithet or clan name (part ``family``).
"""

from __future__ import annotations

import csv
import gzip
import re
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ml.names.model import ANY, FAMILY, GIVEN, PART
from ml.names.russian import male_base_surnames
from ml.names.vocab import normalize_name

DAMPING = 0.5  # weight = frequency ** DAMPING
FAMILY_SHARE = 0.35  # share of training draws that are surnames / epithets
TEST_PERCENT, VAL_PERCENT = 5, 3  # of distinct names, by hash
ERAS = [str(decade) for decade in range(1880, 2030, 10)]
SEXES = ["f", "m"]
RACES = ["human", "elf", "dwarf", "halfling", "gnome", "orc", "tiefling", "dragonborn"]
# The D&D race × sex tables are small (1,322 names) but the only source that pairs a race with
# a sex and is curated; the crowd list (18,593) is noisy. Tables count this many times.
TABLE_WEIGHT = 4.0
PATRONYMIC = re.compile(r"(ович|евич|овна|евна|ична|ич)$")


@dataclass
class NameRow:
    text: str  # normalised: lower case, single spaces
    attributes: tuple[int, ...]  # row index per attribute in schema order (0 = any)
    weight: float


@dataclass
class NameCorpus:
    style: str
    attributes: dict[str, list[str]]
    train: list[NameRow]
    val: list[NameRow]
    test: list[NameRow]
    known_given: frozenset[str]
    known_family: frozenset[str]
    weighted: bool = True  # draw rows by weight; False: one pass over the rows per epoch
    sources: list[str] = field(default_factory=list)

    @property
    def chars(self) -> set[str]:
        return {ch for rows in (self.train, self.val, self.test) for r in rows for ch in r.text}

    @property
    def max_text_length(self) -> int:
        return max(len(r.text) for rows in (self.train, self.val, self.test) for r in rows)


def split_of(text: str) -> str:
    """'test', 'val' or 'train' for a name, stable across runs and machines (crc32)."""
    bucket = zlib.crc32(text.encode("utf-8")) % 100
    if bucket < TEST_PERCENT:
        return "test"
    return "val" if bucket < TEST_PERCENT + VAL_PERCENT else "train"


class _Builder:
    """Collects (text, attributes, weight) and splits them by name at the end."""

    def __init__(self, style: str, attributes: dict[str, list[str]]) -> None:
        self.style = style
        self.attributes = attributes
        self.rows: dict[str, list[NameRow]] = {GIVEN: [], FAMILY: []}
        self.sources: list[str] = []

    def add(self, text: str, weight: float, **values: str) -> None:
        text = normalize_name(text)
        if not text or weight <= 0:
            return
        part = values.setdefault(PART, GIVEN)
        index = []
        for name, allowed in self.attributes.items():
            value = values.get(name, ANY)
            index.append(0 if value == ANY else allowed.index(value) + 1)
        self.rows[part].append(NameRow(text, tuple(index), weight))

    def build(self, keep_char: Callable[[str], bool] = lambda ch: True) -> NameCorpus:
        given, family = self.rows[GIVEN], self.rows[FAMILY]
        if family:  # rescale so the parts get their intended share of draws
            g_total, f_total = sum(r.weight for r in given), sum(r.weight for r in family)
            scale = FAMILY_SHARE / (1 - FAMILY_SHARE) * g_total / f_total
            for row in family:
                row.weight *= scale
        splits: dict[str, list[NameRow]] = {"train": [], "val": [], "test": []}
        for row in given + family:
            if all(keep_char(ch) for ch in row.text):
                splits[split_of(row.text)].append(row)
        return NameCorpus(
            style=self.style,
            attributes=self.attributes,
            train=splits["train"],
            val=splits["val"],
            test=splits["test"],
            known_given=frozenset(r.text for r in given),
            known_family=frozenset(r.text for r in family),
            sources=self.sources,
        )


def english(root: Path) -> NameCorpus:
    builder = _Builder("en", {PART: [GIVEN, FAMILY], "sex": SEXES, "era": ERAS})
    ssa = root / "names/ssa/ssa_names_by_decade.tsv.gz"
    # Damp the name's frequency in its decade, then split it by the sexes' shares of its
    # births. Damping each sex on its own would lift the rare use of a name for the other
    # sex (James for a girl: 0.3% of Jameses) to a weight like a real girls' name's.
    both: dict[tuple[str, str], dict[str, tuple[float, int]]] = {}
    with gzip.open(ssa, "rt", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            key = (row["name"], row["decade"])
            both.setdefault(key, {})[row["sex"].lower()] = (
                float(row["per_million"]),
                int(row["count"]),
            )
    for (name, decade), by_sex in both.items():
        frequency = sum(pm for pm, _ in by_sex.values()) ** DAMPING
        births = sum(count for _, count in by_sex.values())
        for sex, (_, count) in by_sex.items():
            builder.add(name, frequency * count / births, sex=sex, era=decade)
    census = root / "names/surnames_en/census2000_surnames.tsv"
    with census.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            builder.add(row["name"], float(row["count"]) ** DAMPING, part=FAMILY)
    builder.sources = [str(ssa), str(census)]
    return builder.build()


def russian(root: Path) -> NameCorpus:
    builder = _Builder("ru", {PART: [GIVEN, FAMILY], "sex": SEXES})
    counts: Counter[tuple[str, str]] = Counter()
    first_names = root / "names/ru/ru_first_names_counts.tsv"
    with first_names.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            name = row["name"].replace("ё", "е").replace("Ё", "Е")
            if row["in_filtered_lists"] != "1" or PATRONYMIC.search(name):
                continue
            counts[(name, row["gender"])] += int(row["count"])
    for (name, sex), count in counts.items():
        builder.add(name, count**DAMPING, sex=sex)
    surnames = root / "names/ru/ru_surnames_top.txt"
    ordered = [s.strip().replace("ё", "е") for s in surnames.read_text("utf-8").splitlines()]
    for rank, surname in enumerate(male_base_surnames(s for s in ordered if s), start=1):
        builder.add(surname, (1 / rank) ** DAMPING, part=FAMILY)  # Zipf: count ∝ 1/rank
    builder.sources = [str(first_names), str(surnames)]
    return builder.build()


def normalise_race(typed: str) -> str:
    """A player's free-typed race ('Half-Elf', 'wood elf', 'teifling') → one of RACES or any."""
    typed = typed.lower()
    rules = [
        ("elf", ("elf", "drow", "eladrin", "elven")),
        ("dwarf", ("dwarf", "duergar")),
        ("halfling", ("halfling", "hobbit")),
        ("gnome", ("gnome",)),
        ("orc", ("orc",)),
        ("tiefling", ("tiefling", "teifling")),
        ("dragonborn", ("dragonborn",)),
        ("human", ("human",)),
    ]
    for race, keys in rules:
        if any(key in typed for key in keys):
            return race
    return ANY


def fantasy(root: Path) -> NameCorpus:
    builder = _Builder("fantasy", {PART: [GIVEN, FAMILY], "race": RACES, "sex": SEXES})

    def add_full(name: str, race: str = ANY, sex: str = ANY, weight: float = 1.0) -> None:
        words = normalize_name(name).split(" ")
        builder.add(words[0], weight, race=race, sex=sex)
        family = " ".join(words[1:])
        if family and len(family) <= 24:
            builder.add(family, weight, part=FAMILY, race=race)

    tables = sorted((root / "names/dnd").glob("*_*.txt"))
    for table in tables:
        race, sex = table.stem.split("_")
        for line in table.read_text("utf-8").splitlines():
            if line.strip():
                add_full(line, "orc" if race == "halforc" else race, sex[0], TABLE_WEIGHT)
    crowd = root / "names/dnd_crowd/character_names_race.tsv"
    with crowd.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            add_full(row["name"], normalise_race(row["race"] or ""))
    tolkien = root / "names/fantasy/tolkien_characters.txt"
    for line in tolkien.read_text("utf-8-sig").splitlines():
        if line.strip():
            add_full(line)
    builder.sources = [str(root / "names/dnd"), str(crowd), str(tolkien)]
    # characters seen fewer than 5 times are mostly noise; their names are left out
    frequency = Counter(ch for part in builder.rows.values() for row in part for ch in row.text)
    return builder.build(keep_char=lambda ch: frequency[ch] >= 5)


def unconditional(
    style: str, names: list[str], train: list[str], val: list[str], test: list[str]
) -> NameCorpus:
    """A plain name list (e.g. makemore's) with the caller's split: one pass per epoch."""
    return NameCorpus(
        style=style,
        attributes={},
        train=[NameRow(n, (), 1.0) for n in train],
        val=[NameRow(n, (), 1.0) for n in val],
        test=[NameRow(n, (), 1.0) for n in test],
        known_given=frozenset(names),
        known_family=frozenset(),
        weighted=False,
    )


BUILDERS: dict[str, Callable[[Path], NameCorpus]] = {
    "en": english,
    "ru": russian,
    "fantasy": fantasy,
}


def real_examples(corpus: NameCorpus, per_group: int = 150) -> dict[str, list[str]]:
    """The most frequent real given names per attribute combination, e.g. "sex=f|era=1920".

    Rows with a control unknown (0) leave it out of the key, so they only serve "any".
    """
    names = [n for n in corpus.attributes if n != PART]
    groups: dict[str, dict[str, float]] = {}
    for row in (*corpus.train, *corpus.val, *corpus.test):
        values = dict(zip(corpus.attributes, row.attributes, strict=True))
        if values.get(PART, 1) != 1:  # given names only
            continue
        key = "|".join(
            f"{n}={corpus.attributes[n][values[n] - 1]}" for n in sorted(names) if values[n]
        )
        bucket = groups.setdefault(key, {})
        bucket[row.text] = max(bucket.get(row.text, 0.0), row.weight)
    return {
        key: sorted(bucket, key=lambda name: -bucket[name])[:per_group]
        for key, bucket in groups.items()
    }
