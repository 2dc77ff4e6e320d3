"""Keep the bot's resident memory close to what its models need (glibc; elsewhere no-ops),
and keep Python's garbage collector from stopping the bot (``freeze_startup_objects``).

Three glibc habits cost the bot ~130 MB of RSS that nothing uses (``bench/load.py``, peak RSS):

- **Arenas per thread.** glibc gives every thread that contends for ``malloc`` an arena of its
  own, up to 8 per core, and each keeps the memory freed into it. The bot runs an event loop,
  inference workers, aiosqlite's connection threads and PTB's helpers, so under load the
  arenas multiply: capping them at two (``mallopt(M_ARENA_MAX, 2)``, what the
  ``MALLOC_ARENA_MAX=2`` environment variable does) measured 618 → 552 MB under
  ``bench/load.py --mode capacity``, with no change in throughput.
- **A moving mmap threshold.** glibc raises its mmap threshold each time a large block is
  freed, so after the first reviews their 0.5–2 MB activations come from the heap, which then
  stays as big as the worst moment. A fixed 256 KiB threshold (``M_MMAP_THRESHOLD``) keeps
  them mapped and unmapped: peak RSS under the same bench 479–515 → 485–489 MB (2 runs each),
  throughput no lower (57–62 → 66–68 updates/s on a quieter machine).
- **Freed memory is kept.** Loading the checkpoints allocates and frees temporary copies
  (the file's bytes, fp16 → fp32 conversions, the fp32 GRUs before int8). ``malloc_trim(0)``
  afterwards hands ~30 MB of it back to the system.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

M_ARENA_MAX = -8  # mallopt parameter number, from glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 256 * 1024
ARENAS = 2


def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        libc.mallopt  # noqa: B018 - glibc has these; musl and macOS do not
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas and fix its mmap threshold; call first thing, before threads
    start. True if applied."""
    libc = _glibc()
    if libc is not None:
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    return bool(libc is not None and libc.mallopt(M_ARENA_MAX, arenas))


def release_freed_memory() -> bool:
    """Return memory freed so far (e.g. by loading the models) to the system."""
    libc = _glibc()
    return bool(libc is not None and libc.malloc_trim(0))


def freeze_startup_objects() -> int:
    """Collect once, then leave every object alive now out of the collector's later passes.

    After start-up the process holds ~270k objects that live as long as it does (torch's and
    PTB's modules, the models, the vocabularies). Each of Python's full collections walked all
    of them with the GIL held: 120-140 ms on an idle core, 0.2-0.5 s under load, during which
    the event loop, the sampler and the database threads all waited, so every reply in flight
    was late (``bench/load.py --latencies-csv`` showed them in bursts). Frozen objects are
    still freed when their count drops to zero; only cycles among them would stay, and the
    collection just before freezing has already freed those. Returns how many were frozen.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
