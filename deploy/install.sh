#!/usr/bin/env bash
# 党建工作台 离线安装脚本：只用本安装包里的文件安装、升级或卸载，不访问任何网络。
#
#   ./install.sh                       安装到 ~/dangjian（root 时 /opt/dangjian），用 start.sh 启动
#   sudo ./install.sh --service        安装为系统服务 dangjian（开机自启，专用用户 dangjian，
#                                      数据与备份在 /var/lib/dangjian，日志进 journal）
#   sudo ./install.sh --service        （已安装时）升级：先备份数据库，再迁移，保留全部数据
#   sudo ./install.sh --uninstall      卸载程序，保留数据；加 --purge 连数据一起删除
#
# 选项：
#   --service            安装为 systemd 服务
#   --prefix 目录        程序目录（默认：服务 /opt/dangjian；否则 root 为 /opt/dangjian，普通用户 ~/dangjian）
#   --data 目录          数据目录（默认：服务 /var/lib/dangjian；否则 <程序目录>/data）
#   --port 端口          监听端口（默认 8501）
#   --address 地址       监听地址（默认 0.0.0.0；放在 nginx 后面时用 127.0.0.1）
#   --base-path 路径     以子路径提供服务，如 --base-path dangjian → https://服务器/dangjian/
#   --https              通过 HTTPS（nginx）访问：登录 Cookie 加 Secure 标记
#   --backup-dir 目录    第二备份位置（另一块硬盘或挂载的共享目录），每日自动备份也存一份到这里
#   --demo               首次安装时创建演示数据（试用）；默认建空库并设置管理员密码
#   --python 路径        指定 Python 解释器（需与安装包的 Python 版本一致）
#   --no-start           装好后不启动服务
#   --uninstall [--purge]  卸载；--purge 同时删除数据目录、配置和服务用户（第二备份位置永不删除）
#
# 首次安装的管理员密码：终端中会提示输入；也可事先设置环境变量 DANGJIAN_ADMIN_PASSWORD；
# 两者都没有时生成随机密码，显示一次并保存在仅 root 可读的文件中。
# 再次运行 install.sh 时，没有给出的选项沿用上次的配置（配置文件 dangjian.env）。
set -euo pipefail
umask 022

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
say() { printf '%s\n' "$*"; }
die() { printf '错误：%s\n' "$*" >&2; exit 1; }
[ -f "$HERE/BUNDLE_INFO" ] || die "找不到 $HERE/BUNDLE_INFO：请在解压后的安装包目录中运行 install.sh"
# shellcheck source=/dev/null
. "$HERE/BUNDLE_INFO"

MODE=install SERVICE=0 PURGE=0 DEMO=0 START=1 PYTHON="" PREFIX="" DATA=""
O_PORT="" O_ADDRESS="" O_BASE="" O_BASE_SET=0 O_HTTPS="" O_BACKUP="" O_BACKUP_SET=0
while [ $# -gt 0 ]; do
  case "$1" in
    --service) SERVICE=1 ;;
    --prefix) PREFIX="${2:?--prefix 需要一个目录}"; shift ;;
    --data) DATA="${2:?--data 需要一个目录}"; shift ;;
    --port) O_PORT="${2:?--port 需要端口号}"; shift ;;
    --address) O_ADDRESS="${2:?--address 需要地址}"; shift ;;
    --base-path) O_BASE="${2?--base-path 需要路径（空字符串表示不用子路径）}"; O_BASE_SET=1; shift ;;
    --https) O_HTTPS=1 ;;
    --no-https) O_HTTPS=0 ;;
    --backup-dir) O_BACKUP="${2?--backup-dir 需要目录（空字符串表示不用第二备份位置）}"; O_BACKUP_SET=1; shift ;;
    --demo) DEMO=1 ;;
    --python) PYTHON="${2:?--python 需要解释器路径}"; shift ;;
    --no-start) START=0 ;;
    --uninstall) MODE=uninstall ;;
    --purge) PURGE=1 ;;
    -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "不认识的选项 $1（./install.sh --help 查看用法）" ;;
  esac
  shift
done
case "$O_PORT" in ''|[0-9]*) ;; *) die "--port 应是数字：$O_PORT" ;; esac
O_BASE="${O_BASE#/}"; O_BASE="${O_BASE%/}"

