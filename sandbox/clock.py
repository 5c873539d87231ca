"""Sandbox time, optionally faster than real time (``--time-scale``)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Clock:
    """Sandbox time: real time, or real time sped up by ``1 / scale`` (``--time-scale``).

    Waits the sandbox announces (``Retry-After``, ``RateLimit`` ``t=``) are sandbox seconds
    times ``scale``, so a 300 s rate-limit window with ``--time-scale 0.01`` lasts 3 s and
    says so; signed URLs expire after ``ttl`` sandbox seconds.
    """

    scale: float = 1.0
    started: float = field(default_factory=time.monotonic)

    def now(self) -> float:
        """Sandbox seconds since start."""
        return (time.monotonic() - self.started) / self.scale if self.scale > 0 else 0.0

    def announce(self, sandbox_seconds: float) -> int:
        """A wait in sandbox seconds as the (scaled, whole) number of seconds announced."""
        if sandbox_seconds <= 0:
            return 0
        return max(1, math.ceil(sandbox_seconds * self.scale))
