"""党政机关公文格式 (GB/T 9704-2012) as python-docx operations.

The default templates in `templates/` are built from these helpers by `build_templates.py`
(so they are reproducible and reviewable as code); tests read the same constants back out of
every generated document. Font names are written into the styles (w:rFonts, East-Asian slot
included); the fonts themselves are the office's — nothing proprietary is shipped. Where a
font is missing (LibreOffice on a server), the system's CJK font stands in.
"""

from __future__ import annotations

from typing import Any

from docx.document import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph

__all__ = ["WD_ALIGN_PARAGRAPH"]  # build_templates aligns with it too

# -- page ------------------------------------------------------------------------------------
PAGE_WIDTH_MM, PAGE_HEIGHT_MM = 210, 297            # A4
MARGIN_TOP_MM, MARGIN_BOTTOM_MM = 37, 35            # 天头 37 mm; 版心下边缘到纸边 35 mm
MARGIN_LEFT_MM, MARGIN_RIGHT_MM = 28, 26            # 订口 28 mm; 翻口 26 mm
FOOTER_DISTANCE_MM = 28                             # 页码在版心下边缘之下约 7 mm

# -- type ------------------------------------------------------------------------------------
TITLE_FONT = "方正小标宋简体"                        # 标题 2号
BODY_FONT = "仿宋_GB2312"                            # 正文 3号
H1_FONT = "黑体"                                     # 一级标题
H2_FONT = "楷体_GB2312"                              # 二级标题
PAGE_NUMBER_FONT = "宋体"                            # 页码 4号
LATIN_FONT = "Times New Roman"
TITLE_PT, BODY_PT, PAGE_NUMBER_PT, TABLE_PT = 22, 16, 14, 12
LINE_PT = 28.95                                      # 22 lines in the 225 mm text block
CHARS_PER_LINE, LINES_PER_PAGE = 28, 22
RED = RGBColor(0xE6, 0x00, 0x12)                     # 版头、分隔线 (red)

STYLE_TITLE, STYLE_H1, STYLE_H2, STYLE_BODY = "公文标题", "一级标题", "二级标题", "Normal"
STYLE_PLAIN = "无缩进正文"      # 主送机关、落款: no first-line indent
STYLE_SIGN = "落款"
STYLE_TABLE = "表格文字"
STYLE_TABLE_HEAD = "表格标题行"
STYLE_CAPTION = "图表标题"
STYLE_FIGURE = "图片"
STYLE_MASTHEAD = "版头"

FONT_OF_STYLE = {STYLE_TITLE: TITLE_FONT, STYLE_H1: H1_FONT, STYLE_H2: H2_FONT, STYLE_BODY: BODY_FONT}
SIZE_OF_STYLE = {STYLE_TITLE: TITLE_PT, STYLE_H1: BODY_PT, STYLE_H2: BODY_PT, STYLE_BODY: BODY_PT}


def set_fonts(rpr_owner: Any, east_asian: str, latin: str = LATIN_FONT) -> None:
    """Name the fonts explicitly (no theme fonts): ascii/hAnsi Latin, eastAsia Chinese."""
    rpr = rpr_owner.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in list(fonts.attrib):
        del fonts.attrib[attr]
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:cs"), latin)
    fonts.set(qn("w:eastAsia"), east_asian)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:eastAsia"), "zh-CN")


def east_asian_font(style: Any) -> str | None:
    """The East-Asian font a style names (None if it names none)."""
    rpr = style.element.rPr
    fonts = None if rpr is None else rpr.find(qn("w:rFonts"))
    return None if fonts is None else fonts.get(qn("w:eastAsia"))


def _paragraph_style(doc: Document, name: str, *, base: str | None = None, font: str = BODY_FONT, size: float = BODY_PT,
                     bold: bool = False, align: Any = WD_ALIGN_PARAGRAPH.JUSTIFY, indent_chars: float = 2,
                     exact_lines: bool = True, color: RGBColor | None = None, outline: int | None = None,
                     space_before: float = 0, space_after: float = 0) -> Any:
    styles = doc.styles
    style = styles[name] if name in [s.name for s in styles] else styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    if base is not None and style.name != base:
        style.base_style = styles[base]
    style.quick_style = True
    f = style.font
    f.size = Pt(size)
    f.bold = bold
    f.italic = False
    f.color.rgb = color or RGBColor(0, 0, 0)
    set_fonts(style.element, font)
    pf = style.paragraph_format
    pf.alignment = align
    pf.first_line_indent = Pt(size * indent_chars) if indent_chars else Pt(0)
    pf.left_indent = Pt(0)
    pf.right_indent = Pt(0)
    pf.space_before = Pt(space_before)
    pf.space_after = Pt(space_after)
    pf.widow_control = True
    if exact_lines:
        pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        pf.line_spacing = Pt(LINE_PT)
    else:
        pf.line_spacing_rule = WD_LINE_SPACING.SINGLE
    ppr = style.element.get_or_add_pPr()
    for old in ppr.findall(qn("w:outlineLvl")):
        ppr.remove(old)
    if outline is not None:
        lvl = OxmlElement("w:outlineLvl")
        lvl.set(qn("w:val"), str(outline))
        ppr.append(lvl)
    return style


