"""Code names from the glossary (shared/spec/domain.md) and their Chinese labels, in the
natural order offices use — charts and tables sort by this order, never by code point."""

LEVELS = {"committee": "党委", "general_branch": "党总支", "branch": "党支部"}
CATEGORIES = {
    "rural": "农村",
    "community": "街道社区",
    "organ": "机关",
    "school": "学校",
    "enterprise": "企业",
    "intermediary": "社会中介组织",
    "association": "社会团体",
}
TIERS = {"advanced": "先进", "standard": "达标", "lagging": "后进"}
MEMBER_STATUS = {"full": "正式党员", "probationary": "预备党员"}
GENDERS = {"male": "男", "female": "女"}
# The one table of dues categories (shared/spec/dues.md), in the order of its rate rules: the
# dues package takes its CATEGORIES from here (vocab imports nothing, so no circle).
DUES_CATEGORIES = {
    "employed": "在职",
    "annual_salary": "年薪制",
    "self_employed": "个体经营/不按月取得收入",
    "retired": "离退休",
    "farmer": "农民",
    "student": "学生",
    "unemployed": "下岗失业",
    "relief": "依靠抚恤或救济生活",
    "low_income": "领取最低生活保障金",
    "exempt": "免交",
    "reduced": "少交",
    "suspended": "停止党籍/出国暂停",
}
# Other spellings of a dues category an office types or an older export holds (the labels before
# they took the spec's wording among them): accepted wherever a category is read, never shown.
DUES_CATEGORY_ALIASES = {
    "个体经营": "self_employed",
    "不按月取得收入": "self_employed",
    "离休": "retired",
    "退休": "retired",
    "离退休人员": "retired",
    "下岗": "unemployed",
    "失业": "unemployed",
    "抚恤": "relief",
    "救济": "relief",
    "低保": "low_income",
    "停止党籍": "suspended",
    "出国暂停": "suspended",
    "暂停": "suspended",
    "停止党籍/暂停": "suspended",
}


def order_of(mapping: dict[str, str]) -> list[str]:
    """Chinese labels in their natural order (for chart sort= and table ordering)."""
    return list(mapping.values())
