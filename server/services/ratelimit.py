"""In-memory sliding-window limits on failed logins (per client IP + user name, and per client IP alone).

One process keeps its own counts: with several API processes behind a load balancer each one allows the
limit, which still bounds password guessing to (processes x limit) per window. docs/security.md says so.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

MAX_FAILURES = 10  # failed logins of one user name from one client address per window
MAX_FAILURES_PER_CLIENT = 50  # failed logins from one client address, all user names together
WINDOW_S = 300.0
MAX_KEYS = 100_000  # the oldest keys are forgotten first: memory stays bounded under a spray of names


class SlidingWindow:
    """Counts events per key over the last WINDOW_S seconds; a key with LIMIT events in the window is blocked."""

    def __init__(
        self,
        limit: int,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ):
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self.max_keys = max_keys
        self._events: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _live(self, key: str, now: float) -> deque[float] | None:
        events = self._events.get(key)
        if events is None:
            return None
        while events and events[0] <= now - self.window_s:
            events.popleft()
        if not events:
            del self._events[key]
            return None
        return events

    def retry_after(self, key: str) -> float:
        """Seconds until KEY may try again (0 when it is not blocked)."""
        with self._lock:
            now = self.clock()
            events = self._live(key, now)
            if events is None or len(events) < self.limit:
                return 0.0
            # Blocked until enough of the oldest events leave the window to drop below the limit.
            return max(0.0, events[len(events) - self.limit] + self.window_s - now)

    def hit(self, key: str) -> None:
        """Record one event for KEY."""
        with self._lock:
            now = self.clock()
            events = self._live(key, now)
            if events is None:
                events = self._events[key] = deque()
            events.append(now)
            self._events.move_to_end(key)
            while len(events) > self.limit:
                events.popleft()
            while len(self._events) > self.max_keys:
                self._events.popitem(last=False)

    def reset(self, key: str) -> None:
        """Forget KEY's events."""
        with self._lock:
            self._events.pop(key, None)

    def clear(self) -> None:
        """Forget everything (tests)."""
        with self._lock:
            self._events.clear()


class LoginLimiter:
    """Failed-login limits: per (client, user name) and per client; a successful login resets the first."""

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        max_failures_per_client: int = MAX_FAILURES_PER_CLIENT,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.per_user = SlidingWindow(max_failures, window_s, clock)
        self.per_client = SlidingWindow(max_failures_per_client, window_s, clock)

    @staticmethod
    def _user_key(client: str, username: str) -> str:
        return f"{client}\x00{username.strip().lower()}"

    def retry_after(self, client: str, username: str) -> int:
        """Whole seconds CLIENT must wait before trying USERNAME again (0: go ahead)."""
        wait = max(self.per_user.retry_after(self._user_key(client, username)), self.per_client.retry_after(client))
        return math.ceil(wait) if wait > 0 else 0

    def failure(self, client: str, username: str) -> None:
        """Count one failed login."""
        self.per_user.hit(self._user_key(client, username))
        self.per_client.hit(client)

    def success(self, client: str, username: str) -> None:
        """A successful login clears that user name's failures from CLIENT (not the per-client count)."""
        self.per_user.reset(self._user_key(client, username))

    def clear(self) -> None:
        """Forget every count (tests)."""
        self.per_user.clear()
        self.per_client.clear()


logins = LoginLimiter()
