"""A plan as tables people read and edit: the visit list (`plan_frame`, `plan_table`), the
slot × delegation grid (`grid_frame`) and back (`visits_from_grid`). Pure, no database."""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from ..errors import BadInput, CellError
from .model import Plan, Problem, Visit


def plan_frame(problem: Problem, plan: Plan | Iterable[Visit], *, full: bool = False) -> pl.DataFrame:
    """The plan as a table, one row per visit ordered by day, slot, delegation. Columns
    `day, slot, delegation, host_org_id, host_street` (the CLI contract); with `full=True` also
    `start_time` and `host_name` (observation.md's output)."""
    hosts = {h.org_id: h for h in problem.hosts}
    vs = sorted(plan.visits if isinstance(plan, Plan) else plan,
                key=lambda v: (v.day, v.slot, v.delegation, v.host_org_id))
    data = {
        "day": [v.day for v in vs],
        "slot": [v.slot for v in vs],
        "delegation": [v.delegation for v in vs],
        "host_org_id": [v.host_org_id for v in vs],
        "host_street": [hosts[v.host_org_id].street if v.host_org_id in hosts else None for v in vs],
    }
    schema = {"day": pl.Int64, "slot": pl.Int64, "delegation": pl.String, "host_org_id": pl.String,
              "host_street": pl.String}
    df = pl.DataFrame(data, schema=schema)
    if full:
        df = df.with_columns(
            start_time=pl.Series([problem.start_time(v.day, v.slot) for v in vs], dtype=pl.String),
            host_name=pl.Series([hosts[v.host_org_id].name if v.host_org_id in hosts else None for v in vs],
                                dtype=pl.String),
        ).select("day", "slot", "start_time", "delegation", "host_org_id", "host_name", "host_street")
    return df


def delegation_names(problem: Problem) -> dict[str, str]:
    """Delegation id → the name people read (street, or the org's name in internal mode)."""
    return {d.id: (d.name or d.id) for d in problem.delegations}


def plan_table(problem: Problem, visits: Iterable[Visit], locked: Iterable[Visit] = ()) -> pl.DataFrame:
    """One row per visit in Chinese: 天, 时段, 开始时间, 观摩团, 观摩点, 所在街道, 手工安排."""
    df = plan_frame(problem, visits, full=True)
    names = delegation_names(problem)
    lk = {(v.delegation, v.day, v.slot) for v in locked}
    return pl.DataFrame({
        "天": df["day"], "时段": df["slot"], "开始时间": df["start_time"],
        "观摩团": [names.get(d, d) for d in df["delegation"]], "观摩点": df["host_name"],
        "所在街道": df["host_street"],
        "手工安排": [(d, a, b) in lk for d, a, b in zip(df["delegation"], df["day"], df["slot"])]})


def slot_labels(problem: Problem) -> list[tuple[int, int, str]]:
    out = []
    for day in range(1, problem.days + 1):
        for slot in range(1, problem.slots_per_day + 1):
            t = problem.start_time(day, slot)
            out.append((day, slot, problem.slot_label(day, slot) + (f" {t}" if t else "")))
    return out


def grid_frame(problem: Problem, visits: Iterable[Visit]) -> pl.DataFrame:
    """The plan as a slot × delegation grid: column 时段, then one column per delegation (its
    name) holding the host's name (empty: no visit in that slot)."""
    hname = {h.org_id: h.name for h in problem.hosts}
    names = delegation_names(problem)
    at = {(v.day, v.slot, v.delegation): hname.get(v.host_org_id, v.host_org_id) for v in visits}
    data: dict[str, list[str | None]] = {"时段": [lab for _, _, lab in slot_labels(problem)]}
    for d in problem.delegations:
        data[names[d.id]] = [at.get((day, slot, d.id)) for day, slot, _ in slot_labels(problem)]
    return pl.DataFrame(data, schema={c: pl.String for c in data})


def visits_from_grid(problem: Problem, grid: pl.DataFrame) -> list[Visit]:
    """The grid (as edited) back to visits; an unknown host name is a BadInput."""
    by_name = {h.name: h.org_id for h in problem.hosts}
    by_name.update({h.org_id: h.org_id for h in problem.hosts})
    dl = {v: k for k, v in delegation_names(problem).items()}
    slots = slot_labels(problem)
    out, errors = [], []
    for col in grid.columns:
        if col not in dl:
            continue
        for i, cell in enumerate(grid[col].to_list()):
            if cell is None or not str(cell).strip() or i >= len(slots):
                continue
            h = by_name.get(str(cell).strip())
            if h is None:
                errors.append(CellError(i + 1, col, cell, f"「{cell}」不是本次观摩活动的观摩点"))
                continue
            out.append(Visit(slots[i][0], slots[i][1], dl[col], h))
    if errors:
        raise BadInput("安排表中有无法识别的观摩点", errors)
    return out