IS_ROOT=0; [ "$(id -u)" -eq 0 ] && IS_ROOT=1
SVC_USER=dangjian
UNIT=/etc/systemd/system/dangjian.service
if [ "$SERVICE" -eq 0 ] && [ "$MODE" = uninstall ] && [ -z "$PREFIX" ] \
   && { [ -f "$UNIT" ] || [ -f /etc/dangjian/dangjian.env ]; }; then
  SERVICE=1   # `install.sh --uninstall [--purge]` on a service install
fi
if [ "$SERVICE" -eq 1 ]; then
  [ "$IS_ROOT" -eq 1 ] || die "--service 需要 root 权限：请用 sudo ./install.sh --service"
  PREFIX="${PREFIX:-/opt/dangjian}"; DATA="${DATA:-/var/lib/dangjian}"; CONF_DIR=/etc/dangjian
else
  if [ -z "$PREFIX" ]; then
    if [ "$IS_ROOT" -eq 1 ]; then PREFIX=/opt/dangjian; else PREFIX="$HOME/dangjian"; fi
  fi
  CONF_DIR="$PREFIX"
fi
CONF="$CONF_DIR/dangjian.env"
SYSTEMD_UP=0; [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1 && SYSTEMD_UP=1

# -- settings: the previous install's, overridden by this command line ----------------------
DANGJIAN_DB="" DANGJIAN_BACKUP_DIR="" DANGJIAN_SECURE_COOKIES=0
STREAMLIT_SERVER_PORT=8501 STREAMLIT_SERVER_ADDRESS=0.0.0.0 STREAMLIT_SERVER_BASE_URL_PATH=""
if [ -f "$CONF" ]; then
  # shellcheck source=/dev/null
  . "$CONF"
fi
[ -n "$DATA" ] || DATA="$(dirname "${DANGJIAN_DB:-$PREFIX/data/dangjian.duckdb}")"
DATA="$(mkdir -p "$DATA" 2>/dev/null; cd "$DATA" 2>/dev/null && pwd || echo "$DATA")"
DANGJIAN_DB="$DATA/dangjian.duckdb"
[ -n "$O_PORT" ] && STREAMLIT_SERVER_PORT="$O_PORT"
[ -n "$O_ADDRESS" ] && STREAMLIT_SERVER_ADDRESS="$O_ADDRESS"
[ -n "$O_HTTPS" ] && DANGJIAN_SECURE_COOKIES="$O_HTTPS"
[ "$O_BASE_SET" -eq 1 ] && STREAMLIT_SERVER_BASE_URL_PATH="$O_BASE"
[ "$O_BACKUP_SET" -eq 1 ] && DANGJIAN_BACKUP_DIR="$O_BACKUP"
case "$STREAMLIT_SERVER_BASE_URL_PATH" in *[!A-Za-z0-9/_-]*) die "--base-path 只能含字母、数字、-、_ 和 /：$STREAMLIT_SERVER_BASE_URL_PATH" ;; esac

# ==========================================================================================
uninstall() {
  if [ "$SERVICE" -eq 1 ] && [ -f "$UNIT" ]; then
    if [ "$SYSTEMD_UP" -eq 1 ]; then
      systemctl disable --now dangjian.service 2>/dev/null || true
    fi
    rm -f "$UNIT"
    if [ "$SYSTEMD_UP" -eq 1 ]; then systemctl daemon-reload || true; fi
    say "已停止并删除系统服务 dangjian"
  fi
  if ! [ -d "$PREFIX/releases" ] && ! [ -L "$PREFIX/current" ] && [ "$PURGE" -eq 0 ]; then
    die "$PREFIX 下没有党建工作台的程序（已卸载？要删除数据请加 --purge）"
  fi
  rm -rf "$PREFIX/releases" "$PREFIX/current" "$PREFIX/start.sh"
  if [ "$PURGE" -eq 1 ]; then
    rm -rf "$DATA"
    rm -f "$CONF"; rmdir "$CONF_DIR" 2>/dev/null || true
    if [ "$SERVICE" -eq 1 ] && id "$SVC_USER" >/dev/null 2>&1; then userdel "$SVC_USER" 2>/dev/null || true; fi
    say "已删除程序、数据目录 $DATA 和配置。"
  else
    say "已删除程序 $PREFIX。数据保留在 $DATA（数据库与 backups/），配置保留在 $CONF。"
    say "重新安装时会沿用它们；彻底删除请再运行：./install.sh --uninstall --purge"
  fi
  [ -n "$DANGJIAN_BACKUP_DIR" ] && say "第二备份位置 $DANGJIAN_BACKUP_DIR 中的备份不会被删除。"
  rmdir "$PREFIX" 2>/dev/null || true
  exit 0
}
[ "$MODE" = uninstall ] && uninstall

