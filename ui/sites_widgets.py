"""Widgets shared by the two site pages (示范点, 年度计划与考评): cached reads, Chinese
display frames, a table editor scoped to one site or one rubric, the assessment entry with
score sheets, and the org tree. No rules and no SQL here: everything is `dangjian_core.sites`."""

from __future__ import annotations

from datetime import date

import polars as pl
import streamlit as st

from dangjian_core import clock, tables
from dangjian_core.auth import User
from dangjian_core.errors import BadInput, DangjianError
from dangjian_core.sites import attachments as site_files
from dangjian_core.sites import model, sheets, store
from dangjian_core.sites import rules as R
from dangjian_core.vocab import CATEGORIES, LEVELS, TIERS

from .messages import errors_frame, flash, run_safely, show_flash_at
from .table_editor import ROW_COL, changes_from_state, column_config, reload_editor, save_changes


# -- cached reads (keyed on db.generation, so any committed write refreshes them) ------------
@st.cache_data(show_spinner=False, max_entries=8)
def site_list(_db, generation: int, today: str) -> pl.DataFrame:
    return store.list_sites(_db, today=date.fromisoformat(today))


@st.cache_data(show_spinner=False, max_entries=16)
def _read(_db, _fn, generation: int, name: str, args: tuple, kwargs: tuple):
    return _fn(_db, *args, **dict(kwargs))


def read(db, fn, *args, **kwargs):
    """A read function of the core (e.g. `store.plan`), cached per db.generation, function and
    arguments — the function itself is called, never looked up by name."""
    return _read(db, fn, db.generation, f"{fn.__module__}.{fn.__qualname__}", args, tuple(sorted(kwargs.items())))


def sites_now(db) -> pl.DataFrame:
    return site_list(db, db.generation, clock.today().isoformat())


def label(df: pl.DataFrame, col: str, mapping: dict) -> pl.Expr:
    return pl.col(col).replace_strict(mapping, default=pl.col(col), return_dtype=pl.String)


def sites_display(df: pl.DataFrame) -> pl.DataFrame:
    """The site list in Chinese, for st.dataframe."""
    return df.select(
        pl.col("id").alias("编号"), pl.col("name").alias("党组织"), label(df, "category", CATEGORIES).alias("类别"),
        pl.col("street").alias("街道/系统"), label(df, "status", R.STATUSES).alias("状态"),
        pl.col("creation_year").alias("创建年度"), pl.col("last_assessed_year").alias("最近考评"),
        pl.col("last_total").cast(pl.Float64).alias("最近得分"), label(df, "last_kind", R.KINDS).alias("判定"),
        pl.col("due_year").alias("下次考评年度"),
        pl.when(pl.col("overdue")).then(pl.lit("逾期")).otherwise(pl.lit("")).alias("逾期"),
        pl.col("supervisor").alias("督查指导员"), pl.col("last_visit").cast(pl.String).alias("最近指导"),
    )


def site_label(row: dict) -> str:
    """Stable across status changes: a selectbox keeps its choice by this text, so a label
    that changed with the status would throw the user back to the first site."""
    return f"{row['name']}（{row['creation_year']} 年创建 · 编号 {row['id']}）"


def show_errors(exc: Exception) -> None:
    if isinstance(exc, BadInput) and exc.errors:
        st.error(exc.message)
        st.dataframe(errors_frame(exc.errors), hide_index=True, placeholder="", width="stretch")
    else:
        st.error(str(exc))


# -- a table editor over the rows of one site / one rubric -------------------------------------
@st.cache_data(show_spinner=False, max_entries=32)
def _scoped(_db, generation: int, table: str, fixed: tuple, username: str, roles: tuple) -> pl.DataFrame:
    spec = tables.get_spec(table)
    user = User(username, username, frozenset(roles))
    df, _ = tables.query(_db, user, spec, filters=dict(fixed), limit=None)
    return tables.display_frame(_db, spec, df)


