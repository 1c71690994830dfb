"""Token buckets per caller: `burst` requests at once, then `rate` a second; the API limits each key with
them and the admin log-in each client address."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from shelfwise.domain.errors import RateLimitedError

MAX_BUCKETS = 100_000  # callers remembered at once; the least recently seen are forgotten (a full bucket)


class RateLimiter:
    """One token bucket per name. `rate` 0 switches the limit off."""

    def __init__(
        self, rate: float, burst: int, what: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.what = what
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, name: str) -> None:
        """Spend one token of `name`'s bucket, or raise RateLimitedError saying when one will be back."""
        if self.rate <= 0:
            return
        now = self.clock()
        with self._lock:
            tokens, then = self._buckets.pop(name, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            if tokens < 1.0:
                self._buckets[name] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
                raise RateLimitedError(
                    f"too many {self.what}: {self.burst} at once, then {self.rate:g} a second; "
                    f"retry in {wait:.1f} s",
                    retry_after=wait,
                )
            self._buckets[name] = (tokens - 1.0, now)
            while len(self._buckets) > MAX_BUCKETS:
                self._buckets.popitem(last=False)
