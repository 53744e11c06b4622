"""操作记录 page: every table in the filter, people and dates to filter by, one change undone."""

from dangjian_core import orgs, tables
from tests.conftest import EDITOR
from tests.pages.apptest_helpers import app_for, problems


def test_history_filters_every_table_and_undoes_one_change_of_a_batch(monkeypatch, tmp_path, demo_db_file):
    at = app_for(monkeypatch, tmp_path, demo_db_file, "admin")
    from ui.session import get_db

    db = get_db()
    df = tables.load(db, EDITOR, orgs.SPEC).head(2)
    (a, va, na), (b, vb, nb) = df.select("id", "version", "name").rows()
    tables.save(db, EDITOR, orgs.SPEC, tables.Changes(
        updates={a: {"name": na + "甲", "secretary": "王芳"}, b: {"name": nb + "乙"}}, versions={a: va, b: vb}))
    at.switch_page("pages/audit_log.py")
    at.run()
    assert not problems(at)
    table_filter = at.selectbox(key="al_table").options
    for label in ("整改事项", "述职场次", "党费花名册", "观摩安排", "基层党组织", "示范点"):
        assert label in table_filter, label
    assert any("editor" in o for o in at.selectbox(key="al_user").options)
    content = " ".join(at.dataframe[0].value["内容"].to_list())
    assert "书记：" in content and "secretary" not in content

    entry = next(o for o in at.selectbox(key="al_entry").options if nb in o)
    at.selectbox(key="al_entry").select(entry)
    at.run()
    at.button(key="al_revert_one").click()
    at.run()
    assert not problems(at)
    names = dict(tables.load(db, EDITOR, orgs.SPEC).select("id", "name").rows())
    assert names[b] == nb and names[a] == na + "甲", "only the chosen change was undone"
