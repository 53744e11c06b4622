"""简报图表 core: dataset registry, ChartSpec validation, natural order, every chart type over
every dataset, PNG/SVG/xlsx export with Chinese text, saved charts with audit."""

from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal

import numpy as np
import polars as pl
import pytest
from PIL import Image, ImageChops

import dangjian_core.charts as charts_package
from dangjian_core import audit, registry, vocab
from dangjian_core.charts import build, datasets, demo, export, model, store, style
from dangjian_core.charts.model import ChartSpec
from dangjian_core.contracts import Dataset, Field
from dangjian_core.errors import BadInput, ConflictError, NotFound, PermissionDenied
from tests.conftest import ADMIN, EDITOR, TREASURER, VIEWER

OUR = ("orgs", "members")


# -- helpers -------------------------------------------------------------------------------
def png_image(data: bytes) -> Image.Image:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return Image.open(io.BytesIO(data)).convert("RGB")


def ink(img: Image.Image, box=None) -> int:
    """Pixels that are not (nearly) white inside box."""
    region = img.crop(box) if box else img
    return int((np.asarray(region.convert("L")) < 200).sum())


def declare(monkeypatch, dataset: Dataset | None = None, **kwargs) -> Dataset:
    """Declare one more dataset for this test, the way a subject does: in its package's DATASETS
    (the registry reads them live)."""
    ds = dataset or Dataset(**kwargs)
    model.check_dataset(ds)
    monkeypatch.setattr(charts_package, "DATASETS", charts_package.DATASETS + (ds,))
    return ds


@pytest.fixture
def scratch_dataset(monkeypatch):
    """A dataset of our own (no tables): months, grades, a date, a Decimal measure."""
    months = [f"{m}月" for m in (12, 3, 1, 11, 2, 10)]
    frame = pl.DataFrame({
        "month": months * 4,
        "grade": (["差", "好", "一般", "较好"] * 6),
        "day": [date(2025, (i % 6) + 1, 1) for i in range(24)],
        "amount": [Decimal("10.05") * (i + 1) for i in range(24)],
        "count": list(range(24)),
    }, schema_overrides={"amount": pl.Decimal(18, 2)})
    return declare(monkeypatch, Dataset(
        code="scratch_test", label="测试数据", description="测试用",
        fields=[Field("month", "月份", "ordinal"), Field("grade", "测评等次", "ordinal"),
                Field("day", "日期", "temporal"), Field("amount", "金额", "quantitative", unit="元"),
                Field("count", "件数", "quantitative")],
        loader=lambda db, user: frame))


def all_specs(ds: Dataset) -> list[ChartSpec]:
    """Every chart type with a sensible choice of fields, counting and (if any) summing."""
    dims = [f.name for f in ds.dimensions]
    measure = ds.measures[0].name if ds.measures else None
    x = dims[0]
    # a second dimension with few values (a declared order: categories, tiers, grades)
    second = next((f.name for f in ds.dimensions[1:] if f.order), dims[1] if len(dims) > 1 else None)
    out = []
    for kind in model.CHART_TYPES:
        color = second if kind in ("stacked", "heatmap", "table") else None
        out.append(ChartSpec(ds.code, kind, x=x, color=color, limit=8))
        if measure:
            agg = "sum" if kind in ("pie", "donut") else "mean"
            out.append(ChartSpec(ds.code, kind, x=x, y=measure, agg=agg, color=color, limit=8))
    if second:
        out.append(ChartSpec(ds.code, "bar", x=x, color=second, limit=6))  # grouped bars
        out.append(ChartSpec(ds.code, "bar", x=x, facet=second, limit=6))
    return out


# -- the registry --------------------------------------------------------------------------
def test_our_datasets_are_listed_for_every_role(demo_db):
    for user in (ADMIN, EDITOR, TREASURER, VIEWER):
        codes = [d.code for d in datasets.available_datasets(demo_db, user)]
        assert set(OUR) <= set(codes), user


def test_dataset_over_missing_table_is_absent_and_refused(demo_db, monkeypatch):
    declare(monkeypatch, code="not_yet_test", label="还没有的表", description="",
            fields=[Field("a", "甲")], tables=("table_not_built_yet",),
            loader=lambda db, user: db.read().__enter__().sql("SELECT * FROM table_not_built_yet").pl())
    assert "not_yet_test" not in [d.code for d in datasets.available_datasets(demo_db, ADMIN)]
    with pytest.raises(BadInput, match="暂不可用"):
        datasets.load_frame(demo_db, ADMIN, "not_yet_test")


