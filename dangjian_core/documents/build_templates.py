"""Build the default Word templates (GB/T 9704 layout) into `templates/`.

    python -m dangjian_core.documents.build_templates

The .docx files are committed; this script is how they were made, so a change to the house
format is a change here and a rebuild. The office edits its own copies in Word (系统管理 →
公文模板) — those live in the database and never touch these files.

Tags are docxtpl/Jinja: `{{ field }}` for a value, `{%p if … %}` / `{%p for … %}` on a
paragraph of their own, `{%tr for … %}` in a table row. The fields each template may use are
listed in `fields.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from docx.document import Document
from docx.shared import Pt

from . import layout as L

HERE = Path(__file__).resolve().parent / "templates"


def _masthead(doc: Document, name: str, *, number: str | None = None) -> None:
    """版头: the red issuer line, the number line and the red rule."""
    p = L.para(doc, name, L.STYLE_MASTHEAD)
    p.paragraph_format.space_before = Pt(0)
    p.paragraph_format.space_after = Pt(L.BODY_PT)
    if number:
        q = L.para(doc, number, L.STYLE_PLAIN)
        q.paragraph_format.alignment = L.WD_ALIGN_PARAGRAPH.CENTER
        L.red_rule(q)
    else:
        L.red_rule(p)
    L.para(doc, "", L.STYLE_PLAIN)


def _sign(doc: Document) -> None:
    L.para(doc, "", L.STYLE_PLAIN)
    L.para(doc, "{{ issuer }}", L.STYLE_SIGN)
    L.para(doc, "{{ date_cn }}", L.STYLE_SIGN)


def _footer_record(doc: Document) -> None:
    """版记: the last lines of the last page (印发机关和印发日期)."""
    L.para(doc, "", L.STYLE_PLAIN)
    p = L.tab_line(doc, "{{ issuer }}", "{{ date_cn }}印发", L.STYLE_PLAIN)
    p.paragraph_format.left_indent = Pt(L.PAGE_NUMBER_PT)
    p.paragraph_format.right_indent = Pt(L.PAGE_NUMBER_PT)
    for r in p.runs:
        r.font.size = Pt(14)
    L.black_rules(p)


def _caption(doc: Document, text: str) -> None:
    L.para(doc, text, L.STYLE_CAPTION, keep_next=True)


def _figure(doc: Document, field: str, caption: str) -> None:
    L.para(doc, "{{ " + field + " }}", L.STYLE_FIGURE, keep_next=True)
    _caption(doc, caption)


def _loop_table(doc: Document, headers: list[str], widths: list[float], loop: str, cells: list[str]) -> None:
    """A table whose data rows repeat over `loop` ("r in rows")."""
    t = L.table(doc, headers, widths)
    L.add_row(t, ["{%tr for " + loop + " %}"] + [""] * (len(headers) - 1))
    L.keep_row_together(L.add_row(t, ["{{ " + c + " }}" for c in cells]))
    L.add_row(t, ["{%tr endfor %}"] + [""] * (len(headers) - 1))


def _tag(doc: Document, tag: str) -> None:
    """A control paragraph of its own: {%p if … %}, {%p else %}, {%p endif %}."""
    L.para(doc, "{%p " + tag + " %}", L.STYLE_PLAIN)


@contextmanager
def _when(doc: Document, condition: str, otherwise: str | None = None) -> Iterator[None]:
    """{%p if condition %} … [{%p else %} otherwise] {%p endif %} around the block's paragraphs."""
    _tag(doc, f"if {condition}")
    yield
    if otherwise is not None:
        _tag(doc, "else")
        L.para(doc, otherwise)
    _tag(doc, "endif")


def _section(doc: Document, key: str, title: str) -> None:
    """A briefing section's heading (numbered by the data: 一、二、…)."""
    L.para(doc, "{{ " + key + ".heading }}、" + title, L.STYLE_H1, keep_next=True)


@contextmanager
def _briefing_part(doc: Document, key: str, title: str, no_data: str) -> Iterator[None]:
    """A chosen briefing section with data: its heading, the block, else the `no_data` line."""
    with _when(doc, f"show.{key}"):
        _section(doc, key, title)
        with _when(doc, f"{key}.has_data", no_data):
            yield


def _table(doc: Document, caption: str, headers: list[str], widths: list[float], loop: str, cells: list[str]) -> None:
    _caption(doc, caption)
    _loop_table(doc, headers, widths, loop, cells)


