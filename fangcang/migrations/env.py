"""Alembic environment: runs on the engine handed over by ``fangcang.db.upgrade``."""

from alembic import context

from fangcang.db import make_engine
from fangcang.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or make_engine()
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; use `python -m fangcang db upgrade`")
run_migrations_online()
