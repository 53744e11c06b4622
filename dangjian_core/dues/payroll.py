"""Payroll sheets → bases (工资表 → 计算基数): column mapping per unit, preview, commit;
ready bases (`import_bases`, `set_base`), categories (`set_category`) and their histories."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from .. import audit, fileio, uow
from ..auth import User, require
from ..db import Cursor, Database
from ..errors import BadInput, CellError
from . import store
from .arrears_rules import month_index
from .engine import MaskErrors, categories_from, money_to_fen
from .model import BASE_CATEGORIES, CATEGORIES, FIRST_MONTH, DuesSettings
from .rules import MAPPING_ALIASES, MAPPING_KINDS, compute_base_frame, normalize_category
from .settings import _settings, _settings_at

# =======================================================================================
# Payroll → base (工资表)
# =======================================================================================
_GUESS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("member_id", ("党员编号", "人员编号", "工号", "member_id")),
    ("name", ("姓名", "name")),
    ("tax", ("个人所得税", "个税", "所得税")),
    ("deducted", ("公积金", "养老", "医疗", "失业", "年金", "社保", "社会保险")),
    ("ignored", ("奖励性", "改革性", "住房补", "交通", "通讯", "公务用车", "车补", "加班", "误餐", "取暖",
                 "防暑", "物业", "一次性", "抚恤", "身份证", "部门", "科室", "备注", "序号", "应发", "实发",
                 "合计", "扣款合计", "银行", "账号")),
    ("retiree_allowance", ("离退休津贴", "退休补贴")),
    ("counted", ("工资", "津贴", "补贴", "绩效", "薪级", "岗位", "级别", "职务", "技能", "技术等级", "基本",
                 "离退休费", "养老金")),
)


def guess_kind(column: str) -> str | None:
    """A first guess for a payroll column by its name (the treasurer confirms)."""
    t = str(column).strip()
    for kind, words in _GUESS:
        if any(w in t for w in words):
            return kind
    return None


def _norm_kind(value: object) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    t = str(value).strip()
    for code, label in MAPPING_KINDS.items():
        if t == label:
            return code
    return MAPPING_ALIASES.get(t) or MAPPING_ALIASES.get(t.lower()) or t


def payroll_mapping(db: Database, user: User, org_id: int) -> dict[str, str]:
    """The saved column mapping of a unit's payroll (column name → kind code)."""
    require(user, store.PERM_READ)
    with db.read() as cur:
        return dict(cur.execute("SELECT column_name, kind FROM dues_payroll_mappings WHERE org_id = ?"
                                " ORDER BY id", [int(org_id)]).fetchall())


@dataclass
class PayrollPreview:
    month: date
    settings_id: int
    settings: DuesSettings
    mapping: dict[str, str]
    lines: pl.DataFrame       # row, member_id, member_no, name, category, counted/deducted/tax/base/fixed/dues _fen,
    #                           rate_permille, rule, clamped, applies_from
    warnings: list[str] = field(default_factory=list)

    @property
    def total_fen(self) -> int:
        return int(self.lines["dues_fen"].sum() or 0)


