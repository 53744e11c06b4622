import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dangjian_core import audit, fileio, tables
from dangjian_core.errors import ConflictError, PermissionDenied, ValidationFailed
from dangjian_core.tables import parse as tables_parse
from tests.conftest import EDITOR, TREASURER, VIEWER

ORGS = tables.get_spec("orgs")


def _row(db, i=1):
    return tables.load(db, EDITOR, ORGS).row(i, named=True)


def test_edit_is_saved_with_audit_and_version(demo_db):
    r = _row(demo_db)
    res = tables.save(demo_db, EDITOR, ORGS, tables.Changes(
        updates={r["id"]: {"name": "新的名字", "tier": "先进"}}, versions={r["id"]: r["version"]}))
    assert res.updated == 1
    after = _row(demo_db)
    assert (after["name"], after["tier"], after["version"]) == ("新的名字", "advanced", r["version"] + 1)
    log = audit.list_changes(demo_db, EDITOR, table="orgs")
    assert log.height == 1 and '"新的名字"' in log["after"][0] and r["name"] in log["before"][0]


def test_second_save_of_same_row_gets_conflict_and_writes_nothing(demo_db):
    r = _row(demo_db)
    ch = lambda name: tables.Changes(updates={r["id"]: {"name": name}}, versions={r["id"]: r["version"]},
                                     row_numbers={r["id"]: 2})
    tables.save(demo_db, EDITOR, ORGS, ch("甲"))
    with pytest.raises(ConflictError, match="第 2 行"):
        tables.save(demo_db, EDITOR, ORGS, ch("乙"))
    assert _row(demo_db)["name"] == "甲"


def test_all_errors_are_reported_by_row_and_column_and_nothing_is_saved(demo_db):
    r = _row(demo_db)
    other = _row(demo_db, 2)
    before = tables.export_frame(demo_db, EDITOR, ORGS)
    with pytest.raises(ValidationFailed) as exc:
        tables.save(demo_db, EDITOR, ORGS, tables.Changes(
            updates={r["id"]: {"name": "好名字"}, other["id"]: {"member_count": "abc"}},
            versions={r["id"]: r["version"], other["id"]: other["version"]},
            inserts=[{"name": "好名字", "level": "党支部", "category": "农村", "street": "东湖街道",
                      "member_count": 2}],
            row_numbers={r["id"]: 2, other["id"]: 3, ("new", 0): 9}))
    text = str(exc.value)
    assert "第 3 行 列「党员人数」" in text and "应为整数" in text
    assert "第 9 行" in text and "至少需要 3 名" in text
    assert "重复" in text
    assert tables.export_frame(demo_db, EDITOR, ORGS).equals(before)


def test_parent_cycle_is_refused(demo_db):
    df = tables.load(demo_db, EDITOR, ORGS)
    child = df.filter(pl.col("parent_id").is_not_null()).row(0, named=True)
    parent = df.filter(pl.col("id") == child["parent_id"]).row(0, named=True)
    with pytest.raises(ValidationFailed, match="循环"):
        tables.save(demo_db, EDITOR, ORGS, tables.Changes(
            updates={parent["id"]: {"parent_id": child["name"]}}, versions={parent["id"]: parent["version"]}))


def test_viewer_cannot_write_through_any_door(demo_db, tmp_path):
    r = _row(demo_db)
    with pytest.raises(PermissionDenied):
        tables.save(demo_db, VIEWER, ORGS, tables.Changes(updates={r["id"]: {"name": "x"}}))
    p = tmp_path / "o.csv"
    p.write_text("名称,层级,类别,街道/系统,党员人数\n新支部,党支部,农村,东湖街道,5\n")
    with pytest.raises(PermissionDenied):
        tables.import_frame(demo_db, VIEWER, ORGS, fileio.read_frame(p), commit=True)
    with pytest.raises(PermissionDenied):
        tables.save(demo_db, TREASURER, ORGS, tables.Changes(deletes=[r["id"]]))


