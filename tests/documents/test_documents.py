"""公文 and 通报 (issue 15): every document opened with python-docx and checked for the GB/T 9704
page and styles, its title, its numbers against the database, its tables and images; templates
validated on upload (broken tag / unknown field refused, old template kept), restore default;
the CLI; and the quarterly 通报 converted to PDF by LibreOffice."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ADMIN, EDITOR, VIEWER, copy_of
from docx import Document

from dangjian_core import documents as DOC
from dangjian_core.documents import build_templates, fields
from dangjian_core.documents import data as D
from dangjian_core.documents import layout as L
from dangjian_core.errors import BadInput, PermissionDenied

ROOT = Path(__file__).resolve().parents[2]
TITLE = "2026年第三季度全市党建工作情况通报"


@pytest.fixture(scope="module")
def ddb(demo_db_file, tmp_path_factory):
    with copy_of(demo_db_file, tmp_path_factory.mktemp("docs") / "demo.duckdb") as d:
        yield d


@pytest.fixture(scope="module")
def bctx(ddb):
    return D.briefing_context(ddb, ADMIN, "2026Q3")


@pytest.fixture(scope="module")
def briefing(ddb, bctx):
    return DOC.render(ddb, "briefing", bctx)


def _doc(content: bytes):
    return Document(io.BytesIO(content))


def _text(doc) -> str:
    parts = [p.text for p in doc.paragraphs]
    for t in doc.tables:
        for row in t.rows:
            parts += [c.text for c in row.cells]
    return "\n".join(parts)


def _one(db, sql, params=()):
    with db.read() as cur:
        return cur.execute(sql, list(params)).fetchone()[0]


def _check_format(doc) -> None:
    s = doc.sections[0]
    for value, mm in ((s.page_width, 210), (s.page_height, 297), (s.top_margin, 37), (s.bottom_margin, 35),
                      (s.left_margin, 28), (s.right_margin, 26)):
        assert abs(value.mm - mm) < 0.1, (value.mm, mm)
    for name, font, pt in ((L.STYLE_BODY, "仿宋_GB2312", 16), (L.STYLE_TITLE, "方正小标宋简体", 22),
                           (L.STYLE_H1, "黑体", 16), (L.STYLE_H2, "楷体_GB2312", 16)):
        style = doc.styles[name]
        assert L.east_asian_font(style) == font, name
        assert style.font.size.pt == pt, name
    assert abs(doc.styles[L.STYLE_BODY].paragraph_format.line_spacing.pt - 28.95) < 0.01
    footer = s.footer._element.xml
    assert "PAGE" in footer and "— " in footer and " —" in footer
    assert 'w:eastAsia="宋体"' in footer and 'w:val="28"' in footer  # 4号 = 14 pt = 28 half-points


# -- templates ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(DOC.KINDS))
def test_default_templates_are_valid_and_in_the_house_format(kind):
    content = DOC.default_template(kind)
    DOC.validate_template(kind, content)
    _check_format(_doc(content))


def test_default_templates_are_what_the_build_script_makes(tmp_path):
    build_templates.build(tmp_path)
    for kind in DOC.KINDS:
        with zipfile.ZipFile(tmp_path / f"{kind}.docx") as a, zipfile.ZipFile(DOC.TEMPLATE_DIR / f"{kind}.docx") as b:
            for part in ("word/document.xml", "word/styles.xml", "word/footer1.xml"):
                if part in a.namelist():
                    assert a.read(part) == b.read(part), f"{kind}: {part} differs — run build_templates"


def test_sample_fields_match_the_real_data(ddb, bctx):
    """The field list an upload is checked against is exactly what the documents are filled with."""
    def shape(v):
        if isinstance(v, dict):
            return {k: shape(x) for k, x in v.items()}
        if isinstance(v, list):
            return [shape(v[0])] if v else []
        return None

    def same(a, b, path=""):
        if isinstance(a, dict):
            assert isinstance(b, dict) and set(a) == set(b), (path, set(a) ^ set(b if isinstance(b, dict) else {}))
            for k in a:
                same(a[k], b[k], f"{path}.{k}")
        elif isinstance(a, list) and a and b:
            same(a[0], b[0], path + "[]")

    same(shape(bctx), shape(fields.sample("briefing")))
    with ddb.read() as cur:
        sid = cur.execute("SELECT session_id FROM report_picks WHERE status = 'picked' LIMIT 1").fetchone()[0]
        iid = cur.execute("SELECT id FROM rectification_items LIMIT 1").fetchone()[0]
    same(shape(D.notice_context(ddb, sid)), shape(fields.sample("notice")))
    same(shape(D.rectification_context(ddb, iid)[1]), shape(fields.sample("rectification_1")))
    same(shape(D.observation_context(ddb, 1)), shape(fields.sample("observation")))
    same(shape(D.sites_context(ddb, 2025)), shape(fields.sample("sites")))


# -- the quarterly 通报 ------------------------------------------------------------------------------
def test_briefing_format_title_tables_images(briefing):
    doc = _doc(briefing)
    _check_format(doc)
    titles = [p.text for p in doc.paragraphs if p.style.name == L.STYLE_TITLE]
    assert titles == [TITLE]
    assert doc.paragraphs[0].text == "党建工作通报"
    heads = [p.text for p in doc.paragraphs if p.style.name == L.STYLE_H1]
    assert heads == ["一、示范点创建工作", "二、述职评议工作", "三、党费收缴工作", "四、观摩互进活动", "五、下一步工作要求"]
    assert len(doc.tables) >= 2 and len(doc.tables) == 5
    assert len(doc.inline_shapes) >= 3 and len(doc.inline_shapes) == 4
    for shape in doc.inline_shapes:
        assert 140 < shape.width.mm <= 156  # inside the 156 mm text block
    text = _text(doc)
    assert "{{" not in text and "{%" not in text
    for n in range(1, 6):
        assert f"表{n}　" in text
    for n in range(1, 5):
        assert f"图{n}　" in text
    assert "党建工作领导小组办公室" in text and "2026年11月23日" in text


def test_briefing_numbers_match_the_database(ddb, briefing):
    text = _text(_doc(briefing))
    sites = _one(ddb, "SELECT count(*) FROM sites WHERE status IN ('named', 'consolidating', 'creating', 'applied')")
    named = _one(ddb, "SELECT count(*) FROM sites WHERE status = 'named'")
    assert f"全市共有示范点{sites}个，其中已授牌{named}个" in text
    sessions = _one(ddb, "SELECT count(*) FROM report_sessions WHERE status = 'published'"
                         " AND session_date BETWEEN DATE '2026-07-01' AND DATE '2026-09-30'")
    assert sessions >= 1 and f"本期召开述职评议会{sessions}场" in text
    good, voters = (_one(ddb, f"SELECT sum({c}) FROM report_votes v JOIN report_sessions s ON s.id = v.session_id"
                              " WHERE s.status = 'published' AND s.session_date BETWEEN DATE '2026-07-01'"
                              " AND DATE '2026-09-30'") for c in ("good + fairly_good", "voters"))
    assert f"共收回测评票{voters}张" in text and f"合计占{D.pct(good, voters)}" in text
    open_ = _one(ddb, "SELECT count(*) FROM rectification_items WHERE opened <= DATE '2026-09-30'"
                      " AND (closed IS NULL OR closed > DATE '2026-09-30')")
    overdue = _one(ddb, "SELECT count(*) FROM rectification_items WHERE opened <= DATE '2026-09-30'"
                        " AND (closed IS NULL OR closed > DATE '2026-09-30') AND deadline < DATE '2026-09-30'")
    assert f"尚未销号{open_}项，其中逾期未整改{overdue}项" in text
    due, col = (_one(ddb, f"SELECT CAST(sum({c}) * 100 AS BIGINT) FROM dues_roll WHERE month BETWEEN DATE '2026-07-01'"
                          " AND DATE '2026-09-01'") for c in ("due", "least(paid, due)"))
    assert f"收缴率{D.pct(col, due)}" in text
    assert f"应缴党费{D.wan_yuan(due)}元" in text
    hosts = _one(ddb, "SELECT count(*) FROM obs_hosts h JOIN obs_events e ON e.id = h.event_id"
                      " WHERE e.event_date BETWEEN DATE '2026-07-01' AND DATE '2026-09-30'")
    assert f"安排观摩点{hosts}个" in text
    import polars as pl

    from dangjian_core.observation import scores

    eid = _one(ddb, "SELECT max(id) FROM obs_events WHERE event_date BETWEEN DATE '2026-07-01' AND DATE '2026-09-30'")
    changes = scores.proposals(ddb, eid).filter(pl.col("change")).height
    assert (f"建议调整{changes}个观摩点的评定等次" if changes else "评定等次不需调整") in text
    top = scores.ranking(ddb, eid).filter(pl.col("rank") == 1)["name"][0]
    assert f"综合得分前三名的观摩点是{top}" in text
    # the dues table: one row per street plus 合计, each street's rate as the collection series gives it
    streets = _one(ddb, "SELECT count(DISTINCT o.street) FROM dues_roll r JOIN orgs o ON o.id = r.org_id"
                        " WHERE r.month BETWEEN DATE '2026-07-01' AND DATE '2026-09-01'")
    dues_table = next(t for t in _doc(briefing).tables if t.rows[0].cells[0].text == "街道/系统")
    assert len(dues_table.rows) == 1 + streets + 1
    assert dues_table.rows[-1].cells[0].text == "合计" and dues_table.rows[-1].cells[3].text == D.pct(col, due)


def test_briefing_arrears_counts_follow_the_trailing_run(db):
    """3+/6+ consecutive unpaid months up to the period's end; a payment or a gap breaks the run."""
    from datetime import date

    with db.write() as cur:
        cur.execute("INSERT INTO orgs (id, name, level, category, street) VALUES (1, '测试党支部', 'branch', 'organ', '东湖街道')")
        for mid in (1, 2, 3):
            cur.execute("INSERT INTO members (id, member_no, name, org_id) VALUES (?, ?, ?, 1)",
                        [mid, f"M{mid}", f"党员{mid}"])
        for m in range(1, 10):
            for mid, paid in ((1, m <= 3), (2, m <= 6), (3, m != 9)):
                cur.execute("INSERT INTO dues_roll (member_id, org_id, month, category, rule, due, settings_id, paid)"
                            " VALUES (?, 1, ?, 'employed', 'x', 10, 1, ?)", [mid, date(2026, m, 1), 10 if paid else 0])
    ctx = D.briefing_context(db, ADMIN, "2026Q3", ["dues"])
    assert (ctx["dues"]["warn"], ctx["dues"]["flag"]) == (2, 1)  # 6 months, 3 months; 1 month does not count
    assert [(r["name"], r["months"]) for r in ctx["dues"]["warn_rows"]] == [("党员1", "6"), ("党员2", "3")]
    text = _text(_doc(DOC.render(db, "briefing", ctx)))
    assert "连续3个月及以上未缴纳党费的党员2人，其中连续6个月及以上的1人" in text
    assert "党员1" not in text  # counts only: the default template names nobody


