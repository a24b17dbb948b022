"""Fangcang (基础数字方舱): the core of the community-policing dashboard.

This package never imports streamlit: pages call into it with a SQLAlchemy session or engine.
"""

__version__ = "0.1.0"
