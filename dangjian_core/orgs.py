"""基层党组织 (orgs): the registry every workflow stands on — a tree of committees,
general branches and branches, with category, street, tier and contacts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from .tables import Column, Issue, TableSpec
from .vocab import CATEGORIES, LEVELS, TIERS

if TYPE_CHECKING:
    from .db import Cursor, Database

# Party rules on size: a branch needs at least 3 full members (hard); a general branch
# generally has over 50, a committee generally 100 or more (warnings).
MIN_BRANCH_MEMBERS = 3
GENERAL_BRANCH_TYPICAL = 50
COMMITTEE_TYPICAL = 100


def _rows(cur: Cursor, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = cur.sql(sql, params=params).fetchall()
    return rows


def _frame(cur: Cursor, sql: str, params: list[Any] | None = None) -> pl.DataFrame:
    df: pl.DataFrame = cur.sql(sql, params=params).pl()
    return df


def _check_tree(cur: Cursor, after: pl.DataFrame, touched: set[int], deleted: set[int]) -> list[Issue]:
    """Each touched org's 上级: not itself, an org that exists, and no loop up the line (A under
    B under A). Column-wise over the whole table: a line of 上级 is followed by doubling jumps
    (after k rounds each org knows the org 2^k levels up, or that its line ended before), so a
    100,000-row import costs a few joins, not a walk per row."""
    if after.height == 0:
        return []
    links = after.select(pl.col("id").cast(pl.Int64), pl.col("parent_id").cast(pl.Int64))
    mine = links.filter(pl.col("id").is_in(pl.Series(list(touched), dtype=pl.Int64).implode())
                        & pl.col("parent_id").is_not_null())
    issues = [Issue(k, "parent_id", None, "上级党组织不能是它自己")
              for k in mine.filter(pl.col("parent_id") == pl.col("id"))["id"].to_list()]
    known = links["id"].implode()
    issues += [Issue(k, "parent_id", p, "上级党组织不存在（可能已被删除）") for k, p in
               mine.filter(~pl.col("parent_id").is_in(known)).select("id", "parent_id").iter_rows()]
    # up: the org 2^k levels above (null once the line has ended at a top org or a missing one)
    jump = links.select("id", pl.when(pl.col("parent_id").is_in(known)).then(pl.col("parent_id")).alias("up"))
    asked = mine.filter((pl.col("parent_id") != pl.col("id")) & pl.col("parent_id").is_in(known)).select("id")
    for _ in range(max(1, after.height.bit_length()) + 1):
        if asked.height == 0 or jump["up"].null_count() == jump.height:
            break
        jump = jump.join(jump.select(pl.col("id").alias("up"), pl.col("up").alias("up2")), on="up", how="left",
                         maintain_order="left").select("id", pl.col("up2").alias("up"))
        # orgs whose line ended are done: the rest are in a loop or lead into one
        asked = asked.join(jump.filter(pl.col("up").is_not_null()).select("id"), on="id", how="semi")
    issues += [Issue(k, "parent_id", None, "上级设置形成了循环（A 的上级是 B，B 的上级又是 A）")
               for k in asked["id"].to_list()]
    # children of deleted orgs
    if deleted:
        gone = pl.Series(list(deleted), dtype=pl.Int64).implode()
        issues += [Issue(k, "parent_id", None, "它的上级党组织将被删除：请先改它的上级，或一并删除")
                   for k in links.filter(pl.col("parent_id").is_in(gone) & ~pl.col("id").is_in(gone))["id"].to_list()]
    return issues


def _check_level_size(cur: Cursor, after: pl.DataFrame, touched: set[int], deleted: set[int]) -> list[Issue]:
    """Sizes that do not fit the level, on the touched orgs (column-wise; only the misfits
    come into Python): a 党支部 under 3 members is refused, the rest are warnings."""
    if not touched:
        return []
    n, lvl = pl.col("member_count").fill_null(0), pl.col("level")
    rows = (after.filter(pl.col("id").is_in(pl.Series(list(touched), dtype=pl.Int64).implode()))
            .filter(((lvl == "branch") & (n < MIN_BRANCH_MEMBERS))
                    | ((lvl == "general_branch") & (n <= GENERAL_BRANCH_TYPICAL))
                    | ((lvl == "committee") & (n < COMMITTEE_TYPICAL)))
            .select("id", "level", n.alias("n")))
    issues: list[Issue] = []
    for k, level, count in rows.iter_rows():
        if level == "branch":
            issues.append(Issue(k, "member_count", count, f"党支部至少需要 {MIN_BRANCH_MEMBERS} 名正式党员"))
        elif level == "general_branch":
            issues.append(Issue(k, "member_count", count,
                                f"党总支一般在党员 {GENERAL_BRANCH_TYPICAL} 人以上时设立，请确认", hard=False))
        else:
            issues.append(Issue(k, "member_count", count,
                                f"党委一般在党员 {COMMITTEE_TYPICAL} 人以上时设立，请确认", hard=False))
    return issues


def _refuse_delete_with_members(cur: Cursor, keys: list[int]) -> list[str]:
    frame = pl.DataFrame({"k": keys}, schema={"k": pl.Int64})
    cur.register("del_orgs", frame)
    try:
        rows = _rows(cur, "SELECT o.name, count(m.id) FROM orgs o JOIN members m ON m.org_id = o.id"
                     " WHERE o.id IN (SELECT k FROM del_orgs) GROUP BY o.name ORDER BY o.name")
    finally:
        cur.unregister("del_orgs")
    return [f"「{name}」还有 {n} 名党员，不能删除：请先把党员转到其他党组织" for name, n in rows]


SPEC = TableSpec(
    table="orgs",
    label="基层党组织",
    perm="orgs.write",
    columns=[
        Column("name", "名称", required=True, unique=True, max_len=100, width="large"),
        Column("level", "层级", "choice", required=True, choices=LEVELS),
        Column("parent_id", "上级党组织", "ref", ref="orgs"),
        Column("category", "类别", "choice", required=True, choices=CATEGORIES),
        Column("street", "街道/系统", required=True, max_len=50),
        Column("secretary", "书记", max_len=30),
        Column("contact", "联系电话", max_len=50, code=True),
        Column("member_count", "党员人数", "int", required=True, min=0, max=100000, default=0),
        Column("tier", "评定等次", "choice", required=True, choices=TIERS, default="standard"),
        Column("address", "地址", max_len=200),
        Column("lat", "纬度", "float", min=-90, max=90),
        Column("lon", "经度", "float", min=-180, max=180),
    ],
    checks=[_check_tree, _check_level_size],
    delete_checks=[_refuse_delete_with_members],
)
SPECS = (SPEC,)  # read by the registry


# -- the org tree (one recursive query for every caller) -----------------------------------
# Deeper than any real structure (市委 → 党工委 → 党委 → 党总支 → 党支部); it only bounds the
# recursion should the table ever hold a cycle (saves refuse one, see _check_tree).
MAX_DEPTH = 20


def tree_cte(name: str = "org_tree") -> str:
    """A recursive CTE `name(id, parent_id, name, depth, name_path, id_path)`: every org under its
    root (an org without a parent, or whose parent is gone), at most MAX_DEPTH levels down.
    `name_path` is 「市委 / 东湖街道党工委 / …」; ordering by `id_path` puts children right after
    their parent. Use as f"WITH RECURSIVE {tree_cte()} SELECT … FROM org_tree"."""
    return f"""{name}(id, parent_id, name, depth, name_path, id_path) AS (
        SELECT id, parent_id, name, 0, name, lpad(CAST(id AS VARCHAR), 9, '0') FROM orgs
         WHERE parent_id IS NULL OR parent_id NOT IN (SELECT id FROM orgs)
        UNION ALL
        SELECT o.id, o.parent_id, o.name, t.depth + 1, t.name_path || ' / ' || o.name,
               t.id_path || '/' || lpad(CAST(o.id AS VARCHAR), 9, '0')
        FROM orgs o JOIN {name} t ON o.parent_id = t.id WHERE t.depth < {MAX_DEPTH})"""


def ancestors_cte(name: str = "org_ancestors") -> str:
    """A recursive CTE `name(org_id, unit_id, depth)`: each org paired with itself (depth 0) and
    with every org above it — to roll figures up the tree."""
    return f"""{name}(org_id, unit_id, depth) AS (
        SELECT id, id, 0 FROM orgs
        UNION ALL
        SELECT a.org_id, o.parent_id, a.depth + 1 FROM {name} a JOIN orgs o ON o.id = a.unit_id
        WHERE o.parent_id IS NOT NULL AND a.depth < {MAX_DEPTH})"""


def subtree_ids(cur: Cursor, org_id: int) -> list[int]:
    """The org and every org under it (empty when there is no such org)."""
    rows = _rows(cur, "WITH RECURSIVE t(id, depth) AS (SELECT id, 0 FROM orgs WHERE id = ?"
                 f" UNION ALL SELECT o.id, t.depth + 1 FROM orgs o JOIN t ON o.parent_id = t.id WHERE t.depth < {MAX_DEPTH})"
                 " SELECT DISTINCT id FROM t", [int(org_id)])
    return [int(r[0]) for r in rows]


# -- queries for pages -------------------------------------------------------------------
def streets(db: Database) -> list[str]:
    with db.read() as cur:
        return [str(r[0]) for r in _rows(cur, "SELECT DISTINCT street FROM orgs ORDER BY street")]


def counts_by(db: Database, field: str) -> pl.DataFrame:
    """Org counts by one of the fixed fields (category, tier, level, street)."""
    if field not in ("category", "tier", "level", "street"):
        raise ValueError(field)
    with db.read() as cur:
        return _frame(cur, f"SELECT {field} AS key, count(*) AS n FROM orgs GROUP BY 1 ORDER BY 1")


def tree_paths(db: Database) -> pl.DataFrame:
    """Each org with its path from the top (for showing the tree)."""
    with db.read() as cur:
        return _frame(cur, f"WITH RECURSIVE {tree_cte()} SELECT id, name, depth, name_path AS path"
                           " FROM org_tree ORDER BY name_path")


def overview(db: Database) -> dict[str, Any]:
    """Headline figures for the first screen."""
    with db.read() as cur:
        n_orgs, n_streets = _rows(cur, "SELECT count(*), count(DISTINCT street) FROM orgs")[0]
        n_members, n_prob = _rows(
            cur, "SELECT count(*), count(*) FILTER (WHERE status = 'probationary') FROM members")[0]
        by = _frame(cur, "SELECT category, tier, count(*) AS n FROM orgs GROUP BY ALL")
    return {"orgs": n_orgs, "streets": n_streets, "members": n_members, "probationary": n_prob,
            "by_category_tier": by}


def tree(db: Database) -> pl.DataFrame:
    """The org tree in display order (parents before children, siblings by name) with level,
    members, tier and demonstration-site status (labels, not codes): depth for indenting."""
    from .sites.rules import STATUSES  # a sibling subject's labels; no import cycle

    with db.read() as cur:
        df = _frame(cur, f"""
            WITH RECURSIVE {tree_cte("t")}
            SELECT o.id, o.name, t.depth, o.level, o.member_count, o.tier, o.street, s.status AS site
            FROM t JOIN orgs o ON o.id = t.id
            LEFT JOIN (SELECT DISTINCT ON (org_id) org_id, status FROM sites ORDER BY org_id, id DESC) s
                   ON s.org_id = o.id  -- an org's latest round
            ORDER BY t.id_path""")
    return df.with_columns(
        pl.col("level").replace_strict(LEVELS, default=pl.col("level")).alias("level_label"),
        pl.col("tier").replace_strict(TIERS, default=pl.col("tier")).alias("tier_label"),
        pl.col("site").replace_strict(STATUSES, default=pl.col("site")).alias("site_label"),
    )


def level_misfits(db: Database) -> pl.DataFrame:
    """Orgs whose level does not fit their size, both ways: too few members for the level
    (a 党委 with 10) or too many for it (a 党支部 with 120); with what to consider."""
    with db.read() as cur:
        df = _frame(cur, "SELECT id, name, street, level, member_count FROM orgs ORDER BY street, name")
    n = pl.col("member_count").fill_null(0)
    lvl = pl.col("level")
    reason = (
        pl.when((lvl == "committee") & (n < COMMITTEE_TYPICAL))
        .then(pl.format("党委一般在党员 {} 人以上时设立：只有 {} 人，可考虑改设党总支或党支部",
                        pl.lit(COMMITTEE_TYPICAL), n))
        .when((lvl == "general_branch") & (n <= GENERAL_BRANCH_TYPICAL))
        .then(pl.format("党总支一般在党员 {} 人以上时设立：只有 {} 人，可考虑改设党支部",
                        pl.lit(GENERAL_BRANCH_TYPICAL), n))
        .when((lvl == "general_branch") & (n >= COMMITTEE_TYPICAL))
        .then(pl.format("党员 {} 人，已达 {} 人以上，可考虑改设党委", n, pl.lit(COMMITTEE_TYPICAL)))
        .when((lvl == "branch") & (n < MIN_BRANCH_MEMBERS))
        .then(pl.format("党支部至少需要 {} 名正式党员：只有 {} 人", pl.lit(MIN_BRANCH_MEMBERS), n))
        .when((lvl == "branch") & (n > GENERAL_BRANCH_TYPICAL))
        .then(pl.format("党支部党员一般不超过 {} 人：有 {} 人，可考虑改设党总支{}", pl.lit(GENERAL_BRANCH_TYPICAL), n,
                        pl.when(n >= COMMITTEE_TYPICAL).then(pl.lit("或党委")).otherwise(pl.lit(""))))
        .otherwise(None)
    )
    return (df.with_columns(reason.alias("reason"),
                            (n < pl.when(lvl == "branch").then(MIN_BRANCH_MEMBERS)
                             .when(lvl == "general_branch").then(GENERAL_BRANCH_TYPICAL + 1)
                             .otherwise(COMMITTEE_TYPICAL)).alias("too_small"))
            .filter(pl.col("reason").is_not_null())
            .with_columns(pl.col("level").replace_strict(LEVELS, default=pl.col("level")).alias("level_label")))
