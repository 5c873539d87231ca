"""The case-file store: one SQLAlchemy engine, sessions, and migrations applied on first use.

SQLite in ``./rightswatch-data/`` is the embedded default; any SQLAlchemy URL works
(``postgresql+psycopg://…``). The schema is owned by Alembic (``evidence/migrations``);
``Store.open`` brings it up to date before handing out sessions.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from evidence.exceptions import DatabaseUnavailable, MigrationError

DEFAULT_DATA_DIR = Path("rightswatch-data")
DATABASE_ENV = "RIGHTSWATCH_DATABASE_URL"
MIGRATIONS = Path(__file__).with_name("migrations")


def default_url(data_dir: Path = DEFAULT_DATA_DIR) -> str:
    """The embedded default: a SQLite file inside the data folder."""
    return f"sqlite:///{data_dir / 'rightswatch.db'}"


def resolve_url(explicit: str | None = None, configured: str | None = None) -> str:
    """Pick the database URL: an explicit one, then the environment, then config, then SQLite."""
    return explicit or os.environ.get(DATABASE_ENV) or configured or default_url()


def redact(url: str) -> str:
    """The URL with any password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


@dataclass
class Store:
    """A handle on the case file. Create with :meth:`Store.open`."""

    url: str
    engine: Engine
    _sessions: sessionmaker[Session] = field(repr=False)

    @classmethod
    def open(cls, url: str | None = None, *, upgrade: bool = True) -> Store:
        """Connect to ``url`` (or the resolved default) and apply pending migrations."""
        url = resolve_url(url)
        engine = _make_engine(url)
        store = cls(url=url, engine=engine, _sessions=sessionmaker(engine, expire_on_commit=False))
        store.ping()
        if upgrade:
            store.upgrade()
        return store

    def ping(self) -> None:
        """Fail with one clear error when the database cannot be reached."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise DatabaseUnavailable(redact(self.url), _first_line(exc)) from exc

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to ``revision`` with Alembic."""
        from alembic import command

        try:
            with self.engine.begin() as conn:
                cfg = _alembic_config(self.url)
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
        except SQLAlchemyError as exc:
            raise MigrationError(redact(self.url), _first_line(exc)) from exc

    def current_revision(self) -> str | None:
        """The Alembic revision the database is at, or None when it has none."""
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
            return None if row is None else str(row[0])

    @staticmethod
    def head_revision() -> str:
        """The newest revision the code knows."""
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()
        if head is None:
            raise MigrationError("(none)", "no migrations found")
        return head

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def _make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUnavailable(url, "not a database URL") from exc
    kwargs: dict[str, Any] = {"future": True}
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:":
            try:
                _private_sqlite_file(Path(db))
            except OSError as exc:
                raise DatabaseUnavailable(url, f"cannot create folder for {db}: {exc}") from exc
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
        if parsed.get_backend_name() == "postgresql":
            kwargs["connect_args"] = {"connect_timeout": 5}
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ArgumentError, ImportError) as exc:
        raise DatabaseUnavailable(redact(url), _first_line(exc)) from exc
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _private_sqlite_file(db: Path) -> None:
    """Create the SQLite case file 0600 (its folder 0700 when we create it) before SQLite does.

    SQLite gives its -wal and -shm files the main file's mode, so the whole case file is
    readable by its owner only; an existing file is tightened to 0600 too.
    """
    if not db.parent.exists():
        db.parent.mkdir(parents=True, exist_ok=True)
        db.parent.chmod(0o700)
    if db.exists():
        db.chmod(0o600)
        return
    os.close(os.open(db, os.O_WRONLY | os.O_CREAT, 0o600))


def _alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    msg = str(orig if orig is not None else exc).strip()
    if isinstance(exc, OperationalError) and not msg:
        msg = type(exc).__name__
    return msg.splitlines()[0] if msg else type(exc).__name__