# ==========================================================================================
# 1. this machine can run this bundle
ARCH="$(uname -m)"
[ "$ARCH" = "$PLATFORM" ] || die "本安装包是 $PLATFORM 的，这台机器是 $ARCH：请使用 dangjian-*-linux-$ARCH.tar.gz（构建：make bundle PLATFORM=$ARCH）"
glibc="$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')"
if [ -n "$glibc" ]; then
  lowest="$(printf '%s\n%s\n' "$glibc" "$GLIBC_MIN" | sort -V | head -n1)"
  [ "$lowest" = "$GLIBC_MIN" ] || die "系统 glibc 版本 $glibc 低于所需的 $GLIBC_MIN（麒麟 V10、统信 UOS 20 及更新版本满足）"
fi
find_python() {
  local c
  # the system's interpreter first: a service user cannot run one under /root (pyenv, conda)
  for c in "$PYTHON" "/usr/bin/python$PYVER" "/usr/local/bin/python$PYVER" "python$PYVER" python3; do
    [ -n "$c" ] || continue
    command -v "$c" >/dev/null 2>&1 || continue
    if [ "$("$c" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$PYVER" ]; then
      command -v "$c"; return 0
    fi
  done
  return 1
}
PY="$(find_python)" || die "需要 Python $PYVER（安装包中的依赖是为 CPython $PYVER 编译的）。请安装 python$PYVER（麒麟/统信：apt install python$PYVER），或在构建机上用 make bundle PYVER=<本机版本> 生成匹配的安装包；也可用 --python 指定解释器。"
"$PY" -c 'import venv' 2>/dev/null || die "$PY 缺少 venv 模块（apt install python$PYVER-venv 或 python3-venv）"
PY="$("$PY" -c 'import os, sys; print(os.path.realpath(sys.executable))')"   # not a pyenv shim

# 2. where things go
REL_DIR="$PREFIX/releases/$RELEASE"
OLD_REL=""; [ -L "$PREFIX/current" ] && OLD_REL="$(readlink -f "$PREFIX/current")"
UPGRADE=0; [ -f "$DANGJIAN_DB" ] && UPGRADE=1
say "党建工作台 $VERSION（$RELEASE，$PLATFORM，Python $PYVER）"
say "程序目录 $PREFIX，数据目录 $DATA，配置 $CONF"
if [ "$SERVICE" -eq 1 ] && ! id "$SVC_USER" >/dev/null 2>&1; then
  nologin="$(command -v nologin || echo /usr/sbin/nologin)"
  useradd --system --home-dir "$DATA" --no-create-home --shell "$nologin" --user-group "$SVC_USER" \
    || die "无法创建服务用户 $SVC_USER"
  say "已创建服务用户 $SVC_USER"
fi
if [ "$SERVICE" -eq 1 ] && command -v runuser >/dev/null 2>&1 && ! runuser -u "$SVC_USER" -- "$PY" -c pass 2>/dev/null; then
  die "服务用户 $SVC_USER 无权运行 $PY（装在 /root 或某人家目录下？）：请用 --python 指定系统的 Python，如 /usr/bin/python$PYVER"
fi

# 3. the program: a fresh release directory with its own venv, filled from wheels/ only
T0=$(date +%s)
# reinstalling the running release: install beside it, never over it
[ "$REL_DIR" = "$OLD_REL" ] && REL_DIR="$REL_DIR-$(date +%Y%m%d%H%M%S)"
STAGE="$REL_DIR"
rm -rf "$STAGE"; mkdir -p "$STAGE"
cp -a "$HERE/app/." "$STAGE/"
[ -d "$HERE/fonts" ] && cp -a "$HERE/fonts" "$STAGE/fonts"
cp -a "$HERE/BUNDLE_INFO" "$STAGE/"
cp -a "$HERE/nginx" "$STAGE/nginx" 2>/dev/null || true
"$PY" -m venv --without-pip "$STAGE/venv"
export PIP_CONFIG_FILE=/dev/null PIP_NO_INDEX=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
unset PIP_FIND_LINKS PIP_INDEX_URL PIP_EXTRA_INDEX_URL
"$STAGE/venv/bin/python" "$HERE/wheels/$PIP_WHEEL/pip" install -q --no-index --find-links "$HERE/wheels" "$HERE/wheels/$PIP_WHEEL" \
  || die "安装 pip 失败"