def test_sections_without_data_say_so(db):
    doc = _doc(DOC.briefing(db, ADMIN, "2026Q3"))
    text = _text(doc)
    for words in ("本期暂无示范点创建数据", "本期未召开述职评议会", "暂无整改事项", "本期暂无党费收缴数据", "本期未开展观摩活动"):
        assert words in text
    assert len(doc.inline_shapes) == 0 and len(doc.tables) == 0


def test_chosen_sections_only_and_dues_needs_permission(ddb):
    doc = _doc(DOC.briefing(ddb, ADMIN, "2026Q3", ["observation", "sites"]))
    heads = [p.text for p in doc.paragraphs if p.style.name == L.STYLE_H1]
    assert heads == ["一、示范点创建工作", "二、观摩互进活动", "三、下一步工作要求"]
    assert [s.width.mm > 0 for s in doc.inline_shapes] == [True, True]
    viewer_doc = _doc(DOC.briefing(ddb, VIEWER, "2026-09"))
    assert "党费收缴工作" not in _text(viewer_doc) and "2026年9月全市党建工作情况通报" in _text(viewer_doc)
    with pytest.raises(BadInput, match="查看党费"):
        DOC.briefing(ddb, VIEWER, "2026Q3", ["dues"])
    with pytest.raises(BadInput, match="看不懂"):
        DOC.briefing(ddb, ADMIN, "2026Q5")
    with pytest.raises(BadInput, match="还没有开始"):
        DOC.briefing(ddb, ADMIN, "2027Q1")


