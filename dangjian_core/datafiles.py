"""Files that belong to the office's data but live beside the database file, not in it: the
uploads under data/attachments/ (示范点创建档案 photos and documents, sites/attachments.py).

A backup `X.duckdb` carries them in the folder `X.duckdb.附件/` beside it (the same tree as
data/attachments/) and lists them — path, size, SHA-256 — in its own table `_backup_files`, so
the list cannot get lost apart from the data: checking a backup reads every file against it and
refuses (in Chinese) a backup whose folder is missing or damaged. Backups made before attachments
were backed up have no such table: they restore the data and leave the attachment files as they
are (`OLD_BACKUP_NOTE`).

Attachment files are written once (unique names, `.part` + rename) and never changed in place, so
a backup hard-links them when it can (30 daily backups cost no extra disk) and copies otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from .errors import BadInput

if TYPE_CHECKING:
    from .db import Cursor

FOLDER_SUFFIX = ".附件"
TABLE = "_backup_files"
OLD_BACKUP_NOTE = ("这个备份是旧版本程序做的，不含示范点附件文件：恢复只替换数据库中的数据，"
                   "附件文件保持现状（不删除、不替换）。")


@dataclass(frozen=True)
class FileEntry:
    path: str        # relative to data/attachments/, with "/"
    size: int
    sha256: str = ""


def root_for(db_path: str) -> Path | None:
    """data/attachments/ beside the database file; None for an in-memory database."""
    return None if db_path == ":memory:" else Path(db_path).parent / "attachments"


def folder_for(backup: str | os.PathLike[str]) -> Path:
    """The attachment folder that goes with the backup file `backup`."""
    p = Path(backup)
    return p.with_name(p.name + FOLDER_SUFFIX)


def listing(root: Path) -> list[FileEntry]:
    """Every finished file under `root` (no `.part` of an upload under way), sorted."""
    if not root.is_dir():
        return []
    out = []
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink() and not p.name.endswith(".part"):
            out.append(FileEntry(p.relative_to(root).as_posix(), p.stat().st_size))
    return out


def save(root: Path, files: Sequence[FileEntry], backup_file: Path, folder: Path) -> int:
    """Put the files of `root` named by `files` into `folder` and their list (with SHA-256) into
    the backup database file `backup_file` (not yet in its place, not open elsewhere). The folder
    is built as `<folder>.part` and renamed when whole; on failure nothing of it is left. A file
    that disappeared since it was listed is left out. Returns the number of files."""
    part = _part(folder)
    remove_tree(part)
    try:
        part.mkdir(parents=True)
        done = []
        for f in files:
            dst = part / f.path
            dst.parent.mkdir(parents=True, exist_ok=True)
            try:
                _link_or_copy(root / f.path, dst)
            except FileNotFoundError:
                continue
            done.append(FileEntry(f.path, dst.stat().st_size, _sha256(dst)))
        _write_list(backup_file, done)
        remove_tree(folder)
        os.replace(part, folder)
    except BaseException:
        remove_tree(part)
        raise
    return len(done)


# Run in a child process: writing into the (large) backup copy costs the DuckDB that does it
# ~50 MB at city scale (the copy's checkpoint), which the server would keep; a child returns it.
_WRITE_LIST = """
import json, sys
import duckdb
path, table = sys.argv[1], sys.argv[2]
rows = json.load(sys.stdin)
con = duckdb.connect(path)
try:
    con.execute(f"CREATE TABLE {table} AS SELECT unnest(?::VARCHAR[]) AS path, unnest(?::BIGINT[]) AS size,"
                " unnest(?::VARCHAR[]) AS sha256", [rows["path"], rows["size"], rows["sha256"]])
finally:
    con.close()