# =============================================================================================
def briefing() -> Document:
    doc = L.new_document()
    _masthead(doc, "党建工作通报", number="第{{ issue_no }}期")
    L.para(doc, "{{ period_label }}全市党建工作情况通报", L.STYLE_TITLE)
    L.para(doc, "各街道党（工）委，各基层党组织：", L.STYLE_PLAIN)
    L.para(doc, "现将{{ period_label }}（{{ start_cn }}至{{ end_cn }}）全市党建重点工作推进情况通报如下。")

    # 一、示范点
    with _briefing_part(doc, "sites", "示范点创建工作", "本期暂无示范点创建数据。"):
        L.para(doc, "全市共有示范点{{ sites.total }}个，其中已授牌{{ sites.named }}个、巩固提升{{ sites.consolidating }}个、"
                    "创建中{{ sites.creating }}个、已申报待遴选{{ sites.applied }}个。{{ sites.year }}年计划创建"
                    "{{ sites.planned }}个，实际创建{{ sites.actual }}个，完成计划的{{ sites.plan_rate }}；计划命名"
                    "{{ sites.named_target }}个，已命名{{ sites.named_this_year }}个。")
        L.para(doc, "{% if sites.assessments %}本期开展示范点考评{{ sites.assessments }}次，通过{{ sites.passed }}次，"
                    "未通过{{ sites.failed }}次。{% else %}本期没有开展示范点考评。{% endif %}{{ sites.overdue_text }}")
        _table(doc, "表{{ sites.table_no }}　{{ sites.year }}年示范点创建计划完成情况",
               ["类别", "计划创建", "实际创建", "已命名", "完成率"], [40, 28, 28, 28, 32],
               "r in sites.plan_rows", ["r.category", "r.planned", "r.actual", "r.named", "r.rate"])
        _figure(doc, "sites.chart", "图{{ sites.chart_no }}　{{ sites.year }}年示范点创建计划与完成情况")

    # 二、述职评议
    with _when(doc, "show.reports"):
        _section(doc, "reports", "述职评议工作")
        L.para(doc, "（一）述职评议会召开情况", L.STYLE_H2, keep_next=True)
        with _when(doc, "reports.has_sessions", "本期未召开述职评议会。"):
            L.para(doc, "本期召开述职评议会{{ reports.sessions }}场（{{ reports.session_titles }}），{{ reports.units }}个单位"
                        "党组织书记现场述职，{{ reports.voted }}个单位完成测评，共收回测评票{{ reports.voters }}张，"
                        "「好」和「较好」票合计占{{ reports.good_rate }}。{{ reports.laggard_text }}")
            _table(doc, "表{{ reports.table_no }}　本期述职测评结果",
                   ["单位", "场次", "好", "较好", "一般", "差", "好+较好率"], [44, 26, 14, 14, 14, 14, 30],
                   "r in reports.vote_rows",
                   ["r.name", "r.session", "r.good", "r.fairly_good", "r.average", "r.poor", "r.good_rate"])
            _figure(doc, "reports.chart", "图{{ reports.chart_no }}　本期述职测评票数分布")
        L.para(doc, "（二）问题整改情况", L.STYLE_H2, keep_next=True)
        with _when(doc, "reports.has_items", "截至{{ end_cn }}，暂无整改事项。"):
            L.para(doc, "本期新下发整改事项{{ reports.items_new }}项，销号{{ reports.items_closed_in_period }}项。截至"
                        "{{ end_cn }}，累计下发整改事项{{ reports.items_total }}项，已销号{{ reports.items_closed }}项，"
                        "尚未销号{{ reports.items_open }}项，其中逾期未整改{{ reports.items_overdue }}项。"
                        "{{ reports.level_text }}")
            _table(doc, "表{{ reports.items_table_no }}　整改事项分级情况",
                   ["级别", "未销号", "其中逾期", "本期新下发", "本期销号"], [44, 28, 28, 28, 28],
                   "r in reports.level_rows", ["r.level", "r.open", "r.overdue", "r.new", "r.closed"])

    # 三、党费
    with _briefing_part(doc, "dues", "党费收缴工作", "本期暂无党费收缴数据。"):
        L.para(doc, "本期全市应缴党费{{ dues.due }}元，实缴{{ dues.collected }}元，收缴率{{ dues.rate }}。"
                    "{{ dues.street_text }}截至{{ end_cn }}，连续3个月及以上未缴纳党费的党员{{ dues.warn }}人，"
                    "其中连续6个月及以上的{{ dues.flag }}人。")
        _table(doc, "表{{ dues.table_no }}　各街道（系统）党费收缴情况",
               ["街道/系统", "应缴（元）", "实缴（元）", "收缴率", "连续3个月以上未缴（人）"],
               [28, 36, 36, 22, 34], "r in dues.street_rows",
               ["r.street", "r.due", "r.collected", "r.rate", "r.warn"])
        _figure(doc, "dues.chart", "图{{ dues.chart_no }}　各街道（系统）党费收缴率")

    # 四、观摩互进
    with _briefing_part(doc, "observation", "观摩互进活动", "本期未开展观摩活动。"):
        L.para(doc, "本期开展观摩活动{{ observation.events }}次（{{ observation.event_names }}），安排观摩点"
                    "{{ observation.hosts }}个、观摩{{ observation.visits }}场次，收回评分表{{ observation.sheets }}份。"
                    "{{ observation.ranking_text }}{{ observation.tier_text }}")
        with _when(doc, "observation.has_ranking"):
            _table(doc, "表{{ observation.table_no }}　{{ observation.ranked_event }}观摩点综合得分排名"
                        "（前{{ observation.top_n }}名）",
                   ["名次", "观摩点", "所在街道", "综合得分", "评分份数"], [20, 56, 36, 24, 24],
                   "r in observation.rank_rows", ["r.rank", "r.name", "r.street", "r.score", "r.n"])
            _figure(doc, "observation.chart", "图{{ observation.chart_no }}　{{ observation.ranked_event }}各街道观摩点平均得分")

    L.para(doc, "{{ next_heading }}、下一步工作要求", L.STYLE_H1, keep_next=True)
    L.para(doc, "各级党组织要对照本通报反映的问题，逐项研究整改措施：示范点创建进度滞后的单位要加强指导、"
                "按期考评；述职测评排名靠后和整改逾期的单位，党组织书记要切实履行第一责任人职责；党费收缴率偏低的"
                "街道要逐人摸清欠缴原因，按规定做好补缴；观摩活动中得分靠后的单位要学习先进、补齐短板。")
    _sign(doc)
    _footer_record(doc)
    return doc


