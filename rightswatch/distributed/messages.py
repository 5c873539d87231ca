"""Queue messages: what a task may say, typed, and signed with the workers' shared secret.

Anyone who can write to Redis can put a message on a queue, so a worker trusts nothing a
message says unless it carries a valid HMAC-SHA256 made with the secret it reads itself:

- ``RIGHTSWATCH_WORKER_SECRET`` (at least 32 characters), or
- ``RIGHTSWATCH_WORKER_SECRET_FILE``, a file readable by its owner only (mode 0600 or 0400).

Never from a message. A message carries ids and small typed options only, never settings, URLs,
paths or credentials: the worker takes the database, folders, platforms and crawler settings
from its own configuration, and looks the shard up in the plan it builds from it.

    ShardTask(run_id, shard, full, max_items, board)   crawl one listing of a run
    CaptureTask(finding_id, slot, board)               capture one finding in a time slot

    seal(task, secret) -> envelope     {"v", "kind", "issued", "body", "sig"}: the actor's one arg
    open_task(kind, args, kwargs, secret) -> task      raises MessageRefused

The signature covers the kind (a capture envelope is not a valid crawl message), the body and
the time it was issued; a message older than ``MAX_AGE_S`` is refused (a replay inside that
window only repeats idempotent work, see docs/scaling.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from rightswatch.distributed.errors import DistributedError
from rightswatch.secretfile import SecretFileError, read_secret_file

SECRET_ENV = "RIGHTSWATCH_WORKER_SECRET"  # noqa: S105  # a variable name
SECRET_FILE_ENV = "RIGHTSWATCH_WORKER_SECRET_FILE"  # noqa: S105  # a variable name
MIN_SECRET_CHARS = 32
VERSION = 1
MAX_AGE_S = 8 * 24 * 3600  # longer than any retry back-off or queue wait we expect
_BOARD = re.compile(r"^[a-z]+-[0-9a-z-]{1,64}$")
_SLOT = re.compile(r"^[0-9A-Za-z:_-]{1,40}$")
_SHARD = re.compile(r"^[a-z0-9][a-z0-9_-]*/(term|tag|recent|whole)/[^\x00-\x1f\x7f]{0,200}$")


class SecretMissing(DistributedError):
    """No usable worker secret: distributed mode cannot sign or verify messages."""

    exit_code = 2


class MessageRefused(DistributedError):
    """A queue message is unsigned, altered, stale or malformed; it is dropped, never run."""


def load_secret(environ: Mapping[str, str] | None = None) -> bytes:
    """The workers' shared secret from the environment or the file it names."""
    env = os.environ if environ is None else environ
    value = env.get(SECRET_ENV)
    source = SECRET_ENV
    if not value and env.get(SECRET_FILE_ENV):
        path = Path(env[SECRET_FILE_ENV])
        source = str(path)
        try:
            value = read_secret_file(path, "the worker secret")
        except SecretFileError as exc:
            raise SecretMissing(str(exc)) from exc
    if not value:
        raise SecretMissing(
            f"distributed mode needs a shared worker secret: set {SECRET_ENV} or "
            f"{SECRET_FILE_ENV} (at least {MIN_SECRET_CHARS} characters) on the coordinator "
            "and every worker"
        )
    if len(value) < MIN_SECRET_CHARS:
        raise SecretMissing(
            f"{source}: the worker secret has {len(value)} characters; "
            f"at least {MIN_SECRET_CHARS} are needed"
        )
    return value.encode("utf-8")


def _exact(value: Any, kind: type) -> bool:
    # bool is an int in Python: a run id of True is not a run id
    return type(value) is kind


@dataclass(frozen=True)
class ShardTask:
    kind: ClassVar[str] = "crawl-shard"
    run_id: int
    shard: str  # "<platform>/<listing>/<value>", looked up in the worker's own plan
    full: bool
    max_items: int | None
    board: str

    def check(self) -> None:
        if not _exact(self.run_id, int) or self.run_id < 1:
            raise MessageRefused(f"run_id must be a positive integer, not {self.run_id!r}")
        if not _exact(self.shard, str) or not _SHARD.match(self.shard):
            raise MessageRefused(f"shard {self.shard!r} is not a shard key")
        if not _exact(self.full, bool):
            raise MessageRefused(f"full must be true or false, not {self.full!r}")
        if self.max_items is not None and (not _exact(self.max_items, int) or self.max_items < 1):
            raise MessageRefused(f"max_items must be a positive integer, not {self.max_items!r}")
        _check_board(self.board)

    @property
    def platform(self) -> str:
        return self.shard.split("/", 1)[0]


