"""The whole bot under load: ``python -m bot run`` as a separate process, many users at once.

The bot runs exactly as in production (its own process, long polling over real HTTP, a real
SQLite file) against ``bot.fake_api.FakeBotApi``, which this script starts in its own event
loop and which plays every user. Each simulated private chat sends ``/name <prefix>`` (80%)
or a ~300-word English review (20%; ``--names-only``: none) and the reply is the bot's
``sendMessage`` into that chat (the "typing" action before a review reply is not the reply).
Latency is from the moment the update is queued at the fake server until the bot's reply
request arrives there, so it includes getUpdates, PTB, the database, the models and the rate
limiter.

Two modes (issue 11):

* ``--mode capacity``: closed loop, the bot started with ``BOT_RATE_LIMIT=0`` (no limiter).
  Every chat sends its next message as soon as it has the reply to the last one, but no
  sooner than ``--min-interval`` (1 s) after its previous message: the bot answers one person
  about once a second after a burst of ten (bot/throttle.py) and drops the rest without a
  reply, which would stall a chat that waits for one. So N chats offer at most N updates/s;
  a bot that keeps up with that is reported as such (raise ``--chats``). Reports processed
  updates/s and reply p50/p99. With N chats in a closed loop the mean latency is
  N / throughput (Little's law): 200 chats at 150 updates/s wait 1.33 s on average,
  whatever the bot does.
* ``--mode service``: open loop at a fixed offered rate (``--rate``, default 25 updates/s,
  evenly spaced, each to a chat that is not waiting for a reply) under the default limiter
  (30 messages/s); reports reply p50/p99 and the bot's CPU share.

Both print the bot's peak RSS (VmHWM from /proc/<pid>/status, model loading included) and
its CPU share over the measured window (utime + stime of all its threads from
/proc/<pid>/stat, in % of one core), then one JSON line last.

    python bench/load.py --mode capacity [--chats 200] [--duration 60 | --updates N]
    python bench/load.py --mode service [--rate 25] [--duration 60]
    python bench/load.py --mode service --latencies-csv /tmp/lat.csv   # each reply: sent, kind, ms
    python bench/load.py --mode capacity --bot-dir /tmp/oldbot   # another checkout's bot

``--bot-dir`` runs the bot from another checkout (its ``bot`` and ``ml`` packages and its
checkpoints) with this script's fake server; a checkout without ``BOT_RATE_LIMIT`` keeps its
fixed 30 messages/s limiter in capacity mode too, and the output says so.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gzip
import json
import logging
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from timing import latency_summary  # bench/timing.py (this script's folder is on sys.path)

from bot.fake_api import FakeBotApi

ROOT = Path(__file__).resolve().parent.parent

NAME_PREFIXES = (
    "Ser", "Ma", "Jo", "An", "El", "Kat", "Al", "Ro", "Da", "Li", "Ch", "Mi", "Ar", "Ni",
    "Be", "Sa", "Em", "Jul", "Th", "Is", "Ha", "Le", "Vi", "Ger", "Os", "Fre", "Lu", "Ca",
)  # fmt: skip
# Used when the IMDB test file is not there: two reviews of about 300 words each.
FALLBACK_REVIEWS = (
    (
        "I went into this film expecting very little and came out genuinely moved. The story "
        "follows a retired teacher who spends one last summer in the village where she grew "
        "up, and what could have been a sentimental trip down memory lane becomes a quiet, "
        "honest portrait of regret and friendship. The lead actress is superb: she says more "
        "with a glance at an old photograph than most actors manage with a whole monologue. "
        "The supporting cast is just as good, especially the boy next door who slowly becomes "
        "her only real friend. "
    )
    * 3,
    (
        "What a waste of two hours. The trailer promised a clever thriller, but the film "
        "itself is a mess of loose ends, wooden dialogue and twists you can see coming from "
        "the opening scene. The hero makes one stupid decision after another, the villain "
        "explains his entire plan for no reason, and the editing is so choppy that I lost "
        "track of who was chasing whom. Even the music is annoying, loud where it should be "
        "quiet and silent where it should help. I kept waiting for it to get better and it "
        "never did. Avoid it. "
    )
    * 3,
)
REVIEW_WORDS = (250, 350)
MAX_REVIEWS = 200
USER_ID_BASE = 100_000
WARMUP_USER_ID = 99_000
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
BOT_LIMITER_DEFAULT = 30  # bot/config.py DEFAULT_RATE_LIMIT (and the old fixed limiter)


# ---- what the users send ---------------------------------------------------------------------


def load_reviews(data_dir: Path | None) -> tuple[list[str], str]:
    """Up to 200 English reviews of 250-350 words from IMDB test, else the fixed two."""
    path = (data_dir or Path()) / "sentiment" / "imdb_test.csv.gz"
    if data_dir is None or not path.is_file():
        return list(FALLBACK_REVIEWS), "two fixed English reviews (no imdb_test.csv.gz)"
    reviews: list[str] = []
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            text = row["text"].replace("<br /><br />", "\n").replace("<br />", "\n").strip()
            if REVIEW_WORDS[0] <= len(text.split()) <= REVIEW_WORDS[1]:
                reviews.append(text)
                if len(reviews) >= MAX_REVIEWS:
                    break
    if not reviews:
        return list(FALLBACK_REVIEWS), f"two fixed English reviews (none fit in {path})"
    return reviews, f"{len(reviews)} IMDB test reviews of {REVIEW_WORDS[0]}-{REVIEW_WORDS[1]} words"


@dataclass
class Traffic:
    reviews: list[str]
    review_share: float
    rng: random.Random

    def next_message(self) -> tuple[str, str]:
        """(kind, text): a ``/name <prefix>`` or a review."""
        if self.rng.random() < self.review_share:
            return "review", self.rng.choice(self.reviews)
        return "name", f"/name {self.rng.choice(NAME_PREFIXES)}"


def reply_kind(text: str) -> str:
    """What the bot answered, from an English reply's text."""
    if text.startswith("Names starting with"):
        return "names"
    if text.startswith(("😊", "😐", "😞", "🤔")) or "nothing here" in text.lower():
        return "verdict"
    if "swamped" in text:
        return "busy"  # the inference queue is full (bot/inference.py)
    if "requests in a row" in text:
        return "throttled"  # the per-user limit (bot/throttle.py)
    return "other"


