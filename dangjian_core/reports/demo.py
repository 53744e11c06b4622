"""述职评议 demo data (`seed_demo`), simulated through the app's own scoring and picking."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import polars as pl

from ..db import Cursor
from . import rules
from .indicators import compute_scores, indicator_defs
from .model import Id, period_of, query
from .picks import rank_units, snapshot_scores
from .sessions import insert_sessions
from .specs import read_settings

DEMO_PROBLEMS = [
    ("“三会一课”记录不全，组织生活会会前谈心谈话不充分", "建立“三会一课”台账，按月检查，补齐记录"),
    ("党费收缴不及时，有党员连续 3 个月未交", "逐人谈话提醒，建立党费收缴月报制度"),
    ("10件实事推进缓慢，部分项目未明确责任人", "细化项目清单，明确责任人和时间节点"),
    ("党员活动阵地利用率低，活动记录缺失", "制定阵地开放和活动计划，每月至少开展 2 次活动"),
    ("发展党员程序不规范，培养考察材料缺项", "对照发展党员工作细则逐项自查整改"),
    ("支部书记履职不到位，抓党建与业务“两张皮”", "书记带头领办项目，每季度向上级党组织报告"),
    ("党建品牌特色不鲜明，示范带动作用弱", "提炼工作法，与示范点结对学习"),
    ("换届工作未按期启动", "制定换届工作方案，报上级党组织审批"),
]
RESPONSIBLE = ["支部书记", "组织委员", "宣传委员", "纪检委员", "党务工作者"]
SUPERVISION_TEXT = "督查发现"

if TYPE_CHECKING:
    from ..demo import DemoContext


def seed_demo(cur: Cursor, ctx: DemoContext) -> None:
    """Sessions for two years (four at scale 'city': 24 sessions), the past ones picked by the
    rule, published and voted; entered indicator values for every month; problems found at the
    sessions and by supervision becoming rectification items, some closed, some overdue and
    escalated to each level. The past is simulated session by session through the app's own
    scoring and picking code, and units that reported improve afterwards (so 述职效果 shows
    something). Set-based inserts; clearly demo data like the rest."""
    rng = ctx.rng
    today = ctx.today
    n_years = 4 if ctx.scale == "city" else 2
    capacity = 10 if ctx.scale == "city" else 5
    years_ = list(range(today.year - n_years + 1, today.year + 1))
    s = read_settings(cur)
    who = "demo"
    cur.execute("UPDATE report_settings SET default_capacity = ?, updated_by = ?", [capacity, who])
    s["default_capacity"] = capacity
    sess_ids = []
    for y in years_:
        sess_ids += insert_sessions(cur, y, rules.default_sessions(y), s, who)
    cur.execute("UPDATE report_sessions SET venue = '机关党建活动中心三楼会议室' WHERE updated_by = ?", [who])
    sessions_ = query(cur, "SELECT id, title, session_date FROM report_sessions ORDER BY session_date").to_dicts()
    units = ctx.orgs.select(pl.col("id").cast(pl.Int64).alias("unit_id"), "tier")
    n = units.height
    # entered indicators: a level per unit (lagging orgs lower), a trend, monthly noise
    first = date(years_[0], 1, 1)
    months = []
    m = first
    while m <= today:
        months.append(period_of(m))
        m = date(m.year + (m.month == 12), m.month % 12 + 1, 1)
    tier_base = {"advanced": 88.0, "standard": 72.0, "lagging": 50.0}
    base = units.with_columns(
        _b=pl.col("tier").replace_strict(tier_base, default=70.0),
        _u1=pl.Series([rng.uniform(-18, 12) for _ in range(n)]),
        _u2=pl.Series([rng.uniform(-18, 12) for _ in range(n)]),
        _t=pl.Series([rng.uniform(-0.3, 0.6) for _ in range(n)]),
    )
    month_df = pl.DataFrame({"period": months, "_m": list(range(len(months)))})
    noise = [rng.gauss(0, 4) for _ in range(n * len(months) * 2)]
    grid = base.join(month_df, how="cross")
    values = pl.concat([
        grid.select("unit_id", "period", "_m", pl.lit("ten_tasks_progress").alias("indicator"),
                    (pl.col("_b") + pl.col("_u1") + pl.col("_t") * pl.col("_m")).alias("value")),
        grid.select("unit_id", "period", "_m", pl.lit("three_meetings_one_lesson_rate").alias("indicator"),
                    (pl.col("_b") + 8 + pl.col("_u2") + pl.col("_t") * pl.col("_m")).alias("value")),
    ]).with_columns(pl.col("value") + pl.Series(noise[: grid.height * 2]), boost=pl.lit(0.0))
    past = [x for x in sessions_ if x["session_date"] < today]
    future = [x for x in sessions_ if x["session_date"] >= today]
    inserted_upto = -1
    next_item = cur.execute("SELECT coalesce(max(id), 0) FROM rectification_items").fetchone()[0] + 1
    item_rows: list[tuple[Any, ...]] = []
    vote_rows: list[tuple[Any, ...]] = []
    pick_rows: list[tuple[Any, ...]] = []
    hist = pl.DataFrame(schema={"unit_id": pl.Int64, "date": pl.Date})

    def flush_values(upto: int) -> None:
        nonlocal inserted_upto
        if upto <= inserted_upto:
            return
        part = values.filter((pl.col("_m") > inserted_upto) & (pl.col("_m") <= upto)).select(
            "unit_id", "indicator", "period", (pl.col("value") + pl.col("boost")).clip(0, 100).round(1).alias("value"))
        cur.register("demo_values", part)
        cur.execute("INSERT INTO report_indicator_values (unit_id, indicator, period, value, updated_by)"
                    " SELECT unit_id, indicator, period, value, 'demo' FROM demo_values")
        cur.unregister("demo_values")
        inserted_upto = upto

    def flush_items() -> None:
        if not item_rows:
            return
        f = pl.DataFrame(item_rows, schema={"id": pl.Int64, "unit_id": pl.Int64, "source": pl.String,
                                            "session_id": pl.Int64, "problem": pl.String, "measure": pl.String,
                                            "responsible": pl.String, "opened": pl.Date, "deadline": pl.Date,
                                            "closed": pl.Date}, orient="row")
        cur.register("demo_items", f)
        cur.execute("INSERT INTO rectification_items (id, unit_id, source, session_id, problem, measure, responsible,"
                    " opened, deadline, closed, close_note, updated_by) SELECT id, unit_id, source, session_id, problem,"
                    " measure, responsible, opened, deadline, closed,"
                    " CASE WHEN closed IS NOT NULL THEN '已整改到位，材料已归档' END, 'demo' FROM demo_items")
        cur.unregister("demo_items")
        item_rows.clear()

    def new_items(unit_ids: list[Any], opened: date, source: str, session_id: Id | None, p_in_time: float) -> None:
        nonlocal next_item
        for uid in unit_ids:
            for _ in range(rng.choice([1, 1, 2])):
                prob, meas = rng.choice(DEMO_PROBLEMS)
                deadline = opened + timedelta(days=rng.choice([30, 45, 60]))
                r = rng.random()
                if deadline + timedelta(days=10) < today and r < p_in_time:
                    closed = deadline - timedelta(days=rng.randint(0, 20))
                elif deadline + timedelta(days=40) < today and r < (1 + p_in_time) / 2:
                    closed = deadline + timedelta(days=rng.randint(5, 30))  # late, but done
                else:
                    closed = None
                if closed is not None and closed < opened:
                    closed = opened
                item_rows.append((next_item, uid, source, session_id, prob, meas, rng.choice(RESPONSIBLE),
                                  opened, deadline, closed))
                next_item += 1

    defs = indicator_defs(cur)
    for x in past:
        mi = months.index(period_of(x["session_date"]))
        flush_values(mi - 1)          # the months before the session are known
        flush_items()
        sc = compute_scores(cur, x["session_date"], defs)
        cand = sc.table.filter(pl.col("progress").is_not_null())
        picked = rules.pick_units(cand.select("unit_id", "name", "progress"), hist, x["session_date"], capacity,
                                  int(s["cooldown_days"]), lagging=sc.table.select("unit_id", "lagging"))
        snapshot_scores(cur, x["id"], sc)
        for r in picked.iter_rows(named=True):
            pick_rows.append((x["id"], r["unit_id"], r["rank"], r["progress"], r["reason"]))
            voters = rng.randint(25, 60)
            p = max(0.05, min(0.9, (r["progress"] or 50) / 100))
            good = int(voters * p * rng.uniform(0.4, 0.7))
            fairly = int((voters - good) * rng.uniform(0.4, 0.8))
            avg = int((voters - good - fairly) * rng.uniform(0.5, 1.0))
            vote_rows.append((x["id"], r["unit_id"], voters, good, fairly, avg, voters - good - fairly - avg,
                              rng.choice(["述职内容具体，问题找得准", "整改措施需进一步细化", "工作有进步，亮点不够突出",
                                          None, "建议加强与示范点的结对学习"])))
        ids = picked["unit_id"].to_list()
        hist = pl.concat([hist, pl.DataFrame({"unit_id": ids, "date": [x["session_date"]] * len(ids)},
                                             schema=hist.schema)])
        new_items(ids, min(x["session_date"] + timedelta(days=3), today), "session", x["id"], 0.9)
        # reporting helps: the reported units' entered values rise over the following months
        values = values.with_columns(boost=pl.when(pl.col("unit_id").is_in(ids) & (pl.col("_m") > mi))
                                     .then(pl.col("boost") + pl.min_horizontal((pl.col("_m") - mi) * 5.0, pl.lit(20.0)))
                                     .otherwise(pl.col("boost")))
        # supervision finds problems elsewhere too
        sup = rng.sample(units["unit_id"].to_list(), k=max(1, n // 40))
        new_items(sup, x["session_date"] - timedelta(days=rng.randint(10, 40)), "supervision", None, 0.7)
    flush_values(len(months) - 1)
    flush_items()
    # picks, published sessions, votes
    if pick_rows:
        f = pl.DataFrame(pick_rows, schema={"session_id": pl.Int64, "unit_id": pl.Int64, "rule_rank": pl.Int64,
                                            "progress": pl.Float64, "reason": pl.String}, orient="row")
        cur.register("demo_picks", f)
        cur.execute("INSERT INTO report_picks (session_id, unit_id, status, source, locked, rule_rank, progress, reason,"
                    " updated_by) SELECT session_id, unit_id, 'picked', 'rule', false, rule_rank, progress, reason, 'demo'"
                    " FROM demo_picks")
        cur.unregister("demo_picks")
        v = pl.DataFrame(vote_rows, schema={"session_id": pl.Int64, "unit_id": pl.Int64, "voters": pl.Int64,
                                            "good": pl.Int64, "fairly_good": pl.Int64, "average": pl.Int64,
                                            "poor": pl.Int64, "comments": pl.String}, orient="row")
        cur.register("demo_votes", v)
        cur.execute("INSERT INTO report_votes (session_id, unit_id, voters, good, fairly_good, average, poor, comments,"
                    " updated_by) SELECT *, 'demo' FROM demo_votes")
        cur.unregister("demo_votes")
        cur.register("demo_pub", pl.DataFrame({"id": [x["id"] for x in past]}, schema={"id": pl.Int64}))
        cur.execute("UPDATE report_sessions SET status = 'published', published_by = 'editor',"
                    " published_at = CAST(session_date AS TIMESTAMP) - INTERVAL 20 DAY WHERE id IN (SELECT id FROM demo_pub)")
        cur.unregister("demo_pub")
    # escalations: overdue open items climb the chain (some confirmed once, some twice)
    days = int(s["escalation_days"])
    over = query(cur, "SELECT id, deadline FROM rectification_items WHERE closed IS NULL AND deadline < ?"
                   " ORDER BY deadline, id", params=[today]).to_dicts()
    esc_rows, upd = [], []
    for i, r in enumerate(over):
        level, deadline = 1, r["deadline"]
        steps = [2, 1, 0][i] if i < 3 else rng.choice([0, 1, 1, 2, 2])  # every level is on the board
        for _ in range(steps):
            issued = deadline + timedelta(days=rng.randint(3, 12))
            if issued >= today:
                break
            new_deadline = issued + timedelta(days=days)
            esc_rows.append((r["id"], level, level + 1, issued, new_deadline, deadline, (issued - deadline).days))
            level, deadline = level + 1, new_deadline
        if level > 1:
            upd.append((r["id"], level, deadline))
    if esc_rows:
        cur.register("demo_esc", pl.DataFrame(esc_rows, schema={"item_id": pl.Int64, "from_level": pl.Int64,
                                                                "to_level": pl.Int64, "issued": pl.Date,
                                                                "deadline": pl.Date, "from_deadline": pl.Date,
                                                                "days_overdue": pl.Int64}, orient="row"))
        cur.execute("INSERT INTO rectification_escalations (item_id, from_level, to_level, issued, deadline, from_deadline,"
                    " days_overdue, note, updated_by) SELECT *, '演示数据', 'demo' FROM demo_esc")
        cur.unregister("demo_esc")
        cur.register("demo_lv", pl.DataFrame(upd, schema={"id": pl.Int64, "level": pl.Int64, "deadline": pl.Date},
                                              orient="row"))
        cur.execute("UPDATE rectification_items AS t SET level = f.level, deadline = f.deadline FROM demo_lv f WHERE t.id = f.id")
        cur.unregister("demo_lv")
    for t in ("rectification_items", "rectification_escalations", "report_picks", "report_votes",
              "report_indicator_values", "report_sessions"):
        cur.execute(f"SELECT setval('{t}_seq', (SELECT coalesce(max(id), 1) FROM {t}))")
    # the next session gets a draft list, so the picking screen shows the rule at work
    if future:
        x = future[0]
        ranked, _, _ = rank_units(cur, {**x, "status": "draft"}, today, capacity=capacity)
        if ranked.height:
            cur.register("demo_draft", ranked.select("unit_id", "rank", "progress", "reason"))
            cur.execute("INSERT INTO report_picks (session_id, unit_id, status, source, locked, rule_rank, progress,"
                        " reason, updated_by) SELECT ?, unit_id, 'picked', 'rule', false, rank, progress, reason, 'demo'"
                        " FROM demo_draft", [x["id"]])
            cur.unregister("demo_draft")
