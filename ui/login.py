"""Login with a signed session cookie, our own password check and throttling.

The password is checked by dangjian_core.auth (bcrypt, 5 failures → 15 minutes locked, kept in
the database). The cookie is a JWT (username, expiry, our token version) signed with the
installation's random key; the token version is checked on every run, so a disabled user or a
changed password cuts a session off.

Why no cookie *component*: streamlit-authenticator's CookieManager (extra-streamlit-components)
is an iframe component that reports the browser's cookies back with setComponentValue as soon
as it has loaded. Right after the server starts that load is slow, and the rerun it starts
arrives while the run of a submitted login form is still going: Streamlit stops that run and
starts again with the trigger (the form's submit) already spent, so the form came back empty
with no message. It also wrote the cookie only once its iframe had loaded, so a reload right
after logging in could find no cookie. Here the cookie is read from the request headers
(`st.context.cookies`, no component) and written by a script in the page itself (`st.html`
with JavaScript, no iframe, no value sent back, no rerun), placed before the app is drawn.
The form lives in a navigation page (see `login_page`), which is what really kept the first
submit after a server start: the widget keys of a run before st.navigation are unstable.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta

import jwt
import streamlit as st

from dangjian_core import auth, demo, setup
from dangjian_core.auth import User

from .session import SESSION_HOURS, valid_session_user

COOKIE_NAME = "dangjian_session"


@st.cache_resource(show_spinner=False)
def _cookie_key(_db, path: str) -> str:
    return setup.ensure_secrets(_db)


def encode_token(key: str, user: User, expires_at: float) -> str:
    return jwt.encode({"username": user.username, "exp_date": expires_at, "tv": user.token_version},
                      key, algorithm="HS256")


def decode_token(key: str, token: str | None, now: float | None = None) -> dict | None:
    """The cookie's content when it is ours, well signed and not expired; else None."""
    if not token:
        return None
    try:
        data = jwt.decode(token, key, algorithms=["HS256"])
    except jwt.PyJWTError:
        return None
    exp = data.get("exp_date")
    if not isinstance(data.get("username"), str) or not isinstance(exp, (int, float)):
        return None
    if exp <= (time.time() if now is None else now):
        return None
    return data


def secure_cookies() -> bool:
    """Mark the cookie Secure (sent over HTTPS only) when the app is reached over HTTPS:
    DANGJIAN_SECURE_COOKIES=1 (install.sh --https), or nginx saying so in X-Forwarded-Proto."""
    if os.environ.get("DANGJIAN_SECURE_COOKIES", "").lower() in ("1", "true", "yes"):
        return True
    try:
        return (st.context.headers.get("X-Forwarded-Proto") or "").lower() == "https"
    except Exception:  # noqa: BLE001 — no request context (AppTest)
        return False


def _cookie_script(value: str, expires: datetime | None) -> str:
    """A script that writes (or, with expires=None, deletes) the session cookie in this page."""
    if expires is None:
        attrs = "path=/; max-age=0; SameSite=Strict"
    else:
        attrs = f"path=/; expires={expires.strftime('%a, %d %b %Y %H:%M:%S GMT')}; SameSite=Strict"
    if secure_cookies():
        attrs += "; Secure"
    cookie = f"{COOKIE_NAME}={value}; {attrs}"
    return f"<script>document.cookie = {json.dumps(cookie)};</script>"


def _run_script(script: str) -> None:
    # st.html runs scripts in the page itself (no iframe, nothing sent back, no rerun)
    st.html(script, unsafe_allow_javascript=True, width="content")


def _write_cookie(db, user: User) -> None:
    expires = datetime.now(UTC) + timedelta(hours=SESSION_HOURS)
    token = encode_token(_cookie_key(db, db.path), user, expires.timestamp())
    _run_script(_cookie_script(token, expires))


def _start_session(user: User, login_at: float | None = None) -> None:
    st.session_state["user"] = user
    st.session_state["username"] = user.username
    st.session_state["token_version"] = user.token_version
    st.session_state["login_at"] = time.time() if login_at is None else login_at
    st.session_state["logout"] = False


def logout(message: str | None = None) -> None:
    """End this browser session; the next run draws the login form and deletes the cookie."""
    for k in ("user", "token_version", "login_at"):
        st.session_state.pop(k, None)
    st.session_state["username"] = None
    st.session_state["logout"] = True
    if message:
        st.session_state["login_message"] = message


def login_gate(db) -> User | None:
    """The logged-in user, or None (then the app shows `login_page`). Draws nothing but,
    right after a login, the script that writes the cookie — before anything of the app."""
    had_user = st.session_state.get("user") is not None
    user = valid_session_user(db)
    if user is not None:
        if st.session_state.pop("cookie_pending", False):
            _write_cookie(db, user)
        return user
    if had_user:
        logout(st.session_state.get("login_message"))
    if not st.session_state.get("logout"):
        token = decode_token(_cookie_key(db, db.path), st.context.cookies.get(COOKIE_NAME))
        if token:
            fresh = auth.session_user(db, token["username"], token.get("tv"))
            if fresh is not None:
                _start_session(fresh, login_at=token["exp_date"] - SESSION_HOURS * 3600)
                return fresh
    elif COOKIE_NAME in st.context.cookies:
        _run_script(_cookie_script("", None))  # logged out: a reload must not log back in
    return None


def login_page() -> None:
    """The login form. It is drawn inside a page of st.navigation (not before it): Streamlit
    keys a widget by the page that is running, and before st.navigation has run the very
    first run of a new server keys it differently from the next run — the form's submit
    then found no button to belong to and was lost (the 'swallowed first click')."""
    from .session import get_db, no_login

    db = get_db()
    if no_login(db):
        return
    user = _draw_form(db)
    if user is not None:
        _start_session(user)
        st.session_state["cookie_pending"] = True  # written by login_gate before the app
        st.rerun()


def _draw_form(db) -> User | None:
    st.title("党建工作台")
    msg = st.session_state.pop("login_message", None)
    if msg:
        st.info(msg)
    if demo.is_demo(db):
        st.info(f"演示系统：可用账号 admin（管理员）、editor（业务编辑）、treasurer（党费管理员）、"
                f"viewer（只读），密码均为 {demo.DEMO_PASSWORD}。演示数据均为虚构。")
    with st.form("login"):
        st.subheader("登录")
        username = st.text_input("用户名", key="login_username", autocomplete="username")
        password = st.text_input("密码", type="password", key="login_password",
                                 autocomplete="current-password")
        submitted = st.form_submit_button("登录", type="primary")
    if submitted:
        result = auth.authenticate(db, username, password)
        if result.ok:
            return result.user
        st.error(result.message)
    return None
