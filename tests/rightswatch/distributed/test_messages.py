"""Queue messages are signed, typed and carry ids only: forged, unsigned, altered and
over-reaching messages are refused, by the message module and by a running worker."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from evidence.models import CrawlRun, RunStatus
from evidence.store import Store
from rightswatch.distributed.actors import register
from rightswatch.distributed.broker import ResultBoard, connect
from rightswatch.distributed.messages import (
    MAX_AGE_S,
    CaptureTask,
    MessageRefused,
    SecretMissing,
    ShardTask,
    _mac,
    load_secret,
    open_task,
    seal,
)
from tests.support.postgres import RedisSpace
from tests.support.workers import WORKER_SECRET, WorkerFactory, crawl_config

SECRET = WORKER_SECRET.encode()
OTHER = b"another-secret-of-enough-length-0123456789"
TASK = ShardTask(
    run_id=7, shard="civitai/term/Pipera", full=False, max_items=None, board="crawl-7-ab"
)


def _forge(body: dict[str, object], kind: str = ShardTask.kind) -> dict[str, object]:
    """An envelope signed with the real secret over an arbitrary body (an insider's forgery)."""
    issued = int(time.time())
    return {
        "v": 1,
        "kind": kind,
        "issued": issued,
        "body": body,
        "sig": _mac(SECRET, kind, issued, body),
    }


def test_a_sealed_task_opens_to_the_same_task_and_carries_only_ids() -> None:
    envelope = seal(TASK, SECRET)
    assert open_task(ShardTask, (envelope,), {}, SECRET) == TASK
    assert set(envelope["body"]) == {"run_id", "shard", "full", "max_items", "board"}
    assert "://" not in json.dumps(envelope)  # no database, base URL or any other URL


@pytest.mark.parametrize(
    ("args", "kwargs", "why"),
    [
        # the old message shape: run id, shard, a whole plan, board; unsigned
        (
            (7, "civitai/term/x", '{"database_url": "sqlite:////tmp/evil.db"}', "crawl-7-ab"),
            {},
            "envelope",
        ),
        ((), {"run_id": 7}, "envelope"),
        (({"v": 1, "kind": "crawl-shard", "body": {}},), {}, "unsigned"),
    ],
)
def test_unsigned_messages_are_refused(
    args: tuple[object, ...], kwargs: dict[str, object], why: str
) -> None:
    with pytest.raises(MessageRefused, match=why):
        open_task(ShardTask, args, kwargs, SECRET)


def test_altered_and_foreign_messages_are_refused() -> None:
    envelope = seal(TASK, SECRET)
    altered = {**envelope, "body": {**envelope["body"], "run_id": 8}}
    with pytest.raises(MessageRefused, match="bad signature"):
        open_task(ShardTask, (altered,), {}, SECRET)
    with pytest.raises(MessageRefused, match="bad signature"):  # signed with another key
        open_task(ShardTask, (seal(TASK, OTHER),), {}, SECRET)
    capture = seal(CaptureTask(finding_id=3, slot="2026-12-01T10", board="capture-ab"), SECRET)
    with pytest.raises(MessageRefused, match="capture-slot"):  # a capture is not a crawl
        open_task(ShardTask, (capture,), {}, SECRET)
    stale = seal(TASK, SECRET, issued=int(time.time()) - MAX_AGE_S - 60)
    with pytest.raises(MessageRefused, match="outside the accepted window"):
        open_task(ShardTask, (stale,), {}, SECRET)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"run_id": "../../etc"}, "run_id must be a positive integer"),
        ({"run_id": True}, "run_id must be a positive integer"),
        ({"run_id": 0}, "run_id must be a positive integer"),
        ({"shard": "../../x/term/a"}, "not a shard key"),
        ({"board": "crawl-1/../../x"}, "not a result board"),
        ({"max_items": "10"}, "max_items"),
        ({"settings": {"LOG_FILE": "/tmp/x", "FEEDS": {"/tmp/y": {}}}}, "fields"),
        ({"database_url": "postgresql://attacker@127.0.0.2/db"}, "fields"),
        ({"base_url": "http://127.0.0.1:1/admin"}, "fields"),
    ],
)
def test_signed_messages_are_type_checked_and_cannot_carry_settings(
    change: dict[str, object], why: str
) -> None:
    body = {**seal(TASK, SECRET)["body"], **change}
    with pytest.raises(MessageRefused, match=why):
        open_task(ShardTask, (_forge(body),), {}, SECRET)


