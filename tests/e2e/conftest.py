import shutil

import pytest

from tests.e2e.helpers import SHOTS, browser, start_app


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test leaves a screenshot of every page still open (FAILED-<test>-<n>.png)."""
    report = yield
    b = item.funcargs.get("chromium") if hasattr(item, "funcargs") else None
    if report.failed and call.when == "call" and b is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        pages = [p for ctx in b.contexts for p in ctx.pages]
        for i, page in enumerate(pages):
            try:
                page.screenshot(path=str(SHOTS / f"FAILED-{item.name}-{i}.png"), full_page=True)
            except Exception:  # noqa: BLE001 — a crashed page has no picture; the failure stands
                pass
    return report


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
