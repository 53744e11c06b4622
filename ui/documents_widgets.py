"""Word documents on the pages: the 「下载 Word」 button, the 「生成通报」 panel and the template
management block of 系统管理. Everything is built by `dangjian_core.documents`; these are widgets."""

from __future__ import annotations

import streamlit as st

from dangjian_core import documents as DOC
from dangjian_core.documents import data as D
from dangjian_core.documents import fields as F
from ui.messages import flash, run_safely


def word_button(container, build, file_name: str, key: str, *, label: str = "下载 Word",
                type: str = "secondary") -> None:
    """A download button whose .docx is built when clicked (`build()` → bytes)."""
    container.download_button(label, data=build, file_name=file_name, mime=DOCX_MIME, key=key,
                              on_click="ignore", icon=":material/description:", type=type,
                              help="公文格式（GB/T 9704）的 Word 文档，可在 Word / WPS 中修改后印发")


DOCX_MIME = DOC.DOCX_MIME


# -- 生成通报 -----------------------------------------------------------------------------------
def briefing_panel(db, user) -> None:
    periods = D.recent_periods(8)
    months = [D.parse_period(f"{p.start.year}-{m:02d}") for p in periods[:2]
              for m in range(p.end.month, p.start.month - 1, -1)]
    options = {p.code: p.label for p in periods + months}
    c1, c2 = st.columns([1, 1])
    code = c1.selectbox("统计期间", list(options), format_func=options.get, key="doc_period",
                        help="季度通报默认为最近一个已结束的季度；也可按月")
    allowed = {k: v for k, v in D.SECTIONS.items() if k != "dues" or user.can("dues.read")}
    issue = c2.text_input("期号", value="", key="doc_issue", placeholder="默认为季度序号或月份")
    chosen = st.multiselect("通报栏目", list(allowed), default=list(allowed), format_func=allowed.get,
                            key="doc_sections")
    if not user.can("dues.read"):
        st.caption("党费收缴栏目需要「查看党费」权限。")
    if st.button("生成通报", type="primary", key="doc_make", icon=":material/article:"):
        with st.spinner("正在汇总数据、绘制图表、生成 Word 文档……"):
            content, exc = run_safely(DOC.briefing, db, user, code, chosen, issue_no=issue.strip() or None)
        if exc is None:
            st.session_state["doc_briefing"] = (code, content)
    made = st.session_state.get("doc_briefing")
    if made:
        code_made, content = made
        name = DOC.file_name("briefing", D.parse_period(code_made).label)
        st.success(f"已生成「{name}」（{len(content) // 1024} KB）。")
        st.download_button("下载 Word", data=content, file_name=name, mime=DOCX_MIME, key="doc_briefing_dl",
                           type="primary", icon=":material/download:", on_click="ignore")
    st.caption("通报按数据写成：示范点、述职评议、党费、观摩互进各一节，数字写进句子，附图表和统计表；"
               "某一节本期没有数据时照常列出并写明“本期暂无”。文字和版式可由管理员在「系统管理 → 公文模板」中修改。")


# -- 公文模板 (系统管理) ----------------------------------------------------------------------------
def template_admin(db, user) -> None:
    st.caption("每种公文有一份 Word 模板。下载后在 Word 中修改文字和版式（保留 {{ 字段 }} 和 {%p … %} 标记），"
               "再上传即可生效；上传时会检查标记和字段，有错不会替换现用模板。「恢复默认」回到系统自带的模板。")
    rows = DOC.templates(db)
    st.dataframe([{"公文": r["name"], "现用模板": "已上传：" + r["file_name"] if r["custom"] else "系统默认",
                   "上传人": r["updated_by"] or "", "上传时间": f"{r['updated_at']:%Y-%m-%d %H:%M}" if r["updated_at"] else ""}
                  for r in rows], hide_index=True, width="stretch", placeholder="—")
    names = {r["kind"]: r["name"] for r in rows}
    kind = st.selectbox("公文", list(names), format_func=names.get, key="doc_tpl_kind")
    info = next(r for r in rows if r["kind"] == kind)
    c1, c2, c3 = st.columns(3)
    c1.download_button("下载现用模板", data=lambda: DOC.template_bytes(db, kind), file_name=f"{names[kind]}模板.docx",
                       mime=DOCX_MIME, key=f"doc_tpl_dl_{kind}", on_click="ignore", icon=":material/download:")
    c2.download_button("下载默认模板", data=lambda: DOC.default_template(kind), file_name=f"{names[kind]}默认模板.docx",
                       mime=DOCX_MIME, key=f"doc_tpl_def_{kind}", on_click="ignore")
    if c3.button("恢复默认", key=f"doc_tpl_restore_{kind}", disabled=not info["custom"]):
        done, exc = run_safely(DOC.restore_default, db, user, kind)
        if exc is None:
            flash(f"「{names[kind]}」已恢复为默认模板。")
            st.rerun()
    nonce = st.session_state.get("doc_tpl_nonce", 0)
    up = st.file_uploader("上传修改后的模板（.docx）", type=["docx"], key=f"doc_tpl_up_{kind}_{nonce}")
    if up is not None and st.button("检查并启用", type="primary", key=f"doc_tpl_save_{kind}"):
        _, exc = run_safely(DOC.upload_template, db, user, kind, up.getvalue(), up.name)
        if exc is None:
            st.session_state["doc_tpl_nonce"] = nonce + 1
            flash(f"「{names[kind]}」已改用上传的模板「{up.name}」。")
            st.rerun()
    with st.expander("这份公文可用的字段"):
        labels = {k: v for k, v in F.LABELS.items() if F.has_path(kind, k)}
        st.markdown("\n".join(f"- `{k}`：{v}" for k, v in labels.items()))
        st.code("\n".join(F.field_paths(kind)), language=None)
        st.caption("列表字段用 {%tr for r in 列表 %} … {%tr endfor %}（表格行）或 {%p for … %}（段落）逐项填写；"
                   "条件用 {%p if 字段 %} … {%p else %} … {%p endif %}。")