def apply_page(section: Any) -> None:
    section.page_width, section.page_height = Mm(PAGE_WIDTH_MM), Mm(PAGE_HEIGHT_MM)
    section.top_margin, section.bottom_margin = Mm(MARGIN_TOP_MM), Mm(MARGIN_BOTTOM_MM)
    section.left_margin, section.right_margin = Mm(MARGIN_LEFT_MM), Mm(MARGIN_RIGHT_MM)
    section.header_distance = Mm(15)
    section.footer_distance = Mm(FOOTER_DISTANCE_MM)
    section.gutter = Mm(0)
    sect = section._sectPr
    grid = sect.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        sect.append(grid)
    for attr in list(grid.attrib):
        del grid.attrib[attr]
    grid.set(qn("w:type"), "lines")
    grid.set(qn("w:linePitch"), str(round(LINE_PT * 20)))


def _page_number(paragraph: Paragraph, *, odd: bool) -> None:
    """「— 1 —」: 4号宋体; odd pages right with one character's space, even pages left."""
    pf = paragraph.paragraph_format
    pf.alignment = WD_ALIGN_PARAGRAPH.RIGHT if odd else WD_ALIGN_PARAGRAPH.LEFT
    pf.first_line_indent = Pt(0)
    pf.line_spacing_rule = WD_LINE_SPACING.SINGLE
    if odd:
        pf.right_indent = Pt(PAGE_NUMBER_PT)
    else:
        pf.left_indent = Pt(PAGE_NUMBER_PT)

    def run(text: str | None = None) -> Any:
        r = paragraph.add_run(text)
        r.font.size = Pt(PAGE_NUMBER_PT)
        set_fonts(r._r, PAGE_NUMBER_FONT, PAGE_NUMBER_FONT)
        return r

    run("— ")
    r = run()
    for kind, instr in (("begin", None), (None, " PAGE "), ("separate", None), (None, None), ("end", None)):
        if kind:
            fc = OxmlElement("w:fldChar")
            fc.set(qn("w:fldCharType"), kind)
            r._r.append(fc)
        elif instr:
            it = OxmlElement("w:instrText")
            it.set(qn("xml:space"), "preserve")
            it.text = instr
            r._r.append(it)
        else:
            t = OxmlElement("w:t")
            t.text = "1"
            r._r.append(t)
    run(" —")


def page_numbers(doc: Document) -> None:
    doc.settings.odd_and_even_pages_header_footer = True
    for section in doc.sections:
        section.footer.is_linked_to_previous = False
        section.even_page_footer.is_linked_to_previous = False
        for footer, odd in ((section.footer, True), (section.even_page_footer, False)):
            p = footer.paragraphs[0] if footer.paragraphs else footer.add_paragraph()
            p.text = ""
            _page_number(p, odd=odd)


def new_document() -> Document:
    """An empty A4 document with the house styles (GB/T 9704) and page numbers."""
    from docx import Document

    doc = Document()
    apply_page(doc.sections[0])
    # document defaults: every run without its own font is 3号仿宋
    rpr_default = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    for old in rpr_default.findall(qn("w:rFonts")):
        rpr_default.remove(old)
    fonts = OxmlElement("w:rFonts")
    for k, v in (("w:ascii", LATIN_FONT), ("w:hAnsi", LATIN_FONT), ("w:cs", LATIN_FONT), ("w:eastAsia", BODY_FONT)):
        fonts.set(qn(k), v)
    rpr_default.insert(0, fonts)
    _paragraph_style(doc, STYLE_BODY)
    _paragraph_style(doc, STYLE_TITLE, base=STYLE_BODY, font=TITLE_FONT, size=TITLE_PT,
                     align=WD_ALIGN_PARAGRAPH.CENTER, indent_chars=0, exact_lines=False, space_after=BODY_PT)
    doc.styles[STYLE_TITLE].paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    doc.styles[STYLE_TITLE].paragraph_format.line_spacing = Pt(36)
    _paragraph_style(doc, STYLE_H1, base=STYLE_BODY, font=H1_FONT, outline=0)
    _paragraph_style(doc, STYLE_H2, base=STYLE_BODY, font=H2_FONT, outline=1)
    _paragraph_style(doc, STYLE_PLAIN, base=STYLE_BODY, indent_chars=0)
    _paragraph_style(doc, STYLE_SIGN, base=STYLE_BODY, indent_chars=0, align=WD_ALIGN_PARAGRAPH.RIGHT)
    doc.styles[STYLE_SIGN].paragraph_format.right_indent = Pt(BODY_PT * 4)
    _paragraph_style(doc, STYLE_TABLE, base=STYLE_BODY, size=TABLE_PT, indent_chars=0,
                     align=WD_ALIGN_PARAGRAPH.CENTER, exact_lines=False)
    _paragraph_style(doc, STYLE_TABLE_HEAD, base=STYLE_TABLE, font=H1_FONT, size=TABLE_PT, indent_chars=0,
                     align=WD_ALIGN_PARAGRAPH.CENTER, exact_lines=False)
    _paragraph_style(doc, STYLE_CAPTION, base=STYLE_BODY, font=H1_FONT, size=14, indent_chars=0,
                     align=WD_ALIGN_PARAGRAPH.CENTER, exact_lines=False, space_before=4, space_after=4)
    _paragraph_style(doc, STYLE_FIGURE, base=STYLE_BODY, indent_chars=0, align=WD_ALIGN_PARAGRAPH.CENTER,
                     exact_lines=False)
    _paragraph_style(doc, STYLE_MASTHEAD, base=STYLE_BODY, font=TITLE_FONT, size=36, indent_chars=0,
                     align=WD_ALIGN_PARAGRAPH.CENTER, exact_lines=False, color=RED)
    page_numbers(doc)
    return doc