def _payroll_lines(cur: Cursor, user: User, org_id: int | None, month: object, frame: fileio.Frame,
                   mapping: Mapping[str, object] | None,
                   redetermine: bool) -> PayrollPreview:
    if org_id is None:
        raise BadInput("请先选择工资表所属的单位（党组织）")
    if not cur.execute("SELECT count(*) FROM orgs WHERE id = ?", [int(org_id)]).fetchone()[0]:
        raise BadInput(f"找不到编号为 {org_id} 的党组织")
    m = store.parse_month(month, "工资所属月份")
    df = frame.df
    if df.height == 0:
        raise BadInput(f"工资表第 {frame.first_row} 行起没有数据：表头下面是空的", file=frame.file)
    sid, settings = _settings_at(cur, m)  # the rule in force in the pay month
    kinds = {str(c): _norm_kind(k) for c, k in (mapping or {}).items()}
    warnings = [f"上次设置过口径的列「{c}」这次文件中没有" for c, k in kinds.items()
                if c not in df.columns and k in ("counted", "deducted", "tax")]
    mp = {c: k for c, k in kinds.items() if c in df.columns and k is not None}
    base = compute_base_frame(df, mp, settings, retired=False, first_row=frame.first_row, file=frame.file)
    id_col = next(c for c, k in mp.items() if k == "member_id")
    n = df.height
    lines = base.with_columns(row=pl.int_range(frame.first_row, frame.first_row + n, dtype=pl.Int64, eager=True))
    members = cur.sql("SELECT m.id AS member_id, m.member_no, m.name AS db_name, m.dues_category, m.org_id AS member_org"
                      " FROM members m").pl()
    lines = lines.rename({"member_id": "member_no"}).join(members, on="member_no", how="left")
    errs = MaskErrors()
    errs.mask(lines, pl.col("member_id").is_null(), id_col, "member_no",
              "找不到这个党员编号：请先在「党员名册」中登记，或核对编号")
    retired = pl.col("dues_category") == "retired"
    if lines.filter(retired).height:
        if settings.retiree_base == "fixed":
            errs.mask(lines, retired, id_col, "member_no",
                      "这位党员是离退休人员，设置为“固定基数”：请用「导入基数」直接填写，不从工资表计算")
        else:
            rb = compute_base_frame(df, mp, settings, retired=True, first_row=frame.first_row, file=frame.file)
            lines = lines.with_columns(
                **{c: pl.when(retired).then(rb[c]).otherwise(pl.col(c))
                   for c in ("counted_fen", "deducted_fen", "deducted_all_fen", "tax_fen", "base_fen", "clamped")})
    if errs:
        raise BadInput(f"发现 {errs.count} 处错误，没有导入任何基数", errs.errors(), file=frame.file)
    if "name" in lines.columns:
        odd = lines.filter(pl.col("name").is_not_null() & (pl.col("name").str.strip_chars() != pl.col("db_name")))
        warnings += [f"第 {r} 行姓名「{a}」与党员名册中的「{b}」不一致，请核对"
                     for r, a, b in odd.select("row", "name", "db_name").head(10).iter_rows()]
    ids = lines["member_id"].to_list()
    store._register(cur, "dj_pr_ids", store._ids_frame(ids))
    extra = cur.sql(
        "SELECT m.id AS member_id, CAST(f.amount * 100 AS BIGINT) AS farmer_fen,"
        " (SELECT CAST(b.fixed_amount * 100 AS BIGINT) FROM member_bases b WHERE b.member_id = m.id"
        "   AND b.fixed_amount IS NOT NULL ORDER BY b.month DESC, b.id DESC LIMIT 1) AS member_fixed_fen,"
        " (SELECT count(*) FROM member_bases b WHERE b.member_id = m.id AND b.month < ?) AS earlier"
        " FROM members m LEFT JOIN dues_farmer_amounts f ON f.org_id = m.org_id"
        " WHERE m.id IN (SELECT k FROM dj_pr_ids)", params=[m]).pl()
    cur.unregister("dj_pr_ids")
    lines = store._compute(lines.with_columns(pl.col("member_id").cast(pl.Int32))
                     .join(extra.with_columns(pl.col("member_id").cast(pl.Int32)), on="member_id", how="left"),
                     settings)
    immediate = settings.amount_mode == "monthly" or redetermine or m.month == 1
    lines = lines.with_columns(
        applies_from=pl.when(pl.lit(immediate) | (pl.col("earlier") == 0)).then(pl.lit(m))
        .otherwise(pl.lit(date(m.year + 1, 1, 1))),
        name=pl.col("db_name"))
    clamped = lines.filter(pl.col("clamped"))
    if clamped.height:
        warnings.append(f"{clamped.height} 人扣除项目超过计入项目，基数按 0.00 元计：请核对口径")
    later = lines.filter(pl.col("applies_from") > pl.lit(m))
    if later.height:
        warnings.append(f"设置为“每年年初核定，年内不变”：{later.height} 人的新基数从 {later['applies_from'][0]:%Y-%m} 起生效；"
                        "如需本月起按新基数收缴，请勾选「重新核定」")
    cols = ["row", "member_id", "member_no", "name", "category", "counted_fen", "deducted_fen", "deducted_all_fen", "tax_fen",
            "base_fen", "clamped", "fixed_fen", "dues_fen", "rate_permille", "rule", "applies_from"]
    return PayrollPreview(m, sid, settings, mp, lines.select(cols), warnings)


