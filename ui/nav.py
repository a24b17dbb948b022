"""The page registry: which pages exist, their titles and which roles may open them.

Adding a page is adding one ``PageSpec`` here (and its file in pages/).
"""

from __future__ import annotations

from dataclasses import dataclass

from fangcang.access import Role

ALL = frozenset(Role)
READERS = frozenset({Role.LEADER, Role.DISPATCHER, Role.STATION, Role.OFFICER, Role.ADMIN})


@dataclass(frozen=True)
class PageSpec:
    id: str  # url path, e.g. "map"
    file: str  # path relative to the repository root
    title_key: str  # i18n key
    icon: str
    roles: frozenset[Role]
    group: str = "nav.group.main"  # i18n key of the section
    default: bool = False


PAGES: list[PageSpec] = [
    # Feature pages add one line each.
    PageSpec(
        "overview",
        "pages/overview.py",
        "nav.overview",
        ":material/dashboard:",
        READERS,
        group="nav.group.dashboard",
        default=True,
    ),  # noqa: E501
    PageSpec(
        "map", "pages/map.py", "nav.map", ":material/map:", READERS, group="nav.group.dashboard"
    ),  # noqa: E501
    PageSpec(
        "warning",
        "pages/warning.py",
        "nav.warning",
        ":material/warning:",
        READERS,
        group="nav.group.dashboard",
    ),  # noqa: E501
    PageSpec(
        "community",
        "pages/community.py",
        "nav.community",
        ":material/holiday_village:",
        READERS,
        group="nav.group.dashboard",
    ),  # noqa: E501
    PageSpec(
        "trends",
        "pages/trends.py",
        "nav.trends",
        ":material/monitoring:",
        READERS,
        group="nav.group.dashboard",
    ),  # noqa: E501
    PageSpec(
        "present",
        "pages/present.py",
        "nav.present",
        ":material/slideshow:",
        READERS,
        group="nav.group.dashboard",
    ),  # noqa: E501
    PageSpec(
        "bulletins",
        "pages/bulletins.py",
        "nav.bulletins",
        ":material/campaign:",
        frozenset({Role.LEADER, Role.DISPATCHER, Role.STATION, Role.ADMIN}),
    ),  # noqa: E501
    PageSpec(
        "effect",
        "pages/effect.py",
        "nav.effect",
        ":material/trending_down:",
        frozenset({Role.LEADER, Role.DISPATCHER, Role.STATION, Role.ADMIN}),
    ),  # noqa: E501
    PageSpec(
        "visits",
        "pages/visits.py",
        "nav.visits",
        ":material/door_front:",
        frozenset({Role.OFFICER, Role.STATION, Role.DISPATCHER, Role.LEADER, Role.ADMIN}),
        group="nav.group.tasks",
    ),  # noqa: E501
    PageSpec(
        "my_tasks",
        "pages/my_tasks.py",
        "nav.my_tasks",
        ":material/inbox:",
        frozenset({Role.OFFICER}),
        group="nav.group.tasks",
    ),  # noqa: E501
    PageSpec(
        "task_dispatch",
        "pages/task_dispatch.py",
        "nav.task_dispatch",
        ":material/send:",
        frozenset({Role.DISPATCHER}),
        group="nav.group.tasks",
    ),  # noqa: E501
    PageSpec(
        "task_evaluate",
        "pages/task_evaluate.py",
        "nav.task_evaluate",
        ":material/grading:",
        frozenset({Role.DISPATCHER, Role.STATION}),
        group="nav.group.tasks",
    ),  # noqa: E501
    PageSpec(
        "task_progress",
        "pages/task_progress.py",
        "nav.task_progress",
        ":material/fact_check:",
        ALL,
        group="nav.group.tasks",
    ),  # noqa: E501
    PageSpec(
        "task_admission",
        "pages/task_admission.py",
        "nav.task_admission",
        ":material/rule:",
        frozenset({Role.BRANCH, Role.DISPATCHER}),
        group="nav.group.tasks",
    ),  # noqa: E501
    PageSpec(
        "data_hub",
        "pages/data_hub.py",
        "nav.data_hub",
        ":material/database:",
        frozenset({Role.LEADER, Role.ADMIN}),
        group="nav.group.admin",
    ),  # noqa: E501
    PageSpec(
        "admin",
        "pages/admin.py",
        "nav.admin",
        ":material/admin_panel_settings:",
        frozenset({Role.ADMIN}),
        group="nav.group.admin",
    ),  # noqa: E501
]


def spec(page_id: str) -> PageSpec:
    for p in PAGES:
        if p.id == page_id:
            return p
    raise KeyError(f"no page {page_id!r} in ui.nav.PAGES")


def allowed(role: Role) -> list[PageSpec]:
    return [p for p in PAGES if role in p.roles]
