"""The data each document is filled with: plain dicts of text and numbers (and PNG bytes for
charts), gathered from the core's own reads — `sites`, `reports`, `dues`,
`observation` — so a figure in a 通报 is the figure on the page that shows it.

Numbers are formatted here the way the office writes them (counts as digits, money in 元 with
two decimals or 万元 in sentences, rates with one decimal and 「%」, dates 2026年12月1日).
The field names are the contract with the templates; `fields.py` lists them with samples.
"""

from __future__ import annotations

import calendar
import functools
import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

import altair as alt
import polars as pl

from .. import clock
from ..auth import User
from ..errors import BadInput

if TYPE_CHECKING:
    from ..db import Cursor, Database

Context = dict[str, Any]   # what a template is filled with: text, numbers, lists, PNG bytes

CN_NUM = "〇一二三四五六七八九十"
SECTIONS = {"sites": "示范点创建", "reports": "述职评议", "dues": "党费收缴", "observation": "观摩互进"}
HEADINGS = ["一", "二", "三", "四", "五", "六"]
DEFAULT_ISSUER = "党建工作领导小组办公室"


# -- formatting -------------------------------------------------------------------------------
def date_cn(d: date | None) -> str:
    return "" if d is None else f"{d.year}年{d.month}月{d.day}日"