def test_import_dry_run_then_commit_and_undo_as_one_batch(demo_db, tmp_path):
    p = tmp_path / "o.csv"
    p.write_text("名称,层级,类别,街道/系统,党员人数,上级党组织\n"
                 "新甲支部,党支部,农村,东湖街道,5,东湖街道党工委\n新乙支部,党支部,企业,东湖街道,7,新甲支部\n")
    frame = fileio.read_frame(p)
    n0 = tables.load(demo_db, EDITOR, ORGS).height
    pre = tables.import_frame(demo_db, EDITOR, ORGS, frame, commit=False)
    assert pre.ok and pre.inserts == 2 and tables.load(demo_db, EDITOR, ORGS).height == n0
    done = tables.import_frame(demo_db, EDITOR, ORGS, frame, commit=True)
    df = tables.load(demo_db, EDITOR, ORGS)
    assert df.height == n0 + 2
    a = df.filter(pl.col("name") == "新甲支部").row(0, named=True)
    b = df.filter(pl.col("name") == "新乙支部").row(0, named=True)
    assert b["parent_id"] == a["id"]
    audit.revert_batch(demo_db, EDITOR, done.batch_id)
    assert tables.load(demo_db, EDITOR, ORGS).height == n0


def test_export_then_import_changes_nothing(demo_db, tmp_path):
    p = tmp_path / "orgs.xlsx"
    fileio.write_frame(tables.export_frame(demo_db, EDITOR, ORGS), p)
    res = tables.import_frame(demo_db, EDITOR, ORGS, fileio.read_frame(p), commit=True)
    assert res.ok and res.inserts == 0 and res.updates == 0 and res.unchanged > 0


def test_a_save_in_a_table_without_table_checks_reads_only_the_rows_it_names(demo_db, monkeypatch):
    """members has no table-wide checks: a save compares the rows it names and finds a
    duplicate 党员编号 held by an untouched row in SQL, never reading the whole table."""
    import importlib

    tables_save = importlib.import_module("dangjian_core.tables.save")  # (tables.save is the function)

    def whole_table(*args, **kwargs):
        raise AssertionError("the whole table was read")

    monkeypatch.setattr(tables_save, "_full_table", whole_table)
    members = tables.get_spec("members")
    df = tables.load(demo_db, EDITOR, members)
    a, b = df.row(0, named=True), df.row(1, named=True)
    with pytest.raises(ValidationFailed) as e:
        tables.save(demo_db, EDITOR, members, tables.Changes(
            updates={a["id"]: {"member_no": b["member_no"]}}, versions={a["id"]: a["version"]},
            row_numbers={a["id"]: 1}))
    assert [(x.row, x.column, x.message) for x in e.value.errors] == [
        (1, "党员编号", f"与第 {b['id']} 行重复，党员编号不能重复")]
    res = tables.save(demo_db, EDITOR, members, tables.Changes(
        updates={a["id"]: {"phone": "13900000000"}}, versions={a["id"]: a["version"]}))
    assert res.updated == 1 and res.batch_id is not None


def test_new_rows_are_named_新增第N行_without_row_numbers(demo_db):
    """tables.save without row_numbers (a workflow, a script): a new row's problems say
    「新增第2行」 on every path — parsing, required cells, checks, duplicates."""
    a = _row(demo_db)
    good = {"name": "新支部甲", "level": "党支部", "category": "农村", "street": a["street"], "member_count": "5"}
    bad = {**good, "name": "新支部乙", "category": "没有这个类别", "member_count": "很多"}
    with pytest.raises(ValidationFailed) as e:
        tables.save(demo_db, EDITOR, ORGS, tables.Changes(inserts=[good, bad]))
    assert {x.row for x in e.value.errors} == {"新增第2行"}, e.value.errors
    text = str(e.value)
    assert "新增第2行 列「类别」" in text and "第 新增" not in text and "'new'" not in text
    with pytest.raises(ValidationFailed) as e:
        tables.save(demo_db, EDITOR, ORGS, tables.Changes(inserts=[good, {**good, "street": ""}, dict(good)]))
    text = str(e.value)
    assert "新增第2行 列「街道/系统」：必填" in text and "与新增第1行重复" in text and "第 新增" not in text, text


def test_revert_conflicts_when_row_changed_since(demo_db):
    r = _row(demo_db)
    first = tables.save(demo_db, EDITOR, ORGS, tables.Changes(updates={r["id"]: {"name": "一"}},
                                                            versions={r["id"]: r["version"]}))
    tables.save(demo_db, EDITOR, ORGS, tables.Changes(updates={r["id"]: {"name": "二"}},
                                                    versions={r["id"]: r["version"] + 1}))
    with pytest.raises(ConflictError, match="又被改过"):
        audit.revert_batch(demo_db, EDITOR, first.batch_id)
    assert _row(demo_db)["name"] == "二"