# -- the other documents ------------------------------------------------------------------------
def test_notice(ddb):
    with ddb.read() as cur:
        sid, title = cur.execute("SELECT s.id, s.title FROM report_sessions s WHERE EXISTS (SELECT 1 FROM report_picks p"
                                 " WHERE p.session_id = s.id AND p.status = 'picked') ORDER BY s.id DESC LIMIT 1").fetchone()
        names = [r[0] for r in cur.execute("SELECT o.name FROM report_picks p JOIN orgs o ON o.id = p.unit_id"
                                           " WHERE p.session_id = ? AND p.status = 'picked'", [sid]).fetchall()]
    doc = _doc(DOC.notice(ddb, VIEWER, sid))
    _check_format(doc)
    assert [p.text for p in doc.paragraphs if p.style.name == L.STYLE_TITLE] == [f"关于召开{title}党建述职评议会的通知"]
    t = doc.tables[0]
    assert [c.text for c in t.rows[0].cells] == ["序号", "单位", "书记", "述职时间", "述职重点"]
    assert sorted(r.cells[1].text for r in t.rows[1:]) == sorted(names)
    assert f"本场共有{len(names)}个单位述职" in _text(doc)


@pytest.mark.parametrize("level", [1, 2, 3])
def test_rectification_documents_by_level(ddb, level):
    with ddb.read() as cur:
        iid, unit, problem = cur.execute("SELECT r.id, o.name, r.problem FROM rectification_items r JOIN orgs o"
                                         " ON o.id = r.unit_id WHERE r.level = 3 ORDER BY r.id LIMIT 1").fetchone()
    doc = _doc(DOC.rectification(ddb, EDITOR, iid, level))
    _check_format(doc)
    names = {1: "问题整改意见单", 2: "通报批评单", 3: "主要领导约谈单"}
    assert [p.text for p in doc.paragraphs if p.style.name == L.STYLE_TITLE] == [names[level]]
    text = _text(doc)
    assert f"第{iid:04d}-{level}号" in text and f"{unit}：" in text and problem in text
    if level > 1:
        assert re.search(r"逾期\d+天", text)


