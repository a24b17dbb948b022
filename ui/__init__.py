"""Streamlit glue shared by app.py and the pages: engine, language, guard, navigation.

The only place besides app.py and pages/ that imports streamlit. fangcang/ never does.
"""
