"""Backups the office can rely on: a daily copy made by the running app (it holds the DuckDB
lock, so only it can copy), manual copies from the admin page, and restore.

A second place (another disk, a mounted share) named by DANGJIAN_BACKUP_DIR (install.sh
--backup-dir writes it into dangjian.env) gets a copy of every daily backup, with the same
retention; the time of the last successful backup, here and there, is kept in app_meta so
the admin page can warn when it is more than two days old.

Every backup `X.duckdb` has the uploaded attachment files in the folder `X.duckdb.附件` beside
it (db.backup, datafiles): retention, the second place and restore treat the two as one."""

from __future__ import annotations

import errno
import os
import shutil
import threading
import weakref
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from . import audit, clock, datafiles, uow
from .auth import User, require
from .db import BackupCheck, Database, sweep_partial_files
from .errors import BadInput

KEEP_DAYS = 30
STALE_DAYS = 2          # the admin page warns when the last good backup is older than this
SECOND_DIR_ENV = "DANGJIAN_BACKUP_DIR"


def backup_dir(db: Database) -> Path:
    return Path(db.path).resolve().parent / "backups"


def list_backups(db: Database) -> list[dict[str, Any]]:
    d = backup_dir(db)
    if not d.exists():
        return []
    out = []
    for p in sorted(d.glob("*.duckdb"), key=lambda p: p.stat().st_mtime, reverse=True):
        st = p.stat()
        out.append({"name": p.name, "path": str(p), "size_mb": round(st.st_size / 1048576, 2),
                    "time": datetime.fromtimestamp(st.st_mtime)})
    return out


def make_backup(db: Database, user: User, label: str = "手动") -> Path:
    require(user, "backup")
    made = db.backup(backup_dir(db) / f"{label}-{clock.now():%Y%m%d-%H%M%S}.duckdb")
    _record(db, "backup_last_ok", clock.now())
    return made


def daily_backup(db: Database, now: datetime | None = None, keep_days: int = KEEP_DAYS) -> Path | None:
    """Make today's automatic backup if there is none yet; drop automatic ones older than
    `keep_days`. Returns the new file, or None when today's exists."""
    now = now or clock.now()
    d = backup_dir(db)
    today = d / f"自动-{now:%Y%m%d}.duckdb"
    made = None
    if not today.exists():
        made = db.backup(today)
        _record(db, "backup_last_ok", now)
    _drop_old(d, now, keep_days)
    _copy_to_second_place(db, today, now, keep_days)
    return made


def _drop_old(d: Path, now: datetime, keep_days: int) -> None:
    cutoff = now - timedelta(days=keep_days)
    for p in d.glob("自动-*.duckdb"):
        try:
            day = datetime.strptime(p.stem.split("-", 1)[1], "%Y%m%d")
        except ValueError:
            continue
        if day < cutoff:
            p.unlink(missing_ok=True)
            datafiles.remove_tree(datafiles.folder_for(p))


# -- the second place ------------------------------------------------------------------------
def second_dir() -> Path | None:
    """The second backup folder (another disk or a mounted share), or None when not set."""
    value = os.environ.get(SECOND_DIR_ENV, "").strip()
    return Path(value) if value else None


def _copy_to_second_place(db: Database, today: Path, now: datetime, keep_days: int) -> None:
    """Copy today's automatic backup to the second folder (once a day) and apply the same
    retention there. The folder is never created here: a share that is not mounted must not
    become a folder on the local disk; a failure is recorded for the admin page, not raised."""
    dest_dir = second_dir()
    if dest_dir is None or not today.exists():
        return
    dest = dest_dir / today.name
    try:
        if not dest_dir.is_dir():
            raise OSError(f"文件夹 {dest_dir} 不存在或不是文件夹（共享目录没有挂载？）")
        if not dest.exists():
            folder = datafiles.folder_for(today)
            if folder.is_dir():  # the files first: a copied backup file always has its folder
                datafiles.copy_folder(folder, datafiles.folder_for(dest))
            part = dest.with_name(dest.name + ".part")
            try:
                shutil.copyfile(today, part)
                os.replace(part, dest)
            finally:
                part.unlink(missing_ok=True)
            _record(db, "backup_second_last_ok", now)
        if _read(db, "backup_second_error") is not None:
            _record(db, "backup_second_error", None)
        _drop_old(dest_dir, now, keep_days)
    except OSError as exc:
        reason = (_OS_REASONS.get(exc.errno) if exc.errno is not None else None) or exc.strerror or str(exc)
        _record(db, "backup_second_error", f"{now:%Y-%m-%d %H:%M} 复制到 {dest_dir} 失败：{reason}")


_OS_REASONS = {errno.EACCES: "没有写入权限（请让服务用户 dangjian 可以写这个文件夹）",
               errno.EPERM: "没有写入权限（请让服务用户 dangjian 可以写这个文件夹）",
               errno.ENOSPC: "磁盘已满", errno.EROFS: "文件夹是只读的",
               errno.ENOENT: "文件夹不存在（共享目录没有挂载？）"}


