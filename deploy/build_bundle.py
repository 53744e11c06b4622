"""Build the offline install bundle (`make bundle`), or check one platform's wheels (`make bundle-check`).

    python deploy/build_bundle.py [--platform x86_64|aarch64] [--python 3.11] [--check]

The bundle is one archive, dist/dangjian-<version>-linux-<platform>.tar.gz, holding:
  install.sh           installs from the archive alone (no network), see deploy/install.sh
  BUNDLE_INFO          version, platform, Python version, glibc floor (read by install.sh)
  app/                 app.py, pages/, ui/, dangjian_core/, .streamlit/config.toml (tracked files)
  wheels/              every runtime package of requirements.lock as a wheel for that platform,
                       plus pip itself (the target's Python may have no pip or venv's ensurepip)
  requirements.txt     the runtime pins with sha256 hashes (pip --require-hashes)
  fonts/               Noto Sans CJK (SIL OFL 1.1, licence text beside it) for the chart export
  nginx/dangjian.conf  the web-server snippet from deploy/nginx-dangjian.conf

Only the runtime part of the lock goes in: the closure of pyproject's `dependencies` over the
installed packages' metadata, markers evaluated for the target (pytest, playwright... stay out).
Wheels are downloaded once into a cache (.cache/bundle-wheels/<platform>-cp<ver>/); a second
build finds them all there and does not touch the network.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
PLATFORMS = ("x86_64", "aarch64")
# The oldest glibc the bundle supports: 麒麟 V10 and 统信 UOS 20 ship glibc 2.28. Every wheel
# must be tagged manylinux_2_28 or older (pip download is told exactly these tags).
GLIBC_FLOOR = (2, 28)
APP_PATHS = ("app.py", ".streamlit/config.toml", "pyproject.toml", "requirements.lock",
             "README.md", "dangjian_core/", "pages/", "ui/")
# Debian's fonts-noto-cjk has the Sans faces as collections (SC, TC, JP, KR, HK share their
# glyphs, so the SC face alone would save little); the chart export uses Regular and Bold.
FONT_ROOT = Path("/usr/share/fonts")
FONT_FILES = ("NotoSansCJK-Regular.ttc", "NotoSansCJK-Bold.ttc")
FONT_LICENSE = HERE / "OFL-NotoSansCJK.txt"            # copyright notice + OFL 1.1 text
DEBIAN_COPYRIGHT = Path("/usr/share/doc/fonts-noto-cjk/copyright")


def find_fonts() -> list[Path] | None:
    found = []
    for name in FONT_FILES:
        hits = sorted(FONT_ROOT.rglob(name)) if FONT_ROOT.is_dir() else []
        if not hits:
            return None
        found.append(hits[0])
    return found


# -- what goes in --------------------------------------------------------------------------
def read_lock(path: Path = ROOT / "requirements.lock") -> dict[str, tuple[str, str]]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            out[canonicalize_name(name)] = (name.strip(), version.strip())
    return out


def read_bootstrap() -> list[str]:
    return [ln.strip() for ln in (HERE / "bootstrap.lock").read_text().splitlines()
            if ln.strip() and not ln.startswith("#")]


def target_env(platform: str, python: str) -> dict[str, str]:
    return {"python_version": python, "python_full_version": python + ".0", "os_name": "posix",
            "sys_platform": "linux", "platform_system": "Linux", "platform_machine": platform,
            "implementation_name": "cpython", "platform_python_implementation": "CPython",
            "platform_release": "", "platform_version": "", "implementation_version": python + ".0"}


def runtime_packages(platform: str, python: str) -> list[tuple[str, str]]:
    """(name, version) of every package the app needs at run time on the target, from the lock.

    The dependency graph comes from the metadata of the packages installed in this venv
    (`make install` installs the whole lock), with markers evaluated for the target."""
    lock = read_lock()
    roots = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = target_env(platform, python)
    wanted: dict[str, set[str]] = {}
    stack = [Requirement(r) for r in roots]
    while stack:
        req = stack.pop()
        name = canonicalize_name(req.name)
        extras = set(req.extras)
        if name in wanted and extras <= wanted[name]:
            continue
        wanted[name] = wanted.get(name, set()) | extras
        if name not in lock:
            raise SystemExit(f"requirements.lock 中没有 {req.name}（{req} 需要它）：请重新生成锁定文件")
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            raise SystemExit(f"{name} 没有安装在当前环境中：请先运行 make install") from None
        for text in requires:
            dep = Requirement(text)
            if dep.marker is None or any(dep.marker.evaluate(dict(env, extra=e))
                                         for e in [""] + sorted(wanted[name])):
                stack.append(dep)
    return sorted((lock[n][0], lock[n][1]) for n in wanted)


def platform_tags(platform: str) -> list[str]:
    tags = [f"manylinux_2_{m}_{platform}" for m in range(GLIBC_FLOOR[1], 16, -1)]
    tags.append(f"manylinux2014_{platform}")
    if platform == "x86_64":
        tags += ["manylinux2010_x86_64", "manylinux1_x86_64"]
    return tags


def pip_target_args(platform: str, python: str) -> list[str]:
    nodot = python.replace(".", "")
    args = ["--only-binary=:all:", "--python-version", python, "--implementation", "cp",
            "--abi", f"cp{nodot}"]
    for tag in platform_tags(platform):
        args += ["--platform", tag]
    return args


def pip(*args: str, quiet: bool = True) -> subprocess.CompletedProcess:
    # Only PyPI (or whatever PIP_INDEX_URL the builder sets): this machine's pip.conf may point
    # at local mirrors whose files differ from the lock's.
    env = dict(os.environ, PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PIP_FIND_LINKS", None)
    cmd = [sys.executable, "-m", "pip", *args] + (["-q"] if quiet else [])
    return subprocess.run(cmd, env=env, capture_output=True, text=True)


# -- wheels --------------------------------------------------------------------------------
def download_wheels(pins: list[str], platform: str, python: str, cache: Path) -> None:
    """Fill the cache with a wheel for every pin: from the cache alone when it has them all
    (no network), otherwise from the index."""
    cache.mkdir(parents=True, exist_ok=True)
    req = cache / "wanted.txt"
    req.write_text("\n".join(pins) + "\n")
    common = ["download", "--no-deps", *pip_target_args(platform, python), "-d", str(cache),
              "-r", str(req)]
    if pip(*common, "--no-index", "--find-links", str(cache)).returncode == 0:
        return
    r = pip(*common)
    if r.returncode != 0:
        missing = check_platform(pins, platform, python)
        raise SystemExit(f"下载 {platform} 的依赖失败。\n{report_text(missing, platform, python)}\n"
                         f"{r.stderr[-1500:]}")


def pick_wheel(cache: Path, name: str, version: str, platform: str) -> Path:
    allowed = set(platform_tags(platform)) | {"any"}
    for p in sorted(cache.glob("*.whl")):
        wname, wversion, _, tags = parse_wheel_filename(p.name)
        if wname == canonicalize_name(name) and str(wversion) == version \
                and any(t.platform in allowed for t in tags):
            return p
    raise SystemExit(f"缓存 {cache} 中没有 {name}=={version} 的 {platform} wheel")


def check_platform(pins: list[str], platform: str, python: str) -> list[dict]:
    """Resolve each pin against the index for the target without downloading the wheels
    (pip --dry-run reads only metadata): one row per package with the file pip would take,
    or what replaces a package that has no wheel for that platform."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        reqs = Path(tmp) / "req.txt"
        reqs.write_text("\n".join(pins) + "\n")
        base = ["install", "--dry-run", "--ignore-installed", "--no-deps", "--target",
                str(Path(tmp) / "t"), *pip_target_args(platform, python)]
        r = pip(*base, "--report", str(report), "-r", str(reqs))
        if r.returncode == 0:
            files = {canonicalize_name(i["metadata"]["name"]): i["download_info"]["url"].rsplit("/", 1)[1]
                     for i in json.loads(report.read_text())["install"]}
            return [{"package": p, "wheel": files.get(canonicalize_name(p.split("==")[0]))}
                    for p in pins]
        for pin in pins:  # something is missing: find out what, one by one
            name = pin.split("==")[0]
            r = pip(*base, "--report", str(report), pin)
            if r.returncode == 0:
                url = json.loads(report.read_text())["install"][0]["download_info"]["url"]
                rows.append({"package": pin, "wheel": url.rsplit("/", 1)[1]})
                continue
            rows.append({"package": pin, "wheel": None, "replacement": _replacement(base, report, name)})
    return rows


