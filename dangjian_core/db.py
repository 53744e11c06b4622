"""The database: one DuckDB file, one connection per process, a cursor per unit of work.

DuckDB 2.0 facts that shape this module (see shared/spec/tech-notes.md):
- a connection used from two threads raises at once, so callers never share a cursor:
  `db.read()` and `db.write()` hand out a fresh `cursor()` for each unit of work;
- the file is locked to one process, so opening it while the web app runs fails: we say so
  in Chinese (`DatabaseLocked`);
- two transactions updating the same rows conflict, so all writes are serialised behind one
  process-wide lock (`db.write()`), and every write is one transaction.

Schema changes are numbered SQL files in `dangjian_core/migrations/` (`NNN_name.sql`), each
applied in its own transaction and recorded in `schema_migrations`; before a migration is
applied to a database that already holds data, a backup copy is made.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Iterator

import duckdb

from .errors import DangjianError, DatabaseLocked
from . import clock

DEFAULT_PATH = "data/dangjian.duckdb"


def default_path() -> str:
    return os.environ.get("DANGJIAN_DB", DEFAULT_PATH)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations() -> list[Migration]:
    out = []
    for entry in resources.files("dangjian_core.migrations").iterdir():
        m = re.fullmatch(r"(\d{3})_([a-z0-9_]+)\.sql", entry.name)
        if m:
            out.append(Migration(int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    out.sort(key=lambda m: m.version)
    versions = [m.version for m in out]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration numbers: {versions}")
    return out


class Result:
    """The rows of one statement, fully fetched at once.

    DuckDB 2.0 keeps a connection busy until an `execute()` result has been read to the end
    (`fetchone()` alone leaves it unfinished), so every statement is drained here."""

    __slots__ = ("_rows", "description")

    def __init__(self, raw):
        self.description = raw.description
        self._rows = raw.fetchall() if raw.description else []

    def fetchone(self):
        return self._rows[0] if self._rows else None

    def fetchall(self):
        return self._rows


class Cursor:
    """A cursor for one unit of work; `execute` returns a drained `Result`, `sql` a relation."""

    __slots__ = ("_raw",)

    def __init__(self, raw):
        self._raw = raw

    def execute(self, sql: str, params=None) -> Result:
        if params is None:
            self._raw.execute(sql)
        else:
            self._raw.execute(sql, params)
        return Result(self._raw)

    def __getattr__(self, name):
        return getattr(self._raw, name)


class Database:
    """One DuckDB file opened once per process."""

    def __init__(self, path: str | os.PathLike | None = None, *, read_only: bool = False):
        self.path = str(path or default_path())
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = duckdb.connect(self.path, read_only=read_only)
        except duckdb.IOException as exc:
            text = str(exc)
            if "lock" in text.lower():
                raise DatabaseLocked(
                    f"数据库文件 {self.path} 正被另一个程序使用（通常是正在运行的网页应用）。"
                    "请先停止网页应用，或在网页的「系统管理」页面中操作。"
                ) from exc
            raise DangjianError(f"无法打开数据库文件 {self.path}：{text}") from exc
        self._write_lock = threading.RLock()
        self._cursor_lock = threading.Lock()
        self.read_only = read_only
        # Bumped after every committed write: pages cache reads keyed on it.
        self.generation = 0

    # -- units of work -------------------------------------------------------------------
    def cursor(self) -> Cursor:
        with self._cursor_lock:
            return Cursor(self._conn.cursor())

    @contextmanager
    def read(self) -> Iterator[Cursor]:
        cur = self.cursor()
        try:
            yield cur
        finally:
            cur.close()

    @contextmanager
    def write(self) -> Iterator[Cursor]:
        """One transaction, serialised with every other write of this process."""
        with self._write_lock:
            cur = self.cursor()
            try:
                cur.execute("BEGIN TRANSACTION")
                try:
                    yield cur
                except BaseException:
                    cur.execute("ROLLBACK")
                    raise
                try:
                    cur.execute("COMMIT")
                except duckdb.TransactionException as exc:
                    raise DangjianError("保存时与其他修改冲突，请刷新后重试。") from exc
                self.generation += 1
            finally:
                cur.close()

    def close(self) -> None:
        self._conn.close()

    @property
    def catalog(self) -> str:
        with self.read() as cur:
            return cur.execute("SELECT current_database()").fetchone()[0]

    # -- migrations ----------------------------------------------------------------------
    def applied_versions(self) -> set[int]:
        with self.write() as cur:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
                " applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)"
            )
        with self.read() as cur:
            return {r[0] for r in cur.execute("SELECT version FROM schema_migrations").fetchall()}

    def has_data(self) -> bool:
        with self.read() as cur:
            n = cur.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()"
                " AND table_name <> 'schema_migrations' AND estimated_size > 0"
            ).fetchone()[0]
        return n > 0

    def migrate(self, migrations: list[Migration] | None = None,
                backup_dir: str | os.PathLike | None = None) -> list[int]:
        """Apply pending migrations in order, each in its own transaction. Returns versions
        applied. A failing migration is rolled back and raised; earlier ones stay."""
        migrations = load_migrations() if migrations is None else migrations
        done = self.applied_versions()
        pending = [m for m in migrations if m.version not in done]
        if pending and self.path != ":memory:" and self.has_data():
            target = Path(backup_dir) if backup_dir else Path(self.path).parent / "backups"
            self.backup(target / f"迁移前-{pending[0].version:03d}-{_stamp()}.duckdb")
        applied = []
        for m in pending:
            try:
                with self.write() as cur:
                    cur.execute(m.sql)
                    cur.execute("INSERT INTO schema_migrations(version, name) VALUES (?, ?)",
                                [m.version, m.name])
            except duckdb.Error as exc:
                raise DangjianError(f"数据库升级第 {m.version:03d} 步（{m.name}）失败：{exc}") from exc
            applied.append(m.version)
        return applied

    # -- backup and restore --------------------------------------------------------------
    def backup(self, dest: str | os.PathLike) -> Path:
        """A consistent copy of the whole database into a new DuckDB file (app may be running)."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        tmp.unlink(missing_ok=True)
        with self._write_lock:
            cur = self.cursor()
            try:
                cur.execute("CHECKPOINT")
                catalog = cur.execute("SELECT current_database()").fetchone()[0]
                cur.execute(f"ATTACH '{_sql_path(tmp)}' AS dj_backup")
                try:
                    cur.execute(f'COPY FROM DATABASE "{catalog}" TO dj_backup')
                finally:
                    cur.execute("DETACH dj_backup")
            finally:
                cur.close()
        os.replace(tmp, dest)
        wal = Path(str(tmp) + ".wal")
        wal.unlink(missing_ok=True)
        return dest

    def restore_from(self, src: str | os.PathLike) -> None:
        """Replace every table with the contents of a backup file, in one transaction."""
        src = Path(src)
        if not src.exists():
            raise DangjianError(f"备份文件不存在：{src}")
        with self._write_lock:
            cur = self.cursor()
            try:
                try:
                    cur.execute(f"ATTACH '{_sql_path(src)}' AS dj_restore (READ_ONLY)")
                except duckdb.Error as exc:
                    raise DangjianError(f"无法读取备份文件 {src.name}：不是有效的数据库备份") from exc
                try:
                    n = cur.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name"
                                    " = 'dj_restore' AND table_name = 'schema_migrations'").fetchone()[0]
                    if not n:
                        raise DangjianError(f"文件 {src.name} 不是党建工作台的备份")
                    catalog = cur.execute("SELECT current_database()").fetchone()[0]
                    cur.execute("BEGIN TRANSACTION")
                    try:
                        for (t,) in cur.execute(
                            "SELECT table_name FROM duckdb_tables() WHERE database_name = ?",
                            [catalog]).fetchall():
                            cur.execute(f'DROP TABLE "{catalog}".main."{t}"')
                        for (s,) in cur.execute(
                            "SELECT sequence_name FROM duckdb_sequences() WHERE database_name = ?",
                            [catalog]).fetchall():
                            cur.execute(f'DROP SEQUENCE "{catalog}".main."{s}"')
                        cur.execute(f'COPY FROM DATABASE dj_restore TO "{catalog}"')
                        cur.execute("COMMIT")
                    except BaseException:
                        cur.execute("ROLLBACK")
                        raise
                finally:
                    cur.execute("DETACH dj_restore")
                self.generation += 1
            finally:
                cur.close()


def _sql_path(p: Path) -> str:
    return str(p).replace("'", "''")


def _stamp() -> str:
    return clock.now().strftime("%Y%m%d-%H%M%S")


def copy_file_backup(path: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Copy a database file that no process holds (CLI with the app stopped)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, dest)
    return dest


def open_database(path: str | os.PathLike | None = None, *, migrate: bool = True) -> Database:
    db = Database(path)
    if migrate:
        db.migrate()
    return db
