"""Errors of distributed mode (workers over Redis).

    RightswatchError
    └── DistributedError         distributed mode could not do its work
        ├── BrokerUnavailable    Redis cannot be reached at RIGHTSWATCH_REDIS_URL
        ├── ShardFailed          a crawl shard's child process failed (the task is retried)
        │   └── ShardRejected    a signed shard task this worker cannot run (never retried)
        └── WaitTimedOut         the work did not finish within the caller's timeout

Each message names the Redis URL (password hidden), the run, shard or finding it is about.
"""

from __future__ import annotations

from rightswatch.errors import RightswatchError


class DistributedError(RightswatchError):
    """Root of the errors of distributed mode."""


class BrokerUnavailable(DistributedError):
    """Redis does not answer."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: Redis is unavailable ({reason})")


class ShardFailed(DistributedError):
    """A crawl shard did not complete; Dramatiq retries it."""

    def __init__(self, run_id: int, shard: str, reason: str) -> None:
        self.run_id = run_id
        self.shard = shard
        self.reason = reason
        super().__init__(f"crawl run {run_id}, shard {shard}: {reason}")


class ShardRejected(ShardFailed):
    """The run is not running in this worker's case file, or the shard is not in its config."""


class WaitTimedOut(DistributedError):
    """Queued work did not finish in time."""

    def __init__(self, what: str, missing: int, timeout_s: float) -> None:
        self.what = what
        self.missing = missing
        super().__init__(f"{what}: {missing} task(s) unfinished after {timeout_s:.0f}s")