def test_loader_hitting_a_missing_table_is_a_chinese_message(demo_db, monkeypatch):
    def loader(db, user):
        with db.read() as cur:
            return cur.sql("SELECT * FROM dues_payments_not_here").pl()

    declare(monkeypatch, code="undeclared_test", label="未声明表", description="",
            fields=[Field("a", "甲")], loader=loader)
    with pytest.raises(BadInput, match="暂不可用"):
        datasets.load_frame(demo_db, ADMIN, "undeclared_test")


def test_dues_like_dataset_needs_dues_read(demo_db, monkeypatch):
    declare(monkeypatch, code="dues_test", label="党费（测试）", description="", perm="dues.read",
            fields=[Field("a", "甲")], loader=lambda db, user: pl.DataFrame({"a": ["x"]}))
    assert "dues_test" in [d.code for d in datasets.available_datasets(demo_db, TREASURER)]
    assert "dues_test" in [d.code for d in datasets.available_datasets(demo_db, ADMIN)]
    for user in (EDITOR, VIEWER):
        assert "dues_test" not in [d.code for d in datasets.available_datasets(demo_db, user)]
        with pytest.raises(PermissionDenied, match="查看党费"):
            datasets.load_frame(demo_db, user, "dues_test")


@pytest.mark.parametrize("kwargs", [
    dict(code="Bad Code"),
    dict(fields=[]),
    dict(fields=[Field("value", "值")]),
    dict(fields=[Field("a", "甲", "categorical")]),
    dict(fields=[Field("a", "甲"), Field("a", "乙")]),
    dict(fields=[Field("n", "数", "quantitative")]),
])
def test_a_malformed_dataset_is_a_programming_error(kwargs):
    base = dict(code="bad_test", label="坏", description="", fields=[Field("a", "甲")],
                loader=lambda db, user: None)
    with pytest.raises(ValueError):
        model.check_dataset(Dataset(**{**base, **kwargs}))


def test_every_declared_dataset_is_well_formed_and_listed_once():
    declared = registry.datasets()
    assert set(OUR) <= set(declared)
    for ds in declared.values():
        model.check_dataset(ds)
    assert list(datasets.all_datasets())[:2] == list(OUR), "the general datasets come first"


def test_frames_carry_chinese_labels_and_no_personal_data(demo_db):
    members = datasets.load_frame(demo_db, VIEWER, "members")
    assert "name" not in members.columns and "id_number" not in members.columns
    assert set(members["status"].unique()) <= {"正式党员", "预备党员"}
    orgs = datasets.load_frame(demo_db, VIEWER, "orgs")
    assert set(orgs["tier"].unique()) <= {"先进", "达标", "后进"}
    assert set(orgs["category"].unique()) <= set(vocab.CATEGORIES.values())


# -- natural order ---------------------------------------------------------------------------
@pytest.mark.parametrize("shuffled, expected", [
    (["后进", "先进", "达标"], ["先进", "达标", "后进"]),
    (["差", "一般", "好", "较好"], ["好", "较好", "一般", "差"]),
    (["三月", "十二月", "一月", "二月", "十一月"], ["一月", "二月", "三月", "十一月", "十二月"]),
    (["10月", "2月", "1月", "12月"], ["1月", "2月", "10月", "12月"]),
    (["2024年12月", "2024年3月", "2023年11月"], ["2023年11月", "2024年3月", "2024年12月"]),
    (["第十季度", "第二季度", "第一季度"], ["第一季度", "第二季度", "第十季度"]),
    (["企业", "农村", "社会团体", "机关"], ["农村", "机关", "企业", "社会团体"]),
    (["党支部", "党委", "党总支"], ["党委", "党总支", "党支部"]),
    ([2019, 2001, None, 2010], [2001, 2010, 2019, None]),
])
def test_natural_order_never_by_code_point(shuffled, expected):
    assert build.natural_order(shuffled) == expected


def test_declared_order_wins_and_unknown_values_follow():
    assert build.natural_order(["乙", "丙", "甲", "丁"], ["甲", "乙", "丙"]) == ["甲", "乙", "丙", "丁"]