def test_unique_names_are_checked_against_the_whole_table_after_the_change(demo_db):
    """Only the touched rows come into Python: duplicates with untouched rows, between new rows,
    and names freed by a swap in the same save are judged on the table after it."""
    df = tables.load(demo_db, EDITOR, ORGS)
    a, b = df.row(3, named=True), df.row(4, named=True)
    with pytest.raises(ValidationFailed) as e:
        tables.save(demo_db, EDITOR, ORGS, tables.Changes(
            updates={a["id"]: {"name": b["name"]}}, versions={a["id"]: a["version"]}, row_numbers={a["id"]: 4}))
    assert [(x.row, x.column, x.message) for x in e.value.errors] == [
        (4, "名称", f"与第 {b['id']} 行重复，名称不能重复")]
    new = {"name": "同名支部", "level": "党支部", "category": "农村", "street": a["street"], "member_count": "5",
           "parent_id": a["name"]}
    with pytest.raises(ValidationFailed) as e:
        tables.save(demo_db, EDITOR, ORGS, tables.Changes(inserts=[new, dict(new)]))
    assert sorted(x.message for x in e.value.errors) == [
        "与新增第1行重复，名称不能重复", "与新增第2行重复，名称不能重复"]
    swapped = tables.save(demo_db, EDITOR, ORGS, tables.Changes(
        updates={a["id"]: {"name": b["name"]}, b["id"]: {"name": a["name"]}},
        versions={a["id"]: a["version"], b["id"]: b["version"]}))
    assert swapped.updated == 2
    names = dict(zip(*tables.load(demo_db, EDITOR, ORGS).select("id", "name").to_dict(as_series=False).values()))
    assert (names[a["id"]], names[b["id"]]) == (b["name"], a["name"])


def _content(db, table):
    with db.read() as cur:
        return cur.sql(f"SELECT * EXCLUDE (version, updated_at, updated_by) FROM {table} ORDER BY id").pl()


def test_revert_of_many_rows_restores_every_column_and_logs_each_row(demo_db):
    """Reverting is set-based (one statement per table and kind of change): updates of every
    column type (text, numbers, dates, coordinates) and deletes of several rows come back exactly,
    and the revert batch records one entry per row with before and after."""
    orgs0, members0 = _content(demo_db, "orgs"), _content(demo_db, "members")
    MEMBERS = tables.get_spec("members")
    rows = tables.load(demo_db, EDITOR, ORGS).head(8).to_dicts()
    upd = tables.save(demo_db, EDITOR, ORGS, tables.Changes(
        updates={r["id"]: {"secretary": f"新书记{i}", "tier": "先进", "member_count": "99"}
                 for i, r in enumerate(rows[:6])},
        versions={r["id"]: r["version"] for r in rows[:6]}))
    members = tables.load(demo_db, EDITOR, MEMBERS).tail(5).to_dicts()
    gone = tables.save(demo_db, EDITOR, MEMBERS, tables.Changes(deletes=[m["id"] for m in members]))
    assert not _content(demo_db, "orgs").equals(orgs0) and _content(demo_db, "members").height == members0.height - 5
    first = audit.revert_batch(demo_db, EDITOR, gone.batch_id)
    second = audit.revert_batch(demo_db, EDITOR, upd.batch_id)
    assert _content(demo_db, "members").equals(members0)
    assert _content(demo_db, "orgs").equals(orgs0)
    log = audit.list_changes(demo_db, EDITOR, batch_id=first)
    assert log.height == 5 and set(log["action"]) == {"insert"} and log["before"].null_count() == 5
    log = audit.list_changes(demo_db, EDITOR, batch_id=second)
    assert log.height == 6 and set(log["action"]) == {"update"}
    assert all('"新书记' in b and '"新书记' not in a for b, a in zip(log["before"], log["after"]))
    with pytest.raises(ConflictError, match="已经撤销过"):
        audit.revert_batch(demo_db, EDITOR, upd.batch_id)


