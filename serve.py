"""Production entry point: ``python -m streamlit run serve.py`` (what ``make run`` does).

The dashboard is app.py; this file adds the two small HTTP routes that set and clear the
HttpOnly sign-in cookie (``ui.session_routes``), so sign-in survives reloads and new tabs, and
reports script errors as plain messages with a reference number (``ui.errors``).
``streamlit run app.py`` still works, without persistent sign-in (see docs/access.md).
"""

import streamlit as st

from ui.errors import on_script_error
from ui.session_routes import routes

app = st.App("app.py", routes=routes(), on_script_error=on_script_error)