"$STAGE/venv/bin/python" -m pip install -q --no-index --find-links "$HERE/wheels" --require-hashes \
  --only-binary=:all: -r "$HERE/requirements.txt" || die "从 wheels/ 安装依赖失败（见上面 pip 的信息）"
site="$("$STAGE/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$REL_DIR" > "$site/dangjian-app.pth"   # `python -m dangjian_core` from anywhere
say "程序已安装到 $REL_DIR（$(( $(date +%s) - T0 )) 秒）"

# 4. settings
mkdir -p "$CONF_DIR" "$DATA"
[ "$SERVICE" -eq 1 ] && chmod 750 "$DATA"   # salaries and ID numbers live here
FONT_LINE="# DANGJIAN_FONT_DIR="; [ -d "$REL_DIR/fonts" ] && FONT_LINE="DANGJIAN_FONT_DIR=\"$PREFIX/current/fonts\""
cat > "$CONF.part" <<EOF
# 党建工作台 配置（install.sh 生成；修改后重启服务：systemctl restart dangjian）
DANGJIAN_DB="$DANGJIAN_DB"
# 第二备份位置（另一块硬盘或挂载的共享目录）；留空则只备份到数据目录的 backups/
DANGJIAN_BACKUP_DIR="$DANGJIAN_BACKUP_DIR"
# 1 = 通过 HTTPS 访问（nginx），登录 Cookie 只在 HTTPS 下发送
DANGJIAN_SECURE_COOKIES="$DANGJIAN_SECURE_COOKIES"
# 正式库丢失时不要悄悄建一个演示库
DANGJIAN_NO_DEMO="1"
$FONT_LINE
STREAMLIT_SERVER_PORT="$STREAMLIT_SERVER_PORT"
STREAMLIT_SERVER_ADDRESS="$STREAMLIT_SERVER_ADDRESS"
# 以子路径提供服务时填路径（不带斜杠），如 dangjian；nginx 的 location 要与之一致
STREAMLIT_SERVER_BASE_URL_PATH="$STREAMLIT_SERVER_BASE_URL_PATH"
EOF
mv "$CONF.part" "$CONF"
if [ -n "$DANGJIAN_BACKUP_DIR" ]; then
  mkdir -p "$DANGJIAN_BACKUP_DIR" 2>/dev/null || say "提示：无法创建第二备份位置 $DANGJIAN_BACKUP_DIR（共享目录未挂载？）；应用会在「系统管理」页面提醒"
  if [ "$SERVICE" -eq 1 ] && [ -d "$DANGJIAN_BACKUP_DIR" ]; then chown "$SVC_USER:" "$DANGJIAN_BACKUP_DIR" 2>/dev/null || true; fi
fi

run_py() {  # the new release's Python with the settings, as the service user when there is one
  local envs=(env "DANGJIAN_DB=$DANGJIAN_DB" "DANGJIAN_NO_DEMO=1" "DANGJIAN_BACKUP_DIR=$DANGJIAN_BACKUP_DIR")
  [ -n "${DANGJIAN_ADMIN_PASSWORD:-}" ] && envs+=("DANGJIAN_ADMIN_PASSWORD=$DANGJIAN_ADMIN_PASSWORD")
  if [ "$SERVICE" -eq 1 ]; then
    chown -R "$SVC_USER:" "$DATA"
    if command -v runuser >/dev/null 2>&1; then
      runuser -u "$SVC_USER" -- "${envs[@]}" "HOME=$DATA" "$REL_DIR/venv/bin/python" "$@"
    else
      su -s /bin/sh "$SVC_USER" -c "$(printf '%q ' "${envs[@]}" "HOME=$DATA" "$REL_DIR/venv/bin/python" "$@")"
    fi
  else
    "${envs[@]}" "$REL_DIR/venv/bin/python" "$@"
  fi
}

stop_app() {
  if [ "$SERVICE" -eq 1 ] && [ "$SYSTEMD_UP" -eq 1 ] && systemctl is-active --quiet dangjian.service; then
    say "停止服务 dangjian…"; systemctl stop dangjian.service; WAS_RUNNING=1
  fi
}
WAS_RUNNING=0

