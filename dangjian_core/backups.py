"""Backups the office can rely on: a daily copy made by the running app (it holds the DuckDB
lock, so only it can copy), manual copies from the admin page, and restore."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from .auth import User, require
from .db import BackupCheck, sweep_partial_files
from .errors import BadInput
from . import clock

KEEP_DAYS = 30


def backup_dir(db) -> Path:
    return Path(db.path).resolve().parent / "backups"


def list_backups(db) -> list[dict]:
    d = backup_dir(db)
    if not d.exists():
        return []
    out = []
    for p in sorted(d.glob("*.duckdb"), key=lambda p: p.stat().st_mtime, reverse=True):
        st = p.stat()
        out.append({"name": p.name, "path": str(p), "size_mb": round(st.st_size / 1048576, 2),
                    "time": datetime.fromtimestamp(st.st_mtime)})
    return out


def make_backup(db, user: User, label: str = "手动") -> Path:
    require(user, "backup")
    return db.backup(backup_dir(db) / f"{label}-{clock.now():%Y%m%d-%H%M%S}.duckdb")


def daily_backup(db, now: datetime | None = None, keep_days: int = KEEP_DAYS) -> Path | None:
    """Make today's automatic backup if there is none yet; drop automatic ones older than
    `keep_days`. Returns the new file, or None when today's exists."""
    now = now or clock.now()
    d = backup_dir(db)
    today = d / f"自动-{now:%Y%m%d}.duckdb"
    made = None
    if not today.exists():
        made = db.backup(today)
    cutoff = now - timedelta(days=keep_days)
    for p in d.glob("自动-*.duckdb"):
        try:
            day = datetime.strptime(p.stem.split("-", 1)[1], "%Y%m%d")
        except ValueError:
            continue
        if day < cutoff:
            p.unlink(missing_ok=True)
    return made


def _backup_file(db, name: str) -> Path:
    d = backup_dir(db)
    src = (d / name).resolve()
    if src.parent != d.resolve() or not src.exists():
        raise BadInput(f"找不到备份文件「{name}」")
    return src


def check(db, user: User, name: str) -> BackupCheck:
    """Check a backup of the backup folder before restoring it: refused (BadInput, Chinese)
    when it is not a whole backup of this program; else the row count of every table, for the
    admin to confirm."""
    require(user, "backup")
    return db.check_backup(_backup_file(db, name))


def compare_counts(db, user: User, check: BackupCheck):
    """Rows per table in the backup next to the rows now, with Chinese table names."""
    import polars as pl

    from . import audit

    require(user, "backup")
    with db.read() as cur:
        now = {t: cur.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for (t,) in cur.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()}
    names = sorted(set(check.row_counts) | (set(now) - {"schema_migrations"}))
    return pl.DataFrame({
        "数据表": [audit.TABLE_LABELS.get(t, t) for t in names],
        "表名": names,
        "备份中的行数": [check.row_counts.get(t) for t in names],
        "当前行数": [now.get(t) for t in names],
    }, schema={"数据表": pl.String, "表名": pl.String, "备份中的行数": pl.Int64, "当前行数": pl.Int64})


def restore(db, user: User, name: str) -> Path:
    """Restore a backup from the backup folder (by file name) after checking it; the current
    state is saved first, so a restore can itself be undone."""
    require(user, "backup")
    src = _backup_file(db, name)
    db.check_backup(src)  # a bad file is refused before anything, even the safety copy, is made
    safety = db.backup(backup_dir(db) / f"恢复前-{clock.now():%Y%m%d-%H%M%S}.duckdb")
    db.restore_from(src)
    db.migrate()
    return safety


def sweep_partial(db) -> list[Path]:
    """Remove the `.part` files of backups that were killed half-way (run at startup)."""
    return sweep_partial_files(backup_dir(db))


def save_uploaded(db, user: User, filename: str, data: bytes) -> str:
    """Keep an uploaded backup in the backup folder, only when `check_backup` accepts it."""
    require(user, "backup")
    if len(data) < 1024 or data[8:12] != b"DUCK":
        raise BadInput("上传的文件不是有效的备份（不是 DuckDB 数据库文件）")
    d = backup_dir(db)
    d.mkdir(parents=True, exist_ok=True)
    name = f"上传-{clock.now():%Y%m%d-%H%M%S}-{Path(filename).stem[:40]}.duckdb"
    tmp = d / (name + ".part")
    try:
        tmp.write_bytes(data)
        db.check_backup(tmp)
        tmp.replace(d / name)
    finally:
        tmp.unlink(missing_ok=True)
    return name
