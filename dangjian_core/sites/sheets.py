"""示范点考评评分表: an xlsx score sheet out for field visits, the filled sheet back in."""

from __future__ import annotations

import io
from typing import Any

from .. import fileio, values
from ..db import Database
from ..errors import BadInput, CellError
from . import rules as R
from .store import get_site, rubric_for, rubric_items

SHEET = "评分表"
INFO = "基本信息"
SHEET_HEADER = ["细则编号", "序号", "类型", "考评项目", "考评内容", "评分标准", "考评方式", "满分", "自评分",
                "考评得分", "否决", "备注"]


def score_sheet_xlsx(db: Database, site_id: int, year: int) -> bytes:
    import xlsxwriter

    site = get_site(db, site_id)
    y = R.check_year(year)
    rub, _ = rubric_for(db, y, site["category"])
    if rub is None:
        raise BadInput(f"{y} 年还没有适用于这个示范点的考评细则")
    items = rubric_items(db, rub["id"])
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    title = wb.add_format({"bold": True, "font_size": 14, "align": "center"})
    head = wb.add_format({"bold": True, "bg_color": "#F2DCDB", "border": 1, "text_wrap": True, "valign": "vcenter"})
    cell = wb.add_format({"border": 1, "text_wrap": True, "valign": "top"})
    entry = wb.add_format({"border": 1, "bg_color": "#FFF2CC", "valign": "top"})
    ws = wb.add_worksheet(SHEET)
    ws.merge_range(0, 0, 0, len(SHEET_HEADER) - 1, f"{site['name']} {y}年度基层党建示范点考评评分表", title)
    ws.merge_range(1, 0, 1, len(SHEET_HEADER) - 1,
                   f"细则：{rub['name']}；合格线 {rub['pass_mark']} 分。黄色格子填写：评分项填得分（不超过满分）；"
                   "加分项、扣分项填分数（扣分项填扣除的分数，正数）；否决项触发时「否决」填「是」。", cell)
    for j, h in enumerate(SHEET_HEADER):
        ws.write_string(2, j, h, head)
    for i, r in enumerate(items.iter_rows(named=True)):
        row = 3 + i
        ws.write_number(row, 0, r["id"], cell)
        ws.write_number(row, 1, r["seq"], cell)
        ws.write_string(row, 2, R.LINE_KINDS.get(r["kind"], r["kind"]), cell)
        for j, k in ((3, "item"), (4, "content"), (5, "scoring_rule"), (6, "method")):
            ws.write_string(row, j, str(r[k] or ""), cell)
        if r["max_points"] is not None:
            ws.write_number(row, 7, float(r["max_points"]), cell)
        else:
            ws.write_blank(row, 7, None, cell)
        for j in (8, 9, 10, 11):
            ws.write_blank(row, j, None, entry)
    if items.height:
        ws.data_validation(3, 10, 2 + items.height, 10, {"validate": "list", "source": ["是", "否"]})
    for j, w in enumerate([8, 5, 8, 16, 36, 36, 12, 6, 8, 8, 6, 20]):
        ws.set_column(j, j, w)
    ws.freeze_panes(3, 0)
    info = wb.add_worksheet(INFO)
    info.write_row(0, 0, ["项目", "内容"], head)
    rows = [("示范点编号", str(site["id"])), ("示范点", site["name"]), ("考评年度", str(y)), ("考评日期", ""),
            ("考评人", ""), ("类型判定", ""), ("备注", "")]
    for i, (k, v) in enumerate(rows):
        info.write_string(1 + i, 0, k, cell)
        info.write_string(1 + i, 1, v, entry if not v else cell)
    info.data_validation(6, 1, 6, 1, {"validate": "list", "source": list(R.KINDS.values())})
    info.set_column(0, 0, 14)
    info.set_column(1, 1, 40)
    wb.close()
    return buf.getvalue()


def read_score_sheet(db: Database, site_id: int, data: bytes, name: str) -> dict[str, Any]:
    """A filled score sheet → {year, assessed_on, assessor, kind, note, lines}. Checks that
    it belongs to this site and that every rubric line is there; scores are checked (against
    the maxima) when the assessment is recorded."""

    site = get_site(db, site_id)
    frame = fileio.read_frame(data=data, name=name, expected=SHEET_HEADER, sheet=SHEET)
    try:
        info_frame = fileio.read_frame(data=data, name=name, expected=["项目", "内容"], sheet=INFO)
    except BadInput:
        raise BadInput("文件中没有「基本信息」工作表：请使用从本系统下载的评分表", file=name) from None
    if not {"项目", "内容"} <= set(info_frame.df.columns):
        raise BadInput("「基本信息」工作表应有「项目」「内容」两列：请使用从本系统下载的评分表", file=name)
    info = {str(k).strip(): v for k, v in zip(info_frame.df["项目"].to_list(), info_frame.df["内容"].to_list())
            if k is not None}
    if str(info.get("示范点编号") or "").strip() != str(site["id"]):
        raise BadInput(f"这张评分表是「{info.get('示范点') or '其他示范点'}」的，不是当前选择的「{site['name']}」",
                       file=name)
    missing = [h for h in ("细则编号", "考评得分", "自评分", "否决", "备注") if h not in frame.df.columns]
    if missing:
        raise BadInput(f"评分表缺少列：{'、'.join(missing)}。请使用从本系统下载的评分表", file=name)
    year = R.check_year(info.get("考评年度"), "考评年度")
    try:
        on = values.parse_date(info.get("考评日期"))
    except values.BadValue as exc:
        raise BadInput(f"「基本信息」中的考评日期：{exc.message}", file=name) from None
    kind_text = str(info.get("类型判定") or "").strip()
    kind = next((k for k, v in R.KINDS.items() if kind_text in (k, v)), None) if kind_text else None
    if kind_text and kind is None:
        raise BadInput(f"「基本信息」中的类型判定「{kind_text}」应为：{'、'.join(R.KINDS.values())}", file=name)
    _, template = rubric_for(db, year, site["category"])
    by_id = {ln.rubric_item_id: ln for ln in template}
    errors, lines, seen = [], [], set()
    for i, r in enumerate(frame.df.iter_rows(named=True)):
        rown = frame.row_number(i)
        try:
            iid = values.parse_int(r["细则编号"])
        except values.BadValue:
            iid = None
        if iid is None:
            errors.append(CellError(rown, "细则编号", r["细则编号"], "细则编号不对：请不要修改这一列"))
            continue
        if iid not in by_id:
            errors.append(CellError(rown, "细则编号", iid, f"不是 {year} 年适用细则中的条目：请重新下载评分表"))
            continue
        seen.add(iid)
        t = by_id[iid]
        lines.append(R.Line(t.seq, t.item, t.kind, t.max_points, r["自评分"], r["考评得分"], r["否决"], r["备注"], iid))
    for iid in set(by_id) - seen:
        errors.append(CellError(None, "细则编号", iid, f"评分表缺少「{by_id[iid].item}」这一行"))
    if errors:
        raise BadInput("评分表有问题，没有读入：", errors, file=name)
    return {"year": year, "assessed_on": on, "assessor": (str(info.get("考评人") or "").strip() or None),
            "kind": kind, "note": (str(info.get("备注") or "").strip() or None),
            "lines": sorted(lines, key=lambda ln: ln.seq)}
