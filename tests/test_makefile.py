"""The Makefile's optional CPU wheel index for torch (issue 12 item 18), checked with make -n."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CPU_INDEX = "https://download.pytorch.org/whl/cpu"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def install_commands(*variables: str) -> list[str]:
    """The pip install lines `make run` would run on a fresh machine (nothing is run)."""
    env = {k: v for k, v in os.environ.items() if k not in ("TORCH_INDEX_URL", "MAKEFLAGS")}
    shown = subprocess.run(
        ["make", "-n", "-B", "run", *variables],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    return [line for line in shown.splitlines() if re.search(r"pip install .*-e '\.\[dev\]'", line)]


def test_by_default_pip_uses_no_extra_index() -> None:
    [command] = install_commands()
    assert "index-url" not in command


def test_torch_index_url_reaches_the_pip_command() -> None:
    [command] = install_commands(f"TORCH_INDEX_URL={CPU_INDEX}")
    assert f"--extra-index-url {CPU_INDEX} " in command


def test_torch_stays_pinned() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"torch==2.13.0"' in pyproject
