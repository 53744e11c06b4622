"""Charts on a page, in the house style, with PNG / SVG / Excel download buttons.

Any page can show an altair chart the way the 简报图表 page does::

    from ui.charts_widgets import chart_with_export
    chart_with_export(chart, data, "各街道党费收缴率", key="dues_rate")

`chart` is an altair chart (or a Vega-Lite dict); `data` the polars frame behind it (Chinese
column headers: it becomes the xlsx), or None. The house style (party red first, projector
font sizes, a CJK font) is merged under the chart's own config by the core, so what is shown
is what is exported. The images are rendered only when a button is clicked.
"""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import streamlit as st

from dangjian_core import clock
from dangjian_core.auth import User
from dangjian_core.charts import build, datasets, export, model, store, style
from dangjian_core.contracts import Dataset
from dangjian_core.errors import BadInput, DangjianError

from .messages import show_exception

PNG_NOTE = ("幻灯片请用 PNG（2 倍清晰度，直接粘贴）。SVG 可任意放大，但它只写字体名称、不内嵌字体，"
            "在没有相应中文字体的电脑上会换成本机字体。")


def chart_with_export(chart, data: pl.DataFrame | None, name: str, key: str, *,
                      note: bool = True) -> None:
    """Show `chart` and, under it, buttons to download it as PNG (2×) and SVG, and `data`
    as xlsx."""
    spec = style.vega_spec(chart)
    # fills the column (autosize "fit"); the export keeps the chart's own 800×450 size
    multi = any(k in spec for k in ("facet", "hconcat", "vconcat", "concat", "repeat"))
    st.vega_lite_chart(spec=spec, theme=None, width="content" if multi else "stretch",
                       key=f"{key}_chart")
    stem = f"{export.safe_filename(name)}-{clock.now():%Y%m%d}"
    c1, c2, c3 = st.columns(3)
    c1.download_button("下载 PNG（幻灯片用）", data=lambda: export.export_png(spec),
                       file_name=f"{stem}.png", mime="image/png", key=f"{key}_png",
                       on_click="ignore", icon=":material/image:", type="primary")
    c2.download_button("下载 SVG", data=lambda: export.export_svg(spec).encode("utf-8"),
                       file_name=f"{stem}.svg", mime="image/svg+xml", key=f"{key}_svg",
                       on_click="ignore", icon=":material/draw:")
    if data is not None:
        frame = data if isinstance(data, pl.DataFrame) else pl.from_pandas(data)
        c3.download_button("下载数据（Excel）", data=lambda: export.export_xlsx(frame, name),
                           file_name=f"{stem}.xlsx", key=f"{key}_xlsx", on_click="ignore",
                           mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                           icon=":material/table:")
    if note:
        st.caption(PNG_NOTE)
    if not export.cjk_font_installed():
        st.warning("服务器没有安装中文字体：导出的图片中汉字会显示不出来。请系统管理员安装 "
                   "fonts-noto-cjk（Debian/Ubuntu：apt install fonts-noto-cjk）。")


# -- cached reads shared by the chart page and the overview page --------------------------
@st.cache_data(show_spinner=False, max_entries=32)
def _frame(_db, generation: int, code: str, username: str, roles: tuple) -> pl.DataFrame:
    return datasets.load_frame(_db, User(username, username, frozenset(roles)), code)


def cached_frame(db, user: User, code: str) -> pl.DataFrame:
    """A dataset's frame for this user, re-read after any committed write."""
    return _frame(db, db.generation, code, user.username, tuple(sorted(user.roles)))


@st.cache_data(show_spinner=False, max_entries=64)
def _saved(_db, generation: int, chart_id: int, username: str, roles: tuple):
    user = User(username, username, frozenset(roles))
    saved = store.get_chart(_db, chart_id)
    try:
        spec = saved.spec()
        ds = spec.validate()
        built = build.build_chart(spec, cached_frame(_db, user, ds.code), ds)
    except BadInput as exc:
        return None, None, f"图表「{saved.name}」现在画不出来：{exc.message}"
    return built.vega, built.table, built.title


