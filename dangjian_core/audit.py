"""History and undo: every write records who, when, which row, before and after — in the
same transaction as the write. Reverting a change (or a whole batch: an import, a bulk edit,
an assessment with the status change it caused) is a write like any other."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import polars as pl

from . import clock
from .auth import User, require
from .errors import BadInput, ConflictError, NotFound, PermissionDenied

if TYPE_CHECKING:
    from .db import Cursor, Database
    from .uow import Action

Choices = Mapping[str, str] | None   # a column's code → display, if it has codes
# (cur, keys) → Chinese reasons why these rows may not be removed
DeleteCheck = Callable[["Cursor", list[Any]], list[str]]

# an audit_log row as revert reads it: id, table, row_key, action, before, after, reverted_by
Entry = tuple[Any, ...]

# Tables that may be reverted generically, with their key column. Anything else is refused.
KEY_COLUMNS: dict[str, str] = {}
# Columns that change on every write and are not compared when checking for conflicts.
VOLATILE = {"version", "updated_at", "updated_by"}
TABLE_LABELS: dict[str, str] = {"users": "用户"}
WRITE_PERMS: dict[str, str] = {}
# Who may read a table's history: the permission of the screens that show its rows (default
# "read"), and columns shown only with a further permission (身份证号, salary items). A
# table nobody registered is listed only for users.manage.
READ_PERMS: dict[str, str] = {"users": "users.manage"}
SENSITIVE: dict[str, dict[str, str]] = {}
HIDDEN = "***"


# table → column → (Chinese label, {code: display} or None); taken from the TableSpecs by _sync
COLUMNS: dict[str, dict[str, tuple[str, Choices]]] = {}
# table → [(cur, keys) → reasons a row may not go]: asked before undoing the insert of a row
DELETE_CHECKS: dict[str, list[DeleteCheck]] = {}
# Chinese names of columns of workflow tables that have no TableSpec (shared names first)
FIELD_LABELS: dict[str, str] = {
    "name": "名称", "title": "标题", "note": "备注", "status": "状态", "level": "等级",
    "year": "年度", "month": "月份", "day": "日", "slot": "时段", "seq": "序号", "kind": "类型",
    "org_id": "党组织", "unit_id": "单位", "member_id": "党员", "session_id": "场次",
    "event_id": "观摩活动", "host_org_id": "观摩点", "delegation": "观摩团", "locked": "锁定",
    "capacity": "容量", "score": "得分", "item": "项目", "item_id": "评分项目", "max_points": "满分",
    "deadline": "整改期限", "from_level": "原等级", "to_level": "新等级", "issued": "下发日期",
    "from_deadline": "原期限", "days_overdue": "逾期天数", "voters": "参评人数", "good": "好",
    "fairly_good": "较好", "average": "一般", "poor": "差", "comments": "评议意见",
    "source": "来源", "reason": "理由", "progress": "进度", "rule_rank": "排序",
    "replaces_id": "替换", "category": "类别", "base": "计算基数", "fixed_amount": "固定数额",
    "rate_permille": "比例（‰）", "rule": "规则", "due": "应交", "paid": "已交", "paid_on": "缴纳日期",
    "method": "缴纳方式", "quarterly": "按季度", "proxy_name": "代缴人", "consent": "本人同意",
    "amount": "金额", "forward": "转交上级", "counted": "计入项目", "deducted": "扣除项目", "tax": "个税",
    "redetermine": "重新核定", "import_id": "导入批次", "column_name": "工资项", "file_name": "文件名",
    "row_count": "行数", "settings_id": "党费设置", "settings": "设置", "mode": "方式",
    "event_date": "日期", "days": "天数", "slots_per_day": "每天时段数", "slot_times": "时段",
    "visits_per_delegation": "每团观摩点数", "previous_event_id": "上一次活动", "spec": "图表设置",
    "dataset": "数据", "on_home": "显示在首页", "position": "顺序", "display_name": "姓名",
    "roles": "角色", "disabled": "停用", "planned": "计划数", "named_target": "命名目标",
    "site_id": "示范点", "assessed_on": "考评日期", "assessor": "考评人", "rubric_id": "考评细则",
    "stage": "阶段", "self_total": "自评总分", "total": "总分", "vetoed": "否决", "result": "结果",
    "status_before": "考评前状态", "status_after": "考评后状态", "assessment_id": "考评",
    "rubric_item_id": "细则条目", "self_score": "自评分", "created_by": "创建人",
    "created_at": "创建时间", "published_at": "发布时间", "published_by": "发布人",
}


def _take_table(table: str, label: str, key: str = "id", perm: str = "orgs.write", *,
                read_perm: str | None = None, sensitive: dict[str, str] | None = None) -> None:
    """Know a table whose changes can be listed and reverted, and the permission needed (only
    `_sync` calls this, from what the subjects declare: nothing registers itself)."""
    KEY_COLUMNS[table] = key
    TABLE_LABELS[table] = label
    WRITE_PERMS[table] = perm
    _restrict_reading(table, read_perm, sensitive)


def _restrict_reading(table: str, read_perm: str | None = None, sensitive: dict[str, str] | None = None) -> None:
    """History of `table` only for `read_perm`; each `sensitive` column only for its permission."""
    if read_perm:
        READ_PERMS[table] = read_perm
    if sensitive:
        SENSITIVE.setdefault(table, {}).update(sensitive)


_synced = False
_taken: dict[str, object] = {}   # table → the TableSpec object its labels and checks came from


def _sync() -> None:
    """Take in the tables the subjects declare as plain data — their TableSpecs and
    AUDIT_TABLES, read from `registry` (lazily: registry imports the subjects, which import
    this module). AUDIT_TABLES once per process; specs whenever the registry holds a spec object
    not taken in yet (a spec made known later with `tables.register`, e.g. by a test, is seen too).
    Every reading entry point calls this: building a TableSpec registers nothing."""
    global _synced
    from . import registry

    for spec in registry.specs().values():
        if _taken.get(spec.table) is not spec:
            _take_table(spec.table, spec.label, spec.key, spec.perm,
                        sensitive={c.name: c.sensitive for c in spec.columns if c.sensitive})
            _take_columns(spec.table, {c.name: (c.label, c.choices) for c in spec.columns}, spec.delete_checks)
        _taken[spec.table] = spec
    if _synced:
        return
    for t in registry.audit_tables():
        if t.revertible:
            _take_table(t.table, t.label, t.key, t.perm, read_perm=t.read_perm, sensitive=dict(t.sensitive))
        else:
            TABLE_LABELS[t.table] = t.label
            _restrict_reading(t.table, t.read_perm, dict(t.sensitive))
    _synced = True


def _sync_once() -> None:
    """For the per-value helpers (labels of columns): the registry is read on first use only."""
    if not _synced:
        _sync()


def table_labels() -> dict[str, str]:
    """table → Chinese label of every table the history knows."""
    _sync()
    return dict(TABLE_LABELS)


def key_column(table: str) -> str:
    """The key column a table's history rows are keyed by."""
    _sync()
    if table == "users":
        return "username"
    _check_table(table)
    return KEY_COLUMNS[table]


