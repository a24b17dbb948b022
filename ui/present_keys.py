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
(function () {
  // Presses that arrive while the page reruns are queued (pending: +1 next, -1 previous) and
  // applied one at a time, each after the rerun of the one before has drawn its slide.
  function pump() {
    var c = window.__fangcangPresentKeys;
    if (!c || c.busy || !c.pending) return;
    var which = c.pending > 0 ? "next" : "prev";
    var btn = document.querySelector(".st-key-" + c.buttons[which] + " button");
    if (!btn || btn.disabled) { c.pending = 0; return; }  // first / last slide: drop the rest
    c.pending += c.pending > 0 ? -1 : 1;
    c.busy = true;
    c.busyFrom = c.slide;
    c.busySince = Date.now();
    btn.click();
  }
  window.__fangcangPresentPump = pump;
  document.addEventListener("keydown", function (e) {
    var c = window.__fangcangPresentKeys;
    var which = c && c.keys[e.key];
    if (!which || e.ctrlKey || e.altKey || e.metaKey) return;
    var el = e.target;
    if (el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName))) return;
    if (!document.querySelector(".st-key-" + c.buttons[which] + " button")) return;
    e.preventDefault();
    if (c.busy && Date.now() - c.busySince > 10000) c.busy = false;  // a rerun that never came
    c.pending = (c.pending || 0) + (which === "next" ? 1 : -1);
    pump();
  }, true);
})();
"""

_SCRIPT = """<script>
(function () {
  var app = window.parent;
  var cfg = %(cfg)s;  // the newest button keys and slide, read at each key press
  var old = app.__fangcangPresentKeys || {};
  cfg.pending = old.pending || 0;
  // the slide a queued press waited for has been drawn: the next queued press may go
  cfg.busy = !!old.busy && old.busyFrom === cfg.slide;
  cfg.busyFrom = old.busyFrom;
  cfg.busySince = old.busySince || 0;
  app.__fangcangPresentKeys = cfg;
  if (!app.document.getElementById("fangcang-present-keys")) {
    var s = app.document.createElement("script");
    s.id = "fangcang-present-keys";
    s.textContent = %(listener)s;
    app.document.head.appendChild(s);
  }
  if (app.__fangcangPresentPump) app.__fangcangPresentPump();
  // keys pressed while this (invisible) frame has the focus go to the app document
  document.addEventListener("keydown", function (e) {
    app.document.dispatchEvent(new KeyboardEvent("keydown", {key: e.key, bubbles: true}));
  });
})();
</script>"""


def install(prev_key: str, next_key: str, slide: int) -> None:
    """Make the arrow keys / PageUp / PageDown press the buttons with Streamlit keys
    ``prev_key`` and ``next_key`` (call once per run of the page, after the buttons).

    ``slide`` is the slide drawn by this run: presses that arrive during a rerun are queued and
    each is applied once the slide of the one before has been drawn (none is lost)."""
    cfg = json.dumps(
        {"keys": KEYS, "buttons": {"prev": prev_key, "next": next_key}, "slide": int(slide)}
    )
    # The frame is hidden (display:none frames still run their scripts): no gap in the layout.
    with st.container(key=CONTAINER):
        st.markdown(f"<style>.st-key-{CONTAINER} {{display:none}}</style>", unsafe_allow_html=True)
        st.iframe(_SCRIPT % {"cfg": cfg, "listener": json.dumps(_LISTENER)}, height=1)
