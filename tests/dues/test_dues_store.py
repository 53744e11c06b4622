"""党费 in the database: settings, payroll bases, the roll, payments, arrears, exports."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from dangjian_core import audit, auth, fileio, registry
from dangjian_core.charts import datasets
from dangjian_core.dues import arrears, indicators, payments, payroll, roll, voluntary
from dangjian_core.dues import charts as dues_charts
from dangjian_core.dues import demo as dues_demo
from dangjian_core.dues import exports as dues_exports
from dangjian_core.dues import model as dues_model
from dangjian_core.dues import rules as dues_rules
from dangjian_core.dues import settings as dues_settings
from dangjian_core.dues import store as dues_store
from dangjian_core.errors import BadInput, ConflictError, PermissionDenied
from tests.conftest import ADMIN, EDITOR, TREASURER, VIEWER

T = TREASURER
TODAY = date(2024, 12, 20)
HEAD = "党员编号,姓名,职务工资,级别工资,工作性津贴,通讯补贴,交通补贴,养老保险,医疗保险,职业年金,住房公积金,个人所得税"
MAPPING = {"党员编号": "member_id", "姓名": "name", "职务工资": "counted", "级别工资": "counted",
           "工作性津贴": "counted", "通讯补贴": "ignored", "交通补贴": "ignored", "养老保险": "deducted",
           "医疗保险": "deducted", "职业年金": "deducted", "住房公积金": "deducted", "个人所得税": "tax"}
CIVIL = "1500,2000,2500,300,500,480,120,240,720,60"  # the public vector: base 4380.00 → 43.80


def frame(text: str, name: str = "工资.csv", encoding: str = "utf-8") -> fileio.Frame:
    return fileio.read_frame(data=text.encode(encoding), name=name)


@pytest.fixture
def town(db):
    """One committee with one branch; six members of different categories."""
    with db.write() as cur:
        cur.execute("INSERT INTO orgs(id, name, level, parent_id, category, street, member_count) VALUES"
                    " (1, '测试党委', 'committee', NULL, 'organ', '东湖街道', 100),"
                    " (2, '测试第一党支部', 'branch', 1, 'rural', '东湖街道', 6)")
        cur.execute("INSERT INTO members(id, member_no, name, org_id, id_number, phone, status, join_date,"
                    " dues_category) VALUES"
                    " (1, 'M1', '张三', 2, '110101199001011234', '13800000001', 'full', '2010-05-01', 'employed'),"
                    " (2, 'M2', '李四', 2, '110101195001011234', '13800000002', 'full', '1980-05-01', 'retired'),"
                    " (3, 'M3', '王五', 2, NULL, NULL, 'full', '2000-05-01', 'farmer'),"
                    " (4, 'M4', '赵六', 2, NULL, NULL, 'full', '2000-05-01', 'exempt'),"
                    " (5, 'M5', '钱七', 2, NULL, NULL, 'probationary', '2024-03-15', 'employed'),"
                    " (6, 'M6', '孙八', 1, NULL, NULL, 'full', '2001-01-01', 'student')")
        cur.execute("SELECT setval('orgs_seq', 2)")
        cur.execute("SELECT setval('members_seq', 6)")
    return db


def bases(db, rows, **kw):
    text = "党员编号,月份,计算基数\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n"
    return payroll.import_bases(db, T, frame(text, "基数.csv"), commit=True, **kw)


def count(db, table):
    with db.read() as cur:
        return cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def roll_row(db, member_no, month):
    with db.read() as cur:
        return cur.sql("SELECT r.* FROM dues_roll r JOIN members m ON m.id = r.member_id WHERE m.member_no = ?"
                       " AND r.month = ?", params=[member_no, dues_store.parse_month(month)]).pl().row(0, named=True)


# -- migration and settings ----------------------------------------------------------------
def test_migration_holds_the_default_settings(db):
    sid, s = dues_settings.current_settings(db, T)
    assert sid == 1 and s == dues_model.DuesSettings()


def test_settings_are_versioned_and_old_rolls_reproduce(town):
    bases(town, [("M1", "2024-01", "5100"), ("M2", "2024-01", "6000")])
    roll.generate_roll(town, T, "2024-02")
    assert roll_row(town, "M1", "2024-02")["due"] == Decimal("76.50")
    sid = dues_settings.save_settings(town, T, {"precision": "jiao", "rounding": "down"}, note="按角收缴")
    assert sid == 2
    assert dues_settings.save_settings(town, T, dues_settings.settings_by_id(town, T, 2)) == 2, "unchanged settings add no version"
    roll.generate_roll(town, T, "2024-03")
    assert roll_row(town, "M1", "2024-03")["due"] == Decimal("76.50")  # 5100 × 1.5 % = 76.5 exactly
    assert roll_row(town, "M1", "2024-03")["settings_id"] == 2
    assert roll_row(town, "M1", "2024-02")["settings_id"] == 1, "rows already computed keep their settings"
    assert roll.reproduce_roll(town, T, "2024-02").height == 0
    assert roll.reproduce_roll(town, T, "2024-03").height == 0
    assert "第 1 版设置" in roll.explain_roll_row(town, T, roll_row(town, "M1", "2024-02")["id"])
    hist = dues_settings.settings_history(town, T)
    assert hist["id"].to_list() == [2, 1, 0] and hist["note"][0] == "按角收缴"   # 0: the built-in 2008 rules
    with pytest.raises(BadInput, match="计算精度"):
        dues_settings.save_settings(town, T, {"precision": "li"})
    with pytest.raises(BadInput, match="提醒月数不能大于"):
        dues_settings.save_settings(town, T, {"warn_from_months": 7, "flag_months": 6})


def test_editor_and_viewer_are_refused_by_the_core(town):
    for who in (EDITOR, VIEWER):
        for call in (lambda u: roll.roll_page(town, u, "2024-01"), lambda u: dues_settings.current_settings(town, u),
                     lambda u: arrears.back_calculate(town, u, "2024-01", "2024-03"),
                     lambda u: dues_exports.bank_bill(town, u, "2024-01"), lambda u: roll.generate_roll(town, u, "2024-01"),
                     lambda u: dues_settings.save_settings(town, u, {}), lambda u: payroll.payroll_mapping(town, u, 1)):
            with pytest.raises(PermissionDenied):
                call(who)


# -- payroll --------------------------------------------------------------------------------
def test_payroll_base_shows_the_arithmetic_and_the_mapping_is_reused(town):
    f = frame(f"{HEAD}\nM1,张三,{CIVIL}\n")
    pv = payroll.preview_payroll(town, T, 1, "2024-01", f, MAPPING)
    line = pv.lines.row(0, named=True)
    assert (line["base_fen"], line["dues_fen"], line["rule"]) == (438000, 4380, "bracket_1")
    text = dues_rules.explain_lines(pv.lines, pv.settings)[0]
    assert "计入项目合计 6000.00 元" in text and "基数 4380.00 元" in text and "费率 1%" in text and "应缴 43.80 元" in text
    assert count(town, "member_bases") == 0, "a preview writes nothing"
    res = payroll.commit_payroll(town, T, 1, "2024-01", f, MAPPING)
    assert (res.inserted, res.updated) == (1, 0)
    assert payroll.payroll_mapping(town, T, 1) == MAPPING
    # the same month again replaces, never duplicates
    res = payroll.commit_payroll(town, T, 1, "2024-01", frame(f"{HEAD}\nM1,张三,{CIVIL.replace('1500', '1600', 1)}\n"),
                            payroll.payroll_mapping(town, T, 1))
    assert (res.inserted, res.updated) == (0, 1)
    hist = payroll.base_history(town, T, 1)
    assert hist.height == 1 and hist["base"][0] == Decimal("4480.00")


def test_a_mapping_can_be_saved_before_any_import(town):
    payroll.save_mapping(town, T, 1, {"岗位工资": "计入", "工号": "党员编号", "个税": "tax"})
    assert payroll.payroll_mapping(town, T, 1) == {"岗位工资": "counted", "工号": "member_id", "个税": "tax"}
    with pytest.raises(BadInput, match="口径设置有误"):
        payroll.save_mapping(town, T, 1, {"奖金": "看情况"})
    with pytest.raises(PermissionDenied):
        payroll.save_mapping(town, VIEWER, 1, {"岗位工资": "计入"})


def test_tax_only_reading(town):
    dues_settings.save_settings(town, T, {"base_reading": "tax_only"})
    pv = payroll.preview_payroll(town, T, 1, "2024-01", frame(f"{HEAD}\nM1,张三,{CIVIL}\n"), MAPPING)
    assert (pv.lines["base_fen"][0], pv.lines["dues_fen"][0]) == (594000, 8910)


def test_retiree_rows_use_the_retiree_reading(town):
    f = frame(f"{HEAD}\nM2,李四,4000,0,1000,0,0,0,0,0,0,0\n")
    pv = payroll.preview_payroll(town, T, 1, "2024-01", f, MAPPING)
    assert (pv.lines["base_fen"][0], pv.lines["dues_fen"][0], pv.lines["rule"][0]) == (500000, 2500, "retired_0.5")
    dues_settings.save_settings(town, T, {"retiree_base": "fixed"})
    with pytest.raises(BadInput) as e:
        payroll.preview_payroll(town, T, 1, "2024-01", f, MAPPING)
    assert e.value.errors[0].row == 2 and "固定基数" in e.value.errors[0].message


@pytest.mark.parametrize("text,row,column,message", [
    (f"{HEAD}\nM1,张三,-5,2000,2500,300,500,480,120,240,720,60\n", 2, "职务工资", "不能为负数"),
    (f"{HEAD}\nM1,张三,一千五,2000,2500,300,500,480,120,240,720,60\n", 2, "职务工资", "不是有效的金额"),
    (f"{HEAD}\nM1,张三,{CIVIL}\n,无名,{CIVIL}\n", 3, "党员编号", "缺少党员编号"),
    (f"{HEAD}\nM1,张三,{CIVIL}\nM1,张三,{CIVIL}\n", 3, "党员编号", "重复"),
    (f"{HEAD}\nM9,无此人,{CIVIL}\n", 2, "党员编号", "找不到这个党员编号"),
    (f"2024年1月工资表\n{HEAD}\nM1,张三,1500,2000,2500,300,500,480,120,240,720,六十\n", 3, "个人所得税", "不是有效的金额"),
])
def test_bad_payroll_cells_name_row_and_column_and_write_nothing(town, text, row, column, message):
    for enc in ("utf-8", "gbk"):
        with pytest.raises(BadInput) as e:
            payroll.commit_payroll(town, T, 1, "2024-01", frame(text, encoding=enc), MAPPING)
        hit = [x for x in e.value.errors if x.row == row and x.column == column]
        assert hit and message in hit[0].message, e.value.errors
    assert count(town, "member_bases") == count(town, "dues_payroll_mappings") == count(town, "dues_payroll_imports") == 0


def test_a_payroll_column_that_maps_to_nothing_is_named(town):
    f = frame(f"{HEAD},手机补贴\nM1,张三,{CIVIL},100\n")
    with pytest.raises(BadInput) as e:
        payroll.preview_payroll(town, T, 1, "2024-01", f, {**MAPPING, "手机补贴": None})
    assert any(x.column == "手机补贴" and "尚未设置口径" in x.message for x in e.value.errors)
    with pytest.raises(BadInput) as e:
        payroll.preview_payroll(town, T, 1, "2024-01", f, {**MAPPING, "手机补贴": "零花钱"})
    assert any(x.column == "手机补贴" and "口径无法识别" in x.message for x in e.value.errors)


def test_empty_payroll_sheets_are_refused(town):
    with pytest.raises(BadInput, match="没有数据"):
        payroll.preview_payroll(town, T, 1, "2024-01", frame(HEAD + "\n"), MAPPING)
    with pytest.raises(BadInput, match="空"):
        fileio.read_frame(Path(__file__).parent.parent / "data" / "bad" / "35_empty_sheet.xlsx")


def test_legacy_xls_payroll_is_read(town):
    """The corpus .xls (名称, 层级, 类别, 街道/系统, 党员人数) read as a payroll sheet."""
    f = fileio.read_frame(Path(__file__).parent.parent / "data" / "bad" / "38_legacy.xls")
    mapping = {"名称": "member_id", "层级": "ignored", "类别": "ignored", "街道/系统": "ignored", "党员人数": "counted"}
    with pytest.raises(BadInput) as e:
        payroll.preview_payroll(town, T, 1, "2024-01", f, mapping)
    assert (e.value.errors[0].row, e.value.errors[0].column) == (2, "名称")
    with town.write() as cur:
        cur.execute("UPDATE members SET member_no = '旧格式测试党支部' WHERE id = 1")
    pv = payroll.preview_payroll(town, T, 1, "2024-01", f, mapping)
    assert pv.lines["base_fen"][0] == 600 and pv.lines["dues_fen"][0] == 3


def test_guessing_payroll_columns():
    assert [payroll.guess_kind(c) for c in ("党员编号", "姓名", "职务工资", "奖励性绩效工资", "基础性绩效工资",
                                       "住房公积金", "个人所得税", "交通补贴", "实发工资")] == \
        ["member_id", "name", "counted", "ignored", "counted", "deducted", "tax", "ignored", "ignored"]


# -- bases and amounts over time ----------------------------------------------------------------
def test_fixed_for_the_year_until_redetermined(town):
    bases(town, [("M1", "2023-01", "5000"), ("M1", "2023-06", "8000"), ("M1", "2024-01", "12000")])
    roll.generate_roll(town, T, months=["2023-05", "2023-07", "2024-02"])
    dues_of = {m: roll_row(town, "M1", m)["due"] for m in ("2023-05", "2023-07", "2024-02")}
    assert dues_of == {"2023-05": Decimal("50.00"), "2023-07": Decimal("50.00"), "2024-02": Decimal("240.00")}
    bases(town, [("M1", "2024-04", "4000")], redetermine=True)
    roll.generate_roll(town, T, "2024-05")
    assert roll_row(town, "M1", "2024-05")["due"] == Decimal("40.00"), "重新核定 applies at once"
    dues_settings.save_settings(town, T, {"amount_mode": "monthly"})
    res = roll.generate_roll(town, T, "2023-07", recompute=True)
    assert res.updated == 1 and roll_row(town, "M1", "2023-07")["due"] == Decimal("120.00")
    audit.revert_batch(town, T, res.batch_id)
    r = roll_row(town, "M1", "2023-07")
    assert (r["due"], r["base"], r["settings_id"]) == (Decimal("50.00"), Decimal("5000.00"), 1)


def test_ready_bases_with_categories_and_bad_cells(town):
    text = ("党员编号,月份,计算基数,党员类别,固定数额\nM1,2024-01,5000,在职,\nM4,2024-01,,少交,1.50\n"
            "M6,2024-01,3000,学渣,\nM2,2024-01,-1,,\nM9,2024-01,1,,\nM1,2024-01,6000,,\n,2024-01,1,,\n")
    with pytest.raises(BadInput) as e:
        payroll.import_bases(town, T, frame(text, "基数.csv"), commit=True)
    got = {(x.row, x.column): x.message for x in e.value.errors}
    assert "无法识别的党员类别" in got[(4, "党员类别")]
    assert "不能为负数" in got[(5, "计算基数")]
    assert "找不到这个党员编号" in got[(6, "党员编号")]
    assert "重复" in got[(7, "党员编号")]
    assert "缺少党员编号" in got[(8, "党员编号")]
    assert count(town, "member_bases") == 0
    res = payroll.import_bases(town, T, frame("党员编号,月份,计算基数,党员类别,固定数额\nM4,2024-01,,少交,1.50\n", "b.csv"),
                          commit=True)
    assert res.category_changes == 1
    roll.generate_roll(town, T, "2024-02")
    assert roll_row(town, "M4", "2024-02")["due"] == Decimal("1.50")
    with pytest.raises(BadInput, match="固定数额"):
        payroll.set_base(town, T, "M4", "2024-03", category="少交")


# -- the roll -----------------------------------------------------------------------------------
def test_roll_covers_admitted_members_and_reports_missing_bases(town):
    with town.write() as cur:
        cur.execute("INSERT INTO dues_farmer_amounts(org_id, amount) VALUES (2, 0.50)")
    bases(town, [("M1", "2024-01", "3000"), ("M5", "2024-03", "2500")])
    res = roll.generate_roll(town, T, "2024-02", org_id=1)
    assert res.inserted == 4 and res.missing["member_no"].to_list() == ["M2"], "M5 is admitted in March"
    assert "缺少计算基数" in res.summary
    assert roll.generate_roll(town, T, "2024-02").inserted == 0, "generating twice adds nothing"
    due = {m: roll_row(town, m, "2024-02")["due"] for m in ("M1", "M3", "M4", "M6")}
    assert due == {"M1": Decimal("15.00"), "M3": Decimal("0.50"), "M4": Decimal("0.00"), "M6": Decimal("0.20")}
    assert roll.generate_roll(town, T, "2024-03", org_id=2).inserted == 4
    assert roll_row(town, "M5", "2024-03")["due"] == Decimal("12.50")
    page, total = roll.roll_page(town, T, "2024-02", org_id=1, limit=2)
    assert total == 4 and page.height == 2
    s = roll.roll_summary(town, T, "2024-02", org_id=1)
    assert s["due_fen"] == 1500 + 50 + 20 and s["members"] == 4


def test_a_generated_month_is_revertible_until_someone_pays(town):
    bases(town, [("M1", "2024-01", "3000")])
    res = roll.generate_roll(town, T, "2024-02")
    audit.revert_batch(town, T, res.batch_id)
    assert count(town, "dues_roll") == 0
    res = roll.generate_roll(town, T, "2024-02")
    r = roll_row(town, "M1", "2024-02")
    payments.save_roll_edits(town, T, [{"id": r["id"], "version": r["version"], "paid": "15", "paid_on": "2024-02-05",
                                  "method": "cash"}], today=TODAY)
    with pytest.raises(ConflictError):
        audit.revert_batch(town, T, res.batch_id)


# -- payments -----------------------------------------------------------------------------------
@pytest.fixture
def rolled(town):
    bases(town, [("M1", "2024-01", "5100"), ("M2", "2024-01", "6000"), ("M5", "2024-03", "2500")])
    roll.generate_roll(town, T, months=[f"2024-{m:02d}" for m in range(1, 13)])
    return town


def test_pasted_payments(rolled):
    text = "党员编号\t实缴金额\t缴纳日期\t缴纳方式\nM1\t76.50\t2024-02-10\t现金\nM2\t60\t2024-02-11\t转账\n"
    f = payments.parse_paste(text)
    res = payments.record_payments(rolled, T, f, month="2024-02", commit=False, today=TODAY)
    assert res.rows == 2 and res.total_fen == 13650 and not res.committed
    assert roll_row(rolled, "M1", "2024-02")["paid"] == 0
    res = payments.record_payments(rolled, T, f, month="2024-02", commit=True, today=TODAY)
    r = roll_row(rolled, "M1", "2024-02")
    assert (r["paid"], r["paid_on"], r["method"]) == (Decimal("76.50"), date(2024, 2, 10), "cash")
    assert res.batch_id and payments.record_payments(rolled, T, f, month="2024-02", commit=True, today=TODAY).rows == 2
    assert roll_row(rolled, "M1", "2024-02")["paid"] == Decimal("76.50"), "pasting again changes nothing"


@pytest.mark.parametrize("rows,row,column,message", [
    ("M1,100,2024-02-10", 2, "实缴金额", "大于应缴金额"),
    ("M1,-1,2024-02-10", 2, "实缴金额", "不能为负数"),
    ("M1,七十,2024-02-10", 2, "实缴金额", "不是有效的金额"),
    ("M1,5e1,2024-02-10", 2, "实缴金额", "不接受科学计数法"),
    ('M1,"76,50",2024-02-10', 2, "实缴金额", "逗号只能用作千位分隔符"),
    ("M9,1,2024-02-10", 2, "党员编号", "找不到这位党员"),
    (",1,2024-02-10", 2, "党员编号", "缺少党员编号"),
    ("M1,76.50,2024-02-10\nM1,76.50,2024-02-11", 3, "党员编号", "重复"),
    ("M1,76.50,2025-01-01", 2, "缴纳日期", "不能晚于今天"),
    ("M1,76.50,2024-01-10", 2, "缴纳日期", "早于所属月份"),
    ("M1,76.50,2024-02-30", 2, "缴纳日期", "不是有效的日期"),
])
def test_bad_payments_name_row_and_column(rolled, rows, row, column, message):
    f = frame("党员编号,实缴金额,缴纳日期\n" + rows + "\n", "缴费.csv")
    with pytest.raises(BadInput) as e:
        payments.record_payments(rolled, T, f, month="2024-02", default_method="cash", commit=True, today=TODAY)
    hit = [x for x in e.value.errors if x.row == row and x.column == column]
    assert hit and message in hit[0].message, e.value.errors
    with rolled.read() as cur:
        assert cur.execute("SELECT count(*) FROM dues_roll WHERE paid > 0").fetchone()[0] == 0


def test_payment_rules_proxy_quarterly_and_missing_roll(rolled):
    f = frame("党员编号,月份,实缴金额,缴纳日期,代缴人\nM1,2024-02,76.50,2024-02-10,张妻\n", "p.csv")
    with pytest.raises(BadInput) as e:
        payments.record_payments(rolled, T, f, default_method="cash", commit=True, today=TODAY)
    assert "须经党支部同意" in e.value.errors[0].message and e.value.errors[0].column == "支部同意"
    f = frame("党员编号,月份,实缴金额,缴纳日期,代缴人,支部同意\nM1,2024-02,76.50,2024-02-10,张妻,是\n", "p.csv")
    payments.record_payments(rolled, T, f, default_method="cash", commit=True, today=TODAY)
    assert roll_row(rolled, "M1", "2024-02")["proxy_name"] == "张妻"
    f = frame("党员编号,月份,实缴金额\nM1,2025-06,1\n", "p.csv")
    with pytest.raises(BadInput, match="发现 1 处错误") as e:
        payments.record_payments(rolled, T, f, default_method="cash", commit=True, today=TODAY)
    assert "还没有花名册记录" in e.value.errors[0].message
    with pytest.raises(BadInput, match="缴纳方式"):
        payments.record_payments(rolled, T, frame("党员编号,实缴金额\nM1,1\n"), month="2024-03", commit=True, today=TODAY)


def test_bank_return_file_matches_id_numbers_and_skips_failures(rolled):
    bill = dues_exports.bank_bill(rolled, T, "2024-02").filter(pl.col("党员编号") == "M1")
    assert bill["身份证号"][0] == "110101199001011234" and bill["应缴金额"][0] == Decimal("76.50")
    text = ("户名,身份证号,扣款金额,扣款状态,扣款日期\n张三,110101199001011234,76.50,成功,2024-02-20\n"
            "李四,110101195001011234,60.00,失败：余额不足,2024-02-20\n")
    res = payments.record_payments(rolled, T, frame(text, "返回.csv"), month="2024-02", source="bank", commit=True,
                             today=TODAY)
    assert (res.rows, res.skipped) == (1, 1) and any("未成功" in w for w in res.warnings)
    r = roll_row(rolled, "M1", "2024-02")
    assert (r["paid"], r["method"], r["paid_on"]) == (Decimal("76.50"), "bank", date(2024, 2, 20))
    assert roll_row(rolled, "M2", "2024-02")["paid"] == 0


def test_bank_bill_masks_id_numbers_without_salary_permission(rolled, monkeypatch):
    monkeypatch.setitem(auth.PERMISSIONS, "salary.read", frozenset({"admin"}))
    bill = dues_exports.bank_bill(rolled, T, "2024-02").filter(pl.col("党员编号") == "M1")
    assert bill["身份证号"][0] == "110***********1234"
    assert dues_exports.bank_bill(rolled, ADMIN, "2024-02").filter(pl.col("党员编号") == "M1")["身份证号"][0] == "110101199001011234"
    page, _ = roll.roll_page(rolled, T, "2024-02")
    assert page["base"].null_count() == page.height
    assert "计算基数" not in dues_exports.roll_export_frame(rolled, T, "2024-02").columns


def test_hand_edits_check_versions_and_are_revertible(rolled):
    r = roll_row(rolled, "M1", "2024-03")
    edit = {"id": r["id"], "version": r["version"], "row": 1, "paid": "76.5", "paid_on": "2024-03-05",
            "method": "现金", "quarterly": False, "proxy_name": None, "consent": False, "note": "会上收取"}
    res = payments.save_roll_edits(rolled, T, [edit], today=TODAY)
    assert roll_row(rolled, "M1", "2024-03")["paid"] == Decimal("76.50")
    with pytest.raises(ConflictError):
        payments.save_roll_edits(rolled, T, [edit], today=TODAY)
    with pytest.raises(BadInput) as e:
        payments.save_roll_edits(rolled, T, [{**edit, "version": r["version"] + 1, "paid": "80", "row": 7}], today=TODAY)
    assert e.value.errors[0].row == 7 and e.value.errors[0].column == "实缴金额"
    audit.revert_batch(rolled, T, res.batch_id)
    assert roll_row(rolled, "M1", "2024-03")["paid"] == 0


def test_multi_month_payments_need_consent_and_exact_amounts(rolled):
    with pytest.raises(BadInput, match="党支部同意"):
        payments.record_multi_month(rolled, T, "M1", "2024-04", 3, "229.50", date(2024, 4, 2), "cash", today=TODAY)
    with pytest.raises(BadInput, match="不一致"):
        payments.record_multi_month(rolled, T, "M1", "2024-04", 3, "230", date(2024, 4, 2), "cash", consent=True,
                              today=TODAY)
    res = payments.record_multi_month(rolled, T, "M1", "2024-04", 3, "229.50", date(2024, 4, 2), "cash", consent=True,
                                today=TODAY)
    assert res.rows == 3 and not res.warnings
    assert roll_row(rolled, "M1", "2024-06")["quarterly"] is True
    # 8 months paid at once, long after: accepted and flagged
    res = payments.record_multi_month(rolled, T, "M2", "2024-01", 8, "480", date(2024, 12, 1), "cash", consent=True,
                                today=TODAY)
    assert res.back_pay_flags.height == 1 and "超过 6 个月" in res.warnings[0]
    calc = arrears.back_calculate(rolled, T, "2024-01", "2024-12")
    flagged = calc.back_pays.filter(pl.col("flag"))
    assert flagged["member_no"].to_list() == ["M2"] and flagged["months"][0] == 8


def test_voluntary_payments_of_1000_or_more_are_flagged(rolled):
    _, fwd = voluntary.record_voluntary(rolled, T, "M1", "2024-05", "999.99", date(2024, 5, 3), "cash", today=TODAY)
    assert not fwd
    vid, fwd = voluntary.record_voluntary(rolled, T, "M1", "2024-05", "1000.00", date(2024, 5, 3), "transfer", today=TODAY)
    assert fwd
    v = voluntary.voluntary_list(rolled, T, "2024-01", "2024-12")
    assert v.filter(pl.col("id") == vid)["forward"][0] is True
    assert roll_row(rolled, "M1", "2024-05")["paid"] == 0, "voluntary money never pays a month"
    assert roll.roll_summary(rolled, T, "2024-05")["forward_count"] == 1


# -- arrears --------------------------------------------------------------------------------------
def test_back_calculation_warnings_and_totals(rolled):
    # M1 pays Jan–Mar, then nothing; M2 pays everything but June
    paid = [("M1", f"2024-{m:02d}", "76.50") for m in (1, 2, 3)]
    paid += [("M2", f"2024-{m:02d}", "60") for m in range(1, 13) if m != 6]
    text = "党员编号,月份,实缴金额\n" + "\n".join(",".join(p) for p in paid) + "\n"
    payments.record_payments(rolled, T, frame(text, "p.csv"), default_method="cash", default_date=date(2024, 12, 15),
                       commit=True, today=TODAY)
    n_members = count(rolled, "members")
    calc = arrears.back_calculate(rolled, T, "2024-01", "2024-12", org_id=1)
    m = {r["member_no"]: r for r in calc.members.iter_rows(named=True)}
    assert m["M1"]["max_consecutive_unpaid"] == 9 and m["M1"]["warning"] == "flag"
    assert m["M1"]["arrears_fen"] == 9 * 7650 and m["M1"]["trailing_unpaid"] == 9
    assert m["M2"]["warning"] == "none" and m["M2"]["arrears_fen"] == 6000
    assert m["M4"]["arrears_fen"] == 0 and m["M4"]["warning"] == "none", "exempt months count as paid"
    assert m["M5"]["months"] == 10, "the probationary member owes from the month admitted"
    assert set(arrears.warning_list(calc, "flag")["member_no"]) == {"M1", "M3", "M5", "M6"}, "the others never paid"
    org = calc.orgs.filter(pl.col("org") == "测试第一党支部").row(0, named=True)
    assert org["arrears_fen"] == sum(r["arrears_fen"] for r in m.values() if r["org"] == "测试第一党支部")
    top = arrears.arrears_by_group(calc, "org", n=1)  # the chart's "owing the most" bars
    assert top.height == 1 and top["arrears_fen"][0] == calc.orgs["arrears_fen"].max() > 0
    assert count(rolled, "members") == n_members, "nothing removes anyone"
    assert dues_store.BRANCH_DECIDES.startswith("连续 6 个月")
    # the back-calculation uses the base in force each month, not the roll's stored amount
    bases(rolled, [("M1", "2024-07", "20000")], redetermine=True)
    calc = arrears.back_calculate(rolled, T, "2024-01", "2024-12", member_ids=[1])
    d = calc.detail.sort("month")
    assert d["due_fen"].to_list()[5:7] == [7650, 40000] and d["roll_due_fen"][6] == 7650


def test_statement_and_arrears_xlsx(rolled):
    summary, detail = arrears.member_statement(rolled, T, 1, "2024-01", "2024-06")
    assert summary["arrears_fen"] == 6 * 7650 and detail.height == 6
    data = arrears.member_statement_xlsx(rolled, T, 1, "2024-01", "2024-06")
    back = fileio.read_frame(data=data, name="s.xlsx", sheet="逐月明细")
    assert back.df.height == 6 and "应缴（按规定）" in back.df.columns
    calc = arrears.back_calculate(rolled, T, "2024-01", "2024-06")
    assert fileio.read_frame(data=arrears.arrears_xlsx(calc), name="a.xlsx").df.height == calc.orgs.height


def test_roll_xlsx_reads_back(rolled):
    data = dues_exports.roll_xlsx(rolled, T, "2024-02", org_id=1)
    back = fileio.read_frame(data=data, name="r.xlsx")
    assert back.df.height == 5, "M5 is admitted in March"
    assert back.df.filter(pl.col("党员编号") == "M1")["应缴金额"][0] == "76.5"
    assert "计算基数" in back.df.columns


# -- providers and datasets -------------------------------------------------------------------
def test_collection_rate_provider(rolled):
    text = "党员编号,月份,实缴金额\nM1,2024-02,76.50\nM2,2024-02,30\n"
    payments.record_payments(rolled, T, frame(text, "p.csv"), default_method="cash", default_date=date(2024, 2, 20),
                       commit=True, today=TODAY)
    with rolled.read() as cur:
        v = dict(indicators.collection_rate_by_org(cur, "2024-02").iter_rows())
        # branch: due 76.50 + 60 + 0.20 (farmer default) + 0 + 0 (M5 not yet admitted) → 106.50 / 136.70
        assert v[2] == pytest.approx(77.9, abs=0.01)
        assert v[1] == pytest.approx(106.50 / 136.90 * 100, abs=0.01)  # + the committee's student 0.20
        year = dict(indicators.collection_rate_by_org(cur, date(2024, 12, 31)).iter_rows())
        assert 0 < year[1] < 10
    assert registry.indicators()["dues_collection_rate"].provider is indicators.collection_rate_by_org


def test_chart_datasets_are_for_dues_readers_only(rolled):
    codes = {d.code for d in datasets.available_datasets(rolled, T)}
    assert {"dues_collection", "dues_by_category"} <= codes
    assert not {"dues_collection", "dues_by_category"} & {d.code for d in datasets.available_datasets(rolled, EDITOR)}
    series = dues_charts.collection_series(rolled, T, "2024-01", "2024-12", by="org")
    groups, top = dues_charts.top_groups(series, n=1)  # the rate heat map's rows
    assert groups == [series.group_by("grp").agg(pl.col("due_fen").sum()).sort("due_fen")["grp"][-1]]
    assert set(top["grp"]) == set(groups) and top.height == series.filter(pl.col("grp") == groups[0]).height
    df = datasets.load_frame(rolled, T, "dues_collection")
    assert df.height == 24 and df["due"].sum() > 0
    assert datasets.load_frame(rolled, T, "dues_by_category").height > 0


# -- demo data --------------------------------------------------------------------------------
def test_demo_data_has_arrears_flags_and_a_forwarded_payment(demo_db):
    months = roll.roll_months(demo_db, T)
    assert len(months) == 24
    calc = arrears.back_calculate(demo_db, T, months[12], months[1])
    assert (calc.members["warning"] == "flag").sum() >= 1
    assert calc.members.filter(pl.col("max_consecutive_unpaid").is_between(3, 5)).height >= 1
    assert calc.back_pays.filter(pl.col("flag")).height >= 1
    v = voluntary.voluntary_list(demo_db, T, months[-1], months[0])
    assert v.filter(pl.col("forward") & (pl.col("amount") >= Decimal("1000"))).height == 1
    assert roll.reproduce_roll(demo_db, T, months[3]).height == 0
    with demo_db.read() as cur:
        bad = cur.execute("SELECT count(*) FROM dues_roll WHERE paid > due OR (paid > 0 AND paid_on IS NULL)"
                          " OR ((quarterly OR proxy_name IS NOT NULL) AND NOT consent)").fetchone()[0]
        unit = cur.execute("SELECT org_id FROM dues_payroll_mappings LIMIT 1").fetchone()[0]
    assert bad == 0
    assert payroll.payroll_mapping(demo_db, T, unit) == dues_demo.DEMO_PAYROLL_MAPPING


# -- issue 16 §2: each month by its own rule and category ----------------------------------------
def test_back_calculation_2016_to_2018_uses_each_months_rule(town):
    """2016-05 employed base 60000 → 1200.00 (2008 rules, no ceiling); 2017 on → 1000.00."""
    bases(town, [("M1", "2016-01", "60000")])
    calc = arrears.back_calculate(town, T, "2016-05", "2018-04", member_ids=[1])
    d = calc.detail.sort("month")
    by_month = dict(zip(d["month"].dt.strftime("%Y-%m").to_list(), d["due_fen"].to_list()))
    assert by_month["2016-05"] == by_month["2016-12"] == 120000
    assert by_month["2017-01"] == by_month["2018-04"] == 100000
    assert set(d.filter(pl.col("month") < date(2017, 1, 1))["rule_version"]) == {"0"}
    assert set(d.filter(pl.col("month") >= date(2017, 1, 1))["rule_version"]) == {"1"}
    assert calc.members["due_total_fen"][0] == 8 * 120000 + 16 * 100000
    table = arrears.statement_frame(d, with_base=True)
    assert table["适用规定"][0].startswith("2008 年规定") and "2017-01" in table["适用规定"][-1]
    assert table.filter(pl.col("月份") == "2016-05")["应缴（按规定）"][0] == Decimal("1200.00")


def test_payroll_base_is_read_by_each_months_rule(town):
    """dues.md worked example: 4380 → 43.80 by the 2017 reading; the same pay in 2016 (tax only): 5940 → 89.10."""
    payroll.commit_payroll(town, T, 1, "2016-06", frame(f"{HEAD}\nM1,张三,{CIVIL}\n"), MAPPING)
    calc = arrears.back_calculate(town, T, "2016-11", "2017-02", member_ids=[1])
    d = calc.detail.sort("month")
    assert d["due_fen"].to_list() == [8910, 8910, 4380, 4380]
    assert d["base_used_fen"].to_list() == [594000, 594000, 438000, 438000]
    roll.generate_roll(town, T, months=["2016-12", "2017-01"])
    assert roll_row(town, "M1", "2016-12")["due"] == Decimal("89.10") and roll_row(town, "M1", "2016-12")["settings_id"] == 0
    assert roll_row(town, "M1", "2017-01")["due"] == Decimal("43.80") and roll_row(town, "M1", "2017-01")["settings_id"] == 1
    assert roll.reproduce_roll(town, T, "2016-12").height == 0


def test_category_history_employed_then_retired(town):
    bases(town, [("M1", "2018-01", "6000")])
    bases(town, [("M1", "2018-07", "4000")])   # the pension, recorded when the member retires
    with town.write() as cur:                   # the register already says 离退休
        cur.execute("UPDATE members SET dues_category = 'retired' WHERE id = 1")
    with pytest.raises(BadInput, match="变更前的类别"):
        payroll.set_category(town, T, "M1", "2018-07", "离退休")
    batch = payroll.set_category(town, T, "M1", "2018-07", "离退休", previous="在职")
    hist = payroll.category_history(town, T, 1)
    assert hist["category"].to_list() == ["employed", "retired"] and hist["month"][0] == date(2010, 5, 1)
    d = arrears.back_calculate(town, T, "2018-05", "2018-08", member_ids=[1]).detail.sort("month")
    assert d["category"].to_list() == ["employed", "employed", "retired", "retired"]
    # the year a category changes, the new category's base applies at once (not next January)
    assert d["due_fen"].to_list() == [9000, 9000, 2000, 2000]
    audit.revert_batch(town, T, batch)
    assert payroll.category_history(town, T, 1).height == 0
    with pytest.raises(PermissionDenied):
        payroll.set_category(town, VIEWER, "M1", "2018-07", "离退休", previous="在职")


def test_a_dated_setting_changes_only_the_months_from_its_month(town):
    bases(town, [("M1", "2016-01", "60000")])
    sid = dues_settings.save_settings(town, T, {"cap": False}, note="2020 年起不封顶（测试）", effective_from="2020-01")
    d = arrears.back_calculate(town, T, "2019-12", "2020-01", member_ids=[1]).detail.sort("month")
    assert d["due_fen"].to_list() == [100000, 120000]
    assert d["rule_version"].to_list() == ["1", str(sid)]
    assert dues_settings.current_settings(town, T)[0] == sid
    assert dues_settings.save_settings(town, T, {"cap": False}, effective_from="2020-01") == sid   # unchanged: no new version


def test_months_after_this_month_are_not_owed(town):
    """Issue 17: a future 截止月份 (2027-01 with today 2026-11-23) reported everyone as owing."""
    bases(town, [("M1", "2026-01", "5100")])
    calc = arrears.back_calculate(town, T, "2026-10", "2027-01", member_ids=[1])
    assert calc.detail["month"].max() == date(2026, 11, 1)
    assert calc.members["months"][0] == 2 and calc.counted_end == date(2026, 11, 1)
    future = arrears.back_calculate(town, T, "2026-12", "2027-01")
    assert future.members.height == 0 and future.detail.height == 0 and int(future.orgs["owing"].sum() or 0) == 0


def test_cached_month_rows_give_the_same_back_calculation_and_fingerprints_follow_writes(town):
    """Issue 17: the page computes each month once per input (month_rows, keyed by the
    month's fingerprint) and assembles any period from them."""
    bases(town, [("M1", "2024-01", "5100"), ("M2", "2024-01", "6000"), ("M5", "2024-03", "3000")])
    months = dues_store.months_between("2024-01", "2024-06")
    roll.generate_roll(town, T, months=months[:4])
    payments.save_roll_edits(town, T, [{"id": roll_row(town, "M1", "2024-02")["id"], "paid": "76.50",
                                  "paid_on": "2024-02-10", "method": "cash",
                                  "version": roll_row(town, "M1", "2024-02")["version"]}], today=TODAY)
    whole = arrears.back_calculate(town, T, "2024-01", "2024-06", org_id=2)
    rows = [arrears.month_rows(town, T, m) for m in months]
    cached = arrears.back_calculate_rows(town, T, "2024-01", "2024-06", rows, org_id=2)
    assert cached.members.equals(whole.members) and cached.orgs.equals(whole.orgs)
    assert cached.missing.equals(whole.missing) and cached.back_pays.equals(whole.back_pays)
    assert cached.detail.height == 0   # the page never shows every member's months
    before = arrears.month_fingerprints(town, T, months)
    r = roll_row(town, "M1", "2024-03")
    payments.save_roll_edits(town, T, [{"id": r["id"], "paid": "76.50", "paid_on": "2024-03-10", "method": "cash",
                                  "version": r["version"]}], today=TODAY)
    after = arrears.month_fingerprints(town, T, months)
    assert [m for m in months if before[m] != after[m]] == [date(2024, 3, 1)]   # only March recomputes
    bases(town, [("M6", "2024-01", "100")])
    assert all(arrears.month_fingerprints(town, T, months)[m] != after[m] for m in months)  # bases: every month


def test_month_ledgers_give_back_calculate_s_figures_for_any_period_and_scope(demo_db):
    """Issue 17: the page's path (one compact ledger per month, summed and its unpaid runs
    counted across the months) equals the full back-calculation: member totals, runs and
    warnings, org totals, the missing list and the back payments — over periods that start,
    end and reach past today differently, for the city and for one org."""
    ledgers = arrears.months_rows(demo_db, T, dues_store.months_between("2024-01", "2026-11"))
    assert set(ledgers[date(2024, 6, 1)].columns) == {"member_id", "due_fen", "paid_fen"}
    seen = {"flag": 0, "warn": 0, "missing": 0}
    for start, end, org in [("2024-01", "2026-11", None), ("2025-06", "2026-12", None), ("2025-01", "2025-12", 3),
                            ("2026-12", "2027-02", None)]:
        cached = arrears.back_calculate_rows(demo_db, T, start, end, ledgers, org_id=org)
        whole = arrears.back_calculate(demo_db, T, start, end, org_id=org)
        for part in ("members", "orgs", "missing", "back_pays"):
            assert getattr(cached, part).equals(getattr(whole, part)), (start, end, org, part)
        seen["flag"] += int((whole.members["warning"] == "flag").sum())
        seen["warn"] += int((whole.members["warning"] == "warn").sum())
        seen["missing"] += whole.missing.height
    assert all(seen.values()), seen   # the data does exercise runs, warnings and missing months


def test_a_roll_of_many_months_is_written_a_few_months_at_a_time_as_one_batch(town):
    """generate_roll over more months than one chunk (roll.ROLL_CHUNK_MONTHS): the same rows as
    one month at a time, one audited batch that reverts as a whole, missing bases of every chunk."""
    bases(town, [("M1", "2024-01", "5100"), ("M2", "2024-01", "6000")])   # M5 has no base: listed missing
    months = [f"2024-{m:02d}" for m in range(1, 11)]
    assert len(months) > 2 * roll.ROLL_CHUNK_MONTHS
    res = roll.generate_roll(town, T, months=months)
    cols = "member_id, month, category, base, fixed_amount, rate_permille, rule, due, settings_id"
    with town.read() as cur:
        together = cur.sql(f"SELECT {cols} FROM dues_roll ORDER BY member_id, month").pl()
    assert res.inserted == together.height and sorted(set(res.missing["month"])) == months[2:]
    audit.revert_batch(town, T, res.batch_id)
    assert count(town, "dues_roll") == 0
    for m in months:
        roll.generate_roll(town, T, month=m)
    with town.read() as cur:
        one_by_one = cur.sql(f"SELECT {cols} FROM dues_roll ORDER BY member_id, month").pl()
    assert together.equals(one_by_one) and together.height == 5 * 10   # M5 (admitted 2024-03) has no base
