"""bench/load.py end to end: the real bot process, a few seconds, three chats."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIELDS = {
    "mode", "bot_commit", "limiter", "chats", "sent", "answered", "unanswered", "replies",
    "updates_per_s", "p50_ms", "p99_ms", "bot_cpu_pct_of_one_core", "bot_peak_rss_mb",
    "by_kind", "date",
}  # fmt: skip


def test_capacity_run_answers_every_update(tmp_path: Path) -> None:
    # an empty data folder: the two built-in reviews, no dependence on ../shared/data
    command = [
        sys.executable, str(ROOT / "bench" / "load.py"), "--mode", "capacity", "--chats", "3",
        "--duration", "3", "--warmup", "2", "--data-dir", str(tmp_path), "--reply-timeout", "30",
        "--latencies-csv", str(tmp_path / "latencies.csv"),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result.keys() >= FIELDS
    assert result["mode"] == "capacity" and result["chats"] == 3
    assert result["limiter"] == "off (BOT_RATE_LIMIT=0)"
    assert result["sent"] >= 3 and result["answered"] == result["sent"]
    assert result["unanswered"] == 0
    assert sum(result["replies"].values()) == result["sent"]
    assert set(result["replies"]) <= {"names", "verdict"}  # no busy, throttled or error reply
    assert result["updates_per_s"] > 0 and 0 < result["p50_ms"] <= result["p99_ms"]
    assert result["bot_peak_rss_mb"] > 0 and result["bot_log_errors"] == 0
    assert result["bot_log_problems"] == {}
    assert "processed" in done.stdout and "updates/s" in done.stdout
    with (tmp_path / "latencies.csv").open(encoding="utf-8") as written:
        rows = list(csv.DictReader(written))
    assert len(rows) >= result["answered"]  # the measured replies, and the warm-up ones
    assert {row["kind"] for row in rows} <= {"name", "review"}
    assert all(float(row["latency_ms"]) > 0 for row in rows)


def test_db_calls_bench_runs_both_ways(tmp_path: Path) -> None:
    """bench/db_calls.py times the same three transactions on the loop and in the SQLite
    threads (the numbers are the benchmark's to report, not this test's)."""
    command = [sys.executable, str(ROOT / "bench" / "db_calls.py"), "--calls", "20"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["calls"] == 20
    for way in ("on the loop", "SQLite threads"):
        assert set(result[way]) == {"claim an update", "read settings", "store an answer"}
        for timing in result[way].values():
            assert set(timing) == {"loop_cpu_ms", "process_cpu_ms", "wall_ms"}
            assert all(value > 0 for value in timing.values())
    assert "claim an update" in done.stdout and "→" in done.stdout
