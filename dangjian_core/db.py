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

import itertools
import os
import re
import shutil
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

from . import clock, datafiles
from .errors import BadInput, DangjianError, DatabaseLocked, DiskError

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

    def __init__(self, raw: duckdb.DuckDBPyConnection) -> None:
        self.description = raw.description
        self._rows: list[Any] = raw.fetchall() if raw.description else []

    def fetchone(self) -> Any:
        """The first row (a tuple), or None."""
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[Any]:
        return self._rows


class Cursor:
    """A cursor for one unit of work; `execute` returns a drained `Result`, `sql` a relation."""

    __slots__ = ("_raw", "_parent")

    def __init__(self, raw: duckdb.DuckDBPyConnection, parent: duckdb.DuckDBPyConnection | None = None) -> None:
        self._raw = raw
        self._parent = parent  # the process connection this cursor came from

    def execute(self, sql: str, params: object = None) -> Result:
        if params is None:
            self._raw.execute(sql)
        else:
            self._raw.execute(sql, params)
        return Result(self._raw)

    @contextmanager
    def registered(self, name: str, frame: Any) -> Iterator[None]:
        """`frame` (a polars/arrow frame) visible to SQL as the view `name` while the block runs."""
        self._raw.register(name, frame)
        try:
            yield
        finally:
            self._raw.unregister(name)

    def __getattr__(self, name: str) -> Any:
        """Everything else (sql, register, unregister…) is the DuckDB cursor's own."""
        return getattr(self._raw, name)


_INSTANCES = itertools.count(1)


