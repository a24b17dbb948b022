"""All table models. Feature modules add their own file here and one import line below,
so that ``Base.metadata`` (and Alembic) sees every table."""

from .base import Base, enum_type
from .core import *  # noqa: F403

# Feature models (one line per feature module):
from .access import User  # noqa: E402,F401
from .bulletins import Bulletin, BulletinCommunity, FocusWork  # noqa: E402,F401
from .visits import Discrepancy, DiscrepancyStatus, DiscrepancyType, MatchMethod, RegistryChange, Visit, VisitResident  # noqa: E402,F401,E501
from .tasks import Branch, Cycle, FeedbackResult, ItemState, Rating, TargetKind, TaskAction, TaskHistory, TaskItem, TaskTemplate, TemplateStatus  # noqa: E402,F401,E501
from .warning import WarningBacktest, WarningLevel, WarningResult, WarningRun  # noqa: E402,F401
