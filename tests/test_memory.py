"""bot/memory.py: the glibc settings that keep the bot's RSS near what its models need."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from bot.memory import limit_malloc_arenas, release_freed_memory

GLIBC = platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not GLIBC, reason="glibc only; elsewhere the helpers do nothing")
def test_glibc_accepts_the_arena_cap_and_the_trim() -> None:
    # In a fresh interpreter, as `python -m bot` does it: before any thread starts.
    code = (
        "from bot.memory import limit_malloc_arenas, release_freed_memory\n"
        "assert limit_malloc_arenas() is True\n"
        "blocks = [bytearray(1 << 16) for _ in range(2000)]\n"
        "del blocks\n"
        "assert release_freed_memory() is True\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_the_helpers_never_raise() -> None:
    assert isinstance(limit_malloc_arenas(), bool)
    assert isinstance(release_freed_memory(), bool)