def test_chart_axes_and_legends_follow_natural_order(scratch_dataset):
    frame = scratch_dataset.loader(None, None)
    built = build.build_chart(ChartSpec("scratch_test", "stacked", x="month", color="grade"), frame)
    assert built.orders["month"] == ["1月", "2月", "3月", "10月", "11月", "12月"]
    assert built.orders["grade"] == ["好", "较好", "一般", "差"]
    layer = built.vega["layer"][0]
    assert layer["encoding"]["x"]["sort"] == built.orders["month"]
    assert layer["encoding"]["color"]["sort"] == built.orders["grade"]
    table = built.table
    assert table["月份"].to_list() == sorted(table["月份"].to_list(), key=built.orders["month"].index)
    first = table.filter(pl.col("月份") == "1月")["测评等次"].to_list()
    assert first == sorted(first, key=built.orders["grade"].index) and len(first) == 2


def test_categories_without_a_natural_order_go_largest_first(demo_db):
    frame = datasets.load_frame(demo_db, VIEWER, "members")
    built = build.build_chart(ChartSpec("members", "bar", x="street"), frame)
    values = built.data["value"].to_list()
    assert values == sorted(values, reverse=True)
    asc = build.build_chart(ChartSpec("members", "bar", x="category" if False else "org_category",
                                       sort="asc"), frame)
    assert asc.data["value"].to_list() == sorted(asc.data["value"].to_list())


# -- validation ------------------------------------------------------------------------------
@pytest.mark.parametrize("spec, message", [
    (ChartSpec("orgs", "bar"), "请选择横轴"),
    (ChartSpec("orgs", "pie", x="category", color="tier"), "只能按一个分类"),
    (ChartSpec("orgs", "pie", x="category", y="member_count", agg="mean"), "只能是「计数」或「求和」"),
    (ChartSpec("orgs", "pie", x="member_count"), "是数值字段"),
    (ChartSpec("orgs", "bar", x="category", agg="sum"), "需要选择一个数值字段"),
    (ChartSpec("orgs", "bar", x="category", y="tier", agg="sum"), "不是数值字段"),
    (ChartSpec("orgs", "bar", x="category", color="category"), "不能选同一个字段"),
    (ChartSpec("orgs", "heatmap", x="category"), "热力图需要两个分类"),
    (ChartSpec("orgs", "radar", x="category"), "不认识的图表类型"),
    (ChartSpec("orgs", "bar", x="category", agg="median"), "不认识的统计方式"),
    (ChartSpec("orgs", "bar", x="join_year"), "已不在数据集"),
    (ChartSpec("orgs", "bar", x="category", filters={"gone": {"in": ["x"]}}), "已不在数据集"),
    (ChartSpec("orgs", "bar", x="category", filters={"member_count": {"min": 9, "max": 1}}), "下限大于上限"),
    (ChartSpec("orgs", "bar", x="category", title="长" * 61), "标题太长"),
    (ChartSpec("orgs", "bar", x="category", limit=0), "正整数"),
    (ChartSpec("no_such_dataset", "bar", x="a"), "数据集「no_such_dataset」不存在"),
])
def test_impossible_charts_are_refused_in_chinese(demo_db, spec, message):
    with pytest.raises(BadInput, match=message):
        spec.validate()
    if spec.dataset in datasets.all_datasets():
        with pytest.raises(BadInput, match=message):
            build.build_chart(spec, datasets.load_frame(demo_db, ADMIN, spec.dataset))


def test_empty_filter_result_is_a_message(demo_db):
    spec = ChartSpec("orgs", "bar", x="category", filters={"street": {"in": ["没有这个街道"]}})
    with pytest.raises(BadInput, match="筛选后没有数据"):
        store.make_chart(demo_db, VIEWER, spec)


def test_too_many_categories_asks_for_top_n(demo_db):
    frame = datasets.load_frame(demo_db, VIEWER, "members")
    with pytest.raises(BadInput, match="只显示前几项"):
        build.build_chart(ChartSpec("members", "pie", x="join_year"), frame)
    built = build.build_chart(ChartSpec("members", "pie", x="join_year", limit=5), frame)
    assert built.orders["join_year"][-1] == "其他", "a pie keeps the whole: the rest is 其他"
    assert built.data["value"].sum() == frame.height