def _record(db: Database, key: str, value: datetime | str | None) -> None:
    text = value.isoformat(timespec="seconds") if isinstance(value, datetime) else value
    with uow.bookkeeping(db) as cur:
        if text is None:
            cur.execute("DELETE FROM app_meta WHERE key = ?", [key])
        else:
            cur.execute("INSERT OR REPLACE INTO app_meta VALUES (?, ?)", [key, text])


def _read(db: Database, key: str) -> str | None:
    with db.read() as cur:
        row = cur.execute("SELECT value FROM app_meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def status(db: Database, now: datetime | None = None) -> dict[str, Any]:
    """What the admin page shows: the last successful backup here and at the second place,
    the second place's last error, and warnings (Chinese) when a backup is over two days old."""
    now = now or clock.now()
    stale = now - timedelta(days=STALE_DAYS)

    def when(key: str) -> datetime | None:
        v = _read(db, key)
        return datetime.fromisoformat(v) if v else None

    last, d2 = when("backup_last_ok"), second_dir()
    when2 = when("backup_second_last_ok") if d2 else None
    warnings: list[str] = []
    if last is None or last < stale:
        warnings.append("最近一次成功备份" + (f"是 {last:%Y-%m-%d %H:%M}，已超过 {STALE_DAYS} 天"
                                            if last else "没有记录") + "：请立即备份，并检查应用是否一直在运行。")
    if d2 is not None and (when2 is None or when2 < stale):
        warnings.append(f"第二备份位置 {d2} 最近一次成功备份" +
                        (f"是 {when2:%Y-%m-%d %H:%M}，已超过 {STALE_DAYS} 天" if when2 else "没有记录") +
                        "：请检查该硬盘或共享目录是否挂载、是否可写。")
    out: dict[str, Any] = {"last_ok": last, "second_dir": str(d2) if d2 else None, "second_last_ok": when2,
                           "second_error": _read(db, "backup_second_error") if d2 else None, "warnings": warnings}
    return out


_daily_threads: dict[int, threading.Thread] = {}


def start_daily(db: Database, interval_s: float = 3600) -> None:
    """Keep making the daily backup while the app runs for weeks: a daemon thread calls
    `daily_backup` every hour (it does nothing when today's exists). Started once per database."""
    if id(db) in _daily_threads:
        return
    ref = weakref.ref(db)  # the thread must not keep a closed or forgotten database alive

    def loop() -> None:
        stop = threading.Event()
        while not stop.wait(interval_s):
            target = ref()
            if target is None:
                return
            try:
                daily_backup(target)
            except Exception:  # noqa: BLE001 — retried next hour; the admin page shows the age
                pass
            del target

    t = threading.Thread(target=loop, name="dangjian-daily-backup", daemon=True)
    _daily_threads[id(db)] = t
    t.start()


def _backup_file(db: Database, name: str) -> Path:
    d = backup_dir(db)
    src = (d / name).resolve()
    if src.parent != d.resolve() or not src.exists():
        raise BadInput(f"找不到备份文件「{name}」")
    return src


def check(db: Database, user: User, name: str) -> BackupCheck:
    """Check a backup of the backup folder before restoring it: refused (BadInput, Chinese)
    when it is not a whole backup of this program; else the row count of every table, for the
    admin to confirm."""
    require(user, "backup")
    return db.check_backup(_backup_file(db, name))


def compare_counts(db: Database, user: User, check: BackupCheck) -> pl.DataFrame:
    """Rows per table in the backup next to the rows now, with Chinese table names."""
    require(user, "backup")
    with db.read() as cur:
        now = {t: cur.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for (t,) in cur.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()}
    names = sorted(set(check.row_counts) | (set(now) - {"schema_migrations"}))
    labels = audit.table_labels()
    return pl.DataFrame({
        "数据表": [labels.get(t, t) for t in names],
        "表名": names,
        "备份中的行数": [check.row_counts.get(t) for t in names],
        "当前行数": [now.get(t) for t in names],
    }, schema={"数据表": pl.String, "表名": pl.String, "备份中的行数": pl.Int64, "当前行数": pl.Int64})


def restore(db: Database, user: User, name: str) -> Path:
    """Restore a backup from the backup folder (by file name) after checking it; the current
    state is saved first, so a restore can itself be undone."""
    require(user, "backup")
    src = _backup_file(db, name)
    db.check_backup(src)  # a bad file is refused before anything, even the safety copy, is made
    safety = db.backup(backup_dir(db) / f"恢复前-{clock.now():%Y%m%d-%H%M%S}.duckdb")
    db.restore_from(src)
    db.migrate()
    return safety


def sweep_partial(db: Database) -> list[Path]:
    """Remove the `.part` files of backups (and of restores) that were killed half-way (run at startup)."""
    return sweep_partial_files(backup_dir(db)) + datafiles.sweep(db.files_dir)
