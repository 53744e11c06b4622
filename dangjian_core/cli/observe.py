"""`python -m dangjian_core observe plan` — arrange an observation round (观摩互进).

Contract: shared/spec/cli.md (section `observe`); the rules: shared/spec/observation.md.

ORGS columns: `org_id`, `name`, `street`, `tier` (advanced|standard|lagging or 先进|达标|后进),
`is_site` (true/false), optional `host` (true/false; empty = sites and advanced orgs host),
`capacity` (delegations a host receives per slot, default 1), `lat`, `lon` (decimal degrees;
both or neither). PREV (optional) is an earlier OUTPUT: its (delegation, host_org_id) and
(street, host_street) pairs are avoided where possible.

OUTPUT: one row per visit, columns exactly `day, slot, delegation, host_org_id, host_street`
(days and slots from 1; `delegation` is the street name for cross/district and the observing
org's org_id for internal), ordered by day, slot, delegation. The summary (one Chinese
paragraph) goes to stdout. Bad input or an infeasible arrangement → exit 2 with the reason on
stderr and no output file.
"""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING

from ..fileio import read_frame
from ..observation.inputs import build_problem
from ..observation.model import ORG_COLUMNS, PLAN_COLUMNS
from ..observation.solver import solve
from ..observation.views import plan_frame
from .common import add_group, output_path, positive_int, write_output

if TYPE_CHECKING:
    from .db import Subparsers


def register(subparsers: Subparsers) -> None:
    sub = add_group(subparsers, "observe", "观摩互进", "观摩互进：排出观摩活动安排")
    p = sub.add_parser(
        "plan",
        help="排出观摩活动安排表",
        description="按观摩方式排出每个观摩团在每个时段去哪个观摩点：不超容量、不重复、后进看先进、"
                    "避开上一轮的组合、路线尽量短。",
    )
    p.add_argument("--orgs", required=True, metavar="ORGS",
                   help="机构表：org_id、name、street、tier、is_site，可选 host、capacity、lat、lon")
    p.add_argument("--mode", required=True, metavar="internal|cross|district",
                   help="观摩方式：internal 街道内部观摩，cross 各街道交叉观摩，district 全区示范观摩")
    p.add_argument("--days", required=True, metavar="D", help="天数")
    p.add_argument("--slots-per-day", required=True, metavar="S", help="每天的时段数")
    p.add_argument("--visits", metavar="K", help="每个观摩团参观几个点（默认等于时段总数）")
    p.add_argument("--previous", metavar="PREV", help="上一轮的安排表（本命令的输出文件），用于避免重复")
    p.add_argument("--seed", default="0", metavar="N", help=argparse.SUPPRESS)
    p.add_argument("output", metavar="OUTPUT", help="输出文件：.csv、.xlsx 或 .parquet")
    p.set_defaults(handler=run_plan)


def run_plan(args: argparse.Namespace) -> int:
    days = positive_int(args.days, "--days")
    slots = positive_int(args.slots_per_day, "--slots-per-day")
    visits = None if args.visits is None else positive_int(args.visits, "--visits")
    seed = int(args.seed) if re.fullmatch(r"\d+", args.seed or "") else 0
    out = output_path(args.output)
    orgs = read_frame(args.orgs, expected=ORG_COLUMNS)
    previous = None
    if args.previous:
        previous = read_frame(args.previous, expected=PLAN_COLUMNS)
    problem = build_problem(orgs, args.mode, days, slots, visits, previous)
    plan = solve(problem, seed=seed)
    df = plan_frame(problem, plan).select(PLAN_COLUMNS)
    write_output(df, out, args.output, sheet="观摩活动安排表")
    print(plan.summary["text"])
    return 0
