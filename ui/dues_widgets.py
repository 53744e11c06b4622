"""Widgets of the two dues pages (党费收缴, 欠缴与补交): cached reads, the roll editor, the
payment, payroll and settings panels, the arrears views and the charts. No rules and no SQL
here: everything is `dangjian_core.dues` (store modules, and the pure `model`/`rules`)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import altair as alt
import polars as pl
import streamlit as st

from dangjian_core import clock, fileio
from dangjian_core.auth import User
from dangjian_core.db import Database
from dangjian_core.dues import arrears as dues_arrears
from dangjian_core.dues import arrears_cache, payments, payroll, roll, voluntary
from dangjian_core.dues import charts as dues_charts
from dangjian_core.dues import exports as dues_exports
from dangjian_core.dues import model as dues_model
from dangjian_core.dues import rules as dues_rules
from dangjian_core.dues import settings as dues_settings
from dangjian_core.dues import store as dues_store
from dangjian_core.errors import BadInput

from .messages import flash, run_safely, show_exception
from .table_editor import table_editor

try:  # the house chart widget (PNG / SVG / xlsx buttons), when it is there
    from .charts_widgets import chart_with_export
except ImportError:  # pragma: no cover
    chart_with_export = None

PAGE_SIZE = 100
STATUS = {"all": "全部", "owing": "未缴清", "unpaid": "未缴", "partial": "部分缴纳", "paid": "已缴清"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KIND_LABELS = {**dues_rules.MAPPING_KINDS, "deducted": "扣除（社保/公积金/年金）", "retiree_allowance": "离退休普发津贴"}
RATE_PCT = {5: "0.5%", 10: "1%", 15: "1.5%", 20: "2%"}


# -- cached reads (keyed on db.generation: any committed write refreshes them) ---------------
@st.cache_data(show_spinner=False, max_entries=64)
def _read(_db, _fn, generation: int, name: str, username: str, roles: tuple, args: tuple, kwargs: tuple):
    return _fn(_db, User(username, username, frozenset(roles)), *args, **dict(kwargs))


def read(db, user: User, fn, *args, **kwargs):
    """`fn(db, user, *args, **kwargs)` (a dues read), cached per data generation and role."""
    return _read(db, fn, db.generation, f"{fn.__module__}.{fn.__name__}", user.username, tuple(sorted(user.roles)), args,
                 tuple(sorted(kwargs.items())))


# The back-calculation is kept by the core (dangjian_core.dues.arrears_cache): one LedgerCache
# per database and server, shared by every reader of dues (it holds no salary column).
@st.cache_resource(show_spinner=False)
def _ledgers(instance: int, _db: Database) -> arrears_cache.LedgerCache:
    return arrears_cache.LedgerCache(_db)


def ledger_cache(db: Database) -> arrears_cache.LedgerCache:
    """The database's kept back-calculations (see arrears_cache)."""
    return _ledgers(db.instance, db)


def start_background(db: Database) -> None:
    """At server start: at city scale, compute 欠缴与补交's default period in the background
    (and keep it ready after every write), so the first visit finds it done."""
    ledger_cache(db).start()


def back_calc(db: Database, user: User, start: date, end: date, org_id: int | None) -> dues_arrears.BackCalc:
    """The period's back-calculation (members, orgs, missing; no per-month detail; back
    payments: `back_pays_of`), kept per input by the core."""
    with st.spinner("正在逐月计算……", show_time=True):  # shown only when it takes over half a second
        return ledger_cache(db).result(user, start, end, org_id)


def back_pays_of(db, user: User, start: date, end: date, org_id) -> pl.DataFrame:
    """The period's back payments (补交), read when their tab is open."""
    return read(db, user, dues_arrears.back_payments, start, end, org_id=org_id)


# -- small formatting helpers ------------------------------------------------------------------
def money(fen) -> str:
    return f"{Decimal(int(fen or 0)) / 100:,.2f}"


def yuan_col(col: str, label: str) -> pl.Expr:
    """分 → 元 as a number for display (two decimals shown by the column format)."""
    return (pl.col(col).cast(pl.Decimal(18, 2)) / 100).cast(pl.Float64).alias(label)


def month_options(db, user: User) -> list[date]:
    """Next month back five years (newest first): the months a roll may be made or read for."""
    have = read(db, user, roll.roll_months)
    latest = max([clock.today().replace(day=1)] + list(have[:1]))
    return [dues_store.add_months(latest, 1 - i) for i in range(0, 62)]


def pick_scope(db, user: User, key: str, months: list[date] | None = None, default: date | None = None):
    """Month (when `months` is given) and org pickers in one row; returns (month, org_id)."""
    orgs = read(db, user, dues_store.org_options)
    labels = dict(zip(orgs["id"].to_list(), orgs["label"].to_list()))
    month = None
    if months is not None:
        c1, c2 = st.columns([1, 3])
        index = months.index(default) if default in months else 0
        month = c1.selectbox("月份", months, index=index, format_func=dues_store.month_text, key=f"{key}_month")
    else:
        c2 = st.container()
    org = c2.selectbox("党组织（含下级）", [None] + list(labels), key=f"{key}_org",
                       format_func=lambda i: "全部党组织" if i is None else labels[i].strip("　"),
                       placeholder="输入名称查找")
    return month, org


def read_upload(up) -> fileio.Frame | None:
    data = up.getvalue()
    try:
        fileio.check_upload_size(len(data), up.name)
        return fileio.read_frame(data=data, name=up.name)
    except BadInput as exc:
        show_exception(exc)
        return None


