import fcntl
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
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


def built_once(tmp_path_factory, name: str, build) -> Path:
    """The file `name`, made by `build(path)` once for the whole run: under pytest-xdist
    (`make test` runs `-n 2`) the workers share one folder, the first one builds the file
    under a lock, the others wait for it and reuse it. Tests only ever read it (or copy it)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, above each worker's own
    path = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            part = root / f"{name}.part"
            build(part)
            part.rename(path)
    return path


# The demo users' password as a bcrypt hash of cost 4 instead of the product's 12 (see
# `_build_demo`): the same password, the same bcrypt check, 1 ms instead of 240 ms per login.
# New passwords are still hashed at cost 12 by the product (test_auth checks that cost).
CHEAP_DEMO_HASH = "$2b$04$iLXt2yIh0kRY4jEk2EsgE.ZjZORVcke0fM9FvxsvNFqEQkiAl/Qie"


def _build_demo(scale: str):
    def build(path: Path) -> None:
        from dangjian_core import auth, demo

        d = Database(path)
        d.migrate()
        demo.build_demo(d, scale=scale)
        # The suite logs the demo users in a few hundred times (every AppTest page test, every
        # browser test): the shared demo files carry their password hashed at bcrypt cost 4
        # (about 1 ms to check instead of 240 ms). Login code, password and answers are the
        # product's own; only the stored hash is cheaper. Production's cost is untouched.
        assert auth.verify_password(demo.DEMO_PASSWORD, CHEAP_DEMO_HASH)
        with d.write() as cur:
            cur.execute("UPDATE users SET password_hash = ? WHERE password_hash = ?", [CHEAP_DEMO_HASH, demo.DEMO_HASH])
        d.close()
        assert not Path(f"{path}.wal").exists(), "closed cleanly: the file alone is the database"
    return build


@pytest.fixture(scope="session")
def tiny_demo_file(tmp_path_factory):
    """The tiny demo database built once per run; `demo_db` hands each test its own copy."""
    return built_once(tmp_path_factory, "tiny.duckdb", _build_demo("tiny"))


@contextmanager
def copy_of(src: Path, path: Path) -> Iterator[Database]:
    """A migrated Database on a copy of the file `src` made at `path`, closed afterwards: a test
    (or a module's fixture) may write to it without touching the shared demo file."""
    shutil.copyfile(src, path)
    d = Database(path)
    d.migrate()
    try:
        yield d
    finally:
        d.close()


@pytest.fixture
def demo_db(tmp_path, tiny_demo_file):
    """A fresh tiny demo database for this test (a copy of the session's, same content)."""
    with copy_of(tiny_demo_file, tmp_path / "demo.duckdb") as d:
        yield d


@pytest.fixture(scope="session")
def demo_db_file(tmp_path_factory):
    """A full demo database built once per run (copied by tests that need a file)."""
    return built_once(tmp_path_factory, "demo.duckdb", _build_demo("demo"))


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (`make test`: whole files to two workers, in this order) the browser
    files, the longest, are handed out first, so no long file starts while the other worker
    is running out of work. A plain `pytest` keeps the usual order."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=lambda item: not item.nodeid.startswith("tests/e2e/"))
