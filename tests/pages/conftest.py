import pytest
import streamlit as st


@pytest.fixture(autouse=True)
def fresh_streamlit_caches():
    """Each test gets its own database file: drop the process-wide cached connection."""
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()