def can_read_table(user: User, table: str) -> bool:
    _sync_once()
    if table not in TABLE_LABELS and table not in READ_PERMS:
        return user.can("users.manage")
    return user.can(READ_PERMS.get(table, "read"))


def readable_tables(user: User) -> dict[str, str]:
    """table → Chinese label of the tables whose history this user may see."""
    _sync()
    return {t: label for t, label in TABLE_LABELS.items() if can_read_table(user, t)}


def _hidden_columns(user: User, table: str) -> set[str]:
    return {c for c, perm in SENSITIVE.get(table, {}).items() if not user.can(perm)}


def _mask_json(text: str | None, hidden: set[str]) -> str | None:
    if not text or not hidden:
        return text
    row = json.loads(text)
    if not isinstance(row, dict):
        return text
    for c in hidden & set(row):
        if row[c] is not None:
            row[c] = HIDDEN
    return json.dumps(row, ensure_ascii=False, sort_keys=True)


def _reader_filter(user: User) -> tuple[str, list[Any]]:
    """SQL condition on l.table_name (with its parameters) keeping what `user` may read."""
    if user.can("users.manage") and all(user.can(p) for p in READ_PERMS.values()):
        return "1=1", []
    return "l.table_name IN (SELECT unnest(?))", [sorted(readable_tables(user))]


