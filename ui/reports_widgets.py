"""Widgets shared by the 述职评议 and 整改跟踪 pages: cached reads (keyed on db.generation),
session and unit pickers, the printable-document block, the score breakdown, the indicator
and settings panel, and the effect panel. Rules and SQL stay in dangjian_core.reports."""

from __future__ import annotations

from datetime import date

import altair as alt
import polars as pl
import streamlit as st

from dangjian_core import clock, fileio
from dangjian_core.auth import User
from dangjian_core.db import Database
from dangjian_core.errors import BadInput
from dangjian_core.reports import effect as effect_core
from dangjian_core.reports import indicators, model, rectifications, specs
from dangjian_core.reports import picks as picks_core
from dangjian_core.reports import sessions as sessions_core
from dangjian_core.reports import votes as votes_core

from .messages import flash, run_safely, show_check, show_exception
from .table_editor import export_button, table_editor


# -- cached reads ----------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=32)
def sessions(_db, generation: int, year: int | None) -> pl.DataFrame:
    return sessions_core.sessions(_db, year)


@st.cache_data(show_spinner=False, max_entries=8)
def years(_db, generation: int) -> list[int]:
    return sessions_core.years(_db)


@st.cache_data(show_spinner=False, max_entries=16)
def scores(_db, generation: int, as_of: date, _known: indicators.Scores | None = None) -> indicators.Scores:
    """Every unit's scores; `_known`: scores already computed for exactly this generation
    (a draft's, see `draft`) — kept as this generation's entry instead of computing again."""
    return _known if _known is not None and _known.as_of == as_of else indicators.scores(_db, as_of)


@st.cache_data(show_spinner=False, max_entries=16)
def ranking(_db, generation: int, session_id: int, today: date, as_of: date) -> picks_core.Ranking:
    """The rule's full ranking; `as_of` (the session's date, or today if earlier) picks the
    cached scores it is drawn from, so a page computes them once per generation."""
    return picks_core.ranking(_db, session_id, today, sc=scores(_db, generation, as_of))


def draft(db: Database, user: User, session_id: int, as_of: date) -> picks_core.DraftResult:
    """生成建议名单 from the scores this page already holds (when nothing was written since),
    then keep the draft's scores as the next generation's, so the page's rerun computes no
    score again."""
    known = (db.generation, scores(db, db.generation, as_of))
    res = picks_core.draft_picks(db, user, session_id, known=known)
    if res.scores is not None and res.generation is not None:
        scores(db, res.generation, res.scores.as_of, _known=res.scores)
    return res


@st.cache_data(show_spinner=False, max_entries=32)
def picks(_db, generation: int, session_id: int) -> pl.DataFrame:
    return picks_core.picks(_db, session_id)


@st.cache_data(show_spinner=False, max_entries=32)
def votes(_db, generation: int, session_id: int) -> pl.DataFrame:
    return votes_core.votes(_db, session_id)


@st.cache_data(show_spinner=False, max_entries=8)
def coverage(_db, generation: int, year: int) -> pl.DataFrame:
    return picks_core.coverage(_db, year)


