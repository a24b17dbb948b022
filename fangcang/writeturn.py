"""Writers' turns on SQLite: a long series of short writes (the demo's background fill) leaves
the write lock to another writer only when one is waiting, instead of pausing after every
transaction in case one is.

SQLite does not queue writers that wait for its lock: each one's busy handler polls, every
100 ms at most once it has waited a third of a second (``sqliteDefaultBusyCallback`` in
SQLite's ``main.c``). A process that commits and begins its next write at once can keep a
waiting sign-in out until its busy timeout ends. The demo's extensions used to sleep 0.15 s
after every short transaction so that such a poll would land in the gap: 178 gaps, 24 s of a
130 s full-size build, spent whether anyone was waiting or not.

Here every SQLite connection made by ``fangcang.db.make_engine`` says when it writes: from its
first writing statement until its transaction ends it holds a shared ``flock`` on a file beside
the database (``<database>-writers``; SQLite keeps ``-wal`` and ``-shm`` there too).
``yield_to_writers``, called between two short transactions, takes that lock exclusively for
an instant: it gets it at once when no one is writing or waiting, and otherwise only when
those writers have committed or rolled back (at most ``cap`` seconds). The mark is taken in
the DB-API connection (a ``sqlite3.Connection`` subclass), so raw ``sqlite3`` use by the
importer is covered as well as SQLAlchemy's.

Where ``fcntl`` is missing (Windows) connections carry no mark and ``yield_to_writers``
sleeps ``fallback`` seconds, as before.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sqlite3
import time

try:  # POSIX only
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

#: Suffix of the turn file beside the database file.
SUFFIX = "-writers"

#: Statements that take SQLite's write lock (first keyword); a ``WITH`` statement writes when
#: its body does.
_WRITE_WORDS = frozenset(
    {"INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER", "VACUUM", "REINDEX"}
)
_LEAD = re.compile(r"\s*(?:(?:--[^\n]*\n|/\*.*?\*/)\s*)*([A-Za-z]+)(?:\s+([A-Za-z]+))?", re.S)
_DML = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b", re.I)


@functools.lru_cache(maxsize=4096)
def writes(sql: str) -> bool:
    """Whether the statement ``sql`` takes SQLite's write lock (by its leading keywords:
    INSERT, UPDATE, DELETE, REPLACE, DDL, VACUUM, REINDEX, ``BEGIN IMMEDIATE``/``EXCLUSIVE``,
    or a ``WITH`` whose body modifies)."""
    m = _LEAD.match(sql)
    if not m:
        return False
    first = m.group(1).upper()
    if first in _WRITE_WORDS:
        return True
    if first == "BEGIN":
        return (m.group(2) or "").upper() in ("IMMEDIATE", "EXCLUSIVE")
    if first == "WITH":
        return _DML.search(sql) is not None
    return False


def turn_file(database: str | os.PathLike | None) -> str | None:
    """The turn file of the SQLite database ``database`` (a path or a ``file:`` URI), or None
    for an in-memory or temporary database."""
    if database is None:
        return None
    name = os.fspath(database)
    if name.startswith("file:"):
        path, _, query = name[5:].partition("?")
        if "mode=memory" in query:
            return None
        name = path
    if name in ("", ":memory:"):
        return None
    return os.path.abspath(name) + SUFFIX


class _Mark:
    """A connection's shared lock on the turn file, held while it writes."""

    __slots__ = ("path", "fd", "held")

    def __init__(self, path: str | None) -> None:
        self.path = path if fcntl is not None else None
        self.fd: int | None = None
        self.held = False

    def take(self, sql: str) -> None:
        if self.held or self.path is None or not writes(sql):
            return
        if self.fd is None:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_SH)
        self.held = True

    def drop(self) -> None:
        if self.held:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            self.held = False

    def close(self) -> None:
        self.drop()
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class TurnCursor(sqlite3.Cursor):
    """A cursor whose writing statements mark its connection as writing (``TurnConnection``)."""

    def execute(self, sql, parameters=(), /):
        conn = self.connection
        conn._turn.take(sql)
        try:
            return super().execute(sql, parameters)
        finally:
            conn._settle()

    def executemany(self, sql, seq_of_parameters, /):
        conn = self.connection
        conn._turn.take(sql)
        try:
            return super().executemany(sql, seq_of_parameters)
        finally:
            conn._settle()

    def executescript(self, sql_script, /):
        conn = self.connection
        if conn._turn.path is not None and _script_writes(sql_script):
            conn._turn.take("INSERT")
        try:
            return super().executescript(sql_script)
        finally:
            conn._settle()


def _script_writes(script: str) -> bool:
    return any(writes(part) for part in script.split(";") if part.strip())


class TurnConnection(sqlite3.Connection):
    """A ``sqlite3.Connection`` that holds a shared lock on its database's turn file from its
    first writing statement until its transaction ends (``yield_to_writers`` waits for it).
    Pass it as ``factory`` to ``sqlite3.connect``."""

    def __init__(self, database, *args, **kwargs) -> None:
        super().__init__(database, *args, **kwargs)
        self._turn = _Mark(turn_file(database))

    def _settle(self) -> None:
        if self._turn.held and not self.in_transaction:
            self._turn.drop()

    def cursor(self, factory=TurnCursor):
        return super().cursor(factory)

    def execute(self, sql, parameters=(), /):
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql, seq_of_parameters, /):
        return self.cursor().executemany(sql, seq_of_parameters)

    def executescript(self, sql_script, /):
        return self.cursor().executescript(sql_script)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._settle()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._settle()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._turn.close()


def database_path(conn: sqlite3.Connection) -> str | None:
    """The main database file of the ``sqlite3`` connection ``conn`` ('' when in memory)."""
    for _seq, name, path in conn.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return path or None
    return None


def yield_to_writers(
    database: str | os.PathLike | None,
    *,
    cap: float = 1.0,
    poll: float = 0.005,
    fallback: float = 0.15,
) -> float:
    """Let the writers waiting for the database go first: return once no connection holds the
    turn file's shared lock (at once when none does), or after ``cap`` seconds.

    Call it between two transactions, holding no write lock yourself (after a commit).

    Parameters
    ----------
    database : path of the SQLite database file (None: nothing to wait for).
    cap : float
        Seconds to wait at most (a writer in a long transaction, an import say, keeps the lock;
        the caller's next write then waits for SQLite's lock as usual).
    poll : float
        Seconds between two tries of the exclusive lock.
    fallback : float
        Seconds slept instead where ``fcntl`` is missing (no connection carries a mark).

    Returns
    -------
    float
        Seconds waited.
    """
    path = turn_file(database)
    if path is None:
        return 0.0
    if fcntl is None:  # pragma: no cover - Windows
        time.sleep(fallback)
        return fallback
    t0 = time.monotonic()
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                waited = time.monotonic() - t0
                if waited >= cap:
                    log.info("writers still writing after %.2f s: going on", waited)
                    return waited
                time.sleep(poll)
                continue
            fcntl.flock(fd, fcntl.LOCK_UN)
            return time.monotonic() - t0
    finally:
        os.close(fd)
