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
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import polars as pl

from .errors import BadInput

TEXT_EXTS = {".csv", ".txt"}
EXCEL_EXTS = {".xlsx", ".xlsm", ".xls"}
PARQUET_EXTS = {".parquet"}
SUPPORTED = TEXT_EXTS | EXCEL_EXTS | PARQUET_EXTS
MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # web uploads; the CLI has no limit


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
    return "text"


def _norm_header(value: object) -> str:
    return "" if value is None else str(value).strip().replace("\n", "").replace("\ufeff", "")


def _find_header(rows: list[list[str]], expected: Iterable[str] | None) -> int:
    """Index of the header row: the first of the first 10 rows naming an expected column,
    else the first row with two or more filled cells."""
    wanted = {e.strip() for e in expected} if expected else set()
    limit = min(len(rows), 10)
    if wanted:
        for i in range(limit):
            cells = {_norm_header(c) for c in rows[i]}
            if len(cells & wanted) >= min(2, len(wanted)):
                return i
    for i in range(limit):
        if sum(1 for c in rows[i] if _norm_header(c)) >= 2:
            return i
    return 0


def _rows_to_frame(rows: list[list[str | None]], name: str, expected, sheet=None) -> Frame:
    rows = [r for r in rows]
    while rows and not any(_norm_header(c) for c in rows[-1]):
        rows.pop()
    if not rows:
        raise BadInput("文件是空的：没有表头，也没有数据", file=name)
    h = _find_header(rows, expected)
    header = [_norm_header(c) for c in rows[h]]
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
    data = []
    for r in rows[h + 1:]:
        cells = [None if c is None or str(c) == "" else str(c) for c in list(r)[:width]]
        cells += [None] * (width - len(cells))
        data.append(cells)
    df = pl.DataFrame(
        {header[j]: [row[j] for row in data] for j in range(width)},
        schema={c: pl.String for c in header},
    )
    return Frame(df=df, file=name, first_row=h + 2, sheet=sheet)


def _read_csv_text(text: str, name: str, expected) -> Frame:
    import csv

    rows = list(csv.reader(io.StringIO(text)))
    return _rows_to_frame(rows, name, expected)


def _excel_cell_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_CELL_RE = re.compile(rb'<c r="([A-Z]+)(\d+)"[^>]*?(?:/>|>(.*?)</c>)', re.S)


def formulas_without_values(data: bytes) -> list[str]:
    """Cells of an .xlsx whose formula has no saved result (files written by programs, not by
    Excel/WPS): a reader would see 0 or nothing there, so such files are refused."""
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
                if not re.match(r"xl/worksheets/sheet\d+\.xml$", info.filename):
                    continue
                xml = z.read(info)
                if b"<f" not in xml:
                    continue
                for m in _CELL_RE.finditer(xml):
                    body = m.group(3) or b""
                    if b"<f" in body and (never_calculated or b"<v>" not in body or b"<v></v>" in body):
                        out.append(f"{m.group(1).decode()}{m.group(2).decode()}")
    except zipfile.BadZipFile:
        return []
    return out


def _read_excel_bytes(data: bytes, name: str, expected, sheet: str | None) -> Frame:
    import fastexcel

    if data[:4] == b"PK\x03\x04":
        cells = formulas_without_values(data)
        if cells:
            shown = "、".join(cells[:10]) + ("……" if len(cells) > 10 else "")
            raise BadInput(f"单元格 {shown} 是没有计算结果的公式：请在 Excel/WPS 中打开并保存，"
                           "或复制后「选择性粘贴 → 数值」，再导入", file=name)

    try:
        reader = fastexcel.read_excel(data)
    except Exception as exc:  # fastexcel raises its own error types for broken files
        raise BadInput("无法打开这个 Excel 文件：文件已损坏或不是 Excel 格式", file=name) from exc
    names = reader.sheet_names
    if not names:
        raise BadInput("Excel 文件中没有工作表", file=name)
    target = sheet if sheet is not None else names[0]
    if target not in names:
        raise BadInput(f"Excel 文件中没有名为「{target}」的工作表", file=name)
    try:
        sheet_obj = reader.load_sheet(target, header_row=None, dtypes="string")
        table = sheet_obj.to_polars()
    except Exception as exc:
        raise BadInput(f"无法读取工作表「{target}」：文件已损坏", file=name) from exc
    rows = [[_excel_cell_text(v) for v in row] for row in table.iter_rows()]
    return _rows_to_frame(rows, name, expected, sheet=target)


