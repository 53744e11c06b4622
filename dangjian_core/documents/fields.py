"""The fields each template may use, with sample values.

The samples are what an uploaded template is test-filled with before it is accepted (once
with data, once with every list empty and every has_… false), and what 系统管理 shows as the
field list. `tests/test_documents.py` checks that the real data (`data.py`) has exactly these
fields, so the two cannot drift apart.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

# a 1×1 white PNG stands in for a chart
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4//8/AAX+Av4N70a4AAAAAElFTkSuQmCC")

COMMON = {"issuer": "党建工作领导小组办公室", "date_cn": "2026年12月1日", "today": "2026-12-01"}

_BRIEFING = {
    **COMMON,
    "period": "2026Q3", "period_label": "2026年第三季度", "start_cn": "2026年7月1日", "end_cn": "2026年9月30日",
    "issue_no": "3", "next_heading": "五", "counts": {"tables": 5, "charts": 4},
    "show": {"sites": True, "reports": True, "dues": True, "observation": True},
    "sites": {"has_data": True, "heading": "一", "year": 2026, "total": 31, "named": 6, "consolidating": 9,
              "creating": 11, "applied": 5, "planned": 50, "actual": 15, "plan_rate": "30.0%", "named_target": 25,
              "named_this_year": 2, "named_in_period": 0, "assessments": 3, "passed": 2, "failed": 1, "overdue": 0,
              "overdue_text": "本期没有新授牌的示范点。目前没有逾期未考评的示范点。", "table_no": 1, "chart_no": 1,
              "plan_rows": [{"category": "农村", "planned": "20", "actual": "1", "named": "0", "rate": "5.0%"}],
              "chart": PNG},
    "reports": {"has_sessions": True, "has_items": True, "heading": "二", "sessions": 1, "session_titles": "2026年第4场",
                "units": 5, "voted": 5, "voters": 233, "good_rate": "82.0%",
                "laggard_text": "测评中「好」和「较好」票占比较低的单位是某党支部（70.9%），请其认真查找差距、抓好整改。",
                "vote_rows": [{"name": "某党支部", "session": "2026年第4场", "good": "23", "fairly_good": "23",
                               "average": "5", "poor": "2", "good_rate": "86.8%"}],
                "chart": PNG, "table_no": 2, "chart_no": 2, "items_table_no": 3,
                "items_total": 166, "items_closed": 142, "items_open": 24, "items_overdue": 19, "items_new": 15,
                "items_closed_in_period": 21, "level_text": "未销号事项中，问题整改意见单5项、通报批评单12项、主要领导约谈单7项。",
                "level_rows": [{"level": "问题整改意见单", "open": "5", "overdue": "2", "new": "15", "closed": "21"}]},
    "dues": {"has_data": True, "heading": "三", "due": "229.99万", "collected": "224.62万", "rate": "97.7%",
             "due_fen": 229994484, "collected_fen": 224615921,
             "street_text": "各街道（系统）中，收缴率最高的是西城街道（98.8%），最低的是滨江街道（96.9%）。",
             "warn": 75, "flag": 30, "table_no": 4, "chart_no": 3, "chart": PNG,
             "street_rows": [{"street": "西城街道", "due": "186,675.78", "collected": "184,395.71", "rate": "98.8%",
                              "warn": "4"}],
             "warn_rows": [{"name": "张三", "org": "某党支部", "street": "西城街道", "months": "6"}]},
    "observation": {"has_data": True, "has_ranking": True, "heading": "四", "events": 1,
                    "event_names": "2026年下半年各街道交叉观摩", "hosts": 24, "visits": 72, "sheets": 72, "top_n": 10,
                    "ranked_event": "2026年下半年各街道交叉观摩", "ranking_text": "在……中，综合得分前三名的观摩点是……。",
                    "tier_text": "根据评比结果，建议调整20个观摩点的评定等次。", "tier_up": 2, "tier_down": 5,
                    "table_no": 5, "chart_no": 4, "chart": PNG,
                    "rank_rows": [{"rank": "1", "name": "某社区党支部", "street": "新桥街道", "score": "93.5", "n": "3"}]},
}

_NOTICE = {
    **COMMON,
    "session": {"title": "2026年第5场", "date_cn": "2026年10月23日", "start_time": "09:00",
                "venue": "机关党建活动中心三楼会议室", "theme": "常规述职：党建工作推进情况", "units": 5, "minutes": 15,
                "kind": "常规述职"},
    "units": [{"no": "1", "name": "某党支部", "street": "南山街道", "secretary": "王红", "time": "09:00–09:15",
               "focus": "重点说明：三会一课完成率 67.3%（目标 100%）"}],
}

_RECTIFICATION = {
    **COMMON,
    "item": {"id": 14, "number": "整改〔2026〕第0014-1号", "unit": "某党支部", "problem": "“三会一课”记录不全",
             "measure": "建立“三会一课”台账，按月检查", "responsible": "组织委员", "issued_cn": "2026年5月9日",
             "deadline_cn": "2026年5月24日", "days_overdue": "12", "level_name": "问题整改意见单", "closed": False},
}

_OBSERVATION = {
    **COMMON,
    "event": {"name": "2026年下半年各街道交叉观摩", "title": "2026年下半年各街道交叉观摩活动安排表", "mode": "各街道交叉观摩", "date_cn": "2026年9月24日", "days": 2,
              "slots_per_day": 3, "delegations": 12, "hosts": 24, "visits": 72},
    "overall": [{"slot": "第1天第1时段 08:30", "delegation": "东湖街道", "host": "某社区党支部", "street": "金沙街道"}],
    "delegations": [{"name": "东湖街道", "visits": 6,
                     "rows": [{"day": "第1天", "slot": "第1天第1时段", "start": "08:30", "host": "某社区党支部",
                               "street": "金沙街道"}]}],
}

_SITES = {
    **COMMON,
    "year": 2026, "count": 1, "names_text": "某党支部",
    "rows": [{"no": "1", "name": "某党支部", "category": "机关", "street": "东湖街道", "score": "92.5"}],
}

SAMPLES: dict[str, dict[str, Any]] = {"briefing": _BRIEFING, "notice": _NOTICE, "rectification_1": _RECTIFICATION,
           "rectification_2": _RECTIFICATION, "rectification_3": _RECTIFICATION, "observation": _OBSERVATION,
           "sites": _SITES}

LABELS = {
    "issuer": "发文机关（述职评议设置中的通知落款）", "date_cn": "成文日期，如 2026年12月1日",
    "period_label": "统计期间，如 2026年第三季度", "start_cn": "期间起始日", "end_cn": "期间截止日", "issue_no": "期号",
    "show": "各栏目是否选中（show.sites 等）", "sites": "示范点栏目", "reports": "述职评议栏目", "dues": "党费栏目",
    "observation": "观摩互进栏目（通报）/ 观摩活动（安排表中为 event）", "session": "述职场次", "units": "述职单位（列表）",
    "item": "整改事项", "event": "观摩活动", "overall": "总体安排（列表）", "delegations": "各观摩团（列表）",
    "rows": "名单（列表）",
    "dues.warn_rows": "连续3个月及以上未缴党费的党员（姓名、党组织、街道、月数；默认模板不列姓名）", "year": "年度", "count": "个数", "names_text": "前几个单位的名称",
}


def _empty(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (False if k.startswith("has_") else _empty(v)) for k, v in value.items()}
    if isinstance(value, list):
        return []
    return value


def sample(kind: str, *, empty: bool = False) -> dict[str, Any]:
    s = copy.deepcopy(SAMPLES[kind])
    return dict(_empty(s)) if empty else s


def _resolve(value: Any, parts: list[str]) -> bool:
    for p in parts:
        if isinstance(value, list):
            if not value:
                return False
            value = value[0]
        if not isinstance(value, dict) or p not in value:
            return False
        value = value[p]
    return True


def has_path(kind: str, path: str, loops: dict[str, list[str]] | None = None, _depth: int = 0) -> bool:
    """Whether `a.b.c` names a field of the kind's data. A loop variable (`r` in
    `for r in sites.plan_rows`) stands for an element of each list it loops over."""
    parts = path.split(".")
    if loops and parts[0] in loops and _depth < 6:
        return any(has_path(kind, ".".join([src, *parts[1:]]), loops, _depth + 1) for src in loops[parts[0]] if src)
    return _resolve(SAMPLES[kind], parts)


def field_paths(kind: str) -> list[str]:
    """Every field as a dotted path (lists shown as name[] then their element fields)."""
    out: list[str] = []

    def walk(v: Any, prefix: str) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, f"{prefix}.{k}" if prefix else k)
        elif isinstance(v, list):
            out.append(f"{prefix}（列表）")
            if v:
                walk(v[0], f"{prefix}[]")
        else:
            out.append(prefix)

    walk(SAMPLES[kind], "")
    return out


def help_text(kind: str) -> str:
    tops = "、".join(SAMPLES[kind])
    return f"请检查拼写；这一公文可用的字段有：{tops}（完整列表见「系统管理 → 公文模板」）"
