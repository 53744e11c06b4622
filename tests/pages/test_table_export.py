"""导出 Excel of the table editor (ui.table_editor.export_button): the file is built on click,
once per database, data generation and visible columns — never another database's file, even
one whose generation is the same, and a write gives a new file."""

from __future__ import annotations

import pytest

from dangjian_core import fileio, tables, uow
from dangjian_core.db import Database
from tests.conftest import EDITOR
from ui import table_editor

ORGS = tables.get_spec("orgs")


@pytest.fixture
def builds(monkeypatch):
    """export_button's on-click builder (what st.download_button would call), and a count of
    the files actually written."""
    made: list[int] = []
    real = fileio.xlsx_bytes

    def counting(*a, **k):
        made.append(1)
        return real(*a, **k)

    monkeypatch.setattr(fileio, "xlsx_bytes", counting)

    def builder(db, user=EDITOR, spec=ORGS):
        got = {}
        monkeypatch.setattr(table_editor.st, "download_button", lambda label, data, **kw: got.setdefault("b", data))
        table_editor.export_button(db, user, spec, key="t")
        return got["b"]

    builder.made = made
    return builder


def _names(data: bytes) -> list[str]:
    return fileio.read_frame(data=data, name="导出.xlsx").df["名称"].to_list()


def test_each_database_gets_its_own_file_at_the_same_generation(builds, demo_db, tmp_path):
    other = Database(tmp_path / "other.duckdb")
    other.migrate()
    try:
        with uow.bookkeeping(other) as cur:
            cur.execute("INSERT INTO orgs (name, level, category, street) "
                        "VALUES ('另一个库的支部', 'branch', 'community', '东街道')")
        other.generation = demo_db.generation  # the same generation number, another file
        a, b = builds(demo_db)(), builds(other)()
        assert _names(b) == ["另一个库的支部"]
        assert "另一个库的支部" not in _names(a) and len(_names(a)) > 1
    finally:
        other.close()


def test_database_instances_never_repeat(tmp_path):
    seen = set()
    for i in range(3):
        d = Database(tmp_path / f"d{i}.duckdb")
        seen.add(d.instance)
        d.close()
        del d
    assert len(seen) == 3


def test_built_once_per_generation_and_again_after_a_write(builds, demo_db):
    build = builds(demo_db)
    first = build()
    assert builds(demo_db)() == first  # a second click (a new run of the page)
    assert len(builds.made) == 1
    with uow.bookkeeping(demo_db) as cur:  # any committed write
        cur.execute("UPDATE orgs SET name = '改过名的支部' WHERE id = (SELECT min(id) FROM orgs)")
    after = builds(demo_db)()
    assert len(builds.made) == 2
    assert "改过名的支部" in _names(after) and "改过名的支部" not in _names(first)
