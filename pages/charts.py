"""简报图表：用实时数据做图，导出 PNG/SVG/Excel 贴进简报；常用的图表保存后在首页随数据更新。"""

import streamlit as st

from dangjian_core.charts import build, model, store
from dangjian_core.charts.datasets import all_datasets, available_datasets
from dangjian_core.charts.model import AGGREGATIONS, CHART_TYPES, SORTS, ChartSpec
from dangjian_core.errors import BadInput, DangjianError
from ui.charts_widgets import cached_frame, chart_with_export, filters_panel
from ui.messages import flash, run_safely, show_exception, show_flashes
from ui.session import current_user, get_db

db = get_db()
user = current_user()
st.title("简报图表")
show_flashes()
ss = st.session_state

datasets = {d.code: d for d in available_datasets(db, user)}
if not datasets:
    st.info("暂时没有可用的数据集。")
    st.stop()

# A saved chart opened from the list below: its settings go into the widgets before they are
# drawn (Streamlit lets a widget's state be set only before the widget exists in a run).
initial_filters = None
load_id = ss.pop("ch_load", None)
if load_id is not None:
    try:
        saved = store.get_chart(db, load_id)
        spec = saved.spec()
        if spec.dataset not in datasets:
            raise BadInput(f"图表「{saved.name}」使用的数据集现在不可用。")
        for k in ("kind", "x", "y", "agg", "color", "facet", "sort", "title", "subtitle", "horizontal"):
            ss[f"ch_{k}"] = getattr(spec, k)
        ss["ch_dataset"], ss["ch_limit"] = spec.dataset, spec.limit or 0
        ss["ch_name"], ss["ch_on_home"] = saved.name, saved.on_home
        ss["ch_editing"] = (saved.id, saved.version, saved.name)
        initial_filters = spec.filters or {}
    except DangjianError as exc:
        show_exception(exc)


def pick(label, options, key, fmt, **kw):
    if key in ss and ss[key] not in options:
        del ss[key]  # left over from another dataset or chart type
    return st.selectbox(label, options, key=key, format_func=fmt, **kw)


left, right = st.columns([1, 3], gap="medium")
with left:
    code = pick("数据集", list(datasets), "ch_dataset", lambda c: datasets[c].label)
    ds = datasets[code]
    st.caption(ds.description)
    kind = pick("图表类型", list(CHART_TYPES), "ch_kind", CHART_TYPES.get)
    dims = [f.name for f in ds.dimensions]
    label = lambda n: "（不选）" if n is None else ds.field(n).label  # noqa: E731
    x_label = {"pie": "扇区（分类）", "donut": "扇区（分类）", "table": "行（分类）"}.get(kind, "横轴（分类）")
    x = pick(x_label, dims, "ch_x", label)
    aggs = ["count", "sum"] if kind in ("pie", "donut") else list(AGGREGATIONS)
    agg = pick("统计方式", aggs, "ch_agg", AGGREGATIONS.get, help=f"计数：数{ds.count_label}")
    y = None
    if agg != "count":
        measures = [f.name for f in ds.measures]
        if not measures:
            st.warning("这个数据集没有数值字段，只能计数。")
        else:
            y = pick("数值字段", measures, "ch_y", label)
    color = None
    if kind not in ("pie", "donut"):
        c_label = {"heatmap": "纵轴（分类）", "table": "列（分类）", "stacked": "堆叠分组",
                   "line": "多条线（分组）"}.get(kind, "颜色分组")
        color = pick(c_label, [None] + [d for d in dims if d != x], "ch_color", label)
    facet = pick("分面（每个分类一张小图）", [None] + [d for d in dims if d not in (x, color)],
                 "ch_facet", label)
    c1, c2 = st.columns(2)
    sort = c1.selectbox("排序", list(SORTS), key="ch_sort", format_func=SORTS.get,
                        disabled=kind == "line",
                        help="自然顺序：月份、等次（先进/达标/后进）、类别按惯例排列")
    limit = c2.number_input("只显示前几项（0 = 全部）", 0, 500, step=1, key="ch_limit",
                            help="按数值从大到小取前几项；饼图其余合并为「其他」")
    horizontal = st.checkbox("横向条形图（分类名称较长时）", key="ch_horizontal",
                             disabled=kind not in ("bar", "stacked"))
    title = st.text_input("标题（空着则自动生成）", key="ch_title", max_chars=model.MAX_TITLE)
    subtitle = st.text_input("副标题", key="ch_subtitle", max_chars=model.MAX_SUBTITLE,
                             placeholder="例如：数据截至 2025 年 6 月底")

