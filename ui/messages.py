"""Showing errors and results in Chinese: never a traceback."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dangjian_core.errors import BadInput, ConflictError, DangjianError, PermissionDenied


def errors_frame(errors) -> pl.DataFrame:
    return pl.DataFrame({
        "行": ["" if e.row is None else str(e.row) for e in errors],
        "列": [e.column or "" for e in errors],
        "值": ["" if e.value is None else str(e.value) for e in errors],
        "问题": [e.message for e in errors],
    }, schema={"行": pl.String, "列": pl.String, "值": pl.String, "问题": pl.String})


def show_check(preview) -> bool:
    """The outcome of an import's dry run (anything with `.warnings` and `.errors`): its warnings,
    then its errors by row and column. True when nothing stops the import."""
    for w in preview.warnings:
        st.warning(w)
    if preview.errors:
        st.error(f"检查发现 {len(preview.errors)} 处错误，没有导入任何数据。请在文件中改正后重新上传：")
        st.dataframe(errors_frame(preview.errors), hide_index=True, width="stretch", placeholder="—")
        return False
    return True


def show_exception(exc: Exception) -> None:
    if isinstance(exc, BadInput) and exc.errors:
        st.error(exc.message)
        st.dataframe(errors_frame(exc.errors), hide_index=True, width="stretch", placeholder="—")
    elif isinstance(exc, ConflictError):
        st.warning(str(exc), icon=":material/warning:")
    elif isinstance(exc, PermissionDenied):
        st.error(str(exc), icon=":material/lock:")
    elif isinstance(exc, DangjianError):
        st.error(str(exc))
    else:
        st.error("操作没有完成：系统内部出错，数据没有被修改。请把操作步骤告诉系统管理员。")


def run_safely(fn, *args, **kwargs):
    """Call a core function; show a Chinese message instead of any exception."""
    try:
        return fn(*args, **kwargs), None
    except Exception as exc:  # noqa: BLE001 — every failure becomes a message
        show_exception(exc)
        return None, exc


def flash(message: str, kind: str = "success", *, where: str | None = None) -> None:
    """A message that survives the rerun after a save. Without `where` it is shown once, under
    the page's title, by the next run's `show_flashes`. With `where` (a place on the page, e.g.
    the form that did it) `show_flash_at(where)` draws it there — where the user is looking —
    and keeps it through the following runs while that place is drawn: a run that follows at
    once (a widget reset) or the next edit beside it does not wipe it before it is read. It
    goes when another message is flashed there, or after two runs that did not draw the place
    (another tab, another site, another page; two: a run cut short by the next one may not
    have reached it)."""
    if where is None:
        st.session_state.setdefault("_flash", []).append((kind, message))
    else:
        # [kind, message, the last run that drew it (or flashed it), toasted yet]
        st.session_state.setdefault("_flash_at", {})[where] = [kind, message, st.session_state.get("_flash_run", 0),
                                                               False]


def show_flashes() -> None:
    """Under the page's title, once per run of every page (`session.start_page` calls it): the
    messages flashed before the last rerun; and placed messages whose place the last two runs
    did not draw are dropped."""
    ss = st.session_state
    run = ss["_flash_run"] = ss.get("_flash_run", 0) + 1
    placed = ss.get("_flash_at")
    if placed:
        for where in [w for w, item in placed.items() if item[2] < run - 2]:
            del placed[where]
    for kind, message in ss.pop("_flash", []):
        getattr(st, kind)(message)


def show_flash_at(where: str) -> None:
    """Draw the message flashed at `where` (if any) here; it stays on the next runs that draw it.
    The first time it is also a toast (in the window's corner for 10 s): the rows the action
    added above the form can push this place below the fold."""
    item = st.session_state.get("_flash_at", {}).get(where)
    if item is not None:
        getattr(st, item[0])(item[1])
        item[2] = st.session_state.get("_flash_run", 0)
        if not item[3]:
            st.toast(item[1], icon=_TOAST_ICONS.get(item[0]), duration="long")
            item[3] = True


_TOAST_ICONS = {"success": ":material/check_circle:", "info": ":material/info:", "warning": ":material/warning:"}
