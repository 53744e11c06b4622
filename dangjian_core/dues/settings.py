"""党费 settings in the database: append-only versions in force from a month, the rule
history they make, and the farmer amounts per branch (a table spec)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date

import polars as pl

from .. import clock, uow
from ..auth import User, require
from ..db import Cursor, Database
from ..errors import DangjianError
from ..tables import Column, TableSpec
from .model import (
    AMOUNT_MODES,
    BASE_READINGS,
    DEFAULT_SETTINGS,
    PRECISION_LABELS,
    RETIREE_BASES,
    ROUNDING_LABELS,
    RULE_2017_FROM,
    DuesSettings,
    RuleHistory,
    RulePeriod,
    month_number,
)
from .store import PERM_READ, PERM_WRITE, parse_month

# =======================================================================================
# Settings
# =======================================================================================
_DEFAULT_FROM = date(*RULE_2017_FROM, 1)


def _month_index(d: date) -> int:
    return month_number(d.year, d.month)


def _this_month() -> date:
    return clock.today().replace(day=1)


def _rule_label(sid: int, note: str | None, start: date) -> str:
    return f"{note or '党费设置'}（第 {sid} 版设置，自 {start:%Y-%m} 起）"


def _rule_history(cur: Cursor) -> RuleHistory:
    """The dated rules: for each effective month the newest settings row; codes are the
    settings ids (as text), so every computed month can name the version it used."""
    rows = cur.execute(
        "SELECT id, settings, note, coalesce(effective_from, ?) AS f FROM dues_settings"
        " QUALIFY row_number() OVER (PARTITION BY coalesce(effective_from, ?) ORDER BY id DESC) = 1"
        " ORDER BY f", [_DEFAULT_FROM, _DEFAULT_FROM]).fetchall()
    if not rows:
        return RuleHistory([RulePeriod(_month_index(_DEFAULT_FROM), DEFAULT_SETTINGS, "0", "默认设置")])
    return RuleHistory([RulePeriod(_month_index(f), DuesSettings.from_json(js), str(i),
                                             _rule_label(i, note, f)) for i, js, note, f in rows])


def _settings_at(cur: Cursor, month: date) -> tuple[int, DuesSettings]:
    """(settings id, DuesSettings) of the rule in force in `month`."""
    p = _rule_history(cur).at(_month_index(month))
    return int(p.code), p.settings


def _settings(cur: Cursor, settings_id: int | None = None) -> tuple[int, DuesSettings]:
    """The settings in force this month (clock.today()), or version `settings_id`."""
    if settings_id is None:
        return _settings_at(cur, _this_month())
    row = cur.execute("SELECT id, settings FROM dues_settings WHERE id = ?", [int(settings_id)]).fetchone()
    if row is None:
        raise DangjianError(f"找不到第 {settings_id} 版党费设置")
    return int(row[0]), DuesSettings.from_json(row[1])


def current_settings(db: Database, user: User) -> tuple[int, DuesSettings]:
    """(settings id, DuesSettings) in force now."""
    require(user, PERM_READ)
    with db.read() as cur:
        return _settings(cur)


def rule_history(db: Database, user: User) -> RuleHistory:
    """The dated rules (2008 rules from 2008-04, the 2017 notice from 2017-01, the office's
    versions from the months they chose)."""
    require(user, PERM_READ)
    with db.read() as cur:
        return _rule_history(cur)


def settings_by_id(db: Database, user: User, settings_id: int) -> DuesSettings:
    require(user, PERM_READ)
    with db.read() as cur:
        return _settings(cur, settings_id)[1]


def save_settings(db: Database, user: User, values: DuesSettings | Mapping[str, object], note: str | None = None,
                  effective_from: object = None) -> int:
    """Store new settings (a dict of DuesSettings fields, or DuesSettings) in force from month
    `effective_from` (default: the month the rule in force now took effect — i.e. an edit of
    today's rule; months under an earlier rule, such as the 2008 rules before 2017, keep
    theirs). Returns the id in force from that month (unchanged when nothing differs). Roll
    rows already computed keep theirs."""
    require(user, PERM_WRITE)
    new = values if isinstance(values, DuesSettings) else DuesSettings.from_dict(values)
    with uow.action(db, user, PERM_WRITE, "dues_settings", "修改党费设置") as act:
        cur = act.cur
        hist = _rule_history(cur)
        now = hist.at(_month_index(_this_month()))
        start = (date(now.start // 12, now.start % 12 + 1, 1) if effective_from is None
                 else parse_month(effective_from, "施行月份"))
        same = hist.at(_month_index(start))
        if same.start == _month_index(start) and same.settings == new:
            return int(same.code)
        new_id = cur.execute("INSERT INTO dues_settings(settings, note, updated_by, effective_from) VALUES (?, ?, ?, ?)"
                             " RETURNING id", [new.to_json(), note or None, user.username, start]).fetchone()[0]
        act.describe(f"修改党费设置（第 {new_id} 版，自 {start:%Y-%m} 起施行）")
        act.record("dues_settings", new_id, "insert", None,
                     {"id": new_id, "settings": json.loads(new.to_json()), "note": note,
                      "effective_from": start.isoformat()})
        return int(new_id)


def settings_history(db: Database, user: User) -> pl.DataFrame:
    require(user, PERM_READ)
    with db.read() as cur:
        out: pl.DataFrame = cur.sql("SELECT s.id, s.settings, s.note, s.effective_from, s.updated_at, s.updated_by,"
                                    " (SELECT count(*) FROM dues_roll r WHERE r.settings_id = s.id) AS roll_rows"
                                    " FROM dues_settings s ORDER BY s.id DESC").pl()
    return out


def describe_settings(s: DuesSettings) -> str:
    return "；".join([
        f"精度：{PRECISION_LABELS[s.precision]}",
        f"舍入：{ROUNDING_LABELS[s.rounding]}",
        "每月 1000 元封顶" if s.cap else "不封顶",
        f"基数：{BASE_READINGS[s.base_reading]}",
        f"离退休：{RETIREE_BASES[s.retiree_base]}",
        f"金额：{AMOUNT_MODES[s.amount_mode]}",
        f"农民党员默认 {s.farmer_default} 元",
        f"连续 {s.warn_from_months} 个月未缴提醒、{s.flag_months} 个月标记",
    ])


FARMER_SPEC = TableSpec(
    table="dues_farmer_amounts",
    label="农民党员党费数额",
    perm=PERM_WRITE,
    natural_key=None,
    columns=[
        Column("org_id", "党支部", "ref", required=True, ref="orgs", unique=True, width="large",
               help="由党支部确定本支部农民党员每月交纳的数额"),
        Column("amount", "每月数额（元）", "decimal", required=True, min=0.2, max=1.0,
               help="0.20–1.00 元；未设置的支部按设置中的默认数额"),
        Column("note", "备注", max_len=200),
    ],
)
SPECS: tuple[TableSpec, ...] = (FARMER_SPEC,)
