"""Keyboard and clicker control of the presentation: the arrow keys and PageUp / PageDown
(what a presenter's clicker sends) click the page's previous / next buttons.

Streamlit has no key events, so a hidden inline frame (``st.iframe`` with an HTML string:
a same-origin ``srcdoc`` frame, nothing loaded from the network, allowed by the app's CSP,
which restricts images, fonts, media and connections but not inline scripts) adds one
``keydown`` listener to the app's document. The listener is installed once per browser tab,
in the app document's own scope (so it survives the frame being re-rendered), ignores keys
typed into inputs (the month picker) and keys with Ctrl / Alt / Meta, and does nothing on
pages without the buttons.
"""

from __future__ import annotations

import json

import streamlit as st

CONTAINER = "present_keys"
#: Key -> which button it presses.
KEYS = {"ArrowRight": "next", "PageDown": "next", "ArrowLeft": "prev", "PageUp": "prev"}

#: Runs in the app document's scope (``window`` and ``document`` are the app's).
_LISTENER = """
document.addEventListener("keydown", function (e) {
  var c = window.__fangcangPresentKeys;
  var which = c && c.keys[e.key];
  if (!which || e.ctrlKey || e.altKey || e.metaKey) return;
  var el = e.target;
  if (el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName))) return;
  var btn = document.querySelector(".st-key-" + c.buttons[which] + " button");
  if (!btn) return;
  e.preventDefault();
  if (!btn.disabled) btn.click();
}, true);
"""

_SCRIPT = """<script>
(function () {
  var app = window.parent;
  app.__fangcangPresentKeys = %(cfg)s;  // the newest button keys, read at each key press
  if (!app.document.getElementById("fangcang-present-keys")) {
    var s = app.document.createElement("script");
    s.id = "fangcang-present-keys";
    s.textContent = %(listener)s;
    app.document.head.appendChild(s);
  }
  // keys pressed while this (invisible) frame has the focus go to the app document
  document.addEventListener("keydown", function (e) {
    app.document.dispatchEvent(new KeyboardEvent("keydown", {key: e.key, bubbles: true}));
  });
})();
</script>"""


def install(prev_key: str, next_key: str) -> None:
    """Make the arrow keys / PageUp / PageDown press the buttons with Streamlit keys
    ``prev_key`` and ``next_key`` (call once per run of the page, after the buttons)."""
    cfg = json.dumps({"keys": KEYS, "buttons": {"prev": prev_key, "next": next_key}})
    # The frame is hidden (display:none frames still run their scripts): no gap in the layout.
    with st.container(key=CONTAINER):
        st.markdown(f"<style>.st-key-{CONTAINER} {{display:none}}</style>", unsafe_allow_html=True)
        st.iframe(_SCRIPT % {"cfg": cfg, "listener": json.dumps(_LISTENER)}, height=1)