def _take_columns(table: str, columns: dict[str, tuple[str, Choices]],
                  delete_checks: Iterable[DeleteCheck] | None = None) -> None:
    """Chinese labels (and code → display) of a table's columns for the history, and the
    checks that say why a row may not be removed (asked when undoing its insert)."""
    COLUMNS[table] = dict(columns)
    DELETE_CHECKS[table] = list(delete_checks or [])


def field_label(table: str, column: str) -> str:
    _sync_once()
    info = COLUMNS.get(table, {}).get(column)
    return info[0] if info else FIELD_LABELS.get(column, column)


def display_value(table: str, column: str, value: object) -> str:
    """A value as a person reads it: codes as their Chinese, blanks as「空」, yes/no."""
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return "空"
    _sync_once()
    info = COLUMNS.get(table, {}).get(column)
    if info and info[1] and str(value) in info[1]:
        return str(info[1][str(value)])
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    if len(text) >= 19 and text[10] in " T" and text[4] == "-":  # a timestamp: to the minute
        return text[:16].replace("T", " ")
    return text


def _json_default(v: object) -> str:
    if isinstance(v, (datetime, date)):
        return v.isoformat(sep=" ") if isinstance(v, datetime) else v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    return str(v)


def to_json(value: object) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, default=_json_default, sort_keys=True)


def new_batch(cur: Cursor, user: User, kind: str, description: str, reverts: int | None = None) -> int:
    batch_id = cur.execute("SELECT nextval('audit_batch_seq')").fetchone()[0]
    cur.execute("INSERT INTO audit_batches(id, username, created_at, kind, description, reverts)"
                " VALUES (?, ?, ?, ?, ?, ?)", [batch_id, user.username, clock.now(), kind, description, reverts])
    return int(batch_id)


def record(cur: Cursor, batch_id: int, user: User, table: str, row_key: object, action: str,
           before: object, after: object) -> None:
    cur.execute(
        "INSERT INTO audit_log(batch_id, username, created_at, table_name, row_key, action, before, after)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [batch_id, user.username, clock.now(), table, str(row_key), action,
         before if isinstance(before, str) or before is None else to_json(before),
         after if isinstance(after, str) or after is None else to_json(after)])


def record_many(cur: Cursor, batch_id: int, user: User, table: str, entries: pl.DataFrame) -> None:
    """entries: row_key (str), action, before (json str|null), after (json str|null). Read by
    DuckDB as they are (batch, user, time and table go as parameters: no copy of the entries)."""
    if entries.height == 0:
        return
    with cur.registered("audit_entries_frame", entries.select("row_key", "action", "before", "after")):
        cur.execute("INSERT INTO audit_log(batch_id, username, created_at, table_name, row_key, action,"
                    " before, after) SELECT ?, ?, ?, ?, CAST(row_key AS VARCHAR), CAST(action AS VARCHAR),"
                    " CAST(CAST(before AS VARCHAR) AS JSON), CAST(CAST(after AS VARCHAR) AS JSON)"
                    " FROM audit_entries_frame", [batch_id, user.username, clock.now(), table])


