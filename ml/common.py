"""Small helpers shared by the name and sentiment trainers: seeding, data paths, reports.

Kept here so both training scripts write metrics and loss curves the same way, and so that
every command finds the shared datasets by one rule (flag, then ``NAMECRAFT_DATA_DIR``).
"""

from __future__ import annotations

import json
import math
import os
import random
from pathlib import Path
from typing import Any

import torch

DATA_DIR_ENV = "NAMECRAFT_DATA_DIR"
DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Where the datasets live: an explicit flag wins, then the env var, then ../shared/data."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env) if env else DEFAULT_DATA_DIR


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python and torch; return a dedicated generator for shuffling and sampling."""
    random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def warmup_cosine(step: int, total: int, warmup: int, floor: float) -> float:
    """Learning-rate factor: linear warm-up over ``warmup`` steps, then cosine decay to ``floor``.

    One schedule for every trainer here (names: floor 5%; sentiment LM and classifier: 10%).
    """
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def save_training_report(
    out_prefix: Path,
    history: list[dict[str, float]],
    metrics: dict[str, Any],
    title: str,
) -> tuple[Path, Path]:
    """Write ``<prefix>.metrics.json`` and ``<prefix>.loss.png`` beside the checkpoint.

    ``history`` is one dict per evaluation point with at least ``step`` and any of
    ``train_loss`` / ``val_loss``; metrics is whatever the trainer wants to record.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_prefix = Path(out_prefix)
    out_prefix.parent.mkdir(parents=True, exist_ok=True)
    metrics_path = out_prefix.with_suffix(".metrics.json")
    plot_path = out_prefix.with_suffix(".loss.png")
    metrics_path.write_text(
        json.dumps({**metrics, "history": history}, indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )

    # A second panel appears when the run had a language-model pretraining stage.
    has_lm = any("lm_train_loss" in h for h in history)
    fig, axes = plt.subplots(1, 2 if has_lm else 1, figsize=(12 if has_lm else 7, 4))
    axes = list(axes) if has_lm else [axes]
    panels = [(axes[-1], "step", "", title)]
    if has_lm:
        panels.insert(0, (axes[0], "lm_step", "lm_", "language-model pretraining"))
    for ax, x_key, prefix, panel_title in panels:
        for key, style in (("train_loss", "-"), ("val_loss", "o-")):
            points = [(h[x_key], h[prefix + key]) for h in history if prefix + key in h]
            if points:
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, style, label=key.replace("_", " "), markersize=3)
        ax.set_xlabel(x_key.replace("_", " "))
        ax.set_ylabel("loss (nats)")
        ax.set_title(panel_title)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(plot_path, dpi=110)
    plt.close(fig)
    return metrics_path, plot_path