# 5. the database: create it, or back it up and migrate it
cd "$REL_DIR"   # `python -m dangjian_core` imports from the current directory first: use the new release
db_free() {  # nobody (a start.sh left running, a CLI) holds the database file
  run_py -c 'import duckdb, sys; duckdb.connect(sys.argv[1]).close()' "$DANGJIAN_DB" 2>/dev/null
}
if [ "$UPGRADE" -eq 1 ]; then
  stop_app
  db_free || { rm -rf "$REL_DIR"; die "数据库 $DANGJIAN_DB 正被另一个程序使用：请先停止正在运行的党建工作台（start.sh 或服务），再运行 install.sh"; }
  mkdir -p "$DATA/backups"
  SAFE="$DATA/backups/升级前-$(date +%Y%m%d-%H%M%S)-$(basename "${OLD_REL:-unknown}").duckdb"
  cp -p "$DANGJIAN_DB" "$SAFE"
  [ -f "$DANGJIAN_DB.wal" ] && cp -p "$DANGJIAN_DB.wal" "$SAFE.wal"
  say "已备份数据库到 $SAFE"
  if ! run_py -m dangjian_core db migrate; then
    say "数据库升级失败：恢复升级前的数据库，继续使用旧版本。" >&2
    cp -p "$SAFE" "$DANGJIAN_DB"; rm -f "$DANGJIAN_DB.wal"
    [ -f "$SAFE.wal" ] && cp -p "$SAFE.wal" "$DANGJIAN_DB.wal"
    [ "$SERVICE" -eq 1 ] && chown -R "$SVC_USER:" "$DATA"
    [ "$WAS_RUNNING" -eq 1 ] && systemctl start dangjian.service
    rm -rf "$REL_DIR"
    exit 1
  fi
  say "数据库已升级到本版本（原有数据全部保留）"
else
  if [ "$DEMO" -eq 1 ]; then
    run_py -m dangjian_core db init --demo
  else
    PW_FILE=""
    if [ -z "${DANGJIAN_ADMIN_PASSWORD:-}" ] && ! [ -t 0 ]; then
      DANGJIAN_ADMIN_PASSWORD="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(12))')"
      PW_FILE="$CONF_DIR/初始管理员密码.txt"
      (umask 077; printf 'admin 的初始密码：%s\n请登录后在「系统管理」中修改，然后删除本文件。\n' \
        "$DANGJIAN_ADMIN_PASSWORD" > "$PW_FILE")
    fi
    while [ -z "${DANGJIAN_ADMIN_PASSWORD:-}" ]; do
      read -rsp "请设置管理员 admin 的密码（至少 8 位）：" p1; echo
      read -rsp "再输入一次：" p2; echo
      if [ "$p1" != "$p2" ]; then say "两次输入不一致，请重输。"
      elif [ "${#p1}" -lt 8 ]; then say "密码至少 8 位，请重输。"
      else DANGJIAN_ADMIN_PASSWORD="$p1"; fi
    done
    run_py -m dangjian_core db init
  fi
fi
[ "$SERVICE" -eq 1 ] && chown -R "$SVC_USER:" "$DATA"