def _replacement(base: list[str], report: Path, name: str) -> str:
    r = pip(*base, "--report", str(report), name)
    if r.returncode == 0:
        item = json.loads(report.read_text())["install"][0]
        return (f"{name}=={item['metadata']['version']} 有该平台的 wheel：在 requirements.lock 中改用该版本"
                f"并在 x86_64 上重新跑全部测试")
    return (f"{name} 没有任何版本提供该平台的 wheel：需要在一台同架构、能联网的机器上 "
            f"pip wheel {name} 编译后放进 wheels/（需要编译器），或换用别的库")


def report_text(rows: list[dict], platform: str, python: str) -> str:
    lines = [f"{platform} / CPython {python} / glibc ≥ {GLIBC_FLOOR[0]}.{GLIBC_FLOOR[1]}："]
    missing = [r for r in rows if not r["wheel"]]
    for r in rows:
        lines.append(f"  {'缺少' if not r['wheel'] else '  ok'}  {r['package']:<36} "
                     f"{r['wheel'] or r.get('replacement', '')}")
    lines.append(f"共 {len(rows)} 个运行时依赖，" +
                 ("全部有该平台的 wheel。" if not missing else
                  f"{len(missing)} 个没有：" + "、".join(r['package'] for r in missing)))
    return "\n".join(lines)


