"""Every role walks every page of its menu once: no English UI words, no raw None/nan, no code
names from the glossary shown as values, no exceptions or error boxes, no outside requests. One server, one browser, one pass per role;
a full-screen screenshot of every page (with its expanders opened) for a person to look at."""

import re

import pytest

from dangjian_core import auth, vocab
from tests.e2e.helpers import exceptions, login, new_page, shot, wait_idle

NAV = "[data-testid='stSidebarNavLink']"

ENGLISH = ["View more", "View less", "Choose", "Select all", "Drag and drop", "Browse files",
           "Limit", "None", "nan", "NaN", "null", "Upload", "per file", "No results",
           "Press Enter"]
ENGLISH_RE = re.compile(r"(?<![A-Za-z])(" + "|".join(re.escape(w) for w in ENGLISH) + r")(?![A-Za-z])"
                        r"|View \d+ more")

# code names a person must never meet: glossary codes, column and indicator identifiers
GLOSSARY = sorted({*vocab.LEVELS, *vocab.CATEGORIES, *vocab.TIERS, *vocab.MEMBER_STATUS,
                   *vocab.DUES_CATEGORIES, "creating", "consolidating", "not_named",
                   "treasurer", "viewer", "editor", "observation", "rectification",
                   "duty_report", "three_meetings_one_lesson"} - {"exempt", "reduced", "named", "removed",
                                                                   "full", "standard"})
CODE_RE = re.compile(r"(?<![A-Za-z0-9_./-])(" + "|".join(map(re.escape, GLOSSARY)) + r")(?![A-Za-z0-9_])"
                     r"|\b[a-z]+(?:_[a-z0-9]+)+\b")  # snake_case identifiers: member_count, dues_store

ROLES = ["admin", "editor", "treasurer", "viewer"]


def _visible_text(page) -> str:
    # icons are ligature text ("home", "account_tree"): leave them out while reading
    return page.evaluate("""() => {
        const st = document.createElement('style');
        st.textContent = "[data-testid='stIconMaterial'], .material-symbols-rounded { display: none !important; }";
        document.head.appendChild(st);
        const text = document.body.innerText;
        st.remove();
        return text;
    }""")


def _open_everything(page) -> None:
    """Open every expander and show every tab once (both are drawn without a rerun)."""
    for summary in page.locator("[data-testid='stExpander'] summary").all():
        if summary.is_visible() and summary.locator("xpath=..").get_attribute("open") is None:
            summary.click()


# tabs that list template variables for whoever edits a Word template: code names on purpose
TEMPLATE_TABS = {"公文模板"}


def _texts_of_each(page, options, first: int = 0, shots: str | None = None) -> list[tuple[str, str]]:
    """Click each of `options` (tabs, or a radio row's choices) from `first` on, with its
    expanders opened: (its label, the page's visible text) for each."""
    texts = []
    for i in range(first, options.count()):
        option = options.nth(i)
        label = option.inner_text().strip()
        option.click()
        wait_idle(page)
        _open_everything(page)
        texts.append((label, _visible_text(page)))
        if shots:
            shot(page, f"{shots}-{label}")
    return texts


def _tab_texts(page) -> list[tuple[str, str]]:
    return _texts_of_each(page, page.locator("[data-baseweb='tab-list'] [role='tab'], [data-testid='stTab']"))


def _section_texts(page) -> list[tuple[str, str]]:
    """Pages split into sections by a radio row at the top (述职评议): show each section once."""
    radio = page.locator("[data-testid='stRadio']").first
    if not radio.count():
        return []
    return _texts_of_each(page, radio.locator("label"), first=1, shots="walk-section")


def _problems(text: str, codes: bool = True) -> list[str]:
    found = []
    for line in text.splitlines():
        for m in ENGLISH_RE.finditer(line):
            found.append(f"English「{m.group(0)}」in: {line.strip()[:80]}")
        for m in CODE_RE.finditer(line) if codes else ():
            if "@" in line or "http" in line:  # addresses and e-mails are not code names
                continue
            found.append(f"code name「{m.group(0)}」in: {line.strip()[:80]}")
    return found


@pytest.mark.parametrize("role", ROLES)
def test_role_walks_every_page_in_chinese(app, chromium, role):
    page = new_page(chromium, app)
    page.set_viewport_size({"width": 1400, "height": 2000})  # whole screens in the screenshots
    login(page, role, "dangjian-demo")
    titles = [t.strip().split("\n")[-1].strip() for t in page.locator(NAV).all_inner_texts()]
    assert titles and "首页" in titles
    expected = {"admin": "系统管理", "treasurer": "党费收缴"}.get(role)
    if expected:
        assert expected in titles
    if role in ("viewer", "editor"):
        assert "党费收缴" not in titles and "系统管理" not in titles
    bad: list[str] = []
    for i, title in enumerate(titles):
        page.locator(NAV, has_text=title).first.click()
        wait_idle(page)
        _open_everything(page)
        texts = [("", _visible_text(page))] + _tab_texts(page)
        if title in ("述职评议", "整改跟踪"):  # sections chosen by a radio row
            texts += _section_texts(page)
        shot(page, f"walk-{role}-{i:02d}-{title}")
        for tab, text in texts:
            if tab in TEMPLATE_TABS:  # the selected tab's text would hide the others' code names
                continue
            bad += [f"{title}: {p}" for p in _problems(text)]
        bad += [f"{title}: exception {e[:120]}" for e in exceptions(page)]
        bad += [f"{title}: error box {e[:120]}" for e in page.locator("[data-testid='stAlertContentError']").all_inner_texts()]
    assert not page.failed_requests, page.failed_requests
    page.context.close()
    assert not sorted(set(bad)), "\n".join(sorted(set(bad)))


def test_the_word_lists_catch_what_they_should():
    assert _problems("上级党组织 None")
    assert _problems("Drag and drop file here")
    assert _problems("View 4 more")
    assert _problems("指标 dues_collection_rate")
    assert _problems("层级 committee")
    assert not _problems("上级党组织 —  演示系统 2026-12-01 党委 XLSX、XLS")
    assert not auth.ROLES.get("nonexistent")
