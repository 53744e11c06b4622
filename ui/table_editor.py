"""The reusable table editor: search, filters, paging, st.data_editor driven by a core
TableSpec, an explicit 保存 that goes through dangjian_core.tables.save, Excel import with
a dry-run preview, and export. Edits are never fed back into the editor's input: the input
is reloaded from the database only after a successful save or on 刷新."""

from __future__ import annotations

import hashlib

import polars as pl
import streamlit as st

from dangjian_core import clock, fileio, tables
from dangjian_core.auth import User
from dangjian_core.errors import BadInput

from .messages import flash, run_safely, show_check, show_exception

ROW_COL = "_row"


@st.cache_data(show_spinner=False, max_entries=64)
def _page(_db, generation: int, table: str, username: str, roles: tuple, search: str,
          filters: tuple, offset: int, limit: int):
    spec = tables.get_spec(table)
    user = User(username, username, frozenset(roles))
    df, total = tables.query(_db, user, spec, search=search, filters=dict(filters),
                             offset=offset, limit=limit)
    return tables.display_frame(_db, spec, df), total


@st.cache_data(show_spinner=False, max_entries=16)
def _ref_options(_db, generation: int, table: str, column: str) -> list[str]:
    spec = tables.get_spec(table)
    col = spec.column(column)
    with _db.read() as cur:
        refs = tables.load_refs(cur, spec)
    return sorted(str(v) for v in refs[col.name]["by_id"].values() if v is not None)


def column_config(db, spec: tables.TableSpec, user: User) -> dict:
    cfg: dict = {ROW_COL: st.column_config.NumberColumn("行", disabled=True, width="small"),
                 spec.key: st.column_config.NumberColumn("编号", disabled=True, width="small")}
    for c in spec.columns:
        common = dict(label=c.label, required=c.required, help=c.help or None,
                      disabled=not c.editable or (c.sensitive is not None and not user.can(c.sensitive)))
        if c.kind == "choice":
            cfg[c.name] = st.column_config.SelectboxColumn(options=list((c.choices or {}).values()), **common)
        elif c.kind == "ref":
            cfg[c.name] = st.column_config.SelectboxColumn(
                options=_ref_options(db, db.generation, spec.table, c.name), **common)
        elif c.kind == "int":
            # no max_value: the grid silently clamps a larger value to the maximum (latitude
            # 200 → 90); the core refuses it with a message instead
            cfg[c.name] = st.column_config.NumberColumn(step=1, format="%d", **common)
        elif c.kind == "float":
            cfg[c.name] = st.column_config.NumberColumn(format="%.6f", **common)
        elif c.kind == "decimal":
            cfg[c.name] = st.column_config.NumberColumn(format="%.2f", **common)
        elif c.kind == "date":
            cfg[c.name] = st.column_config.DateColumn(format="YYYY-MM-DD", **common)
        elif c.kind == "bool":
            cfg[c.name] = st.column_config.CheckboxColumn(**common)
        else:
            cfg[c.name] = st.column_config.TextColumn(max_chars=c.max_len, **common)
    return cfg


def changes_from_state(state: dict, frame: pl.DataFrame, spec: tables.TableSpec) -> tables.Changes:
    """Map the editor's positional edits to primary keys and loaded versions."""
    keys = frame[spec.key].to_list()
    versions = frame["version"].to_list()
    rows = frame[ROW_COL].to_list()
    ch = tables.Changes()
    for pos, edits in (state.get("edited_rows") or {}).items():
        pos = int(pos)
        k = keys[pos]
        vals = {c: v for c, v in edits.items() if c not in (ROW_COL, spec.key, "version")}
        if vals:
            ch.updates[k] = vals
            ch.versions[k] = versions[pos]
            ch.row_numbers[k] = rows[pos]
    last = (rows[-1] if rows else 0)
    for i, added in enumerate(state.get("added_rows") or []):
        vals = {c: v for c, v in added.items() if c not in (ROW_COL, spec.key, "version")}
        if any(v not in (None, "") for v in vals.values()):
            ch.inserts.append(vals)
            ch.row_numbers[("new", len(ch.inserts) - 1)] = last + i + 1
    for pos in state.get("deleted_rows") or []:
        k = keys[int(pos)]
        ch.deletes.append(k)
        ch.versions[k] = versions[int(pos)]
        ch.row_numbers[k] = rows[int(pos)]
    return ch


