"""Logging, configured once per process by the entry points (app.py, serve.py, the CLI).

Every module logs to its own logger (``logging.getLogger(__name__)``); this module gives the
``fangcang`` and ``ui`` loggers one handler (standard error by default) at the level of
``FANGCANG_LOG_LEVEL`` (``fangcang.config.log_level``; default INFO). Other libraries' loggers
keep Python's defaults (warnings and errors only).

Log lines never carry personal data: the handler's formatter passes every formatted line,
tracebacks included, through ``fangcang.privacy.mask_text`` (ID numbers and phones masked) as
a safety net; code logs ids and counts, not names or values.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

from . import config
from .privacy import mask_text
from .timeutil import from_timestamp

#: The loggers configured here (module loggers are their children).
LOGGERS = ("fangcang", "ui")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_handler: logging.Handler | None = None


def _local_time(seconds: float | None) -> time.struct_time:
    return from_timestamp(time.time() if seconds is None else seconds).timetuple()


class MaskingFormatter(logging.Formatter):
    """A formatter whose output (message, arguments and traceback) is masked, with times in
    the district's zone (Asia/Shanghai, as every stored and shown time), not the server's."""

    converter = staticmethod(_local_time)

    def format(self, record: logging.LogRecord) -> str:
        return mask_text(super().format(record))


class _Stderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (as ``logging.lastResort`` does)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):  # noqa: D102
        return sys.stderr


def configure(level: str | None = None, stream: TextIO | None = None) -> logging.Handler | None:
    """Configure Fangcang's loggers once; later calls only change the level.

    Like ``logging.basicConfig``, a process whose root logger already has handlers (a host
    that configured logging itself, pytest) keeps them: records propagate there, and only the
    level is set, unless ``stream`` asks for this module's handler explicitly.

    Parameters
    ----------
    level : str, optional
        A ``logging`` level name; default ``FANGCANG_LOG_LEVEL`` (``config.log_level``).
    stream : file, optional
        Where lines go (default standard error, as it is at each line).

    Returns
    -------
    logging.Handler or None
        The one handler attached to ``LOGGERS`` (None when the host's handlers are used).

    Raises
    ------
    ValueError
        ``FANGCANG_LOG_LEVEL`` is not a level name (the message names the variable).
    """
    global _handler
    level = (level or config.log_level()).upper()
    if _handler is None and (stream is not None or not logging.getLogger().handlers):
        _handler = logging.StreamHandler(stream) if stream is not None else _Stderr()
        _handler.setFormatter(MaskingFormatter(FORMAT))
        for name in LOGGERS:
            logging.getLogger(name).addHandler(_handler)
    for name in LOGGERS:
        logging.getLogger(name).setLevel(level)
    return _handler


def reset() -> None:
    """Remove the handler and the levels (tests)."""
    global _handler
    for name in LOGGERS:
        if _handler is not None:
            logging.getLogger(name).removeHandler(_handler)
        logging.getLogger(name).setLevel(logging.NOTSET)
    _handler = None
