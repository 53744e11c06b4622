"""Saved charts: `save_chart` / `delete_chart` / `list_charts` over table `charts`
(migration 050), permission `charts.write`, audited and revertible like every write."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from .. import audit
from ..auth import User, require
from ..errors import BadInput, ConflictError, NotFound
from .build import BuiltChart, build_chart
from .datasets import load_frame
from .model import MAX_NAME, REGISTERED, ChartSpec, _import_dataset_modules

if TYPE_CHECKING:
    from ..db import Database

audit.register_table("charts", "简报图表", "id", "charts.write")


@dataclass
class SavedChart:
    id: int
    name: str
    dataset: str
    spec_json: str
    on_home: bool
    position: int
    version: int
    updated_at: datetime | None
    updated_by: str | None
    note: str | None = None

    def spec(self) -> ChartSpec:
        return ChartSpec.from_json(self.spec_json)


_SAVED_COLS = "id, name, dataset, spec, on_home, position, version, updated_at, updated_by, note"


def list_charts(db: Database, *, on_home: bool | None = None) -> list[SavedChart]:
    sql = f"SELECT {_SAVED_COLS} FROM charts"
    if on_home is not None:
        sql += " WHERE on_home = ?"
    with db.read() as cur:
        rows = cur.execute(sql + " ORDER BY position, id", [on_home] if on_home is not None else None).fetchall()
    return [SavedChart(*r) for r in rows]


def get_chart(db: Database, chart_id: int) -> SavedChart:
    with db.read() as cur:
        row = cur.execute(f"SELECT {_SAVED_COLS} FROM charts WHERE id = ?", [int(chart_id)]).fetchone()
    if row is None:
        raise NotFound(f"找不到第 {chart_id} 号图表（可能已被删除）。")
    return SavedChart(*row)


def visible_charts(db: Database, user: User, *, on_home: bool | None = None) -> list[SavedChart]:
    """Saved charts whose dataset this user may read (a dues chart is hidden from editors)."""
    out = []
    for c in list_charts(db, on_home=on_home):
        ds = REGISTERED.get(c.dataset)
        if ds is None:
            _import_dataset_modules()
            ds = REGISTERED.get(c.dataset)
        if ds is None or user.can(ds.perm):
            out.append(c)
    return out


def make_chart(db: Database, user: User, spec: ChartSpec) -> BuiltChart:
    ds = spec.validate()
    return build_chart(spec, load_frame(db, user, ds), ds)


def render_saved(db: Database, user: User, saved: SavedChart) -> BuiltChart:
    """Draw a saved chart with today's data; a BadInput names the chart and what changed."""
    try:
        return make_chart(db, user, saved.spec())
    except BadInput as exc:
        raise BadInput(f"图表「{saved.name}」现在画不出来：{exc.message}") from exc


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise BadInput("请给图表起一个名称，例如「各类别党组织数量」。")
    if len(name) > MAX_NAME:
        raise BadInput(f"图表名称太长：最多 {MAX_NAME} 个字。")
    return name


def save_chart(db: Database, user: User, name: str, spec: ChartSpec, *, chart_id: int | None = None,
               version: int | None = None, on_home: bool = True, position: int | None = None,
               note: str | None = None) -> int:
    """Save a new chart (chart_id None) or change one (with the version it was loaded at).
    Returns the chart's id. Audited as one batch; 操作记录 can revert it."""
    require(user, "charts.write")
    name = _check_name(name)
    ds = spec.validate()
    require(user, ds.perm)
    text = spec.to_json()
    with db.write() as cur:
        clash = cur.execute("SELECT id FROM charts WHERE lower(trim(name)) = lower(?) AND id <> ?",
                            [name, int(chart_id or -1)]).fetchone()
        if clash:
            raise BadInput(f"已有名为「{name}」的图表：请换一个名称，或打开那张图表修改。")
        if chart_id is None:
            if position is None:
                position = cur.execute("SELECT coalesce(max(position), 0) + 1 FROM charts").fetchone()[0]
            new_id = cur.execute(
                "INSERT INTO charts(name, dataset, spec, on_home, position, note, created_by, updated_by)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                [name, spec.dataset, text, bool(on_home), int(position), note, user.username,
                 user.username]).fetchone()[0]
            batch = audit.new_batch(cur, user, "charts", f"保存图表「{name}」")
            audit.record(cur, batch, user, "charts", new_id, "insert", None,
                         audit.rows_json(cur, "charts", "id", [new_id]).get(str(new_id)))
            return int(new_id)
        before = audit.rows_json(cur, "charts", "id", [chart_id]).get(str(chart_id))
        if before is None:
            raise NotFound(f"找不到要修改的图表（第 {chart_id} 号），可能已被别人删除。")
        row = json.loads(before)
        if version is not None and row["version"] != version:
            raise ConflictError(f"图表「{row['name']}」在您打开之后被 {row.get('updated_by') or '别人'}"
                                "修改过：请重新打开后再改。")
        cur.execute("UPDATE charts SET name = ?, dataset = ?, spec = ?, on_home = ?, position = ?,"
                    " note = ?, version = version + 1, updated_at = current_timestamp, updated_by = ?"
                    " WHERE id = ?",
                    [name, spec.dataset, text, bool(on_home),
                     int(row["position"] if position is None else position), note, user.username,
                     int(chart_id)])
        batch = audit.new_batch(cur, user, "charts", f"修改图表「{name}」")
        audit.record(cur, batch, user, "charts", chart_id, "update", before,
                     audit.rows_json(cur, "charts", "id", [chart_id]).get(str(chart_id)))
        return int(chart_id)


def delete_chart(db: Database, user: User, chart_id: int, version: int | None = None) -> None:
    require(user, "charts.write")
    with db.write() as cur:
        before = audit.rows_json(cur, "charts", "id", [chart_id]).get(str(chart_id))
        if before is None:
            raise NotFound(f"找不到要删除的图表（第 {chart_id} 号），可能已被别人删除。")
        row = json.loads(before)
        if version is not None and row["version"] != version:
            raise ConflictError(f"图表「{row['name']}」在您打开之后被修改过：请刷新后再删除。")
        cur.execute("DELETE FROM charts WHERE id = ?", [int(chart_id)])
        batch = audit.new_batch(cur, user, "charts", f"删除图表「{row['name']}」")
        audit.record(cur, batch, user, "charts", chart_id, "delete", before, None)