# -- 花名册 -------------------------------------------------------------------------------------
def roll_metrics(db, user: User, month: date, org_id) -> dict:
    s = read(db, user, roll.roll_summary, month, org_id=org_id)
    cols = st.columns(3) + st.columns(3)
    cols[0].metric("应缴金额（元）", money(s["due_fen"]))
    cols[1].metric("实缴金额（元）", money(s["paid_fen"]))
    cols[2].metric("自愿多交（元）", money(s["voluntary_fen"]),
                   help="自愿多交单独登记，不抵应缴；一次性 1000 元以上全额上缴中央")
    cols[3].metric("应缴人数", f"{s['members']:,}")
    cols[4].metric("收缴率", "—" if s["rate"] is None else f"{s['rate']:.2f}%")
    cols[5].metric("未缴清人数", f"{s['members'] - s['paid_members']:,}")
    if s["forward_count"]:
        st.warning(f"本月有 {s['forward_count']} 笔一次性自愿多交达到 1000 元以上：应全额上缴中央。")
    return s


def roll_actions(db, user: User, month: date, org_id) -> None:
    if not user.can(dues_store.PERM_WRITE):
        return
    b1, b2, b3 = st.columns([1, 1, 3])
    if b1.button(f"生成 {dues_store.month_text(month)} 花名册", key="roll_gen", type="primary",
                 help="为选定党组织（含下级）中本月已入党的党员添加本月应缴记录；已有的记录不变"):
        res, exc = run_safely(roll.generate_roll, db, user, month, org_id=org_id)
        if exc is None:
            flash(f"花名册已更新：{res.summary}。")
            st.session_state["roll_missing"] = res.missing
            st.rerun()
    if b2.button("重新计算应缴", key="roll_recompute",
                 help="按现行设置和各党员有效的计算基数重新计算本月应缴；已登记的缴费不变"):
        res, exc = run_safely(roll.generate_roll, db, user, month, org_id=org_id, recompute=True)
        if exc is None:
            flash(f"已重新计算：{res.summary}。")
            st.session_state["roll_missing"] = res.missing
            st.rerun()
    b3.caption("应缴金额按生成时的设置计算，并记下所用设置的版本；改设置或导入新基数后，点「重新计算应缴」。")
    missing = st.session_state.get("roll_missing")
    if missing is not None and missing.height:
        with st.expander(f"{missing.height} 人次缺少计算基数或核定数额，未列入花名册", expanded=True):
            st.dataframe(missing.rename({"member_no": "党员编号", "name": "姓名", "org": "党组织", "month": "月份",
                                         "category": "党员类别"}), hide_index=True, width="stretch", height=220, placeholder="—")


def roll_frame(df: pl.DataFrame, offset: int) -> pl.DataFrame:
    return df.select(
        pl.int_range(offset + 1, offset + 1 + df.height, dtype=pl.Int64).alias("_row"), "id", "version",
        "member_no", "name", "org", pl.col("category").replace_strict(dues_model.CATEGORIES, default=None).alias("category"),
        pl.col("base").cast(pl.Float64),
        pl.col("rate_permille").replace_strict(RATE_PCT, default=None, return_dtype=pl.String).alias("rate"),
        pl.col("due").cast(pl.Float64), pl.col("paid").cast(pl.Float64), "paid_on",
        pl.col("method").replace_strict(dues_store.METHODS, default=None, return_dtype=pl.String).alias("method"),
        "quarterly", "proxy_name", "consent", "note")


ROLL_CONFIG = {
    "_row": st.column_config.NumberColumn("行", width="small", disabled=True),
    "member_no": st.column_config.TextColumn("党员编号", disabled=True),
    "name": st.column_config.TextColumn("姓名", disabled=True),
    "org": st.column_config.TextColumn("党组织", disabled=True),
    "category": st.column_config.TextColumn("类别", disabled=True),
    "base": st.column_config.NumberColumn("计算基数", format="%.2f", disabled=True),
    "rate": st.column_config.TextColumn("费率", disabled=True, width="small"),
    "due": st.column_config.NumberColumn("应缴", format="%.2f", disabled=True),
    "paid": st.column_config.NumberColumn("实缴", format="%.2f", min_value=0, step=0.01),
    "paid_on": st.column_config.DateColumn("缴纳日期", format="YYYY-MM-DD"),
    "method": st.column_config.SelectboxColumn("缴纳方式", options=list(dues_store.METHODS.values())),
    "quarterly": st.column_config.CheckboxColumn("按季度"),
    "proxy_name": st.column_config.TextColumn("代缴人", max_chars=30),
    "consent": st.column_config.CheckboxColumn("支部同意"),
    "note": st.column_config.TextColumn("备注", max_chars=200),
}


def edits_from_state(state: dict, frame: pl.DataFrame) -> list[dict]:
    """The editor's positional edits → full new values per edited row (id, version, row)."""
    rows = frame.to_dicts()
    out = []
    for pos, change in (state.get("edited_rows") or {}).items():
        r = dict(rows[int(pos)])
        r.update(change)
        out.append({"id": r["id"], "version": r["version"], "row": r["_row"],
                    **{k: r.get(k) for k in payments.EDITABLE}})
    return out


