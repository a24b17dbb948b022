"""A button that sends the phone's position (browser Geolocation API) to the page.

Built on Streamlit's own ``st.components.v2`` (no extra package, nothing loaded from the
internet, no ``eval`` of JavaScript strings): a few lines of inline HTML and JS. On a press
the browser asks for permission, reads one position (high accuracy, 15 s time-out, no cached
fix) and hands ``{lon, lat, accuracy}`` to Python as a trigger value; a refusal or failure
comes back as ``error``. Browsers allow geolocation only in a secure context: a deployment
for phones must serve the app over HTTPS (e.g. behind the intranet's TLS reverse proxy);
``localhost`` works for development. Without a position nothing is recorded.

Chosen over the PyPI ``streamlit-js-eval`` (evaluates arbitrary JavaScript strings and links a
CDN stylesheet) and ``streamlit-geolocation`` (unmaintained since 2023, asks on page load
rather than on a button press).
"""

from __future__ import annotations

import streamlit as st

_HTML = '<button class="fc-geo" type="button"></button><div class="fc-msg"></div>'
_CSS = """
.fc-geo { width: 100%; min-height: 56px; font-size: 19px; font-weight: 600; color: #fff;
  background: #1f4e8c; border: 0; border-radius: 10px; cursor: pointer; }
.fc-geo:disabled { background: #7b8da6; }
.fc-msg { margin-top: 6px; font-size: 14px; color: #444; min-height: 1em; }
"""
_JS = """
export default function (component) {
  const { parentElement, setTriggerValue, data } = component;
  const btn = parentElement.querySelector('.fc-geo');
  const msg = parentElement.querySelector('.fc-msg');
  btn.textContent = data.label;
  btn.onclick = () => {
    if (!navigator.geolocation) { setTriggerValue('error', 'unsupported'); return; }
    btn.disabled = true;
    msg.textContent = data.locating;
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        btn.disabled = false; msg.textContent = '';
        setTriggerValue('position', {
          lon: pos.coords.longitude, lat: pos.coords.latitude,
          accuracy: pos.coords.accuracy, at: Date.now()
        });
      },
      (err) => {
        btn.disabled = false; msg.textContent = '';
        setTriggerValue('error', err && err.message ? err.message : 'code ' + (err && err.code));
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 0 }
    );
  };
}
"""

_component = st.components.v2.component("fangcang_geolocate", html=_HTML, css=_CSS, js=_JS)


def position_button(label: str, locating: str, key: str) -> tuple[dict | None, str | None]:
    """Show the button; returns ``(position, error)`` for the run the press triggered.

    ``position`` is ``{"lon", "lat", "accuracy"}`` (WGS84 degrees, metres) or None.
    """
    result = _component(
        data={"label": label, "locating": locating},
        key=key,
        on_position_change=lambda: None,
        on_error_change=lambda: None,
    )
    position = getattr(result, "position", None) if result is not None else None
    error = getattr(result, "error", None) if result is not None else None
    return position, error