def test_revert_of_many_rows_refuses_whole_when_one_row_changed_since(demo_db):
    rows = tables.load(demo_db, EDITOR, ORGS).head(5).to_dicts()
    first = tables.save(demo_db, EDITOR, ORGS, tables.Changes(
        updates={r["id"]: {"secretary": "甲"} for r in rows}, versions={r["id"]: r["version"] for r in rows}))
    tables.save(demo_db, EDITOR, ORGS, tables.Changes(updates={rows[3]["id"]: {"secretary": "乙"}},
                                                    versions={rows[3]["id"]: rows[3]["version"] + 1}))
    with pytest.raises(ConflictError, match=f"第 {rows[3]['id']} 条记录.*又被改过"):
        audit.revert_batch(demo_db, EDITOR, first.batch_id)
    assert tables.load(demo_db, EDITOR, ORGS).head(5)["secretary"].to_list() == ["甲", "甲", "甲", "乙", "甲"]


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.text(max_size=8), st.integers(-5, 200000).map(str),
                 st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str)))
def test_parse_int_never_raises_and_respects_range(raw):
    col = ORGS.column("member_count")
    v, err = tables.parse_value(col, raw)
    assert (v is None) or (err is None and 0 <= v <= 100000)


_CELLS = st.one_of(
    st.text(max_size=6), st.sampled_from(["", " ", None, "'=1", "12", "12.0", "-3", "0", "100000", "100001",
                                          "30.5", "-90", "90", "90.0000001", "2024-03-15", "2024-02-30",
                                          "是", "否", "党支部", "branch", "东湖街道党工委", "1", "11010519491231002X",
                                          "11010519491231002x", "110101199001011200", "123.0", "x" * 101]),
    st.integers(-10**6, 10**6).map(str),
    st.decimals(min_value=-200, max_value=200, allow_nan=False, places=3).map(str),
    st.dates().map(str),
    # coordinates: up to 6 decimals read column-wise, longer ones rounded cell by cell
    st.integers(0, 12).flatmap(lambda k: st.decimals(min_value=-181, max_value=181, places=k).map(str)),
    st.sampled_from(["30.1234565", "-0.0", "114.4692445", "0.0000005", "-90.000000", "89.9999995"]),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(_CELLS, min_size=1, max_size=25))
def test_column_parsing_of_an_import_equals_parsing_cell_by_cell(cells):
    refs = {"parent_id": {"ids": {1, 2}, "by_label": {"东湖街道党工委": 1}, "by_id": {1: "东湖街道党工委"}},
            "org_id": {"ids": {1, 2}, "by_label": {"东湖街道党工委": 1}, "by_id": {1: "东湖街道党工委"}}}
    s = pl.Series("x", cells, dtype=pl.String)
    for spec in (ORGS, tables.get_spec("members")):
        for col in spec.columns:
            got = tables_parse._parse_column(col, s, refs)
            for raw, v, e in zip(cells, got.values.to_list(), got.errors.to_list(), strict=True):
                want_v, want_e = tables.parse_value(col, raw, refs)
                assert (v, e) == (want_v, want_e), (col.name, raw)


def test_members_file_with_earlier_dues_category_labels_imports(demo_db, tmp_path):
    """The dues categories took the spec's wording (个体经营/不按月取得收入, 停止党籍/出国暂停): a
    members file exported before, or typed with the short words, still imports; a word that is
    no category is still refused by row and column."""
    MEMBERS = tables.get_spec("members")
    exported = tables.export_frame(demo_db, EDITOR, MEMBERS)
    old = exported.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("个体经营"))
        .when(pl.int_range(pl.len()) == 1).then(pl.lit("停止党籍/暂停"))
        .otherwise(pl.col("党费类别")).alias("党费类别"))
    fileio.write_frame(old, tmp_path / "old.xlsx")
    old_file = fileio.read_frame(tmp_path / "old.xlsx")
    pre = tables.import_frame(demo_db, EDITOR, MEMBERS, old_file, commit=False)
    assert pre.ok and not pre.errors, pre.errors
    done = tables.import_frame(demo_db, EDITOR, MEMBERS, old_file, commit=True, expect_versions=pre.seen_versions)
    assert done.ok
    ids = exported["编号"].head(2).cast(pl.Int64).to_list()
    rows = tables.load(demo_db, EDITOR, MEMBERS).filter(pl.col("id").is_in(ids)).sort("id")
    assert rows["dues_category"].to_list() == ["self_employed", "suspended"]
    bad = exported.with_columns(pl.when(pl.int_range(pl.len()) == 2).then(pl.lit("个体户主"))
                                .otherwise(pl.col("党费类别")).alias("党费类别"))
    fileio.write_frame(bad, tmp_path / "bad.xlsx")
    res = tables.import_frame(demo_db, EDITOR, MEMBERS, fileio.read_frame(tmp_path / "bad.xlsx"), commit=False)
    assert [(e.row, e.column) for e in res.errors] == [(4, "党费类别")]


