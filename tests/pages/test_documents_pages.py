"""Word documents on the pages (AppTest): the 生成通报 page builds a .docx to download, the
「下载 Word」 buttons sit beside every printable notice, and 系统管理 → 公文模板 lists the
templates and restores the default (uploads are validated in the core: tests/test_documents.py)."""

from __future__ import annotations

import io

from docx import Document

from dangjian_core import documents as DOC
from tests.conftest import ADMIN
from tests.pages.apptest_helpers import open_page, problems
from ui.session import get_db


def _labels(at) -> set[str]:
    return {d.proto.label for d in at.get("download_button")}


def test_briefing_page_generates_a_word_document(monkeypatch, tmp_path, demo_db_file):
    at = open_page(monkeypatch, tmp_path, demo_db_file, "viewer", "pages/briefing.py")
    assert not problems(at), problems(at)
    assert at.selectbox(key="doc_period").value == "2026Q3"
    assert "dues" not in at.multiselect(key="doc_sections").options  # 党费 needs 查看党费
    at.multiselect(key="doc_sections").set_value(["sites", "observation"])
    next(b for b in at.button if b.label == "生成通报").click()
    at.run()
    assert not problems(at), problems(at)
    assert any("2026年第三季度党建工作通报.docx" in s.value for s in at.success)
    assert "下载 Word" in _labels(at)
    content = at.session_state["doc_briefing"][1]
    heads = [p.text for p in Document(io.BytesIO(content)).paragraphs if p.style.name == "一级标题"]
    assert heads == ["一、示范点创建工作", "二、观摩互进活动", "三、下一步工作要求"]


def test_word_buttons_beside_the_printable_notices(monkeypatch, tmp_path, demo_db_file):
    at = open_page(monkeypatch, tmp_path, demo_db_file, "editor", "pages/rectifications.py")
    at.radio(key="rc_section").set_value("打印通知单")
    at.run()
    assert not problems(at), problems(at)
    assert {"下载打印版（网页）", "下载 Word"} <= _labels(at)
    at.switch_page("pages/observation.py")
    at.run()
    assert not problems(at), problems(at)
    assert "下载 Word（公文格式）" in _labels(at)
    at.switch_page("pages/site_plan.py")
    at.run()
    assert not problems(at), problems(at)
    assert "命名名单（Word）" in _labels(at)


def test_admin_lists_templates_and_restores_the_default(monkeypatch, tmp_path, demo_db_file):
    at = open_page(monkeypatch, tmp_path, demo_db_file, "admin", "pages/admin.py")
    assert not problems(at), problems(at)
    assert {"下载现用模板", "下载默认模板"} <= _labels(at)
    restore = next(b for b in at.button if b.label == "恢复默认")
    assert restore.disabled  # the default is in use
    db = get_db()  # the app's database: AppTest runs the script in this process
    DOC.upload_template(db, ADMIN, "notice", _edited(DOC.default_template("notice")), "通知（改）.docx")
    at.run()
    assert not problems(at), problems(at)
    shown = next(d.value for d in at.dataframe if "现用模板" in d.value.columns)
    assert "已上传：通知（改）.docx" in shown["现用模板"].to_list()
    at.selectbox(key="doc_tpl_kind").set_value("notice")
    at.run()
    restore = next(b for b in at.button if b.label == "恢复默认")
    assert not restore.disabled
    restore.click()
    at.run()
    assert not problems(at), problems(at)
    assert any("已恢复为默认模板" in s.value for s in at.success)
    assert DOC.template_bytes(db, "notice") == DOC.default_template("notice")


def _edited(content: bytes) -> bytes:
    doc = Document(io.BytesIO(content))
    doc.add_paragraph("（办公室修改）")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
