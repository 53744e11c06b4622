import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Every test runs on a pinned calendar date (the app server and CLI children inherit it), so the
# suite gives the same answer on any real date; `DANGJIAN_TODAY=2027-02-28 make test` runs it as
# of another day. See dangjian_core/clock.py.
PINNED_TODAY = "2026-11-23"
os.environ.setdefault("DANGJIAN_TODAY", PINNED_TODAY)

from dangjian_core.auth import User  # noqa: E402
from dangjian_core.db import Database  # noqa: E402

ADMIN = User("admin", "管理员", frozenset({"admin"}))
EDITOR = User("editor", "编辑", frozenset({"editor"}))
TREASURER = User("treasurer", "党费管理员", frozenset({"treasurer"}))
VIEWER = User("viewer", "查看", frozenset({"viewer"}))


@pytest.fixture
def db(tmp_path):
    d = Database(tmp_path / "t.duckdb")
    d.migrate()
    yield d
    d.close()


@pytest.fixture(scope="session")
def tiny_demo_file(tmp_path_factory):
    """The tiny demo database built once per session; `demo_db` hands each test its own copy."""
    from dangjian_core import demo

    path = tmp_path_factory.mktemp("tiny") / "tiny.duckdb"
    d = Database(path)
    d.migrate()
    demo.build_demo(d, scale="tiny")
    d.close()
    return path


@pytest.fixture
def demo_db(tmp_path, tiny_demo_file):
    """A fresh tiny demo database for this test (a copy of the session's, same content)."""
    path = tmp_path / "demo.duckdb"
    shutil.copyfile(tiny_demo_file, path)
    d = Database(path)
    d.migrate()
    yield d
    d.close()


@pytest.fixture(scope="session")
def demo_db_file(tmp_path_factory):
    """A full demo database built once per session (copied by tests that need a file)."""
    from dangjian_core import demo

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    d = Database(path)
    d.migrate()
    demo.build_demo(d, scale="demo")
    d.close()
    return path