@dataclass(frozen=True)
class CaptureTask:
    kind: ClassVar[str] = "capture-slot"
    finding_id: int
    slot: str
    board: str

    def check(self) -> None:
        if not _exact(self.finding_id, int) or self.finding_id < 1:
            raise MessageRefused(f"finding_id must be a positive integer, not {self.finding_id!r}")
        if not _exact(self.slot, str) or not _SLOT.match(self.slot):
            raise MessageRefused(f"slot {self.slot!r} is not a time slot")
        _check_board(self.board)


Task = ShardTask | CaptureTask
TaskT = TypeVar("TaskT", ShardTask, CaptureTask)
TASKS: dict[str, type[ShardTask] | type[CaptureTask]] = {
    ShardTask.kind: ShardTask,
    CaptureTask.kind: CaptureTask,
}


def _check_board(board: Any) -> None:
    if not _exact(board, str) or not _BOARD.match(board):
        raise MessageRefused(f"board {board!r} is not a result board name")


def _canonical(kind: str, issued: int, body: Mapping[str, Any]) -> bytes:
    doc = {"v": VERSION, "kind": kind, "issued": issued, "body": dict(body)}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _mac(secret: bytes, kind: str, issued: int, body: Mapping[str, Any]) -> str:
    return hmac.new(secret, _canonical(kind, issued, body), hashlib.sha256).hexdigest()


def seal(task: Task, secret: bytes, *, issued: int | None = None) -> dict[str, Any]:
    """The signed envelope for ``task`` (the actor's only argument)."""
    task.check()
    body = asdict(task)
    when = int(time.time()) if issued is None else issued
    return {
        "v": VERSION,
        "kind": task.kind,
        "issued": when,
        "body": body,
        "sig": _mac(secret, task.kind, when, body),
    }


def open_task(
    kind: type[TaskT],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    secret: bytes,
    *,
    now: float | None = None,
) -> TaskT:
    """The typed task in a delivered message, after checking its signature and every field."""
    if kwargs or len(args) != 1 or not isinstance(args[0], dict):
        raise MessageRefused("not a signed envelope (expected exactly one JSON object)")
    envelope: dict[str, Any] = args[0]
    if set(envelope) != {"v", "kind", "issued", "body", "sig"}:
        raise MessageRefused(f"unsigned or malformed envelope (keys: {sorted(envelope)})")
    sig, body, issued = envelope["sig"], envelope["body"], envelope["issued"]
    if envelope["v"] != VERSION or envelope["kind"] != kind.kind:
        raise MessageRefused(f"envelope is a {envelope['kind']!r} v{envelope['v']!r} message")
    if not _exact(sig, str) or not isinstance(body, dict) or not _exact(issued, int):
        raise MessageRefused("malformed envelope")
    expected = _mac(secret, kind.kind, issued, body)
    if not hmac.compare_digest(sig.encode(), expected.encode()):
        raise MessageRefused("bad signature: the message was forged or altered")
    age = (time.time() if now is None else now) - issued
    if age > MAX_AGE_S or age < -3600:
        raise MessageRefused(f"message issued {age:.0f}s ago is outside the accepted window")
    names = {f.name for f in fields(kind)}
    if set(body) != names:
        raise MessageRefused(f"fields {sorted(body)} are not {sorted(names)}")
    task = kind(**body)
    task.check()
    return task


def describe(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
    """A short, safe account of a refused message for the log (no values echoed at length)."""
    keys = sorted(args[0]) if len(args) == 1 and isinstance(args[0], dict) else None
    return f"{len(args)} arg(s), kwargs {sorted(kwargs)}, envelope keys {keys}"