def pct(part: int | Decimal, whole: int | Decimal | None, *, empty: str = "—") -> str:
    if not whole:
        return empty
    v = (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return f"{v}%"


def rate_text(value: object) -> str:
    if value is None:
        return "—"
    return f"{Decimal(str(value)).quantize(Decimal('0.1'), ROUND_HALF_UP)}%"


def yuan(fen: int | None) -> str:
    fen = int(fen or 0)
    return f"{Decimal(fen) / 100:,.2f}"


def wan_yuan(fen: int | None) -> str:
    """Money in a sentence: 万元 with two decimals from 1 万 up, else 元."""
    fen = int(fen or 0)
    if abs(fen) >= 1_000_000:
        return f"{(Decimal(fen) / 1_000_000).quantize(Decimal('0.01'), ROUND_HALF_UP)}万"
    return f"{Decimal(fen) / 100:.2f}"


def _float(v: object) -> float:
    """A column's min/max as a float (0 when the column is empty or not numeric)."""
    return float(v) if isinstance(v, (int, float, Decimal)) else 0.0


def _num(v: object) -> str:
    """92.50 → 92.5, 90.00 → 90."""
    d = Decimal(str(v)).normalize()
    return f"{d:f}"


def names_list(names: list[str], limit: int = 5) -> str:
    names = [n for n in names if n]
    text = "、".join(f"{n}" for n in names[:limit])
    return text + ("等" if len(names) > limit else "")


def _issuer(db: Database) -> str:
    try:
        from ..reports import specs

        return specs.settings(db).get("issuer") or DEFAULT_ISSUER
    except Exception:  # noqa: BLE001 — a database without the 述职评议 tables still has documents
        return DEFAULT_ISSUER


def _png(chart: Any) -> bytes:
    """The chart as a 2× PNG through the house export (vl-convert). The same chart drawn again
    (the same 通报 generated twice, by two people or twice in a row) comes from a small cache:
    vl-convert holds the interpreter while it draws, and drawing is most of a 通报's time."""
    from ..charts.style import vega_spec

    spec = json.dumps(vega_spec(chart), ensure_ascii=False, sort_keys=True, default=str)
    return _png_of(spec)


@functools.lru_cache(maxsize=32)
def _png_of(spec_json: str) -> bytes:
    from ..charts.export import export_png

    return export_png(json.loads(spec_json), scale=2.0)


def _common(db: Database) -> Context:
    today = clock.today()
    return {"issuer": _issuer(db), "date_cn": date_cn(today), "today": today.isoformat()}


# -- periods ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Period:
    code: str          # 2026Q3 / 2026-09
    start: date
    end: date
    label: str         # 2026年第三季度 / 2026年9月

    @property
    def months(self) -> tuple[date, date]:
        return date(self.start.year, self.start.month, 1), date(self.end.year, self.end.month, 1)


_Q = re.compile(r"^\s*(\d{4})\s*[-年]?\s*(?:[Qq]\s*([1-4])|第?([一二三四1-4])季度?)\s*$")
_M = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?\s*$")


def _month_end(y: int, m: int) -> date:
    return date(y, m, calendar.monthrange(y, m)[1])


def parse_period(text: object) -> Period:
    """2026Q3, 2026-Q3, 2026年第三季度 (a quarter) or 2026-09, 2026年9月 (a month)."""
    raw = str(text or "").strip()
    m = _Q.match(raw)
    if m:
        y = int(m.group(1))
        g = m.group(2) or m.group(3)
        q = "一二三四".find(g) + 1 if g in "一二三四" else int(g)
        start = date(y, 3 * q - 2, 1)
        return Period(f"{y}Q{q}", start, _month_end(y, 3 * q), f"{y}年第{'一二三四'[q - 1]}季度")
    m = _M.match(raw)
    if m and 1 <= int(m.group(2)) <= 12:
        y, mo = int(m.group(1)), int(m.group(2))
        return Period(f"{y}-{mo:02d}", date(y, mo, 1), _month_end(y, mo), f"{y}年{mo}月")
    raise BadInput(f"统计期间「{raw}」看不懂：季度写作 2026Q3（或 2026年第三季度），月份写作 2026-09")


def last_quarter(today: date | None = None) -> Period:
    """The last quarter that has ended (the default 通报 period)."""
    today = today or clock.today()
    q = (today.month - 1) // 3  # quarters fully past this year
    y = today.year
    if q == 0:
        y, q = y - 1, 4
    return parse_period(f"{y}Q{q}")


def recent_periods(n_quarters: int = 8, today: date | None = None) -> list[Period]:
    out, p = [], last_quarter(today)
    for _ in range(n_quarters):
        out.append(p)
        y, q = p.start.year, (p.start.month - 1) // 3 + 1
        p = parse_period(f"{y - 1}Q4" if q == 1 else f"{y}Q{q - 1}")
    return out


# =============================================================================================
# 通报
# =============================================================================================
def _has_table(cur: Cursor, name: str) -> bool:
    return bool(cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchone()[0])


def _bar(df: pl.DataFrame, x: str, y: str, *, title: str, sort: list[str], y_title: str, fmt: str = ",.0f",
         color: Any = None, horizontal: bool = False, domain: list[float] | None = None) -> Any:
    """A plain bar chart in the house style with value labels (print-friendly)."""
    scale = alt.Scale(domain=domain) if domain else alt.Undefined
    if horizontal:
        base = alt.Chart(df).encode(y=alt.Y(f"{x}:N", sort=sort, title=None),
                                    x=alt.X(f"{y}:Q", title=y_title, scale=scale))
        text = base.mark_text(align="left", dx=4).encode(text=alt.Text(f"{y}:Q", format=fmt))
    else:
        base = alt.Chart(df).encode(x=alt.X(f"{x}:N", sort=sort, title=None, axis=alt.Axis(labelAngle=-30)),
                                    y=alt.Y(f"{y}:Q", title=y_title, scale=scale))
        text = base.mark_text(baseline="bottom", dy=-3).encode(text=alt.Text(f"{y}:Q", format=fmt))
    bars = base.mark_bar(clip=True) if color is None else base.mark_bar(clip=True).encode(color=color)
    return (bars + text).properties(title=title, width=600, height=300)


def _sites_section(db: Database, p: Period) -> Context:
    from ..sites import charts as sites_charts
    from ..sites import store
    from ..vocab import CATEGORIES

    with db.read() as cur:
        if not _has_table(cur, "sites"):
            return {"has_data": False}
    rounds = store.list_sites(db, today=p.end)
    year = p.end.year
    counts = {k: rounds.filter(pl.col("status") == k).height for k in ("named", "consolidating", "creating", "applied")}
    total = sum(counts.values())
    ass = store.assessments(db)
    ass_p = ass.filter(pl.col("assessed_on").is_between(p.start, p.end)) if ass.height else ass
    if total == 0 and ass_p.height == 0:
        return {"has_data": False}
    plan = store.plan(db, year)
    by = plan["by_category"]
    planned, actual = int(by["planned"].sum()), int(by["actual"].sum())
    named_year = rounds.filter(pl.col("named_year") == year).height
    passed = ass_p.filter(pl.col("result") == "pass").height
    newly = ass_p.filter((pl.col("status_after") == "named") & (pl.col("status_before") != "named"))
    overdue = rounds.filter(pl.col("overdue") & pl.col("status").is_in(["creating", "named", "consolidating"]))
    text = f"本期新授牌示范点{newly.height}个。" if newly.height else "本期没有新授牌的示范点。"
    if overdue.height:
        text += (f"目前有{overdue.height}个示范点逾期未考评（{names_list(overdue['name'].to_list())}），"
                 "请责任单位抓紧组织考评。")
    else:
        text += "目前没有逾期未考评的示范点。"
    rows = [{"category": CATEGORIES.get(r["category"], r["category"]), "planned": str(r["planned"]),
             "actual": str(r["actual"]), "named": str(r["named"]), "rate": pct(r["actual"], r["planned"])}
            for r in by.iter_rows(named=True)]
    rows.append({"category": "合计", "planned": str(planned), "actual": str(actual), "named": str(int(by["named"].sum())),
                 "rate": pct(actual, planned)})
    chart = sites_charts.plan_vs_actual(by, year, plan["named_target"]).properties(width=600, height=300)
    return {"has_data": True, "year": year, "total": total, **counts, "planned": planned, "actual": actual,
            "plan_rate": pct(actual, planned), "named_target": plan["named_target"], "named_this_year": named_year,
            "named_in_period": newly.height, "assessments": ass_p.height, "passed": passed,
            "failed": ass_p.height - passed, "overdue": overdue.height, "overdue_text": text,
            "plan_rows": rows, "chart": _png(chart)}


LEVELS = {1: "问题整改意见单", 2: "通报批评单", 3: "主要领导约谈单"}


def _reports_section(db: Database, p: Period) -> Context:
    from ..reports import votes as report_votes

    with db.read() as cur:
        if not _has_table(cur, "report_sessions"):
            return {"has_sessions": False, "has_items": False}
        sess = cur.sql("SELECT id, title, session_date FROM report_sessions WHERE status = 'published'"
                       " AND session_date BETWEEN ? AND ? ORDER BY session_date, id", params=[p.start, p.end]).pl()
        units = cur.execute("SELECT count(DISTINCT unit_id) FROM report_picks WHERE status = 'picked' AND session_id IN"
                            " (SELECT unnest(?))", [sess["id"].to_list()]).fetchone()[0]
        it = cur.sql("SELECT r.id, r.unit_id, o.name, r.level, r.opened, r.deadline, r.closed FROM rectification_items r"
                     " LEFT JOIN orgs o ON o.id = r.unit_id WHERE r.opened <= ?", params=[p.end]).pl()
        esc = cur.sql("SELECT item_id, to_level, issued FROM rectification_escalations WHERE issued BETWEEN ? AND ?",
                      params=[p.start, p.end]).pl()
    out: Context = {"has_sessions": sess.height > 0, "sessions": sess.height,
                 "session_titles": "、".join(sess["title"].to_list()), "units": int(units)}
    votes = []
    for sid, title in zip(sess["id"].to_list(), sess["title"].to_list()):
        v = report_votes.votes(db, sid)
        if v.height:
            votes.append(v.with_columns(pl.lit(title).alias("session")))
    v = pl.concat(votes, how="diagonal_relaxed") if votes else pl.DataFrame()
    if v.height:
        voters = int(v["voters"].sum())
        good = int(v["good"].sum()) + int(v["fairly_good"].sum())
        v = v.with_columns(rate=(pl.col("good") + pl.col("fairly_good")) * 100.0 / pl.col("voters")) \
             .sort(["rate", "name"], descending=[True, False])
        low = v.sort(["rate", "name"]).head(min(3, max(1, v.height // 3)))
        out |= {"voted": v.height, "voters": voters, "good_rate": pct(good, voters),
                "laggard_text": f"测评中「好」和「较好」票占比较低的单位是"
                                f"{'、'.join(f'{n}（{rate_text(r)}）' for n, r in zip(low['name'], low['rate']))}，"
                                "请其认真查找差距、抓好整改。"}
        out["vote_rows"] = [{"name": r["name"] or "", "session": r["session"], "good": str(r["good"]),
                             "fairly_good": str(r["fairly_good"]), "average": str(r["average"]), "poor": str(r["poor"]),
                             "good_rate": rate_text(r["rate"])} for r in v.iter_rows(named=True)]
        order = v["name"].to_list()
        long = v.select("name", 好="good", 较好="fairly_good", 一般="average", 差="poor").unpivot(
            index="name", variable_name="测评等次", value_name="票数").rename({"name": "单位"})
        grades = ["好", "较好", "一般", "差"]
        chart = alt.Chart(long).mark_bar().encode(
            y=alt.Y("单位:N", sort=order, title=None),
            x=alt.X("票数:Q", stack="normalize", title="票数占比", axis=alt.Axis(format="%")),
            color=alt.Color("测评等次:N", sort=grades,
                            scale=alt.Scale(domain=grades, range=["#C8161D", "#F2A33A", "#BDBDBD", "#4D4D4D"])),
            order=alt.Order("order:Q"),
        ).transform_calculate(order=f"indexof({grades!r}, datum['测评等次'])").properties(
            title="本期述职测评票数分布", width=520, height=max(220, 34 * len(order)))
        out["chart"] = _png(chart)
    else:
        out |= {"voted": 0, "voters": 0, "good_rate": "—", "laggard_text": "本期测评结果尚未录入。", "vote_rows": [],
                "chart": None}
    # rectification items as of the period's end (levels are today's; closed after the end counts as open)
    if it.height:
        it = it.with_columns(open=pl.col("closed").is_null() | (pl.col("closed") > p.end))
        op = it.filter(pl.col("open"))
        overdue = op.filter(pl.col("deadline") < p.end)
        new = it.filter(pl.col("opened").is_between(p.start, p.end))
        closed_p = it.filter(pl.col("closed").is_between(p.start, p.end))
        level_rows = []
        for lv, name in LEVELS.items():
            issued = new.height if lv == 1 else esc.filter(pl.col("to_level") == lv).height
            level_rows.append({"level": name, "open": str(op.filter(pl.col("level") == lv).height),
                               "overdue": str(overdue.filter(pl.col("level") == lv).height), "new": str(issued),
                               "closed": str(closed_p.filter(pl.col("level") == lv).height)})
        level_rows.append({"level": "合计", "open": str(op.height), "overdue": str(overdue.height),
                           "new": str(new.height + esc.height), "closed": str(closed_p.height)})
        lt = "未销号事项中，" + "、".join(f"{r['level']}{r['open']}项" for r in level_rows[:3]) + "。"
        if overdue.height:
            names = overdue.sort("deadline")["name"].unique(maintain_order=True).to_list()
            lt += f"逾期未整改的单位有{names_list(names)}，请抓紧整改到位。"
        out |= {"has_items": True, "items_total": it.height, "items_closed": it.height - op.height,
                "items_open": op.height, "items_overdue": overdue.height, "items_new": new.height,
                "items_closed_in_period": closed_p.height, "level_text": lt, "level_rows": level_rows}
    else:
        out |= {"has_items": False, "items_total": 0, "items_closed": 0, "items_open": 0, "items_overdue": 0,
                "items_new": 0, "items_closed_in_period": 0, "level_text": "", "level_rows": []}
    return out


def _dues_section(db: Database, user: User, p: Period) -> Context:
    from ..dues import charts as dues_charts

    with db.read() as cur:
        if not _has_table(cur, "dues_roll"):
            return {"has_data": False}
    a, b = p.months
    s = dues_charts.collection_series(db, user, a, b, by="street")
    if s.height == 0:
        return {"has_data": False}
    by = s.group_by("grp").agg(pl.col("due_fen").sum(), pl.col("collected_fen").sum())
    window_start = date(b.year - (b.month <= 11), (b.month - 12) % 12 + 1, 1)  # 12 months ending with b
    with db.read() as cur:
        owing = cur.sql("""
            WITH w AS (SELECT r.member_id, r.org_id, r.month, (r.due > 0 AND r.paid = 0) AS unpaid
                       FROM dues_roll r WHERE r.month BETWEEN ? AND ?),
            ok AS (SELECT member_id, max(month) AS last_ok FROM w WHERE NOT unpaid GROUP BY 1),
            t AS (SELECT w.member_id, arg_max(w.org_id, w.month) AS org_id, count(*) AS n,
                         min(w.month) AS first, max(w.month) AS last
                  FROM w LEFT JOIN ok USING (member_id)
                  WHERE w.unpaid AND (ok.last_ok IS NULL OR w.month > ok.last_ok) GROUP BY 1)
            SELECT o.street AS grp, o.name AS org, m.name, CAST(t.n AS BIGINT) AS n
            FROM t JOIN orgs o ON o.id = t.org_id LEFT JOIN members m ON m.id = t.member_id
            WHERE t.n >= 3 AND t.last = ? AND date_diff('month', t.first, t.last) + 1 = t.n
            ORDER BY t.n DESC, o.street, o.name, m.name""", params=[window_start, b, b]).pl()
    runs = owing.group_by("grp").agg(warn=pl.len().cast(pl.Int64), flag=(pl.col("n") >= 6).sum().cast(pl.Int64))
    by = by.join(runs, on="grp", how="left").with_columns(pl.col("warn").fill_null(0), pl.col("flag").fill_null(0))
    by = by.with_columns(rate=pl.when(pl.col("due_fen") > 0).then(pl.col("collected_fen") * 100.0 / pl.col("due_fen"))
                         .otherwise(100.0)).sort(["rate", "grp"], descending=[True, False])
    due, col = int(by["due_fen"].sum()), int(by["collected_fen"].sum())
    top, bottom = by.row(0, named=True), by.row(by.height - 1, named=True)
    st = (f"各街道（系统）中，收缴率最高的是{top['grp']}（{rate_text(top['rate'])}），最低的是{bottom['grp']}"
          f"（{rate_text(bottom['rate'])}）。") if by.height > 1 else ""
    rows = [{"street": r["grp"] or "（未填街道）", "due": yuan(r["due_fen"]), "collected": yuan(r["collected_fen"]),
             "rate": rate_text(r["rate"]), "warn": str(r["warn"])} for r in by.iter_rows(named=True)]
    rows.append({"street": "合计", "due": yuan(due), "collected": yuan(col), "rate": pct(col, due),
                 "warn": str(int(by["warn"].sum()))})
    lo = max(0.0, _float(by["rate"].min()) - 5)
    chart_df = by.select(pl.col("grp").fill_null("（未填街道）").alias("街道"), pl.col("rate").round(1).alias("收缴率"))
    chart = _bar(chart_df, "街道", "收缴率", title="各街道（系统）党费收缴率", sort=chart_df["街道"].to_list(),
                 y_title="收缴率（%）", fmt=".1f", domain=[round(lo), 100])
    return {"has_data": True, "due": wan_yuan(due), "collected": wan_yuan(col), "rate": pct(col, due),
            "due_fen": due, "collected_fen": col, "street_text": st, "warn": int(by["warn"].sum()),
            "flag": int(by["flag"].sum()), "street_rows": rows, "chart": _png(chart),
            # names only for a template that asks for them (the default one gives counts)
            "warn_rows": [{"name": r["name"] or "", "org": r["org"] or "", "street": r["grp"] or "", "months": str(r["n"])}
                          for r in owing.iter_rows(named=True)]}


def _observation_section(db: Database, p: Period, top_n: int = 10) -> Context:
    from ..observation import model, rules, scores, store

    with db.read() as cur:
        if not _has_table(cur, "obs_events"):
            return {"has_data": False, "has_ranking": False}
    ev = store.events(db).filter(pl.col("event_date").is_between(p.start, p.end)).sort("event_date", "id")
    if ev.height == 0:
        return {"has_data": False, "has_ranking": False}
    with db.read() as cur:
        sheets = cur.execute("SELECT count(*) FROM (SELECT DISTINCT event_id, delegation, host_org_id FROM obs_scores"
                             " WHERE event_id IN (SELECT unnest(?)))", [ev["id"].to_list()]).fetchone()[0]
    out = {"has_data": True, "events": ev.height, "event_names": "、".join(ev["name"].to_list()),
           "hosts": int(ev["n_hosts"].sum()), "visits": int(ev["n_visits"].sum()), "sheets": int(sheets),
           "top_n": top_n}
    scored = ev.filter(pl.col("n_scores") > 0)
    if scored.height == 0:
        return out | {"has_ranking": False, "ranking_text": "评分结果尚未录入。", "tier_text": "", "ranked_event": "",
                      "rank_rows": [], "chart": None}
    e = scored.row(scored.height - 1, named=True)
    ranking = scores.ranking(db, e["id"])
    r = ranking.filter(pl.col("rank").is_not_null())
    top = r.head(3)["name"].to_list()
    tail = r.tail(3).sort("rank", descending=True)["name"].to_list() if r.height > 6 else []
    text = f"在{e['name']}中，综合得分前三名的观摩点是{'、'.join(top)}"
    text += f"；得分靠后的是{'、'.join(tail)}。" if tail else "。"
    # scores.proposals(db, id) with its defaults, from the ranking already read
    prop = rules.propose_tiers(ranking, 0.2, 0.2, min_scores=1).with_columns(
        current=pl.col("tier").replace_strict(model.TIER_CN, default=None, return_dtype=pl.String))
    ch = prop.filter(pl.col("proposed_tier").is_not_null() & (pl.col("proposed_tier") != pl.col("current")))
    up = ch.filter(pl.col("proposed_tier") == "先进").height
    down = ch.filter(pl.col("proposed_tier") == "后进").height
    mid = ch.height - up - down
    tier = (f"根据评比结果，建议调整{ch.height}个观摩点的评定等次：评为先进{up}个、达标{mid}个、后进{down}个。"
            if ch.height else "根据评比结果，观摩点的评定等次不需调整。")
    rows = [{"rank": str(x["rank"]), "name": x["name"], "street": x["street"] or "",
             "score": f"{x['score']:.1f}", "n": str(x["n_scores"])} for x in r.head(top_n).iter_rows(named=True)]
    by_street = r.group_by("street").agg(pl.col("score").mean().round(1).alias("平均得分")) \
        .sort(["平均得分", "street"], descending=[True, False]).rename({"street": "街道"}) \
        .with_columns(pl.col("街道").fill_null("（未填街道）"))
    lo = max(0.0, _float(by_street["平均得分"].min()) - 10) if by_street.height else 0
    chart = _bar(by_street, "街道", "平均得分", title=f"{e['name']}各街道观摩点平均得分",
                 sort=by_street["街道"].to_list(), y_title="平均得分", fmt=".1f",
                 domain=[round(lo), max(100, round(_float(by_street["平均得分"].max()) + 1))])
    return out | {"has_ranking": True, "ranking_text": text, "tier_text": tier, "ranked_event": e["name"],
                  "rank_rows": rows, "chart": _png(chart), "tier_up": up, "tier_down": down}


def briefing_context(db: Database, user: User, period: object, sections: list[str] | None = None, *,
                     issue_no: object = None) -> Context:
    """Everything the 通报 template uses, for a quarter or a month (see `parse_period`).
    `sections`: any of SECTIONS (default all the user may see; 党费 needs 查看党费)."""
    p = period if isinstance(period, Period) else parse_period(period)
    if p.start > clock.today():
        raise BadInput(f"{p.label}还没有开始，不能生成通报")
    wanted = list(SECTIONS) if sections is None else [s for s in SECTIONS if s in set(sections)]
    unknown = set(sections or ()) - set(SECTIONS)
    if unknown:
        raise BadInput(f"未知的通报栏目：{'、'.join(sorted(unknown))}；可选：{'、'.join(SECTIONS)}")
    if not wanted:
        raise BadInput("请至少选择一个通报栏目")
    if "dues" in wanted and not user.can("dues.read"):
        if sections is not None:
            raise BadInput("你没有「查看党费」权限，通报中不能包含党费收缴栏目")
        wanted.remove("dues")
    ctx = _common(db)
    q = (p.start.month - 1) // 3 + 1
    ctx |= {"period_label": p.label, "period": p.code, "start_cn": date_cn(p.start), "end_cn": date_cn(p.end),
            "issue_no": str(issue_no if issue_no is not None else (q if len(p.code) == 6 else p.start.month)),
            "show": {s: s in wanted for s in SECTIONS}}
    builders = {"sites": lambda: _sites_section(db, p), "reports": lambda: _reports_section(db, p),
                "dues": lambda: _dues_section(db, user, p), "observation": lambda: _observation_section(db, p)}
    n_head = n_table = n_chart = 0
    for s in SECTIONS:
        sec = builders[s]() if s in wanted else {}
        if s in wanted:
            sec["heading"] = HEADINGS[n_head]
            n_head += 1
            # tables and figures are numbered in reading order over what is shown
            for key, flag in {"sites": [("table_no", "has_data"), ("chart_no", "has_data")],
                              "reports": [("table_no", "has_sessions"), ("chart_no", "has_sessions"),
                                          ("items_table_no", "has_items")],
                              "dues": [("table_no", "has_data"), ("chart_no", "has_data")],
                              "observation": [("table_no", "has_ranking"), ("chart_no", "has_ranking")]}[s]:
                if sec.get(flag):
                    if key == "chart_no":
                        n_chart += 1
                        sec[key] = n_chart
                    else:
                        n_table += 1
                        sec[key] = n_table
        ctx[s] = sec
    ctx["next_heading"] = HEADINGS[n_head]
    ctx["counts"] = {"tables": n_table, "charts": n_chart}
    return ctx


# =============================================================================================
# 述职评议通知
# =============================================================================================
def notice_context(db: Database, session_id: object) -> Context:
    from ..reports import model, notices

    s, table = notices.notice(db, session_id)
    if table.height == 0:
        raise BadInput(f"{s['title']}还没有选定述职单位：请先在「述职评议」中生成并发布名单")
    return _common(db) | {
        "session": {"title": s["title"], "date_cn": date_cn(s["session_date"]), "start_time": s["start_time"] or "",
                    "venue": s["venue"] or "（地点另行通知）", "theme": s["theme"], "units": table.height,
                    "minutes": int(s["minutes_per_unit"] or 15), "kind": model.KINDS.get(s["kind"], s["kind"])},
        "units": [{"no": str(r["序号"]), "name": r["单位"] or "", "street": r["街道/系统"] or "",
                   "secretary": r["书记"] or "", "time": r["述职时间"], "focus": r["述职重点"]}
                  for r in table.iter_rows(named=True)],
    }


# =============================================================================================
# 整改意见单 / 通报批评单 / 约谈单
# =============================================================================================
def rectification_context(db: Database, item_id: object, level: object = None) -> tuple[int, Context]:
    """(level, context) for the item's document at `level` (default: the level it is at now)."""
    from ..reports import rectifications

    try:
        iid = int(str(item_id))
    except (TypeError, ValueError):
        raise BadInput(f"整改事项编号应为整数，而不是「{item_id}」") from None
    with db.read() as cur:
        r = rectifications.item_row(cur, iid)
    docs = rectifications.documents(db, iid)
    lv = int(r["level"]) if level is None else int(str(level))
    doc = next((d for d in docs if d["level"] == lv), None)
    if doc is None:
        raise BadInput(f"第 {iid} 号整改事项还没有下发{LEVELS.get(lv, '这一级通知单')}"
                       f"（现为{LEVELS.get(int(r['level']))}）")
    return lv, _common(db) | {
        "item": {"id": iid, "number": f"整改〔{doc['issued'].year}〕第{iid:04d}-{lv}号", "unit": r["name"] or "",
                 "problem": r["problem"], "measure": r["measure"] or "请制定具体整改措施", "responsible": r["responsible"],
                 "issued_cn": date_cn(doc["issued"]), "deadline_cn": date_cn(doc["deadline"]),
                 "days_overdue": str(doc["days_overdue"] or 0), "level_name": LEVELS[lv],
                 "closed": r["closed"] is not None},
        "date_cn": date_cn(doc["issued"]),
    }


# =============================================================================================
# 观摩活动安排表
# =============================================================================================
def observation_context(db: Database, event_id: object) -> Context:
    from ..observation import model, store, views

    try:
        eid = int(str(event_id))
    except (TypeError, ValueError):
        raise BadInput(f"观摩活动编号应为整数，而不是「{event_id}」") from None
    ev = store.get_event(db, eid)
    P = store.problem_for(db, eid)
    visits, _ = store.plan_visits(db, eid)
    if not visits:
        raise BadInput(f"观摩活动「{ev['name']}」还没有安排：请先在「观摩互进」中生成安排")
    plan = views.plan_table(P, visits).sort("天", "时段", "观摩团")
    label = {(d, s): lab for d, s, lab in views.slot_labels(P)}
    overall = [{"slot": label.get((r["天"], r["时段"]), ""), "delegation": r["观摩团"], "host": r["观摩点"] or "",
                "street": r["所在街道"] or ""} for r in plan.iter_rows(named=True)]
    dels = []
    for d in P.delegations:
        name = views.delegation_names(P)[d.id]
        part = plan.filter(pl.col("观摩团") == name)
        dels.append({"name": name, "visits": part.height,
                     "rows": [{"day": f"第{r['天']}天", "slot": P.slot_label(r["天"], r["时段"]),
                               "start": r["开始时间"] or "", "host": r["观摩点"] or "", "street": r["所在街道"] or ""}
                              for r in part.iter_rows(named=True)]})
    return _common(db) | {
        "event": {"name": ev["name"],
                  "title": ev["name"] + ("活动安排表" if ev["name"].endswith("观摩") else "观摩活动安排表"),
                  "mode": model.MODE_CN.get(ev["mode"], ev["mode"]),
                  "date_cn": date_cn(ev.get("event_date")) or "另行通知", "days": ev["days"],
                  "slots_per_day": ev["slots_per_day"], "delegations": len(P.delegations), "hosts": len(P.hosts),
                  "visits": len(visits)},
        "overall": overall, "delegations": dels,
    }


# =============================================================================================
# 示范点命名名单
# =============================================================================================
def sites_context(db: Database, year: object) -> Context:
    from ..sites import store
    from ..sites.rules import check_year
    from ..vocab import CATEGORIES

    y = check_year(year)
    df = store.list_sites(db).filter(pl.col("named_year") == y).sort("street", "name")
    ass = store.assessments(db)
    score = {}
    if ass.height:
        for r in ass.filter((pl.col("year") == y) & (pl.col("status_after") == "named")).iter_rows(named=True):
            score[r["site_id"]] = r["total"]
    rows = [{"no": str(i), "name": r["name"], "category": CATEGORIES.get(r["category"], r["category"] or ""),
             "street": r["street"] or "", "score": "" if score.get(r["id"]) is None else _num(score[r["id"]])}
            for i, r in enumerate(df.iter_rows(named=True), 1)]
    return _common(db) | {"year": y, "count": len(rows), "rows": rows,
                          "names_text": "、".join(r["name"] for r in rows[:3])}