def saved_chart(db, user: User, chart_id: int, key: str) -> None:
    """One saved chart drawn with today's data (or a Chinese message in its place)."""
    try:
        vega, table, title = _saved(db, db.generation, chart_id, user.username,
                                    tuple(sorted(user.roles)))
    except DangjianError as exc:
        show_exception(exc)
        return
    if vega is None:
        st.info(title, icon=":material/info:")
        return
    chart_with_export(vega, table, title, key, note=False)


def saved_charts_section(db, user: User, *, columns: int = 1) -> None:
    """「常用图表」 on the overview page: the shared saved charts, drawn live."""
    items = store.visible_charts(db, user, on_home=True)
    st.subheader("常用图表")
    if not items:
        st.caption("还没有常用图表：在「简报图表」页做好图后保存，就会显示在这里，并随数据更新。")
        return
    st.caption("随数据实时更新，可直接下载 PNG 贴进简报。在「简报图表」页可修改或删除。")
    cols = st.columns(columns)
    for i, item in enumerate(items):
        with cols[i % columns]:
            with st.container(border=True):
                st.markdown(f"**{item.name}**")
                saved_chart(db, user, item.id, key=f"home_chart_{item.id}")
    st.caption(PNG_NOTE)


def _coerce(value, like):
    """A saved bound (JSON: number or ISO text) as the type of the column's values."""
    if value is None:
        return None
    try:
        if isinstance(like, datetime):
            return datetime.fromisoformat(value) if isinstance(value, str) else value
        if isinstance(like, date):
            return date.fromisoformat(str(value)[:10]) if isinstance(value, str) else value
        return type(like)(value)
    except (TypeError, ValueError):
        return None


def filters_panel(frame: pl.DataFrame, ds: Dataset, prefix: str,
                  initial: dict | None = None) -> dict:
    """One picker per field (values of a category; a range of numbers or dates); returns the
    ChartSpec filters. Values kept in session state under `prefix`+dataset+field; `initial`
    (a saved chart's filters) sets them once. A range is recorded only where narrowed, so a
    saved chart keeps following new data."""
    out: dict = {}
    cols = st.columns(2)
    for i, f in enumerate(ds.fields):
        key = f"{prefix}{ds.code}_{f.name}"
        box = cols[i % 2]
        cond = (initial or {}).get(f.name) or {}
        if build.filter_kind(frame, f.name) == "values":
            options = build.field_values(frame, ds, f.name)
            if frame[f.name].null_count():
                options.append(model.MISSING)
            if initial is not None:
                st.session_state[key] = [v for v in cond.get("in", []) if v in options]
            elif any(v not in options for v in st.session_state.get(key, [])):
                st.session_state[key] = [v for v in st.session_state[key] if v in options]
            picked = box.multiselect(f.label, options, key=key, placeholder="全部", select_all=False)
            if picked:
                out[f.name] = {"in": picked}
            continue
        col = frame[f.name].drop_nulls()
        if col.len() == 0 or col.min() == col.max():
            continue
        lo, hi = col.min(), col.max()
        if initial is not None or key not in st.session_state:
            a, b = _coerce(cond.get("min"), lo), _coerce(cond.get("max"), lo)
            a, b = lo if a is None else a, hi if b is None else b
        else:
            a, b = st.session_state[key]
        st.session_state[key] = (max(lo, min(hi, a)), max(lo, min(hi, b)))
        a, b = box.slider(f.label, min_value=lo, max_value=hi, key=key)
        rng = {}
        if a > lo:
            rng["min"] = a.isoformat() if hasattr(a, "isoformat") else a
        if b < hi:
            rng["max"] = b.isoformat() if hasattr(b, "isoformat") else b
        if rng:
            out[f.name] = rng
    return out