def _letter(title: str, to: str) -> Document:
    """A 通知's first lines: the issuer's masthead, the title, and whom it is addressed to."""
    doc = L.new_document()
    _masthead(doc, "{{ issuer }}")
    L.para(doc, title, L.STYLE_TITLE)
    L.para(doc, to, L.STYLE_PLAIN)
    return doc


def notice() -> Document:
    doc = _letter("关于召开{{ session.title }}党建述职评议会的通知", "各基层党组织：")
    L.para(doc, "经研究，定于{{ session.date_cn }}{{ session.start_time }}在{{ session.venue }}召开{{ session.title }}"
                "党建述职评议会，主题为「{{ session.theme }}」。现将有关事项通知如下。")
    L.para(doc, "一、述职单位及顺序", L.STYLE_H1, keep_next=True)
    L.para(doc, "本场共有{{ session.units }}个单位述职，每个单位述职{{ session.minutes }}分钟（含点评），顺序如下：")
    _table(doc, "{{ session.title }}述职单位及顺序", ["序号", "单位", "书记", "述职时间", "述职重点"],
           [15, 41, 18, 32, 50], "r in units", ["r.no", "r.name", "r.secretary", "r.time", "r.focus"])
    L.para(doc, "二、有关要求", L.STYLE_H1, keep_next=True)
    L.para(doc, "（一）请述职单位党组织书记本人到会述职，围绕述职重点如实报告工作进展、存在问题和整改措施。")
    L.para(doc, "（二）述职后由参会人员按「好、较好、一般、差」进行测评，测评结果纳入年度考核。")
    L.para(doc, "（三）请各单位于会前3个工作日将述职报告书面材料报送{{ issuer }}。")
    _sign(doc)
    return doc


_RECT_TEXT = {
    1: "经督查，你单位党建工作存在以下问题。现下发问题整改意见单，请认真研究、逐项整改，并于整改期限内将整改情况书面报送。",
    2: "你单位对问题整改意见单所列问题逾期{{ item.days_overdue }}天仍未整改到位。经研究，现予通报批评。请党组织书记切实"
       "履行第一责任人职责，于整改期限内整改到位并书面报告。",
    3: "你单位对通报批评所列问题逾期{{ item.days_overdue }}天仍未整改到位。经研究，定于近期对你单位主要负责同志进行约谈，"
       "请做好准备，并于整改期限内整改到位。",
}
RECT_NAMES = {1: "问题整改意见单", 2: "通报批评单", 3: "主要领导约谈单"}


