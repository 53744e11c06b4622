"""Demo data for the site programme (示范点台账), clearly fictional like the rest of 示例市.

`seed(cur, ctx)` runs inside the demo transaction (via `sites.seed_demo`): rubrics, rounds at
every stage simulated through the real state machine and scoring rules (so every stored
total and status is what the rules compute), archive events, pairings and yearly plans.
Set-based inserts from polars frames; seeded by `ctx.rng`, so two builds are the same.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import polars as pl

from . import rules as R
from .model import ALL_CATEGORIES

if TYPE_CHECKING:
    from ..db import Cursor
    from ..demo import DemoContext

Row = dict[str, Any]

RUBRIC_TEMPLATE = [
    # (kind, item, content, max, rule, method)
    ("score", "班子建设", "党组织班子健全，书记履职尽责，班子成员分工明确、团结协作", 10,
     "班子不健全扣 5 分；书记抓党建责任不落实扣 3 分", "查阅资料、座谈了解"),
    ("score", "组织生活", "严格落实“三会一课”、主题党日、组织生活会和民主评议党员", 12,
     "每缺一次扣 1 分，记录不规范扣 2 分", "查阅资料"),
    ("score", "党员队伍", "发展党员规范，党员教育管理到位，作用发挥明显", 10,
     "发展程序不规范扣 3 分；党员作用发挥不明显扣 2 分", "查阅资料、座谈了解"),
    ("score", "阵地建设", "活动场所达标，标识规范，功能齐全，使用率高", 8,
     "场所不达标扣 4 分；闲置扣 2 分", "实地察看"),
    ("score", "制度建设", "各项制度健全，上墙公开，执行到位", 8, "缺一项制度扣 1 分", "查阅资料、实地察看"),
    ("score", "特色品牌", "有特色工作品牌，做法可学可鉴，形成经验", 12,
     "无特色品牌扣 8 分；有品牌无成效扣 4 分", "听取汇报、实地察看"),
    ("score", "示范带动", "开展结对帮带，接待观摩学习，辐射带动作用明显", 10,
     "未开展结对扣 5 分；未接待观摩扣 2 分", "查阅资料、座谈了解"),
    ("score", "创建档案", "创建方案、工作记录、影像资料完整规范", 8, "档案不全扣 3 分；不规范扣 2 分", "查阅资料"),
    ("score", "群众满意度", "党员群众对党组织工作满意", 10, "满意率每低 5 个百分点扣 1 分", "问卷测评"),
    ("score", "服务群众", "为民办实事，解决群众急难愁盼问题", 7, "每少一件实事扣 1 分", "走访核实"),
    ("score", "工作业绩", "中心工作、重点任务完成情况好", 5, "未完成年度重点任务扣 3 分", "查阅资料"),
    ("bonus", "经验推广", "创建经验被市级以上推广或媒体报道", 3, "市级 1 分、省级 2 分、国家级 3 分", "查阅资料"),
    ("bonus", "荣誉表彰", "获市级以上党建工作表彰", 2, "每项 1 分", "查阅资料"),
    ("penalty", "整改不力", "督查发现的问题未按期整改", 5, "每项扣 1 分", "查阅资料"),
    ("penalty", "材料不实", "创建材料有不实之处", 5, "每处扣 1 分", "查阅资料"),
    ("veto", "严重违纪", "班子成员发生严重违纪违法问题", None, "一票否决", "组织了解"),
    ("veto", "重大事故", "发生重大安全责任事故或群体性事件", None, "一票否决", "组织了解"),
    ("veto", "弄虚作假", "考评材料弄虚作假情节严重", None, "一票否决", "核查"),
]
BRANDS = ["党员议事会", "红色讲台", "周三例会制", "党群连心桥", "先锋示范岗", "初心课堂", "邻里守望", "党建+网格",
          "红色代办", "支部建在产业链上", "党员积分超市", "书记接待日", "流动党校", "红色管家", "一线工作法"]
ACTIVITIES = ["联合开展主题党日", "支部书记互派挂职交流", "共建党员活动室", "示范点骨干上门指导“三会一课”",
              "联合志愿服务", "共享党建阵地", "组织观摩学习", "帮助建立制度台账"]


def _responsible_unit(category: str, street: str) -> str:
    return {"organ": "市直机关工委", "school": "市教育工委", "enterprise": "市经贸工委"}.get(category, f"{street}党工委")


def seed(cur: Cursor, ctx: DemoContext) -> None:
    """Sites at every stage over the last years with assessments, rubrics, events, pairings
    and plans. demo: ~50 rounds over 3 years; city: 300 rounds over 10 years (~1,500
    assessments); tiny: a handful. Set-based inserts, seeded, so builds are repeatable."""
    from ..demo import GIVEN, SURNAMES

    rng, today = ctx.rng, ctx.today
    Y = today.year
    n_years, cohort, n_applied = {"city": (17, 17, 11), "demo": (3, 15, 5)}.get(ctx.scale, (3, 4, 2))
    # city: a long-running programme, so that there are ~1,500 assessments to page through
    p_pass = {"creating": 0.76, "named": 0.93, "consolidating": 0.95} if ctx.scale == "city" else \
        {"creating": 0.58, "named": 0.88, "consolidating": 0.9}
    p_skip, p_two = (0.01, 0.08) if ctx.scale == "city" else (0.04, 0.4)
    years = list(range(Y - n_years + 1, Y + 1))

    def person() -> str:
        return rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.4 else "")

    supervisors = [person() for _ in range({"city": 18, "demo": 6}.get(ctx.scale, 2))]
    leaders = [f"市委组织部{t}{person()}" for t in ("部长", "副部长", "副部长", "组织科科长", "副科长")]
    orgs_df = ctx.orgs.select("id", "name", "category", "street", "tier")
    org_rows = {r["id"]: r for r in orgs_df.to_dicts()}
    pool = [r["id"] for r in orgs_df.to_dicts() if r["tier"] != "lagging"]
    rng.shuffle(pool)

    # -- rubrics: a general one per year, and a rural one this year -------------------------
    rubric_rows: list[Row] = []
    item_rows: list[Row] = []
    rubric_of: dict[tuple[int, str], int] = {}
    for y in years:
        variants = [(ALL_CATEGORIES, "通用")] + ([("rural", "农村")] if y == Y else [])
        for cat, label in variants:
            rid = len(rubric_rows) + 1
            rubric_rows.append({"id": rid, "name": f"{y}年度基层党建示范点考评细则（{label}）", "year": y,
                                "category": cat, "pass_mark": Decimal("80"), "note": "演示数据"})
            rubric_of[(y, cat)] = rid
            tmpl = list(RUBRIC_TEMPLATE)
            if cat == "rural":
                tmpl[10] = ("score", "乡村振兴", "带领群众发展集体经济、推进乡村振兴成效明显", 5,
                            "村集体经济收入未达标扣 3 分", "查阅资料、实地察看")
            for seq, (kind, item, content, mx, rule, method) in enumerate(tmpl, start=1):
                item_rows.append({"id": len(item_rows) + 1, "rubric_id": rid, "seq": seq, "item": item,
                                  "content": content, "kind": kind,
                                  "max_points": None if mx is None else Decimal(mx), "scoring_rule": rule,
                                  "method": method})
    items_by_rubric: dict[int, list[Row]] = {}
    for it in item_rows:
        items_by_rubric.setdefault(it["rubric_id"], []).append(it)

    # -- rounds, simulated through the real state machine ---------------------------------
    site_rows: list[Row] = []
    ass_rows: list[Row] = []
    line_rows: list[Row] = []
    event_rows: list[Row] = []
    pair_rows: list[Row] = []
    not_named_orgs: list[tuple[int, int]] = []
    # the oldest cohort and last year's show every stage whatever the scale
    forced = {0: ["pass_all", "fail_first", "fail_second", "fail_later"], n_years - 2: ["pass_once"]}

    def half(x: float) -> Decimal:
        return Decimal(round(x * 2) / 2).quantize(Decimal("0.01"))

    def assess(site_id: int, org: Row, state: R.SiteState, y: int, on: date, fate_fail: bool) -> R.SiteState:
        cat = org["category"]
        rid = rubric_of.get((y, cat)) or rubric_of[(y, ALL_CATEGORIES)]
        veto = fate_fail and rng.random() < 0.2
        lo, hi = (0.55, 0.82) if fate_fail and not veto else (0.84, 1.0)
        lines: list[R.Line] = []
        for it in items_by_rubric[rid]:
            mx: Decimal = it["max_points"]
            sc: Decimal | None
            self_sc: Decimal | None
            if it["kind"] == "score":
                sc = half(float(mx) * rng.uniform(lo, hi))
                self_sc = min(mx, half(float(sc) + rng.uniform(0, 1.5)))
            elif it["kind"] in ("bonus", "penalty"):
                p = 0.3 if it["kind"] == "bonus" else 0.12
                sc = half(rng.uniform(0, float(mx))) if rng.random() < p else None
                self_sc = sc
            else:
                sc = self_sc = None
            flag = it["kind"] == "veto" and veto and not any(ln.vetoed for ln in lines)
            lines.append(R.Line(it["seq"], it["item"], it["kind"], mx, self_sc, sc, flag, None, it["id"]))
        res = R.score(lines, Decimal("80"))
        new = R.after_assessment(state, y, res.result)
        if res.result == "pass":
            kind = rng.choices(list(R.KINDS), [75, 15, 10])[0]
        else:
            kind = rng.choices(list(R.KINDS), [10, 50, 40])[0]
        aid = len(ass_rows) + 1
        ass_rows.append({"id": aid, "site_id": site_id, "year": y, "assessed_on": on,
                         "assessor": f"市委组织部考评组（{person()}）", "rubric_id": rid,
                         "stage": R.stage_of(state.status), "self_total": res.self_total, "total": res.total,
                         "vetoed": res.vetoed, "result": res.result, "kind": kind, "status_before": state.status,
                         "status_after": new.status, "note": None})
        for ln in res.lines:
            line_rows.append({"id": len(line_rows) + 1, "assessment_id": aid, "rubric_item_id": ln.rubric_item_id,
                              "seq": ln.seq, "item": ln.item, "kind": ln.kind, "max_points": ln.max_points,
                              "self_score": ln.self_score, "score": ln.score, "vetoed": bool(ln.vetoed)})
        return new

    def assessment_date(y: int) -> date | None:
        if y < Y:
            d = date(y, 12, rng.randint(5, 28)) if rng.random() < 0.6 else date(y + 1, 1, rng.randint(5, 25))
            return d if d <= today else date(y, 12, 10)
        if today.month >= 11 and today.day > 1:
            return date(Y, 11, rng.randint(1, min(today.day - 1, 28) or 1))
        return None

    def events_for(org_id: int, start: date, end: date, named_year: int | None) -> None:
        event_rows.append({"org_id": org_id, "event_date": min(end, start + timedelta(days=rng.randint(10, 40))),
                           "kind": "plan_filed", "title": "创建工作实施方案备案", "detail": "方案、措施和进度安排已报备",
                           "amount": None, "person": None})
        d = start + timedelta(days=rng.randint(20, 80))
        # some sites the supervisors have not visited for a while (the 90-day check shows them)
        visits_end = end - timedelta(days=rng.randint(100, 220)) if end == today and rng.random() < 0.15 else end
        while d <= visits_end:
            event_rows.append({"org_id": org_id, "event_date": d, "kind": "guidance_visit",
                               "title": "督查指导员到点指导", "detail": rng.choice(
                                   ["查阅创建台账，指导完善制度", "参加支部主题党日并点评", "座谈了解创建进展",
                                    "实地察看阵地建设"]), "amount": None, "person": None})
            d += timedelta(days=rng.randint(45, 140))
        for y in range(start.year, end.year + 1):
            for _ in range(rng.choices([0, 1, 2], [40, 45, 15])[0]):
                ed = date(y, rng.randint(3, 11), rng.randint(1, 28))
                if start <= ed <= end:
                    event_rows.append({"org_id": org_id, "event_date": ed, "kind": "experience",
                                       "title": "典型经验材料", "detail": f"总结「{rng.choice(BRANDS)}」做法",
                                       "amount": None, "person": None})
        if named_year is not None:
            ad = date(named_year, 12, 28) if date(named_year, 12, 28) <= end else None
            if ad:
                event_rows.append({"org_id": org_id, "event_date": ad, "kind": "award", "title": "以奖代投资金",
                                   "detail": "创建工作成效明显，给予资金支持",
                                   "amount": Decimal(rng.choice([20000, 30000, 50000])), "person": None})

    for ci, cy in enumerate(years):
        members = []
        again = [o for o, fy in not_named_orgs if fy < cy and rng.random() < 0.35]
        for o in again:
            not_named_orgs.remove(next(p for p in not_named_orgs if p[0] == o))
        members += [(o, True) for o in again]
        while len(members) < cohort and pool:
            members.append((pool.pop(), False))
        for mi, (oid, _) in enumerate(members):
            org = org_rows[oid]
            sid = len(site_rows) + 1
            interval = 2 if rng.random() < p_two else 1
            applied_on = date(cy - 1, rng.randint(10, 12), rng.randint(1, 28))
            selected_on = date(cy, rng.randint(1, 3), rng.randint(1, 28))
            if selected_on > today:
                selected_on = today
            state = R.SiteState("creating", cy, interval=interval)
            fate = forced.get(ci, [])[mi] if mi < len(forced.get(ci, [])) else None
            since = selected_on
            n_ok = 0
            for y in range(cy, Y + 1):
                if R.due_year(state) != y:
                    continue
                if fate is None and y < Y and rng.random() < p_skip:
                    break  # an assessment that never happened: shows as overdue
                on = assessment_date(y)
                skip = 0.75 if state.status == "creating" else 0.45
                if on is None or (y == Y and fate is None and rng.random() < skip):
                    break
                if fate == "pass_once" and n_ok == 1:
                    break
                if fate in ("pass_all", "pass_once"):
                    fail = False
                elif fate == "fail_first":
                    fail = n_ok == 0
                elif fate == "fail_second":
                    fail = n_ok == 1
                elif fate == "fail_later":
                    fail = n_ok == 2
                else:
                    fail = rng.random() > p_pass[state.status]
                before = state.status
                state = assess(sid, org, state, y, on, fail)
                n_ok += 1
                if state.status != before:
                    since = on
                if state.status not in R.ACTIVE:
                    break
            if state.status == "not_named" and state.last_year is not None:
                not_named_orgs.append((oid, state.last_year))
            end = today if state.status in R.ACTIVE else since
            site_rows.append({"id": sid, "org_id": oid, "status": state.status, "creation_year": cy,
                              "applied_on": applied_on, "selected_on": selected_on, "named_year": state.named_year,
                              "last_assessed_year": state.last_year, "status_since": since,
                              "inspection_interval": interval, "brand": f"「{rng.choice(BRANDS)}」",
                              "responsible_unit": _responsible_unit(org["category"], org["street"]),
                              "supervisor": rng.choice(supervisors), "liaison": person(),
                              "leader": rng.choice(leaders) if rng.random() < 0.5 else None, "note": None})
            events_for(oid, selected_on, end, state.named_year)
    for _ in range(n_applied):
        if not pool:
            break
        oid = pool.pop()
        org = org_rows[oid]
        site_rows.append({"id": len(site_rows) + 1, "org_id": oid, "status": "applied", "creation_year": Y,
                          "applied_on": min(today, date(Y, 1, 1) + timedelta(days=rng.randint(0, 60))),
                          "selected_on": None, "named_year": None, "last_assessed_year": None,
                          "status_since": None, "inspection_interval": 1, "brand": None,
                          "responsible_unit": _responsible_unit(org["category"], org["street"]),
                          "supervisor": None, "liaison": person(), "leader": None, "note": "演示：待立项"})

    # -- pairings: named sites with lagging orgs of their street ---------------------------
    lagging: dict[str, list[int]] = {}
    for r in orgs_df.filter(pl.col("tier") == "lagging").to_dicts():
        lagging.setdefault(r["street"], []).append(r["id"])
    site_orgs = {s["org_id"] for s in site_rows}
    for s in site_rows:
        if s["status"] in ("named", "consolidating") and rng.random() < 0.55:
            cands = [o for o in lagging.get(org_rows[s["org_id"]]["street"], []) if o not in site_orgs]
            for o in rng.sample(cands, min(len(cands), rng.randint(1, 2))):
                start = date(s["named_year"] + 1, rng.randint(1, 6), rng.randint(1, 28))
                if start > today:
                    start = today - timedelta(days=30)
                ended = start + timedelta(days=365) if rng.random() < 0.2 and start + timedelta(days=365) < today else None
                pair_rows.append({"site_org_id": s["org_id"], "partner_org_id": o, "started_on": start,
                                  "ended_on": ended, "activities": "；".join(rng.sample(ACTIVITIES, 3)),
                                  "note": None})
                lagging[org_rows[s["org_id"]]["street"]].remove(o)
    if not pair_rows:  # small demos: keep one pairing whatever the dice and the date say
        named = [s for s in site_rows if s["status"] in ("named", "consolidating")]
        others = [r for r in ctx.orgs.sort("id").to_dicts() if r["id"] not in site_orgs and r["parent_id"] is not None]
        for s in named:
            street = org_rows[s["org_id"]]["street"]
            nearest = sorted(others, key=lambda r: (r["tier"] != "lagging", r["street"] != street, r["id"]))
            if nearest:
                pair_rows.append({"site_org_id": s["org_id"], "partner_org_id": nearest[0]["id"],
                                  "started_on": min(today - timedelta(days=30),
                                                    date(s["named_year"] + 1, 3, 1)),
                                  "ended_on": None, "activities": "；".join(ACTIVITIES[:3]), "note": None})
                break

    # -- plans: the city default plan for every year ---------------------------------------
    plan_rows = [{"id": i + 1, "year": y, "category": c, "planned": n}
                 for i, (y, c, n) in enumerate((y, c, n) for y in years for c, n in R.DEFAULT_PLAN.items())]
    plan_year_rows = [{"id": i + 1, "year": y, "named_target": R.DEFAULT_NAMED_TARGET} for i, y in enumerate(years)]

    def insert(table: str, rows: list[Row], schema: dict[str, Any]) -> None:
        if not rows:
            return
        if "id" not in rows[0]:
            rows = [dict(r, id=i + 1) for i, r in enumerate(rows)]
            schema = {"id": pl.Int64, **schema}
        frame = pl.DataFrame(rows, schema=schema, orient="row")
        cur.register("seed_frame", frame)
        cols = ", ".join(frame.columns)
        cur.execute(f"INSERT INTO {table} ({cols}, updated_by) SELECT {cols}, 'demo' FROM seed_frame")
        cur.unregister("seed_frame")
        cur.execute(f"SELECT setval('{table}_seq', (SELECT max(id) FROM {table}))")

    D, S, I64, DT, B = pl.Decimal(18, 2), pl.String, pl.Int64, pl.Date, pl.Boolean
    insert("site_rubrics", rubric_rows, {"id": I64, "name": S, "year": I64, "category": S, "pass_mark": D, "note": S})
    insert("site_rubric_items", item_rows, {"id": I64, "rubric_id": I64, "seq": I64, "item": S, "content": S,
                                            "kind": S, "max_points": D, "scoring_rule": S, "method": S})
    insert("sites", site_rows, {"id": I64, "org_id": I64, "status": S, "creation_year": I64, "applied_on": DT,
                                "selected_on": DT, "named_year": I64, "last_assessed_year": I64,
                                "status_since": DT, "inspection_interval": I64, "brand": S,
                                "responsible_unit": S, "supervisor": S, "liaison": S, "leader": S, "note": S})
    insert("site_assessments", ass_rows, {"id": I64, "site_id": I64, "year": I64, "assessed_on": DT,
                                          "assessor": S, "rubric_id": I64, "stage": S, "self_total": D,
                                          "total": D, "vetoed": B, "result": S, "kind": S, "status_before": S,
                                          "status_after": S, "note": S})
    insert("site_assessment_lines", line_rows, {"id": I64, "assessment_id": I64, "rubric_item_id": I64,
                                                "seq": I64, "item": S, "kind": S, "max_points": D,
                                                "self_score": D, "score": D, "vetoed": B})
    insert("site_events", event_rows, {"org_id": I64, "event_date": DT, "kind": S, "title": S, "detail": S,
                                       "amount": D, "person": S})
    insert("site_pairings", pair_rows, {"site_org_id": I64, "partner_org_id": I64, "started_on": DT,
                                        "ended_on": DT, "activities": S, "note": S})
    insert("site_plans", plan_rows, {"id": I64, "year": I64, "category": S, "planned": I64})
    insert("site_plan_years", plan_year_rows, {"id": I64, "year": I64, "named_target": I64})
    ctx.extra["sites"] = {"rounds": len(site_rows), "assessments": len(ass_rows)}

