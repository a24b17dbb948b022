"""View models: what each dashboard page shows, computed from the core (no Streamlit here).

- ``shared``: the period a page opens on and the months to choose, warning results as pages
  read them, task and visit measures per community (overview, map, community, warning).
- ``overview``: the overview page (总览).
- ``warning``: the warning page (预警).
- ``present``: the presentation page (汇报).

The trends and community pages have their view models in ``fangcang.trends`` and
``fangcang.community``; docs/architecture.md has the table of capability -> module -> page.
"""
