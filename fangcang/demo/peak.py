"""Peak resident memory (RSS) of this process and its child processes per phase of a build,
sampled by a thread.

``resource.getrusage`` only gives the peak of the whole process so far; the demo build wants
to know which phase (generate, import, each extension) sets it. A daemon thread reads the
current RSS (``/proc/self/statm`` on Linux) every ``interval`` seconds and keeps the highest
value seen since the current phase began. The RSS of the process's children (a first load's
worker processes, ``fangcang.importer.first``) is added in: what the build holds on the
machine at that moment. Where ``/proc`` is missing the process peak so far (``ru_maxrss``) is
used instead, so the figures are upper bounds there (and children are not seen).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import os
import resource
import sys
import threading
from contextlib import contextmanager

log = logging.getLogger(__name__)

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _children(pid: int | str) -> list[str]:
    """Child process ids of ``pid`` (Linux ``/proc/PID/task/*/children``)."""
    out: list[str] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", "rb") as f:
                out.extend(f.read().decode().split())
        except OSError:  # the thread ended meanwhile
            continue
    return out


def _statm_mb(pid: int | str) -> float:
    with open(f"/proc/{pid}/statm", "rb") as f:
        return int(f.read().split()[1]) * _PAGE / 2**20


def current_rss_mb(children: bool = False) -> float:
    """Resident memory of this process now, in MiB (the peak so far where /proc is missing);
    ``children``: plus that of its child processes, theirs included."""
    try:
        mb = _statm_mb("self")
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 1024
    if children:
        todo = _children(os.getpid())
        while todo:
            pid = todo.pop()
            try:
                mb += _statm_mb(pid)
            except OSError:  # ended meanwhile
                continue
            todo.extend(_children(pid))
    return mb


def _libc_trim():
    """glibc's ``malloc_trim`` (None elsewhere: musl, macOS, Windows)."""
    name = ctypes.util.find_library("c")
    if not name or not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        log.info("no malloc_trim in %s: freed memory stays with the process", name)
        return None


_TRIM = _libc_trim()


def release_memory() -> None:
    """Give memory freed by a finished build phase back to the operating system.

    CPython, NumPy and Arrow free into their allocators, which keep the pages: after the
    demo's generation 509 MiB stayed resident with 216 MiB in use (full size), and every later
    phase's peak stood on top of it. This collects garbage, returns Arrow's unused pool and
    calls glibc's ``malloc_trim(0)`` (``man 3 malloc_trim``) where there is one.
    """
    import pyarrow as pa  # here: the sampler itself needs no Arrow

    gc.collect()
    pa.default_memory_pool().release_unused()
    if _TRIM is not None:
        _TRIM(0)


class PeakRSS:
    """Sample RSS in the background and record each phase's peak (MiB).

    Usage::

        with PeakRSS() as rss:
            with rss.phase("generate"):
                ...
        rss.peaks  # {"generate": 812.4, ...}

    Phases may nest (an extension inside ``extensions``): a sample counts for every phase
    open at the time.
    """

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peaks: dict[str, float] = {}
        self._open: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sample(self) -> None:
        """Take one sample now (also called at each phase's start and end)."""
        mb = current_rss_mb(children=True)
        with self._lock:
            for name in self._open:
                if mb > self.peaks.get(name, 0.0):
                    self.peaks[name] = mb

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> PeakRSS:
        self._thread = threading.Thread(target=self._run, name="peak-rss", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    @contextmanager
    def phase(self, name: str):
        """Record the peak RSS while the block runs under ``name``."""
        with self._lock:
            self._open.append(name)
            self.peaks.setdefault(name, 0.0)
        self.sample()
        try:
            yield
        finally:
            self.sample()
            with self._lock:
                self._open.remove(name)

    def rounded(self) -> dict[str, int]:
        """The peaks in whole MiB, in the order the phases began."""
        return {k: round(v) for k, v in self.peaks.items()}
