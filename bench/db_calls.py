"""CPU per database transaction: the bot's three per-update transactions, two ways, one run.

Every ``/name`` runs three transactions (the redelivery claim, the user's settings, the stored
answer for the buttons); a review runs the claim and its answer id. This times those
repository calls on a fresh SQLite file, one after another, and prints per transaction the
event loop's CPU (``time.thread_time`` on the loop thread: what the bot's other updates wait
for), the whole process's CPU and the wall time, for:

* ``on the loop``: ``Database(threads=0)``, an ``AsyncSession`` on aiosqlite, as the bot did
  before (every cursor, execute, fetch, close, commit and reset hops to aiosqlite's thread and
  back, and through SQLAlchemy's greenlet bridge);
* ``SQLite threads``: ``Database()`` as the bot runs now, the whole transaction on a plain
  sqlite3 connection in one of ``SQLITE_THREADS`` threads, one hop from the loop.

Both ways run the same repository code (the claim's upsert and the settings read built once),
so the difference is the path alone; the commit's WAL sync is in both.

    python bench/db_calls.py [--calls 1000]

Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.db.engine import SQLITE_THREADS, Database, upgrade_to_head
from bot.db.favorites import FavoritesRepository
from bot.db.instances import ProcessedUpdatesRepository
from bot.db.repository import SettingsRepository

Call = Callable[[int], Awaitable[object]]


def calls_of(db: Database) -> dict[str, Call]:
    claims, settings = ProcessedUpdatesRepository(db), SettingsRepository(db)
    favorites = FavoritesRepository(db)
    return {
        "claim an update": lambda i: claims.claim(1, i, finished=True),
        "read settings": lambda i: settings.get(i % 500),
        "store an answer": lambda i: favorites.add_generation(
            i, i, "en", "Ma", 1.0, ["Mary", "Mara", "Maud", "Mabel", "Maxine", "Mae", "Maya"]
        ),
    }


async def measure(db: Database, calls: int) -> dict[str, dict[str, float]]:
    out = {}
    offset = 10**6 * (2 if db.runs_in_threads else 1)  # fresh update ids for each way
    for name, call in calls_of(db).items():
        for i in range(50):  # warm-up: connections, statement caches
            await call(offset + 10**5 + i)
        loop0, process0, wall0 = time.thread_time(), time.process_time(), time.perf_counter()
        for i in range(calls):
            await call(offset + i)
        out[name] = {
            "loop_cpu_ms": (time.thread_time() - loop0) / calls * 1e3,
            "process_cpu_ms": (time.process_time() - process0) / calls * 1e3,
            "wall_ms": (time.perf_counter() - wall0) / calls * 1e3,
        }
    return out


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls per transaction kind")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/bench.db"
        await upgrade_to_head(url)
        results = {}
        for way, threads in (("on the loop", 0), ("SQLite threads", SQLITE_THREADS)):
            db = Database.connect(url, threads=threads)
            try:
                results[way] = await measure(db, args.calls)
            finally:
                await db.close()
    old, new = results["on the loop"], results["SQLite threads"]
    print(f"{args.calls} calls each, ms per transaction: on the loop → SQLite threads (ratio)")
    print(f"{'transaction':16} {'event loop CPU':>26} {'process CPU':>26} {'wall':>26}")
    for name in old:
        cells = [
            f"{old[name][k]:.3f} → {new[name][k]:.3f} ({new[name][k] / old[name][k]:.2f}×)"
            for k in ("loop_cpu_ms", "process_cpu_ms", "wall_ms")
        ]
        print(f"{name:16} {cells[0]:>26} {cells[1]:>26} {cells[2]:>26}")
    print(json.dumps({"calls": args.calls, "sqlite_threads": SQLITE_THREADS, **results}))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
