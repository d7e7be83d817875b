"""Token-bucket rate limiting, with no I/O: the caller passes the clock."""

from __future__ import annotations


class TokenBucket:
    """Allows ``rate`` events per second on average and bursts of up to ``burst``.

    :param rate: tokens added per second.
    :param burst: the bucket's capacity, which is also how many events may come at once.
    :param now: the current time in seconds (monotonic); the bucket starts full.
    """

    __slots__ = ("_stamp", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._stamp = now

    def take(self, now: float) -> float:
        """Take one token. Returns 0.0 when allowed, else the seconds until one is free."""
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate if self.rate > 0 else float("inf")
