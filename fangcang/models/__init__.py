"""All table models. Feature modules add their own file here and one import line below,
so that ``Base.metadata`` (and Alembic) sees every table."""

from .base import Base, enum_type
from .core import *  # noqa: F403

# Feature models (one line per feature module):
