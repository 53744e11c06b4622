"""The dues pages in AppTest: every tab renders for the roles that may see it, the others
cannot reach them, and the writes (hand edits, paste, settings, generating a month) work
and report bad input by row and column."""


import pytest

from dangjian_core import clock
from dangjian_core.dues import payments, payroll, roll
from dangjian_core.dues import settings as dues_settings
from tests.conftest import TREASURER
from tests.pages.apptest_helpers import app_for, open_page, problems, walk_tabs

DUES_TABS = ["花名册", "登记缴费", "工资表与计算基数", "设置"]
ARREARS_TABS = ["按党组织", "欠缴党员", "连续未缴提醒", "补交记录", "对账单", "图表"]


def db_now():
    from ui.session import get_db

    return get_db()


def button(at, label):
    return next(b for b in at.button if b.label == label)


def one_org(at):
    """A small org with a roll this month holding at least two unpaid rows (its id), chosen in
    the page's org picker (whatever the pinned date, the demo's random draw leaves such an org)."""
    with db_now().read() as cur:
        org_id = cur.execute("SELECT org_id FROM dues_roll WHERE month = ? GROUP BY 1 HAVING count(*) BETWEEN 3 AND 40"
                             " AND count(*) FILTER (WHERE paid = 0 AND due > 0) >= 2"
                             " ORDER BY 1 LIMIT 1", [clock.today().replace(day=1)]).fetchone()[0]
    at.session_state["dues_org"] = org_id
    at.run()
    return org_id


@pytest.mark.parametrize("role", ["treasurer", "admin"])
def test_every_tab_renders(monkeypatch, tmp_path, demo_db_file, role):
    at = open_page(monkeypatch, tmp_path, demo_db_file, role, "pages/dues.py")
    assert not problems(at), problems(at)
    assert [t.label for t in at.tabs] == DUES_TABS
    assert any(m.label == "应缴人数" for m in at.metric)
    one_org(at)
    walk_tabs(at, "dues_tab", DUES_TABS)
    at.switch_page("pages/dues_arrears.py")
    at.run()
    assert not problems(at), problems(at)
    assert any("党支部大会" in w.value for w in at.warning), "the page says the branch meeting decides"
    walk_tabs(at, "arr_tab", ARREARS_TABS)


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_editor_and_viewer_cannot_reach_the_dues_pages(monkeypatch, tmp_path, demo_db_file, role):
    at = app_for(monkeypatch, tmp_path, demo_db_file, role)
    for page in ("pages/dues.py", "pages/dues_arrears.py"):
        with pytest.raises(ValueError, match="Known pages"):
            at.switch_page(page)


def test_a_hand_edit_records_a_payment_and_a_bad_one_names_row_and_column(monkeypatch, tmp_path, demo_db_file):
    at = open_page(monkeypatch, tmp_path, demo_db_file, "treasurer", "pages/dues.py")
    one_org(at)
    at.session_state["roll_status"] = "owing"
    at.run()
    key = f"roll_editor_{at.session_state['roll_nonce']}"
    # the first row the page shows (owing members of the org, as the page sorts them)
    page, _ = roll.roll_page(db_now(), TREASURER, clock.today().replace(day=1), org_id=at.session_state["dues_org"],
                           status="owing", limit=1)
    due = page["due"][0]
    at.session_state[key] = {"edited_rows": {0: {"paid": float(due) + 1}}, "added_rows": [], "deleted_rows": []}
    at.run()
    button(at, "保存缴费").click()
    at.run()
    assert any("没有保存" in e.value for e in at.error)
    table = next(d.value for d in at.dataframe if "问题" in d.value.columns)
    assert table["列"].to_list() == ["实缴金额"] and "大于应缴金额" in table["问题"][0]
    at.session_state[key] = {"edited_rows": {0: {"paid": float(due), "method": "银行转账"}}, "added_rows": [],
                             "deleted_rows": []}
    at.run()
    button(at, "保存缴费").click()
    at.run()
    assert not problems(at), problems(at)
    assert any("已保存 1 行缴费记录" in s.value for s in at.success)
    with db_now().read() as cur:
        paid, method, on = cur.execute("SELECT paid, method, paid_on FROM dues_roll WHERE id = ?",
                                       [int(page["id"][0])]).fetchone()
    assert (paid, method, on) == (due, "transfer", clock.today())


def test_pasted_payments_are_checked_then_recorded(monkeypatch, tmp_path, demo_db_file):
    at = open_page(monkeypatch, tmp_path, demo_db_file, "treasurer", "pages/dues.py")
    org_id = one_org(at)
    page, _ = roll.roll_page(db_now(), TREASURER, clock.today().replace(day=1), org_id=org_id, status="unpaid", limit=2)
    at.session_state["dues_tab"] = "登记缴费"
    at.run()
    rows = "\n".join(f"{no}\t{due}" for no, due in zip(page["member_no"], page["due"]))
    at.text_area(key="paste_text_0").input("党员编号\t实缴金额\n" + rows + "\nM999999\t1")
    at.run()
    table = next(d.value for d in at.dataframe if "问题" in d.value.columns)
    assert table["行"].to_list() == [str(page.height + 2)] and "找不到这位党员" in table["问题"][0]
    at.text_area(key="paste_text_0").input("党员编号\t实缴金额\n" + rows)
    at.run()
    assert any("检查通过" in s.value for s in at.success)
    button(at, "确认登记").click()
    at.run()
    assert not problems(at), problems(at)
    assert any(f"已登记 {page.height} 人次缴费" in s.value for s in at.success)
    with db_now().read() as cur:
        n = cur.execute("SELECT count(*) FROM dues_roll WHERE id IN (SELECT unnest(?)) AND paid = due",
                        [page["id"].to_list()]).fetchone()[0]
    assert n == page.height


