"""One place that reads the environment.

Every setting has a default that works on a single machine with no network. Only ``app.py``
looks at ``st.secrets``; it copies what it finds into the environment before calling here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
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


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


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
        upload_limit_mb=int(_env("FANGCANG_UPLOAD_LIMIT_MB", "200")),
        idle_timeout_minutes=int(_env("FANGCANG_IDLE_TIMEOUT_MINUTES", "30")),
        lockout_attempts=int(_env("FANGCANG_LOCKOUT_ATTEMPTS", "5")),
        workload_cap_minutes=int(_env("FANGCANG_WORKLOAD_CAP_MINUTES", "600")),
        oidc_role_claim=_env("FANGCANG_OIDC_ROLE_CLAIM", "groups"),
        oidc_role_map=_env("FANGCANG_OIDC_ROLE_MAP", ""),
    )