def test_import_tree_check_names_each_row_in_a_loop_and_accepts_a_deep_line(demo_db, tmp_path):
    """The 上级 check runs column-wise over the whole table: new rows that are their own 上级 or
    form a loop among themselves are refused by row and column (nothing written); a line of
    60 new orgs each under the one before is accepted."""
    head = "名称,层级,类别,街道/系统,党员人数,上级党组织\n"
    n0 = tables.load(demo_db, EDITOR, ORGS).height
    p = tmp_path / "loop.csv"
    p.write_text(head + "环甲,党支部,农村,东湖街道,5,环乙\n环乙,党支部,农村,东湖街道,5,环丙\n"
                 "环丙,党支部,农村,东湖街道,5,环甲\n自己,党支部,农村,东湖街道,5,自己\n"
                 "正常,党支部,农村,东湖街道,5,东湖街道党工委\n挂环,党支部,农村,东湖街道,5,环甲\n", encoding="utf-8")
    for commit in (False, True):
        res = tables.import_frame(demo_db, EDITOR, ORGS, fileio.read_frame(p), commit=commit)
        assert [(e.row, e.column) for e in res.errors] == [(2, "上级党组织"), (3, "上级党组织"), (4, "上级党组织"),
                                                           (5, "上级党组织"), (7, "上级党组织")]
        assert "循环" in res.errors[0].message and "它自己" in res.errors[3].message
        assert tables.load(demo_db, EDITOR, ORGS).height == n0
    rows = [f"链{i},党支部,农村,东湖街道,5,{'东湖街道党工委' if i == 0 else f'链{i - 1}'}" for i in range(60)]
    p.write_text(head + "\n".join(rows) + "\n", encoding="utf-8")
    res = tables.import_frame(demo_db, EDITOR, ORGS, fileio.read_frame(p), commit=True)
    assert res.ok and res.inserts == 60, [str(e) for e in res.errors]
    df = tables.load(demo_db, EDITOR, ORGS)
    ids = dict(zip(df["name"].to_list(), df["id"].to_list()))
    assert all(df.filter(pl.col("name") == f"链{i}")["parent_id"].item() == ids[f"链{i - 1}"] for i in range(1, 60))


def test_size_and_parent_rules_name_the_row_and_column_warn_or_refuse(demo_db):
    """The column-wise org rules: a 党委 or 党总支 too small is a warning naming the row; an org
    whose 上级 goes in the same save is refused (its 上级党组织 cell named), nothing written."""
    df = tables.load(demo_db, EDITOR, ORGS)
    committee = df.filter(pl.col("level") == "committee").row(0, named=True)
    child = df.filter(pl.col("parent_id") == committee["id"]).row(0, named=True)
    res = tables.save(demo_db, EDITOR, ORGS, tables.Changes(
        updates={committee["id"]: {"member_count": 10}}, versions={committee["id"]: committee["version"]},
        row_numbers={committee["id"]: 4}))
    assert res.updated == 1 and any(w.startswith("第 4 行「党员人数」") and "党委一般" in w for w in res.warnings)
    before = tables.export_frame(demo_db, EDITOR, ORGS)
    other = df.filter((pl.col("id") != committee["id"]) & (pl.col("parent_id") != committee["id"])).row(0, named=True)
    with pytest.raises(ValidationFailed) as exc:
        tables.save(demo_db, EDITOR, ORGS, tables.Changes(
            updates={other["id"]: {"parent_id": committee["name"]}}, versions={other["id"]: other["version"]},
            deletes=[committee["id"]], row_numbers={other["id"]: 7, child["id"]: 8}))
    text = str(exc.value)
    assert "第 7 行 列「上级党组织」" in text and "上级党组织不存在" in text
    assert "第 8 行 列「上级党组织」" in text and "将被删除" in text
    assert tables.export_frame(demo_db, EDITOR, ORGS).equals(before)
