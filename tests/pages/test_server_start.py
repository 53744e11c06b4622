"""The server's one-time start (ui.session): the warm-up imports what the pages use and the
libraries the core imports lazily, and freezes them once per process; app.py only logs in,
builds the navigation from the page registry and runs it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from ui import session

ROOT = Path(__file__).resolve().parents[2]
OURS = {"dangjian_core", "ui", "pages", "tests", "bench"}


def _imports(path: Path, *, inside_functions: bool) -> set[str]:
    """Absolute modules imported by `path`: at module level, or only inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nested: set[int] = set()
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            nested.update(id(n) for n in ast.walk(fn) if n is not fn)
    out = set()
    for node in ast.walk(tree):
        if (id(node) in nested) != inside_functions:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module)
    return out


def _third_party(names: set[str]) -> set[str]:
    return {n for n in names if n.split(".")[0] not in sys.stdlib_module_names | OURS | {"streamlit"}}


def test_every_library_imported_only_inside_functions_is_warmed_up():
    files = list((ROOT / "dangjian_core").rglob("*.py")) + list((ROOT / "ui").glob("*.py"))
    top = set().union(*(_imports(f, inside_functions=False) for f in files + list((ROOT / "pages").glob("*.py"))))
    lazy = _third_party(set().union(*(_imports(f, inside_functions=True) for f in files))) - top
    assert "scipy.optimize" in lazy  # the scan sees the 观摩 bound's import
    missing = sorted(lazy - set(session.LAZY_LIBRARIES))
    assert missing == [], f"add to ui.session.LAZY_LIBRARIES (or import at the top): {missing}"


def test_page_modules_are_every_ui_module_and_what_pages_import():
    names = set(session.page_modules())
    assert {"ui.orgs_widgets", "ui.table_editor", "ui.chrome", "ui.login"} <= names
    assert {"altair", "dangjian_core.sites.attachments", "dangjian_core.observation.views"} <= names


def test_warm_up_once_per_server_process_freezes_what_the_pages_use():
    """In a process of its own (a freeze in pytest's process would keep the tests' objects)."""
    script = """
import gc, sys
from ui import session
session._in_server = lambda: True  # as in the server
assert gc.get_freeze_count() == 0
assert session.warm_up() is True
frozen = gc.get_freeze_count()
assert session.warm_up() is False  # the next runs: nothing again
assert gc.get_freeze_count() == frozen > 10000, frozen
loaded = [m for m in session.page_modules() + list(session.LAZY_LIBRARIES) if m in sys.modules]
assert {"ui.sites_widgets", "scipy.optimize", "docxtpl", "dangjian_core.dues.arrears"} <= set(loaded)
print("ok", frozen)
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr[-3000:]


def test_warm_up_does_nothing_outside_the_server():
    """AppTest and scripts: no runtime, no freeze of the tests' objects."""
    assert session.warm_up() is False


def test_app_py_is_login_navigation_and_the_page_registry():
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    called = {n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", "")
              for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert {"login_gate", "navigation"} <= called
    assert not {"freeze", "collect", "freeze_long_lived", "warm_up"} & called
    assert not any(isinstance(n, ast.Try) for n in ast.walk(tree))