def preview_payroll(db: Database, user: User, org_id: int | None, month: object, frame: fileio.Frame,
                    mapping: Mapping[str, object] | None,
                    *, redetermine: bool = False) -> PayrollPreview:
    """Check a payroll sheet with a column mapping: every member's base and dues, or a
    BadInput naming each bad row and column. Nothing is written."""
    require(user, store.PERM_WRITE)
    require(user, store.PERM_SALARY)
    with db.read() as cur:
        return _payroll_lines(cur, user, org_id, month, frame, mapping, redetermine)


@dataclass
class ImportResult:
    inserted: int
    updated: int
    batch_id: int | None
    import_id: int | None = None
    warnings: list[str] = field(default_factory=list)
    category_changes: int = 0

    @property
    def summary(self) -> str:
        s = f"新增基数 {self.inserted} 条，更新 {self.updated} 条"
        if self.category_changes:
            s += f"，修改党员类别 {self.category_changes} 人"
        return s


def _save_mapping(act: uow.Action, org_id: int, mapping: Mapping[str, str | None]) -> int:
    cur, user = act.cur, act.user
    old = {c: (i, k) for i, c, k in cur.execute(
        "SELECT id, column_name, kind FROM dues_payroll_mappings WHERE org_id = ?", [int(org_id)]).fetchall()}
    n = 0
    for col, kind in mapping.items():
        if col in old and old[col][1] == kind:
            continue
        if col in old:
            i = old[col][0]
            before = audit.rows_json(cur, "dues_payroll_mappings", "id", [i]).get(str(i))
            cur.execute("UPDATE dues_payroll_mappings SET kind = ?, version = version + 1, updated_at = current_timestamp,"
                        " updated_by = ? WHERE id = ?", [kind, user.username, i])
            act.record("dues_payroll_mappings", i, "update", before,
                         audit.rows_json(cur, "dues_payroll_mappings", "id", [i]).get(str(i)))
        else:
            i = cur.execute("INSERT INTO dues_payroll_mappings(org_id, column_name, kind, updated_by)"
                            " VALUES (?, ?, ?, ?) RETURNING id", [int(org_id), col, kind, user.username]).fetchone()[0]
            act.record("dues_payroll_mappings", i, "insert", None,
                         audit.rows_json(cur, "dues_payroll_mappings", "id", [i]).get(str(i)))
        n += 1
    return n


def save_mapping(db: Database, user: User, org_id: int, mapping: Mapping[str, object]) -> int:
    """Save a unit's column mapping on its own (also saved by every payroll import)."""
    require(user, store.PERM_WRITE)
    mp = {str(c): _norm_kind(k) for c, k in mapping.items() if _norm_kind(k)}
    bad = [CellError(None, c, k, "口径无法识别，应为：" + "、".join(MAPPING_KINDS.values()))
           for c, k in mp.items() if k not in MAPPING_KINDS]
    if bad:
        raise BadInput("工资项口径设置有误", bad)
    with uow.action(db, user, store.PERM_WRITE, "dues_mapping", "保存工资项口径") as act:
        return _save_mapping(act, org_id, mp)


