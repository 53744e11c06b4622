"""Payments on the roll: paste or bank return file (`record_payments`), edits by hand
(`save_roll_edits`), several months at once (`record_multi_month`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from .. import clock, fileio, uow
from ..auth import User, require
from ..db import Cursor, Database
from ..errors import BadInput, CellError, ConflictError
from .arrears_rules import back_payment_flag_expr, month_index
from .engine import MaskErrors, money_to_fen
from .roll import _insert_roll_rows, _roll_frame
from .rules import parse_money
from .settings import _rule_history
from .store import (
    _MONEY_MSG,
    MAX_PAYMENT_MONTHS,
    METHODS,
    PAY_FIELDS,
    PERM_SALARY,
    PERM_WRITE,
    _audit_inserts_range,
    _audit_updates,
    _d,
    _map_headers,
    _member_by_no,
    _parse_bool,
    _parse_date,
    _parse_distinct,
    _parse_method,
    _register,
    _snapshot,
    add_months,
    month_text,
    parse_month,
    yuan,
)

# =======================================================================================
# Payments
# =======================================================================================
PAY_HEADERS: dict[str, tuple[str, ...]] = {
    "member_no": ("党员编号", "member_id", "member_no", "人员编号"),
    "id_number": ("身份证号", "身份证号码", "证件号码", "证件号", "id_number"),
    "name": ("姓名", "户名", "账户名称", "name"),
    "month": ("月份", "所属月份", "缴费月份", "month"),
    "amount": ("实缴金额", "金额", "扣款金额", "实扣金额", "交易金额", "缴纳金额", "实缴", "paid", "amount"),
    "paid_on": ("缴纳日期", "日期", "扣款日期", "交易日期", "paid_on"),
    "method": ("缴纳方式", "方式", "method"),
    "status": ("扣款状态", "状态", "处理结果", "交易状态", "扣款结果", "结果", "status"),
    "proxy_name": ("代缴人", "proxy_name"),
    "consent": ("支部同意", "consent"),
    "quarterly": ("按季度", "quarterly"),
    "note": ("备注", "note"),
}
_FAILED_WORDS = ("失败", "不成功", "未成功", "余额不足", "拒绝", "退回", "未扣")

_PAY_LABELS = {"paid": "实缴金额", "paid_on": "缴纳日期", "method": "缴纳方式", "quarterly": "按季度",
               "proxy_name": "代缴人", "consent": "支部同意", "note": "备注"}


@dataclass
class PaymentResult:
    rows: int                      # rows applied
    total_fen: int
    skipped: int = 0               # bank rows that failed (not applied)
    warnings: list[str] = field(default_factory=list)
    back_pay_flags: pl.DataFrame | None = None  # member_no, name, months, paid_on
    batch_id: int | None = None
    committed: bool = False


def parse_paste(text: str, name: str = "粘贴的表格") -> fileio.Frame:
    """Rows pasted from Excel/WPS (tab separated) or typed as csv, the first row a header."""
    if not text or not text.strip():
        raise BadInput("没有粘贴任何内容：请从 Excel 复制包含表头的区域后粘贴")
    lines = [ln for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    delim = "\t" if any("\t" in ln for ln in lines) else ","
    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delim))
    data = "\n".join(",".join('"' + c.replace('"', '""') + '"' for c in r) for r in rows).encode("utf-8")
    return fileio.read_frame(data=data, name=name + ".csv", expected=[h for hs in PAY_HEADERS.values() for h in hs])


def _prepare_payments(cur: Cursor, user: User, frame: fileio.Frame, *, month: object, source: str, default_method: str | None,
                      default_date: date, today: date) -> tuple[pl.DataFrame, PaymentResult]:
    """Validate a payment sheet against the roll. Returns the update frame (roll id and the
    new payment fields) or raises BadInput listing every bad cell; nothing is written."""
    hdr = _map_headers(frame, PAY_HEADERS)
    df = frame.df
    if "member_no" not in hdr and "id_number" not in hdr:
        raise BadInput("缺少「党员编号」或「身份证号」列：无法确定是哪位党员（现有列：" + "、".join(df.columns) + "）",
                       file=frame.file)
    if "amount" not in hdr:
        raise BadInput("缺少「实缴金额」（或「金额」「扣款金额」）列（现有列：" + "、".join(df.columns) + "）",
                       file=frame.file)
    if "month" not in hdr and month is None:
        raise BadInput("缺少「月份」列：请在表中加一列月份（如 2024-03），或在页面上选择月份", file=frame.file)
    if df.height == 0:
        raise BadInput(f"第 {frame.first_row} 行起没有数据：表头下面是空的", file=frame.file)
    if "id_number" in hdr and "member_no" not in hdr:
        require(user, PERM_SALARY)
    n = df.height
    w = pl.DataFrame({"row": pl.int_range(frame.first_row, frame.first_row + n, dtype=pl.Int64, eager=True)})
    errs = MaskErrors()
    skipped = 0
    warnings: list[str] = []
    # bank status: failed rows are not applied
    if "status" in hdr:
        st = df[hdr["status"]].cast(pl.String).fill_null("")
        failed = pl.any_horizontal([st.str.contains(wd, literal=True) for wd in _FAILED_WORDS]) if n else pl.Series([], dtype=pl.Boolean)
        failed = pl.select(failed).to_series() if isinstance(failed, pl.Expr) else failed
        skipped = int(failed.sum())
        keep = ~failed
        df, w = df.filter(keep), w.filter(keep)
        if skipped:
            warnings.append(f"银行返回文件中有 {skipped} 行扣款未成功，没有登记")
    # who
    raw = {k: df[c] for k, c in hdr.items()}
    w = w.with_columns(
        member_no=raw["member_no"].cast(pl.String).str.strip_chars() if "member_no" in raw else pl.lit(None, pl.String),
        id_number=raw["id_number"].cast(pl.String).str.strip_chars().str.to_uppercase() if "id_number" in raw else pl.lit(None, pl.String))
    members = cur.sql("SELECT id AS member_id, member_no AS mno, upper(id_number) AS idn, name AS db_name FROM members").pl()
    by_no = members.select("member_id", pl.col("mno").alias("member_no"), "db_name")
    w = w.join(by_no, on="member_no", how="left")
    if "id_number" in hdr:
        by_id = members.filter(pl.col("idn").is_not_null()).unique("idn", keep="first").select(
            pl.col("member_id").alias("mid2"), pl.col("idn").alias("id_number"), pl.col("db_name").alias("n2"))
        w = w.join(by_id, on="id_number", how="left").with_columns(
            member_id=pl.coalesce("member_id", "mid2"), db_name=pl.coalesce("db_name", "n2")).drop("mid2", "n2")
    key_col = hdr.get("member_no") or hdr["id_number"]
    key_val = "member_no" if "member_no" in hdr else "id_number"
    no_key = pl.col(key_val).is_null() | (pl.col(key_val).str.len_chars() == 0)
    if "member_no" in hdr and "id_number" in hdr:
        no_key = no_key & (pl.col("id_number").is_null() | (pl.col("id_number").str.len_chars() == 0))
    errs.mask(w, no_key, key_col, key_val, "缺少党员编号：无法确定是哪位党员")
    errs.mask(w, ~no_key & pl.col("member_id").is_null(), key_col, key_val,
              "找不到这位党员：请核对党员编号（或身份证号）")
    # month
    if "month" in hdr:
        idx, prob = month_index(raw["month"])
        w = w.with_columns(m_idx=idx, m_prob=prob, m_raw=raw["month"].cast(pl.String))
        errs.mask(w, pl.col("m_prob").is_not_null(), hdr["month"], "m_raw", lambda b: b["m_prob"].to_list(), 1)
        w = w.with_columns(month=pl.date(pl.col("m_idx") // 12, pl.col("m_idx") % 12 + 1, 1))
    else:
        w = w.with_columns(month=pl.lit(parse_month(month), pl.Date))
    # amount
    fen, prob = money_to_fen(raw["amount"])
    w = w.with_columns(paid_fen=fen, a_prob=prob.cast(pl.String), a_raw=raw["amount"].cast(pl.String))
    errs.mask(w, pl.col("a_prob").is_not_null(), hdr["amount"], "a_raw",
              lambda b: ["实缴金额" + _MONEY_MSG[p] for p in b["a_prob"].to_list()], 2)
    # date, method, flags
    def parsed(name: str, parse: Callable[[str], tuple[Any, str | None]], default: object, label: str, order: int) -> pl.Expr | pl.Series:
        nonlocal w
        if name not in hdr:
            return pl.lit(default)
        vals, probs = _parse_distinct(raw[name], parse)
        w = w.with_columns(pl.Series(f"{name}_p", probs), pl.Series(f"{name}_raw", raw[name].cast(pl.String)))
        errs.mask(w, pl.col(f"{name}_p").is_not_null(), hdr[name], f"{name}_raw", lambda b: b[f"{name}_p"].to_list(), order)
        return pl.Series(vals)
    paid_on = parsed("paid_on", _parse_date, default_date, "缴纳日期", 3)
    method_default = default_method or ("bank" if source == "bank" else None)
    method = parsed("method", _parse_method, method_default, "缴纳方式", 4)
    quarterly = parsed("quarterly", _parse_bool, None, "按季度", 5)
    consent = parsed("consent", _parse_bool, None, "支部同意", 6)
    w = w.with_columns(
        paid_on=paid_on.cast(pl.Date) if isinstance(paid_on, pl.Series) else paid_on.cast(pl.Date),
        method=method.cast(pl.String) if isinstance(method, pl.Series) else method.cast(pl.String),
        quarterly_in=quarterly.cast(pl.Boolean) if isinstance(quarterly, pl.Series) else quarterly.cast(pl.Boolean),
        consent_in=consent.cast(pl.Boolean) if isinstance(consent, pl.Series) else consent.cast(pl.Boolean),
        proxy_in=(raw["proxy_name"].cast(pl.String).str.strip_chars() if "proxy_name" in raw else pl.lit(None, pl.String)),
        note_in=(raw["note"].cast(pl.String) if "note" in raw else pl.lit(None, pl.String)),
    )
    if "method" in hdr:
        w = w.with_columns(method=pl.col("method").fill_null(pl.lit(method_default, pl.String)))
    if "paid_on" in hdr:
        w = w.with_columns(paid_on=pl.col("paid_on").fill_null(pl.lit(default_date, pl.Date)))
    # duplicates (member, month)
    keyed = w.filter(pl.col("member_id").is_not_null() & pl.col("month").is_not_null())
    dup = keyed.with_columns(first=pl.col("row").min().over(["member_id", "month"])).filter(pl.col("row") != pl.col("first"))
    for r, mno, first in dup.select("row", key_val, "first").iter_rows():
        errs.add_at(CellError(r, key_col, mno, f"同一党员同一月份与第 {first} 行重复，每人每月只能有一行"), 0)
    # roll rows
    _register(cur, "dj_pay_keys", keyed.select(pl.col("member_id").cast(pl.Int32), "month").unique())
    roll = cur.sql("SELECT r.id AS roll_id, r.member_id, r.month, CAST(r.due * 100 AS BIGINT) AS due_fen,"
                   " CAST(r.paid * 100 AS BIGINT) AS old_paid_fen, r.quarterly AS quarterly_old, r.consent AS consent_old,"
                   " r.proxy_name AS proxy_old, r.note AS note_old, r.version"
                   " FROM dues_roll r JOIN dj_pay_keys k ON k.member_id = r.member_id AND k.month = r.month").pl()
    cur.unregister("dj_pay_keys")
    w = w.with_columns(pl.col("member_id").cast(pl.Int32)).join(roll, on=["member_id", "month"], how="left")
    w = w.with_columns(month_txt=pl.col("month").dt.strftime("%Y-%m"))
    errs.mask(w, pl.col("member_id").is_not_null() & pl.col("month").is_not_null() & pl.col("roll_id").is_null(),
              hdr.get("month") or key_col, "month_txt",
              lambda b: [f"这位党员 {m} 还没有花名册记录：请先生成该月花名册" for m in b["month_txt"].to_list()], 1)
    w = w.with_columns(
        quarterly=pl.coalesce("quarterly_in", "quarterly_old", pl.lit(False)),
        consent=pl.coalesce("consent_in", "consent_old", pl.lit(False)),
        proxy_name=pl.coalesce("proxy_in", "proxy_old"),
        note=pl.coalesce("note_in", "note_old"),
    )
    labels = {"paid": hdr["amount"], "paid_on": hdr.get("paid_on", "缴纳日期"), "method": hdr.get("method", "缴纳方式"),
              "consent": hdr.get("consent", "支部同意"), "proxy_name": hdr.get("proxy_name", "代缴人")}
    _check_payments(w.filter(pl.col("roll_id").is_not_null() & pl.col("paid_fen").is_not_null()), errs, labels, today)
    if errs:
        raise BadInput(f"发现 {errs.count} 处错误，没有登记任何缴费", errs.errors(), file=frame.file)
    changed = w.filter(pl.col("old_paid_fen") > 0, pl.col("old_paid_fen") != pl.col("paid_fen"))
    if changed.height:
        warnings.append(f"{changed.height} 人次原已登记过不同的实缴金额，以本次为准")
    if "name" in hdr:
        names = df[hdr["name"]].cast(pl.String).str.strip_chars()
        w = w.with_columns(file_name=names)
        odd = w.filter(pl.col("file_name").is_not_null() & pl.col("db_name").is_not_null()
                       & (pl.col("file_name") != pl.col("db_name")))
        for r, a, b in odd.select("row", "file_name", "db_name").head(10).iter_rows():
            warnings.append(f"第 {r} 行姓名「{a}」与党员名册中的「{b}」不一致，请核对")
    flags = _back_pay_flags(cur, w)
    for r in flags.head(20).iter_rows(named=True):
        warnings.append(f"{r['name']}（{r['member_no']}）在 {r['paid_on']} 一次补交 {r['months']} 个月，"
                        "超过 6 个月：已接收并标记，请核实原因")
    res = PaymentResult(rows=w.height, total_fen=int(w["paid_fen"].sum() or 0), skipped=skipped,
                        warnings=warnings, back_pay_flags=flags)
    return w, res


def _check_payments(w: pl.DataFrame, errs: MaskErrors, labels: dict[str, str], today: date) -> None:
    """Rules every payment obeys, whatever door it came through."""
    if w.height == 0:
        return
    w = w.with_columns(due_txt=pl.col("due_fen").map_elements(yuan, return_dtype=pl.String),
                       paid_txt=pl.col("paid_fen").map_elements(yuan, return_dtype=pl.String),
                       paid_on_txt=pl.col("paid_on").cast(pl.String))
    errs.mask(w, pl.col("paid_fen") > pl.col("due_fen"), labels["paid"], "paid_txt",
              lambda b: [f"实缴金额 {p} 元大于应缴金额 {d} 元：多交部分请在「自愿多交」中单独登记"
                         for p, d in zip(b["paid_txt"], b["due_txt"])], 2)
    paying = pl.col("paid_fen") > 0
    errs.mask(w, paying & pl.col("paid_on").is_null(), labels["paid_on"], "paid_on_txt", "请填写缴纳日期", 3)
    errs.mask(w, paying & (pl.col("paid_on") > pl.lit(today, pl.Date)), labels["paid_on"], "paid_on_txt",
              "缴纳日期不能晚于今天", 3)
    early = paying & (pl.col("paid_on") < pl.col("month")) & ~pl.col("quarterly")
    errs.mask(w, early, labels["paid_on"], "paid_on_txt",
              "缴纳日期早于所属月份：提前缴纳请勾选「按季度」（须经党支部同意）", 3)
    errs.mask(w, paying & pl.col("method").is_null(), labels["method"], "method",
              "请选择缴纳方式：" + "、".join(METHODS.values()), 4)
    needs = (pl.col("quarterly") | (pl.col("proxy_name").fill_null("").str.len_chars() > 0)) & ~pl.col("consent")
    errs.mask(w, needs, labels["consent"], "proxy_name",
              "按季度缴纳或委托他人代缴须经党支部同意：请勾选「支部同意」", 6)


def _back_pay_flags(cur: Cursor, w: pl.DataFrame) -> pl.DataFrame:
    """Members whose one payment (same date) covers more than 6 months already past."""
    late = w.filter(pl.col("paid_fen") > 0, pl.col("paid_on") > pl.col("month").dt.month_end())
    g = late.group_by("member_id", "paid_on").agg(months=pl.len()).filter(
        back_payment_flag_expr(pl.col("months")))
    if g.height == 0:
        return pl.DataFrame(schema={"member_no": pl.String, "name": pl.String, "paid_on": pl.Date, "months": pl.UInt32})
    _register(cur, "dj_flags", g)
    out: pl.DataFrame = cur.sql("SELECT m.member_no, m.name, f.paid_on, f.months FROM dj_flags f JOIN members m ON m.id = f.member_id"
                  " ORDER BY m.member_no").pl()
    cur.unregister("dj_flags")
    return out


def _write_payments(act: uow.Action, w: pl.DataFrame, *, check_versions: bool = False, audited: bool = True) -> None:
    cur, user = act.cur, act.user
    frame = w.select(
        pl.col("roll_id").alias("id"), pl.col("paid_fen").cast(pl.Int64),
        pl.when(pl.col("paid_fen") > 0).then(pl.col("paid_on")).otherwise(None).alias("paid_on"),
        pl.when(pl.col("paid_fen") > 0).then(pl.col("method")).otherwise(None).alias("method"),
        pl.col("quarterly").fill_null(False), pl.col("proxy_name"), pl.col("consent").fill_null(False),
        pl.col("note"), pl.col("version"))
    _register(cur, "dj_pay", frame)
    _register(cur, "dj_pay_ids", frame.select(pl.col("id").alias("k")))
    if check_versions:
        stale = cur.execute("SELECT count(*) FROM dues_roll t JOIN dj_pay f ON f.id = t.id WHERE t.version <> f.version"
                            ).fetchone()[0]
        gone = frame.height - cur.execute("SELECT count(*) FROM dues_roll WHERE id IN (SELECT k FROM dj_pay_ids)").fetchone()[0]
        if stale or gone:
            raise ConflictError(f"保存冲突：有 {stale + gone} 行在您打开之后已被其他人修改或删除。"
                                "您的修改没有保存，请点「刷新」载入最新数据后再改。")
    before = _snapshot(cur, "dues_roll", "dj_pay_ids", PAY_FIELDS) if audited else None
    cur.execute(f"UPDATE dues_roll AS t SET paid = {_d('f.paid_fen')}, paid_on = f.paid_on, method = f.method,"
                " quarterly = f.quarterly, proxy_name = f.proxy_name, consent = f.consent, note = f.note,"
                " version = t.version + 1, updated_at = current_timestamp, updated_by = ?"
                " FROM dj_pay f WHERE t.id = f.id", [user.username])
    if before is not None:
        _audit_updates(act, "dues_roll", before, _snapshot(cur, "dues_roll", "dj_pay_ids", PAY_FIELDS))
    cur.unregister("dj_pay")
    cur.unregister("dj_pay_ids")


def record_payments(db: Database, user: User, frame: fileio.Frame, *, month: object = None, source: str = "paste",
                    default_method: str | None = None, default_date: date | None = None,
                    commit: bool = False, today: date | None = None) -> PaymentResult:
    """Payments from a pasted table or the bank's return file (`source` "paste" / "file" /
    "bank"): 党员编号 (or 身份证号), 实缴金额, optional 月份 / 缴纳日期 / 缴纳方式 / 代缴人 / 支部同意 /
    按季度 / 备注 / 扣款状态. Each sets the paid amount of that member's roll row (a re-import of
    the same file changes nothing). `commit=False` checks only. All or nothing."""
    require(user, PERM_WRITE)
    today = today or clock.today()
    default_date = default_date or today
    if default_method is not None and default_method not in METHODS:
        raise BadInput(f"未知的缴纳方式「{default_method}」")
    label = {"bank": "银行返回文件", "paste": "粘贴", "file": "导入"}.get(source, "导入")
    with uow.action(db, user, PERM_WRITE, "dues_payment", f"登记党费缴纳（{label}）：{frame.file}") as act:
        cur = act.cur
        w, res = _prepare_payments(cur, user, frame, month=month, source=source, default_method=default_method,
                                   default_date=default_date, today=today)
        if commit and w.height:
            act.describe(f"登记党费缴纳（{label}）：{frame.file}，{w.height} 人次")
            _write_payments(act, w)
            res.batch_id = act.batch_id
            res.committed = True
    return res


EDITABLE = ("paid", "paid_on", "method", "quarterly", "proxy_name", "consent", "note")


def save_roll_edits(db: Database, user: User, edits: list[dict[str, Any]], *, today: date | None = None,
                    default_method: str | None = None) -> PaymentResult:
    """Hand edits from the roll's table editor: each dict has id, version, row (the number
    the user sees) and the full new values of paid, paid_on, method, quarterly, proxy_name,
    consent, note (method as code or label; paid as text/number in yuan). Versions are
    checked (a row changed by someone else refuses the save)."""
    require(user, PERM_WRITE)
    today = today or clock.today()
    if not edits:
        return PaymentResult(0, 0)
    raw = pl.DataFrame([{k: (None if e.get(k) is None else str(e.get(k))) for k in EDITABLE} for e in edits],
                       schema={k: pl.String for k in EDITABLE})
    w = pl.DataFrame({"row": [int(e.get("row") or i + 1) for i, e in enumerate(edits)],
                      "roll_id": [int(e["id"]) for e in edits],
                      "version": [int(e["version"]) for e in edits]},
                     schema={"row": pl.Int64, "roll_id": pl.Int64, "version": pl.Int32})
    errs = MaskErrors()
    fen, prob = money_to_fen(raw["paid"].fill_null("0"))
    w = w.with_columns(paid_fen=fen, a_prob=prob.cast(pl.String), a_raw=raw["paid"])
    errs.mask(w, pl.col("a_prob").is_not_null(), "实缴金额", "a_raw",
              lambda b: ["实缴金额" + _MONEY_MSG[p] for p in b["a_prob"].to_list()], 2)
    cols = {}
    for name, parse, order in (("paid_on", _parse_date, 3), ("method", _parse_method, 4),
                               ("quarterly", _parse_bool, 5), ("consent", _parse_bool, 6)):
        vals, probs = _parse_distinct(raw[name], parse)
        w = w.with_columns(pl.Series("_p", probs), pl.Series("_raw", raw[name]))
        errs.mask(w, pl.col("_p").is_not_null(), _PAY_LABELS[name], "_raw", lambda b: b["_p"].to_list(), order)
        cols[name] = vals
    w = w.drop("_p", "_raw").with_columns(
        paid_on=cols["paid_on"].cast(pl.Date), method=cols["method"].cast(pl.String),
        quarterly=cols["quarterly"].cast(pl.Boolean).fill_null(False),
        consent=cols["consent"].cast(pl.Boolean).fill_null(False),
        proxy_name=raw["proxy_name"].str.strip_chars().replace("", None),
        note=raw["note"].replace("", None))
    w = w.with_columns(
        paid_on=pl.when((pl.col("paid_fen") > 0) & pl.col("paid_on").is_null()).then(pl.lit(today))
        .otherwise(pl.col("paid_on")),
        method=pl.when((pl.col("paid_fen") > 0) & pl.col("method").is_null()).then(pl.lit(default_method, pl.String))
        .otherwise(pl.col("method")))
    with uow.action(db, user, PERM_WRITE, "dues_payment", f"修改党费花名册：{w.height} 行") as act:
        cur = act.cur
        _register(cur, "dj_edit_ids", w.select(pl.col("roll_id").alias("k")))
        cur_rows = cur.sql("SELECT id AS roll_id, month, member_id, CAST(due * 100 AS BIGINT) AS due_fen"
                           " FROM dues_roll WHERE id IN (SELECT k FROM dj_edit_ids)").pl()
        cur.unregister("dj_edit_ids")
        w = w.join(cur_rows, on="roll_id", how="left")
        if w["due_fen"].null_count():
            raise ConflictError("保存冲突：有的行已被其他人删除。您的修改没有保存，请点「刷新」后再改。")
        _check_payments(w.filter(pl.col("paid_fen").is_not_null()), errs, _PAY_LABELS, today)
        if errs:
            raise BadInput(f"有 {errs.count} 处错误，没有保存任何修改。请改正后再保存：", errs.errors())
        flags = _back_pay_flags(cur, w)
        _write_payments(act, w, check_versions=True)
    batch = act.batch_id
    warnings = [f"{r['name']}（{r['member_no']}）在 {r['paid_on']} 一次补交 {r['months']} 个月，超过 6 个月：已标记"
                for r in flags.iter_rows(named=True)]
    return PaymentResult(w.height, int(w["paid_fen"].sum() or 0), warnings=warnings, back_pay_flags=flags,
                         batch_id=batch, committed=True)


def record_multi_month(db: Database, user: User, member_no: str, first_month: object, n_months: int, amount: object,
                       paid_on: date,
                       method: str, *, proxy_name: str | None = None, consent: bool = False,
                       note: str | None = None, today: date | None = None) -> PaymentResult:
    """One payment covering `n_months` months from `first_month` (按季度 / 补交 / 代缴): the amount
    must equal what is still due over those months; each month is marked paid. Roll rows the
    months still lack are computed for this member. Several months, or a proxy, need the
    branch's consent. Covering more than 6 past months is accepted and flagged.

    One user action, one transaction, one audit batch: everything is checked first (on the
    roll as it would be), and only then are the missing roll rows and the payment written
    together — a refused payment leaves no roll rows and no batch behind."""
    require(user, PERM_WRITE)
    today = today or clock.today()
    if isinstance(n_months, bool) or not isinstance(n_months, int) or not 1 <= n_months <= MAX_PAYMENT_MONTHS:
        raise BadInput(f"月数应为 1–{MAX_PAYMENT_MONTHS} 之间的整数")
    if method not in METHODS:
        raise BadInput("请选择缴纳方式：" + "、".join(METHODS.values()))
    amt = parse_money(amount, what="缴纳金额")
    first = parse_month(first_month)
    months = [add_months(first, i) for i in range(n_months)]
    proxy = (proxy_name or "").strip() or None
    if (n_months > 1 or proxy) and not consent:
        raise BadInput("按季度（多个月一次）缴纳或委托他人代缴须经党支部同意：请勾选「支部同意」")
    with uow.action(db, user, PERM_WRITE, "dues_payment", "登记党费缴纳") as act:
        cur = act.cur
        mid, org_id, name = _member_by_no(cur, member_no)
        new, _, _ = _roll_frame(cur, months, scope=None, member_ids=[mid], rules=_rule_history(cur),
                                recompute=False)
        _register(cur, "dj_mm", pl.DataFrame({"month": months}, schema={"month": pl.Date}))
        have = cur.sql("SELECT r.month, CAST(r.due * 100 AS BIGINT) AS due_fen,"
                       " CAST(r.paid * 100 AS BIGINT) AS old_paid_fen, r.note AS note_old"
                       " FROM dues_roll r WHERE r.member_id = ? AND r.month IN (SELECT month FROM dj_mm)",
                       params=[mid]).pl()
        rows = pl.concat([have, new.select("month", pl.col("dues_fen").cast(pl.Int64).alias("due_fen"),
                                           pl.lit(0, pl.Int64).alias("old_paid_fen"),
                                           pl.lit(None, pl.String).alias("note_old"))],
                         how="vertical_relaxed").sort("month")
        if rows.height < n_months:
            got = set(rows["month"].to_list())
            lacking = "、".join(month_text(m) for m in months if m not in got)
            raise BadInput(f"{name} {lacking} 没有应缴记录（入党前，或缺少计算基数）：请调整起始月份或月数")
        owing = int((rows["due_fen"] - rows["old_paid_fen"]).clip(lower_bound=0).sum())
        if int(amt * 100) != owing:
            raise BadInput(f"缴纳金额 {amt} 元与这 {n_months} 个月尚欠的 {yuan(owing)} 元不一致："
                           "多交部分请作为自愿多交单独登记，少交请逐月在花名册中登记")
        if owing == 0:
            raise BadInput(f"{name} 这 {n_months} 个月已经缴清，无需再登记")
        w = rows.filter(pl.col("due_fen") > pl.col("old_paid_fen")).with_columns(
            row=pl.int_range(1, pl.len() + 1, dtype=pl.Int64), member_id=pl.lit(mid),
            paid_fen=pl.col("due_fen"), paid_on=pl.lit(paid_on, pl.Date), method=pl.lit(method),
            quarterly=pl.lit(n_months > 1), consent=pl.lit(bool(consent)), proxy_name=pl.lit(proxy, pl.String),
            note=pl.coalesce(pl.lit(note, pl.String), pl.col("note_old")))
        errs = MaskErrors()
        _check_payments(w, errs, _PAY_LABELS, today)
        if errs:
            raise BadInput("缴费信息有误，没有登记", errs.errors())
        flags = _back_pay_flags(cur, w)
        # all checked: the missing roll rows and the payment, one batch
        act.describe(f"登记党费缴纳：{name} {month_text(months[0])} 起 {n_months} 个月"
                     + (f"（{proxy} 代缴）" if proxy else "")
                     + (f"，补生成花名册 {new.height} 个月" if new.height else ""))
        # new rows are audited as inserts of their final state (paid included), so reverting the
        # batch deletes them; rows that existed are audited as payment updates
        first_id, last_id = _insert_roll_rows(act, new, audited=False) if new.height else (0, -1)
        ids = cur.sql("SELECT r.id AS roll_id, r.month, r.version FROM dues_roll r WHERE r.member_id = ?"
                      " AND r.month IN (SELECT month FROM dj_mm)", params=[mid]).pl()
        w = w.join(ids, on="month", how="left")
        fresh = pl.col("roll_id").is_between(first_id, last_id)
        if new.height:
            _write_payments(act, w.filter(fresh), audited=False)
            _audit_inserts_range(act, "dues_roll", first_id, last_id)
        if w.filter(~fresh).height:
            _write_payments(act, w.filter(~fresh))
    warnings = []
    if flags.height:
        warnings.append(f"本次补交 {int(flags['months'][0])} 个月，超过 6 个月：已接收并标记，请核实原因")
    return PaymentResult(w.height, owing, warnings=warnings, back_pay_flags=flags, batch_id=act.batch_id, committed=True)
