"""The first wall around a spreadsheet from outside: look at an .xlsx before any parser does.

An .xlsx is a zip of XML parts. The Excel parser (calamine, inside fastexcel) builds a dense
grid from the top-left to the bottom-right cell it finds, so one cell written at XFD1048576
asks for 17 billion cells (512 GB) and aborts the whole process; a part that unzips to
gigabytes does the same more slowly. `inspect_xlsx` reads only the zip directory and streams
the worksheet XML with a regular expression (no XML parser, no grid), and refuses — in
Chinese, before parsing — a file whose parts are too large or compress suspiciously well, or
whose worksheet reaches beyond the row/column/cell limits. It also says which sheets have any
cells, so an empty first sheet can name the sheet that holds the data.

The second wall (a child process with memory and time limits) is in `sheet_worker`.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

from .errors import BadInput

MAX_ROWS = 200_000            # data rows in one file (every reader: csv, xlsx, xls)
MAX_COLS = 256                # columns in one sheet (IV, the old Excel limit)
MAX_CELLS = 6_000_000         # rows × columns of the grid the parser would build
MAX_PART_BYTES = 256 * 1024 * 1024    # one unzipped part of an .xlsx
MAX_TOTAL_BYTES = 512 * 1024 * 1024   # all parts together
MAX_RATIO = 200               # unzipped / zipped size of a part over 1 MB (zip bomb)
MAX_PARTS = 5_000

_CHUNK = 1 << 20
_ROW_TAG_RE = re.compile(rb"<(?:\w+:)?row[\s>/]")
_ROW_NUM_RE = re.compile(rb'<(?:\w+:)?row\s[^>]*?\br="(\d{1,15})"')
_HUGE_NUM_RE = re.compile(rb'<(?:\w+:)?(?:row|c)\s[^>]*?\br="[A-Z]*\d{16}')
_CELL_COL_RE = re.compile(rb'<(?:\w+:)?c\s[^>]*?\br="([A-Z]+)\d+"')
_DIM_RE = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]*)(\d*)(?::([A-Z]+)(\d+))?"')
_HAS_VALUE_RE = re.compile(rb"<(?:\w+:)?(?:v|t)\b[^>]*>[^<]")
# cheap supersets of the two above (a literal start the regex engine jumps to): the exact
# pattern runs only where these find something
_HUGE_HINT_RE = re.compile(rb'="[A-Z]*\d{16}')
_COL_HINT_RE = re.compile(rb'r="([A-Z]+)\d')


_ROW_HINT_RE = re.compile(rb"row[\s>/]")


def _rows_in(buf: bytes) -> tuple[int, list[bytes]]:
    """(len(_ROW_TAG_RE.findall(buf)), _ROW_NUM_RE.findall(buf)) without trying both patterns
    at every "<" of the sheet: the row tags are found by a literal hint ("row" and what may
    follow it, preceded by "<"), and the number pattern runs only there, findall's way (a
    tag inside the previous match is not tried again). A prefixed tag (<x:row) anywhere: the
    patterns themselves."""
    if b":row" in buf:
        return len(_ROW_TAG_RE.findall(buf)), _ROW_NUM_RE.findall(buf)
    tags, nums, done = 0, [], 0
    for h in _ROW_HINT_RE.finditer(buf):
        start = h.start() - 1
        if start < 0 or buf[start] != 0x3C:  # "<"
            continue
        tags += 1
        if start >= done and (m := _ROW_NUM_RE.match(buf, start)):
            nums.append(m.group(1))
            done = m.end()
    return tags, nums


def _widest_column(buf: bytes) -> bytes | None:
    """The widest column letters among the cell references of `buf`: what
    max(set(_CELL_COL_RE.findall(buf)), key=(len, letters)) gives, without matching every
    cell. Candidates come from a superset pattern, widest first; the first that the exact
    pattern really finds wins. Checked by running the exact pattern from the last ">" before
    the candidate up to its closing quote: no match of it holds a ">", so findall over the
    whole buffer is in step there."""
    found: set[bytes] = set(_COL_HINT_RE.findall(buf))
    for letters in sorted(found, key=lambda b: (len(b), b), reverse=True):
        for m in re.finditer(rb'r="' + letters + rb"\d", buf):
            end = buf.find(b'"', m.start() + 3) + 1
            if end <= 0:
                continue
            at = m.start() + 3  # where the exact pattern's letters group would start
            if any(t.start(1) == at for t in _CELL_COL_RE.finditer(buf, buf.rfind(b">", 0, m.start()) + 1, end)):
                return letters
    return None


def col_number(letters: str | bytes) -> int:
    """A → 1, Z → 26, AA → 27, XFD → 16384."""
    if isinstance(letters, bytes):
        letters = letters.decode()
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n


def col_letters(n: int) -> str:
    """1 → A, 27 → AA (the reader's messages and sheet_writer's cell references)."""
    out = ""
    while n > 0:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


@dataclass
class SheetInfo:
    name: str
    part: str | None
    rows: int = 0             # highest row number any cell or row tag reaches
    cols: int = 0             # highest column number any cell reaches
    has_values: bool = False  # at least one cell with a value
    declared: str | None = None  # the <dimension ref> the file claims
    formulas: bool | None = None  # any "<f" in the part (None: not read whole)


@dataclass
class XlsxInfo:
    sheets: list[SheetInfo] = field(default_factory=list)

    def sheet(self, name: str) -> SheetInfo | None:
        return next((s for s in self.sheets if s.name == name), None)


def _mb(n: int) -> str:
    return f"{n / 1048576:.0f} MB" if n >= 1048576 else f"{n / 1024:.0f} KB"


def _sheet_parts(z: zipfile.ZipFile) -> list[tuple[str, str | None]]:
    """(sheet name, worksheet part) in workbook order, from workbook.xml and its rels."""
    try:
        wb = z.read("xl/workbook.xml") if _size(z, "xl/workbook.xml") < 16 << 20 else b""
        rels = z.read("xl/_rels/workbook.xml.rels") if _size(z, "xl/_rels/workbook.xml.rels") < 16 << 20 else b""
    except KeyError:
        return []
    targets = {}
    for m in re.finditer(rb"<Relationship\b[^>]*>", rels):
        tag = m.group(0)
        rid = re.search(rb'\bId="([^"]*)"', tag)
        tgt = re.search(rb'\bTarget="([^"]*)"', tag)
        if rid and tgt:
            t = tgt.group(1).decode("utf-8", "replace").lstrip("/")
            targets[rid.group(1)] = t if t.startswith("xl/") else "xl/" + t
    out = []
    for m in re.finditer(rb"<(?:\w+:)?sheet\b[^>]*>", wb):
        tag = m.group(0)
        nm = re.search(rb'\bname="([^"]*)"', tag)
        rid = re.search(rb'\b(?:\w+:)?id="([^"]*)"', tag)
        name = _unescape(nm.group(1).decode("utf-8", "replace")) if nm else "?"
        out.append((name, targets.get(rid.group(1)) if rid else None))
    return out


def _unescape(s: str) -> str:
    return (s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))


def _size(z: zipfile.ZipFile, part: str) -> int:
    try:
        return z.getinfo(part).file_size
    except KeyError:
        return 0


def _stream(z: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> Iterator[bytes]:
    """Yield the unzipped part in chunks, refusing when it grows beyond what it declared."""
    seen = 0
    with z.open(info) as f:
        while True:
            chunk = f.read(_CHUNK)
            if not chunk:
                return
            seen += len(chunk)
            if seen > info.file_size or seen > MAX_PART_BYTES:
                raise BadInput(f"文件中的「{info.filename}」解压后比它声明的大小更大：文件已损坏或被改动过，"
                               "请在 Excel/WPS 中打开后另存为新的 .xlsx 文件再导入", file=name)
            yield chunk


def _scan_sheet(z: zipfile.ZipFile, info: zipfile.ZipInfo, sheet: SheetInfo, name: str,
                *, limits: bool) -> None:
    """Find the reach of a worksheet (highest row, highest column) without building it.
    With `limits`, refuse as soon as the reach passes a limit (stops reading)."""
    tail = b""
    rows_without_r = 0
    max_row = 0
    max_col = 0
    first = True
    for chunk in _stream(z, info, name):
        buf = tail + chunk
        cut = buf.rfind(b"<")
        if cut > 0 and len(buf) - cut < 4096:  # keep a tag that may continue in the next chunk
            buf, tail = buf[:cut], buf[cut:]
        else:
            tail = b""
        if first:
            d = _DIM_RE.search(buf)
            if d:
                sheet.declared = (d.group(1) + d.group(2) + (b":" + d.group(3) + d.group(4)
                                                            if d.group(3) else b"")).decode()
            first = False
        tags, nums = _rows_in(buf)
        if nums:
            max_row = max(max_row, max(map(int, nums)))
        rows_without_r += tags - len(nums)
        if _HUGE_HINT_RE.search(buf) and _HUGE_NUM_RE.search(buf):
            max_row = 10 ** 15
        widest = _widest_column(buf)
        if widest:
            c = col_number(widest) if len(widest) <= 3 else 10 ** 6
            max_col = max(max_col, c)
        if not sheet.has_values and _HAS_VALUE_RE.search(buf):
            sheet.has_values = True
        if not sheet.formulas and b"<f" in buf:  # a tag cut by the chunk end comes whole next time
            sheet.formulas = True
        sheet.rows = max_row + rows_without_r
        sheet.cols = max_col
        if limits:
            _check_reach(sheet, name)
    sheet.rows = max_row + rows_without_r
    sheet.cols = max_col
    sheet.formulas = bool(sheet.formulas or b"<f" in tail)


def _check_reach(sheet: SheetInfo, name: str) -> None:
    rows, cols = sheet.rows, sheet.cols
    declared = f"（文件声明的范围是 {sheet.declared}）" if sheet.declared and ":" in sheet.declared else ""
    fix = ("请只把有数据的区域复制到一个新建的工作簿（Ctrl+A 会选中整张表，请用鼠标只选有数据的行和列），"
           "另存为 .xlsx 后再导入")
    if cols > MAX_COLS:
        raise BadInput(f"工作表「{sheet.name}」有内容的单元格一直延伸到第 {cols} 列（{col_letters(cols)} 列）"
                       f"{declared}，超过上限 {MAX_COLS} 列（{col_letters(MAX_COLS)} 列）：{fix}", file=name)
    if rows > MAX_ROWS + 10:  # the header may sit on any of the first 10 rows
        raise BadInput(f"工作表「{sheet.name}」有 {rows} 行以上{declared}，超过上限 {MAX_ROWS} 行："
                       "请拆分成几个文件分别导入", file=name)
    if rows * max(cols, 1) > MAX_CELLS:
        raise BadInput(f"工作表「{sheet.name}」的范围是 {rows} 行 × {cols} 列{declared}，"
                       f"超过上限 {MAX_CELLS} 个单元格：{fix}，或拆分成几个文件", file=name)


def inspect_xlsx(data: bytes, name: str, sheet: str | None = None) -> XlsxInfo:
    """Check an .xlsx before parsing. Refuses (BadInput, Chinese) a broken zip, a part that is
    too large or compresses like a bomb, or a target sheet beyond the limits. `sheet` is the
    sheet that will be read (None = the first)."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        infos = z.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise BadInput("无法打开这个 Excel 文件：文件已损坏或不是 Excel 格式", file=name) from exc
    with z:
        if len(infos) > MAX_PARTS:
            raise BadInput(f"这个 Excel 文件由 {len(infos)} 个部件组成，不像普通的表格文件：请另存为新的 .xlsx 再导入",
                           file=name)
        total = 0
        for info in infos:
            if info.file_size > MAX_PART_BYTES:
                raise BadInput(f"文件中的「{info.filename}」解压后有 {_mb(info.file_size)}，超过上限 "
                               f"{_mb(MAX_PART_BYTES)}：请拆分成几个文件分别导入", file=name)
            if info.file_size > 1 << 20 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise BadInput(f"文件中的「{info.filename}」压缩了 {info.file_size // max(info.compress_size, 1)} 倍"
                               f"（解压后 {_mb(info.file_size)}），不像正常的表格，可能是恶意构造的“压缩炸弹”，"
                               "已拒绝：请用 Excel/WPS 打开后另存为新的 .xlsx 再导入", file=name)
            total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise BadInput(f"这个 Excel 文件解压后共 {_mb(total)}，超过上限 {_mb(MAX_TOTAL_BYTES)}："
                           "请拆分成几个文件分别导入", file=name)
        parts = _sheet_parts(z)
        result = XlsxInfo([SheetInfo(n, p) for n, p in parts])
        if not result.sheets:
            return result  # not a workbook we understand; the parser will say so
        target = result.sheet(sheet) if sheet is not None else result.sheets[0]
        names = set(z.namelist())
        # every part the parser reads must be honest about its size
        for info in infos:
            if info.filename.endswith((".xml", ".rels")) and not info.filename.startswith("xl/worksheets/"):
                for _ in _stream(z, info, name):
                    pass
        for s in result.sheets:
            if s.part is None or s.part not in names:
                continue
            if s is target:
                _scan_sheet(z, z.getinfo(s.part), s, name, limits=True)
            else:
                _quick_has_values(z, z.getinfo(s.part), s, name)
        return result


def _quick_has_values(z: zipfile.ZipFile, info: zipfile.ZipInfo, sheet: SheetInfo, name: str) -> None:
    """Does a sheet we will not read have any value? (reads until the first one)"""
    tail = b""
    for chunk in _stream(z, info, name):
        buf = tail + chunk
        if _HAS_VALUE_RE.search(buf):
            sheet.has_values = True
            return
        tail = buf[-4096:]
