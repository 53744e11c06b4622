"""党员 (members): who belongs to which org, with the category that decides their dues.
ID numbers are sensitive: only roles with `salary.read` see them."""

from __future__ import annotations

from .tables import Column, TableSpec
from .vocab import DUES_CATEGORIES, DUES_CATEGORY_ALIASES, GENDERS, MEMBER_STATUS

SPEC = TableSpec(
    table="members",
    label="党员",
    perm="members.write",
    natural_key="member_no",
    columns=[
        Column("member_no", "党员编号", required=True, unique=True, max_len=40, code=True),
        Column("name", "姓名", required=True, max_len=40),
        Column("org_id", "所在党组织", "ref", required=True, ref="orgs"),
        Column("gender", "性别", "choice", choices=GENDERS),
        Column("id_number", "身份证号", max_len=18, sensitive="salary.read", code=True,
               format="id_number"),
        Column("phone", "手机号", max_len=20, code=True),
        Column("status", "党员类型", "choice", required=True, choices=MEMBER_STATUS, default="full"),
        Column("join_date", "入党日期", "date"),
        Column("dues_category", "党费类别", "choice", required=True, choices=DUES_CATEGORIES,
               aliases=DUES_CATEGORY_ALIASES, default="employed"),
    ],
)
SPECS = (SPEC,)  # read by the registry
