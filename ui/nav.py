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
    ),
    PageSpec(
        "map", "pages/map.py", "nav.map", ":material/map:", READERS, group="nav.group.dashboard"
    ),
    PageSpec(
        "warning",
        "pages/warning.py",
        "nav.warning",
        ":material/warning:",
        READERS,
        group="nav.group.dashboard",
    ),
    PageSpec(
        "community",
        "pages/community.py",
        "nav.community",
        ":material/holiday_village:",
        READERS,
        group="nav.group.dashboard",
    ),
    PageSpec(
        "trends",
        "pages/trends.py",
        "nav.trends",
        ":material/monitoring:",
        READERS,
        group="nav.group.dashboard",
    ),
    PageSpec(
        "present",
        "pages/present.py",
        "nav.present",
        ":material/slideshow:",
        READERS,
        group="nav.group.dashboard",
    ),
    PageSpec(
        "bulletins",
        "pages/bulletins.py",
        "nav.bulletins",
        ":material/campaign:",
        frozenset({Role.LEADER, Role.DISPATCHER, Role.STATION, Role.ADMIN}),
        group="nav.group.warning",
    ),
    PageSpec(
        "effect",
        "pages/effect.py",
        "nav.effect",
        ":material/trending_down:",
        frozenset({Role.LEADER, Role.DISPATCHER, Role.STATION, Role.ADMIN}),
        group="nav.group.warning",
    ),
    # Alcohol-related incidents and police-lawyer mediation (issue 15); the phone check-in.
    PageSpec(
        "alcohol",
        "pages/alcohol.py",
        "nav.alcohol",
        ":material/local_bar:",
        READERS,
        group="nav.group.warning",
    ),
    PageSpec(
        "mediation",
        "pages/mediation.py",
        "nav.mediation",
        ":material/gavel:",
        READERS,
        group="nav.group.warning",
    ),
    PageSpec(
        "checkin",
        "pages/checkin.py",
        "nav.checkin",
        ":material/where_to_vote:",
        frozenset({Role.OFFICER}),
        group="nav.group.tasks",
    ),
    PageSpec(
        "visits",
        "pages/visits.py",
        "nav.visits",
        ":material/door_front:",
        frozenset({Role.OFFICER, Role.STATION, Role.DISPATCHER, Role.LEADER, Role.ADMIN}),
        group="nav.group.tasks",
    ),
    PageSpec(
        "my_tasks",
        "pages/my_tasks.py",
        "nav.my_tasks",
        ":material/inbox:",
        frozenset({Role.OFFICER}),
        group="nav.group.tasks",
    ),
    PageSpec(
        "task_dispatch",
        "pages/task_dispatch.py",
        "nav.task_dispatch",
        ":material/send:",
        frozenset({Role.DISPATCHER}),
        group="nav.group.tasks",
    ),
    PageSpec(
        "task_evaluate",
        "pages/task_evaluate.py",
        "nav.task_evaluate",
        ":material/grading:",
        frozenset({Role.DISPATCHER, Role.STATION}),
        group="nav.group.tasks",
    ),
    PageSpec(
        "task_progress",
        "pages/task_progress.py",
        "nav.task_progress",
        ":material/fact_check:",
        ALL,
        group="nav.group.tasks",
    ),
    PageSpec(
        "task_admission",
        "pages/task_admission.py",
        "nav.task_admission",
        ":material/rule:",
        frozenset({Role.BRANCH, Role.DISPATCHER}),
        group="nav.group.tasks",
    ),
    PageSpec(
        "data_hub",
        "pages/data_hub.py",
        "nav.data_hub",
        ":material/database:",
        frozenset({Role.LEADER, Role.ADMIN}),
        group="nav.group.admin",
    ),
    PageSpec(
        "admin",
        "pages/admin.py",
        "nav.admin",
        ":material/admin_panel_settings:",
        frozenset({Role.ADMIN}),
        group="nav.group.admin",
    ),
]


def spec(page_id: str) -> PageSpec:
    for p in PAGES:
        if p.id == page_id:
            return p
    raise KeyError(f"no page {page_id!r} in ui.nav.PAGES")


def allowed(role: Role) -> list[PageSpec]:
    return [p for p in PAGES if role in p.roles]


# ---------------------------------------------------------------------------------------------
# Phones: the sidebar closes after choosing a page
# ---------------------------------------------------------------------------------------------
#: Below this window width Streamlit lays the sidebar over the page (its "md" breakpoint).
PHONE_MAX_WIDTH = 768

_CLOSE_ON_NAVIGATE_JS = """
export default function(component) {
  const phoneMax = component.data.phone_max_width;
  if (window.__fangcangPhoneNav) return;
  window.__fangcangPhoneNav = true;
  document.addEventListener("click", (event) => {
    if (!event.target.closest('[data-testid="stSidebarNav"] a')) return;
    if (window.innerWidth >= phoneMax) return;
    // After Streamlit has handled the click: close the sidebar if it is still open (Streamlit
    // closes it itself only for user agents it recognises as mobile).
    setTimeout(() => {
      const bar = document.querySelector('[data-testid="stSidebar"]');
      if (bar && bar.getAttribute("data-collapsed") === "false") {
        const close = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
        if (close) close.click();
      }
    }, 60);
  }, true);
}
"""


def phone_sidebar() -> None:
    """Close the sidebar after a page is chosen on a narrow (phone) screen.

    Streamlit closes it only when the browser's user agent says "mobile"; police phones and
    terminals with other user agents keep the menu over the page. A tiny inline component
    (``st.components.v2``: JavaScript in the app page, no iframe, no network) adds one click
    listener per browser tab. Call once per run, in the sidebar (it draws nothing).
    """
    import streamlit as st

    global _close_on_navigate
    if _close_on_navigate is None:
        _close_on_navigate = st.components.v2.component(
            "fangcang_phone_nav", js=_CLOSE_ON_NAVIGATE_JS, isolate_styles=False
        )
    with st.sidebar:
        _close_on_navigate(key="fangcang_phone_nav", data={"phone_max_width": PHONE_MAX_WIDTH})


_close_on_navigate = None
