"""Pages only lay out (DEVELOPING: pages are thin): a page defines no cached read of its own —
`@st.cache_data` / `@st.cache_resource` wrappers live in ui/ (ui/<subject>_widgets.py), where
every page that shows the same data shares them."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHES = {"cache_data", "cache_resource", "cache"}


def _cached_functions(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for dec in node.decorator_list:
            target = dec.func if isinstance(dec, ast.Call) else dec
            name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
            if name in CACHES:
                found.append(f"{path.name}:{node.lineno} {node.name}")
    return found


def test_no_page_defines_its_own_cached_read():
    pages = sorted((ROOT / "pages").glob("*.py")) + [ROOT / "app.py"]
    assert len(pages) > 10
    offenders = [f for p in pages for f in _cached_functions(p)]
    assert offenders == [], f"move these cached reads into ui/: {offenders}"


def test_the_check_sees_a_cached_read(tmp_path):
    """The check itself finds both decorator spellings (else the test above passes on nothing)."""
    page = tmp_path / "probe.py"
    page.write_text("import streamlit as st\nfrom streamlit import cache_resource\n\n"
                    "@st.cache_data(max_entries=2)\ndef a(_db, generation):\n    return 1\n\n"
                    "@cache_resource\ndef b():\n    return 2\n", encoding="utf-8")
    assert [f.split()[-1] for f in _cached_functions(page)] == ["a", "b"]
