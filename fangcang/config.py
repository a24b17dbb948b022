"""One place that reads the environment.

Every setting has a default that works on a single machine with no network. Only ``app.py``
looks at ``st.secrets``; it copies what it finds into the environment before calling here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
DEFAULT_DB_PATH = DATA_DIR / "fangcang.db"
TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class Settings:
    """Run-time settings, read from ``FANGCANG_*`` environment variables."""

    db_url: str
    tile_url: str | None
    tile_attribution: str
    scoring_config: Path
    inbox_dir: Path
    reports_dir: Path
    static_dir: Path
    upload_limit_mb: int
    idle_timeout_minutes: int
    lockout_attempts: int
    workload_cap_minutes: int
    # Single sign-on (optional): which ID-token claim carries roles/groups, and a JSON object
    # mapping claim values to Fangcang roles, e.g. {"gaj-leaders": "leader"} (fangcang.auth).
    oidc_role_claim: str = "groups"
    oidc_role_map: str = ""
    # Secrets and sessions (fangcang.keys, fangcang.sessions): the master key comes from
    # FANGCANG_SECRET_KEY or a key file created on first use with owner-only permissions.
    secret_key: str = ""
    key_file: Path = DATA_DIR / "fangcang.key"
    session_hours: int = 12
    # Where the audit chain's head is anchored outside the database (one file per database).
    audit_anchor_dir: Path = DATA_DIR / "audit-anchors"
    # How long a write waits for a busy database before the user is asked to retry.
    write_wait_seconds: int = 30
    # Private folder (0700) for upload copies and other temporary files.
    temp_dir: Path = DATA_DIR / "tmp"
    # Days a partial import's rejected rows (personal data in the clear) are kept.
    rejected_keep_days: int = 14
    # The unit that issues the warning bulletins (masthead and signature); empty = derived from
    # the district's name (``issuing_unit()``).
    issuing_unit: str = ""


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _int(name: str, default: int, minimum: int = 1) -> int:
    """A whole number from ``name``; a value that is not one, or is below ``minimum``, is a
    ``ValueError`` naming the variable."""
    raw = _env(name, "").strip() or str(default)
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return value


#: Names accepted by ``FANGCANG_LOG_LEVEL`` (``logging``'s level names).
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def log_level() -> str:
    """The level of Fangcang's loggers, from ``FANGCANG_LOG_LEVEL`` (default ``INFO``).

    Raises
    ------
    ValueError
        Naming the variable when the value is not one of ``LOG_LEVELS`` (any case).
    """
    raw = _env("FANGCANG_LOG_LEVEL", "INFO").strip()
    if raw.upper() not in LOG_LEVELS:
        raise ValueError(f"FANGCANG_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {raw!r}")
    return raw.upper()


#: Sizes of the demo district a first start may build (``fangcang.demo.story.SCALES``).
DEMO_SCALES = ("small", "medium", "full")


def demo_scale() -> str:
    """The size of the demo district the server builds into an empty database on first start,
    from ``FANGCANG_DEMO_SCALE`` (default ``full``; ``small`` builds in seconds, for trials and
    tests).

    Raises
    ------
    ValueError
        Naming the variable when the value is not one of ``DEMO_SCALES``.
    """
    raw = _env("FANGCANG_DEMO_SCALE", "full").strip().lower()
    if raw not in DEMO_SCALES:
        raise ValueError(
            f"FANGCANG_DEMO_SCALE must be one of {', '.join(DEMO_SCALES)}, got {raw!r}"
        )
    return raw


def get_settings() -> Settings:
    """Read the settings from the environment (cheap; call it where needed, never cache).

    Returns
    -------
    Settings
        ``FANGCANG_DB_URL`` (default: the SQLite file ``data/fangcang.db``),
        ``FANGCANG_TILE_URL`` and ``FANGCANG_TILE_ATTRIBUTION`` (default: no tiles at all),
        ``FANGCANG_SCORING_CONFIG`` (default: ``fangcang/scoring.toml``) and the rest.
    """
    tile_url = os.environ.get("FANGCANG_TILE_URL") or None
    return Settings(
        db_url=_env("FANGCANG_DB_URL", f"sqlite:///{DEFAULT_DB_PATH}"),
        tile_url=tile_url,
        tile_attribution=_env("FANGCANG_TILE_ATTRIBUTION", ""),
        scoring_config=Path(
            _env("FANGCANG_SCORING_CONFIG", str(ROOT / "fangcang" / "scoring.toml"))
        ),
        inbox_dir=Path(_env("FANGCANG_INBOX_DIR", str(DATA_DIR / "inbox"))),
        reports_dir=Path(_env("FANGCANG_REPORTS_DIR", str(DATA_DIR / "reports"))),
        static_dir=Path(_env("FANGCANG_STATIC_DIR", str(ROOT / "static"))),
        upload_limit_mb=_int("FANGCANG_UPLOAD_LIMIT_MB", 200, minimum=1),
        idle_timeout_minutes=_int("FANGCANG_IDLE_TIMEOUT_MINUTES", 30, minimum=1),
        lockout_attempts=_int("FANGCANG_LOCKOUT_ATTEMPTS", 5, minimum=1),
        workload_cap_minutes=_int("FANGCANG_WORKLOAD_CAP_MINUTES", 600, minimum=1),
        oidc_role_claim=_env("FANGCANG_OIDC_ROLE_CLAIM", "groups"),
        oidc_role_map=_env("FANGCANG_OIDC_ROLE_MAP", ""),
        secret_key=_env("FANGCANG_SECRET_KEY", ""),
        key_file=Path(_env("FANGCANG_KEY_FILE", str(DATA_DIR / "fangcang.key"))),
        session_hours=_int("FANGCANG_SESSION_HOURS", 12, minimum=1),
        audit_anchor_dir=Path(_env("FANGCANG_AUDIT_ANCHOR_DIR", str(DATA_DIR / "audit-anchors"))),
        write_wait_seconds=_int("FANGCANG_WRITE_WAIT_SECONDS", 30, minimum=1),
        temp_dir=Path(_env("FANGCANG_TEMP_DIR", str(DATA_DIR / "tmp"))),
        rejected_keep_days=_int("FANGCANG_REJECTED_KEEP_DAYS", 14, minimum=1),
        issuing_unit=_issuing_unit(),
    )


#: Longest issuing unit accepted (a bulletin's masthead line).
ISSUING_UNIT_MAX = 40


def _issuing_unit() -> str:
    value = _env("FANGCANG_ISSUING_UNIT", "").strip()
    if len(value) > ISSUING_UNIT_MAX or any(ch in value for ch in "\r\n\t"):
        raise ValueError(
            f"FANGCANG_ISSUING_UNIT must be one line of at most {ISSUING_UNIT_MAX} characters, "
            f"got {value[:60]!r}"
        )
    return value


def issuing_unit() -> str:
    """The unit that issues the bulletins: ``FANGCANG_ISSUING_UNIT``, or by default the
    district's public-security sub-bureau (e.g. 鹿城区公安分局), never the software's name.

    Raises
    ------
    ValueError
        When ``FANGCANG_ISSUING_UNIT`` is longer than ``ISSUING_UNIT_MAX`` or spans lines.
    """
    from .i18n import t

    return _issuing_unit() or t("bulletin.issuer", "zh", district=t("app.district", "zh"))


@dataclass(frozen=True)
class ImportLimits:
    """Limits on every input file, checked before the expensive work (fangcang.importer.limits).

    They bound memory and time on any input: a file over a limit is a file-level error that
    names the limit's variable. The defaults admit the full Lucheng district (1.2 million people
    in one file) with room to spare. Environment variables (``FANGCANG_IMPORT_*``):

    - ``MAX_FILE_MB`` (2048): bytes of one CSV / XLSX / GeoJSON file.
    - ``MAX_ROWS`` (5,000,000): data rows of one file (XLSX: also its sheet's own limit).
    - ``MAX_COLUMNS`` (200): columns of one file.
    - ``MAX_CELL_CHARS`` (4000): characters in one cell (no database column holds more).
    - ``MAX_UNPACKED_MB`` (4096): bytes a zipped bundle or an XLSX unpacks to, in total.
    - ``MAX_RATIO`` (100): unpacked / packed bytes of one zip or XLSX member (zip bombs).
    - ``MAX_ZIP_MEMBERS`` (200): entries in a zipped bundle or an XLSX.
    - ``MAX_ERRORS_PER_FILE`` (1000) and ``MAX_ERRORS`` (5000): errors listed per file and in
      total; the rest are counted ("N more errors in people.csv not listed").
    - ``MAX_JSON_DEPTH`` (32): nesting of a GeoJSON document.
    - ``FUTURE_TOLERANCE_MINUTES`` (1440): how far past now a time (``updated_at``, an
      incident time, a birth or visit date) may lie: a day covers clock skew and a UTC/local
      mix-up at the source (8 hours), never a typo in the year.
    - ``EXCHANGE_MAX_ROWS`` (50,000): rows of a mobile-terminal feedback file.
    - ``VISITS_MAX_ROWS`` (500,000): rows of a visits.csv file.
    """

    max_file_bytes: int
    max_rows: int
    max_columns: int
    max_cell_chars: int
    max_unpacked_bytes: int
    max_ratio: int
    max_zip_members: int
    max_errors_per_file: int
    max_errors: int
    max_json_depth: int
    future_tolerance: timedelta
    exchange_max_rows: int
    visits_max_rows: int


def get_import_limits() -> ImportLimits:
    """Read the input limits from the environment (see ``ImportLimits``; cheap, never cached).

    Raises
    ------
    ValueError
        Naming the variable whose value is not a whole number or is below its minimum.
    """
    mb = 1024 * 1024
    return ImportLimits(
        max_file_bytes=_int("FANGCANG_IMPORT_MAX_FILE_MB", 2048) * mb,
        max_rows=_int("FANGCANG_IMPORT_MAX_ROWS", 5_000_000),
        max_columns=_int("FANGCANG_IMPORT_MAX_COLUMNS", 200),
        max_cell_chars=_int("FANGCANG_IMPORT_MAX_CELL_CHARS", 4000),
        max_unpacked_bytes=_int("FANGCANG_IMPORT_MAX_UNPACKED_MB", 4096) * mb,
        max_ratio=_int("FANGCANG_IMPORT_MAX_RATIO", 100),
        max_zip_members=_int("FANGCANG_IMPORT_MAX_ZIP_MEMBERS", 200),
        max_errors_per_file=_int("FANGCANG_IMPORT_MAX_ERRORS_PER_FILE", 1000),
        max_errors=_int("FANGCANG_IMPORT_MAX_ERRORS", 5000),
        max_json_depth=_int("FANGCANG_IMPORT_MAX_JSON_DEPTH", 32, minimum=8),
        future_tolerance=timedelta(
            minutes=_int("FANGCANG_IMPORT_FUTURE_TOLERANCE_MINUTES", 1440, minimum=0)
        ),
        exchange_max_rows=_int("FANGCANG_EXCHANGE_MAX_ROWS", 50_000),
        visits_max_rows=_int("FANGCANG_VISITS_MAX_ROWS", 500_000),
    )