def test_filters_by_values_and_range(demo_db):
    frame = datasets.load_frame(demo_db, VIEWER, "members")
    street = frame["street"][0]
    spec = ChartSpec("members", "bar", x="status",
                     filters={"street": {"in": [street]}, "join_year": {"min": 2000, "max": 2010}})
    built = build.build_chart(spec, frame)
    expected = frame.filter((pl.col("street") == street) & pl.col("join_year").is_between(2000, 2010))
    assert built.data["value"].sum() == expected.height > 0


def test_spec_round_trips_through_json():
    spec = ChartSpec("members", "line", x="join_year", filters={"join_year": {"min": 2010}},
                     title="标题", subtitle="副标题", limit=3)
    assert ChartSpec.from_json(spec.to_json()) == spec
    with pytest.raises(BadInput, match="已损坏"):
        ChartSpec.from_json("{not json")
    with pytest.raises(BadInput, match="缺少数据集"):
        ChartSpec.from_json("{}")


# -- every chart type over every dataset -----------------------------------------------------
def test_every_chart_type_builds_over_every_dataset(demo_db, scratch_dataset):
    built_kinds = set()
    for ds in datasets.available_datasets(demo_db, ADMIN):
        frame = datasets.load_frame(demo_db, ADMIN, ds)
        for spec in all_specs(ds):
            built = build.build_chart(spec, frame, ds)
            vega = built.vega
            assert vega["config"]["font"].startswith("Noto Sans CJK SC")
            assert built.table.columns[-1] == built.value_label
            assert built.data.height > 0
            built_kinds.add((ds.code, spec.kind))
    for code in OUR + ("scratch_test",):
        assert {k for c, k in built_kinds if c == code} == set(model.CHART_TYPES)


