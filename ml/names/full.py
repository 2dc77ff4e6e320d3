"""Full names from one conditional style model: given name + surname (and a patronymic in ru).

Every part comes from the same network, asked for a different name part: ``part=given`` with
the user's sex/era/race, ``part=family`` for the surname, epithet or clan name. Russian adds a
patronymic built by rule from a father's name that the model also invents (sex = m), and puts
surname and patronymic into the form that agrees with the person's sex (``ml.names.russian``).
Each part keeps its own real/new mark.

When the sex is "any", Russian full names pick it per name (half and half), because agreement
needs a definite sex; the other styles sample the mixture as single names do.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ml.names.model import ANY, FAMILY, GIVEN, PART, NameModel
from ml.names.obscenity import is_obscene
from ml.names.russian import patronymic, surname_for
from ml.names.sample import NO_SHAPE, GeneratedName, Shape, sample_names
from ml.names.vocab import title_case

MAX_FULL_LENGTH = 64  # what a favourite can hold
FATHER_HEAT = 0.7
SPARE_FULL_NAMES = 2  # drawn beyond the count asked for, per group, to make up for drops
PARTICLES = frozenset({"of", "the", "von", "van", "de", "du", "da", "del", "der", "la", "le"})


def lower_particles(text: str) -> str:
    """'Of The Yale' → 'of the Yale': epithets and clan names keep their small words small."""
    return " ".join(w.lower() if w.lower() in PARTICLES else w for w in text.split(" "))


@dataclass(frozen=True)
class FullName:
    parts: tuple[GeneratedName, ...]  # given, [patronymic,] family, each marked real or new

    @property
    def text(self) -> str:
        return " ".join(part.text for part in self.parts)

    @property
    def is_real(self) -> bool:
        """Every part is real (a new combination of real parts still counts as real)."""
        return all(part.is_real for part in self.parts)


def sample_full_names(
    bundle: NameModel,
    prefix: str = "",
    count: int = 8,
    temperature: float = 1.0,
    seed: int | None = None,
    *,
    attributes: Mapping[str, str] | None = None,
    shape: Shape = NO_SHAPE,
    screen: Callable[[str], bool] | None = is_obscene,
    guidance: float | None = None,
) -> list[FullName]:
    """Up to ``count`` full names whose given name starts with ``prefix`` and fits ``shape``.

    ``guidance`` is passed to every part's ``sample_names`` (None: the style's default).

    Raises ValueError when the style has no surname part, PrefixError like ``sample_names``.
    """
    if not bundle.has_family_part():
        raise ValueError(f"the {bundle.style!r} style has no surnames")
    rng = random.Random(seed if seed is not None else secrets.randbits(63))
    chosen = {k: v for k, v in (attributes or {}).items() if k != PART}
    if bundle.style == "ru":
        sex = chosen.get("sex", ANY) or ANY
        sexes = [rng.choice("fm") for _ in range(count)] if sex == ANY else [sex] * count
        groups = {s: sexes.count(s) for s in "fm" if sexes.count(s)}
    else:
        groups = {chosen.get("sex", ANY) or ANY: count}

    def draw(
        n: int, part: str, extra: dict[str, str], heat: float = temperature, **kwargs: object
    ) -> list[GeneratedName]:
        return sample_names(
            bundle,
            count=n,
            temperature=heat,
            seed=rng.randrange(2**62),
            attributes={**chosen, **extra, PART: part},
            screen=screen,
            guidance=guidance,
            **kwargs,  # type: ignore[arg-type]
        )

    results: list[FullName] = []
    for sex, n in groups.items():
        sex_attr = {} if sex == ANY else {"sex": sex}
        # a spare or two: a full name over MAX_FULL_LENGTH, or one the screen refuses, is
        # dropped below, and the user asked for ``count``, not "up to"
        given = draw(n + SPARE_FULL_NAMES, GIVEN, sex_attr, prefix=prefix, shape=shape)
        family_attrs = {"race": chosen["race"]} if "race" in chosen else {}
        family = draw(len(given), FAMILY, {"sex": ANY, **family_attrs})
        if bundle.style == "ru":
            # the father's name only shows through the patronymic: kept tamer than the rest,
            # so "Габдулхарахманович" stays rare
            fathers = draw(len(given), GIVEN, {"sex": "m"}, heat=min(temperature, FATHER_HEAT))
            for first, father, surname in zip(given, fathers, family, strict=False):
                middle = GeneratedName(patronymic(father.text, sex), father.is_real)
                last = GeneratedName(
                    title_case(surname_for(surname.text, sex).lower()), surname.is_real
                )
                results.append(FullName((first, middle, last)))
        else:
            results.extend(
                FullName((first, GeneratedName(lower_particles(last.text), last.is_real)))
                for first, last in zip(given, family, strict=False)
            )
    rng.shuffle(results)  # spares of every group mixed in: the cut below keeps the mix fair
    keep = [
        name
        for name in results
        if len(name.text) <= MAX_FULL_LENGTH and not (screen is not None and screen(name.text))
    ]
    return keep[:count]
