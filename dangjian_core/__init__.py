"""党建工作台 core: all logic, importable without streamlit."""

__version__ = "0.1.0"
