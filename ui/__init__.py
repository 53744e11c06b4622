"""Shared Streamlit widgets for the pages (session, login, table editor, messages).

Pages stay thin: they lay out widgets and call these helpers and the core. Nothing here
decides a rule or builds SQL; that is dangjian_core's job.
"""
