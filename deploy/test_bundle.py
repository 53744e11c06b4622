"""The offline bundle installs where the office is: `make test-bundle` (called by .ci/run).

Builds the x86_64 bundle (wheels cached in .cache/bundle-wheels, so only the first build
downloads), unpacks it in a fresh directory and runs install.sh with no network at all (a
fresh network namespace when `unshare --net` works; otherwise pip is forced offline and every
proxy points at a closed port), starts the installed app the way the service does, logs in
through Chromium, then installs a newer bundle (one more migration) over it: the database is
backed up first, migrated, and the admin's password still works. The aarch64 wheels are
checked against the index (no download).
"""

from __future__ import annotations

import os
import platform
import re
import signal
import subprocess
import sys
import tarfile
import time
import urllib.request
from pathlib import Path

import duckdb
import pytest

from tests.e2e.helpers import App, browser, exceptions, free_port, login, new_page, shot, wait_for_cookie, wait_idle

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bundle-test-pw-1"
MACHINE = platform.machine()  # x86_64 on CI; the other platform is only checked
OTHER = "aarch64" if MACHINE == "x86_64" else "x86_64"
PYVER = "{}.{}".format(*sys.version_info[:2])  # the bundle is for this machine's Python (the office's: 3.11)
TEST_DEPS = ("pytest", "playwright", "hypothesis", "greenlet", "pluggy", "iniconfig")


def _no_network() -> list[str]:
    try:
        if subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode == 0:
            return ["unshare", "--net"]
    except FileNotFoundError:
        pass
    return []


