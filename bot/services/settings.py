"""Parsing and validating user settings typed as text (temperature, style, language)."""

from __future__ import annotations

import math

from ml.names.sample import MAX_TEMPERATURE, MIN_TEMPERATURE

TEMPERATURE_PRESETS = (0.3, 0.6, 0.8, 1.0, 1.3, 1.6)


def parse_temperature(text: str) -> float | None:
    """A temperature from user text ('0.7', '0,7', ' 1 '), or None when it isn't a usable one.

    Rejects anything outside [0.1, 2.0], NaN/inf, and text longer than a number could be.
    """
    text = text.strip()
    if not text or len(text) > 10:
        return None
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        return None
    if not math.isfinite(value) or not MIN_TEMPERATURE <= value <= MAX_TEMPERATURE:
        return None
    return round(value, 2)