def scoped_editor(db, user: User, spec: tables.TableSpec, *, key: str, fixed: dict, hide=(),
                  empty: str = "还没有记录。") -> None:
    """Edit the rows of `spec` whose `fixed` columns have these values; new rows get them."""
    can = user.can(spec.perm)
    nonce = st.session_state.setdefault(f"{key}_nonce", 0)
    editor_key = f"{key}_editor_{nonce}"
    state = st.session_state.get(editor_key) or {}
    pending = bool(state.get("edited_rows") or state.get("added_rows") or state.get("deleted_rows"))
    # The editor's input (and its choice lists) is pinned while there are unsaved edits: a
    # colleague's save would otherwise change it and Streamlit would drop the edits.
    snap_key = f"{key}_snapshot"
    snap = st.session_state.get(snap_key)
    if snap is None or snap["nonce"] != nonce or (snap["generation"] != db.generation and not pending):
        frame = _scoped(db, db.generation, spec.table, tuple(sorted(fixed.items())), user.username,
                        tuple(sorted(user.roles)))
        frame = frame.with_columns(pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias(ROW_COL))
        snap = {"nonce": nonce, "generation": db.generation, "frame": frame,
                "config": column_config(db, spec, user)}
        st.session_state[snap_key] = snap
    frame = snap["frame"]
    if frame.height == 0 and not can:
        st.caption(empty)
        return
    visible = [ROW_COL] + [c.name for c in spec.columns if c.name not in fixed and c.name not in hide]
    st.data_editor(frame, key=editor_key, hide_index=True, column_order=visible, column_config=snap["config"],
                   num_rows="dynamic" if can else "fixed", disabled=not can, width="stretch",
                   height=min(35 * (frame.height + 2) + 3, 420), placeholder="")
    if not can:
        return
    if snap["generation"] != db.generation:
        st.caption("提示：打开此表后数据已有更新（可能是其他人保存的）；保存或点「刷新」后可看到最新内容。")
    changes = changes_from_state(state, frame, spec)
    for ins in changes.inserts:
        ins.update(fixed)
    n = len(changes.updates) + len(changes.inserts) + len(changes.deletes)
    c1, c2, c3 = st.columns([1, 1, 4])
    if c2.button("刷新", key=f"{key}_reload", help="放弃未保存的修改，载入最新内容"):
        reload_editor(key, nonce)
    if c1.button("保存", type="primary", key=f"{key}_save", disabled=n == 0):
        save_changes(db, user, spec, changes, key=key, nonce=nonce, saved=f"已保存{spec.label}")
    if n:
        c3.info(f"有 {n} 处未保存的修改：点「保存」才会写入。")


# -- the assessment entry ------------------------------------------------------------------------
LINE_COLS = {"seq": "序号", "kind": "类型", "item": "考评项目", "max_points": "满分", "self_score": "自评分",
             "score": "考评得分", "vetoed": "否决", "note": "备注"}


class _NothingYet(Exception):
    """The score sheet is untouched: show no problems before the user has done anything."""


def _lines_frame(lines: list[R.Line]) -> pl.DataFrame:
    def num(v):
        try:
            return None if v is None or str(v).strip() == "" else float(v)
        except ValueError:
            return None

    def flag(v):
        try:
            return R.parse_flag(v)
        except ValueError:
            return False

    return pl.DataFrame({
        "rid": [ln.rubric_item_id for ln in lines], "序号": [ln.seq for ln in lines],
        "类型": [R.LINE_KINDS.get(ln.kind, ln.kind) for ln in lines], "考评项目": [ln.item for ln in lines],
        "满分": [num(ln.max_points) for ln in lines], "自评分": [num(ln.self_score) for ln in lines],
        "考评得分": [num(ln.score) for ln in lines], "否决": [flag(ln.vetoed) for ln in lines],
        "备注": [None if ln.note is None else str(ln.note) for ln in lines],
    }, schema={"rid": pl.Int64, "序号": pl.Int64, "类型": pl.String, "考评项目": pl.String, "满分": pl.Float64,
               "自评分": pl.Float64, "考评得分": pl.Float64, "否决": pl.Boolean, "备注": pl.String})