def roll_editor(db, user: User, month: date, org_id) -> None:
    can = user.can(dues_store.PERM_WRITE)
    nonce = st.session_state.setdefault("roll_nonce", 0)
    c1, c2, c3 = st.columns([1, 2, 1])
    status = c1.selectbox("显示", list(STATUS), format_func=STATUS.get, key="roll_status")
    search = c2.text_input("查找党员", key="roll_search", placeholder="党员编号或姓名")
    _, total = read(db, user, roll.roll_page, month, org_id=org_id, search=search, status=status, limit=1)
    pages = max(1, -(-total // PAGE_SIZE))
    page = c3.number_input(f"页码（共 {pages} 页，{total:,} 人）", 1, pages, 1, key="roll_page_no") - 1
    # The editor's input is pinned per view until 保存 or 刷新: a colleague's save must not change
    # the frame under unsaved edits (Streamlit would drop them); a stale save gets a conflict.
    view = (month, org_id, status, search, page, tuple(sorted(user.roles)))
    snap = st.session_state.get("roll_snapshot")
    if snap is not None and snap["nonce"] == nonce and snap["view"] != view:
        nonce += 1  # another month/org/page: pending positions would point at other rows
        st.session_state["roll_nonce"] = nonce
    if snap is None or snap["nonce"] != nonce or snap["view"] != view:
        df, _ = read(db, user, roll.roll_page, month, org_id=org_id, search=search, status=status,
                     offset=page * PAGE_SIZE, limit=PAGE_SIZE)
        snap = {"nonce": nonce, "view": view, "frame": roll_frame(df, page * PAGE_SIZE), "generation": db.generation}
        st.session_state["roll_snapshot"] = snap
    frame = snap["frame"]
    if db.generation != snap["generation"]:
        st.caption("提示：打开后数据已有更新（可能是其他人保存的）；点「刷新」可查看最新内容。")
    order = ["_row", "member_no", "name", "org", "category"] + (["base"] if user.can(dues_store.PERM_SALARY) else []) + \
        ["rate", "due", "paid", "paid_on", "method", "quarterly", "proxy_name", "consent", "note"]
    key = f"roll_editor_{nonce}"
    st.data_editor(frame, key=key, hide_index=True, column_order=order, column_config=ROLL_CONFIG,
                   disabled=not can, width="stretch", height=min(36 * (frame.height + 1) + 3, 520), placeholder="")
    if not can:
        return
    edits = edits_from_state(st.session_state.get(key) or {}, frame)
    s1, s2, s4, s3 = st.columns([1, 1, 1, 3])
    method = s2.selectbox("未填方式时按", list(dues_store.METHODS), format_func=dues_store.METHODS.get, key="roll_default_method",
                          label_visibility="collapsed")
    if s4.button("刷新", key="roll_reload", help="放弃未保存的修改，载入最新数据"):
        st.session_state["roll_nonce"] = nonce + 1
        st.rerun()
    if s1.button("保存缴费", type="primary", key="roll_save", disabled=not edits):
        res, exc = run_safely(payments.save_roll_edits, db, user, edits, default_method=method)
        if exc is None:
            flash(f"已保存 {res.rows} 行缴费记录（合计 {money(res.total_fen)} 元），可在「操作记录」中撤销。")
            for w in res.warnings:
                flash(w, "warning")
            st.session_state["roll_nonce"] = nonce + 1
            st.rerun()
    s3.caption(f"有 {len(edits)} 行未保存的修改。" if edits else
               "在「实缴」列填金额即登记缴费（日期默认今天）；多交部分请到「登记缴费 → 自愿多交」。")
    if frame.height:
        names = dict(zip(frame["id"].to_list(), (frame["member_no"] + " " + frame["name"]).to_list()))
        pick = st.selectbox("查看计算过程", list(names), format_func=names.get, key="roll_explain", index=None,
                            placeholder="选择一名党员，查看 基数 → 档次 → 费率 → 应缴")
        if pick is not None:
            text, exc = run_safely(roll.explain_roll_row, db, user, pick)
            if exc is None:
                st.info(text, icon=":material/calculate:")


def roll_downloads(db, user: User, month: date, org_id) -> None:
    m = dues_store.month_text(month)
    c1, c2 = st.columns(2)
    c1.download_button("下载花名册（Excel）", data=lambda: dues_exports.roll_xlsx(db, user, month, org_id=org_id),
                       file_name=f"党费收缴花名册-{m}.xlsx", mime=XLSX, key="dl_roll", on_click="ignore",
                       icon=":material/table:")
    c2.download_button("下载银行代收文件", data=lambda: dues_exports.bank_bill_xlsx(db, user, month, org_id=org_id),
                       file_name=f"党费银行代收-{m}.xlsx", mime=XLSX, key="dl_bank", on_click="ignore",
                       icon=":material/account_balance:",
                       help="姓名、身份证号、手机号、应缴金额（尚未缴清的部分）；身份证号只有党费管理员可见")
    by_org = read(db, user, roll.roll_by_org, month, org_id=org_id)
    with st.expander(f"按党组织汇总（{by_org.height} 个）"):
        st.dataframe(by_org.select(pl.col("org").alias("党组织"), pl.col("street").alias("街道/系统"),
                                   pl.col("members").alias("应缴人数"), yuan_col("due_fen", "应缴"),
                                   yuan_col("paid_fen", "实缴"), pl.col("unpaid").alias("未缴人数"),
                                   pl.col("rate").alias("收缴率（%）")),
                     hide_index=True, width="stretch", height=320,
                     column_config={"应缴": st.column_config.NumberColumn(format="%.2f"),
                                    "实缴": st.column_config.NumberColumn(format="%.2f")}, placeholder="—")


# -- 登记缴费 -----------------------------------------------------------------------------------
def _payment_check(db, user, frame, month, source, method, when, key):
    res, exc = run_safely(payments.record_payments, db, user, frame, month=month, source=source, default_method=method,
                          default_date=when, commit=False)
    if exc is not None:
        return
    for w in res.warnings:
        st.warning(w)
    st.success(f"检查通过：{res.rows} 人次，合计 {money(res.total_fen)} 元。")
    if st.button("确认登记", type="primary", key=f"{key}_commit"):
        done, exc = run_safely(payments.record_payments, db, user, frame, month=month, source=source,
                               default_method=method, default_date=when, commit=True)
        if exc is None:
            flash(f"已登记 {done.rows} 人次缴费，合计 {money(done.total_fen)} 元（第 {done.batch_id} 批，可撤销）。")
            st.session_state[f"{key}_nonce"] = st.session_state.get(f"{key}_nonce", 0) + 1
            st.rerun()


def paste_panel(db, user: User, month: date) -> None:
    st.caption("从 Excel/WPS 复制含表头的区域粘贴到下面。必需列：党员编号、实缴金额；可选：月份、缴纳日期、缴纳方式、"
               "代缴人、支部同意、按季度、备注。没有「月份」列时按上方选择的月份登记。")
    n = st.session_state.get("paste_nonce", 0)
    text = st.text_area("粘贴表格", key=f"paste_text_{n}", height=140,
                        placeholder="党员编号\t实缴金额\t缴纳日期\nM000001\t43.80\t2024-03-05")
    c1, c2 = st.columns(2)
    method = c1.selectbox("未填缴纳方式时按", list(dues_store.METHODS), format_func=dues_store.METHODS.get, key="paste_method")
    when = c2.date_input("未填缴纳日期时按", clock.today(), key="paste_date")
    if text.strip():
        try:
            frame = payments.parse_paste(text)
        except BadInput as exc:
            show_exception(exc)
            return
        _payment_check(db, user, frame, month, "paste", method, when, "paste")


def bank_panel(db, user: User, month: date) -> None:
    st.caption("上传银行返回的代收结果（xlsx、xls 或 csv）：按党员编号或身份证号对应党员，扣款未成功的行不登记；"
               "金额列可叫「扣款金额」「实扣金额」「金额」。")
    n = st.session_state.get("bank_nonce", 0)
    up = st.file_uploader("银行返回文件", type=["xlsx", "xls", "csv"], key=f"bank_up_{n}")
    when = st.date_input("文件中没有扣款日期时按", clock.today(), key="bank_date")
    if up is not None:
        frame = read_upload(up)
        if frame is not None:
            _payment_check(db, user, frame, month, "bank", "bank", when, "bank")


def multi_month_form(db, user: User, month: date) -> None:
    with st.form("multi_month", clear_on_submit=False):
        st.caption("一次缴纳几个月（按季度缴纳、补交），或委托他人代缴：须经党支部同意。补交超过 6 个月的照收，并作标记。")
        c1, c2, c3 = st.columns(3)
        member = c1.text_input("党员编号")
        first = c2.text_input("起始月份", dues_store.month_text(month))
        n = c3.number_input("月数", 1, dues_store.MAX_PAYMENT_MONTHS, 3)
        d1, d2, d3 = st.columns(3)
        amount = d1.text_input("缴纳金额（元）", placeholder="这几个月尚欠的合计")
        when = d2.date_input("缴纳日期", clock.today())
        method = d3.selectbox("缴纳方式", list(dues_store.METHODS), format_func=dues_store.METHODS.get)
        e1, e2 = st.columns(2)
        proxy = e1.text_input("代缴人（本人缴纳不填）")
        consent = e2.checkbox("党支部已同意按季度缴纳或代缴")
        if st.form_submit_button("登记"):
            res, exc = run_safely(payments.record_multi_month, db, user, member, first, int(n), amount, when, method,
                                  proxy_name=proxy, consent=consent)
            if exc is None:
                flash(f"已登记 {res.rows} 个月，合计 {money(res.total_fen)} 元。")
                for w in res.warnings:
                    flash(w, "warning")
                st.rerun()


def voluntary_form(db, user: User, month: date) -> None:
    with st.form("voluntary", clear_on_submit=True):
        st.caption("自愿多交的党费单独登记，不抵任何月份的应缴。一次性 1000 元以上（含）的，全额上缴中央，系统自动标记。")
        c1, c2, c3 = st.columns(3)
        member = c1.text_input("党员编号")
        amount = c2.text_input("金额（元）")
        when = c3.date_input("缴纳日期", clock.today())
        d1, d2 = st.columns([1, 2])
        method = d1.selectbox("缴纳方式", list(dues_store.METHODS), format_func=dues_store.METHODS.get)
        note = d2.text_input("备注")
        if st.form_submit_button("登记自愿多交"):
            res, exc = run_safely(voluntary.record_voluntary, db, user, member, month, amount, when, method, note)
            if exc is None:
                _, forward = res
                flash("已登记自愿多交" + ("：一次性 1000 元以上，请全额上缴中央（已标记）。" if forward else "。"),
                      "warning" if forward else "success")
                st.rerun()
    v = read(db, user, voluntary.voluntary_list, month, month)
    if v.height:
        st.dataframe(v.select(pl.col("member_no").alias("党员编号"), pl.col("name").alias("姓名"),
                              pl.col("org").alias("党组织"), pl.col("amount").cast(pl.Float64).alias("金额"),
                              pl.col("paid_on").alias("缴纳日期"),
                              pl.when(pl.col("forward")).then(pl.lit("全额上缴中央")).otherwise(pl.lit(""))
                              .alias("标记"), pl.col("note").alias("备注")),
                     hide_index=True, width="stretch", column_config={
                         "金额": st.column_config.NumberColumn(format="%.2f"),
                         "缴纳日期": st.column_config.DateColumn(format="YYYY-MM-DD")}, placeholder="—")


# -- 工资表与基数 ---------------------------------------------------------------------------------
def mapping_widgets(columns: list[str], saved: dict, org_id: int) -> dict:
    st.markdown("**工资项口径**（每个单位设置一次，导入时保存，下次自动沿用）")
    kinds = list(KIND_LABELS)
    mapping, cols = {}, st.columns(4)
    for i, col in enumerate(columns):
        default = saved.get(col) or payroll.guess_kind(col)
        mapping[col] = cols[i % 4].selectbox(
            col, kinds, index=kinds.index(default) if default in kinds else None, format_func=KIND_LABELS.get,
            key=f"map_{org_id}_{col}", placeholder="请选择口径")
    return mapping


def payroll_panel(db, user: User, month: date, org_id) -> None:
    if org_id is None:
        st.info("请先在页面上方选择工资表所属的单位（党组织）：每个单位的工资项口径分别保存。", icon=":material/info:")
        return
    st.download_button("下载工资表样例", data=lambda: payroll.payroll_template(db, user, org_id), mime=XLSX,
                       file_name="工资表样例.xlsx", key="dl_template", on_click="ignore")
    n = st.session_state.get("payroll_nonce", 0)
    up = st.file_uploader(f"{dues_store.month_text(month)} 工资表（xlsx、xls 或 csv；表头上方可以有标题行）",
                          type=["xlsx", "xls", "csv"], key=f"payroll_up_{n}")
    redetermine = st.checkbox("重新核定：本月起按新基数收缴", key="payroll_redetermine",
                              help="设置为“每年年初核定”时，年中导入的新基数从下一年 1 月起生效；勾选则从本月起生效")
    if up is None:
        return
    frame = read_upload(up)
    if frame is None:
        return
    saved = read(db, user, payroll.payroll_mapping, org_id)
    mapping = mapping_widgets(frame.df.columns, saved, org_id)
    pv, exc = run_safely(payroll.preview_payroll, db, user, org_id, month, frame, mapping, redetermine=redetermine)
    if exc is not None:
        return
    for w in pv.warnings:
        st.warning(w)
    m1, m2, m3 = st.columns(3)
    m1.metric("人数", pv.lines.height)
    m2.metric("基数合计（元）", money(pv.lines["base_fen"].sum()))
    m3.metric("应缴合计（元）", money(pv.total_fen))
    show = pv.lines.head(200)
    steps = dues_rules.explain_lines(show, pv.settings)
    money_cols = ("计入合计", "扣除", "个税", "计算基数", "应缴")
    st.dataframe(show.select(
        pl.col("row").alias("行"), pl.col("member_no").alias("党员编号"), pl.col("name").alias("姓名"),
        pl.col("category").cast(pl.String).replace_strict(dues_model.CATEGORIES, default=None).alias("类别"),
        yuan_col("counted_fen", "计入合计"), yuan_col("deducted_fen", "扣除"), yuan_col("tax_fen", "个税"),
        yuan_col("base_fen", "计算基数"),
        pl.col("rate_permille").replace_strict(RATE_PCT, default=None, return_dtype=pl.String).alias("费率"),
        yuan_col("dues_fen", "应缴"), pl.col("applies_from").dt.strftime("%Y-%m").alias("生效月份"),
        pl.Series("计算过程", steps)),
        hide_index=True, width="stretch", height=min(36 * (show.height + 1) + 3, 420),
        column_config={**{c: st.column_config.NumberColumn(format="%.2f") for c in money_cols},
                       "计算过程": st.column_config.TextColumn(width="large")}, placeholder="—")
    with st.container(border=True):
        st.markdown("**计算过程**（基数 → 档次 → 费率 → 应缴）")
        for r, text in list(zip(show["row"].to_list(), steps))[:8]:
            st.caption(f"第 {r} 行：{text}")
        if show.height > 8:
            st.caption(f"……其余各行的计算过程见上表最后一列（共 {pv.lines.height} 行）。")
    if st.button("导入工资表并保存口径", type="primary", key="payroll_commit"):
        res, exc = run_safely(payroll.commit_payroll, db, user, org_id, month, frame, mapping, redetermine=redetermine)
        if exc is None:
            flash(f"工资表已导入：{res.summary}（第 {res.batch_id} 批，可撤销）。回到「花名册」点「重新计算应缴」即按新基数收缴。")
            st.session_state["payroll_nonce"] = n + 1
            st.rerun()


def bases_panel(db, user: User, month: date) -> None:
    st.caption("已有计算基数时直接导入：党员编号、计算基数；可选：月份（没有则按上方月份）、党员类别（会同时改党员名册中的类别）、"
               "固定数额（少交党员经批准的数额）、备注。")
    n = st.session_state.get("bases_nonce", 0)
    up = st.file_uploader("计算基数表", type=["xlsx", "xls", "csv"], key=f"bases_up_{n}")
    redetermine = st.checkbox("重新核定：从所属月份起生效", key="bases_redetermine")
    if up is None:
        return
    frame = read_upload(up)
    if frame is None:
        return
    pv, exc = run_safely(payroll.import_bases, db, user, frame, month=month, redetermine=redetermine)
    if exc is not None:
        return
    for w in pv.warnings:
        st.info(w)
    if st.button("确认导入基数", type="primary", key="bases_commit"):
        res, exc = run_safely(payroll.import_bases, db, user, frame, month=month, redetermine=redetermine, commit=True)
        if exc is None:
            flash(f"计算基数已导入：{res.summary}。")
            st.session_state["bases_nonce"] = n + 1
            st.rerun()


def _find_member(db, user: User, key: str, label: str, hint: str):
    """A search box and a pick list of the members it finds → (found frame, picked id), or
    (None, None) with the hint (or「没有找到。」) while nothing is picked."""
    text = st.text_input(label, key=f"{key}_search", placeholder="党员编号或姓名")
    found = read(db, user, dues_store.find_members, text) if text.strip() else None
    if found is None or not found.height:
        st.caption(hint if not text.strip() else "没有找到。")
        return None, None
    labels = dict(zip(found["id"].to_list(), (found["member_no"] + " " + found["name"] + "（" + found["org"] + "）").to_list()))
    return found, st.selectbox("党员", list(labels), format_func=labels.get, key=f"{key}_pick")


def base_history_panel(db, user: User) -> None:
    _, pick = _find_member(db, user, "bh", "查找党员", "输入党员编号或姓名，查看其历次计算基数。")
    if pick is None:
        return
    hist, exc = run_safely(read, db, user, payroll.base_history, pick)
    if exc is None:
        st.dataframe(hist.select(pl.col("month").alias("月份"), pl.col("base").cast(pl.Float64).alias("计算基数"),
                                 pl.col("fixed_amount").cast(pl.Float64).alias("固定数额"),
                                 pl.col("counted").cast(pl.Float64).alias("计入合计"),
                                 pl.col("deducted").cast(pl.Float64).alias("扣除"), pl.col("tax").cast(pl.Float64).alias("个税"),
                                 pl.when(pl.col("redetermine")).then(pl.lit("是")).otherwise(pl.lit("")).alias("重新核定"),
                                 pl.col("source").replace_strict(dues_store.SOURCES, default=pl.col("source")).alias("来源"),
                                 pl.col("updated_by").alias("登记人")), hide_index=True, width="stretch",
                     column_config={c: st.column_config.NumberColumn(format="%.2f")
                                    for c in ("计算基数", "固定数额", "计入合计", "扣除", "个税")}, placeholder="—")


def category_panel(db, user: User) -> None:
    """党员类别历史: a member's category from a month on (e.g. 在职 → 离退休); the roll and the
    back-calculation use each month's own category."""
    found, pick = _find_member(db, user, "cat", "要登记类别变化的党员",
                               "输入党员编号或姓名，查看或登记其党员类别的变化（如退休：在职 → 离退休）。")
    if pick is None:
        return
    hist = read(db, user, payroll.category_history, pick)
    if hist.height:
        st.dataframe(hist.select(pl.col("month").dt.strftime("%Y-%m").alias("自月份起"), pl.col("category_label").alias("类别"),
                                 pl.col("note").alias("说明"), pl.col("updated_by").alias("登记人")),
                     hide_index=True, width="stretch", placeholder="—")
    else:
        st.caption("没有类别变化记录：各月都按名册中的类别计算。")
    if not user.can(dues_store.PERM_WRITE):
        return
    member_no = found.filter(pl.col("id") == pick)["member_no"][0]
    with st.form("cat_form", clear_on_submit=True):
        c1, c2, c3 = st.columns(3)
        month = c1.text_input("自哪个月起（YYYY-MM）", key="cat_month")
        cat = c2.selectbox("新类别", list(dues_model.CATEGORIES), format_func=dues_model.CATEGORIES.get, key="cat_new")
        prev = c3.selectbox("此前的类别（第一次登记时）", [""] + list(dues_model.CATEGORIES),
                            format_func=lambda c: dues_model.CATEGORIES.get(c, "按名册"), key="cat_prev")
        note = st.text_input("说明", key="cat_note", placeholder="例如：2018 年 7 月退休")
        if st.form_submit_button("登记类别变化"):
            _, exc = run_safely(payroll.set_category, db, user, member_no, month, cat, previous=prev or None,
                                note=note or None)
            if exc is None:
                flash("已登记。欠缴与补交按各月的类别计算；已生成的花名册如需更新，请点「重新计算应缴」。")
                st.rerun()


def import_history_panel(db, user: User) -> None:
    hist = read(db, user, payroll.import_history)
    if not hist.height:
        st.caption("还没有导入过工资表或计算基数。")
        return
    st.dataframe(hist.select(
        pl.col("id").alias("编号"),
        pl.col("kind").replace_strict({"payroll": "工资表", "bases": "计算基数"}, default=pl.col("kind")).alias("类型"),
        pl.col("org").alias("单位"), pl.col("month").alias("月份"), pl.col("file_name").alias("文件"),
        pl.col("row_count").alias("人数"), pl.col("settings_id").alias("设置版本"),
        pl.when(pl.col("redetermine")).then(pl.lit("是")).otherwise(pl.lit("")).alias("重新核定"),
        pl.col("updated_by").alias("导入人"), pl.col("updated_at").alias("时间")),
        hide_index=True, width="stretch", column_config={"时间": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")}, placeholder="—")


# -- 设置 ---------------------------------------------------------------------------------------
def settings_panel(db, user: User) -> None:
    sid, s = read(db, user, dues_settings.current_settings)
    can = user.can(dues_store.PERM_WRITE)
    st.caption(f"现行设置为第 {sid} 版：{dues_settings.describe_settings(s)}。每次修改都保存为新的一版，花名册的每一行记着计算时所用的版本。")
    with st.form("dues_settings"):
        c1, c2, c3 = st.columns(3)
        pick = lambda box, label, options, value, key: box.selectbox(  # noqa: E731
            label, list(options), index=list(options).index(value), format_func=options.get, key=key, disabled=not can)
        precision = pick(c1, "计算精度", dues_model.PRECISION_LABELS, s.precision, "set_precision")
        rounding = pick(c2, "舍入方式", dues_model.ROUNDING_LABELS, s.rounding, "set_rounding")
        cap = c3.checkbox("每月最多 1000 元（2017 年起）", s.cap, key="set_cap", disabled=not can)
        base_reading = pick(c1, "计算基数口径", dues_model.BASE_READINGS, s.base_reading, "set_base")
        retiree = pick(c2, "离退休人员基数", dues_model.RETIREE_BASES, s.retiree_base, "set_retiree")
        mode = pick(c3, "金额调整", dues_model.AMOUNT_MODES, s.amount_mode, "set_mode")
        farmer = c1.text_input("农民党员默认数额（元，0.20–1.00）", str(s.farmer_default), key="set_farmer", disabled=not can)
        warn = c2.number_input("连续未缴几个月提醒", 1, 24, s.warn_from_months, key="set_warn", disabled=not can)
        flag = c3.number_input("连续未缴几个月标记", 1, 24, s.flag_months, key="set_flag", disabled=not can)
        note = st.text_input("修改说明", key="set_note", disabled=not can, placeholder="例如：按市委组织部通知改为……")
        since = c1.text_input("自哪个月起施行（YYYY-MM，可不填）", key="set_since", disabled=not can,
                              placeholder="不填：修改现行规定",
                              help="各月按当月施行的规定计算：2017 年以前按 2008 年规定（只扣个税、不封顶），"
                                   "2017 年 1 月起按 2017 年通知。填写月份则新设置从该月起施行，此前的月份不变。")
        if st.form_submit_button("保存设置", disabled=not can, type="primary"):
            values = dict(precision=precision, rounding=rounding, cap=cap, base_reading=base_reading,
                          retiree_base=retiree, amount_mode=mode, farmer_default=farmer.strip(),
                          warn_from_months=int(warn), flag_months=int(flag))
            new_id, exc = run_safely(dues_settings.save_settings, db, user, values, note or None, since.strip() or None)
            if exc is None:
                flash(f"设置已保存为第 {new_id} 版。已生成的花名册不变；需要时点「重新计算应缴」。" if new_id != sid
                      else "设置没有变化。")
                st.rerun()
    hist = read(db, user, dues_settings.settings_history)
    with st.expander(f"设置的历次版本（{hist.height}）"):
        st.dataframe(hist.select(pl.col("id").alias("版本"), pl.col("effective_from").dt.strftime("%Y-%m").alias("施行月份"),
                                 pl.col("settings").map_elements(
                                     lambda t: dues_settings.describe_settings(dues_model.DuesSettings.from_json(t)),
                                     return_dtype=pl.String).alias("内容"),
                                 pl.col("note").alias("说明"), pl.col("roll_rows").alias("花名册行数"),
                                 pl.col("updated_by").alias("修改人"), pl.col("updated_at").alias("时间")),
                     hide_index=True, width="stretch", placeholder="—")
    st.markdown("**农民党员每月数额**（由党支部确定；未设置的支部按默认数额）")
    table_editor(db, user, dues_settings.FARMER_SPEC, key="farmer_amounts", page_size=200)


# -- 欠缴与补交 -----------------------------------------------------------------------------------
def arrears_metrics(calc) -> None:
    m = calc.members
    cols = st.columns(3) + st.columns(3)
    cols[0].metric("应缴（元）", money(m["due_total_fen"].sum()))
    cols[1].metric("实缴（元）", money(m["paid_total_fen"].sum()))
    cols[2].metric("应补交（元）", money(m["arrears_fen"].sum()))
    cols[3].metric("欠缴人数", f"{(m['arrears_fen'] > 0).sum():,}")
    cols[4].metric(f"连续 {calc.settings.warn_from_months} 个月以上未缴", f"{(m['warning'] != 'none').sum():,}")
    cols[5].metric(f"连续 {calc.settings.flag_months} 个月以上未缴", f"{(m['warning'] == 'flag').sum():,}")


def paged_table(df: pl.DataFrame, key: str, *, height: int = 560, config: dict | None = None) -> None:
    pages = max(1, -(-df.height // PAGE_SIZE))
    page = 0
    if pages > 1:
        page = st.number_input(f"页码（共 {pages} 页，{df.height:,} 行）", 1, pages, 1, key=key) - 1
    part = df.slice(page * PAGE_SIZE, PAGE_SIZE)
    st.dataframe(part, hide_index=True, width="stretch", height=min(height, 36 * (part.height + 1) + 3),
                 column_config=config, placeholder="—")


MONEY_CFG = {**{c: st.column_config.NumberColumn(format="%.2f") for c in ("应缴", "实缴", "应补交", "金额")},
             "缴纳日期": st.column_config.DateColumn(format="YYYY-MM-DD")}


def members_view(calc, frame: pl.DataFrame, key: str) -> None:
    out = dues_arrears.arrears_members_frame(calc, frame).with_columns(
        [pl.col(c).cast(pl.Float64) for c in ("应缴", "实缴", "应补交")])
    paged_table(out, key, config=MONEY_CFG)


def statement_panel(db, user: User, start: date, end: date) -> None:
    _, pick = _find_member(db, user, "stm", "查找党员",
                           "输入党员编号或姓名，生成该党员在所选期间的逐月对账单（应缴 / 实缴 / 补交）。")
    if pick is None:
        return
    res, exc = run_safely(read, db, user, dues_arrears.member_statement, pick, start, end)
    if exc is not None:
        return
    summary, detail = res
    c = st.columns(4)
    c[0].metric("应缴合计（元）", money(summary["due_fen"]))
    c[1].metric("实缴合计（元）", money(summary["paid_fen"]))
    c[2].metric("应补交（元）", money(summary["arrears_fen"]))
    c[3].metric("最长连续未缴（月）", summary["max_run"])
    table = dues_arrears.statement_frame(detail, with_base=user.can(dues_store.PERM_SALARY))
    dec = [c for c in table.columns if isinstance(table.schema[c], pl.Decimal)]
    st.dataframe(table.with_columns([pl.col(c).cast(pl.Float64) for c in dec]),
                 hide_index=True, width="stretch", height=min(36 * (table.height + 1) + 3, 460),
                 column_config={**{c: st.column_config.NumberColumn(format="%.2f") for c in dec},
                                "缴纳日期": st.column_config.DateColumn(format="YYYY-MM-DD")}, placeholder="—")
    st.download_button("下载对账单（Excel）", data=lambda: dues_arrears.member_statement_xlsx(db, user, pick, start, end),
                       file_name=f"党费对账单-{summary['member_no']}-{summary['name']}.xlsx", mime=XLSX,
                       key="dl_statement", on_click="ignore", icon=":material/description:")


# -- charts ---------------------------------------------------------------------------------------
def _show_chart(chart, data: pl.DataFrame, name: str, key: str) -> None:
    if chart_with_export is not None:
        chart_with_export(chart, data, name, key)
    else:  # pragma: no cover
        st.altair_chart(chart, width="stretch")


def charts_panel(db, user: User, calc, org_id) -> None:
    """Collection rate by group and month (the roll), arrears by group (the back-calculation
    shown on the page), amounts by category (the roll)."""
    start, end = calc.start, calc.end
    by = "street" if org_id is None else "org"
    group = "街道/系统" if by == "street" else "党组织"
    series = read(db, user, dues_charts.collection_series, start, end, org_id=org_id, by=by)
    if not series.height:
        st.info("所选期间没有花名册数据。")
        return
    groups, top = dues_charts.top_groups(series)
    rate = top.select(pl.col("grp").alias(group), pl.col("month").alias("月份"), pl.col("rate").alias("收缴率"))
    months = sorted(rate["月份"].unique().to_list())
    heat = alt.Chart(rate.to_pandas()).mark_rect().encode(
        x=alt.X("月份:O", sort=months, title="月份"), y=alt.Y(f"{group}:N", sort=groups, title=group),
        color=alt.Color("收缴率:Q", title="收缴率（%）", scale=alt.Scale(domain=[80, 100], clamp=True, scheme="reds")),
        tooltip=[group, "月份", alt.Tooltip("收缴率:Q", format=".2f")],
    ).properties(title=f"各{group}逐月收缴率（%）", width=alt.Step(44), height=alt.Step(26))
    _show_chart(heat, rate, f"各{group}逐月党费收缴率", "dues_rate")

    key = "street" if by == "street" else "org"
    arrears = dues_arrears.arrears_by_group(calc, key)
    a = arrears.select(pl.col(key).alias(group), yuan_col("arrears_fen", "欠缴金额"), pl.col("owing").alias("欠缴人数"))
    bar = alt.Chart(a.to_pandas()).mark_bar().encode(
        x=alt.X("欠缴金额:Q", title="欠缴金额（元）"), y=alt.Y(f"{group}:N", sort="-x", title=group),
        tooltip=[group, alt.Tooltip("欠缴金额:Q", format=",.2f"), "欠缴人数"],
    ).properties(title=f"欠缴金额最多的{group}（前 20）", width=640, height=alt.Step(26))
    _show_chart(bar, a, f"各{group}党费欠缴金额", "dues_arrears")

    cat = read(db, user, dues_charts.amounts_by_category, start, end, org_id=org_id)
    order = cat["category"].to_list()
    long = pl.concat([cat.select(pl.col("category").alias("党员类别"), pl.lit("应缴").alias("项目"),
                                 yuan_col("due_fen", "金额")),
                      cat.select(pl.col("category").alias("党员类别"), pl.lit("实缴").alias("项目"),
                                 yuan_col("paid_fen", "金额"))])
    base = alt.Chart(long.to_pandas()).encode(
        y=alt.Y("党员类别:N", sort=order, title="党员类别"), yOffset=alt.YOffset("项目:N", sort=["应缴", "实缴"]),
        x=alt.X("金额:Q", title="金额（元）", scale=alt.Scale(domain=[0, float(long["金额"].max() or 1) * 1.22])),
        tooltip=["党员类别", "项目", alt.Tooltip("金额:Q", format=",.2f")])
    grouped = (base.mark_bar().encode(color=alt.Color("项目:N", sort=["应缴", "实缴"], title="",
                                                      legend=alt.Legend(orient="bottom")))
               + base.mark_text(align="left", dx=4, fontSize=13).encode(text=alt.Text("金额:Q", format=",.2f"))
               ).properties(title="各类党员应缴与实缴金额（元）", width=640, height=alt.Step(18))
    _show_chart(grouped, long, "各类党员党费应缴与实缴", "dues_category")

