"""Failed-login rate limit per client address (beyond GAgent, which has none)."""

from collections import OrderedDict, deque
from collections.abc import Callable
import time

__all__ = ["LoginRateLimiter"]

_MAX_ADDRESSES = 1024


class LoginRateLimiter:
    """At most `max_failures` failed logins per address within `window` seconds.

    Memory is bounded: past `_MAX_ADDRESSES` tracked addresses the least recently failing one
    is forgotten.
    """

    def __init__(
        self,
        max_failures: int = 5,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, address: str) -> deque[float] | None:
        times = self._failures.get(address)
        if times is None:
            return None
        cutoff = self._clock() - self.window
        while times and times[0] <= cutoff:
            times.popleft()
        if not times:
            del self._failures[address]
            return None
        return times

    def blocked(self, address: str) -> bool:
        """Whether logins from this address are refused now."""
        times = self._recent(address)
        return times is not None and len(times) >= self.max_failures

    def record_failure(self, address: str) -> None:
        """Count one failed login from this address."""
        times = self._recent(address)
        if times is None:
            times = self._failures[address] = deque(maxlen=self.max_failures)
        times.append(self._clock())
        self._failures.move_to_end(address)
        while len(self._failures) > _MAX_ADDRESSES:
            self._failures.popitem(last=False)