def _upsert_bases(act: uow.Action, rows: pl.DataFrame, *, source: str, import_id: int | None,
                  redetermine: bool) -> tuple[int, int]:
    """rows: member_id, month, base_fen, fixed_fen?, counted_fen?, deducted_fen?, tax_fen?, note?"""
    cur, user = act.cur, act.user
    for c in ("fixed_fen", "counted_fen", "deducted_fen", "tax_fen"):
        if c not in rows.columns:
            rows = rows.with_columns(pl.lit(None, pl.Int64).alias(c))
    if "note" not in rows.columns:
        rows = rows.with_columns(note=pl.lit(None, pl.String))
    frame = rows.select(pl.col("member_id").cast(pl.Int32), pl.col("month").cast(pl.Date),
                        *[pl.col(c).cast(pl.Int64) for c in ("base_fen", "fixed_fen", "counted_fen", "deducted_fen",
                                                            "tax_fen")], pl.col("note").cast(pl.String))
    store._register(cur, "dj_bases", frame)
    existing = cur.sql("SELECT b.id, b.member_id, b.month FROM member_bases b JOIN dj_bases f"
                       " ON f.member_id = b.member_id AND f.month = b.month").pl()
    upd = frame.join(existing, on=["member_id", "month"], how="inner")
    new = frame.join(existing, on=["member_id", "month"], how="anti")
    if upd.height:
        store._register(cur, "dj_bases_upd", upd)
        store._register(cur, "dj_bases_ids", upd.select(pl.col("id").cast(pl.Int64).alias("k")))
        before = store._snapshot(cur, "member_bases", "dj_bases_ids")
        cur.execute(f"UPDATE member_bases AS t SET base = {store._d('f.base_fen')},"
                    f" fixed_amount = coalesce({store._d('f.fixed_fen')}, t.fixed_amount), counted = {store._d('f.counted_fen')},"
                    f" deducted = {store._d('f.deducted_fen')}, tax = {store._d('f.tax_fen')}, redetermine = ?, source = ?,"
                    " import_id = ?, note = coalesce(f.note, t.note), version = t.version + 1,"
                    " updated_at = current_timestamp, updated_by = ? FROM dj_bases_upd f WHERE t.id = f.id",
                    [redetermine, source, import_id, user.username])
        store._audit_updates(act, "member_bases", before, store._snapshot(cur, "member_bases", "dj_bases_ids"))
    if new.height:
        first = store._reserve_ids(cur, "member_bases_seq", new.height)
        store._register(cur, "dj_bases_new", new.with_columns(
            (pl.int_range(new.height, dtype=pl.Int64) + first).alias("id")))
        cur.execute("INSERT INTO member_bases(id, member_id, month, base, fixed_amount, counted, deducted, tax,"
                    f" redetermine, source, import_id, note, updated_by) SELECT id, member_id, month, {store._d('base_fen')},"
                    f" {store._d('fixed_fen')}, {store._d('counted_fen')}, {store._d('deducted_fen')}, {store._d('tax_fen')}, ?, ?, ?, note, ?"
                    " FROM dj_bases_new",
                    [redetermine, source, import_id, user.username])
        store._audit_inserts_range(act, "member_bases", first, first + new.height - 1)
    return new.height, upd.height


def commit_payroll(db: Database, user: User, org_id: int, month: object, frame: fileio.Frame,
                   mapping: Mapping[str, object] | None,
                   *, redetermine: bool = False) -> ImportResult:
    """Import a checked payroll sheet: each member's base for the month (replacing an earlier
    import of the same month), the unit's column mapping (reused next time) and an import
    record — one audited batch, all or nothing."""
    require(user, store.PERM_WRITE)
    require(user, store.PERM_SALARY)
    with uow.action(db, user, store.PERM_WRITE, "dues_payroll", f"导入工资表：{frame.file}") as act:
        cur = act.cur
        pv = _payroll_lines(cur, user, org_id, month, frame, mapping, redetermine)
        act.describe(f"导入工资表：{frame.file}（{store.month_text(pv.month)}，{pv.lines.height} 人）")
        _save_mapping(act, int(org_id), pv.mapping)
        imp = cur.execute("INSERT INTO dues_payroll_imports(org_id, month, file_name, row_count, settings_id, redetermine,"
                          " kind, updated_by) VALUES (?, ?, ?, ?, ?, ?, 'payroll', ?) RETURNING id",
                          [int(org_id), pv.month, frame.file, pv.lines.height, pv.settings_id, redetermine,
                           user.username]).fetchone()[0]
        act.record("dues_payroll_imports", imp, "insert", None,
                     audit.rows_json(cur, "dues_payroll_imports", "id", [imp]).get(str(imp)))
        ins, upd = _upsert_bases(act, pv.lines.select(
            "member_id", pl.lit(pv.month).alias("month"), "base_fen", "counted_fen",
            pl.col("deducted_all_fen").alias("deducted_fen"), "tax_fen"),  # all of it: another month's rule may read it
            source="payroll", import_id=imp, redetermine=redetermine)
    return ImportResult(ins, upd, act.batch_id, imp, pv.warnings)


