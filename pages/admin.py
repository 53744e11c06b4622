"""系统管理：用户与角色、备份与恢复、公文模板。"""

import polars as pl
import streamlit as st

from dangjian_core import auth, backups
from ui import documents_widgets as DW
from ui.messages import flash, run_safely, show_flashes
from ui.session import current_user, get_db

db = get_db()
user = current_user()
st.title("系统管理")
show_flashes()

tab_users, tab_backup, tab_docs = st.tabs(["用户与角色", "备份与恢复", "公文模板"], key="adm_tab",
                                          on_change="rerun")  # an action keeps its tab
with tab_users:
    users = auth.list_users(db)
    st.dataframe(pl.DataFrame(users).select(
        pl.col("username").alias("用户名"), pl.col("display_name").alias("姓名"),
        pl.col("roles").map_elements(
            lambda r: "、".join(auth.ROLES.get(x, x) for x in (r or "").split(",") if x),
            return_dtype=pl.String).alias("角色"),
        pl.when(pl.col("disabled")).then(pl.lit("已停用")).otherwise(pl.lit("")).alias("状态"),
        pl.col("failed_logins").alias("连续输错次数"), pl.col("locked_until").alias("锁定至"),
        pl.col("last_login").alias("最近登录")), hide_index=True, width="stretch", placeholder="—")
    st.caption("角色：" + "、".join(auth.ROLES.values()) + "。只读用户只能查看，不能修改任何数据。")
    with st.form("add_user", clear_on_submit=True):
        st.subheader("新增用户")
        c1, c2 = st.columns(2)
        username = c1.text_input("用户名（字母或数字）")
        display = c2.text_input("姓名")
        roles = st.multiselect("角色", list(auth.ROLES), format_func=lambda r: auth.ROLES[r],
                               placeholder="请选择角色（可多选）", select_all=False)
        password = st.text_input("初始密码（至少 8 位）", type="password")
        if st.form_submit_button("新增"):
            _, exc = run_safely(auth.add_user, db, user, username, display, password, roles)
            if exc is None:
                flash(f"已新增用户 {username}")
                st.rerun()
    st.subheader("修改用户")
    names = [u["username"] for u in users]
    target = st.selectbox("用户", names, key="adm_target")
    c1, c2, c3 = st.columns(3)
    new_pw = c1.text_input("新密码", type="password", key="adm_pw")
    if c1.button("重设密码", key="adm_setpw"):
        _, exc = run_safely(auth.set_password, db, user, target, new_pw)
        if exc is None:
            flash(f"已重设 {target} 的密码，其已登录的会话立即失效。")
            st.rerun()
    current = next(u for u in users if u["username"] == target)
    new_roles = c2.multiselect("角色", list(auth.ROLES), default=current["roles"].split(","),
                               format_func=lambda r: auth.ROLES[r], key=f"adm_roles_{target}",
                               placeholder="请选择角色（可多选）", select_all=False)
    if c2.button("保存角色", key="adm_saveroles"):
        _, exc = run_safely(auth.set_roles, db, user, target, new_roles)
        if exc is None:
            flash(f"已修改 {target} 的角色")
            st.rerun()
    label = "启用账号" if current["disabled"] else "停用账号"
    if c3.button(label, key="adm_disable"):
        _, exc = run_safely(auth.set_disabled, db, user, target, not current["disabled"])
        if exc is None:
            flash(f"已{label[:2]} {target}")
            st.rerun()
    if current["locked_until"] is not None or current["failed_logins"]:
        if c3.button("解除登录锁定", key="adm_unlock",
                     help="连续输错密码被锁定的账号，不必等 15 分钟：解除后可立即登录（记入操作记录）"):
            _, exc = run_safely(auth.unlock_user, db, user, target)
            if exc is None:
                flash(f"已解除 {target} 的登录锁定")
                st.rerun()

with tab_backup:
    st.caption("系统每天自动备份一次（保留 30 天），备份文件在数据目录的 backups 文件夹中，"
               "示范点附件在每个备份旁边的「.附件」文件夹中。恢复前会自动再备份一次当前数据。")
    bk = backups.status(db)
    for w in bk["warnings"]:
        st.warning(w, icon=":material/warning:")
    st.markdown(f"**最近一次成功备份：** {bk['last_ok']:%Y-%m-%d %H:%M}" if bk["last_ok"] else "**最近一次成功备份：** 没有记录")
    if bk["second_dir"]:
        when = f"{bk['second_last_ok']:%Y-%m-%d %H:%M}" if bk["second_last_ok"] else "没有记录"
        st.markdown(f"**第二备份位置：** `{bk['second_dir']}`，最近一次成功复制：{when}")
        if bk["second_error"]:
            st.error(bk["second_error"])
    else:
        st.caption("未设置第二备份位置（另一块硬盘或共享目录）：服务器上运行 sudo ./install.sh --service --backup-dir 目录 设置。")
    if st.button("立即备份", key="adm_backup"):
        path, exc = run_safely(backups.make_backup, db, user)
        if exc is None:
            flash(f"已备份：{path.name}")
            st.session_state["adm_restore_pick"] = path.name  # offer the backup just made, not an older one
            st.rerun()
    items = backups.list_backups(db)
    if items:
        st.dataframe(pl.DataFrame(items).select(pl.col("name").alias("文件"), pl.col("time").alias("时间"),
                                                pl.col("size_mb").alias("大小(MB)")),
                     hide_index=True, width="stretch", placeholder="—")
        pick = st.selectbox("选择要恢复的备份", [i["name"] for i in items], key="adm_restore_pick")
        checked = st.session_state.get("adm_restore_check")
        if checked is not None and checked[0] != pick:
            checked = None
        if st.button("检查这个备份", key="adm_restore_checkbtn"):
            result, exc = run_safely(backups.check, db, user, pick)
            checked = (pick, result) if exc is None else None
            st.session_state["adm_restore_check"] = checked
        if checked is None:
            st.caption("恢复前请先「检查这个备份」：确认它是完整的党建工作台备份，并核对其中各表的行数。")
        else:
            st.success(f"备份 {pick} 检查通过（数据库第 {max(checked[1].migrations):03d} 步）。请核对各表的行数：")
            st.dataframe(backups.compare_counts(db, user, checked[1]), hide_index=True, width="stretch", placeholder="—")
            if checked[1].attachments is None:
                st.warning(checked[1].attachments_line, icon=":material/warning:")
            else:
                st.caption(checked[1].attachments_line)
            sure = st.checkbox("我已核对行数；我明白恢复会用备份替换当前全部数据（当前数据会先自动备份）",
                               key=f"adm_sure_{pick}")
            if st.button("恢复", disabled=not sure, key="adm_restore", type="primary"):
                safety, exc = run_safely(backups.restore, db, user, pick)
                st.session_state.pop("adm_restore_check", None)
                if exc is None:
                    flash(f"已从 {pick} 恢复；恢复前的数据已另存为 {safety.name}。")
                    st.rerun()
    else:
        st.info("还没有备份。")

with tab_docs:
    DW.template_admin(db, user)