def record_inserted(cur: Cursor, batch_id: int, user: User, table: str, key: str, keys_view: str) -> None:
    """Record as inserted the rows of `table` whose `key` is in the registered one-column frame
    `keys_view(k)`, each as it is now — in SQL, so the rows never come into Python (an import of
    100,000 rows). `table` and `key` are a spec's names, `keys_view` the caller's: never user text."""
    _check_table(table)
    cur.execute(
        "INSERT INTO audit_log(batch_id, username, created_at, table_name, row_key, action, before, after)"
        f" SELECT ?, ?, ?, ?, CAST(t.\"{key}\" AS VARCHAR), 'insert', NULL, to_json(t) FROM \"{table}\" t"
        f' WHERE t."{key}" IN (SELECT k FROM "{keys_view}")', [batch_id, user.username, clock.now(), table])


def rows_json(cur: Cursor, table: str, key: str, keys: Iterable[object]) -> dict[str, str]:
    """Current rows as JSON text, keyed by the key's text, read inside the transaction."""
    texts = [str(k) for k in keys]
    if not texts:
        return {}
    _check_table(table)
    with cur.registered("audit_keys_frame", pl.DataFrame({"k": texts})):
        rows = cur.execute(
            f'SELECT CAST(t."{key}" AS VARCHAR), CAST(to_json(t) AS VARCHAR) FROM "{table}" t'
            f' WHERE CAST(t."{key}" AS VARCHAR) IN (SELECT k FROM audit_keys_frame)').fetchall()
    return {k: j for k, j in rows}


def _check_table(table: str) -> None:
    _sync()
    if table not in KEY_COLUMNS and table != "users":
        raise BadInput(f"表「{table}」不支持此操作。")


# -- reading history ---------------------------------------------------------------------
def list_changes(db: Database, user: User, *, username: str | None = None, table: str | None = None,
                 since: date | None = None, until: date | None = None,
                 batch_id: int | None = None, limit: int = 500) -> pl.DataFrame:
    """History entries, newest first, as `user` may see them: tables whose screens the user
    cannot read are left out, sensitive columns (身份证号, salary items) are masked "***" in
    before/after for roles without the permission the data screens require."""
    require(user, "read")
    _sync()
    if table and not can_read_table(user, table):
        raise PermissionDenied(f"您的角色（{user.role_label or '无'}）不能查看「{TABLE_LABELS.get(table, table)}」的修改记录。")
    cond, params = _reader_filter(user)
    where = [cond]
    if username:
        where.append("l.username = ?")
        params.append(username)
    if table:
        where.append("l.table_name = ?")
        params.append(table)
    if since:
        where.append("l.created_at >= ?")
        params.append(datetime.combine(since, datetime.min.time()))
    if until:
        where.append("l.created_at < ? + INTERVAL 1 DAY")
        params.append(datetime.combine(until, datetime.min.time()))
    if batch_id is not None:
        where.append("l.batch_id = ?")
        params.append(batch_id)
    params.append(int(limit))
    with db.read() as cur:
        df: pl.DataFrame = cur.sql(
            "SELECT l.id, l.batch_id, l.created_at AS at, l.username, l.table_name, l.row_key, l.action,"
            " CAST(l.before AS VARCHAR) AS before, CAST(l.after AS VARCHAR) AS after,"
            " l.reverted_by, b.description, b.kind"
            " FROM audit_log l JOIN audit_batches b ON b.id = l.batch_id"
            f" WHERE {' AND '.join(where)} ORDER BY l.id DESC LIMIT ?", params=params).pl()
    hide = {t: h for t in set(df["table_name"].to_list()) if (h := _hidden_columns(user, t))}
    if hide:
        tables_ = df["table_name"].to_list()
        df = df.with_columns(
            pl.Series("before", [_mask_json(v, hide.get(t, set())) for t, v in zip(tables_, df["before"].to_list())],
                      dtype=pl.String),
            pl.Series("after", [_mask_json(v, hide.get(t, set())) for t, v in zip(tables_, df["after"].to_list())],
                      dtype=pl.String))
    return df


