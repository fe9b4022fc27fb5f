"""Database engine, migrations and the config-change signal.

SQLite by default, PostgreSQL (psycopg 3) when the URL says so. The schema is owned by Alembic
migrations (``control_plane/migrations``), applied at start, so upgrades never lose data.

Writes that change what data planes enforce record a :class:`ConfigRevision` in the same
transaction (``repos.revisions.record``). After such a transaction commits, every callback
registered with :meth:`Database.on_config_change` runs; distribution subscribes to it. Other
control-plane replicas notice the same revision by polling the newest revision id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine

CONFIG_CHANGED = "mcpgw.config_changed"
"""``session.info`` flag set by ``repos.revisions.record``."""

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class Database:
    """Engine, session factory and config-change subscribers of one control plane."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _create_engine(url)
        self._sessions = sessionmaker(self.engine, class_=Session, expire_on_commit=False)
        self._subscribers: list[Callable[[], None]] = []
        event.listen(self._sessions, "after_commit", self._after_commit)

    def migrate(self) -> None:
        """Bring the schema to the newest migration."""
        # "heads": independent migration branches (merged later by a merge revision) all apply.
        command.upgrade(alembic_config(self.url, self.engine), "heads")

    def session(self) -> Session:
        """A new session; use it as a context manager."""
        return self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def on_config_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from the committing thread) after a config-changing commit."""
        self._subscribers.append(callback)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(CONFIG_CHANGED, False):
            for callback in self._subscribers:
                callback()


def alembic_config(url: str, engine: Engine | None = None) -> Config:
    """The Alembic configuration for ``url`` (used by ``migrate`` and by tests)."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        if url in ("sqlite://", "sqlite:///:memory:"):
            return create_engine(url, connect_args={"check_same_thread": False}, poolclass=StaticPool)
        path = url.removeprefix("sqlite:///")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