def test_settings_save_a_new_version(monkeypatch, tmp_path, demo_db_file):
    at = open_page(monkeypatch, tmp_path, demo_db_file, "treasurer", "pages/dues.py", dues_tab="设置")
    at.selectbox(key="set_precision").select("jiao")
    at.text_input(key="set_note").input("测试改为按角")
    button(at, "保存设置").click()
    at.run()
    assert not problems(at), problems(at)
    assert any("第 2 版" in s.value for s in at.success)
    assert dues_settings.current_settings(db_now(), TREASURER)[1].precision == "jiao"
    at.text_input(key="set_farmer").input("1.50")
    button(at, "保存设置").click()
    at.run()
    assert any("农民党员默认数额" in e.value for e in at.error)


def test_generating_next_month(monkeypatch, tmp_path, demo_db_file):
    at = open_page(monkeypatch, tmp_path, demo_db_file, "treasurer", "pages/dues.py")
    nxt = at.selectbox(key="dues_month").options[0]
    at.selectbox(key="dues_month").select_index(0)
    at.run()
    assert any("还没有花名册" in i.value for i in at.info)
    button(at, f"生成 {nxt} 花名册").click()
    at.run()
    assert not problems(at), problems(at)
    assert any("花名册已更新：新增" in s.value for s in at.success)
    assert roll.roll_summary(db_now(), TREASURER, nxt)["members"] > 0


def test_statement_of_one_member(monkeypatch, tmp_path, demo_db_file):
    at = open_page(monkeypatch, tmp_path, demo_db_file, "treasurer", "pages/dues_arrears.py", arr_tab="对账单")
    at.text_input(key="stm_search").input("M000001")
    at.run()
    assert not problems(at), problems(at)
    labels = [m.label for m in at.metric]
    assert "应补交（元）" in labels and "最长连续未缴（月）" in labels
    assert any(b.label == "下载对账单（Excel）" for b in at.get("download_button"))
    assert any("适用规定" in d.value.columns for d in at.dataframe), "the statement names each month's rule"


def test_a_category_change_is_recorded_from_the_bases_tab(monkeypatch, tmp_path, demo_db_file):
    at = open_page(monkeypatch, tmp_path, demo_db_file, "treasurer", "pages/dues.py", dues_tab="工资表与计算基数")
    at.text_input(key="cat_search").input("M000001")
    at.run()
    at.text_input(key="cat_month").input("2025-07")
    at.selectbox(key="cat_new").select("retired")
    at.selectbox(key="cat_prev").select("employed")
    button(at, "登记类别变化").click()
    at.run()
    assert not problems(at), problems(at)
    member = at.selectbox(key="cat_pick").value
    hist = payroll.category_history(db_now(), TREASURER, member)
    assert hist["category"].to_list()[-1] == "retired" and hist.height == 2


def test_unsaved_edits_survive_a_colleagues_save_and_a_stale_row_is_refused(monkeypatch, tmp_path, demo_db_file):
    at = open_page(monkeypatch, tmp_path, demo_db_file, "treasurer", "pages/dues.py")
    org_id = one_org(at)
    at.session_state["roll_status"] = "owing"
    at.run()
    key = f"roll_editor_{at.session_state['roll_nonce']}"
    page, _ = roll.roll_page(db_now(), TREASURER, clock.today().replace(day=1), org_id=org_id, status="owing", limit=2)
    at.session_state[key] = {"edited_rows": {1: {"paid": float(page["due"][1]), "method": "现金"}},
                             "added_rows": [], "deleted_rows": []}
    at.run()
    dues_settings.save_settings(db_now(), TREASURER, {"warn_from_months": 2})  # someone else writes: new generation
    at.run()
    assert any("数据已有更新" in c.value for c in at.caption)
    assert f"roll_editor_{at.session_state['roll_nonce']}" == key, "the editor keeps its edits"
    button(at, "保存缴费").click()
    at.run()
    assert any("已保存 1 行缴费记录" in s.value for s in at.success)
    with db_now().read() as cur:
        assert cur.execute("SELECT paid FROM dues_roll WHERE id = ?", [int(page["id"][1])]).fetchone()[0] \
            == page["due"][1]
    # a row changed by someone else since it was loaded: the save is refused, nothing written
    key = f"roll_editor_{at.session_state['roll_nonce']}"
    at.run()
    fresh, _ = roll.roll_page(db_now(), TREASURER, clock.today().replace(day=1), org_id=org_id, status="owing", limit=1)
    r = fresh.row(0, named=True)
    payments.save_roll_edits(db_now(), TREASURER, [{"id": r["id"], "version": r["version"], "row": 1, "paid": "0.01",
                                              "paid_on": clock.today().isoformat(), "method": "cash"}])
    at.session_state[key] = {"edited_rows": {0: {"paid": 0.02, "method": "现金"}}, "added_rows": [], "deleted_rows": []}
    at.run()
    button(at, "保存缴费").click()
    at.run()
    assert any("保存冲突" in w.value for w in at.warning)