def test_every_chart_type_exports_a_png_of_the_expected_size(demo_db):
    """Every chart type is drawn to PNG, and every dataset present (ours, and those other
    modules registered) is drawn at least once: the chart types are dealt round the datasets
    (each dataset's spec list rotated by its position) instead of drawing every type over every
    dataset — building every type over every dataset is proven above without rasterising."""
    offered = datasets.available_datasets(demo_db, ADMIN)
    drawn: set[str] = set()
    facet_drawn = False
    for i, ds in enumerate(offered):
        specs = [s for s in all_specs(ds) if s.agg == "count"]
        kinds_left = [k for k in model.CHART_TYPES if k not in drawn]
        share = max(1, -(-len(kinds_left) // (len(offered) - i)))  # ceil: the rest, spread evenly
        mine = [s for s in specs if s.kind in kinds_left and not s.facet][:share] or specs[:1]
        if not facet_drawn:  # the grouped-bar and facet layouts once
            mine += [s for s in specs if s.kind == "bar" and s.color and s not in mine][:1]
            mine += [s for s in specs if s.facet][:1]
            facet_drawn = any(s.facet for s in mine)
        check_pngs(ds, datasets.load_frame(demo_db, ADMIN, ds), mine)
        drawn |= {s.kind for s in mine}
    assert drawn == set(model.CHART_TYPES) and facet_drawn


def check_pngs(ds, frame, specs=None):
    for spec in specs if specs is not None else all_specs(ds):
        if spec.agg != "count":
            continue
        built = build.build_chart(spec, frame, ds)
        img = png_image(export.export_png(built.chart))
        if spec.kind == "table" or spec.facet:
            # a table or facet grid is as tall as its rows: small datasets give short images
            assert img.width >= 400 and img.height >= 150, (spec.kind, img.size)
        else:
            assert img.size == (2 * style.CHART_WIDTH, 2 * style.CHART_HEIGHT), (spec.kind, img.size)
        assert ink(img) > img.width * img.height * 0.01, f"{ds.code} {spec.kind}: the PNG is blank"
        # the party red is used for the first series
        colours = {c for _, c in img.getcolors(img.width * img.height)}
        assert (0xC8, 0x16, 0x1D) in colours or spec.kind in ("heatmap", "table"), (ds.code, spec.kind)


def test_chinese_labels_are_drawn_not_boxes(demo_db):
    """Render the same bar chart three ways: the CJK font draws different glyphs for different
    Chinese titles (a missing font draws identical boxes, or nothing), and hiding the category
    labels (same layout, labels transparent) changes only the label band, by their ink."""
    frame = datasets.load_frame(demo_db, ADMIN, "orgs")

    def render(title, labels=True):
        built = build.build_chart(ChartSpec("orgs", "bar", x="category", title=title), frame)
        vega = built.vega
        if not labels:
            for layer in vega["layer"]:
                layer["encoding"]["x"]["axis"]["labelOpacity"] = 0
        return png_image(export.export_png(vega))

    a, b = render("党组织数量统计"), render("示范点考评结果")
    w, h = a.size
    title_band = (0, 0, w, int(h * 0.12))
    assert ink(a, title_band) > 500, "the title is drawn"
    assert ImageChops.difference(a.crop(title_band), b.crop(title_band)).getbbox() is not None, \
        "different Chinese titles give different pixels (not the same tofu boxes)"
    plain = render("党组织数量统计", labels=False)
    left, top, right, bottom = ImageChops.difference(a, plain).getbbox()
    assert top > h * 0.7 and bottom < h * 0.95, "only the band under the bars changes"
    band = (0, top, w, bottom)
    assert ink(a, band) > ink(plain, band) + 1000, "category names (农村, 机关…) are drawn"
    a.save("/tmp/dangjian-chart-labels.png")


def test_svg_names_the_cjk_font_and_keeps_chinese_text(demo_db):
    built = store.make_chart(demo_db, VIEWER, ChartSpec("orgs", "bar", x="tier", title="评定等次分布"))
    svg = export.export_svg(built.chart)
    assert svg.lstrip().startswith("<svg")
    assert "Noto Sans CJK SC" in svg and "Microsoft YaHei" in svg
    assert "评定等次分布" in svg and "先进" in svg


def test_xlsx_has_chinese_headers_and_the_chart_numbers(demo_db):
    built = store.make_chart(demo_db, VIEWER, ChartSpec("orgs", "stacked", x="category", color="tier"))
    data = export.export_xlsx(built.table, built.title)
    back = pl.read_excel(io.BytesIO(data))
    assert back.columns == ["类别", "评定等次", "党组织数"]
    assert back["党组织数"].sum() == datasets.load_frame(demo_db, VIEWER, "orgs").height


def test_house_style_sits_under_a_charts_own_config():
    import altair as alt

    chart = alt.Chart(pl.DataFrame({"a": ["甲"], "n": [1]})).mark_bar().encode(x="a:N", y="n:Q")
    spec = style.vega_spec(chart.configure_axis(labelFontSize=30))
    assert spec["config"]["axis"]["labelFontSize"] == 30, "the chart's own setting wins"
    assert spec["config"]["axis"]["titleFontSize"] == style.HOUSE_CONFIG["axis"]["titleFontSize"]
    assert spec["config"]["range"]["category"][0] == "#C8161D"
    assert "dangjian" in alt.theme.names()


def test_temporal_and_decimal_fields(scratch_dataset):
    frame = scratch_dataset.loader(None, None)
    built = build.build_chart(ChartSpec("scratch_test", "line", x="day", y="amount", agg="sum"), frame)
    assert built.orders["day"][0] == "2025年1月"
    assert built.value_label == "金额合计（元）"
    assert built.data["value"].dtype == pl.Float64
    spec = ChartSpec("scratch_test", "bar", x="month", filters={"day": {"min": "2025-03-01"}})
    assert build.build_chart(spec, frame).data["value"].sum() == 16


# -- saved charts ------------------------------------------------------------------------------
def test_save_edit_delete_with_audit_and_revert(demo_db):
    spec = ChartSpec("orgs", "bar", x="category", title="各类别党组织数量")
    before = len(store.list_charts(demo_db))
    cid = store.save_chart(demo_db, EDITOR, "月度简报：党组织数量", spec)
    saved = store.get_chart(demo_db, cid)
    assert saved.spec() == spec and saved.on_home and saved.version == 1
    assert len(store.list_charts(demo_db)) == before + 1

    spec2 = ChartSpec("orgs", "stacked", x="category", color="tier")
    store.save_chart(demo_db, TREASURER, "月度简报：党组织数量", spec2, chart_id=cid, version=1,
                      on_home=False)
    saved = store.get_chart(demo_db, cid)
    assert saved.spec().kind == "stacked" and not saved.on_home and saved.version == 2
    assert cid not in [c.id for c in store.list_charts(demo_db, on_home=True)]
    with pytest.raises(ConflictError, match="修改过"):
        store.save_chart(demo_db, EDITOR, "月度简报：党组织数量", spec, chart_id=cid, version=1)

    changes = audit.list_changes(demo_db, ADMIN, table="charts")
    assert set(changes["action"].to_list()) == {"insert", "update"}
    assert "保存图表「月度简报：党组织数量」" in changes["description"].to_list()

    store.delete_chart(demo_db, EDITOR, cid, version=2)
    with pytest.raises(NotFound):
        store.get_chart(demo_db, cid)
    batch = audit.list_changes(demo_db, ADMIN, table="charts")["batch_id"][0]
    audit.revert_batch(demo_db, EDITOR, int(batch))
    assert store.get_chart(demo_db, cid).name == "月度简报：党组织数量", "a deleted chart can be restored"


def test_viewer_cannot_save_and_names_are_checked(demo_db):
    spec = ChartSpec("orgs", "bar", x="tier")
    with pytest.raises(PermissionDenied, match="保存图表"):
        store.save_chart(demo_db, VIEWER, "查看者的图", spec)
    with pytest.raises(PermissionDenied):
        store.delete_chart(demo_db, VIEWER, 1)
    store.save_chart(demo_db, EDITOR, "等次分布", spec)
    with pytest.raises(BadInput, match="已有名为"):
        store.save_chart(demo_db, ADMIN, " 等次分布 ", spec)
    with pytest.raises(BadInput, match="起一个名称"):
        store.save_chart(demo_db, ADMIN, "  ", spec)
    with pytest.raises(BadInput, match="画不出来"):
        store.save_chart(demo_db, ADMIN, "坏图", ChartSpec("orgs", "pie", x="tier", color="level"))


def test_saved_chart_whose_dataset_changed_shape_gives_a_message(demo_db):
    spec = ChartSpec("members", "bar", x="status").to_dict()
    spec["x"] = "political_face"  # a field the dataset no longer has
    with demo_db.write() as cur:
        cur.execute("INSERT INTO charts(name, dataset, spec) VALUES ('旧图表', 'members', ?)",
                    [json.dumps(spec)])
        cur.execute("INSERT INTO charts(name, dataset, spec) VALUES ('坏配置', 'members', '{oops')")
    by_name = {c.name: c for c in store.list_charts(demo_db)}
    with pytest.raises(BadInput, match="图表「旧图表」现在画不出来.*political_face.*已不在数据集"):
        store.render_saved(demo_db, VIEWER, by_name["旧图表"])
    with pytest.raises(BadInput, match="图表「坏配置」现在画不出来.*已损坏"):
        store.render_saved(demo_db, VIEWER, by_name["坏配置"])


def test_demo_charts_are_seeded_and_draw(demo_db):
    saved = store.list_charts(demo_db, on_home=True)
    assert [c.name for c in saved][:4] == [n for n, _ in demo.DEMO_CHARTS]
    for c in saved:
        built = store.render_saved(demo_db, VIEWER, c)
        assert built.data.height > 0
    new_id = store.save_chart(demo_db, EDITOR, "新图", ChartSpec("orgs", "bar", x="level"))
    assert new_id == len(demo.DEMO_CHARTS) + 1, "the id sequence continues after the demo rows"


def test_charts_of_datasets_a_user_cannot_read_are_hidden(demo_db, monkeypatch):
    declare(monkeypatch, code="dues_hidden_test", label="党费（测试）", description="",
            perm="dues.read", fields=[Field("a", "甲")],
            loader=lambda db, user: pl.DataFrame({"a": ["x", "y"]}))
    store.save_chart(demo_db, TREASURER, "党费图", ChartSpec("dues_hidden_test", "bar", x="a"))
    with pytest.raises(PermissionDenied):
        store.save_chart(demo_db, EDITOR, "编辑的党费图", ChartSpec("dues_hidden_test", "bar", x="a"))
    assert "党费图" in [c.name for c in store.visible_charts(demo_db, TREASURER)]
    assert "党费图" not in [c.name for c in store.visible_charts(demo_db, EDITOR)]
