"""CPU per Bot API call of the HTTP layer: PTB's httpx request against the bot's aiohttp one.

Under ``bench/load.py`` the bot's event loop spent about half its busy time in httpx/httpcore
(issue 11). This script makes ``--calls`` ``bot.send_message`` calls through a real
``telegram.Bot`` (so PTB's own encoding and ``de_json`` are in every number too) against
``bot.fake_api.FakeBotApi``, once one after another and once ``--concurrency`` at a time, with
each backend:

* ``httpx``: ``telegram.request.HTTPXRequest`` (what ``RetryingRequest`` was built on);
* ``aiohttp``: ``bot.http.AiohttpRequest`` (what it is built on now).

Both get ``connection_pool_size=256`` as the bot's call request does; ``RetryingRequest``'s
retry loop around them is the same for both and is left out. The fake server runs in a
subprocess, so ``time.process_time()`` here counts the client alone; the server's CPU (from
/proc) is reported beside it. Runs are interleaved, ``--repeats`` times each, and the run with
the least client CPU is reported (the machine is shared; interference only adds CPU).

    python bench/http_calls.py [--calls 3000] [--concurrency 50] [--repeats 2]

Prints CPU ms per call (client, server) and wall time per call for each backend and mode, the
aiohttp/httpx ratios, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Not bench/http.py: the other scripts run with bench/ on sys.path, where a file of that name
# would stand in for the standard library's ``http`` (PTB and aiohttp import it).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telegram import Bot
from telegram.request import BaseRequest, HTTPXRequest

from bot.fake_api import FakeBotApi
from bot.http import AiohttpRequest

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
BACKENDS: dict[str, Callable[[], BaseRequest]] = {
    "httpx": lambda: HTTPXRequest(connection_pool_size=256),
    "aiohttp": lambda: AiohttpRequest(connection_pool_size=256),
}
WARMUP_CALLS = 200


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


async def serve() -> None:
    """The subprocess: a fake Bot API with one user's chat; prints where, waits for stdin EOF."""
    async with FakeBotApi() as api:
        chat_id = api.send_message("hi")["chat"]["id"]
        print(json.dumps({"base_url": api.base_url, "token": api.token, "chat_id": chat_id}))
        sys.stdout.flush()
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


async def send(bot: Bot, chat_id: int, calls: int, concurrency: int) -> None:
    """``calls`` sendMessage calls, ``concurrency`` of them in flight at a time."""
    per_worker, extra = divmod(calls, concurrency)

    async def worker(count: int, tag: int) -> None:
        for number in range(count):
            await bot.send_message(chat_id, f"message {tag}.{number}")

    await asyncio.gather(*(worker(per_worker + (i < extra), i) for i in range(concurrency)))


async def measure(
    server: dict[str, Any], server_pid: int, backend: str, calls: int, concurrency: int
) -> dict[str, float]:
    """One run: per-call client CPU, server CPU and wall time, in ms."""
    bot = Bot(server["token"], base_url=server["base_url"], request=BACKENDS[backend]())
    async with bot:
        await send(bot, server["chat_id"], WARMUP_CALLS, concurrency)  # connections, caches
        server_cpu0, cpu0, wall0 = cpu_seconds(server_pid), time.process_time(), time.perf_counter()
        await send(bot, server["chat_id"], calls, concurrency)
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
        server_cpu = cpu_seconds(server_pid) - server_cpu0
    return {
        "cpu_ms": round(cpu * 1000 / calls, 3),
        "server_cpu_ms": round(server_cpu * 1000 / calls, 3),
        "wall_ms": round(wall * 1000 / calls, 3),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    server_process = subprocess.Popen(
        [sys.executable, __file__, "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
        text=True,
    )
    try:
        assert server_process.stdout is not None
        server = json.loads(server_process.stdout.readline())
        modes = {"sequential": 1, "concurrent": args.concurrency}
        results: dict[str, dict[str, dict[str, float]]] = {mode: {} for mode in modes}
        for _ in range(args.repeats):
            for mode, concurrency in modes.items():
                for backend in BACKENDS:
                    run_result = await measure(
                        server, server_process.pid, backend, args.calls, concurrency
                    )
                    best = results[mode].get(backend)
                    if best is None or run_result["cpu_ms"] < best["cpu_ms"]:
                        results[mode][backend] = run_result
    finally:
        server_process.communicate("", timeout=30)
    return {
        "calls": args.calls,
        "concurrency": args.concurrency,
        "repeats": args.repeats,
        "results": results,
        "ratios_aiohttp_to_httpx": {
            mode: {
                key: round(by_backend["aiohttp"][key] / by_backend["httpx"][key], 3)
                for key in ("cpu_ms", "server_cpu_ms", "wall_ms")
            }
            for mode, by_backend in results.items()
        },
        "cores": os.cpu_count(),
        "loadavg_before": args.loadavg_before,
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }


def print_report(result: dict[str, Any]) -> None:
    print(
        f"{result['calls']} sendMessage calls per run through telegram.Bot, best of "
        f"{result['repeats']}; fake Bot API in a subprocess; load average before "
        f"{result['loadavg_before']}"
    )
    print(f"{'mode':<22}{'backend':<9}{'client CPU':>12}{'server CPU':>12}{'wall':>10}  per call")
    for mode, by_backend in result["results"].items():
        label = mode if mode == "sequential" else f"{mode} ({result['concurrency']})"
        for backend, numbers in by_backend.items():
            cpu, server_cpu, wall = (numbers[k] for k in ("cpu_ms", "server_cpu_ms", "wall_ms"))
            print(f"{label:<22}{backend:<9}{cpu:>9.3f} ms{server_cpu:>9.3f} ms{wall:>7.3f} ms")
        ratio = result["ratios_aiohttp_to_httpx"][mode]
        print(
            f"{'':<22}{'ratio':<9}{ratio['cpu_ms']:>10.2f}× {ratio['server_cpu_ms']:>10.2f}× "
            f"{ratio['wall_ms']:>8.2f}×  (aiohttp / httpx)"
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3000, help="measured calls per run")
    parser.add_argument("--concurrency", type=int, default=50, help="calls in flight at once")
    parser.add_argument("--repeats", type=int, default=2, help="runs per backend and mode")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve:
        asyncio.run(serve())
        return 0
    args.loadavg_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    result = asyncio.run(run(args))
    print_report(result)
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