# 6. switch to the new release; keep the previous one for a manual rollback
ln -sfn "$REL_DIR" "$PREFIX/current.new" && mv -T "$PREFIX/current.new" "$PREFIX/current"
for old in "$PREFIX"/releases/*; do
  [ -d "$old" ] || continue
  case "$old" in "$REL_DIR"|"$OLD_REL") ;; *) rm -rf "$old" ;; esac
done
cat > "$PREFIX/start.sh" <<EOF
#!/bin/sh
# 在前台启动党建工作台（与 systemd 服务的 ExecStart 相同）
set -a; . "$CONF"; set +a
cd "$PREFIX/current" && exec "$PREFIX/current/venv/bin/python" -m streamlit run "$PREFIX/current/app.py"
EOF
chmod 755 "$PREFIX/start.sh"

# 7. the service
if [ "$SERVICE" -eq 1 ]; then
  cat > "$UNIT" <<EOF
[Unit]
Description=党建工作台 (Streamlit)
Documentation=file://$PREFIX/current/README.md
After=network-online.target local-fs.target remote-fs.target
Wants=network-online.target

[Service]
Type=simple
User=$SVC_USER
Group=$SVC_USER
EnvironmentFile=$CONF
Environment=HOME=$DATA PYTHONUNBUFFERED=1
WorkingDirectory=$PREFIX/current
ExecStart=$PREFIX/current/venv/bin/python -m streamlit run $PREFIX/current/app.py
Restart=on-failure
RestartSec=5
TimeoutStopSec=30
StateDirectory=$(basename "$DATA")
StateDirectoryMode=0750
StandardOutput=journal
StandardError=journal
SyslogIdentifier=dangjian
NoNewPrivileges=true
PrivateTmp=true
ProtectSystem=strict
ReadWritePaths=$DATA${DANGJIAN_BACKUP_DIR:+ -$DANGJIAN_BACKUP_DIR}
ProtectHome=true
ProtectKernelTunables=true
ProtectKernelModules=true
ProtectControlGroups=true
RestrictSUIDSGID=true
RestrictRealtime=true
LockPersonality=true
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
UMask=0027

[Install]
WantedBy=multi-user.target
EOF
  if [ "$DATA" != "/var/lib/$(basename "$DATA")" ]; then
    sed -i '/^StateDirectory/d' "$UNIT"   # StateDirectory= only names folders under /var/lib
  fi
  if [ "$SYSTEMD_UP" -eq 1 ]; then
    systemctl daemon-reload
    systemctl enable dangjian.service >/dev/null 2>&1
    if [ "$START" -eq 1 ]; then systemctl restart dangjian.service; fi
  else
    say "提示：本机的 systemd 没有运行（容器？）：已写入 $UNIT，但没有启动。可直接运行 $PREFIX/start.sh（以 $SVC_USER 用户）。"
  fi
fi

# 8. tell the colleague where it is
base="${STREAMLIT_SERVER_BASE_URL_PATH:+/$STREAMLIT_SERVER_BASE_URL_PATH}"
health="http://127.0.0.1:$STREAMLIT_SERVER_PORT$base/_stcore/health"
if [ "$SERVICE" -eq 1 ] && [ "$SYSTEMD_UP" -eq 1 ] && [ "$START" -eq 1 ]; then
  ok=0
  for _ in $(seq 1 60); do
    if "$REL_DIR/venv/bin/python" -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('$health', timeout=2).status == 200 else 1)" 2>/dev/null; then ok=1; break; fi
    sleep 1
  done
  [ "$ok" -eq 1 ] && say "服务 dangjian 已启动（systemctl status dangjian；日志 journalctl -u dangjian）" \
    || say "警告：服务没有在 60 秒内就绪，请查看 journalctl -u dangjian -n 50" >&2
fi
host="$(hostname -I 2>/dev/null | awk '{print $1}')"; host="${host:-本机IP}"
say ""
say "安装完成（$(( $(date +%s) - T0 )) 秒）。"
if [ "$STREAMLIT_SERVER_ADDRESS" = "127.0.0.1" ]; then
  say "访问地址：经 nginx 转发（模板 $PREFIX/current/nginx/dangjian.conf），本机 http://127.0.0.1:$STREAMLIT_SERVER_PORT$base/"
else
  say "访问地址：http://$host:$STREAMLIT_SERVER_PORT$base/"
fi
[ "$SERVICE" -eq 1 ] || say "启动：$PREFIX/start.sh（前台运行，Ctrl+C 停止；开机自启请用 sudo ./install.sh --service）"
if [ "$UPGRADE" -eq 0 ] && [ "$DEMO" -eq 0 ]; then
  if [ -n "${PW_FILE:-}" ]; then
    say "管理员账号 admin，初始密码：$DANGJIAN_ADMIN_PASSWORD（也保存在 $PW_FILE，仅 root 可读）"
    say "首次登录后请在「系统管理」→「用户与角色」中修改 admin 的密码，然后删除该文件。"
  else
    say "管理员账号 admin，密码为刚才设置的密码。首次登录后在「系统管理」中为同事添加账号。"
  fi
  say "忘记密码时：$PREFIX/current/venv/bin/python -m dangjian_core users passwd admin --db $DANGJIAN_DB（需先停止服务）"
elif [ "$DEMO" -eq 1 ] && [ "$UPGRADE" -eq 0 ]; then
  say "演示账号 admin / editor / treasurer / viewer，密码 dangjian-demo（数据均为虚构）"
fi
