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


def test_startup_objects_are_frozen_after_their_garbage_is_collected() -> None:
    """What the bot holds at start-up leaves the collector's full passes (each one had held
    the GIL for 120-140 ms); cyclic garbage made before freezing is still freed first."""
    code = (
        "import gc, weakref\n"
        "from bot.memory import freeze_startup_objects\n"
        "class Node: pass\n"
        "kept = [Node() for _ in range(50_000)]\n"
        "a, b = Node(), Node(); a.other, b.other = b, a  # a cycle nothing refers to\n"
        "probe = weakref.ref(a); del a, b\n"
        "frozen = freeze_startup_objects()\n"
        "assert probe() is None, 'the cycle was frozen instead of freed'\n"
        "assert frozen == gc.get_freeze_count() >= 50_000, frozen\n"
        "assert len(gc.get_objects()) < 1_000, len(gc.get_objects())  # what gc still scans\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
