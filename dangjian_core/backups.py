"""Backups the office can rely on: a daily copy made by the running app (it holds the DuckDB
lock, so only it can copy), manual copies from the admin page, and restore."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from .auth import User, require
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


def restore(db, user: User, name: str) -> Path:
    """Restore a backup from the backup folder (by file name); the current state is saved
    first, so a restore can itself be undone."""
    require(user, "backup")
    d = backup_dir(db)
    src = (d / name).resolve()
    if src.parent != d.resolve() or not src.exists():
        raise BadInput(f"找不到备份文件「{name}」")
    safety = db.backup(d / f"恢复前-{clock.now():%Y%m%d-%H%M%S}.duckdb")
    db.restore_from(src)
    db.migrate()
    return safety


def save_uploaded(db, user: User, filename: str, data: bytes) -> str:
    require(user, "backup")
    if not data.startswith(b"") or len(data) < 1024:
        raise BadInput("上传的文件不是有效的备份")
    d = backup_dir(db)
    d.mkdir(parents=True, exist_ok=True)
    name = f"上传-{clock.now():%Y%m%d-%H%M%S}-{Path(filename).stem[:40]}.duckdb"
    (d / name).write_bytes(data)
    return name