def test_rectification_level_not_issued_is_refused(ddb):
    iid = _one(ddb, "SELECT min(id) FROM rectification_items WHERE level = 1")
    with pytest.raises(BadInput, match="还没有下发通报批评单"):
        DOC.rectification(ddb, EDITOR, iid, 2)
    assert "问题整改意见单" in _text(_doc(DOC.rectification(ddb, EDITOR, iid)))


def test_observation_plan(ddb):
    visits = _one(ddb, "SELECT count(*) FROM obs_visits WHERE event_id = 1")
    delegations = _one(ddb, "SELECT count(DISTINCT delegation) FROM obs_visits WHERE event_id = 1")
    doc = _doc(DOC.observation(ddb, VIEWER, 1))
    _check_format(doc)
    assert len(doc.tables) == 1 + delegations
    assert len(doc.tables[0].rows) == 1 + visits
    assert sum(len(t.rows) - 1 for t in doc.tables[1:]) == visits
    routes = [p for p in doc.paragraphs if p.text.endswith("观摩路线")]
    assert len(routes) == delegations and all(p.paragraph_format.page_break_before for p in routes)


def test_sites_naming_list(ddb):
    with ddb.read() as cur:
        names = [r[0] for r in cur.execute(
            "SELECT o.name FROM sites s JOIN orgs o ON o.id = s.org_id WHERE s.named_year = 2025").fetchall()]
    doc = _doc(DOC.sites(ddb, VIEWER, 2025))
    _check_format(doc)
    assert [p.text for p in doc.paragraphs if p.style.name == L.STYLE_TITLE] == ["关于命名2025年度党建示范点的通知"]
    assert sorted(r.cells[1].text for r in doc.tables[0].rows[1:]) == sorted(names)
    assert f"等{len(names)}个单位" in _text(doc)
    assert "暂无考评通过" in _text(_doc(DOC.sites(ddb, VIEWER, 2030)))
    with pytest.raises(BadInput, match="年度"):
        DOC.sites(ddb, VIEWER, "明年")


