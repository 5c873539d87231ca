"""Named leases in the case file: a lock that holds across processes and machines.

A lease is a row keyed by name. Taking it inserts the row, or takes over a row whose holder let
it expire (a crashed process stops renewing). While held, a background thread renews it; losing
it (another process took it after an expiry) is noticed and reported by :attr:`HeldLease.lost`.
It works the same on SQLite and on a PostgreSQL case file shared by several machines.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import delete, update
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from evidence.exceptions import LeaseHeld
from evidence.models import Lease, utcnow
from evidence.store import Store

DEFAULT_TTL = timedelta(minutes=5)
log = logging.getLogger(__name__)


def holder_id() -> str:
    """Who holds a lease: host, process id and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire(store: Store, name: str, holder: str, ttl: timedelta = DEFAULT_TTL) -> None:
    """Take the lease ``name`` for ``holder`` or raise :class:`LeaseHeld`."""
    now = utcnow()
    try:
        with store.session() as s:
            s.add(Lease(name=name, holder=holder, acquired_at=now, expires_at=now + ttl))
        return
    except IntegrityError:
        pass
    with store.session() as s:
        row = s.get(Lease, name)
        if row is None:  # released between our insert and this read: try once more
            s.add(Lease(name=name, holder=holder, acquired_at=now, expires_at=now + ttl))
            return
        if row.expires_at > now and row.holder != holder:
            raise LeaseHeld(name, row.holder, row.expires_at)
        # take over an expired lease, only if nobody else did in between
        taken = s.execute(
            update(Lease)
            .where(
                Lease.name == name, Lease.holder == row.holder, Lease.expires_at == row.expires_at
            )
            .values(holder=holder, acquired_at=now, expires_at=now + ttl)
        )
        if _rowcount(taken) != 1:
            current = s.get(Lease, name)
            raise LeaseHeld(
                name, current.holder if current else "?", current.expires_at if current else now
            )


def renew(store: Store, name: str, holder: str, ttl: timedelta = DEFAULT_TTL) -> bool:
    """Extend the lease; False when ``holder`` no longer holds it."""
    with store.session() as s:
        done = s.execute(
            update(Lease)
            .where(Lease.name == name, Lease.holder == holder)
            .values(expires_at=utcnow() + ttl)
        )
        return _rowcount(done) == 1


def _rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched (SQLAlchemy types execute() as a plain Result)."""
    return int(cast("CursorResult[Any]", result).rowcount)


def release(store: Store, name: str, holder: str) -> None:
    with store.session() as s:
        s.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))


@dataclass
class HeldLease:
    name: str
    holder: str
    lost: threading.Event = field(default_factory=threading.Event)


@contextmanager
def hold(store: Store, name: str, ttl: timedelta = DEFAULT_TTL) -> Iterator[HeldLease]:
    """Hold ``name`` for the duration of the block, renewing it every third of ``ttl``."""
    lease = HeldLease(name=name, holder=holder_id())
    acquire(store, name, lease.holder, ttl)
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(ttl.total_seconds() / 3):
            try:
                still = renew(store, name, lease.holder, ttl)
            except SQLAlchemyError as exc:  # a passing hiccup: try again at the next beat
                log.warning("could not renew lease %r: %s", name, exc)
                continue
            if not still:
                lease.lost.set()
                return

    thread = threading.Thread(target=heartbeat, name=f"lease:{name}", daemon=True)
    thread.start()
    try:
        yield lease
    finally:
        stop.set()
        thread.join(timeout=5)
        release(store, name, lease.holder)
