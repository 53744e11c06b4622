import shutil

import pytest

from tests.e2e.helpers import browser, start_app


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="module")
def app(tmp_path_factory, demo_db_file):
    """The app started the README's way (streamlit run app.py) on a copy of the demo data."""
    d = tmp_path_factory.mktemp("app")
    db = d / "app.duckdb"
    shutil.copyfile(demo_db_file, db)
    a = start_app(db)
    yield a
    a.stop()


@pytest.fixture(scope="module")
def chromium():
    with browser() as b:
        yield b
