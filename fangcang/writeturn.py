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

A statement counts as writing unless it is a known read (``writes``), so a statement that
waits for the lock in an unexpected form (``PRAGMA wal_checkpoint(TRUNCATE)`` after an import,
``PRAGMA user_version = 3``) is marked too. The turn file is named after the file SQLite opened
(``PRAGMA database_list``: links resolved), and is created with the database file's
permissions. Where it cannot be opened the connection writes unmarked (logged once) and
``yield_to_writers`` leaves a ``fallback`` gap, as it does where ``fcntl`` is missing
(Windows).

Limits: a transaction is over when the connection says so (``in_transaction``): with Python
3.12's ``autocommit=False`` that is never, and the mark would stay (``make_engine`` does not
use it). Writers from outside the project (the ``sqlite3`` shell) are not marked: the demo
fill may keep them waiting up to their busy timeout.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sqlite3
import time
import urllib.parse

try:  # POSIX only
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

#: Suffix of the turn file beside the database file.
SUFFIX = "-writers"

#: Statements that never wait for SQLite's write lock (first keyword). Every other statement
#: is taken to write (over-marking costs nothing outside a transaction: the mark drops as the
#: statement ends). ``WITH`` reads unless its body modifies; ``PRAGMA`` reads unless it sets a
#: value or runs a checkpoint other than PASSIVE, ``incremental_vacuum`` or ``optimize``.
_READ_WORDS = frozenset(
    {"SELECT", "VALUES", "EXPLAIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"}
    | {"ATTACH", "DETACH"}
)
_COMMENTS = re.compile(r"--[^\n]*(?:\n|$)|/\*.*?(?:\*/|$)", re.S)
_WORDS = re.compile(r"[A-Za-z_]+")
_DML = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b", re.I)
_PRAGMA_WRITES = re.compile(
    r"=|\b(incremental_vacuum|optimize)\b|wal_checkpoint\s*\(\s*(?!passive\b)\w", re.I
)


@functools.lru_cache(maxsize=4096)
def writes(sql: str) -> bool:
    """Whether the statement ``sql`` may wait for SQLite's write lock.

    Everything except the known reads: ``SELECT``, ``VALUES``, ``EXPLAIN``, a ``WITH`` whose
    body does not modify, a ``PRAGMA`` that sets nothing (a PASSIVE checkpoint included), a
    deferred ``BEGIN``, ``COMMIT``/``END``/``ROLLBACK``, ``SAVEPOINT``/``RELEASE``,
    ``ATTACH``/``DETACH``. Comments are ignored.
    """
    text = _COMMENTS.sub(" ", sql)
    words = _WORDS.findall(text[:200])
    if not words:
        return False
    first = words[0].upper()
    if first == "BEGIN":
        return len(words) > 1 and words[1].upper() in ("IMMEDIATE", "EXCLUSIVE")
    if first == "WITH":
        return _DML.search(text) is not None
    if first == "PRAGMA":
        return _PRAGMA_WRITES.search(text) is not None
    return first not in _READ_WORDS


def turn_file(database: str | bytes | os.PathLike | None) -> str | None:
    """The turn file of the SQLite database file ``database`` (a path, symbolic links
    resolved as SQLite resolves them, or a ``file:`` URI), or None for an in-memory or
    temporary database."""
    if database is None:
        return None
    name = os.fsdecode(database)
    if name.startswith("file:"):
        path, _, query = name[5:].partition("?")
        if "mode=memory" in query:
            return None
        name = urllib.parse.unquote(path)
        if name.startswith("//"):  # file://host/path: the host part (empty or localhost)
            name = "/" + name[2:].partition("/")[2]
    if name in ("", ":memory:"):
        return None
    return os.path.realpath(name) + SUFFIX


_warned: set[str] = set()


def _open(path: str, database: str | None = None) -> int | None:
    """A descriptor on the turn file ``path`` (created with the database file's permissions:
    every account that may write the database may mark), or None when it cannot be opened:
    the connection then carries no mark (logged once per file)."""
    mode = 0o600
    if database:
        try:
            mode = os.stat(database).st_mode & 0o666
        except OSError:
            pass
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, mode)
    except PermissionError:
        try:
            fd = os.open(path, os.O_RDONLY)  # flock works on a read-only descriptor too
        except OSError as exc:
            return _unusable(path, exc)
    except OSError as exc:
        return _unusable(path, exc)
    if mode != 0o600:
        try:
            os.fchmod(fd, mode)  # despite the umask
        except OSError:  # not the owner: the file keeps what its creator gave it
            pass
    return fd


def _unusable(path: str, exc: OSError) -> None:
    if path not in _warned:
        _warned.add(path)
        log.warning("writers' turn file %s unusable (%s): writes here are not marked", path, exc)
    return None


class _Mark:
    """A connection's shared lock on the turn file, held while it writes."""

    __slots__ = ("path", "database", "fd", "held")

    def __init__(self, database: str | None) -> None:
        self.database = database
        self.path = turn_file(database) if fcntl is not None else None
        self.fd: int | None = None
        self.held = False

    def take(self, sql: str) -> None:
        if self.held or self.path is None or not writes(sql):
            return
        if self.fd is None:
            self.fd = _open(self.path, self.database)
            if self.fd is None:
                self.path = None
                return
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

    def __del__(self) -> None:  # a connection dropped without close(): the pool's discards
        if self.fd is not None:
            try:
                os.close(self.fd)  # closing the file releases its lock
            except OSError:
                pass


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
        conn._turn.take("INSERT")  # a script: taken to write
        try:
            return super().executescript(sql_script)
        finally:
            conn._settle()


class TurnConnection(sqlite3.Connection):
    """A ``sqlite3.Connection`` that holds a shared lock on its database's turn file from its
    first writing statement until its transaction ends (``yield_to_writers`` waits for it).
    Pass it as ``factory`` to ``sqlite3.connect``."""

    def __init__(self, database, *args, **kwargs) -> None:
        super().__init__(database, *args, **kwargs)
        # The file as SQLite opened it (links resolved, URIs decoded): every connection and
        # ``yield_to_writers(database_path(conn))`` then name the same turn file.
        self._turn = _Mark(_main_file(self))

    def __exit__(self, *exc):
        try:
            return super().__exit__(*exc)  # commits or rolls back in C, not through commit()
        finally:
            self._settle()

    @property
    def isolation_level(self):
        return sqlite3.Connection.isolation_level.__get__(self)

    @isolation_level.setter
    def isolation_level(self, value) -> None:
        sqlite3.Connection.isolation_level.__set__(self, value)  # None commits an open one
        self._settle()

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
    """The main database file of the ``sqlite3`` connection ``conn`` as SQLite opened it
    (None when in memory or temporary). A ``TurnConnection`` read it once, when it opened."""
    if isinstance(conn, TurnConnection):
        return conn._turn.database
    return _main_file(conn)


def _main_file(conn: sqlite3.Connection) -> str | None:
    rows = sqlite3.Connection.execute(conn, "PRAGMA database_list").fetchall()
    for _seq, name, path in rows:
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
    fd = _open(path, os.fsdecode(database))
    if fd is None:  # no turn file here: writers are not marked, leave a gap instead
        time.sleep(fallback)
        return fallback
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