def payroll_template(db: Database, user: User, org_id: int) -> bytes:
    """An example payroll sheet (the unit's members, typical civil-servant pay items, empty
    amounts) to show the expected shape."""
    require(user, store.PERM_READ)
    with db.read() as cur:
        scope = store._scope(cur, org_id)
        mem = cur.sql("SELECT member_no AS 党员编号, name AS 姓名 FROM members m"
                      f" WHERE {store._scope_sql(cur, scope, 'm.org_id')} ORDER BY member_no LIMIT 2000").pl()
    cols = ["职务工资", "级别工资", "工作性津贴", "生活性补贴", "通讯补贴", "交通补贴", "养老保险", "医疗保险",
            "职业年金", "住房公积金", "个人所得税"]
    return fileio.xlsx_bytes({"工资表": mem.with_columns([pl.lit(None, pl.String).alias(c) for c in cols])})


# -- ready bases --------------------------------------------------------------------------
BASE_HEADERS: dict[str, tuple[str, ...]] = {
    "member_no": ("党员编号", "member_id", "member_no"),
    "name": ("姓名", "name"),
    "month": ("月份", "所属月份", "month"),
    "base": ("计算基数", "基数", "base", "base_income"),
    "category": ("党员类别", "党费类别", "category"),
    "fixed_amount": ("固定数额", "核定数额", "少交数额", "fixed_amount"),
    "note": ("备注", "note"),
}