def rectification(level: int) -> Document:
    doc = L.new_document()
    _masthead(doc, "{{ issuer }}")
    L.para(doc, RECT_NAMES[level], L.STYLE_TITLE)
    p = L.para(doc, "{{ item.number }}", L.STYLE_PLAIN)
    p.paragraph_format.alignment = L.WD_ALIGN_PARAGRAPH.CENTER
    L.para(doc, "{{ item.unit }}：", L.STYLE_PLAIN)
    L.para(doc, _RECT_TEXT[level])
    t = L.table(doc, ["项目", "内容"], [36, 120])
    for label, field in (("单位", "item.unit"), ("发现的问题", "item.problem"), ("整改措施要求", "item.measure"),
                         ("责任人", "item.responsible"), ("下发日期", "item.issued_cn"),
                         ("整改期限", "item.deadline_cn前")):
        value = "{{ " + field.replace("前", "") + " }}" + ("前" if field.endswith("前") else "")
        row = L.add_row(t, [label, value])
        row.cells[0].paragraphs[0].style = doc.styles[L.STYLE_TABLE_HEAD]
        row.cells[1].paragraphs[0].paragraph_format.alignment = L.WD_ALIGN_PARAGRAPH.LEFT
    L.para(doc, "请于整改期限内将整改情况书面报送{{ issuer }}。逾期未整改到位的，将按规定升级处理。")
    _sign(doc)
    return doc


def observation() -> Document:
    doc = L.new_document()
    L.para(doc, "{{ event.title }}", L.STYLE_TITLE)
    L.para(doc, "活动方式：{{ event.mode }}；活动日期：{{ event.date_cn }}；共{{ event.days }}天，每天{{ event.slots_per_day }}"
                "个时段；{{ event.delegations }}个观摩团观摩{{ event.hosts }}个观摩点，共{{ event.visits }}场次。", L.STYLE_PLAIN)
    L.para(doc, "一、总体安排", L.STYLE_H1, keep_next=True)
    _loop_table(doc, ["时段", "观摩团", "观摩点", "所在街道"], [50, 30, 50, 26],
                "r in overall", ["r.slot", "r.delegation", "r.host", "r.street"])
    _tag(doc, "for d in delegations")
    h = L.para(doc, "{{ d.name }}观摩路线", L.STYLE_H1, keep_next=True)
    h.paragraph_format.page_break_before = True
    L.para(doc, "本团共观摩{{ d.visits }}个观摩点，请按时到达。", L.STYLE_BODY)
    _loop_table(doc, ["天", "时段", "开始时间", "观摩点", "所在街道"], [16, 36, 24, 50, 30],
                "r in d.rows", ["r.day", "r.slot", "r.start", "r.host", "r.street"])
    _tag(doc, "endfor")
    _sign(doc)
    return doc


def sites() -> Document:
    doc = _letter("关于命名{{ year }}年度党建示范点的通知", "各街道党（工）委，各基层党组织：")
    with _when(doc, "rows", "{{ year }}年度暂无考评通过、予以命名的示范点。"):
        L.para(doc, "根据党建示范点创建工作安排，经申报遴选、创建培育、考评验收，决定命名{{ names_text }}等{{ count }}个单位为"
                    "{{ year }}年度党建示范点（名单附后）。希望被命名的单位珍惜荣誉、巩固提升，充分发挥示范引领作用。")
        _table(doc, "{{ year }}年度党建示范点命名名单", ["序号", "单位", "类别", "所在街道", "考评得分"],
               [15, 57, 28, 30, 26], "r in rows", ["r.no", "r.name", "r.category", "r.street", "r.score"])
    _sign(doc)
    return doc


BUILDERS: dict[str, Callable[[], Document]] = {
    "briefing": briefing,
    "notice": notice,
    "rectification_1": lambda: rectification(1),
    "rectification_2": lambda: rectification(2),
    "rectification_3": lambda: rectification(3),
    "observation": observation,
    "sites": sites,
}


def build(out_dir: Path = HERE) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, fn in BUILDERS.items():
        doc = fn()
        doc.core_properties.author = "党建工作台"
        doc.core_properties.title = kind
        doc.core_properties.created = doc.core_properties.modified = datetime(2026, 1, 1)
        doc.core_properties.last_modified_by = "党建工作台"
        doc.core_properties.revision = 1
        path = out_dir / f"{kind}.docx"
        doc.save(str(path))
        written.append(path)
    return written


if __name__ == "__main__":
    for p in build():
        print(p)
