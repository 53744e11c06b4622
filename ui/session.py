"""The process-wide database and the per-browser-session user."""

from __future__ import annotations

import ast
import gc
import importlib
import pkgutil
import sys
import threading
from pathlib import Path

import streamlit as st

from dangjian_core import backups, setup
from dangjian_core.auth import User
from dangjian_core.db import Database, default_path
from dangjian_core.errors import DangjianError, DatabaseLocked

from .messages import show_flashes


@st.cache_resource(show_spinner=False)
def _open(path: str) -> Database:
    """The server's start (the first run of a new server process): the database opened and
    migrated, today's backup, the daily backup thread, the warm-up (`warm_up`), then the
    欠缴与补交 background computation."""
    db, _ = setup.prepare(path)
    try:
        backups.daily_backup(db)
    except Exception:  # noqa: BLE001 — a failed backup must not stop the app; admin page shows backups
        pass
    backups.start_daily(db)  # a service runs for weeks: keep backing up once a day
    warm_up()  # before any thread of ours runs: its imports and the freeze are the only ones
    from .dues_widgets import start_background  # lazily: the dues widgets import altair

    start_background(db)  # at city scale 欠缴与补交's default period is computed now, not on its first visit
    return db


def get_db() -> Database:
    """One connection per process (DuckDB locks the file); pages take cursors from it.
    When the file cannot be opened (another program holds it, the disk fails) the run ends
    with one Chinese page instead of Streamlit's error page; the next page load tries again."""
    try:
        return _open(default_path())
    except DangjianError as exc:
        _unavailable(exc)
        raise  # not reached: _unavailable stops the run


def _unavailable(exc: DangjianError) -> None:
    if isinstance(exc, DatabaseLocked):
        title = "数据库正被另一个程序使用"
        text = ("党建工作台的数据库文件正被另一个程序使用（可能是另一个已经启动的党建工作台，或正在运行的"
                "命令行工具），所以现在打不开。请关闭那个程序后刷新本页；不清楚是哪个程序时，请联系系统管理员。")
    else:
        title = "暂时无法打开数据库"
        text = f"党建工作台暂时无法打开数据库：{exc}。请稍后刷新本页；如果一直这样，请联系系统管理员。"

    def page():
        st.title(title)
        st.error(text, icon=":material/database:")
        st.caption(f"数据库文件：{default_path()}")

    # A navigation of one hidden page: without it Streamlit would list every file in pages/.
    st.navigation([st.Page(page, title=title, url_path="unavailable")], position="hidden").run()
    st.stop()


def no_login(db: Database) -> bool:
    """When nobody can log in (an empty database, every account disabled), say in Chinese what
    the administrator does instead of drawing a login form that cannot succeed."""
    reason = setup.no_login_reason(db)
    if reason is None:
        return False
    st.title("党建工作台")
    st.warning(reason, icon=":material/database:")
    return True


SESSION_HOURS = 8


def valid_session_user(db: Database) -> User | None:
    """The session's user re-read from the database: None when logged out, expired (8 hours),
    disabled, or when the password or roles changed (token version)."""
    import time

    from dangjian_core import auth

    user = st.session_state.get("user")
    if user is None:
        return None
    fresh = auth.session_user(db, user.username, st.session_state.get("token_version"))
    if fresh is None or time.time() - st.session_state.get("login_at", 0) > SESSION_HOURS * 3600:
        for k in ("user", "token_version", "login_at"):
            st.session_state.pop(k, None)
        st.session_state["logout"] = True
        st.session_state["login_message"] = "登录已过期，或账号已被停用、密码已修改：请重新登录。"
        return None
    st.session_state["user"] = fresh
    return fresh


def current_user() -> User:
    """Every page calls this first: the check runs on each run of each page."""
    user = valid_session_user(get_db())
    if user is None:
        st.info(st.session_state.get("login_message") or "请先登录。")
        st.page_link("app.py", label="重新登录")
        st.stop()
    return user


def start_page(title: str, perm: str) -> tuple[Database, User, bool]:
    """The first lines of a page: the database, the logged-in user (else the login hint, and the
    run stops), the title and the messages flashed before the last rerun.
    Returns (database, user, whether the user has `perm`, the page's write permission)."""
    db, user = get_db(), current_user()
    st.title(title)
    show_flashes()
    return db, user, user.can(perm)


def generation(db: Database) -> int:
    """Changes after every committed write: cached reads take it as an argument, so a write
    through any door makes every page read fresh data on its next run."""
    return db.generation


ROOT = Path(__file__).resolve().parents[1]
# Libraries the core and ui import inside functions, only when that work runs (观摩 bounds,
# Word documents, chart pictures, printed pages): imported by the warm-up too, so that they are
# frozen with the rest. tests/pages/test_server_start.py fails when a new one is not listed.
LAZY_LIBRARIES = ("numpy", "scipy.optimize", "scipy.sparse", "docx", "docx.enum.text", "docx.shared", "docxtpl",
                  "lxml", "lxml.etree", "jinja2", "jinja2.sandbox", "xlsxwriter", "vl_convert", "altair",
                  "polars.expr.whenthen")
_warm = threading.Lock()
_warmed = False


def page_modules() -> list[str]:
    """Every ui module and every module a page imports at its top (read from pages/*.py)."""
    names = {f"ui.{m.name}" for m in pkgutil.iter_modules([str(ROOT / "ui")])}
    for page in sorted((ROOT / "pages").glob("*.py")):
        for node in ast.parse(page.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
                names.update(f"{node.module}.{a.name}" for a in node.names)  # may be a submodule
    return sorted(names)


def _in_server() -> bool:
    from streamlit import runtime

    return runtime.exists()


def warm_up() -> bool:
    """Once per server process, at its start: import every module the pages use (and the
    libraries the core imports only when needed), collect once and freeze what is alive
    (`gc.freeze`). Streamlit runs a full garbage collection after every script run
    (runner.postScriptGC), and a collection holds the interpreter while it walks every object:
    with the libraries unfrozen that walk took as long as the page itself on a busy server
    (bench: 整页刷新 1,399 ms → 645 ms once frozen). Frozen, the collection after each run walks
    only what runs create. Only in the real server (not AppTest, whose process also holds the
    tests' objects). True when this call did it."""
    global _warmed
    if not _in_server():
        return False
    with _warm:
        if _warmed:
            return False
        _warmed = True
        for name in page_modules() + list(LAZY_LIBRARIES):
            if name not in sys.modules:
                try:
                    importlib.import_module(name)
                except ImportError:  # a name imported from a module, not a submodule
                    pass
        gc.collect()
        gc.freeze()
        return True
