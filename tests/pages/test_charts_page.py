"""简报图表 page and the overview's 「常用图表」 through AppTest."""

import json

import pytest

from dangjian_core.charts import datasets, demo, model, store
from tests.pages.apptest_helpers import app_for, problems


def vega_charts(at):
    return at.get("vega_lite_chart")


def spec_text(chart) -> str:
    return json.dumps(json.loads(chart.proto.spec), ensure_ascii=False)


def open_page(monkeypatch, tmp_path, demo_db_file, role):
    at = app_for(monkeypatch, tmp_path, demo_db_file, role)
    at.switch_page("pages/charts.py")
    at.run()
    assert not problems(at), problems(at)
    return at


def button(at, label):
    return next(b for b in at.button if b.label == label)


def download_labels(at):
    return [d.proto.label for d in at.get("download_button")]


@pytest.mark.parametrize("role", ["admin", "editor", "treasurer", "viewer"])
def test_page_draws_a_chart_with_export_buttons_for_every_role(monkeypatch, tmp_path, demo_db_file, role):
    at = open_page(monkeypatch, tmp_path, demo_db_file, role)
    assert at.title[0].value == "简报图表"
    assert len(vega_charts(at)) == 1
    assert {"下载 PNG（幻灯片用）", "下载 SVG", "下载数据（Excel）"} <= set(download_labels(at))
    assert any("幻灯片请用 PNG" in c.value for c in at.caption)
    saving = [b.label for b in at.button if b.label in ("保存为新图表", "保存修改")]
    if role == "viewer":
        assert not saving
        assert any("不能保存" in c.value for c in at.caption)
        assert not [b for b in at.button if b.label == "删除"]
    else:
        assert saving == ["保存为新图表", "保存修改"]


def test_editor_builds_saves_and_finds_the_chart_on_the_overview(monkeypatch, tmp_path, demo_db_file):
    at = open_page(monkeypatch, tmp_path, demo_db_file, "editor")
    at.selectbox(key="ch_kind").select("stacked")
    at.run()
    at.selectbox(key="ch_x").select("category")
    at.selectbox(key="ch_color").select("tier")
    at.text_input(key="ch_title").input("各类别党组织评定等次")
    at.run()
    assert not problems(at)
    spec = spec_text(vega_charts(at)[0])
    assert "各类别党组织评定等次" in spec and "先进" in spec
    at.text_input(key="ch_name").input("月度简报：等次分布")
    button(at, "保存为新图表").click()
    at.run()
    assert not problems(at), problems(at)
    assert any("已保存图表「月度简报：等次分布」" in s.value for s in at.success)
    assert at.session_state["ch_editing"][2] == "月度简报：等次分布"
    shown = at.dataframe[-1].value
    assert "月度简报：等次分布" in shown["名称"].to_list()

    at.switch_page("pages/home.py")
    at.run()
    assert not problems(at)
    assert any(m.value == "**月度简报：等次分布**" for m in at.markdown)
    assert len(vega_charts(at)) >= len(demo.DEMO_CHARTS) + 1


def test_open_edit_and_save_changes(monkeypatch, tmp_path, demo_db_file):
    at = open_page(monkeypatch, tmp_path, demo_db_file, "editor")
    at.selectbox(key="ch_pick").select(2)  # 各街道党员人数
    button(at, "打开").click()
    at.run()
    assert not problems(at)
    assert at.session_state["ch_dataset"] == "members" and at.session_state["ch_x"] == "street"
    assert at.session_state["ch_horizontal"] is True
    at.text_input(key="ch_subtitle").input("截至本月底")
    at.run()
    button(at, "保存修改").click()
    at.run()
    assert not problems(at)
    from ui.session import get_db

    saved = store.get_chart(get_db(), 2)
    assert saved.spec().subtitle == "截至本月底" and saved.version == 2


def test_a_combination_that_cannot_be_drawn_shows_a_message_not_a_traceback(monkeypatch, tmp_path, demo_db_file):
    at = open_page(monkeypatch, tmp_path, demo_db_file, "viewer")
    at.selectbox(key="ch_dataset").select("members")
    at.run()
    at.selectbox(key="ch_x").select("org")
    at.run()  # 300 orgs: too many for one chart
    assert not problems(at)
    assert any("只显示前几项" in i.value for i in at.info)
    assert not vega_charts(at)
    at.number_input(key="ch_limit").set_value(10)
    at.run()
    assert not problems(at) and len(vega_charts(at)) == 1


def test_empty_filter_result_says_so(monkeypatch, tmp_path, demo_db_file):
    at = open_page(monkeypatch, tmp_path, demo_db_file, "viewer")
    slider = at.slider(key="ch_f_orgs_member_count")
    slider.set_range(slider.min, slider.min)  # the smallest orgs are branches…
    at.multiselect(key="ch_f_orgs_level").select("党委")  # …and no 党委 is that small
    at.run()
    assert not problems(at)
    assert any("筛选后没有数据" in i.value for i in at.info)


def test_delete_needs_confirmation(monkeypatch, tmp_path, demo_db_file):
    at = open_page(monkeypatch, tmp_path, demo_db_file, "editor")
    assert button(at, "删除").disabled
    at.selectbox(key="ch_pick").select(4)
    at.checkbox(key="ch_del_sure_0").check()
    at.run()
    button(at, "删除").click()
    at.run()
    assert not problems(at)
    assert any("已删除图表「近年发展党员数」" in s.value for s in at.success)
    from ui.session import get_db

    assert 4 not in [c.id for c in store.list_charts(get_db())]


def test_overview_shows_a_message_for_a_saved_chart_that_no_longer_fits(monkeypatch, tmp_path, demo_db_file):
    at = app_for(monkeypatch, tmp_path, demo_db_file, "viewer")
    from ui.session import get_db

    spec = model.ChartSpec("members", "bar", x="status").to_dict()
    spec["x"] = "political_face"
    with get_db().write() as cur:
        cur.execute("INSERT INTO charts(name, dataset, spec, position) VALUES ('旧口径图表', 'members', ?, 0)",
                    [json.dumps(spec)])
    at.switch_page("pages/home.py")
    at.run()
    assert not problems(at)
    assert any("图表「旧口径图表」现在画不出来" in i.value and "political_face" in i.value for i in at.info)
    assert len(vega_charts(at)) == 1 + len(demo.DEMO_CHARTS)  # the page's own chart + the demo ones


def test_every_dataset_and_chart_type_in_the_page_gives_a_chart_or_a_message(monkeypatch, tmp_path, demo_db_file):
    at = open_page(monkeypatch, tmp_path, demo_db_file, "treasurer")
    labels = at.selectbox(key="ch_dataset").options
    assert len(labels) >= 2
    drawn = 0
    for label in labels:
        code = next(d.code for d in datasets.all_datasets().values() if d.label == label)
        at.selectbox(key="ch_dataset").set_value(code)
        for kind in model.CHART_TYPES:
            at.selectbox(key="ch_kind").set_value(kind)
            at.run()
            assert not problems(at), (code, kind, problems(at))
            assert len(vega_charts(at)) == 1 or at.info, (code, kind)
            drawn += len(vega_charts(at))
    assert drawn >= len(labels) * len(model.CHART_TYPES) // 2, "most defaults draw a chart"
