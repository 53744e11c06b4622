"""Login with streamlit-authenticator's cookie, our own password check and throttling.

streamlit-authenticator 0.4.2 keeps the failed-login counter in memory (lost on rerun) and
its cookie carries no revocation: so the password is checked by dangjian_core.auth (bcrypt,
5 failures → 15 minutes locked, kept in the database) and the cookie's JWT gets our token
version, checked on every run, so a disabled user or a changed password cuts a session off.
"""

from __future__ import annotations

import time

import jwt
import streamlit as st
import streamlit_authenticator as stauth

from dangjian_core import auth, demo, setup
from dangjian_core.auth import User

from .session import SESSION_HOURS, valid_session_user

COOKIE_NAME = "dangjian_session"


@st.cache_resource(show_spinner=False)
def _cookie_key(_db, path: str) -> str:
    return setup.ensure_secrets(_db)


def _authenticator(db) -> stauth.Authenticate:
    a = stauth.Authenticate({"usernames": {}}, COOKIE_NAME, _cookie_key(db, db.path),
                            cookie_expiry_days=SESSION_HOURS / 24, auto_hash=False,
                            login_sleep_time=0)
    model = a.cookie_controller.cookie_model

    def encode() -> str:
        return jwt.encode({"username": st.session_state["username"], "exp_date": model.exp_date,
                           "tv": st.session_state.get("token_version")},
                          model.cookie_key, algorithm="HS256")

    model._token_encode = encode
    return a


def _start_session(user: User, authenticator, *, set_cookie: bool) -> None:
    st.session_state["user"] = user
    st.session_state["username"] = user.username
    st.session_state["token_version"] = user.token_version
    st.session_state["login_at"] = time.time()
    st.session_state["authentication_status"] = True
    st.session_state["logout"] = False
    if set_cookie:
        authenticator.cookie_controller.set_cookie()


def logout(authenticator=None, message: str | None = None) -> None:
    for k in ("user", "token_version", "login_at"):
        st.session_state.pop(k, None)
    st.session_state["authentication_status"] = None
    st.session_state["username"] = None
    st.session_state["logout"] = True
    if authenticator is not None:
        try:
            authenticator.cookie_controller.delete_cookie()
        except Exception:  # noqa: BLE001 — the cookie may be gone already
            pass
    if message:
        st.session_state["login_message"] = message


def login_gate(db) -> tuple[User | None, stauth.Authenticate]:
    """The logged-in user, or None after drawing the login form."""
    authenticator = _authenticator(db)
    had_user = st.session_state.get("user") is not None
    user = valid_session_user(db)
    if user is not None:
        return user, authenticator
    if had_user:
        logout(authenticator, st.session_state.get("login_message"))
    if not st.session_state.get("logout"):
        token = authenticator.cookie_controller.get_cookie()
        if token:
            fresh = auth.session_user(db, token.get("username", ""), token.get("tv"))
            if fresh is not None:
                _start_session(fresh, authenticator, set_cookie=False)
                return fresh, authenticator
    return _login_form(db, authenticator), authenticator


def _login_form(db, authenticator) -> User | None:
    # Drawn in a placeholder: after a good password the form is cleared and the app is drawn
    # in the same run, so the cookie component rendered by set_cookie() has time to write.
    box = st.empty()
    with box.container():
        user = _draw_form(db)
    if user is not None:
        box.empty()
        _start_session(user, authenticator, set_cookie=True)
    return user


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