def read_frame(
    path: str | os.PathLike | None = None,
    *,
    data: bytes | None = None,
    name: str | None = None,
    expected: Iterable[str] | None = None,
    sheet: str | None = None,
) -> Frame:
    """Read a csv/xlsx/xls/parquet file (from a path, or from bytes with a file name).

    csv and Excel come back with every column as text (Utf8); parquet keeps its types.
    `expected` column names help find the header row below a title row.
    """
    if data is None:
        if path is None:
            raise ValueError("path or data is required")
        p = Path(path)
        name = name or str(path)
        if not p.exists():
            raise BadInput("文件不存在", file=name)
        ext = p.suffix.lower()
        if ext in PARQUET_EXTS:
            try:
                return Frame(df=pl.read_parquet(p), file=name)
            except Exception as exc:
                raise BadInput("无法读取 parquet 文件：文件已损坏", file=name) from exc
        data = p.read_bytes()
    else:
        name = name or "上传文件"
        ext = Path(name).suffix.lower()
    if ext not in SUPPORTED:
        raise BadInput("不支持的文件类型，请使用 .xlsx、.xls、.csv 或 .parquet", file=name)
    if not data:
        raise BadInput("文件是空的", file=name)
    kind = _sniff_kind(data)
    if ext in PARQUET_EXTS:
        if kind != "parquet":
            raise BadInput("文件内容不是 parquet 格式", file=name)
        try:
            return Frame(df=pl.read_parquet(io.BytesIO(data)), file=name)
        except Exception as exc:
            raise BadInput("无法读取 parquet 文件：文件已损坏", file=name) from exc
    if ext in EXCEL_EXTS:
        if kind not in ("zip", "ole"):
            raise BadInput("文件扩展名是 Excel，但内容不是 Excel 文件（可能是改了扩展名的其他文件）", file=name)
        return _read_excel_bytes(data, name, expected, sheet)
    # text
    if kind in ("zip", "ole"):
        return _read_excel_bytes(data, name, expected, sheet)
    if kind in ("binary", "parquet") or b"\x00" in data[:4096]:
        raise BadInput("文件内容不是文本格式的 CSV", file=name)
    return _read_csv_text(_decode(data, name), name, expected)


def check_upload_size(size: int, name: str) -> None:
    if size > MAX_UPLOAD_BYTES:
        raise BadInput(f"文件太大（{size / 1048576:.1f} MB）：网页导入最多 {MAX_UPLOAD_BYTES // 1048576} MB，"
                       "更大的文件请拆分，或由管理员用命令行导入", file=name)


def _atomic_target(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    return Path(tmp)


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# A plain number written as text ("-12.50", "+3") is a value, not a formula: left as it is.
_PLAIN_NUMBER = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"


def escape_formula_text(value: object) -> object:
    """A text cell that a spreadsheet would read as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not re.match(_PLAIN_NUMBER, value):
        return "'" + value
    return value


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


def xlsx_bytes(sheets: dict[str, pl.DataFrame], *, column_widths: int | None = None) -> bytes:
    """Build an xlsx workbook (one sheet per entry). Text cells that look like formulas are
    escaped, so a file from us never runs a formula."""
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False,
                                   "strings_to_urls": False})
    for sheet_name, df in sheets.items():
        df = escape_formulas(df)
        df.write_excel(workbook=wb, worksheet=sheet_name[:31], autofit=True,
                       float_precision=2, dtype_formats={pl.Date: "yyyy-mm-dd",
                                                         pl.Datetime: "yyyy-mm-dd hh:mm"})
    wb.close()
    return buf.getvalue()


def write_frame(df: pl.DataFrame, path: str | os.PathLike, *, sheet: str = "Sheet1") -> None:
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