def _lines_from(edited: pl.DataFrame, template: list[R.Line]) -> list[R.Line]:
    by = {ln.rubric_item_id: ln for ln in template}
    out = []
    for r in edited.iter_rows(named=True):
        t = by.get(r["rid"])
        if t is None:
            continue
        out.append(R.Line(t.seq, t.item, t.kind, t.max_points, r["自评分"], r["考评得分"], r["否决"],
                          r["备注"], t.rubric_item_id))
    return out


def assessment_entry(db, user: User, site: dict) -> None:
    """Score sheet in the page (or from a filled xlsx), live total and result, then 记录考评."""
    sid = site["id"]
    show_flash_at(f"site_assess_{sid}")  # 已记录…: the status it changed may end the entry below
    if site["status"] not in R.ACTIVE:
        st.info(f"当前状态为「{R.status_label(site['status'])}」，不需要考评。"
                + ("请先在「概况」中确定为创建单位。" if site["status"] == "applied" else ""))
        return
    if not user.can(model.PERM):
        st.caption("您的角色只能查看考评记录，不能录入考评。")
        return
    today = clock.today()
    if site["due_year"] and site["due_year"] > today.year:
        st.info(f"下一次是 {site['due_year']} 年度考评（{R.STAGES[R.stage_of(site['status'])]}），到时再录入。"
                "录错的考评可在「考评记录」中撤销后重新录入。")
        return
    default_year = min(site["due_year"] or today.year, today.year)
    imported = st.session_state.get(f"as_import_{sid}")
    if imported and st.session_state.pop(f"as_pending_{sid}", False):
        # a sheet was just read: its values go into the widgets (before they are drawn)
        st.session_state[f"as_year_{sid}"] = imported["year"]
        for k, v in (("on", imported["assessed_on"]), ("who", imported["assessor"]), ("kind", imported["kind"]),
                     ("note", imported["note"])):
            if v is not None:
                st.session_state[f"as_{k}_{sid}"] = v
    c1, c2, c3 = st.columns([1, 1, 2])
    year = c1.number_input("考评年度", R.MIN_YEAR, today.year + 1, imported["year"] if imported else default_year,
                           key=f"as_year_{sid}")
    stage = R.STAGES[R.stage_of(site["status"])]
    c2.metric("考评阶段", stage)
    c3.caption(f"应考评年度：{site['due_year']}；年检周期 {site['inspection_interval']} 年。考评结果由得分自动计算："
               "总分达到合格线且没有触发否决项为合格。")
    rub, template = read(db, store.rubric_for, int(year), site["category"])
    if rub is None:
        st.warning(f"{year} 年还没有适用于「{CATEGORIES.get(site['category'])}」的考评细则："
                   "请先在「年度计划与考评 → 考评细则」中建立。")
        return
    st.caption(f"考评细则：{rub['name']}（合格线 {rub['pass_mark']} 分）")
    with st.expander("评分表：下载后带到现场填写，填好后上传"):
        d1, d2 = st.columns([1, 2])
        d1.download_button("下载评分表（Excel）", data=lambda: sheets.score_sheet_xlsx(db, sid, int(year)),
                           file_name=f"评分表-{site['name']}-{year}.xlsx", key=f"as_sheet_{sid}", on_click="ignore",
                           mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        up = d2.file_uploader("上传填好的评分表", type=["xlsx", "xls"], key=f"as_upload_{sid}")
        if up is not None and st.session_state.get(f"as_upload_done_{sid}") != up.file_id:
            parsed, exc = run_safely(sheets.read_score_sheet, db, sid, up.getvalue(), up.name)
            if exc is None:
                st.session_state[f"as_import_{sid}"] = parsed
                st.session_state[f"as_upload_done_{sid}"] = up.file_id
                st.session_state[f"as_nonce_{sid}"] = st.session_state.get(f"as_nonce_{sid}", 0) + 1
                st.session_state[f"as_pending_{sid}"] = True
                flash("评分表已读入，请核对后点「记录考评」。", "info", where=f"site_sheet_{sid}")
                st.rerun()
        show_flash_at(f"site_sheet_{sid}")
    if imported and imported["year"] == int(year):
        by = {ln.rubric_item_id: ln for ln in imported["lines"]}
        template = [by.get(ln.rubric_item_id, ln) for ln in template]
    nonce = st.session_state.get(f"as_nonce_{sid}", 0)
    edited = st.data_editor(
        _lines_frame(template), key=f"as_lines_{sid}_{year}_{nonce}", hide_index=True, width="stretch",
        column_order=["序号", "类型", "考评项目", "满分", "自评分", "考评得分", "否决", "备注"],
        disabled=["序号", "类型", "考评项目", "满分"],
        column_config={"自评分": st.column_config.NumberColumn(min_value=0, format="%.1f"),
                       "考评得分": st.column_config.NumberColumn(min_value=0, format="%.1f"),
                       "否决": st.column_config.CheckboxColumn(help="否决项触发时勾选：考评不合格")},
        height=min(35 * (len(template) + 1) + 3, 720), placeholder="")
    lines = _lines_from(pl.DataFrame(edited), template)
    entered = any(ln.score not in (None, "") or ln.self_score not in (None, "") for ln in lines)
    try:
        if not entered:  # nothing typed yet: nothing to find fault with
            raise _NothingYet
        res = R.score(lines, rub["pass_mark"])
        after = R.after_assessment(store.state_of(site), int(year), res.result)
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("自评总分", "—" if res.self_total is None else f"{res.self_total}")
        m2.metric("考评总分", f"{res.total}")
        m3.metric("考评结果", res.result_label + ("（否决）" if res.vetoed else ""))
        m4.metric("状态将变为", R.status_label(after.status))
    except _NothingYet:
        st.caption("填入各项考评得分（或上传填好的评分表）后，这里会算出总分、考评结果和状态变化。")
    except DangjianError as exc:
        n = len(getattr(exc, "errors", None) or [])
        st.info(f"评分表还有{f' {n} 处' if n else ''}没填完或有问题：点「记录考评」时会逐条列出。")
    f1, f2, f3 = st.columns(3)
    on = f1.date_input("考评日期", imported["assessed_on"] if imported and imported["assessed_on"] else today,
                       key=f"as_on_{sid}")
    who = f2.text_input("考评人", imported["assessor"] if imported and imported["assessor"] else "",
                        key=f"as_who_{sid}", placeholder="例如：市委组织部考评组 张某")
    kinds = list(R.KINDS)
    kind = f3.selectbox("类型判定", kinds, format_func=R.KINDS.get, key=f"as_kind_{sid}",
                        index=kinds.index(imported["kind"]) if imported and imported["kind"] else 0)
    note = st.text_input("备注", imported["note"] if imported and imported["note"] else "", key=f"as_note_{sid}")
    if st.button("记录考评", type="primary", key=f"as_save_{sid}"):
        out, exc = run_safely(store.record_assessment, db, user, sid, int(year), on, who, kind, lines,
                              note=note or None, expected_version=site["version"])
        if exc is None:
            flash(f"已记录「{out['name']}」{out['year']} 年度考评：{out['total']} 分，{R.RESULTS[out['result']]}；"
                  f"状态：{R.status_label(out['status_before'])} → {R.status_label(out['status_after'])}。"
                  "如有录错，可在「考评记录」中撤销。", where=f"site_assess_{sid}")
            for k in (f"as_import_{sid}", f"as_year_{sid}", f"as_who_{sid}", f"as_note_{sid}", f"as_on_{sid}",
                      f"as_kind_{sid}"):
                st.session_state.pop(k, None)
            st.session_state[f"as_nonce_{sid}"] = nonce + 1
            st.rerun()


def history(db, user: User, site: dict) -> None:
    """All assessments of this org (every round), one sheet's lines, and undo of the latest."""
    show_flash_at(f"site_history_{site['id']}")
    a = read(db, store.assessments, None)
    a = a.filter(pl.col("org_id") == site["org_id"])
    if a.height == 0:
        st.caption("还没有考评记录。")
        return
    st.dataframe(a.select(
        pl.col("year").alias("年度"), pl.col("assessed_on").cast(pl.String).alias("考评日期"), pl.col("assessor").alias("考评人"),
        label(a, "stage", R.STAGES).alias("阶段"), pl.col("self_total").cast(pl.Float64).alias("自评分"),
        pl.col("total").cast(pl.Float64).alias("得分"), label(a, "result", R.RESULTS).alias("结果"),
        pl.when(pl.col("vetoed")).then(pl.lit("是")).otherwise(pl.lit("")).alias("否决"),
        label(a, "kind", R.KINDS).alias("判定"),
        (label(a, "status_before", R.STATUSES) + " → " + label(a, "status_after", R.STATUSES)).alias("状态变化"),
    ), hide_index=True, placeholder="", width="stretch")
    ids = a["id"].to_list()
    pick = st.selectbox("查看评分明细", ids, index=len(ids) - 1, key=f"hist_pick_{site['id']}",
                        format_func=lambda i: f"{a.filter(pl.col('id') == i)['year'][0]} 年度考评")
    ln = read(db, store.assessment_lines, pick)
    st.dataframe(ln.select(pl.col("seq").alias("序号"), label(ln, "kind", R.LINE_KINDS).alias("类型"),
                           pl.col("item").alias("考评项目"), pl.col("max_points").cast(pl.Float64).alias("满分"),
                           pl.col("self_score").cast(pl.Float64).alias("自评分"),
                           pl.col("score").cast(pl.Float64).alias("考评得分"),
                           pl.when(pl.col("vetoed")).then(pl.lit("是")).otherwise(pl.lit("")).alias("否决"),
                           pl.col("note").alias("备注")), hide_index=True, placeholder="", width="stretch")
    mine = a.filter(pl.col("site_id") == site["id"])
    if mine.height and user.can("audit.revert") and user.can(model.PERM):
        last = mine.row(-1, named=True)
        if st.button(f"撤销 {last['year']} 年度考评（状态恢复为「{R.status_label(last['status_before'])}」）",
                     key=f"hist_revert_{site['id']}"):
            _, exc = run_safely(store.revert_assessment, db, user, last["id"])
            if exc is None:
                flash(f"已撤销 {last['year']} 年度考评，状态已恢复为「{R.status_label(last['status_before'])}」。",
                      where=f"site_history_{site['id']}")
                st.rerun()


def attachments(db, ev: pl.DataFrame, limit: int = 12, previews: int = 4) -> None:
    """The archive's files: a download button each (read only when clicked), and a small
    preview of the latest few photos."""
    files = ev.filter(pl.col("file_path").is_not_null())
    shown = 0
    for r in files.head(limit).iter_rows(named=True):
        c1, c2 = st.columns([3, 1])
        c1.caption(f"{r['event_date']} {r['title']}：{r['file_name']}")
        c2.download_button("下载", data=lambda i=r["id"]: site_files.attachment(db, i)[1], file_name=r["file_name"],
                           key=f"file_{r['id']}", on_click="ignore")
        if shown < previews and r["file_name"].lower().endswith(tuple(model.IMAGE_TYPES)):
            shown += 1
            try:
                st.image(site_files.attachment(db, r["id"])[1], width=240)
            except Exception:  # noqa: BLE001 — a missing or damaged photo must not break the page
                st.caption("（这张图片无法预览：文件可能已损坏或被移走）")
    if files.height > limit:
        st.caption(f"另有 {files.height - limit} 个附件未列出。")


# -- the org tree --------------------------------------------------------------------------------
def org_tree(db) -> None:
    tree = read(db, store.org_tree)
    streets = sorted(s for s in tree["street"].unique().to_list() if s)
    street = st.selectbox("街道/系统", streets, key="tree_street")
    part = tree.filter(pl.col("street") == street)
    st.dataframe(part.select(
        (pl.lit("　") .repeat_by(pl.col("depth")).list.join("") + pl.when(pl.col("depth") > 0)
         .then(pl.lit("└ ")).otherwise(pl.lit("")) + pl.col("name")).alias("党组织"),
        label(part, "level", LEVELS).alias("层级"), pl.col("member_count").alias("党员数"),
        label(part, "tier", TIERS).alias("等次"), label(part, "site_status", R.STATUSES).alias("示范点"),
    ), hide_index=True, placeholder="", width="stretch", height=min(36 * (part.height + 1), 520))
    st.caption(f"共 {part.height} 个党组织；按上下级缩进显示。上级关系在「基层党组织」页面修改，形成循环的修改会被拒绝。")