def _clean_env(home: Path) -> dict[str, str]:
    """What a colleague's shell on the intranet machine has: no pip settings, no cache, no proxy
    that works (when there is no network namespace, any attempt to go out fails at once)."""
    dead = "http://127.0.0.1:9"
    return {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME": str(home),
            "LANG": "C.UTF-8", "PIP_NO_INDEX": "1", "PIP_CONFIG_FILE": os.devnull,
            "PIP_NO_CACHE_DIR": "1", "http_proxy": dead, "https_proxy": dead,
            "HTTP_PROXY": dead, "HTTPS_PROXY": dead, "no_proxy": "", "DANGJIAN_ADMIN_PASSWORD": PASSWORD}


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    r = subprocess.run([sys.executable, "deploy/build_bundle.py", "--platform", MACHINE, "--python", PYVER,
                        "--out", str(out)],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return next(out.glob(f"dangjian-*-linux-{MACHINE}.tar.gz"))


def _unpack(archive: Path, where: Path) -> Path:
    where.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(where, filter="tar")
    (top,) = where.iterdir()
    return top


def _install(bundle: Path, prefix: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    home.mkdir(exist_ok=True)
    return subprocess.run([*_no_network(), str(bundle / "install.sh"), "--prefix", str(prefix), *args],
                          env=_clean_env(home), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=900)


def _start(prefix: Path, port: int) -> App:
    """start.sh: the same command as the systemd unit's ExecStart, with dangjian.env."""
    log = prefix / "app.log"
    proc = subprocess.Popen([str(prefix / "start.sh")], env={"PATH": "/usr/bin:/bin", "HOME": str(prefix)},
                            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 90
    while time.time() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return App(prefix / "data" / "dangjian.duckdb", port, proc, log)
        except OSError:
            time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError("installed app did not become healthy: " + log.read_text()[-3000:])


def _log_in(app: App) -> dict:
    """Log in as admin through Chromium; the login cookie as the browser keeps it."""
    with browser() as b:
        page = new_page(b, app)
        try:
            login(page, "admin", PASSWORD, expect_ok=True)
        except AssertionError:
            # On a loaded machine the first reruns after start can drop a typed field
            # ("请输入用户名和密码"): a person would reload and type again.
            page.reload()
            wait_idle(page)
            login(page, "admin", PASSWORD, expect_ok=True)
        assert page.get_by_text("当前用户：系统管理员").count() == 1, shot(page, "bundle-login")
        assert not exceptions(page)
        assert not page.failed_requests, page.failed_requests
        assert wait_for_cookie(page), "the login cookie is written"
        return next(c for c in page.context.cookies() if c["name"] == "dangjian_session")


def test_bundle_holds_the_runtime_wheels_the_fonts_and_their_licence(archive):
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        top = names[0].split("/")[0]
        reqs = tar.extractfile(f"{top}/requirements.txt").read().decode()
    pins = [ln.split(" ")[0] for ln in reqs.splitlines() if ln.strip()]
    assert all("--hash=sha256:" in ln for ln in reqs.splitlines() if ln.strip())
    assert any(p.startswith("streamlit==") for p in pins) and any(p.startswith("duckdb==") for p in pins)
    assert not [p for p in pins if p.split("==")[0].lower() in TEST_DEPS]
    wheels = [n for n in names if n.startswith(f"{top}/wheels/") and n.endswith(".whl")]
    assert len(wheels) == len(pins) + 1  # + pip
    assert not [w for w in wheels if re.search(r"-(linux_(x86_64|aarch64)|macosx|win)", w)]
    assert f"{top}/fonts/NotoSansCJK-Regular.ttc" in names
    assert f"{top}/fonts/LICENSE-NotoSansCJK.txt" in names
    assert f"{top}/install.sh" in names and f"{top}/app/app.py" in names
    assert f"{top}/app/.streamlit/config.toml" in names
    assert not [n for n in names if "/tests/" in n or n.endswith(".pyc")]


def test_offline_install_starts_logs_in_and_upgrades_keeping_the_data(archive, tmp_path):
    bundle = _unpack(archive, tmp_path / "unpacked")
    prefix = tmp_path / "opt-dangjian"
    port = free_port()
    r = _install(bundle, prefix, tmp_path / "home", "--port", str(port), "--address", "127.0.0.1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "安装完成" in r.stdout and f"http://127.0.0.1:{port}/" in r.stdout
    venv_py = prefix / "current" / "venv" / "bin" / "python"
    for dep in ("pytest", "playwright"):
        assert subprocess.run([venv_py, "-c", f"import {dep}"], capture_output=True).returncode != 0
    env_file = (prefix / "dangjian.env").read_text()
    assert f'STREAMLIT_SERVER_PORT="{port}"' in env_file and 'DANGJIAN_NO_DEMO="1"' in env_file

    app = _start(prefix, port)
    try:
        assert not _log_in(app)["secure"]  # plain HTTP
    finally:
        app.stop()

    # A newer bundle with one more migration, installed over the first one: only --https is
    # given, the previous settings (port, address) are kept.
    newer = _unpack(archive, tmp_path / "newer")
    (newer / "app/dangjian_core/migrations/999_bundle_upgrade_test.sql").write_text(
        "CREATE TABLE bundle_upgrade_probe (id INTEGER);\n")
    info = (newer / "BUNDLE_INFO").read_text()
    (newer / "BUNDLE_INFO").write_text(re.sub(r"RELEASE=(.*)", r"RELEASE=\1-next", info))
    first_release = (prefix / "current").resolve()
    r = _install(newer, prefix, tmp_path / "home", "--https")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "已备份数据库到" in r.stdout and "数据库已升级" in r.stdout
    assert (prefix / "current").resolve() != first_release and first_release.exists()  # rollback kept
    backups = list((prefix / "data" / "backups").glob("升级前-*.duckdb"))
    assert len(backups) == 1
    con = duckdb.connect(str(backups[0]), read_only=True)
    assert con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] < 999
    con.close()
    con = duckdb.connect(str(prefix / "data" / "dangjian.duckdb"), read_only=True)
    assert con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] == 999
    assert con.execute("SELECT count(*) FROM users WHERE username = 'admin'").fetchone()[0] == 1
    con.close()
    app = _start(prefix, port)
    try:
        cookie = _log_in(app)  # same password: the data survived
    finally:
        app.stop()
    assert cookie["secure"]  # behind HTTPS (Chromium keeps Secure cookies of 127.0.0.1 too)

    r = subprocess.run([str(bundle / "install.sh"), "--prefix", str(prefix), "--uninstall"],
                       env=_clean_env(tmp_path / "home"), capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not (prefix / "releases").exists() and (prefix / "data" / "dangjian.duckdb").exists()


def test_the_other_platform_bundle_is_complete():
    r = subprocess.run([sys.executable, "deploy/build_bundle.py", "--check", "--platform", OTHER,
                        "--python", PYVER],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    print(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "全部有该平台的 wheel" in r.stdout
