"""Fair use with bounded memory: per-user token buckets, inline debouncing, a short answer cache.

No Telegram types here: ``bot/handlers/common.py`` (``admit``, ``throttled``) applies the
limit to updates and says "try again in N seconds" in the user's language. Every structure
below forgets what it no longer needs, so memory does not grow with the number of users.
Clocks are injectable (``clock=``) so tests move time instead of sleeping.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

V = TypeVar("V")
Clock = Callable[[], float]

# Per-user limits on inference-heavy actions (/name, /fullname, 🔄 and the name controls,
# inline queries, /game, reviews). A person asks for names, presses 🔄 two or three times,
# flips ♀/♂ and the era, sends a review or two: about ten actions within a few seconds, then
# reads. So ten at once pass untouched, and after that one a second, which is still faster than
# anyone reads eight names or a verdict. A script gets the same one a second: about 20 ms of one
# core per /name, so a few percent of one core per scripted user, however hard it pushes.
BURST = 10
PER_SECOND = 1.0
# Buckets kept at once. A bucket idle for BURST / PER_SECOND seconds has refilled and is
# forgotten (the same as never having had one); past this many, the most idle go first.
MAX_TRACKED_USERS = 10_000

# Inline mode: typing "Serafina" sends a query per keystroke. A query waits this long and is
# dropped if the same user typed on meanwhile, so only where they pause is answered.
INLINE_PAUSE = 0.3
# The names for an identical request (style, prefix, temperature, controls) are reused for this
# long, across users too: backspacing, retyping or a second user asking the same costs no model
# call. Telegram's own cache (per user, ``INLINE_CACHE_SECONDS``) stays short so a changed
# /style shows at once; this one is keyed by the settings, so it never shows stale settings.
INLINE_REUSE_SECONDS = 30.0
INLINE_REUSE_MAX = 1_000  # distinct requests remembered at once; the oldest go first


@dataclass(frozen=True)
class Decision:
    """What ``Throttle.check`` says about one more request."""

    allowed: bool
    retry_after: float = 0.0  # seconds until one more request would be allowed
    first_refusal: bool = False  # the first refusal since this user's last allowed request


@dataclass
class _Bucket:
    tokens: float
    stamp: float  # when ``tokens`` was last brought up to date
    warned: bool = False  # refused since the last allowed request


class Throttle:
    """A token bucket per key: ``burst`` requests at once, refilled at ``per_second``."""

    def __init__(
        self,
        burst: int = BURST,
        per_second: float = PER_SECOND,
        *,
        max_tracked: int = MAX_TRACKED_USERS,
        clock: Clock = time.monotonic,
    ) -> None:
        if burst < 1 or per_second <= 0 or max_tracked < 1:
            raise ValueError("burst ≥ 1, per_second > 0, max_tracked ≥ 1")
        self.burst = burst
        self.per_second = per_second
        self.max_tracked = max_tracked
        self.clock = clock
        # least recently used first, so the idle ones are at the front
        self._buckets: OrderedDict[Hashable, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        """Buckets held now (users who asked within the last BURST / PER_SECOND seconds)."""
        return len(self._buckets)

    def check(self, key: Hashable) -> Decision:
        """Take one token for ``key`` if it has one; else say how long until it will."""
        now = self.clock()
        bucket = self._buckets.pop(key, None)
        self._forget_idle(now)
        if bucket is None:
            bucket = _Bucket(tokens=float(self.burst), stamp=now)
        else:
            elapsed = max(0.0, now - bucket.stamp)
            bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.per_second)
            bucket.stamp = now
        self._buckets[key] = bucket
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.warned = False
            return Decision(allowed=True)
        first = not bucket.warned
        bucket.warned = True
        return Decision(False, (1 - bucket.tokens) / self.per_second, first_refusal=first)

    def _forget_idle(self, now: float) -> None:
        """Drop buckets that have refilled (lossless), then the most idle beyond the cap."""
        full_after = self.burst / self.per_second
        while self._buckets:
            key, bucket = next(iter(self._buckets.items()))
            if now - bucket.stamp < full_after and len(self._buckets) < self.max_tracked:
                break
            del self._buckets[key]


class Debouncer:
    """Lets through only the last of a quick run of calls per key (a query per keystroke)."""

    def __init__(self, pause: float = INLINE_PAUSE) -> None:
        self.pause = pause
        self._latest: dict[Hashable, object] = {}  # only keys with a call waiting right now

    def __len__(self) -> int:
        return len(self._latest)

    async def settled(self, key: Hashable) -> bool:
        """Wait ``pause``; True when no newer call for ``key`` arrived meanwhile."""
        ticket = object()
        self._latest[key] = ticket
        latest = False
        try:
            await asyncio.sleep(self.pause)
        finally:
            latest = self._latest.get(key) is ticket
            if latest:
                del self._latest[key]
        return latest


class RecentAnswers(Generic[V]):
    """A small cache whose entries expire ``ttl`` seconds after they were stored."""

    def __init__(
        self,
        ttl: float = INLINE_REUSE_SECONDS,
        max_entries: int = INLINE_REUSE_MAX,
        *,
        clock: Clock = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        # oldest first: with one ttl for all, that is also the order they expire in
        self._entries: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> V | None:
        self._expire(self.clock())
        entry = self._entries.get(key)
        return entry[1] if entry is not None else None

    def put(self, key: Hashable, value: V) -> None:
        now = self.clock()
        self._entries.pop(key, None)
        self._entries[key] = (now + self.ttl, value)
        self._expire(now)

    def _expire(self, now: float) -> None:
        while self._entries:
            key, (expires, _) = next(iter(self._entries.items()))
            if expires > now and len(self._entries) <= self.max_entries:
                break
            del self._entries[key]


@dataclass
class FairUse:
    """What one Application keeps for fair use (``bot_data["fair_use"]``)."""

    throttle: Throttle = field(default_factory=Throttle)
    inline_pause: Debouncer = field(default_factory=Debouncer)
    inline_answers: RecentAnswers = field(default_factory=RecentAnswers)
