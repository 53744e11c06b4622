"""ui.messages.flash: a success message survives the rerun after the action. A placed one
(`where=`) is drawn where the action was and stays while that place is drawn — a run that
follows at once, or the next click beside it, does not wipe it before it is read; it goes
after the place was not drawn for two runs (another tab) or when replaced."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _script():
    import streamlit as st

    from ui.messages import flash, show_flash_at, show_flashes

    show_flashes()
    if st.button("top"):
        flash("已保存。")
        st.rerun()
    tab = st.radio("栏目", ["创建档案", "结对"], key="tab")
    if tab == "创建档案":
        if st.button("上传"):
            flash(f"已上传：活动{st.session_state.get('n', 1)}.png", where="archive")
            st.session_state["n"] = st.session_state.get("n", 1) + 1
            st.rerun()
        show_flash_at("archive")
        st.button("别的操作")


def _shown(at: AppTest) -> list[str]:
    return [s.value for s in at.success]


def _click(at: AppTest, label: str) -> None:
    next(b for b in at.button if b.label == label).click()
    at.run()


def test_a_placed_message_survives_the_following_runs_while_its_place_is_drawn():
    at = AppTest.from_function(_script)
    at.run()
    _click(at, "上传")
    assert _shown(at) == ["已上传：活动1.png"]
    assert [t.value for t in at.toast] == ["已上传：活动1.png"]  # seen wherever the page is scrolled
    at.run()  # a run that follows at once (a widget reset)
    assert _shown(at) == ["已上传：活动1.png"]
    assert len(at.toast) == 0  # the toast once; the message stays in its place
    _click(at, "别的操作")  # the next click beside it
    assert _shown(at) == ["已上传：活动1.png"]
    _click(at, "上传")  # replaced by the next message there
    assert _shown(at) == ["已上传：活动2.png"]


def test_a_placed_message_goes_once_its_place_is_not_drawn():
    at = AppTest.from_function(_script)
    at.run()
    _click(at, "上传")
    at.radio(key="tab").set_value("结对").run()
    assert _shown(at) == []
    at.run()
    at.radio(key="tab").set_value("创建档案").run()
    assert _shown(at) == []  # not drawn for two runs: gone


def test_a_message_under_the_title_is_shown_once_after_the_rerun():
    at = AppTest.from_function(_script)
    at.run()
    _click(at, "top")
    assert _shown(at) == ["已保存。"]
    at.run()
    assert _shown(at) == []