def table_editor(db, user: User, spec: tables.TableSpec, *, key: str,
                 filter_columns: list[str] | None = None, page_size: int = 500) -> None:
    can_write = user.can(spec.perm)
    nonce = st.session_state.setdefault(f"{key}_nonce", 0)

    c1, c2, c3 = st.columns([3, 1, 1])
    searched = [c.label for c in tables.search_columns(spec)]
    hint = "、".join(searched[:4]) + ("等" if len(searched) > 4 else "")
    search = c1.text_input("搜索", key=f"{key}_search", placeholder=f"在{hint}中查找" if searched else "",
                           disabled=not searched)
    filters = {}
    if filter_columns:
        cols = st.columns(len(filter_columns))
        for box, name in zip(cols, filter_columns):
            col = spec.column(name)
            if col.kind == "choice":
                picked = box.multiselect(col.label, list((col.choices or {}).values()), key=f"{key}_f_{name}",
                                         placeholder="全部", select_all=False)
                code_of = {v: k for k, v in (col.choices or {}).items()}
                filters[name] = tuple(code_of[p] for p in picked)
            else:
                options = _distinct(db, db.generation, spec.table, name)
                picked = box.multiselect(col.label, options, key=f"{key}_f_{name}", placeholder="全部",
                                         select_all=False)
                filters[name] = tuple(picked)
    # The editor's input is pinned per view until 保存 or 刷新: another user's save must not
    # change the frame under someone's unsaved edits (Streamlit would drop them).
    view_filters = tuple(sorted(filters.items()))
    snap_key = f"{key}_snapshot"
    page = int(st.session_state.get(f"{key}_page", 1)) - 1
    view = (search or "", view_filters, page)
    snap = st.session_state.get(snap_key)
    if snap is not None and snap["nonce"] == nonce and snap["view"] != view:
        # a new search/filter/page: positions of pending edits would point at other rows
        nonce += 1
        st.session_state[f"{key}_nonce"] = nonce
    if snap is None or snap["nonce"] != nonce or snap["view"] != view:
        frame, total = _page(db, db.generation, spec.table, user.username, tuple(sorted(user.roles)),
                             search or "", view_filters, page * page_size, page_size)
        frame = frame.with_columns(pl.int_range(page * page_size + 1, page * page_size + 1 + frame.height,
                                                dtype=pl.Int64).alias(ROW_COL))
        # column choices are pinned too: a changed option list would also reset the editor
        snap = {"nonce": nonce, "view": view, "frame": frame, "total": total,
                "generation": db.generation, "config": column_config(db, spec, user)}
        st.session_state[snap_key] = snap
    frame, total = snap["frame"], snap["total"]
    pages = max(1, -(-total // page_size))
    if pages > 1:
        c2.number_input(f"页码（共 {pages} 页）", 1, pages, key=f"{key}_page")
    c3.metric("符合条件", f"{total} 行")
    if db.generation != snap["generation"]:
        st.caption("提示：打开此表后数据已有更新（可能是其他人保存的）；点「刷新」可查看最新内容。")
    visible = [ROW_COL, spec.key] + [c.name for c in spec.columns
                                     if not c.hidden and not (c.sensitive and not user.can(c.sensitive))]
    editor_key = f"{key}_editor_{nonce}"
    st.data_editor(
        frame, key=editor_key, hide_index=True, column_order=visible,
        column_config=snap["config"],
        num_rows="dynamic" if can_write else "fixed", disabled=not can_write,
        width="stretch", height=min(38 * (frame.height + 2), 560), placeholder="",
    )
    if not can_write:
        st.caption("您的角色只能查看，不能修改这张表。")
        return
    state = st.session_state.get(editor_key) or {}
    changes = changes_from_state(state, frame, spec)
    n_changes = len(changes.updates) + len(changes.inserts) + len(changes.deletes)
    b1, b2, b3 = st.columns([1, 2, 4])
    # 保存 saves in its callback, before the page runs: the one run that follows shows the
    # saved table and the message (no second run through st.rerun)
    b1.button("保存", type="primary", key=f"{key}_save", disabled=n_changes == 0,
              on_click=_save_clicked, args=(db, user, spec, key, nonce))
    if b2.button("刷新（放弃未保存的修改）", key=f"{key}_reload"):
        reload_editor(key, nonce)
    if n_changes:
        b3.info(f"有 {n_changes} 处未保存的修改：点「保存」才会写入。")
    failed = st.session_state.pop(f"{key}_save_error", None)
    if failed is not None:
        show_exception(failed)


def _save_clicked(db, user: User, spec: tables.TableSpec, key: str, nonce: int) -> None:
    """保存's callback: the edits of the editor drawn with `nonce`, saved through the core. Saved:
    the message is flashed and the editor's next draw reads the table afresh (new nonce).
    Refused: the edits stay and the page shows why, below the buttons."""
    snap = st.session_state.get(f"{key}_snapshot")
    if snap is None or snap["nonce"] != nonce:
        return  # the view changed under the click: nothing of it is pending any more
    changes = changes_from_state(st.session_state.get(f"{key}_editor_{nonce}") or {}, snap["frame"], spec)
    if changes.is_empty():
        return
    try:
        result = tables.save(db, user, spec, changes)
    except Exception as exc:  # noqa: BLE001 — shown in Chinese by show_exception, never a traceback
        st.session_state[f"{key}_save_error"] = exc
        return
    flash(f"已保存：{result.summary}。可在「操作记录」中撤销。")
    for w in result.warnings:
        flash(w, "warning")
    st.session_state[f"{key}_nonce"] = nonce + 1


def reload_editor(key: str, nonce: int) -> None:
    """Draw the editor `key` afresh from the database (a new nonce drops its pending edits)."""
    st.session_state[f"{key}_nonce"] = nonce + 1
    st.rerun()


def save_changes(db, user: User, spec: tables.TableSpec, changes: tables.Changes, *, key: str, nonce: int,
                 saved: str = "已保存") -> None:
    """保存 clicked: write the edits through the core; when they are saved, reload the editor and
    say so (with any warnings) after the rerun; otherwise the error stays on the page."""
    result, exc = run_safely(tables.save, db, user, spec, changes)
    if exc is None:
        flash(f"{saved}：{result.summary}。可在「操作记录」中撤销。")
        for w in result.warnings:
            flash(w, "warning")
        reload_editor(key, nonce)


@st.cache_data(show_spinner=False, max_entries=16)
def _distinct(_db, generation: int, table: str, column: str) -> list[str]:
    return tables.distinct_values(_db, tables.get_spec(table), column)


def import_expander(db, user: User, spec: tables.TableSpec, *, key: str, label: str = "从 Excel 导入",
                    editor_key: str | None = None) -> None:
    """The folded 「从 Excel 导入」 under a table: only for those who may change the table (a
    viewer sees the editor's 「只能查看」 line instead of an empty box)."""
    if not user.can(spec.perm):
        return
    with st.expander(label):
        import_panel(db, user, spec, key=key, editor_key=editor_key)


@st.fragment
def import_panel(db, user: User, spec: tables.TableSpec, *, key: str,
                 editor_key: str | None = None) -> None:
    """Upload → dry run with every error by row and column and every updated cell old → new →
    确认导入 (one undoable batch). The dry run runs once per uploaded file and option (kept in
    session state by the file's hash), outside the write lock; 确认导入 re-checks every row it
    writes against the versions the preview saw. After an import the table_editor of the same
    table on the page (`editor_key`, by default `key` without its "_import" suffix) reloads, so
    it shows the imported values instead of the old ones and a "someone else saved" hint.
    A fragment: an upload, an option or a re-check reruns this panel only, not the page's
    table; the import itself reruns the whole page (st.rerun)."""
    if editor_key is None:
        editor_key = key.removesuffix("_import")
    if not user.can(spec.perm):
        return
    st.caption("表头可以用中文列名或代码名；有「编号」的行会更新原记录，编号为空的行是新增。"
               f"请在本页「导出 Excel」得到的文件上修改：最后一列「{tables.VERSION_LABEL}」让系统发现导出后别人改过的行，"
               "不会覆盖别人的修改。先检查，全部无误才能导入；导入作为一批记录，可在「操作记录」中整批撤销。")
    up = st.file_uploader("选择 Excel 或 CSV 文件", type=["xlsx", "xls", "csv"], key=f"{key}_upload")
    state_key = f"{key}_checked"
    if up is None:
        st.session_state.pop(state_key, None)
        return
    by_name = False
    if spec.natural_key:
        label = spec.column(spec.natural_key).label
        by_name = st.checkbox(f"没有编号的行按「{label}」匹配已有记录（匹配到的记录会被文件中的值修改，下方逐项列出）",
                              key=f"{key}_by_name")
    data = up.getvalue()
    token = (hashlib.sha256(data).hexdigest(), up.name, by_name)
    checked = st.session_state.get(state_key)
    if checked is not None and checked["token"] == token and checked["generation"] != db.generation:
        c1, c2 = st.columns([3, 1])
        c1.caption("提示：检查之后数据有更新（可能是别人保存的）。确认导入时会再核对一遍，也可以现在重新检查。")
        if c2.button("重新检查", key=f"{key}_recheck"):
            checked = None
    if checked is None or checked["token"] != token:
        checked = {"token": token, "generation": db.generation, "frame": None, "preview": None, "error": None}
        try:
            checked["frame"] = fileio.read_upload(data, up.name, expected=[c.label for c in spec.columns] + spec.names)
        except BadInput as exc:
            checked["error"] = exc
        if checked["frame"] is not None:
            try:
                checked["preview"] = tables.import_frame(db, user, spec, checked["frame"], commit=False,
                                                         match_by_name=by_name)
            except Exception as exc:  # noqa: BLE001 — shown in Chinese below, never a traceback
                checked["error"] = exc
        st.session_state[state_key] = checked
    if checked["error"] is not None:
        show_exception(checked["error"])
        return
    preview = checked["preview"]
    _show_preview(preview)
    if preview.errors or preview.inserts + preview.updates == 0:
        return
    confirmed = True
    if preview.needs_confirmation:
        st.warning(f"这个文件没有「{tables.VERSION_LABEL}」列（旧的导出文件或自制的表格），系统无法判断上面要修改的行"
                   "在导出后是否被别人改过。请逐项核对「原值 → 新值」；不确定时请重新导出后在新文件上修改。")
        confirmed = st.checkbox("我已逐项核对上表中的修改，确认以文件为准", key=f"{key}_confirm")
    if st.button("确认导入", type="primary", key=f"{key}_commit", disabled=not confirmed):
        done, exc = run_safely(tables.import_frame, db, user, spec, checked["frame"], commit=True,
                               match_by_name=by_name, confirm_overwrite=preview.needs_confirmation and confirmed,
                               expect_versions=preview.seen_versions)
        st.session_state.pop(state_key, None)  # whatever happened, the next run checks afresh
        if exc is None and done.ok:
            flash(f"导入完成：新增 {done.inserts} 行，修改 {done.updates} 行（第 {done.batch_id} 批，可整批撤销）。")
            st.session_state.pop(f"{key}_upload", None)
            nonce_key = f"{editor_key}_nonce"
            st.session_state[nonce_key] = st.session_state.get(nonce_key, 0) + 1
            st.rerun()
        elif exc is None:
            from .messages import errors_frame

            st.error("没有导入任何数据：有些行在检查之后被别人改过。请看下表，页面会重新检查：")
            st.dataframe(errors_frame(done.errors), hide_index=True, width="stretch", placeholder="—")


def _show_preview(preview: tables.ImportPreview) -> None:
    if not show_check(preview):
        return
    st.success(f"检查通过：将新增 {preview.inserts} 行，修改 {preview.updates} 行，"
               f"{preview.unchanged} 行没有变化。")
    if preview.changes:
        st.markdown(f"**将要修改的 {preview.updates} 行（每处「原值 → 新值」）**")
        st.dataframe(preview.changes_frame(), hide_index=True, width="stretch",
                     height=min(38 * (sum(len(c.cells) for c in preview.changes) + 1), 420), placeholder="—")


@st.cache_data(show_spinner=False, max_entries=4)
def _export_bytes(_db, _user: User, _spec: tables.TableSpec, instance: int, generation: int, table: str,
                  seen: tuple[str, ...]) -> bytes:
    """The .xlsx of a table, once per database, data generation and set of columns the reader
    may see (what `export_frame` takes from the user): a second click, or a colleague's with
    the same permissions, gets the same bytes until something is written. `_spec` is `table`'s
    spec as the page has it (one per generation). `instance`, not the object's id: a closed
    database's id can come back for another file."""
    return fileio.xlsx_bytes({_spec.label: tables.export_frame(_db, _user, _spec)})


def export_button(db, user: User, spec: tables.TableSpec, *, key: str) -> None:
    """导出 Excel: the file is built when clicked (not on every run of the page), once per data
    generation and set of visible columns (`_export_bytes`)."""
    seen = tuple(c.name for c in spec.columns if not c.sensitive or user.can(c.sensitive))

    def build() -> bytes:
        return _export_bytes(db, user, spec, db.instance, db.generation, spec.table, seen)

    st.download_button("导出 Excel", data=build, key=f"{key}_export",
                       file_name=f"{spec.label}-{clock.now():%Y%m%d}.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", on_click="ignore")