def _prepare_bases(cur: Cursor, frame: fileio.Frame, month: object) -> tuple[pl.DataFrame, list[str]]:
    hdr = store._map_headers(frame, BASE_HEADERS)
    df = frame.df
    if "member_no" not in hdr:
        raise BadInput("缺少「党员编号」列（现有列：" + "、".join(df.columns) + "）", file=frame.file)
    if "base" not in hdr and "fixed_amount" not in hdr and "category" not in hdr:
        raise BadInput("缺少「计算基数」列（现有列：" + "、".join(df.columns) + "）", file=frame.file)
    if "month" not in hdr and month is None:
        raise BadInput("缺少「月份」列：请在表中加一列月份（如 2024-01），或在页面上选择月份", file=frame.file)
    if df.height == 0:
        raise BadInput(f"第 {frame.first_row} 行起没有数据：表头下面是空的", file=frame.file)
    n = df.height
    errs = MaskErrors()
    w = pl.DataFrame({"row": pl.int_range(frame.first_row, frame.first_row + n, dtype=pl.Int64, eager=True),
                      "member_no": df[hdr["member_no"]].cast(pl.String).str.strip_chars()})
    members = cur.sql("SELECT id AS member_id, member_no, name AS db_name, dues_category FROM members").pl()
    w = w.join(members, on="member_no", how="left")
    empty = pl.col("member_no").is_null() | (pl.col("member_no").str.len_chars() == 0)
    errs.mask(w, empty, hdr["member_no"], "member_no", "缺少党员编号")
    errs.mask(w, ~empty & pl.col("member_id").is_null(), hdr["member_no"], "member_no",
              "找不到这个党员编号：请先在「党员名册」中登记，或核对编号")
    if "month" in hdr:
        idx, prob = month_index(df[hdr["month"]])
        w = w.with_columns(m_prob=prob, m_raw=df[hdr["month"]].cast(pl.String),
                           month=pl.date(pl.lit(idx // 12), pl.lit(idx % 12 + 1), 1))
        errs.mask(w, pl.col("m_prob").is_not_null(), hdr["month"], "m_raw", lambda b: b["m_prob"].to_list(), 1)
    else:
        w = w.with_columns(month=pl.lit(store.parse_month(month), pl.Date))
    if "category" in hdr:
        raw = df[hdr["category"]].cast(pl.String)
        cat = categories_from(raw)
        w = w.with_columns(c_raw=raw, new_category=cat.cast(pl.String))
        blank = raw.is_null() | (raw.str.strip_chars().str.len_chars() == 0)
        w = w.with_columns(c_blank=blank)
        errs.mask(w, ~pl.col("c_blank") & pl.col("new_category").is_null(), hdr["category"], "c_raw",
                  "无法识别的党员类别，应为以下之一：" + "、".join(CATEGORIES.values()), 2)
    else:
        w = w.with_columns(new_category=pl.lit(None, pl.String))
    w = w.with_columns(category=pl.coalesce("new_category", "dues_category"))
    for name, label, order in (("base", "计算基数", 3), ("fixed_amount", "固定数额", 4)):
        if name in hdr:
            fen, prob = money_to_fen(df[hdr[name]])
            w = w.with_columns(pl.Series(f"{name}_fen", fen), pl.Series(f"{name}_p", prob.cast(pl.String)),
                               pl.Series(f"{name}_raw", df[hdr[name]].cast(pl.String)))
            errs.mask(w, pl.col(f"{name}_p").is_not_null() & (pl.col(f"{name}_p") != "missing"), hdr[name],
                      f"{name}_raw", lambda b: [label + store._MONEY_MSG[p] for p in b[f"{name}_p"].to_list()],
                      order)
        else:
            w = w.with_columns(pl.lit(None, pl.Int64).alias(f"{name}_fen"), pl.lit(None, pl.String).alias(f"{name}_p"))
    needs_base = pl.col("category").is_in(list(BASE_CATEGORIES))
    errs.mask(w, pl.col("member_id").is_not_null() & needs_base & pl.col("base_fen").is_null()
              & pl.col("base_p").fill_null("missing").eq("missing"),
              hdr.get("base", "计算基数"), "category",
              lambda b: [f"党员类别为「{CATEGORIES.get(c, c)}」，必须填写计算基数" for c in b["category"].to_list()], 3)
    errs.mask(w, (pl.col("category") == "reduced") & (pl.col("fixed_amount_fen").fill_null(0) <= 0)
              & pl.col("fixed_amount_p").fill_null("missing").eq("missing"),
              hdr.get("fixed_amount", "固定数额"), "category", "少交党员必须填写经批准的固定数额（大于 0）", 4)
    keyed = w.filter(pl.col("member_id").is_not_null() & pl.col("month").is_not_null())
    dup = keyed.with_columns(first=pl.col("row").min().over(["member_id", "month"])).filter(pl.col("row") != pl.col("first"))
    for r, mno, first in dup.select("row", "member_no", "first").iter_rows():
        errs.add_at(CellError(r, hdr["member_no"], mno, f"同一党员同一月份与第 {first} 行重复，每人每月只能有一行"))
    if errs:
        raise BadInput(f"发现 {errs.count} 处错误，没有导入任何基数", errs.errors(), file=frame.file)
    warnings = []
    if "name" in hdr:
        w = w.with_columns(file_name=df[hdr["name"]].cast(pl.String).str.strip_chars())
        odd = w.filter(pl.col("file_name").is_not_null() & (pl.col("file_name") != pl.col("db_name")))
        warnings += [f"第 {r} 行姓名「{a}」与党员名册中的「{b}」不一致，请核对"
                     for r, a, b in odd.select("row", "file_name", "db_name").head(10).iter_rows()]
    if "note" in hdr:
        w = w.with_columns(note=df[hdr["note"]].cast(pl.String))
    return w.rename({"base_fen": "base_fen", "fixed_amount_fen": "fixed_fen"}), warnings


def import_bases(db: Database, user: User, frame: fileio.Frame, *, month: object = None, redetermine: bool = False,
                 commit: bool = False) -> ImportResult:
    """Import ready bases: 党员编号, 计算基数, optional 月份 / 党员类别 / 固定数额 / 姓名 / 备注. A
    category given here also becomes the member's dues category (recorded in the same batch).
    `commit=False` only checks."""
    require(user, store.PERM_WRITE)
    require(user, store.PERM_SALARY)
    with uow.action(db, user, store.PERM_WRITE, "dues_bases", f"导入计算基数：{frame.file}") as act:
        cur = act.cur
        w, warnings = _prepare_bases(cur, frame, month)
        changes = w.filter(pl.col("new_category").is_not_null() & (pl.col("new_category") != pl.col("dues_category")))
        if changes.height:
            require(user, "members.write")
        if not commit:
            return ImportResult(0, 0, None, warnings=warnings + [f"将导入 {w.height} 条基数"],
                                category_changes=changes.unique("member_id").height)
        act.describe(f"导入计算基数：{frame.file}（{w.height} 条）")
        imp = cur.execute("INSERT INTO dues_payroll_imports(org_id, month, file_name, row_count, settings_id, redetermine,"
                          " kind, updated_by) VALUES (NULL, ?, ?, ?, ?, ?, 'bases', ?) RETURNING id",
                          [w["month"].min(), frame.file, w.height, _settings(cur)[0], redetermine,
                           user.username]).fetchone()[0]
        act.record("dues_payroll_imports", imp, "insert", None,
                     audit.rows_json(cur, "dues_payroll_imports", "id", [imp]).get(str(imp)))
        ins, upd = _upsert_bases(act, w.select("member_id", "month", "base_fen", "fixed_fen",
                                                            *(["note"] if "note" in w.columns else [])),
                                 source="import", import_id=imp, redetermine=redetermine)
        latest = changes.sort("month").unique("member_id", keep="last")
        if latest.height:
            store._register(cur, "dj_cat", latest.select(pl.col("member_id").cast(pl.Int32), pl.col("new_category")))
            store._register(cur, "dj_cat_ids", latest.select(pl.col("member_id").cast(pl.Int64).alias("k")))
            before = store._snapshot(cur, "members", "dj_cat_ids")
            cur.execute("UPDATE members AS t SET dues_category = f.new_category, version = t.version + 1,"
                        " updated_at = current_timestamp, updated_by = ? FROM dj_cat f WHERE t.id = f.member_id",
                        [user.username])
            store._audit_updates(act, "members", before, store._snapshot(cur, "members", "dj_cat_ids"))
    return ImportResult(ins, upd, act.batch_id, imp, warnings, latest.height)


def set_base(db: Database, user: User, member_no: str, month: object, base: object = None, *,
             fixed_amount: object = None, category: object = None,
             redetermine: bool = False, note: str | None = None) -> ImportResult:
    """One member's base for a month, typed in a form (same checks as the import)."""
    cols = {"党员编号": [str(member_no or "")], "月份": [str(month or "")],
            "计算基数": [None if base in (None, "") else str(base)],
            "固定数额": [None if fixed_amount in (None, "") else str(fixed_amount)],
            "备注": [note or None]}
    if category:
        cols["党员类别"] = [str(category)]
    frame = fileio.Frame(pl.DataFrame(cols, schema={k: pl.String for k in cols}), "登记基数", first_row=1)
    try:
        return import_bases(db, user, frame, redetermine=redetermine, commit=True)
    except BadInput as exc:
        if exc.errors:
            raise BadInput("；".join(f"{e.column}：{e.message}" for e in exc.errors)) from exc
        raise


def set_category(db: Database, user: User, member_no: str, month: object, category: object, *, previous: object = None,
                 note: str | None = None) -> int:
    """Record that a member's dues category is `category` from `month` on (e.g. 在职 → 离退休
    at retirement): the back-calculation and the roll then use each month's own category.
    The first change of a member also records the category before it (`previous`, default
    the register's category when it differs), from the member's admission, so earlier months
    keep theirs. The same month again replaces the row. Returns the audit batch id."""
    require(user, store.PERM_WRITE)
    m = store.parse_month(month, "类别变更月份")
    code = normalize_category(category)
    if code is None:
        raise BadInput(f"无法识别的党员类别「{category}」，应为：{'、'.join(CATEGORIES.values())}")
    prev = None
    if previous not in (None, ""):
        prev = normalize_category(previous)
        if prev is None:
            raise BadInput(f"无法识别的此前类别「{previous}」，应为：{'、'.join(CATEGORIES.values())}")
    with uow.action(db, user, store.PERM_WRITE, "member_categories", "登记党员类别变更") as act:
        cur = act.cur
        mid, _org, name = store._member_by_no(cur, member_no)
        reg, join = cur.execute("SELECT dues_category, join_date FROM members WHERE id = ?", [mid]).fetchone()
        earlier = cur.execute("SELECT count(*) FROM member_categories WHERE member_id = ? AND month < ?",
                              [mid, m]).fetchone()[0]
        first = date(join.year, join.month, 1) if join else date(*FIRST_MONTH, 1)
        first = max(first, date(*FIRST_MONTH, 1))
        rows = [(m, code)]
        if not earlier and m > first:
            prev = prev or (reg if reg != code else None)
            if prev is None:
                raise BadInput(f"党员「{name}」此前没有类别记录，名册中的类别也已是「{CATEGORIES[code]}」："
                               "请填写变更前的类别，以便此前的月份仍按原类别计算")
            rows.insert(0, (first, prev))
        act.describe(f"登记党员类别变更：{name} 自 {store.month_text(m)} 起为{CATEGORIES[code]}")
        for when, cat in rows:
            old = cur.execute("SELECT id FROM member_categories WHERE member_id = ? AND month = ?", [mid, when]).fetchone()
            if old:
                before = audit.rows_json(cur, "member_categories", "id", [old[0]])
                cur.execute("UPDATE member_categories SET category = ?, note = ?, version = version + 1,"
                            " updated_at = current_timestamp, updated_by = ? WHERE id = ?",
                            [cat, note, user.username, old[0]])
                act.record("member_categories", old[0], "update", before.get(str(old[0])),
                             audit.rows_json(cur, "member_categories", "id", [old[0]]).get(str(old[0])))
            else:
                new_id = cur.execute("INSERT INTO member_categories(member_id, month, category, note, updated_by)"
                                     " VALUES (?, ?, ?, ?, ?) RETURNING id",
                                     [mid, when, cat, note, user.username]).fetchone()[0]
                act.record("member_categories", new_id, "insert", None,
                             audit.rows_json(cur, "member_categories", "id", [new_id]).get(str(new_id)))
        return act.batch()


def category_history(db: Database, user: User, member_id: int) -> pl.DataFrame:
    """A member's dues category rows (month, category code and label), oldest first."""
    require(user, store.PERM_READ)
    with db.read() as cur:
        df: pl.DataFrame = cur.sql("SELECT id, month, category, note, updated_by, updated_at FROM member_categories"
                                   " WHERE member_id = ? ORDER BY month", params=[int(member_id)]).pl()
    return df.with_columns(store._labels("category", CATEGORIES).alias("category_label"))


def base_history(db: Database, user: User, member_id: int) -> pl.DataFrame:
    """A member's base rows, newest first (salary data: salary.read)."""
    require(user, store.PERM_READ)
    require(user, store.PERM_SALARY)
    with db.read() as cur:
        df: pl.DataFrame = cur.sql(
            "SELECT b.id, strftime(b.month, '%Y-%m') AS month, b.base, b.fixed_amount, b.counted, b.deducted,"
            " b.tax, b.redetermine, b.source, b.note, b.updated_by, b.updated_at FROM member_bases b"
            " WHERE b.member_id = ? ORDER BY b.month DESC, b.id DESC", params=[int(member_id)]).pl()
    return df


def import_history(db: Database, user: User, limit: int = 50) -> pl.DataFrame:
    require(user, store.PERM_READ)
    with db.read() as cur:
        df: pl.DataFrame = cur.sql(
            "SELECT i.id, i.kind, o.name AS org, strftime(i.month, '%Y-%m') AS month, i.file_name,"
            " i.row_count, i.settings_id, i.redetermine, i.updated_by, i.updated_at"
            " FROM dues_payroll_imports i LEFT JOIN orgs o ON o.id = i.org_id ORDER BY i.id DESC LIMIT ?",
            params=[int(limit)]).pl()
    return df