# -- the archive ---------------------------------------------------------------------------
def app_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z", "--", *APP_PATHS], cwd=ROOT, check=True,
                         capture_output=True).stdout.decode().split("\0")
    return [f for f in out if f and (ROOT / f).is_file() and "__pycache__" not in f]


def version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def git_commit() -> str:
    r = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", *APP_PATHS], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    return (r.stdout.strip() or "unknown") + ("-dirty" if dirty else "")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def build(platform: str, python: str, cache: Path, out: Path, fonts: bool = True) -> Path:
    pins = [f"{n}=={v}" for n, v in runtime_packages(platform, python)]
    boot = read_bootstrap()
    download_wheels(pins + boot, platform, python, cache)
    ver, commit = version(), git_commit()
    name = f"dangjian-{ver}-linux-{platform}"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        top = Path(tmp) / name
        (top / "wheels").mkdir(parents=True)
        lines = []
        for pin in pins + boot:
            n, v = pin.split("==")
            wheel = pick_wheel(cache, n, v, platform)
            shutil.copy2(wheel, top / "wheels" / wheel.name)
            if pin in pins:
                lines.append(f"{pin} --hash=sha256:{sha256(wheel)}")
        (top / "requirements.txt").write_text("\n".join(lines) + "\n")
        for f in app_files():
            dest = top / "app" / f
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, dest)
        if fonts:
            files = find_fonts()
            if not files:
                raise SystemExit("构建机上没有 Noto CJK 字体：请先 sudo apt-get install fonts-noto-cjk"
                                 "（或加 --no-fonts，目标机自己安装中文字体）")
            (top / "fonts").mkdir()
            for f in files:
                shutil.copy2(f, top / "fonts" / f.name)
            shutil.copy2(FONT_LICENSE, top / "fonts" / "LICENSE-NotoSansCJK.txt")
            if DEBIAN_COPYRIGHT.exists():
                shutil.copy2(DEBIAN_COPYRIGHT, top / "fonts" / "debian-copyright.txt")
            (top / "fonts" / "README.txt").write_text(
                "Noto Sans CJK（思源黑体），SIL Open Font License 1.1，许可全文见 LICENSE-NotoSansCJK.txt。\n"
                "取自 Debian 软件包 fonts-noto-cjk；简报图表导出 PNG 时使用其中的 Noto Sans CJK SC。\n",
                encoding="utf-8")
        (top / "nginx").mkdir()
        shutil.copy2(HERE / "nginx-dangjian.conf", top / "nginx" / "dangjian.conf")
        shutil.copy2(HERE / "install.sh", top / "install.sh")
        os.chmod(top / "install.sh", 0o755)
        pip_wheel = next(p.name for p in (top / "wheels").glob("pip-*.whl"))
        (top / "BUNDLE_INFO").write_text(
            f"VERSION={ver}\nCOMMIT={commit}\nRELEASE={ver}-{commit}\nPLATFORM={platform}\n"
            f"PYVER={python}\nGLIBC_MIN={GLIBC_FLOOR[0]}.{GLIBC_FLOOR[1]}\nPIP_WHEEL={pip_wheel}\n"
            f"BUILT={time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n")
        archive = out / f"{name}.tar.gz"
        part = archive.with_name(archive.name + ".part")
        with tarfile.open(part, "w:gz", compresslevel=1) as tar:
            tar.add(top, arcname=name)
        os.replace(part, archive)
    (archive.with_name(archive.name + ".sha256")).write_text(f"{sha256(archive)}  {archive.name}\n")
    return archive


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--platform", default="x86_64", choices=PLATFORMS)
    ap.add_argument("--python", default="3.11", help="目标机的 Python 版本（主.次），默认 3.11")
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=ROOT / "dist")
    ap.add_argument("--no-fonts", action="store_true")
    ap.add_argument("--check", action="store_true", help="只检查该平台是否每个依赖都有 wheel（不下载）")
    ap.add_argument("--list", action="store_true", help="只列出运行时依赖")
    args = ap.parse_args(argv)
    if not re.fullmatch(r"3\.\d+", args.python):
        ap.error("--python 形如 3.11")
    pins = [f"{n}=={v}" for n, v in runtime_packages(args.platform, args.python)]
    if args.list:
        print("\n".join(pins))
        return 0
    if args.check:
        rows = check_platform(pins + read_bootstrap(), args.platform, args.python)
        print(report_text(rows, args.platform, args.python))
        return 0 if all(r["wheel"] for r in rows) else 1
    cache = args.cache or ROOT / ".cache" / "bundle-wheels" / f"{args.platform}-cp{args.python.replace('.', '')}"
    t0 = time.time()
    archive = build(args.platform, args.python, cache, args.out, fonts=not args.no_fonts)
    print(f"已生成 {archive}（{archive.stat().st_size / 1048576:.0f} MB，{time.time() - t0:.0f} 秒）")
    return 0


if __name__ == "__main__":
    sys.exit(main())