@st.cache_data(show_spinner=False, max_entries=4)
def effect(_db, generation: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    return effect_core.effect(_db), effect_core.effect_by_session(_db)


@st.cache_data(show_spinner=False, max_entries=8)
def rectification_board(_db, generation: int, day: date) -> tuple[pl.DataFrame, dict]:
    """整改跟踪's overdue board and its counts on `day`."""
    return rectifications.board(_db, day), rectifications.counts(_db, day)


@st.cache_data(show_spinner=False, max_entries=8)
def rectification_items(_db, generation: int, status: str) -> pl.DataFrame:
    return rectifications.items(_db, status=status)


@st.cache_data(show_spinner=False, max_entries=4)
def units(_db, generation: int) -> pl.DataFrame:
    return indicators.scores(_db, clock.today()).table.select("unit_id", "name", "street", "progress")


# -- pickers ---------------------------------------------------------------------------------
def year_picker(db, key: str) -> int:
    have = years(db, db.generation)
    this = clock.today().year
    options = sorted(set(have) | {this, this + 1})
    return st.selectbox("年度", options, index=options.index(this), key=key, format_func=lambda y: f"{y} 年")


def session_picker(db, year: int, key: str, *, published_only: bool = False, label: str = "述职场次") -> dict | None:
    """A session of the year (default: the next one not yet held, else the last)."""
    s = sessions(db, db.generation, year)
    if published_only:
        s = s.filter(pl.col("status") == "published")
    if s.height == 0:
        return None
    rows = s.to_dicts()
    today = clock.today()
    if published_only:
        held = [i for i, r in enumerate(rows) if r["session_date"] <= today]
        default = held[-1] if held else 0
    else:
        upcoming = [i for i, r in enumerate(rows) if r["session_date"] >= today]
        default = upcoming[0] if upcoming else len(rows) - 1
    ids = [r["id"] for r in rows]
    by_id = {r["id"]: r for r in rows}
    sid = st.selectbox(label, ids, index=default, key=key, format_func=lambda i: sessions_core.session_label(by_id[i]) if i in by_id else str(i))
    return by_id[sid]


def unit_picker(db, label: str, key: str, *, exclude=(), only=None, placeholder="输入名称查找") -> int | None:
    """A unit (org) chosen by name, shown with its street and current progress score."""
    u = units(db, db.generation)
    if only is not None:
        u = u.filter(pl.col("unit_id").is_in(list(only)))
    if exclude:
        u = u.filter(~pl.col("unit_id").is_in(list(exclude)))
    labels = {r["unit_id"]: f"{r['name']}（{r['street']}，进度分 {'无' if r['progress'] is None else r['progress']}）"
              for r in u.iter_rows(named=True)}
    return st.selectbox(label, list(labels), index=None, key=key, placeholder=placeholder,
                        format_func=lambda i: labels.get(i, str(i)))


def coverage_panel(db, year: int) -> None:
    """Who reported this year, who did not, who never has."""
    cov = coverage(db, db.generation, year)
    st.subheader(f"{year} 年覆盖情况")
    cols = st.columns(3)
    for box, code, label in zip(cols, ("reported", "not_this_year", "never"), ("本年已述职", "本年未述职", "从未述职")):
        box.metric(label, f"{cov.filter(pl.col('status') == code).height:,}")
    with st.expander("查看各单位覆盖情况"):
        st.dataframe(cov.sort("status", "last_report", nulls_last=False).select(
            pl.col("name").alias("单位"), pl.col("street").alias("街道/系统"),
            pl.col("status_zh").alias("情况"), pl.col("reports_in_year").alias("本年次数"),
            pl.col("last_report").dt.strftime("%Y-%m-%d").alias("最近述职")), hide_index=True, width="stretch", height=320, placeholder="—")


# -- documents -------------------------------------------------------------------------------
def printable(html_doc: str, file_name: str, key: str, *, xlsx=None, docx=None) -> None:
    """Download buttons (网页 for printing, Excel and Word: bytes or a function building them
    when clicked) and an inline preview of the document."""
    c1, c2, c3, _ = st.columns([1, 1, 1, 2])
    if docx is not None:
        from ui.documents_widgets import word_button

        word_button(c3, docx, f"{file_name}.docx", f"{key}_docx", type="primary")
    c1.download_button("下载打印版（网页）", data=html_doc.encode("utf-8"), file_name=f"{file_name}.html",
                       mime="text/html", key=f"{key}_html", help="用浏览器打开后按 Ctrl+P 打印", on_click="ignore")
    if xlsx is not None:
        c2.download_button("下载 Excel", data=xlsx, file_name=f"{file_name}.xlsx", key=f"{key}_xlsx", on_click="ignore",
                           mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    with st.expander("打印预览", expanded=False):
        st.iframe(html_doc, height="content")  # an iframe: the document's own print styles stay inside it


def breakdown(sc: indicators.Scores, unit_id: int, name: str) -> None:
    """One unit's progress score, indicator by indicator."""
    row = sc.table.filter(pl.col("unit_id") == int(unit_id)).to_dicts()
    if not row or row[0]["progress"] is None:
        st.info(f"「{name}」没有任何指标数据，无法计算进度分。")
        return
    st.markdown(f"**{name}** 进度分 **{row[0]['progress']:g}**（{sc.as_of:%Y-%m-%d}，{row[0]['n_indicators']} 项指标）")
    c = sc.contributions_of(unit_id)
    st.dataframe(c, hide_index=True, width="stretch", placeholder="—")
    # the Vega-Lite spec itself: building and validating it through altair took longer than the
    # rest of the page's rerun after 生成建议名单
    tips = [{"field": f, "type": "quantitative" if c[f].dtype.is_numeric() else "nominal"}
            for f in ("指标", "数值", "目标", "指标得分", "权重占比%", "贡献分")]
    st.vega_lite_chart(c, {
        "mark": {"type": "bar"}, "height": 34 * c.height + 20,
        "encoding": {"y": {"field": "指标", "type": "nominal", "sort": c["指标"].to_list(), "title": None},
                     "x": {"field": "贡献分", "type": "quantitative", "title": "贡献分（合计即进度分）"},
                     "color": {"value": "#C8161D"}, "tooltip": tips}}, width="stretch")


FORMULA = """
**进度分（0–100）怎么算**：每项指标先按目标值和底线值换算成 0–100 分
（达到或优于目标值得 100 分，等于或差于底线值得 0 分，中间按比例），
再按权重加权平均：进度分 = Σ（指标得分 × 权重）÷ Σ 该单位**有数据的**指标的权重。
缺少某项数据的单位，这项指标不计入（既不加分也不扣分），权重在其余指标间分配。
“贡献分”是每项指标在进度分里占的分数，“失分”是它离满分差的分数，
入选理由列出失分最多的两项指标。自动计算的指标（整改事项、示范点考评、党费等）优先于录入的数值。
"""


def _as_frame(data: bytes, name: str) -> fileio.Frame | None:
    try:
        fileio.check_upload_size(len(data), name)
        return fileio.read_frame(data=data, name=name, expected=["单位", "指标", "月份", "数值"])
    except BadInput as exc:
        show_exception(exc)
        return None


def values_import(db, user: User, key: str) -> None:
    """Import entered indicator values (long or wide files) with a dry run first."""
    st.caption("文件可以是「单位、指标、月份、数值」四列，也可以是「单位、月份」加各指标一列（表头写指标名称）。"
               "同一单位、指标、月份已有数值的会被更新。先检查，全部无误才能导入。")
    month = st.text_input("数值所属月份（文件没有「月份」列时必填，如 2024-05）", key=f"{key}_month")
    up = st.file_uploader("选择 Excel 或 CSV 文件", type=["xlsx", "xls", "csv"], key=f"{key}_upload")
    if up is None:
        return
    frame = _as_frame(up.getvalue(), up.name)
    if frame is None:
        return
    pv, exc = run_safely(indicators.import_indicator_values, db, user, frame, period=month or None)
    if exc is not None:
        return
    if not show_check(pv):
        return
    st.success(f"检查通过：将新增 {pv.inserts} 个数值，更新 {pv.updates} 个，{pv.unchanged} 个没有变化。")
    if pv.inserts + pv.updates and st.button("确认导入", type="primary", key=f"{key}_commit"):
        done, exc = run_safely(indicators.import_indicator_values, db, user, frame, period=month or None, commit=True)
        if exc is None and done.ok:
            flash(f"导入完成：新增 {done.inserts} 个，更新 {done.updates} 个（第 {done.batch_id} 批，可整批撤销）。")
            st.session_state.pop(f"{key}_upload", None)
            st.rerun()


def indicator_panel(db, user: User) -> None:
    """进度分与指标: every unit's score with its breakdown, the formula, the settings."""
    as_of = st.date_input("计算日期", clock.today(), key="rp_asof", max_value=clock.today())
    sc = scores(db, db.generation, as_of)
    t = sc.table.filter(pl.col("progress").is_not_null()).sort("progress", "unit_id")
    c1, c2, c3 = st.columns(3)
    c1.metric("参与计算的单位", f"{t.height:,}")
    c2.metric("平均进度分", f"{t['progress'].mean():.1f}" if t.height else "—")
    c3.metric("没有指标数据", f"{sc.no_data:,}")
    st.dataframe(t.select(pl.col("name").alias("单位"), pl.col("street").alias("街道/系统"),
                          pl.col("progress").alias("进度分"), pl.col("n_indicators").alias("指标数"),
                          pl.col("lagging").alias("滞后指标（失分最多）")),
                 hide_index=True, width="stretch", height=320, placeholder="—")
    uid = unit_picker(db, "展开一个单位的进度分构成", "rp_breakdown_unit")
    if uid is not None:
        breakdown(sc, uid, t.filter(pl.col("unit_id") == uid)["name"].first() or str(uid))
    with st.expander("计算方法", expanded=False):
        st.markdown(FORMULA)
    st.subheader("指标设置")
    ind = indicators.indicators(db)
    st.dataframe(ind.select(pl.col("name").alias("指标"), pl.col("source").alias("数据来源"),
                            pl.col("share").round(1).alias("权重占比%"), pl.col("n_values").alias("已录入数值"),
                            pl.col("latest_period").alias("最近月份")), hide_index=True, width="stretch", placeholder="—")
    if indicators.PROVIDER_ERRORS:
        st.warning("以下模块暂时不能提供自动指标：" + "；".join(indicators.PROVIDER_ERRORS))
    st.caption("可修改权重、目标值、底线值，启用或停用指标，也可新增由办公室录入的指标。所有启用指标的权重之和必须大于 0。")
    table_editor(db, user, specs.INDICATORS_SPEC, key="rp_ind", page_size=100)
    st.subheader("其他设置")
    table_editor(db, user, specs.SETTINGS_SPEC, key="rp_settings", page_size=5)
    st.subheader("录入和导入的指标数值")
    if user.can(model.PERM):
        with st.expander("从 Excel 导入指标数值"):
            values_import(db, user, "rp_values_import")
    values_spec = indicators.values_spec(db)  # its 指标 column offers the indicators defined now
    table_editor(db, user, values_spec, key="rp_values", filter_columns=["indicator"], page_size=200)
    export_button(db, user, values_spec, key="rp_values")


def effect_panel(db) -> None:
    """述职效果: each reported unit's score before and at the next two sessions."""
    per, by_session = effect(db, db.generation)
    if per.height == 0:
        st.info("还没有已发布的场次，暂无述职效果数据。")
        return
    done1 = per.filter(pl.col("change_1").is_not_null())
    c1, c2, c3 = st.columns(3)
    c1.metric("述职单位次数", f"{per.height:,}")
    c2.metric("下一场平均变化", f"{done1['change_1'].mean():+.1f} 分" if done1.height else "—")
    d2 = per.filter(pl.col("change_2").is_not_null())
    c3.metric("再下一场平均变化", f"{d2['change_2'].mean():+.1f} 分" if d2.height else "—")
    if by_session.height:
        chart = alt.Chart(by_session.with_columns(pl.col("session_date").cast(pl.String).alias("场次日期"))).mark_bar().encode(
            x=alt.X("场次日期:N", title="述职场次", axis=alt.Axis(labelAngle=-45)),
            xOffset=alt.XOffset("group:N", sort=["述职单位", "其他单位"]),
            y=alt.Y("mean_change:Q", title="到下一场的进度分平均变化"),
            color=alt.Color("group:N", title=None, sort=["述职单位", "其他单位"],
                            scale=alt.Scale(domain=["述职单位", "其他单位"], range=["#C8161D", "#9E9E9E"])),
            tooltip=[alt.Tooltip("场次日期:N"), alt.Tooltip("group:N", title="组别"),
                     alt.Tooltip("mean_change:Q", title="平均变化"), alt.Tooltip("units:Q", title="单位数")],
        ).properties(title="述职有没有帮助？述职单位与其他单位到下一场的进度分变化", height=320)
        st.altair_chart(chart, width="stretch")
        st.caption("红色高于灰色，说明述职单位在述职后的进步快于没有述职的单位。")
    st.dataframe(per.sort("report_date", descending=True).select(
        pl.col("name").alias("单位"), pl.col("session_date").dt.strftime("%Y-%m-%d").alias("述职场次日期"), pl.col("before").alias("述职时进度分"),
        pl.col("after_1").alias("下一场"), pl.col("after_2").alias("再下一场"), pl.col("change_1").alias("变化1"),
        pl.col("change_2").alias("变化2")), hide_index=True, width="stretch", height=360, placeholder="—")


def vote_form(db, user: User, sid: int, v: pl.DataFrame, p: pl.DataFrame) -> None:
    """录入或更正一个单位的测评票: the form starts from the unit's saved votes and 评议意见, and the
    save passes the version it started from (a change by someone else meanwhile is refused)."""
    st.markdown("**录入一个单位的测评票**（已有的票数和评议意见先填好，改需要改的即可）")
    names = dict(zip(p["unit_id"].to_list(), p["name"].to_list()))
    uid = st.selectbox("单位", list(names), format_func=names.get, key="rp_vote_unit")
    if uid is not None:
        stored = next((r for r in v.iter_rows(named=True) if r["unit_id"] == uid), None) if v.height else None
        version = stored["version"] if stored else 0
        fields = [("voters", "参评人数"), ("good", "好"), ("fairly_good", "较好"), ("average", "一般"), ("poor", "差")]
        # the form starts from the saved row (again whenever someone saves a new version of it)
        if st.session_state.get(f"rp_vote_loaded_{uid}") != (sid, version):
            for k, _ in fields:
                st.session_state[f"rp_vote_{k}_{uid}"] = int(stored[k]) if stored else 0
            st.session_state[f"rp_vote_comments_{uid}"] = (stored["comments"] or "") if stored else ""
            st.session_state[f"rp_vote_loaded_{uid}"] = (sid, version)
        with st.form(f"rp_vote_form_{uid}", clear_on_submit=False):
            cols = st.columns(5)
            n = {k: cols[i].number_input(lbl, min_value=0, step=1, key=f"rp_vote_{k}_{uid}")
                 for i, (k, lbl) in enumerate(fields)}
            comments = st.text_area("评议意见", key=f"rp_vote_comments_{uid}", height=80)
            if st.form_submit_button("保存测评票", type="primary"):
                batch, exc = run_safely(votes_core.record_votes, db, user, sid, uid, n["good"], n["fairly_good"], n["average"],
                                        n["poor"], n["voters"], comments, expected_version=version)
                if exc is None:
                    flash(f"已保存「{names[uid]}」的测评票。" if batch else f"「{names[uid]}」的测评票没有变化。")
                    st.rerun()
