"""ui.state: the server's background import of the pages' modules."""

from __future__ import annotations

import importlib.util
import sys

from ui import state


def test_warm_up_imports_every_page_module_and_says_so(monkeypatch, caplog):
    # the list names modules that exist (a renamed module would only be logged at start)
    for name in state.PAGE_MODULES:
        assert importlib.util.find_spec(name) is not None, name
    state.WARMED.clear()
    monkeypatch.setattr(state, "PAGE_MODULES", ("fangcang.trends", "fangcang.no_such_module"))
    with caplog.at_level("WARNING", logger="ui.state"):
        state.warm_up()
    assert state.WARMED.is_set() and "fangcang.trends" in sys.modules
    assert "fangcang.no_such_module" in caplog.text
    assert state.WARM_UP_SECONDS["imports"] >= 0
