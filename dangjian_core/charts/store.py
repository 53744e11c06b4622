"""Saved charts: `save_chart` / `delete_chart` / `list_charts` over table `charts`
(migration 050), permission `charts.write`; each write is one `uow.action` (undoable in 操作记录)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .. import uow
from ..auth import User, require
from ..errors import BadInput, ConflictError, NotFound
from .build import BuiltChart, build_chart
from .datasets import all_datasets, load_frame
from .model import MAX_NAME, ChartSpec

if TYPE_CHECKING:
    from ..db import Database

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
    known = all_datasets()
    out = []
    for c in list_charts(db, on_home=on_home):
        ds = known.get(c.dataset)
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
    Returns the chart's id. One action: one transaction, one batch 操作记录 can revert."""
    with uow.action(db, user, "charts.write", "charts", "保存图表") as act:
        name = _check_name(name)
        require(user, spec.validate().perm)
        cur = act.cur
        clash = cur.execute("SELECT id FROM charts WHERE lower(trim(name)) = lower(?) AND id <> ?",
                            [name, int(chart_id or -1)]).fetchone()
        if clash:
            raise BadInput(f"已有名为「{name}」的图表：请换一个名称，或打开那张图表修改。")
        if chart_id is None:
            act.describe(f"保存图表「{name}」")
            with act.track("charts", []) as tracked:
                if position is None:
                    position = _one(cur.execute("SELECT coalesce(max(position), 0) + 1 FROM charts").fetchone())
                new_id = _one(cur.execute(
                    "INSERT INTO charts(name, dataset, spec, on_home, position, note, created_by, updated_by)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    [name, spec.dataset, spec.to_json(), bool(on_home), int(position), note, user.username,
                     user.username]).fetchone())
                tracked.add([new_id])
            return new_id
        act.describe(f"修改图表「{name}」")
        with act.track("charts", [chart_id]):
            row = cur.execute("SELECT name, version, updated_by, position FROM charts WHERE id = ?",
                              [int(chart_id)]).fetchone()
            if row is None:
                raise NotFound(f"找不到要修改的图表（第 {chart_id} 号），可能已被别人删除。")
            if version is not None and row[1] != version:
                raise ConflictError(f"图表「{row[0]}」在您打开之后被 {row[2] or '别人'}修改过：请重新打开后再改。")
            cur.execute("UPDATE charts SET name = ?, dataset = ?, spec = ?, on_home = ?, position = ?,"
                        " note = ?, version = version + 1, updated_at = current_timestamp, updated_by = ?"
                        " WHERE id = ?",
                        [name, spec.dataset, spec.to_json(), bool(on_home),
                         int(row[3] if position is None else position), note, user.username, int(chart_id)])
        return int(chart_id)


def delete_chart(db: Database, user: User, chart_id: int, version: int | None = None) -> None:
    with uow.action(db, user, "charts.write", "charts", "删除图表") as act:
        row = act.cur.execute("SELECT name, version FROM charts WHERE id = ?", [int(chart_id)]).fetchone()
        if row is None:
            raise NotFound(f"找不到要删除的图表（第 {chart_id} 号），可能已被别人删除。")
        if version is not None and row[1] != version:
            raise ConflictError(f"图表「{row[0]}」在您打开之后被修改过：请刷新后再删除。")
        act.describe(f"删除图表「{row[0]}」")
        with act.track("charts", [chart_id]):
            act.cur.execute("DELETE FROM charts WHERE id = ?", [int(chart_id)])


def _one(row: tuple[Any, ...] | None) -> int:
    """The integer in a one-value row (count, max, RETURNING id)."""
    if row is None:
        raise ValueError("the statement returned no row")
    return int(row[0])
