"""Every download button of the app is on_click="ignore": a download never reruns the page.

With Streamlit's default (on_click="rerun") a click on a button whose file is built on click
(data=callable, a "deferred" download) also asks for a run, and that run gives the button a new
file id on the server and drops the old one while the browser may still hold it: a second click
soon after, or the click itself when the server is busy, got 「Failed to generate file for
download」 and no file (bench_browser's 导出与导入 section after the editing section; the app log
said "Deferred file … not found"). A download needs no run of the page, so none asks for one.
tests/e2e/test_foundation_flow.py checks the same in the browser for 基层党组织's 导出 Excel."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _download_buttons() -> list[tuple[str, int, ast.Call]]:
    found = []
    for path in sorted([*ROOT.glob("ui/**/*.py"), *ROOT.glob("pages/**/*.py"), ROOT / "app.py"]):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "download_button"):
                found.append((str(path.relative_to(ROOT)), node.lineno, node))
    return found


def test_the_app_has_download_buttons_to_check():
    # the walk finds them (a moved folder would make the next test pass on nothing)
    assert len(_download_buttons()) >= 15


def test_every_download_button_ignores_the_click_for_reruns():
    rerunning = []
    for where, line, call in _download_buttons():
        on_click = next((k.value for k in call.keywords if k.arg == "on_click"), None)
        if not (isinstance(on_click, ast.Constant) and on_click.value == "ignore"):
            rerunning.append(f"{where}:{line}")
    assert not rerunning, f"download buttons that rerun the page on click: {rerunning}"
