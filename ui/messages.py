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


def flash(message: str, kind: str = "success") -> None:
    """A message that survives the rerun after a save."""
    st.session_state.setdefault("_flash", []).append((kind, message))


def show_flashes() -> None:
    for kind, message in st.session_state.pop("_flash", []):
        getattr(st, kind)(message)
