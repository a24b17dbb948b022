"""Engines, sessions, migrations and the data version.

Nothing here connects at import time: callers make an engine from a URL and own their sessions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from . import writeturn
from .config import get_settings
from .models import Meta

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
log = logging.getLogger(__name__)
T = TypeVar("T")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the dashboard read while an import writes; busy_timeout waits out short locks
    # (FANGCANG_WRITE_WAIT_SECONDS, at most 30 s per statement; run_write retries beyond).
    wait_ms = min(get_settings().write_wait_seconds, 30) * 1000
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(wait_ms)}")
    cursor.close()


# ---------------------------------------------------------------------------------------------
# A database busy with another write
# ---------------------------------------------------------------------------------------------
class DatabaseBusy(RuntimeError):
    """Another write (typically a long import) held the database longer than
    ``FANGCANG_WRITE_WAIT_SECONDS``; nothing was saved and the action can simply be retried.
    The UI shows a plain "busy, please retry" message for it (``ui.errors``)."""


_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")
# lock_not_available, deadlock_detected, serialization_failure
_PG_RETRYABLE = {"55P03", "40P01", "40001"}


def is_busy_error(exc: BaseException) -> bool:
    """True for "another write holds the database" errors on SQLite and PostgreSQL (locks,
    deadlocks, serialisation failures): the action may be retried unchanged."""
    if isinstance(exc, DatabaseBusy):
        return True
    if isinstance(exc, DBAPIError):
        orig = exc.orig
        if getattr(orig, "sqlstate", None) in _PG_RETRYABLE:
            return True
        return any(text in str(orig).lower() for text in _SQLITE_BUSY)
    return False


def _pg_lock_timeout(ms: int):
    def set_timeout(_session, _transaction, connection) -> None:
        connection.exec_driver_sql(f"SET LOCAL lock_timeout = {int(ms)}")

    return set_timeout


def run_write(
    bind: Engine | sessionmaker,
    fn: Callable[[Session], T],
    *,
    wait_seconds: float | None = None,
    what: str = "write",
) -> T:
    """Run ``fn(session)`` in a fresh session and commit; retry while the database is busy.

    Parameters
    ----------
    bind : Engine or sessionmaker
    fn : callable
        Does the work on the session it is given (it may commit itself); it is run again from
        the start after a busy error, so it must not have effects outside the database.
    wait_seconds : float, optional
        Total time to keep trying (default settings ``write_wait_seconds``).
    what : str
        Named in the log and in the ``DatabaseBusy`` message.

    Raises
    ------
    DatabaseBusy
        Still busy after ``wait_seconds``; nothing of the failed attempt was saved.
    """
    wait_seconds = get_settings().write_wait_seconds if wait_seconds is None else wait_seconds
    deadline = time.monotonic() + wait_seconds
    make = bind if isinstance(bind, sessionmaker) else sessionmaker(bind, expire_on_commit=False)
    pause, attempt = 0.05, 0
    while True:
        attempt += 1
        with make() as session:
            if session.get_bind().dialect.name == "postgresql":
                # PostgreSQL waits for row locks without limit: bound each statement's lock
                # wait by what is left of the budget (every transaction of this session).
                left_ms = max(int((deadline - time.monotonic()) * 1000), 100)
                event.listen(session, "after_begin", _pg_lock_timeout(left_ms))
            try:
                result = fn(session)
                session.commit()
                return result
            except Exception as exc:
                session.rollback()
                if not is_busy_error(exc):
                    raise
                if time.monotonic() + pause > deadline:
                    log.warning(
                        "%s gave up after %d attempts: database busy (%s)", what, attempt, exc
                    )
                    raise DatabaseBusy(f"{what}: the database is busy with another write") from exc
                log.info("%s: database busy, retrying (attempt %d)", what, attempt)
        time.sleep(pause)
        pause = min(pause * 2, 1.0)


def make_engine(url: str | None = None, **kwargs) -> Engine:
    """Create an engine for ``url`` (default: ``FANGCANG_DB_URL`` or the embedded SQLite file).

    SQLite files get WAL mode, foreign keys and a busy timeout; their folder is created.
    PostgreSQL URLs use psycopg 3 (``postgresql+psycopg://``).
    """
    url = url or get_settings().db_url
    parsed = make_url(url)
    if parsed.drivername == "postgresql":  # plain postgresql:// would pick psycopg2
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # Connections mark their writes for ``writeturn.yield_to_writers`` (a demo fill lets
        # waiting writers in only when there are any).
        connect_args = dict(kwargs.pop("connect_args", None) or {})
        connect_args.setdefault("factory", writeturn.TurnConnection)
        engine = create_engine(parsed, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A ``sessionmaker`` bound to ``engine`` (``expire_on_commit=False`` for UI use)."""
    return sessionmaker(engine, expire_on_commit=False)


def _alembic_config(engine: Engine):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Create or upgrade the schema with Alembic migrations (keeps existing data).

    Each feature keeps its own branch of migrations off the foundation revision (so features
    never wait on each other's revision ids); ``heads`` applies all of them.
    """
    from alembic import command

    from . import keys

    if not get_settings().secret_key:  # install step: the key file, owner-only (fangcang.keys)
        keys.ensure_key_file()
    command.upgrade(_alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The schema revisions the database is at (``+``-joined heads), or None when empty."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        heads = MigrationContext.configure(conn).get_current_heads()
    return "+".join(sorted(heads)) if heads else None


def head_revision() -> str:
    """The newest revisions the code knows (``+``-joined heads), as a database at head records
    them: a head that another head ``depends_on`` is not listed (Alembic drops it from the
    version table when the dependent revision is applied)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config(None))
    heads = set(script.get_heads())
    covered: set[str] = set()
    for head in heads:
        todo = [head]
        while todo:
            rev = script.get_revision(todo.pop())
            for parent in (*_as_tuple(rev.down_revision), *_as_tuple(rev.dependencies)):
                if parent not in covered:
                    covered.add(parent)
                    todo.append(parent)
    return "+".join(sorted(heads - covered))


def _as_tuple(value) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def get_meta(session: Session, key: str, default: str | None = None) -> str | None:
    row = session.get(Meta, key)
    return row.value if row is not None else default


def set_meta(session: Session, key: str, value: str) -> None:
    row = session.get(Meta, key)
    if row is None:
        session.add(Meta(key=key, value=value))
    else:
        row.value = value


def data_version(session: Session) -> int:
    """A counter bumped by every change of data; UI caches key on it."""
    return int(get_meta(session, "data_version", "0"))


def bump_data_version(session: Session) -> int:
    """Increase the data version inside the caller's transaction and return the new value."""
    row = session.execute(select(Meta).where(Meta.key == "data_version").with_for_update())
    meta = row.scalar_one_or_none()
    if meta is None:
        session.add(Meta(key="data_version", value="1"))
        session.flush()
        return 1
    meta.value = str(int(meta.value) + 1)
    session.flush()
    return int(meta.value)