frame, exc = run_safely(cached_frame, db, user, code)
if exc is not None:
    st.stop()
with left:
    with st.expander("筛选", expanded=bool(initial_filters)):
        filters = filters_panel(frame, ds, "ch_f_", initial_filters)

spec = ChartSpec(code, kind, x=x, y=y, agg=agg, color=color, facet=facet, filters=filters,
                 sort=sort, limit=int(limit) or None, horizontal=bool(horizontal),
                 title=title or "", subtitle=subtitle or "")
built = None
with right:
    editing = ss.get("ch_editing")
    if editing:
        e1, e2 = st.columns([4, 1])
        e1.info(f"正在修改已保存的图表「{editing[2]}」：改好后点下方「保存修改」。", icon=":material/edit:")
        if e2.button("不再修改", key="ch_stop_edit"):
            ss.pop("ch_editing", None)
            ss.pop("ch_name", None)
            st.rerun()
    try:
        built = build.build_chart(spec, frame, ds)
    except BadInput as exc:
        st.info(exc.message, icon=":material/info:")  # what to choose, in place of the chart
    except DangjianError as exc:
        show_exception(exc)
    if built is not None:
        chart_with_export(built.chart, built.table, built.title, key="ch_out")
        with st.expander(f"图表数据（{built.data.height} 行）"):
            st.dataframe(built.table, hide_index=True, width="stretch", placeholder="—")

    st.subheader("保存图表")
    if not user.can("charts.write"):
        st.caption("您的角色可以制作和导出图表，但不能保存（需要「保存图表」权限）。")
    elif built is not None:
        if not ss.get("ch_name") or ss["ch_name"] == ss.get("ch_name_auto"):  # not typed by the user
            ss["ch_name"] = ss["ch_name_auto"] = built.title[:model.MAX_NAME]
        ss.setdefault("ch_on_home", True)
        with st.form("ch_save_form", border=False):
            name = st.text_input("图表名称", key="ch_name", max_chars=model.MAX_NAME)
            on_home = st.checkbox("在首页「常用图表」中显示（每月简报随数据更新）", key="ch_on_home")
            b1, b2 = st.columns(2)
            as_new = b1.form_submit_button("保存为新图表", type="primary")
            update = b2.form_submit_button("保存修改", disabled=not editing)
        if as_new or update:
            chart_id, version = (editing[0], editing[1]) if update else (None, None)
            new_id, exc = run_safely(store.save_chart, db, user, name, spec, chart_id=chart_id,
                                     version=version, on_home=bool(on_home))
            if exc is None:
                flash(f"已保存图表「{name.strip()}」。所有人都能在首页和这里看到它；"
                      "可在「操作记录」中撤销。")
                ss["ch_load"] = new_id
                st.rerun()

st.divider()
st.subheader("已保存的图表")
items = store.visible_charts(db, user)
if not items:
    st.caption("还没有保存的图表。")
else:
    names = {c.id: c.name for c in items}
    known = all_datasets()
    st.dataframe(
        [{"名称": c.name, "数据集": getattr(known.get(c.dataset), "label", c.dataset),
          "首页显示": "是" if c.on_home else "否", "修改人": c.updated_by or "",
          "修改时间": f"{c.updated_at:%Y-%m-%d %H:%M}" if c.updated_at else ""} for c in items],
        hide_index=True, width="stretch", placeholder="—")
    s1, s2, s3 = st.columns([3, 1, 1.4], vertical_alignment="bottom")
    chosen = s1.selectbox("选择图表", list(names), format_func=names.get, key="ch_pick")
    if s2.button("打开", key="ch_open", help="把这张图表的设置放进上面的制图区，可修改后保存"):
        ss["ch_load"] = chosen
        st.rerun()
    if user.can("charts.write"):
        sure = s3.checkbox("确认删除", key=f"ch_del_sure_{ss.get('ch_del_n', 0)}")
        if s3.button("删除", key="ch_delete", disabled=not sure):
            current = next(c for c in items if c.id == chosen)
            _, exc = run_safely(store.delete_chart, db, user, chosen, current.version)
            if exc is None:
                flash(f"已删除图表「{current.name}」，可在「操作记录」中撤销。")
                if editing and editing[0] == chosen:
                    ss.pop("ch_editing", None)
                ss["ch_del_n"] = ss.get("ch_del_n", 0) + 1
                st.rerun()