def list_batches(db: Database, user: User, limit: int = 200) -> pl.DataFrame:
    """Batches, newest first, that hold at least one change `user` may read (see list_changes)."""
    require(user, "read")
    _sync()
    cond, params = _reader_filter(user)
    with db.read() as cur:
        batches: pl.DataFrame = cur.sql(
            "SELECT b.id, b.created_at AS at, b.username, b.kind, b.description, b.reverts, b.reverted_by,"
            " count(l.id) AS changes FROM audit_batches b LEFT JOIN audit_log l ON l.batch_id = b.id"
            f" WHERE {cond} GROUP BY ALL ORDER BY b.id DESC LIMIT ?", params=params + [int(limit)]).pl()
    return batches


_TITLE_KEYS = ("name", "title", "item", "problem", "display_name", "username")
# rows that name a party organisation or a member only by its id (述职名单, 示范点, 党费 …)
_REF_TITLES = (("org_id", "orgs"), ("unit_id", "orgs"), ("member_id", "members"))
RefNames = Mapping[str, Mapping[str, str]]  # "orgs"/"members" → str(id) → name


def describe_change(table: str, action: str, before: str | None, after: str | None,
                    names: RefNames | None = None) -> str:
    """A short Chinese summary: which fields changed from what to what, with the columns'
    Chinese labels and values as they are shown (never code names). A row added or removed
    is named by its name or title, else by the org or member it refers to (`names`, from
    `describe_changes`; without them, by the id)."""
    _sync_once()  # the column order below comes from the specs
    b = json.loads(before) if before else {}
    a = json.loads(after) if after else {}

    def title(row: dict[str, Any]) -> str:
        for k in _TITLE_KEYS:
            if row.get(k):
                return str(row[k])
        for col, ref in _REF_TITLES:
            if row.get(col) is not None:
                name = (names or {}).get(ref, {}).get(str(row[col]))
                return name or f"{field_label(table, col)}（编号 {row[col]}）"
        return ""

    if action in ("insert", "delete"):
        what = title(a if action == "insert" else b)
        verb = "新增" if action == "insert" else "删除"
        return f"{verb}：{what}" if what else f"{verb}一行"
    order = {c: i for i, c in enumerate(COLUMNS.get(table, {}))}  # the table's column order
    diffs = [f"{field_label(table, k)}：{display_value(table, k, b.get(k))} → {display_value(table, k, a.get(k))}"
             for k in sorted(set(a) | set(b), key=lambda k: (order.get(k, len(order)), k))
             if k not in VOLATILE and b.get(k) != a.get(k)]
    return "；".join(diffs[:6]) + ("……" if len(diffs) > 6 else "")


def describe_changes(db: Database, changes: pl.DataFrame) -> list[str]:
    """`describe_change` of every row of a `list_changes` frame, rows that refer to an org or a
    member by id named by its name (read once for the whole frame)."""
    rows = [json.loads(t) for col in ("before", "after") for t in changes[col].to_list() if t]
    with db.read() as cur:
        names = _ref_names(cur, rows)
    return [describe_change(t, act, b, a, names) for t, act, b, a in zip(
        changes["table_name"].to_list(), changes["action"].to_list(),
        changes["before"].to_list(), changes["after"].to_list())]


