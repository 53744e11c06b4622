"""操作记录 shows each role only what its screens show (issue 12 §4): tables a role cannot read
are left out, 身份证号 and salary items are masked without salary.read — enforced in the core
(audit.list_changes / list_batches) and seen on the page."""

from __future__ import annotations

import json
import shutil

import pytest

from dangjian_core import audit, auth, fileio, members, tables
from dangjian_core.db import Database
from dangjian_core.dues import payroll as dues_payroll
from dangjian_core.dues import roll as dues_roll
from dangjian_core.errors import PermissionDenied
from tests.conftest import ADMIN, EDITOR, TREASURER, VIEWER
from tests.pages.apptest_helpers import app_for, problems

ID = "110101199001011237"  # a valid GB 11643 number
HEAD = "党员编号,姓名,职务工资,级别工资,养老保险,个人所得税"
MAPPING = {"党员编号": "member_id", "姓名": "name", "职务工资": "counted", "级别工资": "counted",
           "养老保险": "deducted", "个人所得税": "tax"}
SALARY_WORDS = ("counted", "deducted", "tax", "base")


def _history(db) -> None:
    """A member's 身份证号 set, a payroll imported (base, counted, deducted, tax), a roll
    generated (base), a password changed, an org renamed."""
    with db.write() as cur:
        cur.execute("INSERT INTO orgs(id, name, level, parent_id, category, street, member_count) VALUES"
                    " (1, '测试党委', 'committee', NULL, 'organ', '东湖街道', 10),"
                    " (2, '测试第一党支部', 'branch', 1, 'rural', '东湖街道', 5)")
        cur.execute("INSERT INTO members(id, member_no, name, org_id, status, join_date, dues_category)"
                    " VALUES (1, 'M1', '张三', 2, 'full', '2010-05-01', 'employed')")
        cur.execute("SELECT setval('orgs_seq', 2)")
        cur.execute("SELECT setval('members_seq', 1)")
        cur.execute("INSERT INTO users(username, display_name, password_hash, roles) VALUES"
                    " ('clerk', '办事员', 'x', 'viewer')")
    tables.save(db, ADMIN, members.SPEC, tables.Changes(updates={1: {"id_number": ID}}, versions={1: 1}))
    payroll = fileio.read_frame(data=f"{HEAD}\nM1,张三,6000,2000,800,100\n".encode(), name="工资.csv")
    dues_payroll.commit_payroll(db, TREASURER, 1, "2024-01", payroll, MAPPING)
    dues_roll.generate_roll(db, TREASURER, "2024-02")
    auth.set_password(db, ADMIN, "clerk", "new-password-1")
    tables.save(db, EDITOR, tables.get_spec("orgs"), tables.Changes(updates={2: {"name": "改名的支部"}},
                                                                   versions={2: 1}))


@pytest.fixture
def hist(db):
    _history(db)
    return db


def _text(df) -> str:
    return " ".join(str(v) for col in ("before", "after", "description") for v in df[col].to_list())


@pytest.mark.parametrize("user", [VIEWER, EDITOR])
def test_viewer_and_editor_see_no_id_number_no_salary_no_dues_no_users(hist, user):
    log = audit.list_changes(hist, user)
    seen = set(log["table_name"].to_list())
    assert seen == {"members", "orgs"}, seen
    text = _text(log)
    assert ID not in text and "1237" not in text.replace(audit.HIDDEN, "")
    member_rows = log.filter(log["table_name"] == "members")
    assert audit.HIDDEN in member_rows["after"][0]
    assert "改名的支部" in text, "what the role may read is still there"
    for t in ("member_bases", "dues_roll", "dues_payroll_imports", "users"):
        assert t not in audit.readable_tables(user)
        with pytest.raises(PermissionDenied):
            audit.list_changes(hist, user, table=t)
    batches = audit.list_batches(hist, user)
    assert not any("工资" in d or "花名册" in d or "密码" in d for d in batches["description"].to_list())
    for line in (audit.describe_change(r["table_name"], r["action"], r["before"], r["after"])
                 for r in log.iter_rows(named=True)):
        assert ID not in line


def test_treasurer_sees_dues_and_salary_but_not_users(hist):
    log = audit.list_changes(hist, TREASURER)
    seen = set(log["table_name"].to_list())
    assert {"members", "member_bases", "dues_roll", "dues_payroll_imports"} <= seen and "users" not in seen
    bases = [json.loads(b) for b in log.filter(log["table_name"] == "member_bases")["after"].to_list() if b]
    assert any(b["counted"] == 8000 and b["tax"] == 100 and b["deducted"] == 800 for b in bases)
    assert ID in _text(log)


def test_admin_sees_everything_unmasked(hist):
    log = audit.list_changes(hist, ADMIN)
    assert {"members", "member_bases", "dues_roll", "users", "orgs"} <= set(log["table_name"].to_list())
    assert audit.HIDDEN not in _text(log) and ID in _text(log)
    assert "users" in audit.readable_tables(ADMIN) and "member_bases" in audit.readable_tables(ADMIN)


def test_dues_reader_without_salary_read_gets_salary_items_masked(hist, monkeypatch):
    # no shipped role has dues.read without salary.read; the rule still holds if one is made
    monkeypatch.setitem(auth.PERMISSIONS, "salary.read", frozenset({"admin"}))
    log = audit.list_changes(hist, TREASURER)
    bases = [json.loads(b) for b in log.filter(log["table_name"] == "member_bases")["after"].to_list() if b]
    assert bases and all(b[c] == audit.HIDDEN for b in bases for c in ("base", "counted", "deducted", "tax"))
    assert "8000" not in _text(log) and "7100" not in _text(log)
    roll = [json.loads(b) for b in log.filter(log["table_name"] == "dues_roll")["after"].to_list() if b]
    assert roll and all(b["base"] in (audit.HIDDEN, None) for b in roll) and any(b["base"] == audit.HIDDEN for b in roll)
    assert ID not in _text(log)


def test_history_page_per_role(monkeypatch, tmp_path, db):
    _history(db)
    src = tmp_path / "src.duckdb"
    db.close()
    shutil.copyfile(db.path, src)
    d = Database(src)  # the AppTest logs in with the demo users
    from dangjian_core import demo

    with d.write() as cur:
        for username, display, roles in demo.DEMO_USERS:
            cur.execute("INSERT INTO users(username, display_name, password_hash, roles) VALUES (?, ?, ?, ?)"
                        " ON CONFLICT DO NOTHING", [username, display, demo.DEMO_HASH, roles])
    d.close()
    for role, must_see, must_not in (("viewer", ["改名的支部"], [ID, "8000", "党费花名册", "用户"]),
                                     ("admin", ["改名的支部", ID, "党费花名册", "用户"], [])):
        (tmp_path / role).mkdir()
        at = app_for(monkeypatch, tmp_path / role, src, role)
        at.switch_page("pages/audit_log.py")
        at.run()
        assert not problems(at), problems(at)
        options = at.selectbox(key="al_table").options
        shown = " ".join(str(v) for v in at.dataframe[0].value["内容"].to_list()) + " " + " ".join(options)
        for word in must_see:
            assert word in shown, (role, word)
        for word in must_not:
            assert word not in shown, (role, word)