class Database:
    """One DuckDB file opened once per process."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, read_only: bool = False) -> None:
        self.path = str(path or default_path())
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # DuckDB's own settings are left at their defaults (memory_limit 80 % of RAM, one thread
        # per core). Measured at city scale (issue 17, bench/bench_memory.py): the server's peak
        # is results turned into polars frames and memory the allocators keep, not DuckDB's
        # buffer pool (< 60 MB tracked by duckdb_memory() after a backup or a back-calculation);
        # memory_limit 256–512 MB or threads=1 did not lower the peak, and a low limit would make
        # the 10 M-row batch paths spill or fail. The 欠缴与补交 page bounds its memory itself.
        try:
            self._conn: duckdb.DuckDBPyConnection | None = duckdb.connect(self.path, read_only=read_only)
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
        self._generation = 0
        self._watchers: list[threading.Event] = []  # set at every bump (see `watch`)
        # No other Database of this process has it (an id() can come back after a close):
        # a cache shared by databases keys on (instance, generation).
        self.instance = next(_INSTANCES)

    @property
    def generation(self) -> int:
        """Bumped after every committed write: pages cache reads keyed on it."""
        return self._generation

    @generation.setter
    def generation(self, value: int) -> None:
        self._generation = value
        for event in list(self._watchers):
            event.set()

    def watch(self, event: threading.Event) -> None:
        """Set `event` after every write from now on (a background thread waits on it instead
        of polling with a timeout: a timed wait is a clock the process must trust)."""
        self._watchers.append(event)

    def unwatch(self, event: threading.Event) -> None:
        if event in self._watchers:
            self._watchers.remove(event)

    # -- units of work -------------------------------------------------------------------
    def cursor(self) -> Cursor:
        with self._cursor_lock:
            if self._conn is None:  # a reopen after a fatal error failed: try again now
                try:
                    self._conn = duckdb.connect(self.path, read_only=self.read_only)
                except duckdb.Error as exc:
                    raise DiskError("暂时无法打开数据库（磁盘可能已满或出错）：请让管理员检查服务器磁盘空间，稍后再试。") from exc
            return Cursor(self._conn.cursor(), self._conn)

    @contextmanager
    def read(self) -> Iterator[Cursor]:
        cur = self.cursor()
        try:
            yield cur
        except duckdb.Error as exc:
            if is_fatal(exc):
                _close_quietly(cur)
                self._recover(exc, cur)
            raise
        finally:
            _close_quietly(cur)

    @contextmanager
    def write(self, *, invalidates_cache: bool = True) -> Iterator[Cursor]:
        """One transaction, serialised with every other write of this process.

        `invalidates_cache=False` is for bookkeeping that no cached read shows (the login
        counters and last-login time in `users`): it leaves `generation` alone, so a login
        does not throw away every page's cached reads for every user."""
        with self._write_lock:
            cur = self.cursor()
            committing = False
            try:
                try:
                    cur.execute("BEGIN TRANSACTION")
                    try:
                        yield cur
                    except BaseException:
                        cur.execute("ROLLBACK")
                        raise
                    try:
                        committing = True
                        cur.execute("COMMIT")
                    except duckdb.TransactionException as exc:
                        if _is_io_error(exc):
                            raise DiskError(
                                "没有保存：数据库文件写不进磁盘（磁盘可能已满或出错），这次的修改没有写入。"
                                "请联系管理员检查服务器磁盘空间，然后重试。") from exc
                        raise DangjianError("保存时与其他修改冲突，请刷新后重试。") from exc
                except duckdb.Error as exc:
                    if is_fatal(exc):
                        _close_quietly(cur)
                        self._recover(exc, cur, during_commit=committing)
                    raise
                if invalidates_cache:
                    self.generation += 1
            finally:
                _close_quietly(cur)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    # -- a dead connection (disk full, IO error) -------------------------------------------
    def _recover(self, exc: BaseException, cur: Cursor | None = None, during_commit: bool = False) -> None:
        """After a fatal DuckDB error the instance refuses every statement until it is opened
        again: close the connection, open the file anew, and raise a Chinese message (saying
        whether the failed commit itself was kept)."""
        with self._cursor_lock:
            reopened = True
            # another thread may have reopened it already: never close a fresh connection
            if cur is None or cur._parent is self._conn:
                try:
                    if self._conn is not None:
                        self._conn.close()
                except Exception:  # noqa: BLE001 — an invalidated connection may refuse to close
                    pass
                try:
                    self._conn = duckdb.connect(self.path, read_only=self.read_only)
                    self._conn.execute("SELECT 1").fetchall()
                except duckdb.Error:
                    self._conn, reopened = None, False  # the next unit of work tries again
            self.generation += 1  # whatever was cached may be stale
        text = str(exc)
        if "COMMIT succeeded" in text:
            head = "修改已保存，但数据库随后写入磁盘时出错（磁盘可能已满）。"
        elif during_commit:
            head = "保存时数据库写入磁盘出错（磁盘可能已满或文件出错），这次修改可能没有保存：请刷新页面核对。"
        else:
            head = "数据库读写出错（磁盘可能已满或文件出错），这次操作没有完成，数据没有被修改。"
        tail = ("系统已重新打开数据库，可以刷新页面后继续；请尽快让管理员检查服务器磁盘空间。" if reopened else
                "系统暂时无法重新打开数据库：请让管理员检查服务器磁盘空间，稍后再试。")
        raise DiskError(head + tail) from exc

    @property
    def catalog(self) -> str:
        with self.read() as cur:
            return str(cur.execute("SELECT current_database()").fetchone()[0])

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
        return bool(n > 0)

    def migrate(self, migrations: list[Migration] | None = None,
                backup_dir: str | os.PathLike[str] | None = None) -> list[int]:
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
    @property
    def files_dir(self) -> Path | None:
        """The uploaded files that belong with this database (data/attachments/); None in memory."""
        return datafiles.root_for(self.path)

    def backup(self, dest: str | os.PathLike[str]) -> Path:
        """A consistent copy of the whole database into a new DuckDB file (app may be running),
        with the uploaded files in the folder `<dest>.附件` beside it (`datafiles`). The copy is
        written to `<dest>.part` and renamed when complete, after its folder; on any failure the
        partial file is removed (a killed process leaves one behind: `sweep_partial_files`)."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        _remove_partial(tmp)
        root, files = self.files_dir, None
        try:
            with self._write_lock:
                cur = self.cursor()
                try:
                    cur.execute("CHECKPOINT")
                    if not self._copy_checkpointed_file(tmp):
                        catalog = cur.execute("SELECT current_database()").fetchone()[0]
                        cur.execute(f"ATTACH '{_sql_path(tmp)}' AS dj_backup")
                        try:
                            cur.execute(f'COPY FROM DATABASE "{catalog}" TO dj_backup')
                        finally:
                            cur.execute("DETACH dj_backup")
                    # listed under the write lock: every file a copied row names is there
                    # (an upload writes its file before its row commits), and none is removed
                    files = datafiles.listing(root) if root is not None else None
                except duckdb.Error as exc:
                    if is_fatal(exc):
                        _close_quietly(cur)
                        self._recover(exc, cur)
                    if _is_io_error(exc):
                        raise DiskError(f"备份没有完成：写入 {dest.name} 时出错（磁盘可能已满）。"
                                        "当前数据没有受影响。") from exc
                    raise
                finally:
                    _close_quietly(cur)
            if root is not None and files is not None:
                try:
                    datafiles.save(root, files, tmp, datafiles.folder_for(dest))
                except OSError as exc:
                    raise DiskError(f"备份没有完成：复制附件文件到 {datafiles.folder_for(dest).name} 时出错"
                                    f"（{exc.strerror or exc}，磁盘可能已满）。当前数据没有受影响。") from exc
            os.replace(tmp, dest)
        except BaseException:
            _remove_partial(tmp)
            if root is not None and not dest.exists():
                datafiles.remove_tree(datafiles.folder_for(dest))
            raise
        Path(str(tmp) + ".wal").unlink(missing_ok=True)
        return dest

    # -- checking a backup before it replaces everything ---------------------------------
    def _copy_checkpointed_file(self, tmp: Path) -> bool:
        """Under the write lock, right after a CHECKPOINT: when the checkpoint left nothing in the
        write-ahead log, the database file alone holds every committed row and nothing writes to
        it until the lock is released, so a byte copy of it is a consistent backup. The operating
        system copies it file to file: unlike `COPY FROM DATABASE`, which read every table into
        DuckDB's buffer pool (the daily backup at a city-scale server start added ~230 MB to the
        server's peak and kept ~120 MB), it takes no memory of this process. False (nothing
        copied) for an in-memory database or when the log still holds something (e.g. a reader
        kept the checkpoint from finishing): then the caller copies through DuckDB."""
        if self.path == ":memory:":
            return False
        wal = Path(self.path + ".wal")
        if wal.exists() and wal.stat().st_size > 0:
            return False
        try:
            shutil.copyfile(self.path, tmp)
        except OSError as exc:  # the caller removes the partial copy
            raise DiskError(f"备份没有完成：写入 {tmp.name.removesuffix('.part')} 时出错"
                            f"（{exc.strerror or exc}，磁盘可能已满）。当前数据没有受影响。") from exc
        return True

    def check_backup(self, src: str | os.PathLike[str]) -> BackupCheck:
        """Open a backup file read-only and check it can replace this database: a DuckDB
        file, migrations this program knows (not newer than it), every table those migrations
        create present with its columns, and every table readable. Raises BadInput (in
        Chinese) otherwise; returns the row count of every table for the admin to confirm."""
        src = Path(src)
        name = src.name
        if not src.is_file():
            raise BadInput(f"备份文件不存在：{src}")
        with open(src, "rb") as f:
            head = f.read(16)
        if len(head) < 12 or head[8:12] != b"DUCK":
            raise BadInput(f"文件 {name} 不是有效的数据库备份（不是 DuckDB 数据库文件），当前数据没有改动。")
        known = {m.version: m for m in load_migrations()}
        with self._attached(src, "dj_check", f"无法读取备份文件 {name}：不是有效的数据库备份（文件可能已损坏或不完整），"
                                             "当前数据没有改动。") as cur:
            try:
                check = _inspect_backup(cur, "dj_check", name, known)
                files = datafiles.read_list(cur, "dj_check", name)
            except duckdb.Error as exc:
                raise BadInput(f"备份文件 {name} 已损坏或不完整（读取时出错），不能用来恢复；"
                               "当前数据没有改动。") from exc
        if files is not None:  # read outside the write lock: every byte of every file
            datafiles.verify(src, files)
        return BackupCheck(check.file, check.migrations, check.row_counts, files)

    @contextmanager
    def _attached(self, src: Path, alias: str, unreadable: str) -> Iterator[Cursor]:
        """Under the write lock, a cursor with the backup file `src` attached read-only as `alias`
        (BadInput `unreadable` when DuckDB cannot attach it); detached and closed afterwards."""
        with self._write_lock:
            cur = self.cursor()
            try:
                try:
                    cur.execute(f"ATTACH '{_sql_path(src)}' AS {alias} (READ_ONLY)")
                except duckdb.Error as exc:
                    raise BadInput(unreadable) from exc
                try:
                    yield cur
                finally:
                    try:
                        cur.execute(f"DETACH {alias}")
                    except duckdb.Error:
                        pass
            finally:
                _close_quietly(cur)

    def restore_from(self, src: str | os.PathLike[str]) -> BackupCheck:
        """Replace every table with the contents of a backup file, in one transaction, after
        `check_backup` accepted it, and the attachment files with the backup's (a backup older
        than attachment backups leaves them as they are). Nothing changes when the file is
        refused or the copy fails."""
        src = Path(src)
        check = self.check_backup(src)
        root = self.files_dir
        try:
            staged = datafiles.stage(src, check.attachments, root) if (
                root is not None and check.attachments is not None) else None
        except OSError as exc:
            raise DiskError(f"恢复没有进行：把附件文件从 {datafiles.folder_for(src).name} 复制回来时出错"
                            f"（{exc.strerror or exc}，磁盘可能已满）。当前数据没有改动。") from exc
        with self._write_lock:  # no upload between the tables and the files
            try:
                self._restore_tables(src)
            except BaseException:
                if staged is not None:
                    datafiles.remove_tree(staged)
                raise
            if staged is not None and root is not None:
                try:
                    datafiles.swap_in(staged, root)
                except OSError as exc:
                    raise DiskError(f"数据已从 {src.name} 恢复，但附件文件没有放回 {root}（{exc.strerror or exc}）："
                                    "请让管理员检查磁盘后再恢复一次。") from exc
        return check

    def _restore_tables(self, src: Path) -> None:
        with self._attached(src, "dj_restore", f"无法读取备份文件 {src.name}：不是有效的数据库备份") as cur:
            try:
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
                    cur.execute(f'DROP TABLE IF EXISTS "{catalog}".main.{datafiles.TABLE}')  # the backup's own list
                    cur.execute("COMMIT")
                except BaseException:
                    cur.execute("ROLLBACK")
                    raise
            except duckdb.Error as exc:
                if is_fatal(exc):
                    _close_quietly(cur)
                    self._recover(exc, cur)
                raise BadInput(f"从 {src.name} 恢复时读取出错（备份文件可能已损坏），已放弃恢复，"
                               "当前数据没有改动。") from exc
            self.generation += 1


@dataclass(frozen=True)
class BackupCheck:
    """What a backup holds: its migrations, the row count of every table and its attachment
    files (None: a backup made before attachments were backed up, see datafiles.OLD_BACKUP_NOTE)."""

    file: str
    migrations: tuple[int, ...]
    row_counts: dict[str, int]
    attachments: tuple[datafiles.FileEntry, ...] | None = None

    @property
    def attachments_line(self) -> str:
        """One Chinese line about the attachment files, for the admin page and the CLI."""
        if self.attachments is None:
            return datafiles.OLD_BACKUP_NOTE
        return f"附件文件：{len(self.attachments)} 个，已逐个核对完整，恢复时一并放回。"

    def summary_lines(self) -> list[str]:
        return [f"{t}：{n} 行" for t, n in self.row_counts.items()]


def expected_tables(versions: Iterable[int]) -> dict[str, set[str]]:
    """The tables (and their columns) that applying these migrations creates."""
    key = tuple(sorted(versions))
    if key not in _EXPECTED_CACHE:
        con = duckdb.connect(":memory:")
        try:
            for m in load_migrations():
                if m.version in key:
                    con.execute(m.sql)
            rows = con.execute("SELECT table_name, column_name FROM duckdb_columns()"
                               " WHERE database_name = current_database()").fetchall()
        finally:
            con.close()
        out: dict[str, set[str]] = {}
        for t, c in rows:
            out.setdefault(t, set()).add(c)
        _EXPECTED_CACHE[key] = out
    return _EXPECTED_CACHE[key]


_EXPECTED_CACHE: dict[tuple[int, ...], dict[str, set[str]]] = {}


def _inspect_backup(cur: Cursor, alias: str, name: str, known: dict[int, Migration]) -> BackupCheck:
    tables = {r[0] for r in cur.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [alias]).fetchall()}
    if "schema_migrations" not in tables:
        raise BadInput(f"文件 {name} 不是党建工作台的备份（没有数据库版本记录），当前数据没有改动。")
    versions = sorted(r[0] for r in cur.execute(
        f"SELECT version FROM {alias}.main.schema_migrations").fetchall())
    if not versions:
        raise BadInput(f"文件 {name} 不是完整的党建工作台备份（数据库版本记录是空的），当前数据没有改动。")
    newer = [v for v in versions if v not in known]
    if newer:
        raise BadInput(f"备份 {name} 来自更新版本的党建工作台（数据库第 {newer[0]:03d} 步本程序不认识）："
                       "请先升级程序再恢复。当前数据没有改动。")
    expected = expected_tables(versions)
    missing = sorted(t for t in expected if t not in tables)
    if missing:
        raise BadInput(f"备份 {name} 不完整：缺少数据表 {'、'.join(missing[:10])}"
                       f"{'……' if len(missing) > 10 else ''}，不能用来恢复。当前数据没有改动。")
    cols: dict[str, set[str]] = {}
    for t, c in cur.execute("SELECT table_name, column_name FROM duckdb_columns()"
                            " WHERE database_name = ?", [alias]).fetchall():
        cols.setdefault(t, set()).add(c)
    for t, want in sorted(expected.items()):
        lost = sorted(want - cols.get(t, set()))
        if lost:
            raise BadInput(f"备份 {name} 不完整：数据表 {t} 缺少列 {'、'.join(lost[:10])}，不能用来恢复。"
                           "当前数据没有改动。")
    counts = {}
    for t in sorted(expected):
        # hashing every row reads every column: a truncated file fails here, not half-way
        # through the restore
        counts[t] = cur.execute(f'SELECT count(*), bit_xor(hash(t)) FROM {alias}.main."{t}" t').fetchone()[0]
    return BackupCheck(name, tuple(versions), counts)


def _remove_partial(tmp: Path) -> None:
    tmp.unlink(missing_ok=True)
    Path(str(tmp) + ".wal").unlink(missing_ok=True)


def sweep_partial_files(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove `*.part` files a killed backup left behind (call at startup, when no backup of
    this process can be running). Returns what was removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for p in folder.glob("*.part*"):
        if p.name.endswith((".part", ".part.wal")) and p.is_file():
            p.unlink(missing_ok=True)
            removed.append(p)
        elif p.name.endswith(".part") and p.is_dir():  # an attachment folder (datafiles)
            datafiles.remove_tree(p)
            removed.append(p)
    return removed


def is_fatal(exc: BaseException) -> bool:
    """DuckDB's fatal errors invalidate the database instance for the whole process."""
    return isinstance(exc, duckdb.FatalException) or "database has been invalidated" in str(exc)


def _is_io_error(exc: BaseException) -> bool:
    text = str(exc)
    return "Could not write file" in text or "No space left" in text or "IO Error" in text


def _close_quietly(cur: Cursor) -> None:
    try:
        cur.close()
    except Exception:  # noqa: BLE001 — closing a cursor of an invalidated database may raise
        pass


def _sql_path(p: Path) -> str:
    return str(p).replace("'", "''")


def _stamp() -> str:
    return clock.now().strftime("%Y%m%d-%H%M%S")


def copy_file_backup(path: str | os.PathLike[str], dest: str | os.PathLike[str]) -> Path:
    """Copy a database file that no process holds (CLI with the app stopped)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, dest)
    return dest