def _ref_names(cur: Cursor, rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """The names of the orgs and members that rows without a name or title refer to."""
    ids: dict[str, set[int]] = {}
    for row in rows:
        if isinstance(row, dict) and not any(row.get(k) for k in _TITLE_KEYS):
            for col, ref in _REF_TITLES:
                v = row.get(col)
                if v is not None and str(v).lstrip("-").isdigit():
                    ids.setdefault(ref, set()).add(int(v))
                    break
    out: dict[str, dict[str, str]] = {}
    for ref, wanted in ids.items():  # ref is one of _REF_TITLES' table names, never user text
        found = cur.execute(f"SELECT CAST(id AS VARCHAR), name FROM {ref} WHERE id IN (SELECT unnest(?))",
                            [sorted(wanted)]).fetchall()
        out[ref] = {str(k): str(n) for k, n in found}
    return out


# -- undo --------------------------------------------------------------------------------
def _same(current: dict[str, Any] | None, expected: dict[str, Any] | None) -> bool:
    if current is None or expected is None:
        return current is None and expected is None
    for k, v in expected.items():
        if k in VOLATILE:
            continue
        if current.get(k) != v:
            return False
    return True


# Rows whose non-volatile values read the same as JSON text in SQL are certainly unchanged;
# only the others (normally none) are compared in Python by `_same`, which has the last word.
_SUSPECTS_SQL = """
WITH newest AS (
    SELECT id, row_key, CAST(after AS VARCHAR) AS after FROM audit_log
    WHERE {entry_filter} AND table_name = ?
    QUALIFY row_number() OVER (PARTITION BY row_key ORDER BY id DESC) = 1
), cur AS (
    SELECT n.id, n.row_key, n.after,
           CASE WHEN t."{key}" IS NOT NULL THEN CAST(to_json(t) AS VARCHAR) END AS now  -- no row: NULL
    FROM newest n LEFT JOIN "{table}" t ON CAST(t."{key}" AS VARCHAR) = n.row_key
), differ AS MATERIALIZED (  -- unchanged rows read exactly as the batch wrote them: text equal
    SELECT * FROM cur WHERE after IS DISTINCT FROM now
)
SELECT id, row_key, after, now FROM differ
WHERE NOT coalesce((after IS NULL AND now IS NULL) OR (after IS NOT NULL AND now IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM (SELECT unnest(json_keys(after)) AS k) u
    WHERE u.k NOT IN ({volatile})
      AND json_extract(now, '$."' || u.k || '"') IS DISTINCT FROM json_extract(after, '$."' || u.k || '"'))), false)
"""


def _conflicts(cur: Cursor, tables_touched: list[str], entry_filter: str, params: list[object]) -> list[str]:
    """Chinese messages naming each row of the batch (its newest entry: a row changed twice in
    the batch must look as the last change left it) that no longer looks as the batch left it,
    newest entry first. Set-based: one statement per table over the whole batch."""
    volatile = ", ".join("'" + v + "'" for v in sorted(VOLATILE))
    suspects: list[tuple[int, str, str, str | None, str | None]] = []
    for table in tables_touched:  # table and key are registered names, never user text
        sql = _SUSPECTS_SQL.format(entry_filter=entry_filter, table=table, key=KEY_COLUMNS[table],
                                   volatile=volatile)
        suspects += [(int(i), table, str(k), a, n) for i, k, a, n in cur.execute(sql, [*params, table]).fetchall()]
    conflicts = []
    for _, table, row_key, after, now in sorted(suspects, key=lambda s: -s[0]):
        if not _same(json.loads(now) if now else None, json.loads(after) if after else None):
            conflicts.append(f"{TABLE_LABELS.get(table, table)} 第 {row_key} 条记录在这次修改之后又被改过")
    return conflicts


def revert_batch(db: Database, user: User, batch_id: int, *, entry_ids: list[int] | None = None) -> int:
    """Revert a whole batch (or some of its entries) as one new batch. Refuses with a
    conflict message when any row changed since. Returns the new batch id."""
    from . import uow  # undoing is itself an action (uow imports this module)

    _sync()
    with uow.action(db, user, "audit.revert", "revert", f"撤销第 {batch_id} 批修改", reverts=batch_id) as act:
        cur = act.cur
        b = cur.execute("SELECT description, reverted_by FROM audit_batches WHERE id = ?",
                        [batch_id]).fetchone()
        if b is None:
            raise NotFound(f"找不到第 {batch_id} 批修改记录。")
        entry_filter = "batch_id = ?"
        params: list[object] = [batch_id]
        if entry_ids is not None:
            entry_filter += " AND id IN (SELECT unnest(?))"
            params.append([int(i) for i in entry_ids])
        # the column set of an update/delete entry (its before's keys, in order) comes from SQL
        entries = cur.execute(
            "SELECT id, table_name, row_key, action, CAST(before AS VARCHAR), NULL, reverted_by,"
            f" json_keys(before) FROM audit_log WHERE {entry_filter} ORDER BY id DESC", params).fetchall()
        if not entries:
            raise NotFound("没有可撤销的修改记录。")
        if any(e[6] is not None for e in entries):
            raise ConflictError("这项修改已经撤销过了。")
        tables_touched = list(dict.fromkeys(e[1] for e in entries))
        for table in tables_touched:
            if table not in KEY_COLUMNS:
                raise BadInput(f"「{TABLE_LABELS.get(table, table)}」的修改不能在这里撤销。")
            require(user, _write_perm(table))
        conflicts = _conflicts(cur, tables_touched, entry_filter, params)
        if conflicts:
            raise ConflictError("无法撤销：" + "；".join(conflicts[:10]) + "。请先撤销之后的修改。")
        act.describe(f"撤销：{b[0]}")
        new_id = act.batch()
        # Undo set-based, newest first: consecutive entries of one table, action and column set
        # form a run undone by one statement (the order between runs is kept).
        runs: list[tuple[tuple[str, str, tuple[str, ...] | None], list[Entry]]] = []
        for e in entries:
            shape = (e[1], e[3], None if e[3] == "insert" else tuple(e[7]))
            if runs and runs[-1][0] == shape:
                runs[-1][1].append(e)
            else:
                runs.append((shape, [e]))
        for (table, action, cols), run in runs:
            _undo_run(act, table, action, cols, run)
        cur.execute("UPDATE audit_log SET reverted_by = ? WHERE id IN (SELECT unnest(?))",
                    [new_id, [e[0] for e in entries]])
        if entry_ids is None:
            cur.execute("UPDATE audit_batches SET reverted_by = ? WHERE id = ?", [new_id, batch_id])
    return new_id


def _column_types(cur: Cursor, table: str) -> dict[str, str]:
    return dict(cur.execute("SELECT column_name, data_type FROM information_schema.columns"
                            " WHERE table_name = ? AND table_schema = current_schema()", [table]).fetchall())


def _typed(col: str, ctype: str) -> str:
    """SQL reading column `col` of the JSON text f.before as the table's own type."""
    path = "'$." + '"' + col.replace('"', '\\"').replace("'", "''") + '"' + "'"
    nested = ctype.endswith("]") or ctype.startswith(("STRUCT", "MAP", "UNION", "JSON"))
    return f"CAST(f.before {'->' if nested else '->>'} {path} AS {ctype})"


def _undo_run(act: Action, table: str, action: str, cols: tuple[str, ...] | None, run: list[Entry]) -> None:
    """Undo entries of one table and action (and, for update/delete, one column set) at once:
    insert → delete the rows; update → set the before values back; delete → insert them again."""
    cur = act.cur
    key = KEY_COLUMNS[table]
    keys = [e[2] for e in run]
    frame = pl.DataFrame({"pos": range(len(run)), "k": keys, "before": [e[4] for e in run]},
                         schema={"pos": pl.Int64, "k": pl.String, "before": pl.String})
    cur.register("audit_revert_frame", frame)
    try:
        # the rows as they are now (the undo's "before"), kept in Arrow: never Python objects
        old = cur.sql(f'SELECT CAST(t."{key}" AS VARCHAR) AS k, CAST(to_json(t) AS VARCHAR) AS j FROM "{table}" t'
                      f' WHERE CAST(t."{key}" AS VARCHAR) IN (SELECT k FROM audit_revert_frame)').pl()
        if action == "insert":
            # undoing an insert removes the row: refuse while other rows still depend on it
            # (asked now, after the later entries of this undo have been undone)
            from . import registry  # lazily, as in _sync_once

            checks = [*DELETE_CHECKS.get(table, []), *registry.delete_checks(table)]
            values = [int(k) if k.lstrip("-").isdigit() else k for k in keys]
            if checks and any(check(cur, values) for check in checks):
                afters = dict(cur.execute("SELECT id, CAST(after AS VARCHAR) FROM audit_log WHERE id IN"
                                          " (SELECT unnest(?))", [[e[0] for e in run]]).fetchall())
                for (entry_id, *_r), value in zip(run, values):  # name the first entry
                    reasons = [r for check in checks for r in check(cur, [value])]
                    if reasons:
                        after = afters.get(entry_id)
                        names = _ref_names(cur, [json.loads(after)] if after else [])
                        what = describe_change(table, "insert", None, after, names)
                        what = what.removeprefix("新增：") if what.startswith("新增：") else f"编号 {value}"
                        raise ConflictError(
                            f"无法撤销第 {entry_id} 条修改（新增{TABLE_LABELS.get(table, table)}「{what}」）："
                            + "；".join(reasons[:5]) + "。请先撤销或改掉依赖它的修改。")
            cur.execute(f'DELETE FROM "{table}" WHERE CAST("{key}" AS VARCHAR)'
                        " IN (SELECT k FROM audit_revert_frame)")
        else:
            assert cols is not None  # an update or delete entry names its columns
            types = _column_types(cur, table)
            unknown = [c for c in cols if c not in types]
            if unknown:
                raise ConflictError(f"无法撤销：「{TABLE_LABELS.get(table, table)}」已没有列"
                                    f"「{'、'.join(unknown)}」。")
            if action == "update":
                sets = [f'"{c}" = {_typed(c, types[c])}' for c in cols if c not in (key, "version")]
                if "version" in cols:
                    sets.append('"version" = "version" + 1')
                cur.execute(f'UPDATE "{table}" SET {", ".join(sets)} FROM audit_revert_frame f'
                            f' WHERE CAST("{table}"."{key}" AS VARCHAR) = f.k')
            else:  # delete → insert the rows again
                cur.execute(f'INSERT INTO "{table}" ({", ".join(chr(34) + c + chr(34) for c in cols)})'
                            f' SELECT {", ".join(_typed(c, types[c]) for c in cols)} FROM audit_revert_frame f')
        # one audit entry per undone entry, in SQL: before = the row as it was, after = as it is now
        undo = {"insert": "delete", "update": "update", "delete": "insert"}[action]
        now = "NULL" if action == "insert" else f'CASE WHEN t."{key}" IS NOT NULL THEN CAST(CAST(to_json(t) AS VARCHAR) AS JSON) END'
        with cur.registered("audit_revert_old", old):
            cur.execute(
                "INSERT INTO audit_log(batch_id, username, created_at, table_name, row_key, action, before, after)"
                f" SELECT ?, ?, ?, ?, f.k, ?, CAST(o.j AS JSON), {now} FROM audit_revert_frame f"
                " LEFT JOIN audit_revert_old o ON o.k = f.k"
                f' LEFT JOIN "{table}" t ON CAST(t."{key}" AS VARCHAR) = f.k ORDER BY f.pos',
                [act.batch(), act.user.username, clock.now(), table, undo])
    finally:
        cur.unregister("audit_revert_frame")


def _write_perm(table: str) -> str:
    return WRITE_PERMS.get(table, "orgs.write")


def usernames(db: Database) -> list[str]:
    """Everyone who appears in the history (for its 操作人 filter)."""
    with db.read() as cur:
        return [r[0] for r in cur.execute(
            "SELECT DISTINCT username FROM audit_batches ORDER BY username").fetchall()]