# -- template management ------------------------------------------------------------------------
def _edited(kind: str, text: str) -> bytes:
    doc = Document(io.BytesIO(DOC.default_template(kind)))
    for line in text.split("|"):
        doc.add_paragraph(line)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


@pytest.mark.parametrize("text, words", [
    ("收缴率{{ dues.rate }", "括号不成对"),
    ("{{ sites.totl }}", "「sites.totl」不存在"),
    ("{{ totl }}", "「totl」不存在"),
    ("{%p for r in sites.rows %}|{{ r.name }}|{%p endfor %}", "「sites.rows」不存在"),
    ("{%p for r in sites.plan_rows %}|{{ r.nmae }}|{%p endfor %}", "「r.nmae」不存在"),
    ("{{ sites.total + }}", "「{{ sites.total + }}」写法有误"),
    ("{%p if show.sites %}", "没有结束"),
    ("{%p endfor %}", "endfor"),
    ("{% include 'x' %}", "不认识"),
])
def test_broken_template_is_refused_and_the_old_one_stays(ddb, text, words):
    before = DOC.template_bytes(ddb, "briefing")
    with pytest.raises(BadInput, match=re.escape(words)):
        DOC.upload_template(ddb, ADMIN, "briefing", _edited("briefing", text), "通报.docx")
    assert DOC.template_bytes(ddb, "briefing") == before


def test_set_and_whitespace_control_are_accepted():
    DOC.validate_template("sites", _edited("sites", "{%- set n = count %}|共{{ n }}个{{ names_text }}|{%p if rows -%}|有|{%p endif %}"))


def test_not_a_word_file_is_refused(ddb):
    with pytest.raises(BadInput, match="不是 Word 文档"):
        DOC.upload_template(ddb, ADMIN, "notice", b"PK\x03\x04 broken", "通知.docx")
    with pytest.raises(BadInput, match=r"\.docx"):
        DOC.upload_template(ddb, ADMIN, "notice", DOC.default_template("notice"), "通知.doc")


def test_a_template_may_ask_for_the_names_of_members_in_arrears(db):
    from datetime import date

    with db.write() as cur:
        cur.execute("INSERT INTO orgs (id, name, level, category, street) VALUES (1, '测试党支部', 'branch', 'organ', '东湖街道')")
        cur.execute("INSERT INTO members (id, member_no, name, org_id) VALUES (1, 'M1', '欠缴者', 1)")
        for m in range(1, 10):
            cur.execute("INSERT INTO dues_roll (member_id, org_id, month, category, rule, due, settings_id, paid)"
                        " VALUES (1, 1, ?, 'employed', 'x', 10, 1, 0)", [date(2026, m, 1)])
    tpl = _edited("briefing", "{%p for r in dues.warn_rows %}|欠缴名单：{{ r.name }}（{{ r.org }}，{{ r.months }}个月）|{%p endfor %}")
    DOC.upload_template(db, ADMIN, "briefing", tpl, "通报（列名单）.docx")
    assert "欠缴名单：欠缴者（测试党支部，9个月）" in _text(_doc(DOC.briefing(db, ADMIN, "2026Q3", ["dues"])))