def test_the_secret_comes_from_the_environment_or_an_owner_only_file(tmp_path: Path) -> None:
    assert load_secret({"RIGHTSWATCH_WORKER_SECRET": WORKER_SECRET}) == SECRET
    with pytest.raises(SecretMissing, match="at least 32"):
        load_secret({"RIGHTSWATCH_WORKER_SECRET": "short"})
    with pytest.raises(SecretMissing, match="RIGHTSWATCH_WORKER_SECRET_FILE"):
        load_secret({})
    secret_file = tmp_path / "secret"
    secret_file.write_text(WORKER_SECRET + "\n", encoding="utf-8")
    secret_file.chmod(0o644)
    with pytest.raises(SecretMissing, match="chmod 600"):
        load_secret({"RIGHTSWATCH_WORKER_SECRET_FILE": str(secret_file)})
    secret_file.chmod(0o600)
    assert load_secret({"RIGHTSWATCH_WORKER_SECRET_FILE": str(secret_file)}) == SECRET


def test_a_worker_refuses_forged_messages_and_runs_only_its_own_plan(
    pg_url: str, redis_space: RedisSpace, worker_factory: WorkerFactory, tmp_path: Path
) -> None:
    """Attacks on the crawl queue by anyone who can write to Redis: the old unsigned message
    with a plan choosing Scrapy settings and the database, a message signed with a wrong key,
    and a validly signed message for a run that is not running in the worker's case file."""
    store = Store.open(pg_url)
    with store.session() as s:
        done = CrawlRun(status=RunStatus.SUCCEEDED, platforms=["civitai"])
        s.add(done)
        s.flush()
        finished_run = done.id
    store.dispose()
    config = crawl_config(tmp_path / "client" / "watch.toml", "http://127.0.0.1:9", ("Pipera",))
    worker = worker_factory(tmp_path / "worker", config, pg_url)
    worker.wait_until_consuming()
    evil_db, evil_log = tmp_path / "evil.db", tmp_path / "evil.log"
    plan = json.dumps(
        {
            "database_url": f"sqlite:///{evil_db}",
            "settings": {"LOG_FILE": str(evil_log), "TELNETCONSOLE_ENABLED": True},
            "output_dir": "/",
        }
    )
    conn = connect(redis_space.url, namespace=redis_space.namespace)
    actors = register(conn)
    actors.crawl_shard.send(1, "civitai/term/Pipera", plan, "crawl-1-aa")
    actors.crawl_shard.send(
        seal(ShardTask(1, "civitai/term/Pipera", False, None, "crawl-1-bb"), OTHER)
    )
    board = ResultBoard(conn, f"crawl-{finished_run}-cc")
    actors.crawl_shard.send(
        seal(ShardTask(finished_run, "civitai/term/Pipera", False, None, board.key_suffix), SECRET)
    )
    deadline = time.monotonic() + 60
    while worker.log().count("refused rightswatch_crawl_shard") < 2 or not board.has(
        "civitai/term/Pipera"
    ):
        assert time.monotonic() < deadline, worker.log()
        time.sleep(0.1)
    log = worker.log()
    assert "not a signed envelope" in log and "bad signature" in log
    reason = board.read()["civitai/term/Pipera"]["platform"]["finish_reason"]
    assert f"run {finished_run} is succeeded, not running" in reason
    assert not evil_db.exists() and not evil_log.exists()
    assert not worker.started_shards()  # nothing was crawled
    assert not ResultBoard(conn, "crawl-1-aa").has("civitai/term/Pipera")
    conn.close()


def test_the_crawl_child_never_sees_the_worker_secret(tmp_path: Path) -> None:
    from crawler.launch import child_environment, redacted_plan
    from crawler.plan import CrawlPlan

    env = child_environment(
        {
            "RIGHTSWATCH_WORKER_SECRET": WORKER_SECRET,
            "RIGHTSWATCH_WORKER_SECRET_FILE": "/s",
            "A": "1",
        }
    )
    assert env == {"A": "1", "PYTHONUNBUFFERED": "1"}
    plan = CrawlPlan(
        targets=(), database_url="postgresql+psycopg://rw:pw-123@127.0.0.1/db", output_dir=tmp_path
    )
    assert "pw-123" not in redacted_plan(plan) and "rw:***@127.0.0.1" in redacted_plan(plan)


def test_messages_are_decoded_as_json_never_pickle(redis_space: RedisSpace) -> None:
    import dramatiq
    from dramatiq.encoder import JSONEncoder

    conn = connect(redis_space.url, namespace=redis_space.namespace)
    try:
        assert type(dramatiq.get_encoder()) is JSONEncoder
    finally:
        conn.close()