# -- building blocks for the templates --------------------------------------------------------
def para(doc_or_cell: Any, text: str = "", style: str = STYLE_BODY, *, bold: bool = False,
         keep_next: bool = False) -> Paragraph:
    p: Paragraph = doc_or_cell.add_paragraph(text, style=style)
    if bold:
        for r in p.runs:
            r.bold = True
    if keep_next:
        p.paragraph_format.keep_with_next = True
    return p


def red_rule(paragraph: Paragraph, *, where: str = "bottom", size_eighths: int = 12) -> None:
    """The red separator line under the masthead (a paragraph border)."""
    ppr = paragraph._p.get_or_add_pPr()
    bdr = OxmlElement("w:pBdr")
    b = OxmlElement(f"w:{where}")
    b.set(qn("w:val"), "single")
    b.set(qn("w:sz"), str(size_eighths))
    b.set(qn("w:space"), "1")
    b.set(qn("w:color"), str(RED))
    bdr.append(b)
    ppr.append(bdr)


def black_rules(paragraph: Paragraph) -> None:
    """版记: thin lines above and below (抄送 / 印发 lines)."""
    ppr = paragraph._p.get_or_add_pPr()
    bdr = OxmlElement("w:pBdr")
    for where in ("top", "bottom"):
        b = OxmlElement(f"w:{where}")
        b.set(qn("w:val"), "single")
        b.set(qn("w:sz"), "6")
        b.set(qn("w:space"), "1")
        b.set(qn("w:color"), "000000")
        bdr.append(b)
    ppr.append(bdr)


def table(doc: Document, headers: list[str], widths_mm: list[float]) -> Any:
    """A bordered table with a header row (repeated on each page) in 黑体 and data cells in 仿宋."""
    t = doc.add_table(rows=1, cols=len(headers))
    t.style = doc.styles["Table Grid"]
    t.autofit = False
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    for i, w in enumerate(widths_mm):
        t.columns[i].width = Mm(w)
    for i, h in enumerate(headers):
        c = t.rows[0].cells[i]
        c.width = Mm(widths_mm[i])
        c.paragraphs[0].text = h
        c.paragraphs[0].style = doc.styles[STYLE_TABLE_HEAD]
    trpr = t.rows[0]._tr.get_or_add_trPr()
    hdr = OxmlElement("w:tblHeader")
    trpr.append(hdr)
    return t


def add_row(t: Any, texts: list[str], style: str = STYLE_TABLE) -> Any:
    row = t.add_row()
    for i, text in enumerate(texts):
        c = row.cells[i]
        c.width = t.rows[0].cells[i].width
        c.paragraphs[0].text = text
        c.paragraphs[0].style = style
    return row


def keep_row_together(row: Any) -> Any:
    """A table row that does not break across pages (w:cantSplit)."""
    trpr = row._tr.get_or_add_trPr()
    trpr.append(OxmlElement("w:cantSplit"))
    return row


def tab_line(doc: Document, left: str, right: str, style: str = STYLE_PLAIN) -> Paragraph:
    """One line with text at the left margin and at the right margin (a right tab stop)."""
    from docx.enum.text import WD_TAB_ALIGNMENT

    p = doc.add_paragraph(style=style)
    width = Mm(PAGE_WIDTH_MM - MARGIN_LEFT_MM - MARGIN_RIGHT_MM)
    p.paragraph_format.tab_stops.add_tab_stop(width, WD_TAB_ALIGNMENT.RIGHT)
    p.add_run(left)
    p.add_run("\t")
    p.add_run(right)
    return p

