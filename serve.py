"""Production entry point: ``python -m streamlit run serve.py`` (what ``make run`` does).

The dashboard is app.py; this file adds the two small HTTP routes that set and clear the
HttpOnly sign-in cookie (``ui.session_routes``), so sign-in survives reloads and new tabs,
sends a Content-Security-Policy that keeps the browser from fetching anything from other hosts,
and reports script errors as plain messages with a reference number (``ui.errors``).
``streamlit run app.py`` still works, without persistent sign-in (see docs/access.md).
"""

import streamlit as st
from starlette.middleware import Middleware

from fangcang import logsetup
from ui.errors import on_script_error
from ui.session_routes import SecurityHeaders, routes

logsetup.configure()  # the server's loggers (sign-in routes); app.py's call then changes nothing
app = st.App(
    "app.py",
    routes=routes(),
    middleware=[Middleware(SecurityHeaders)],
    on_script_error=on_script_error,
)
