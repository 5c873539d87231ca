"""Leases serialise runs across processes, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from evidence.lease import LeaseHeld, acquire, hold, release, renew
from evidence.models import Lease, utcnow
from evidence.store import Store


def current_holder(store: Store, name: str) -> str | None:
    """The live holder of ``name`` as the case file says, or None when free or expired."""
    with store.session() as s:
        row = s.scalar(select(Lease).where(Lease.name == name))
        if row is None or row.expires_at <= utcnow():
            return None
        return row.holder


def test_second_holder_is_refused_until_release(store: Store) -> None:
    acquire(store, "monitor:watch.toml", "a")
    with pytest.raises(LeaseHeld) as info:
        acquire(store, "monitor:watch.toml", "b")
    assert "already running (a," in str(info.value)
    assert current_holder(store, "monitor:watch.toml") == "a"
    release(store, "monitor:watch.toml", "a")
    acquire(store, "monitor:watch.toml", "b")
    assert current_holder(store, "monitor:watch.toml") == "b"


def test_expired_lease_is_taken_over_and_old_holder_cannot_renew(store: Store) -> None:
    acquire(store, "job", "crashed", ttl=timedelta(milliseconds=1))
    time.sleep(0.01)
    assert current_holder(store, "job") is None
    acquire(store, "job", "fresh")
    assert renew(store, "job", "crashed") is False
    assert renew(store, "job", "fresh") is True


def test_release_by_a_non_holder_changes_nothing(store: Store) -> None:
    acquire(store, "job", "a")
    release(store, "job", "b")
    assert current_holder(store, "job") == "a"


def test_hold_renews_and_releases(store: Store) -> None:
    with hold(store, "job", ttl=timedelta(seconds=0.3)) as lease:
        time.sleep(0.5)  # longer than the ttl: only renewal keeps it
        assert current_holder(store, "job") == lease.holder
        assert not lease.lost.is_set()
    assert current_holder(store, "job") is None


def test_hold_notices_a_lost_lease(store: Store) -> None:
    with hold(store, "job", ttl=timedelta(seconds=0.3)) as lease:
        release(store, "job", lease.holder)  # as if another process had taken over
        assert lease.lost.wait(2)


def test_lease_holds_across_processes(store_url: str) -> None:
    store = Store.open(store_url)
    script = textwrap.dedent(f"""
        import sys
        from evidence.lease import hold
        from evidence.store import Store
        with hold(Store.open({store_url!r}), "job"):
            print("held", flush=True)
            sys.stdin.readline()
    """)
    with subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None and child.stdin is not None
        try:
            assert child.stdout.readline().strip() == "held"
            with pytest.raises(LeaseHeld):
                acquire(store, "job", "parent")
        finally:
            child.stdin.write("\n")
            child.stdin.flush()
            child.wait(30)
    acquire(store, "job", "parent")
    store.dispose()