def test_upload_use_and_restore_default(ddb):
    with pytest.raises(PermissionDenied):
        DOC.upload_template(ddb, EDITOR, "sites", _edited("sites", "x"), "x.docx")
    DOC.upload_template(ddb, ADMIN, "sites", _edited("sites", "本通知共命名{{ count }}个（办公室自定）。"), "命名.docx")
    info = {t["kind"]: t for t in DOC.templates(ddb)}
    assert info["sites"]["custom"] and info["sites"]["file_name"] == "命名.docx" and not info["notice"]["custom"]
    # the uploader is shown by 姓名, not by login name
    name = _one(ddb, f"SELECT display_name FROM users WHERE username = '{ADMIN.username}'")
    assert name and name != ADMIN.username and info["sites"]["updated_by"] == name
    n = _one(ddb, "SELECT count(*) FROM sites WHERE named_year = 2025")
    assert f"本通知共命名{n}个（办公室自定）。" in _text(_doc(DOC.sites(ddb, VIEWER, 2025)))
    assert _one(ddb, "SELECT count(*) FROM audit_batches WHERE kind = 'doc_template'") == 1
    with pytest.raises(PermissionDenied):
        DOC.restore_default(ddb, EDITOR, "sites")
    assert DOC.restore_default(ddb, ADMIN, "sites") is True
    assert DOC.restore_default(ddb, ADMIN, "sites") is False
    assert "办公室自定" not in _text(_doc(DOC.sites(ddb, VIEWER, 2025)))
    assert DOC.template_bytes(ddb, "sites") == DOC.default_template("sites")
    assert _one(ddb, "SELECT count(*) FROM audit_batches WHERE kind = 'doc_template'") == 2


# -- CLI --------------------------------------------------------------------------------------------
def _cli(db_path, *args):
    import os

    env = {**os.environ, "DANGJIAN_DB": str(db_path)}
    return subprocess.run([sys.executable, "-m", "dangjian_core", "docs", *map(str, args)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


def test_cli(demo_db_file, tmp_path, monkeypatch, capsys):
    from dangjian_core.cli import main

    p = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_db_file, p)
    out = tmp_path / "通报.docx"
    r = _cli(p, "briefing", "--period", "2026Q3", out)  # one real run, as cron would
    assert r.returncode == 0, r.stderr
    assert [x.text for x in _doc(out.read_bytes()).paragraphs if x.style.name == L.STYLE_TITLE] == [TITLE]
    monkeypatch.setenv("DANGJIAN_DB", str(p))
    assert main(["docs", "sites", "--year", "2025", str(tmp_path / "sites.docx")]) == 0
    assert (tmp_path / "sites.docx").exists()
    for args, words in ((["briefing", "--period", "2026Q9"], "统计期间"), (["notice", "--session", "9999"], "找不到"),
                        (["rectification", "--item", "x"], "整数"), (["observation", "--event", "9999"], "观摩活动"),
                        (["sites", "--year", "abc"], "年度")):
        bad = tmp_path / "bad.docx"
        assert main(["docs", *args, str(bad)]) == 2, args
        assert words in capsys.readouterr().err
        assert not bad.exists() and not list(tmp_path.glob(".dangjian-*"))
    assert main(["docs", "sites", "--year", "2025", str(tmp_path / "sites.pdf")]) == 2
    assert ".docx" in capsys.readouterr().err and not (tmp_path / "sites.pdf").exists()


# -- LibreOffice ---------------------------------------------------------------------------------
def test_briefing_converts_to_pdf_with_libreoffice(briefing, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    pdftotext = shutil.which("pdftotext")
    if not soffice or not pdftotext:
        pytest.skip("LibreOffice / poppler-utils not installed (.ci/run installs them)")
    src = tmp_path / "briefing.docx"
    src.write_bytes(briefing)
    r = subprocess.run([soffice, f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}", "--headless",
                        "--convert-to", "pdf", "--outdir", str(tmp_path), str(src)],
                       capture_output=True, text=True, timeout=240)
    pdf = tmp_path / "briefing.pdf"
    assert pdf.exists(), r.stderr + r.stdout
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert 4 <= pages <= 14, pages
    assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+", info)  # A4 in points
    text = re.sub(r"\s+", "", subprocess.run([pdftotext, str(pdf), "-"], capture_output=True, text=True).stdout)
    ctx_rate = re.search(r"收缴率(\d+\.\d%)", text)
    assert TITLE in text and "党建工作通报" in text
    assert ctx_rate is not None
    for words in ("图1", "图2", "图3", "表1", "表5", "—1—", "—2—", "党建工作领导小组办公室"):
        assert words in text, words
