"""Reading and writing tabular files: csv (UTF-8, UTF-8 BOM or GBK), xlsx, xls, parquet.

Everything that reads a user's file goes through `read_frame`, so the same rules hold for the
web import, the CLI and the tests: text formats come back with every column as text (the
caller parses numbers exactly, never through float), a title row above the header is found
and skipped, and every error names the file, the spreadsheet row and the column.
Writes are atomic: a temporary file in the same folder, renamed when complete.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from . import sheet_guard
from .errors import BadInput, CellError, DangjianError

TEXT_EXTS = {".csv", ".txt"}
EXCEL_EXTS = {".xlsx", ".xlsm", ".xls"}
PARQUET_EXTS = {".parquet"}
SUPPORTED = TEXT_EXTS | EXCEL_EXTS | PARQUET_EXTS
MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # web uploads
MAX_FILE_BYTES = 200 * 1024 * 1024   # any file read (the CLI included)
MAX_ROWS = sheet_guard.MAX_ROWS
BATCH_MAX_ROWS = 5_000_000           # `dues calc` and friends on the office's own csv/parquet
HEADER_SEARCH_ROWS = 10
MAX_ERRORS = 50                       # errors listed before "另有更多错误未列出"
MORE_ERRORS = "另有更多错误未列出：请先改正以上错误，再重新检查"

# Headers of columns that hold codes, not quantities: a number cell there has already lost
# its leading zeros (党员编号 007 → 7) or its last digits (18-digit 身份证号 → …200), so the
# reader refuses it and asks for the column to be set to 文本. Callers may add more.
CODE_HEADERS = frozenset({
    "身份证号", "身份证号码", "公民身份号码", "证件号码", "id_number",
    "党员编号", "member_no", "member_id",
    "联系电话", "手机号", "手机号码", "电话", "联系方式", "phone", "contact",
    "银行账号", "银行卡号", "账号",
})

# The second wall: Excel files are parsed in a child process with these limits.
WORKER_MEMORY_BYTES = int(os.environ.get("DANGJIAN_SHEET_MEMORY_MB", "1536")) * 1024 * 1024
WORKER_CPU_SECONDS = 60
WORKER_TIMEOUT_SECONDS = float(os.environ.get("DANGJIAN_SHEET_TIMEOUT", "90"))
last_worker_rss_kb = 0  # peak memory of the last Excel child (for the hostile-file figures)
last_worker_cpu_s = 0.0  # and its CPU seconds (bench: the child is not this process's own child)


@dataclass
class Frame:
    """A table read from a file. `first_row` is the spreadsheet row number of df row 0."""

    df: pl.DataFrame
    file: str
    first_row: int = 2
    sheet: str | None = None

    def row_number(self, index: int) -> int:
        """Spreadsheet row number (as the user sees it) of data row `index` (0-based)."""
        return self.first_row + index


def _cap(errors: list[CellError]) -> list[CellError]:
    if len(errors) > MAX_ERRORS:
        return errors[:MAX_ERRORS] + [CellError(None, None, None, MORE_ERRORS)]
    return errors


def _decode(data: bytes, name: str) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise BadInput("无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV", file=name) from exc


def _sniff_kind(data: bytes) -> str:
    if data[:4] == b"PK\x03\x04":
        return "zip"
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "ole"
    if data[:4] == b"PAR1":
        return "parquet"
    if data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff" or data[:4] == b"%PDF":
        return "binary"
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or _looks_utf16(data[:4096]):
        return "utf16"
    return "text"


def _looks_utf16(head: bytes) -> bool:
    """UTF-16 without a BOM: every other byte of ASCII text is NUL."""
    if len(head) < 8:
        return False
    even, odd = head[0::2], head[1::2]
    return (odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.1 * len(even)) or \
        (even.count(0) > 0.4 * len(even) and odd.count(0) < 0.1 * len(odd))


def _norm_header(value: object) -> str:
    return "" if value is None else str(value).strip().replace("\n", "").replace("\ufeff", "")


def _find_header(rows: Sequence[Sequence[object]], expected: Iterable[str] | None, name: str) -> int:
    """Index of the header row: the first of the first 10 rows naming an expected column,
    else the first row with two or more filled cells. A header further down is refused."""
    wanted = {e.strip() for e in expected} if expected else set()
    limit = min(len(rows), HEADER_SEARCH_ROWS)
    need = min(2, len(wanted))
    if wanted:
        for i in range(limit):
            cells = {_norm_header(c) for c in rows[i]}
            if len(cells & wanted) >= need:
                return i
        for i in range(limit, min(len(rows), 1000)):
            cells = {_norm_header(c) for c in rows[i]}
            if len(cells & wanted) >= need:
                raise BadInput(f"前 {HEADER_SEARCH_ROWS} 行中找不到表头（表头好像在第 {i + 1} 行）："
                               f"请删除表头上方多余的行，让表头位于前 {HEADER_SEARCH_ROWS} 行之内", file=name)
    for i in range(limit):
        if sum(1 for c in rows[i] if _norm_header(c)) >= 2:
            return i
    if not wanted and any(sum(1 for c in r if _norm_header(c)) >= 2 for r in rows[limit:1000]):
        raise BadInput(f"前 {HEADER_SEARCH_ROWS} 行中找不到表头：请删除表头上方多余的行，"
                       f"让表头位于前 {HEADER_SEARCH_ROWS} 行之内", file=name)
    return 0


# what Python's str.strip() takes off: a cell of only these (and BOMs) is blank
_PY_SPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
_SPACE_CLASS = "".join(f"\\x{{{ord(c):x}}}" for c in _PY_SPACE)
CSV_CHUNK_ROWS = 20_000


def _maybe_blank(col: str) -> pl.Expr:
    """Null or only spaces/BOMs: every blank cell (`_norm_header(c) == ""`), and a few more."""
    return pl.col(col).is_null() | pl.col(col).str.contains(f"^[{_SPACE_CLASS}\\x{{feff}}]*$")


def _last_filled_row(grid: pl.DataFrame) -> int:
    """Index of the last row with a filled cell (-1 when none): the rows after it are dropped.
    Column-wise first; the exact rule (`_norm_header`) only on the rows that may be blank."""
    if grid.width == 0 or grid.height == 0:
        return -1
    maybe = grid.select(pl.all_horizontal([_maybe_blank(c) for c in grid.columns]).alias("b"))["b"]
    filled = (~maybe).arg_true()
    last = int(filled[-1]) if filled.len() else -1
    for i in range(grid.height - 1, last, -1):  # the trailing rows that may be blank
        if any(_norm_header(c) for c in grid.row(i)):
            return i
    return last


def _grid_to_frame(grid: pl.DataFrame, name: str, expected: Iterable[str] | None, sheet: str | None = None, *,
                   numeric: dict[int, list[int]] | None = None,
                   code_headers: Iterable[str] = CODE_HEADERS, max_rows: int = MAX_ROWS) -> Frame:
    """The cells of a sheet or csv (text columns c0, c1, …; one row per file row, shorter
    rows padded with nulls) → the table under its header row, column-wise: only the first
    rows (the header search) and the rows in error come into Python."""
    grid = grid.select(pl.all().cast(pl.String))
    last = _last_filled_row(grid)
    if last < 0:
        raise BadInput("文件是空的：没有表头，也没有数据", file=name)
    grid = grid.head(last + 1)
    head = grid.head(1000).rows()
    h = _find_header(head, expected, name)
    header = [_norm_header(c) for c in head[h]]
    # drop trailing empty header cells
    while header and not header[-1]:
        header.pop()
    if not header:
        raise BadInput("找不到表头行", file=name)
    seen: set[str] = set()
    for j, col in enumerate(header):
        if not col:
            raise BadInput(f"表头第 {j + 1} 列没有列名（第 {h + 1} 行）", file=name)
        if col in seen:
            raise BadInput(f"表头中列名「{col}」重复出现（第 {h + 1} 行）", file=name)
        seen.add(col)
    width = len(header)
    if grid.height - h - 1 > max_rows:
        raise BadInput(f"文件有 {grid.height - h - 1} 行数据，超过上限 {max_rows} 行：请拆分成几个文件分别导入",
                       file=name)
    body = grid.slice(h + 1)
    errors: list[CellError] = []
    extra = body.columns[width:]
    if extra:
        filled = [pl.col(c).is_not_null() & pl.col(c).str.contains(f"[^{_SPACE_CLASS}]") for c in extra]
        bad = body.with_row_index("__i").filter(pl.any_horizontal(filled)).head(MAX_ERRORS + 1)
        for row in bad.iter_rows():
            i, cells = row[0], row[1:]
            j, c = next((j, c) for j, c in enumerate(cells[width:], start=width) if c is not None and c.strip())
            errors.append(CellError(h + 2 + i, f"第 {j + 1} 列（没有表头）", c,
                                    f"这一行有 {j + 1} 个单元格，比表头的 {width} 列多：可能是某个值里有"
                                    "逗号却没有加英文双引号，或表头右边还有数据。请把含逗号的值用英文双引号括起来，"
                                    "或给多出的列加上列名，或删除多余的内容"))
    if errors:
        raise BadInput("有的行比表头多出单元格，没有导入任何数据：", _cap(errors), file=name)
    df = body.select([pl.when(pl.col(c) != "").then(pl.col(c)).alias(header[j])
                      for j, c in enumerate(body.columns[:width])])
    codes = {c.strip() for c in code_headers}
    if numeric:
        for j, grid_rows in sorted(numeric.items()):
            if j >= width or header[j] not in codes:
                continue
            for g in grid_rows:
                if g <= h or g - h - 1 >= df.height:
                    continue
                errors.append(CellError(g + 1, header[j], df[header[j]][g - h - 1],
                                        "是「数字」格式的单元格：Excel 已去掉开头的 0 或把超过 15 位的数字末尾变成 0。"
                                        "请在 Excel 中选中这一列，把单元格格式设为「文本」，重新输入这些值后再导入"))
                if len(errors) > MAX_ERRORS:
                    break
        if errors:
            errors.sort(key=lambda e: e.row or 0)
            raise BadInput("编码类的列（身份证号、党员编号、电话等）必须是文本格式，没有导入任何数据：",
                           _cap(errors), file=name)
    return Frame(df=df, file=name, first_row=h + 2, sheet=sheet)


def _rows_grid(rows: list[list[str]]) -> pl.DataFrame:
    """csv rows → text columns c0, c1, … (shorter rows padded with nulls; a blank line is a row)."""
    width = max(1, max(map(len, rows)))
    if any(len(r) != width for r in rows):
        rows = [r if len(r) == width else [*r, *([None] * (width - len(r)))] for r in rows]  # type: ignore[list-item]
    return pl.DataFrame({f"c{j}": col for j, col in enumerate(zip(*rows, strict=True))},
                        schema={f"c{j}": pl.String for j in range(width)})


CSV_FIELD_LIMIT = 131072   # Python's csv.field_size_limit(): a longer cell is refused
FAST_CSV_MAX_COLS = 1000   # wider lines go the csv module's way (same result, same messages)


def _plain_csv_grid(text: str, limit: int) -> pl.DataFrame | None:
    """The grid of a csv text without any double quote and without a bare CR — our own exports
    and most files typed by hand — split column-wise by polars: what the csv module gives for
    such a text (a line per row, cells between commas, shorter rows padded with nulls).
    None when the text needs the csv module (quotes, a CR inside a line, a line too long or
    too wide, more rows than `limit`: its messages name those)."""
    if '"' in text or text.count("\r") != text.count("\r\n"):
        return None
    body = text.replace("\r\n", "\n") if "\r" in text else text
    if body.endswith("\n"):  # the last line's end: no row after it
        body = body[:-1]
    if not body:
        return None
    lines = pl.Series("l", [body], dtype=pl.String).str.split("\n").explode()
    lines = pl.select(pl.when(lines != "").then(lines)).to_series()  # an empty line: a row of nulls
    longest: int = lines.str.len_chars().fill_null(0).max()  # type: ignore[assignment]
    if lines.len() > limit or longest > CSV_FIELD_LIMIT:
        return None
    cells = lines.str.split(",")
    width: int = cells.list.len().max() or 1  # type: ignore[assignment]
    if width > FAST_CSV_MAX_COLS:
        return None
    return pl.DataFrame({"f": cells}).select(
        pl.col("f").list.get(j, null_on_oob=True).alias(f"c{j}") for j in range(width))


def _read_csv_text(text: str, name: str, expected: Iterable[str] | None, code_headers: Iterable[str] = CODE_HEADERS,
                   max_rows: int = MAX_ROWS) -> Frame:
    """csv → frame: a text without quotes split column-wise (`_plain_csv_grid`); any other by
    the csv module, a slice of rows at a time (the text is never held as Python lists whole)."""
    import csv
    from itertools import islice

    limit = max_rows + HEADER_SEARCH_ROWS + 1
    plain = _plain_csv_grid(text, limit)
    if plain is not None:
        del text
        return _grid_to_frame(plain, name, expected, code_headers=code_headers, max_rows=max_rows)
    reader = csv.reader(io.StringIO(text))
    chunks: list[pl.DataFrame] = []
    count = 0
    try:
        while True:
            rows = list(islice(reader, min(CSV_CHUNK_ROWS, limit + 1 - count)))
            if not rows:
                break
            count += len(rows)
            if count > limit:
                raise BadInput(f"文件超过 {max_rows} 行数据的上限：请拆分成几个文件分别导入", file=name)
            chunks.append(_rows_grid(rows))
    except csv.Error as exc:
        raise BadInput(f"第 {reader.line_num} 行附近的格式有误（{_csv_reason(exc)}）：请检查引号是否成对，"
                       "或在 Excel/WPS 中打开后另存为「CSV UTF-8（逗号分隔）」再导入", file=name) from None
    del text
    if not chunks:
        raise BadInput("文件是空的：没有表头，也没有数据", file=name)
    grid = pl.concat(chunks, how="diagonal") if len(chunks) > 1 else chunks[0]
    order = sorted(range(grid.width), key=lambda j: int(grid.columns[j][1:]))  # c0, c1, …, c10
    grid = grid.select([grid.columns[j] for j in order])
    return _grid_to_frame(grid, name, expected, code_headers=code_headers, max_rows=max_rows)


def _csv_reason(exc: Exception) -> str:
    text = str(exc)
    if "field larger than field limit" in text:
        return "有一个单元格超过 131072 个字符"
    if "new-line character seen in unquoted field" in text:
        return "换行符不规范"
    return "引号或分隔符不规范"


_CELL_RE = re.compile(rb'<c r="([A-Z]+)(\d+)"[^>]*?(?:/>|>(.*?)</c>)', re.S)


def formulas_without_values(data: bytes, no_formulas: Iterable[str] = ()) -> list[str]:
    """Cells of an .xlsx whose formula has no saved result (files written by programs, not by
    Excel/WPS): a reader would see 0 or nothing there, so such files are refused.
    Call only on a file `sheet_guard.inspect_xlsx` has accepted (parts of bounded size);
    `no_formulas`: worksheet parts it read whole and found without any formula (not unzipped again)."""
    skip = set(no_formulas)
    import zipfile

    out = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            try:
                workbook = z.read("xl/workbook.xml")
            except KeyError:
                workbook = b""
            # written by a program that never calculated: every saved result is a placeholder
            never_calculated = re.search(rb'fullCalcOnLoad="(1|true)"', workbook) is not None
            for info in z.infolist():
                if not re.match(r"xl/worksheets/sheet\d+\.xml$", info.filename) or info.filename in skip:
                    continue
                xml = z.read(info)
                if b"<f" not in xml:
                    continue
                for m in _CELL_RE.finditer(xml):
                    body = m.group(3) or b""
                    if b"<f" in body and (never_calculated or b"<v>" not in body or b"<v></v>" in body):
                        out.append(f"{m.group(1).decode()}{m.group(2).decode()}")
                        if len(out) > 10:
                            return out
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return []
    return out


_server_lock = threading.Lock()
_server: dict[str, Any] = {}


def _worker_socket() -> str:
    """Path of the parse server's socket, starting the server on first use (or after it died).
    The server is `python -m dangjian_core.sheet_worker`: a clean process that forks one
    limited child per file (see sheet_worker)."""
    import subprocess
    import sys

    with _server_lock:
        proc = _server.get("proc")
        if proc is not None and proc.poll() is None and _server.get("pid") == os.getpid():
            return str(_server["path"])
        folder = tempfile.mkdtemp(prefix="dangjian-sheets-")
        path = os.path.join(folder, "s")
        root = str(Path(__file__).resolve().parents[1])
        env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
        proc = subprocess.Popen([sys.executable, "-m", "dangjian_core.sheet_worker", path],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=root)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.strip() != b"ready":
            proc.kill()
            raise DangjianError("无法启动表格读取进程，请联系管理员")
        _server.update(proc=proc, path=path, pid=os.getpid())
        return path


def _parse_excel_isolated(data: bytes, name: str, sheet: str | None,
                          code_headers: Iterable[str]) -> tuple[dict[str, Any], bytes]:
    """Parse in a forked child with memory/CPU limits and a wall-clock timeout."""
    global last_worker_rss_kb, last_worker_cpu_s
    import signal
    import socket

    from .sheet_worker import recv_msg, send_msg

    died = BadInput("文件太大或结构异常：读取时超出了内存或时间上限，已停止读取（服务器不受影响）。"
                    "请只保留有数据的区域另存为新的 .xlsx，或拆分成几个小文件再导入", file=name)
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = None
    try:
        try:
            conn.connect(_worker_socket())
        except OSError:
            _server.clear()  # the server is gone: start a new one and retry once
            conn.close()
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.connect(_worker_socket())
        conn.settimeout(30)
        pid = int(recv_msg(conn)[0]["pid"])
        conn.settimeout(max(WORKER_TIMEOUT_SECONDS, 0.001))
        send_msg(conn, {"sheet": sheet, "code_headers": sorted(code_headers),
                        "mem_bytes": WORKER_MEMORY_BYTES, "cpu_seconds": WORKER_CPU_SECONDS}, data)
        meta, blob = recv_msg(conn)
        pid = None  # finished on its own
    except TimeoutError:
        raise BadInput(f"读取超时（超过 {WORKER_TIMEOUT_SECONDS:.0f} 秒）：文件太大或结构异常，"
                       "请拆分成几个小文件，或在 Excel/WPS 中另存为新的 .xlsx 再导入", file=name) from None
    except (EOFError, OSError, ValueError):
        raise died from None
    finally:
        conn.close()
        if pid is not None:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    last_worker_rss_kb = int(meta.get("rss_kb") or 0)
    last_worker_cpu_s = float(meta.get("cpu_s") or 0.0)
    status = meta.get("status")
    if status == "bad":
        raise BadInput(meta.get("message") or "文件无法读取", file=name)
    if status != "ok":
        raise BadInput("无法打开这个 Excel 文件：文件已损坏或不是 Excel 格式", file=name)
    return meta, blob


def _read_excel_bytes(data: bytes, name: str, expected: Iterable[str] | None, sheet: str | None,
                      code_headers: Iterable[str] = CODE_HEADERS) -> Frame:
    info = None
    if data[:4] == b"PK\x03\x04":
        info = sheet_guard.inspect_xlsx(data, name, sheet)  # first wall: refuses before parsing
        cells = formulas_without_values(data, [s.part for s in info.sheets if s.part and s.formulas is False])
        if cells:
            shown = "、".join(cells[:10]) + ("……" if len(cells) > 10 else "")
            raise BadInput(f"单元格 {shown} 是没有计算结果的公式：请在 Excel/WPS 中打开并保存，"
                           "或复制后「选择性粘贴 → 数值」，再导入", file=name)
    payload, blob = _parse_excel_isolated(data, name, sheet, code_headers)  # second wall
    target = payload["sheet"]
    table = _shortest_numbers(pl.read_ipc(io.BytesIO(blob)))
    if _last_filled_row(table.select(pl.all().cast(pl.String))) < 0:
        others = payload.get("others_with_data") or []
        if not others and info is not None:
            others = [s.name for s in info.sheets if s.has_values and s.name != target]
        if sheet is None and others:
            raise BadInput(f"第一个工作表「{target}」是空的，数据在工作表「{others[0]}」："
                           f"请把「{others[0]}」拖到最前面（或删除空的工作表），保存后再导入", file=name)
        raise BadInput(f"文件是空的：工作表「{target}」没有表头，也没有数据", file=name)
    numeric = {int(k): v for k, v in (payload.get("numeric") or {}).items()}
    return _grid_to_frame(table, name, expected, sheet=target, numeric=numeric, code_headers=code_headers)


# A number cell as the Excel reader gives it: the float printed with 9 decimals, trailing zeros
# (and a bare point) cut. Its binary noise shows only past 15 significant digits (15-digit
# decimals are further apart than floats): a text with a point and 16+ digits may be noise.
_DECIMAL_TEXT = r"^-?[0-9]+\.[0-9]{1,9}$"


def _shortest_numbers(table: pl.DataFrame) -> pl.DataFrame:
    """Number cells as the shortest text of their value, as Excel shows them and as they were
    typed. The reader prints a number with 9 decimals, so a float past ~4 million shows its
    binary noise: money 99999999.99 came back as "99999999.989999995" (refused as 3+ decimals,
    or read as another amount). A cell that is exactly the reader's print of its float becomes
    that float's shortest text ("99999999.99": the same float, the digits typed); any other
    text stays as it is."""
    fixes = []
    for name, dtype in table.schema.items():
        if dtype != pl.String:
            continue
        s = table[name]
        hit = (s.str.contains(_DECIMAL_TEXT) & (s.str.count_matches("[0-9]") >= 16)).fill_null(False)
        if not hit.any():
            continue
        idx = hit.arg_true()
        fixes.append(s.scatter(idx, [_shortest(v) for v in s.gather(idx).to_list()]))
    return table.with_columns(fixes) if fixes else table


def _shortest(text: str) -> str:
    from decimal import Decimal

    x = float(text)
    if f"{x:.9f}".rstrip("0").rstrip(".") != text:  # not the reader's print of a float: a text cell
        return text
    return format(Decimal(repr(x)), "f")


def read_frame(
    path: str | os.PathLike[str] | None = None,
    *,
    data: bytes | None = None,
    name: str | None = None,
    expected: Iterable[str] | None = None,
    sheet: str | None = None,
    text_columns: Iterable[str] = (),
    max_rows: int = MAX_ROWS,
) -> Frame:
    """Read a csv/xlsx/xls/parquet file (from a path, or from bytes with a file name) — the one
    reader for every upload box, `db import` and every CLI that reads a file.

    csv and Excel come back with every column as text (Utf8); parquet keeps its types.
    `expected` column names help find the header row below a title row. Columns headed by a
    name in `CODE_HEADERS` or `text_columns` must not hold number cells. Anything hostile or
    lossy (too large, too many rows, a zip bomb, NUL bytes, UTF-16, ragged rows, …) is refused
    with a Chinese `BadInput` naming the file, row and column; Excel is parsed in a child
    process with memory and time limits.
    """
    codes = CODE_HEADERS | {t.strip() for t in text_columns}
    if data is None:
        if path is None:
            raise ValueError("path or data is required")
        p = Path(path)
        name = name or str(path)
        if not p.is_file():
            raise BadInput("文件不存在", file=name)
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise BadInput(f"文件太大（{size / 1048576:.0f} MB）：最多 {MAX_FILE_BYTES // 1048576} MB，"
                           "请拆分成几个文件分别导入", file=name)
        ext = p.suffix.lower()
        if ext in PARQUET_EXTS:
            return _read_parquet(p, name, max_rows)
        data = p.read_bytes()
    else:
        name = name or "上传文件"
        ext = Path(name).suffix.lower()
        if len(data) > MAX_FILE_BYTES:
            raise BadInput(f"文件太大（{len(data) / 1048576:.0f} MB）：最多 {MAX_FILE_BYTES // 1048576} MB，"
                           "请拆分成几个文件分别导入", file=name)
    if ext not in SUPPORTED:
        raise BadInput("不支持的文件类型，请使用 .xlsx、.xls、.csv 或 .parquet", file=name)
    if not data:
        raise BadInput("文件是空的", file=name)
    kind = _sniff_kind(data)
    if ext in PARQUET_EXTS:
        if kind != "parquet":
            raise BadInput("文件内容不是 parquet 格式", file=name)
        return _read_parquet(io.BytesIO(data), name, max_rows)
    if ext in EXCEL_EXTS:
        if kind not in ("zip", "ole"):
            raise BadInput("文件扩展名是 Excel，但内容不是 Excel 文件（可能是改了扩展名的其他文件）", file=name)
        return _read_excel_bytes(data, name, expected, sheet, codes)
    # text
    if kind in ("zip", "ole"):
        return _read_excel_bytes(data, name, expected, sheet, codes)
    if kind == "utf16":
        raise BadInput("文件是 UTF-16 编码（Excel 的「Unicode 文本」）：请在 Excel/WPS 中另存为"
                       "「CSV UTF-8（逗号分隔）」后再导入", file=name)
    if kind in ("binary", "parquet") or b"\x00" in data[:4096]:
        raise BadInput("文件内容不是文本格式的 CSV：请上传 Excel 文件（.xlsx），或 UTF-8 编码的 CSV", file=name)
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise BadInput(f"第 {line} 行含有空字符（NUL，编码为 0 的字节），文件可能已损坏或不是 CSV："
                       "请在 Excel/WPS 中打开，另存为「CSV UTF-8（逗号分隔）」后再导入", file=name)
    return _read_csv_text(_decode(data, name), name, expected, codes, max_rows)


def _read_parquet(src: Path | io.BytesIO, name: str, max_rows: int = MAX_ROWS) -> Frame:
    try:
        meta = pl.read_parquet_schema(src)
        if isinstance(src, io.BytesIO):
            src.seek(0)
        rows = pl.scan_parquet(src).select(pl.len()).collect().item()
        if isinstance(src, io.BytesIO):
            src.seek(0)
    except Exception as exc:
        raise BadInput("无法读取 parquet 文件：文件已损坏", file=name) from exc
    if rows > max_rows:
        raise BadInput(f"文件有 {rows} 行数据，超过上限 {max_rows} 行：请拆分成几个文件分别导入", file=name)
    if len(meta) > sheet_guard.MAX_COLS:
        raise BadInput(f"文件有 {len(meta)} 列，超过上限 {sheet_guard.MAX_COLS} 列", file=name)
    try:
        df = pl.read_parquet(src)
    except Exception as exc:
        raise BadInput("无法读取 parquet 文件：文件已损坏", file=name) from exc
    for col, dtype in df.schema.items():
        if dtype == pl.String and df[col].str.contains("\x00", literal=True).any():
            raise BadInput(f"列「{col}」含有空字符（NUL），文件可能已损坏", file=name)
    return Frame(df=df, file=name)


def read_upload(data: bytes, name: str, *, expected: Iterable[str] | None = None, sheet: str | None = None,
                text_columns: Iterable[str] = ()) -> Frame:
    """The one reader for a file uploaded in the browser: the web size limit, then `read_frame`."""
    check_upload_size(len(data), name)
    return read_frame(data=data, name=name, expected=expected, sheet=sheet, text_columns=text_columns)


def check_upload_size(size: int, name: str) -> None:
    if size > MAX_UPLOAD_BYTES:
        raise BadInput(f"文件太大（{size / 1048576:.1f} MB）：网页导入最多 {MAX_UPLOAD_BYTES // 1048576} MB，"
                       "更大的文件请拆分，或由管理员用命令行导入", file=name)


def _atomic_target(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    return Path(tmp)


# A plain number written as text ("-12.50", "+3") is a value, not a formula: left as it is.
_PLAIN_NUMBER = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"


def escape_formulas(df: pl.DataFrame) -> pl.DataFrame:
    """Text columns only: cells starting with = + - @ tab or CR get a leading apostrophe (our
    imports take it off again); numeric columns, and numbers kept as text, stay as they are."""
    exprs = []
    for name, dtype in df.schema.items():
        if dtype == pl.String:
            col = pl.col(name)
            exprs.append(
                pl.when(col.str.contains(r"^[=+\-@\t\r]") & ~col.str.contains(_PLAIN_NUMBER))
                .then(pl.lit("'") + col)
                .otherwise(col)
                .alias(name)
            )
    return df.with_columns(exprs) if exprs else df


def xlsx_bytes(sheets: Mapping[str, pl.DataFrame]) -> bytes:
    """Build an xlsx workbook (one sheet per entry, column-wise: `sheet_writer`). Text cells
    that look like formulas are escaped, so a file from us never runs a formula."""
    from . import sheet_writer

    return sheet_writer.xlsx_bytes({name: escape_formulas(df) for name, df in sheets.items()})


def write_frame(df: pl.DataFrame, path: str | os.PathLike[str], *, sheet: str = "Sheet1") -> None:
    """Write csv/xlsx/parquet by extension, atomically (no partial file on failure). Text cells
    that look like formulas are escaped in csv and xlsx alike (`escape_formulas`)."""
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in TEXT_EXTS | {".xlsx", ".parquet"}:
        raise BadInput("不支持的输出文件类型，请使用 .csv、.xlsx 或 .parquet", file=str(path))
    tmp = _atomic_target(p)
    try:
        if ext in TEXT_EXTS:
            escape_formulas(df).write_csv(tmp)  # as the xlsx: no cell of ours runs as a formula
        elif ext == ".xlsx":
            tmp.write_bytes(xlsx_bytes({sheet: df}))
        else:
            df.write_parquet(tmp)
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