# ---- the bot process ---------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of every thread of ``pid`` so far (fields 14 and 15 of /proc/pid/stat)."""
    return cpu_seconds_of(f"/proc/{pid}/stat")


def cpu_seconds_of(stat_path: str) -> float:
    with open(stat_path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def thread_times(pid: int) -> dict[str, float]:
    """Seconds so far: ``loop``, the CPU time of the main thread (the event loop: PTB, the
    database calls' callbacks, the HTTP client), and ``waited``, the time the process's
    threads spent runnable but waiting for a core (/proc/pid/task/*/schedstat), i.e. what
    other processes on this machine took from it."""
    loop = cpu_seconds_of(f"/proc/{pid}/task/{pid}/stat")
    waited = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            waited += int((task / "schedstat").read_text().split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue  # a thread that ended meanwhile
    return {"loop": loop, "waited": waited / 1e9}


def memory_mb(pid: int) -> dict[str, float]:
    """VmHWM (peak resident set) and VmRSS (now) of ``pid`` in MB."""
    values: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                values[key] = int(rest.split()[0]) / 1024  # kB
    return values


LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(: |$)")  # "sqlite3.OperationalError: ..."


def log_problems(lines: list[str]) -> dict[str, int]:
    """Error records and the exceptions that ended their tracebacks, counted: the line of each
    ERROR/CRITICAL record and each unindented line inside a traceback (``sqlite3.Operational
    Error: database is locked``), cut to 160 characters."""
    problems: Counter[str] = Counter()
    in_traceback = False
    for line in lines:
        if LOG_RECORD.match(line):
            in_traceback = False
            if " ERROR " in line or " CRITICAL " in line:
                problems[line[24:184]] += 1  # without the timestamp
        elif line.startswith("Traceback"):
            in_traceback = True
        elif in_traceback and EXCEPTION_LINE.match(line):
            problems[line[:160]] += 1
    return dict(problems.most_common(8))


def has_rate_setting(bot_dir: Path) -> bool:
    config = bot_dir / "bot" / "config.py"
    return config.is_file() and "BOT_RATE_LIMIT" in config.read_text(encoding="utf-8")


def describe_checkout(bot_dir: Path) -> str:
    """Short commit of ``bot_dir`` (``+changes`` when bot/ or ml/ differ from it)."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(bot_dir), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(bot_dir), "status", "--porcelain", "--", "bot", "ml"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+changes" if dirty else "")


def bot_environment(
    api: FakeBotApi, bot_dir: Path, database: Path, rate: float | None
) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "DATABASE_URL", "LOG_LEVEL", "BOT_RATE_LIMIT"))
    }
    env.update(
        TELEGRAM_BOT_TOKEN=api.token,
        TELEGRAM_API_BASE_URL=api.base_url,
        DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(bot_dir),
    )
    if rate is not None:
        env["BOT_RATE_LIMIT"] = f"{rate:g}"
    return env


async def wait_until_polling(api: FakeBotApi, process: asyncio.subprocess.Process, limit: float):
    """Until the bot's first getUpdates (models loaded, migrations run, menus set)."""
    deadline = time.monotonic() + limit
    while api.poll_count == 0:
        if process.returncode is not None:
            raise RuntimeError(f"the bot exited with code {process.returncode} at start-up")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the bot did not start polling within {limit:g} s")
        await asyncio.sleep(0.05)


# ---- the users -------------------------------------------------------------------------------


@dataclass
class Results:
    sent: int = 0
    kinds: Counter = field(default_factory=Counter)
    other_samples: list[str] = field(default_factory=list)
    unanswered: int = 0
    skipped: int = 0  # service mode: a tick found every chat waiting (none sent)
    last_reply: float = 0.0
    timeline: list[tuple[float, str, float]] = field(default_factory=list)  # sent, kind, ms

    def record(self, kind: str, sent_at: float, call: dict[str, Any]) -> None:
        self.timeline.append((sent_at, kind, (call["time"] - sent_at) * 1000))
        text = str(call["params"].get("text", ""))
        kind = reply_kind(text)
        self.kinds[kind] += 1
        if kind == "other" and len(self.other_samples) < 3:
            self.other_samples.append(text[:120])
        self.last_reply = max(self.last_reply, call["time"])

    @property
    def answered(self) -> int:
        return len(self.timeline)

    @property
    def latencies(self) -> dict[str, list[float]]:
        """Reply latencies in ms by kind of message, in the order the replies came."""
        by_kind: dict[str, list[float]] = {"name": [], "review": []}
        for _, kind, ms in self.timeline:
            by_kind[kind].append(ms)
        return by_kind


async def exchange(
    api: FakeBotApi, user: dict, kind: str, text: str, results: Results, timeout: float
) -> None:
    """Send one message as ``user`` and wait for the bot's reply in that chat."""
    since = api.mark()
    sent_at = time.time()
    api.send_message(text, user=user)
    results.sent += 1
    try:
        call = await api.wait_for_reply_call(user["id"], since=since, timeout=timeout)
    except TimeoutError:
        results.unanswered += 1
        return
    results.record(kind, sent_at, call)


async def closed_loop(
    api: FakeBotApi, users: list[dict], traffic: Traffic, results: Results, args
) -> None:
    """Every chat sends its next message as soon as it has the previous reply, but not sooner
    than ``args.min_interval`` after its previous message (the bot's per-user limit)."""
    start = time.monotonic()
    deadline = start + args.duration

    def more() -> bool:
        if args.updates is not None:
            return results.sent < args.updates
        return time.monotonic() < deadline

    async def chat(index: int, user: dict) -> None:
        # first messages spread over one interval, not all 200 in the same millisecond
        next_send = start + args.min_interval * index / len(users)
        while True:
            wait = next_send - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if not more():
                return
            next_send = time.monotonic() + args.min_interval
            kind, text = traffic.next_message()
            await exchange(api, user, kind, text, results, args.reply_timeout)

    await asyncio.gather(*(chat(i, user) for i, user in enumerate(users)))


async def open_loop(
    api: FakeBotApi, users: list[dict], traffic: Traffic, results: Results, args
) -> None:
    """``args.rate`` messages a second, evenly spaced, each to the next chat that is idle."""
    total = args.updates if args.updates is not None else round(args.rate * args.duration)
    loop = asyncio.get_running_loop()
    start = loop.time()
    busy: set[int] = set()
    tasks: list[asyncio.Task] = []
    turn = 0

    async def one(user: dict, kind: str, text: str) -> None:
        try:
            await exchange(api, user, kind, text, results, args.reply_timeout)
        finally:
            busy.discard(user["id"])

    for tick in range(total):
        delay = start + tick / args.rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        for _ in range(len(users)):
            user = users[turn % len(users)]
            turn += 1
            if user["id"] not in busy:
                break
        else:
            results.skipped += 1
            continue
        busy.add(user["id"])
        kind, text = traffic.next_message()
        tasks.append(asyncio.create_task(one(user, kind, text)))
    await asyncio.gather(*tasks)


# ---- the run ---------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> dict[str, Any]:
    bot_dir = Path(args.bot_dir).resolve()
    reviews, review_source = load_reviews(args.data_dir)
    traffic = Traffic(reviews, 0.0 if args.names_only else 0.2, random.Random(args.seed))
    rate_setting = has_rate_setting(bot_dir)
    rate = args.bot_rate_limit
    if rate is None and args.mode == "capacity":
        rate = 0.0
    notes: list[str] = []
    if not rate_setting:
        limiter = f"{BOT_LIMITER_DEFAULT}/s, fixed (this code has no BOT_RATE_LIMIT)"
        if rate is not None and rate != BOT_LIMITER_DEFAULT:
            notes.append(
                f"this checkout has no BOT_RATE_LIMIT: its {args.mode} run is under its fixed "
                f"{BOT_LIMITER_DEFAULT} messages/s AIORateLimiter, not BOT_RATE_LIMIT={rate:g}"
            )
    elif rate is None:
        limiter = f"{BOT_LIMITER_DEFAULT}/s (default)"
    elif rate == 0:
        limiter = "off (BOT_RATE_LIMIT=0)"
    else:
        limiter = f"{rate:g}/s (BOT_RATE_LIMIT={rate:g})"

    with tempfile.TemporaryDirectory(prefix="namecraft-load-") as tmp:
        log_path = args.bot_log or Path(tmp) / "bot.log"
        async with FakeBotApi() as api:
            env = bot_environment(api, bot_dir, Path(tmp) / "bench.db", rate)
            with open(log_path, "wb") as log:
                process = await asyncio.create_subprocess_exec(
                    args.python, "-m", "bot", "run",
                    cwd=bot_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
                )  # fmt: skip
            try:
                started = time.monotonic()
                await wait_until_polling(api, process, args.start_timeout)
                startup_s = time.monotonic() - started
                # warm-up, not counted: a few of each kind from chats outside the measured ones
                warm = Results()
                for i in range(args.warmup):
                    user = api.user(user_id=WARMUP_USER_ID + i % 2, first_name="Warm")
                    kind = "review" if i % 3 == 2 and not args.names_only else "name"
                    text = traffic.reviews[0] if kind == "review" else "/name Ma"
                    await exchange(api, user, kind, text, warm, args.reply_timeout)

                users = [
                    api.user(user_id=USER_ID_BASE + i, first_name=f"User{i}")
                    for i in range(args.chats)
                ]
                results = Results()
                bench_cpu0 = time.process_time()
                bot_cpu0 = cpu_seconds(process.pid)
                threads0 = thread_times(process.pid)
                t0 = time.time()
                if args.mode == "capacity":
                    await closed_loop(api, users, traffic, results, args)
                else:
                    await open_loop(api, users, traffic, results, args)
                t1 = time.time()
                bot_cpu = cpu_seconds(process.pid) - bot_cpu0
                threads1 = thread_times(process.pid)
                bench_cpu = time.process_time() - bench_cpu0
                memory = memory_mb(process.pid)
            finally:
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
                    try:
                        await asyncio.wait_for(process.wait(), 30)
                    except TimeoutError:
                        process.kill()
                        await process.wait()
        log_lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    if args.latencies_csv:
        with args.latencies_csv.open("w", newline="", encoding="utf-8") as out:
            rows = csv.writer(out)
            rows.writerow(["sent_s", "kind", "latency_ms"])
            rows.writerows((f"{t - t0:.4f}", k, f"{ms:.1f}") for t, k, ms in results.timeline)

    window = max(t1 - t0, 1e-9)
    throughput_window = max((results.last_reply or t1) - t0, 1e-9)
    ceiling = args.chats / args.min_interval if args.min_interval else None
    if args.mode == "capacity" and ceiling and results.answered / throughput_window > 0.9 * ceiling:
        notes.append(
            f"{args.chats} chats at one message per {args.min_interval:g} s offer at most "
            f"{ceiling:g} updates/s and the bot kept up: its capacity is at least this "
            "(raise --chats)"
        )
    latencies = results.latencies
    everything = latencies["name"] + latencies["review"]
    p50, p99 = latency_summary(everything) if everything else (float("nan"), float("nan"))
    per_kind = {}
    for kind, values in latencies.items():
        if values:
            k50, k99 = latency_summary(values)
            per_kind[kind] = {"n": len(values), "p50_ms": round(k50, 1), "p99_ms": round(k99, 1)}
    return {
        "mode": args.mode,
        "bot_dir": str(bot_dir),
        "bot_commit": describe_checkout(bot_dir),
        "limiter": limiter,
        "notes": notes,
        "chats": args.chats,
        "mix": "names only" if args.names_only else "80% /name, 20% review",
        "reviews": review_source,
        "offered_per_s": args.rate if args.mode == "service" else None,
        "sent": results.sent,
        "answered": results.answered,
        "unanswered": results.unanswered,
        "skipped_all_chats_busy": results.skipped,
        "replies": dict(results.kinds),
        "other_replies": results.other_samples,
        "min_interval_s": args.min_interval if args.mode == "capacity" else None,
        "window_s": round(window, 2),
        "updates_per_s": round(results.answered / throughput_window, 1),
        "p50_ms": round(p50, 1),
        "p99_ms": round(p99, 1),
        "max_ms": round(max(everything), 1) if everything else None,
        "by_kind": per_kind,
        "bot_cpu_pct_of_one_core": round(100 * bot_cpu / window, 1),
        "bot_cpu_ms_per_update": round(1000 * bot_cpu / max(results.answered, 1), 1),
        "bot_loop_thread_cpu_pct": round(100 * (threads1["loop"] - threads0["loop"]) / window, 1),
        "bot_waited_for_cpu_pct": round(
            100 * (threads1["waited"] - threads0["waited"]) / window, 1
        ),
        "bench_cpu_pct_of_one_core": round(100 * bench_cpu / window, 1),
        "bot_peak_rss_mb": round(memory.get("VmHWM", float("nan")), 1),
        "bot_rss_end_mb": round(memory.get("VmRSS", float("nan")), 1),
        "bot_startup_s": round(startup_s, 1),
        "bot_log_lines": len(log_lines),
        "bot_log_errors": sum(("ERROR" in line or "Traceback" in line) for line in log_lines),
        "bot_log_problems": log_problems(log_lines),
        "cores": len(os.sched_getaffinity(0)),
        "loadavg_before": None,
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }


def print_report(result: dict[str, Any]) -> None:
    mode = result["mode"]
    print(f"bot: {result['bot_dir']} @ {result['bot_commit']}; limiter {result['limiter']}")
    for note in result["notes"]:
        print(f"NOTE: {note}")
    if result["other_replies"]:
        print(f"  other replies, e.g.: {result['other_replies']}")
    offered = f", offered {result['offered_per_s']}/s" if mode == "service" else ""
    print(
        f"{mode}: {result['chats']} chats, {result['mix']}{offered}; reviews: {result['reviews']}"
    )
    print(
        f"  sent {result['sent']}, answered {result['answered']}, unanswered "
        f"{result['unanswered']}, skipped (all chats busy) {result['skipped_all_chats_busy']}; "
        f"replies {result['replies']}"
    )
    print(
        f"  processed {result['updates_per_s']} updates/s over {result['window_s']} s; reply "
        f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, max {result['max_ms']} ms"
    )
    for kind, summary in result["by_kind"].items():
        print(f"    {kind}: n={summary['n']} p50 {summary['p50_ms']} ms p99 {summary['p99_ms']} ms")
    print(
        f"  bot: CPU {result['bot_cpu_pct_of_one_core']}% of one core, "
        f"{result['bot_cpu_ms_per_update']} ms per update (its event loop thread "
        f"{result['bot_loop_thread_cpu_pct']}%; its threads waited for a free core "
        f"{result['bot_waited_for_cpu_pct']}% of the time; this script: "
        f"{result['bench_cpu_pct_of_one_core']}%), peak RSS "
        f"{result['bot_peak_rss_mb']} MB, start-up {result['bot_startup_s']} s; "
        f"{result['cores']} cores, load average before {result['loadavg_before']}"
    )
    if result["bot_log_problems"]:
        print("  bot log, errors and exceptions (count):")
        for line, count in result["bot_log_problems"].items():
            print(f"    {count} × {line}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("capacity", "service"), default="capacity")
    parser.add_argument("--chats", type=int, default=200, help="simulated private chats")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of sending")
    parser.add_argument("--updates", type=int, default=None, help="send this many, not --duration")
    parser.add_argument("--rate", type=float, default=25.0, help="service mode: updates/s offered")
    parser.add_argument("--names-only", action="store_true", help="no reviews, /name only")
    parser.add_argument(
        "--bot-rate-limit",
        type=float,
        default=None,
        help="BOT_RATE_LIMIT for the bot (default: 0 in capacity mode, the bot's own default "
        "of 30 in service mode)",
    )
    parser.add_argument(
        "--min-interval",
        type=float,
        default=1.0,
        help="capacity mode: a chat's messages at least this many seconds apart (default 1: "
        "the bot answers each person about one request a second after a burst of ten and "
        "silently drops the rest; 0: no floor)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("NAMECRAFT_DATA_DIR", str(ROOT.parent / "shared" / "data"))),
        help="where sentiment/imdb_test.csv.gz is (default NAMECRAFT_DATA_DIR or ../shared/data)",
    )
    parser.add_argument("--bot-dir", default=str(ROOT), help="checkout whose bot runs")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the bot")
    parser.add_argument(
        "--latencies-csv", type=Path, help="write every reply's send time and latency here"
    )
    parser.add_argument("--bot-log", type=Path, help="keep the bot's log here (default: dropped)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=6, help="uncounted exchanges first")
    parser.add_argument("--reply-timeout", type=float, default=60.0)
    parser.add_argument("--start-timeout", type=float, default=180.0)
    args = parser.parse_args(argv)
    if args.chats < 1 or args.rate <= 0 or args.duration <= 0 or args.min_interval < 0:
        parser.error("--chats, --rate and --duration must be positive, --min-interval ≥ 0")
    if args.bot_rate_limit is not None and not args.bot_rate_limit >= 0:
        parser.error("--bot-rate-limit must be ≥ 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # the bot's connections drop when it is stopped at the end: not news
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    loadavg = Path("/proc/loadavg").read_text().split()[:3]
    result = asyncio.run(run(args))
    result["loadavg_before"] = " ".join(loadavg)
    print_report(result)
    print(json.dumps(result, ensure_ascii=False))
    return 0 if result["unanswered"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
