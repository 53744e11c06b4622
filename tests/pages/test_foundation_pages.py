import pytest

from tests.pages.apptest_helpers import app_for, problems

PAGES = {
    "admin": ["pages/home.py", "pages/orgs.py", "pages/members.py", "pages/audit_log.py", "pages/admin.py"],
    "editor": ["pages/home.py", "pages/orgs.py", "pages/members.py", "pages/audit_log.py"],
    "treasurer": ["pages/home.py", "pages/orgs.py", "pages/members.py", "pages/audit_log.py"],
    "viewer": ["pages/home.py", "pages/orgs.py", "pages/members.py", "pages/audit_log.py"],
}


def test_login_form_is_chinese_and_wrong_password_says_so(monkeypatch, tmp_path, demo_db_file):
    at = app_for(monkeypatch, tmp_path, demo_db_file, None)
    assert at.text_input(key="login_username").label == "用户名"
    at.text_input(key="login_username").input("editor")
    at.text_input(key="login_password").input("wrong-password")
    at.button[0].click()
    at.run()
    assert any("用户名或密码不正确" in e.value for e in at.error)
    assert "user" not in at.session_state


@pytest.mark.parametrize("role", list(PAGES))
def test_every_page_renders_for_each_role(monkeypatch, tmp_path, demo_db_file, role):
    at = app_for(monkeypatch, tmp_path, demo_db_file, role)
    assert at.session_state["user"].username == role
    for page in PAGES[role]:
        at.switch_page(page)
        at.run()
        assert not problems(at), (page, problems(at))
        assert at.title, page


def test_admin_page_is_not_reachable_for_editor(monkeypatch, tmp_path, demo_db_file):
    at = app_for(monkeypatch, tmp_path, demo_db_file, "editor")
    with pytest.raises(ValueError, match="Known pages"):
        at.switch_page("pages/admin.py")  # not registered in st.navigation for this role


def test_org_edit_persists_and_appears_in_history(monkeypatch, tmp_path, demo_db_file):
    at = app_for(monkeypatch, tmp_path, demo_db_file, "editor")
    at.switch_page("pages/orgs.py")
    at.run()
    key = f"orgs_editor_{at.session_state['orgs_nonce']}"
    at.session_state[key] = {"edited_rows": {0: {"name": "改名后的党工委"}}, "added_rows": [], "deleted_rows": []}
    at.run()
    save = next(b for b in at.button if b.label == "保存")
    save.click()
    at.run()
    assert not problems(at)
    assert any("已保存" in s.value for s in at.success)
    at.switch_page("pages/audit_log.py")
    at.run()
    df = at.dataframe[0].value
    assert "改名后的党工委" in " ".join(str(v) for v in df["内容"].to_list())


def test_bad_edit_shows_row_and_column_and_saves_nothing(monkeypatch, tmp_path, demo_db_file):
    at = app_for(monkeypatch, tmp_path, demo_db_file, "editor")
    at.switch_page("pages/orgs.py")
    at.run()
    key = f"orgs_editor_{at.session_state['orgs_nonce']}"
    at.session_state[key] = {"edited_rows": {1: {"member_count": 1, "level": "党支部"}}, "added_rows": [],
                             "deleted_rows": []}
    at.run()
    next(b for b in at.button if b.label == "保存").click()
    at.run()
    assert any("没有保存" in e.value for e in at.error)
    tables_shown = [d.value for d in at.dataframe if "问题" in d.value.columns]
    assert tables_shown, "errors are listed as a table with 行 / 列 / 问题"
    table = tables_shown[0]
    assert table["行"].to_list()[0] in ("2", 2) and table["列"].to_list()[0] == "党员人数"


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_excel_import_is_offered_only_to_those_who_may_change_the_table(monkeypatch, tmp_path, demo_db_file, role):
    at = app_for(monkeypatch, tmp_path, demo_db_file, role)
    for page in ("pages/orgs.py", "pages/members.py"):
        at.switch_page(page)
        at.run()
        assert not problems(at), (page, problems(at))
        imports = [e for e in at.expander if e.label == "从 Excel 导入"]
        if role == "viewer":  # no empty box: the table's own line says why
            assert imports == [], page
            assert any("只能查看" in c.value for c in at.caption), page
        else:
            assert len(imports) == 1 and imports[0].get("file_uploader"), page


def test_org_tree_check_is_drawn_when_opened(monkeypatch, tmp_path, demo_db_file):
    """组织树与层级核对 runs only while open (a collapsed expander used to compute it on every run)."""
    at = app_for(monkeypatch, tmp_path, demo_db_file, "editor")
    at.switch_page("pages/orgs.py")
    at.run()
    assert not any("党组织" in d.value.columns and "层级" in d.value.columns for d in at.dataframe)
    at.session_state["orgs_tree_open"] = True
    at.run()
    assert not problems(at)
    assert any("党组织" in d.value.columns and "层级" in d.value.columns for d in at.dataframe)