"""


def _write_list(backup_file: Path, entries: list[FileEntry]) -> None:
    """The attachment list as the table `TABLE` inside the backup file (not open elsewhere), written
    by a short-lived child process. OSError when it could not be written."""
    rows = {"path": [e.path for e in entries], "size": [e.size for e in entries],
            "sha256": [e.sha256 for e in entries]}
    done = subprocess.run([sys.executable, "-c", _WRITE_LIST, str(backup_file), TABLE], input=json.dumps(rows),
                          capture_output=True, text=True, encoding="utf-8")
    if done.returncode != 0:
        lines = (done.stderr or "").strip().splitlines()
        raise OSError(f"附件清单没有写入备份文件：{lines[-1] if lines else done.returncode}")


def read_list(cur: Cursor, alias: str, name: str) -> tuple[FileEntry, ...] | None:
    """The attachment list of the backup attached as `alias` (a `db.Cursor`), or None when the
    backup is older than attachment backups. A path that would leave the folder is refused."""
    has = cur.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND table_name = ?",
                  [alias, TABLE]).fetchone()[0]
    if not has:
        return None
    out = []
    for path, size, sha in cur.execute(f"SELECT path, size, sha256 FROM {alias}.main.{TABLE} ORDER BY path").fetchall():
        parts = PurePosixPath(str(path)).parts
        if not parts or PurePosixPath(str(path)).is_absolute() or ".." in parts or "\\" in str(path):
            raise BadInput(f"备份 {name} 的附件清单不正常（文件路径「{path}」），不能用来恢复。当前数据没有改动。")
        out.append(FileEntry(str(path), int(size), str(sha)))
    return tuple(out)


def verify(backup: Path, entries: Sequence[FileEntry]) -> None:
    """Every listed file is in the backup's folder with its size and SHA-256; BadInput otherwise."""
    folder, name = folder_for(backup), backup.name
    if not folder.is_dir():
        raise BadInput(f"备份 {name} 带有 {len(entries)} 个附件文件，它们应在旁边的文件夹「{folder.name}」中，"
                       "但没有找到：请把这个文件夹和备份文件放在同一个文件夹里再恢复。当前数据没有改动。")
    bad = []
    for e in entries:
        p = folder / e.path
        if not p.is_file():
            bad.append(f"{e.path}（缺少）")
        elif p.stat().st_size != e.size or _sha256(p) != e.sha256:
            bad.append(f"{e.path}（与备份时的内容不同）")
    if bad:
        raise BadInput(f"备份 {name} 的附件文件夹「{folder.name}」不完整，{len(bad)} 个文件有问题："
                       f"{'、'.join(bad[:5])}{'……' if len(bad) > 5 else ''}。不能用来恢复，当前数据没有改动。")


def stage(backup: Path, entries: Sequence[FileEntry], root: Path) -> Path:
    """The backup's files put together beside `root` (same disk) in `<root>.恢复中.part`, ready
    for `swap_in`; the current files are not touched yet."""
    staged = _part(root.with_name(root.name + ".恢复中"))
    remove_tree(staged)
    try:
        staged.mkdir(parents=True)
        for e in entries:
            dst = staged / e.path
            dst.parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(folder_for(backup) / e.path, dst)
    except BaseException:
        remove_tree(staged)
        raise
    return staged


def swap_in(staged: Path, root: Path) -> None:
    """Make the staged folder the attachments folder; the files it replaces are in the safety
    backup made before the restore."""
    old = _part(root.with_name(root.name + ".恢复前"))
    remove_tree(old)
    if root.exists():
        os.replace(root, old)
    os.replace(staged, root)
    remove_tree(old)


def sweep(root: Path | None) -> list[Path]:
    """Remove what a restore killed half-way left beside the attachments folder."""
    if root is None or not root.parent.is_dir():
        return []
    staged = _part(root.with_name(root.name + ".恢复中"))
    if not root.exists() and staged.is_dir() and _part(root.with_name(root.name + ".恢复前")).is_dir():
        os.replace(staged, root)  # killed inside swap_in: the tables were restored, finish it
    left = [p for p in root.parent.glob(root.name + ".*.part") if p.is_dir()]
    for p in left:
        remove_tree(p)
    return left


def copy_folder(folder: Path, dest: Path) -> None:
    """Copy an attachment folder to another disk or share (`dest`), whole or not at all."""
    part = _part(dest)
    remove_tree(part)
    try:
        shutil.copytree(folder, part, copy_function=shutil.copyfile)
        remove_tree(dest)
        os.replace(part, dest)
    except BaseException:
        remove_tree(part)
        raise


def remove_tree(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p)
    elif p.exists() or p.is_symlink():
        p.unlink()


def _part(p: Path) -> Path:
    return p.with_name(p.name + ".part")


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except FileNotFoundError:
        raise
    except OSError:  # another disk, or a file system without hard links
        shutil.copyfile(src, dst)


def _sha256(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
