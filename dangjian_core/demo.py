"""Demo data: a fictional city (示例市), clearly marked, so a new office can try every screen.

`build_demo(db, scale="demo")` — 12 streets, ~300 orgs, ~8,000 members;
`scale="city"` — 30 streets, 2,000 orgs, 100,000 members (for benchmarks).
The orgs and members are built here; each subject may add its own demo rows by defining
`seed_demo(cur, ctx)` in its package — `registry.demo_seeders()` gives them in order.
Everything is generated set-based (polars frames inserted in one statement) and seeded,
so two builds give the same data.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from . import clock, uow
from .db import Database

DEMO_PASSWORD = "dangjian-demo"
# bcrypt hash of the public demo password (precomputed so the first start stays fast)
DEMO_HASH = "$2b$12$g8HhQ.ITTRK7bTTfUrsNGOMI5uOSXSh.ixuibLLVQgs0vjHKcmlyW"
DEMO_USERS = [
    ("admin", "管理员（演示）", "admin"),
    ("editor", "业务编辑（演示）", "editor"),
    ("treasurer", "党费管理员（演示）", "treasurer"),
    ("viewer", "只读用户（演示）", "viewer"),
]

STREET_NAMES = [
    "东湖街道", "西城街道", "南山街道", "北塘街道", "中心街道", "新桥街道", "白云街道", "青石街道",
    "金沙街道", "柳林街道", "滨江街道", "梅岭街道", "松涛街道", "翠屏街道", "长乐街道", "清河街道",
    "红旗街道", "桃源街道", "望江街道", "临湖街道", "石门街道", "凤凰街道", "龙泉街道", "花园街道",
    "朝阳街道", "丰收街道", "光明街道", "和平街道", "团结街道", "友谊街道",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国建华志强海燕红梅晓东文博思远子涵浩然雨萱欣怡俊杰建军丽华春梅玉兰"
CATEGORY_NAMES = {
    "rural": ["{s}{n}村党支部", "{s}{n}村党总支"],
    "community": ["{s}{n}社区党支部", "{s}{n}社区党委"],
    "organ": ["{s}办事处机关第{k}党支部"],
    "school": ["{s}第{k}小学党支部", "{s}实验中学党支部"],
    "enterprise": ["{s}{n}科技有限公司党支部", "{s}{n}制造有限公司党总支"],
    "intermediary": ["{s}{n}律师事务所党支部"],
    "association": ["{s}{n}商会党支部"],
}
VILLAGE = ["桃园", "李庄", "高岭", "河湾", "石桥", "杨柳", "清泉", "双塘", "永丰", "新民", "大坪", "枫林",
           "上湾", "下湾", "龙湾", "前进", "红星", "东风", "胜利", "卫星", "幸福", "安康", "兴旺", "长青"]


@dataclass
class DemoContext:
    """Shared facts for the workflow seeders (ids and names of what the registry built)."""

    rng: random.Random
    scale: str
    today: date
    streets: list[str]
    orgs: pl.DataFrame            # id, name, level, parent_id, category, street, tier, member_count
    members: pl.DataFrame         # id, member_no, org_id, dues_category, status
    extra: dict[str, Any] = field(default_factory=dict)


def _orgs_frame(rng: random.Random, n_streets: int, per_street: int) -> pl.DataFrame:
    rows = []
    oid = 0
    weights = {"rural": 22, "community": 20, "organ": 14, "school": 10, "enterprise": 22,
               "intermediary": 6, "association": 6}
    cats, w = list(weights), list(weights.values())
    used: set[str] = set()
    for si in range(n_streets):
        street = STREET_NAMES[si]
        short = street.replace("街道", "")
        oid += 1
        top = oid
        lat0, lon0 = round(30.5 + rng.random() * 0.3, 6), round(114.2 + rng.random() * 0.3, 6)
        rows.append(dict(id=top, name=f"{street}党工委", level="committee", parent_id=None,
                         category="community", street=street, lat=lat0, lon=lon0))
        parents = [top]
        for _j in range(per_street - 1):
            oid += 1
            cat = rng.choices(cats, w)[0]
            pattern = rng.choice(CATEGORY_NAMES[cat])
            for attempt in range(50):
                name = pattern.format(s=short, n=rng.choice(VILLAGE), k=rng.randint(1, 9))
                if name not in used:
                    break
                name = f"{name[:-3]}{attempt + 2}{name[-3:]}" if attempt > 5 else name
            if name in used:
                name = f"{short}第{oid}党支部"
            used.add(name)
            level = "general_branch" if name.endswith("党总支") else (
                "committee" if name.endswith("党委") else "branch")
            parent = rng.choice(parents)
            rows.append(dict(id=oid, name=name, level=level, parent_id=parent, category=cat,
                             street=street, lat=round(lat0 + rng.uniform(-0.03, 0.03), 6),
                             lon=round(lon0 + rng.uniform(-0.03, 0.03), 6)))
            if level != "branch":
                parents.append(oid)
    df = pl.DataFrame(rows, schema={"id": pl.Int32, "name": pl.String, "level": pl.String,
                                    "parent_id": pl.Int32, "category": pl.String,
                                    "street": pl.String, "lat": pl.Float64, "lon": pl.Float64})
    tiers = rng.choices(["advanced", "standard", "lagging"], [25, 55, 20], k=df.height)
    secretaries = [rng.choice(SURNAMES) + rng.choice(GIVEN) for _ in range(df.height)]
    phones = [f"0{rng.randint(100, 999)}-{rng.randint(1000000, 9999999)}" for _ in range(df.height)]
    return df.with_columns(
        pl.Series("tier", tiers), pl.Series("secretary", secretaries), pl.Series("contact", phones),
        (pl.col("street") + pl.lit("示例路") + (pl.col("id") % 300 + 1).cast(pl.String) + pl.lit("号")).alias("address"),
    )



def _with_check(first17: str, _unused_draw: int) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights)) % 11]

def _members_frame(rng: random.Random, orgs: pl.DataFrame, total: int) -> pl.DataFrame:
    ids = orgs["id"].to_list()
    levels = orgs["level"].to_list()
    cats = orgs["category"].to_list()
    # committees hold fewer direct members; every org gets at least a few
    weight = [1 if lv == "committee" else (4 if lv == "general_branch" else 3) for lv in levels]
    base = [3 if lv == "branch" else (100 if lv == "committee" else 51) for lv in levels]
    remaining = max(0, total - sum(base))
    extra = rng.choices(range(len(ids)), weight, k=remaining)
    counts = list(base)
    for i in extra:
        counts[i] += 1
    org_col, cat_col = [], []
    member_cat = {
        "rural": (["farmer", "retired", "employed", "self_employed"], [60, 25, 10, 5]),
        "community": (["retired", "employed", "unemployed", "low_income", "self_employed"], [45, 35, 8, 4, 8]),
        "organ": (["employed", "retired"], [85, 15]),
        "school": (["employed", "retired", "student"], [70, 15, 15]),
        "enterprise": (["employed", "annual_salary", "retired"], [85, 8, 7]),
        "intermediary": (["employed", "self_employed"], [80, 20]),
        "association": (["self_employed", "employed", "retired"], [50, 35, 15]),
    }
    for oid, c, cat in zip(ids, counts, cats):
        choices, w = member_cat[cat]
        org_col += [oid] * c
        cat_col += rng.choices(choices, w, k=c)
    n = len(org_col)
    names = [rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.5 else "")
             for _ in range(n)]
    genders = rng.choices(["male", "female"], k=n)
    years = [rng.randint(1970, 2024) for _ in range(n)]
    join = [date(y, rng.randint(1, 12), rng.randint(1, 28)) for y in years]
    # fake area codes (99xxxx) with a valid GB 11643 check character; the last draw is kept so
    # the random stream (and every later demo value) stays the same
    idn = [_with_check(f"99{rng.randint(1000, 9999)}{rng.randint(1950, 2003)}{rng.randint(1, 12):02d}"
                       f"{rng.randint(1, 28):02d}{rng.randint(100, 999)}", rng.randint(0, 9)) for _ in range(n)]
    phones = [f"1{rng.choice('3589')}{rng.randint(100000000, 999999999)}" for _ in range(n)]
    status = rng.choices(["full", "probationary"], [96, 4], k=n)
    return pl.DataFrame({
        "id": pl.Series(range(1, n + 1), dtype=pl.Int32),
        "member_no": [f"M{i:06d}" for i in range(1, n + 1)],
        "name": names, "org_id": pl.Series(org_col, dtype=pl.Int32), "gender": genders,
        "id_number": idn, "phone": phones, "status": status,
        "join_date": pl.Series(join, dtype=pl.Date), "dues_category": cat_col,
    })


def _subtree_counts(orgs: pl.DataFrame, members: pl.DataFrame) -> list[int]:
    """A committee's or general branch's member count covers its whole subtree."""
    direct = dict(members.group_by("org_id").len().iter_rows())
    ids, parents = orgs["id"].to_list(), orgs["parent_id"].to_list()
    total = {i: direct.get(i, 0) for i in ids}
    parent_of = dict(zip(ids, parents))
    for i in ids:
        p = parent_of[i]
        seen = 0
        while p is not None and seen < 50:
            total[p] += direct.get(i, 0)
            p = parent_of[p]
            seen += 1
    return [total[i] for i in ids]


def build_demo(db: Database, scale: str = "demo", *, today: date | None = None, seed: int = 20261123,
               subjects: Iterable[str] | None = None) -> DemoContext:
    """Fill an empty, migrated database with demo data. Refuses a database that has orgs.
    `subjects`: only these subjects' demo rows (default all; benchmarks seed fewer)."""
    from . import registry
    from .errors import BadInput

    with db.read() as cur:
        if cur.execute("SELECT count(*) FROM orgs").fetchone()[0]:
            raise BadInput("数据库中已有党组织数据：演示数据只能建在空数据库里。")
    rng = random.Random(seed)
    if scale == "city":
        n_streets, per_street, n_members = 30, 67, 100_000
    elif scale == "demo":
        n_streets, per_street, n_members = 12, 25, 8_000
    elif scale == "tiny":
        n_streets, per_street, n_members = 3, 6, 120
    else:
        raise BadInput(f"未知的演示规模「{scale}」：可选 demo、city")
    orgs = _orgs_frame(rng, n_streets, per_street)
    members = _members_frame(rng, orgs, n_members)
    orgs = orgs.with_columns(pl.Series("member_count", _subtree_counts(orgs, members), dtype=pl.Int32))
    ctx = DemoContext(rng=rng, scale=scale, today=today or clock.today(),
                      streets=STREET_NAMES[:n_streets], orgs=orgs,
                      members=members.select("id", "member_no", "org_id", "dues_category", "status"))
    with uow.bookkeeping(db) as cur:
        for username, display, roles in DEMO_USERS:
            cur.execute("INSERT INTO users(username, display_name, password_hash, roles)"
                        " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        [username, display, DEMO_HASH, roles])
        cur.register("demo_orgs", orgs)
        cur.execute("INSERT INTO orgs(id, name, level, parent_id, category, street, secretary, contact,"
                    " member_count, tier, address, lat, lon, updated_by) SELECT id, name, level, parent_id,"
                    " category, street, secretary, contact, member_count, tier, address, lat, lon,"
                    " 'demo' FROM demo_orgs")
        cur.unregister("demo_orgs")
        cur.register("demo_members", members)
        cur.execute("INSERT INTO members(id, member_no, name, org_id, gender, id_number, phone, status,"
                    " join_date, dues_category, updated_by) SELECT id, member_no, name, org_id, gender,"
                    " id_number, phone, status, join_date, dues_category, 'demo' FROM demo_members")
        cur.unregister("demo_members")
        cur.execute("SELECT setval('orgs_seq', (SELECT max(id) FROM orgs))")
        cur.execute("SELECT setval('members_seq', (SELECT max(id) FROM members))")
        cur.execute("INSERT OR REPLACE INTO app_meta VALUES ('demo', ?), ('demo_scale', ?)",
                    ["true", scale])
        for subject, seeder in registry.demo_seeders().items():
            if subjects is None or subject in subjects:
                seeder(cur, ctx)
    return ctx


def is_demo(db: Database) -> bool:
    with db.read() as cur:
        row = cur.execute("SELECT value FROM app_meta WHERE key = 'demo'").fetchone()
    return bool(row and row[0] == "true")
