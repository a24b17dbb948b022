"""Engines, sessions, migrations and the data version.

Nothing here connects at import time: callers make an engine from a URL and own their sessions.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from .config import get_settings
from .models import Meta

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the dashboard read while an import writes; busy_timeout waits out short locks.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


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
        engine = create_engine(parsed, **kwargs)
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

    command.upgrade(_alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The schema revisions the database is at (``+``-joined heads), or None when empty."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        heads = MigrationContext.configure(conn).get_current_heads()
    return "+".join(sorted(heads)) if heads else None


def head_revision() -> str:
    """The newest revisions the code knows (``+``-joined heads)."""
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(_alembic_config(None)).get_heads()
    return "+".join(sorted(heads))


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
