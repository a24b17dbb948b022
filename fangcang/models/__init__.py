"""All table models. Feature modules add their own file here and one import line below,
so that ``Base.metadata`` (and Alembic) sees every table."""

# ruff: noqa: F401, F403, I001  (re-exports; feature imports must come after core)
from .base import Base, enum_type
from .core import *

# Feature models (one line per feature module):
from .access import Permission, Role, User
from .sessions import SignInThrottle, UserSession
from .bulletins import Bulletin, BulletinCommunity, FocusWork
from .visits import (
    Discrepancy,
    DiscrepancyStatus,
    DiscrepancyType,
    MatchMethod,
    RegistryChange,
    Visit,
    VisitResident,
)
from .tasks import (
    Branch,
    Cycle,
    FeedbackResult,
    ItemState,
    Rating,
    TargetKind,
    TaskAction,
    TaskHistory,
    TaskItem,
    TaskTemplate,
    TemplateStatus,
)
from .warning import FactorCheck, WarningLevel, WarningResult, WarningRun
from .backtest import BacktestMethod, WarningBacktest
from .alcohol import *
from .mediation import *
