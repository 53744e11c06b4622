"""Writing an .xlsx column-wise: the sheet XML is built by polars expressions, not cell by cell.

An .xlsx is a zip of XML parts. xlsxwriter writes every cell through Python (about 10 s of CPU
per 100,000 rows × 15 columns); here each column becomes one string expression (its cells'
XML), the columns are joined into rows, and the rows are streamed into the zip in slices, so
a 100,000-row sheet takes well under a second and holds one slice of XML at a time.

What a sheet looks like is what `polars.DataFrame.write_excel` gave us before (the reader of
our files sees no difference): the header row as an Excel table with autofilter and row
stripes, integers as `#,##0`, floats and money (Decimal) with two decimals (Decimal: its own
scale), dates `yyyy-mm-dd`, datetimes `yyyy-mm-dd hh:mm`, booleans as TRUE/FALSE, every
other value as text; columns sized to their widest cell (a Chinese character counts double).

Text goes in as inline strings, XML-escaped, with control characters and literal `_xHHHH_`
written the way Excel escapes them; text longer than Excel's 32,767 characters is cut there
(as xlsxwriter does). Formula-looking text is the caller's business (`fileio.escape_formulas`):
nothing here ever writes a formula.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from .sheet_guard import col_letters

SLICE_ROWS = 20_000          # rows of XML built and compressed at a time
MAX_TEXT = 32_767            # Excel's longest cell text
MAX_WIDTH = 60               # widest column (characters)
COMPRESSLEVEL = 1            # deflate level: repetitive XML shrinks ~8× even at level 1

INT_FORMAT = "#,##0;[Red]-#,##0"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

# XML 1.0 refuses these characters; Excel writes them as _xHHHH_ (and a literal _xHHHH_ as
# _x005F_xHHHH_, so that it reads back as itself)
_CONTROL = [chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20), 0xFFFE, 0xFFFF)]
_ESCAPE_FROM = ["&", "<", ">", *_CONTROL]
_ESCAPE_TO = ["&amp;", "&lt;", "&gt;", *(f"_x{ord(c):04X}_" for c in _CONTROL)]
_NEEDS_ESCAPE = r"[&<>\x00-\x08\x0B-\x1F\x{FFFE}\x{FFFF}]|_x[0-9a-fA-F]{4}_"
_EPOCH = pl.date(1899, 12, 30)


def float_format(decimals: int) -> str:
    if decimals <= 0:
        return INT_FORMAT
    zeros = "0" * decimals
    return f"#,##0.{zeros};[Red]-#,##0.{zeros}"


def escape_text(expr: pl.Expr) -> pl.Expr:
    """Text as XML character data, the way Excel escapes what XML cannot hold."""
    s = expr.str.slice(0, MAX_TEXT)
    escaped = (s.str.replace_all(r"_(x[0-9a-fA-F]{4}_)", "_x005F_$1")
               .str.replace_many(_ESCAPE_FROM, _ESCAPE_TO))
    return pl.when(s.str.contains(_NEEDS_ESCAPE)).then(escaped).otherwise(s)


def _attr(text: str) -> str:
    """Text for an XML attribute (sheet names, table column names)."""
    out = text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    for c in _CONTROL:
        out = out.replace(c, f"_x{ord(c):04X}_")
    return out.replace("\n", "_x000A_").replace("\t", "_x0009_")


class _Styles:
    """The cell formats a workbook uses: format code → cellXfs index (0 is the header's)."""

    TEXT = 1

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}

    def index(self, code: str | None) -> int:
        if code is None:
            return self.TEXT
        if code not in self.codes:
            self.codes[code] = len(self.codes) + 2
        return self.codes[code]

    def xml(self) -> str:
        fmts = "".join(f'<numFmt numFmtId="{164 + i}" formatCode="{_attr(code)}"/>'
                       for i, code in enumerate(self.codes))
        xfs = ['<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>',
               '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">'
               '<alignment vertical="center"/></xf>']
        xfs += [f'<xf numFmtId="{164 + i}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"'
                ' applyAlignment="1"><alignment vertical="center"/></xf>' for i in range(len(self.codes))]
        return (f'{_HEAD}<styleSheet xmlns="{_NS}">'
                + (f'<numFmts count="{len(self.codes)}">{fmts}</numFmts>' if self.codes else "")
                + '<fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
                '<fills count="2"><fill><patternFill patternType="none"/></fill>'
                '<fill><patternFill patternType="gray125"/></fill></fills>'
                '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
                '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
                f'<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
                '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
                '<dxfs count="0"/><tableStyles count="0" defaultTableStyle="TableStyleMedium9"'
                ' defaultPivotStyle="PivotStyleLight16"/></styleSheet>')


@dataclass
class _Column:
    cell: pl.Expr    # the cell's XML, "" for an empty cell (row number in column "__r")
    width: pl.Expr   # display width of the widest cell (characters, CJK double)


def _text_width(s: pl.Expr) -> pl.Expr:
    return (s.str.len_chars() + s.str.count_matches(r"[^\x00-\xff]")).max()


def _column(name: str, dtype: pl.DataType, letters: str, styles: _Styles, *,
            float_decimals: int) -> _Column:
    col = pl.col(name)
    ref = pl.concat_str(pl.lit(f'<c r="{letters}'), pl.col("__r"))

    def number(value: pl.Expr, code: str, width: pl.Expr | None = None) -> _Column:
        text = value.cast(pl.String)
        cell = pl.concat_str(ref, pl.lit(f'" s="{styles.index(code)}"><v>'), text, pl.lit("</v></c>"))
        return _Column(cell.fill_null(""), width if width is not None else (text.str.len_chars() * 4 // 3).max())

    if dtype.is_integer():
        return number(col, INT_FORMAT)
    if isinstance(dtype, pl.Decimal):
        return number(col, float_format(dtype.scale or 0))
    if dtype.is_float():
        finite = pl.when(col.is_finite()).then(col)
        shown = finite.round(float_decimals).cast(pl.String)
        return number(finite, float_format(float_decimals), (shown.str.len_chars() * 4 // 3).max())
    if dtype == pl.Date:
        # Excel counts the 29th of February 1900 that never was; before 1900 it has no dates
        days = (col - _EPOCH).dt.total_days()
        serial = pl.when(col < pl.date(1900, 3, 1)).then(days - 1).otherwise(days)
        early = col < pl.date(1900, 1, 1)
        cell = pl.when(early).then(_text_cell(col.cast(pl.String), ref, styles).fill_null("")) \
            .otherwise(number(serial, DATE_FORMAT).cell)
        return _Column(cell, pl.lit(10))
    if isinstance(dtype, pl.Datetime):
        naive = col.dt.replace_time_zone(None) if dtype.time_zone else col
        micros = (naive - pl.datetime(1899, 12, 30)).dt.total_microseconds()
        serial = pl.when(naive >= pl.datetime(1900, 3, 1)).then(micros / 86_400_000_000)
        return _Column(number(serial, DATETIME_FORMAT).cell, pl.lit(16))
    if dtype == pl.Boolean:
        cell = pl.concat_str(ref, pl.lit(f'" s="{styles.TEXT}" t="b"><v>'),
                             col.cast(pl.UInt8).cast(pl.String), pl.lit("</v></c>"))
        return _Column(cell.fill_null(""), pl.lit(5))
    text = col if dtype == pl.String else col.cast(pl.String)
    return _Column(_text_cell(text, ref, styles).fill_null(""), _text_width(text))


def _text_cell(text: pl.Expr, ref: pl.Expr, styles: _Styles) -> pl.Expr:
    """An inline string cell; an empty text is an empty cell (null)."""
    open_t = pl.when(text.str.contains(r"^\s|\s$")).then(pl.lit('<t xml:space="preserve">')).otherwise(pl.lit("<t>"))
    return pl.when(text != "").then(pl.concat_str(
        ref, pl.lit(f'" s="{styles.TEXT}" t="inlineStr"><is>'), open_t, escape_text(text), pl.lit("</t></is></c>")))


def _as_text(df: pl.DataFrame) -> pl.DataFrame:
    """Columns polars cannot cast to text (lists, structs, objects) as their printed value."""
    fixes = []
    for name, dtype in df.schema.items():
        if dtype.is_nested() or dtype == pl.Object:
            fixes.append(pl.col(name).map_elements(lambda v: None if v is None else str(v), return_dtype=pl.String))
        elif dtype.is_temporal() and not isinstance(dtype, pl.Datetime) and dtype != pl.Date:
            fixes.append(pl.col(name).cast(pl.String))  # times and durations: as text
    return df.with_columns(fixes) if fixes else df


def _sheet_xml(z: zipfile.ZipFile, part: str, df: pl.DataFrame, styles: _Styles, *, first: bool,
               float_decimals: int) -> None:
    df = _as_text(df)
    ncol = df.width
    letters = [col_letters(j + 1) for j in range(ncol)]
    cols = [_column(name, dtype, letters[j], styles, float_decimals=float_decimals)
            for j, (name, dtype) in enumerate(df.schema.items())]
    last_row = max(df.height + 1, 2)
    dim = f"A1:{letters[-1]}{last_row}" if ncol else "A1"
    widths: list[int] = []
    if ncol:
        data_widths = df.select([c.width.cast(pl.Int64).alias(str(j)) for j, c in enumerate(cols)]).row(0) \
            if df.height else [0] * ncol
        for name, w in zip(df.columns, data_widths, strict=True):
            head = len(name) + sum(1 for ch in name if ord(ch) > 0xFF) + 3  # + the filter button
            widths.append(min(max(head, int(w or 0)) + 1, MAX_WIDTH))
    view = ' tabSelected="1"' if first else ""
    out = z.open(part, "w", force_zip64=True)
    with out:
        out.write((f'{_HEAD}<worksheet xmlns="{_NS}" xmlns:r="{_REL_NS}"><dimension ref="{dim}"/>'
                   f'<sheetViews><sheetView{view} workbookViewId="0"/></sheetViews>'
                   '<sheetFormatPr defaultRowHeight="15"/>').encode())
        if widths:
            out.write(("<cols>" + "".join(f'<col min="{j + 1}" max="{j + 1}" width="{w}" customWidth="1"/>'
                                          for j, w in enumerate(widths)) + "</cols>").encode())
        out.write(b"<sheetData>")
        if ncol:
            out.write(('<row r="1">' + "".join(
                f'<c r="{letters[j]}1" t="inlineStr"><is><t xml:space="preserve">{_text(name)}</t></is></c>'
                for j, name in enumerate(df.columns)) + "</row>").encode())
        row = pl.concat_str([pl.lit('<row r="'), pl.col("__r"), pl.lit('">'), *(c.cell for c in cols),
                             pl.lit("</row>")])
        for start in range(0, df.height, SLICE_ROWS):
            part_df = df.slice(start, SLICE_ROWS).with_columns(
                pl.int_range(start + 2, start + 2 + min(SLICE_ROWS, df.height - start), dtype=pl.Int64)
                .cast(pl.String).alias("__r"))
            xml: bytes = part_df.select(row.str.join("").cast(pl.Binary)).item()  # no Python str between
            out.write(xml)
        out.write(b"</sheetData>")
        out.write(b'<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>')
        if _has_table(df):
            out.write(b'<tableParts count="1"><tablePart r:id="rId1"/></tableParts>')
        out.write(b"</worksheet>")


def _text(value: str) -> str:
    out = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for c in _CONTROL:
        out = out.replace(c, f"_x{ord(c):04X}_")
    return out


def _has_table(df: pl.DataFrame) -> bool:
    """An Excel table needs a header of distinct, non-empty names (case-insensitively)."""
    names = [n.strip().lower() for n in df.columns]
    return bool(names) and all(names) and len(set(names)) == len(names)


def _table_xml(df: pl.DataFrame, table_id: int) -> str:
    ref = f"A1:{col_letters(df.width)}{max(df.height + 1, 2)}"
    columns = "".join(f'<tableColumn id="{j + 1}" name="{_attr(n)}"/>' for j, n in enumerate(df.columns))
    return (f'{_HEAD}<table xmlns="{_NS}" id="{table_id}" name="Frame{table_id - 1}" displayName="Frame{table_id - 1}"'
            f' ref="{ref}" totalsRowShown="0"><autoFilter ref="{ref}"/>'
            f'<tableColumns count="{df.width}">{columns}</tableColumns>'
            '<tableStyleInfo showFirstColumn="0" showLastColumn="0" showRowStripes="1" showColumnStripes="0"/>'
            "</table>")


_BAD_SHEET_CHARS = str.maketrans({c: "_" for c in "[]:*?/\\"})


def sheet_names(names: list[str]) -> list[str]:
    """Excel's rules: at most 31 characters, none of []:*?/\\, distinct ignoring case."""
    out: list[str] = []
    for name in names:
        base = (name.translate(_BAD_SHEET_CHARS).strip("'") or "Sheet")[:31]
        cand, k = base, 2
        while cand.lower() in {o.lower() for o in out}:
            suffix = f"({k})"
            cand, k = base[:31 - len(suffix)] + suffix, k + 1
        out.append(cand)
    return out


def xlsx_bytes(sheets: Mapping[str, pl.DataFrame], *, float_decimals: int = 2) -> bytes:
    """One workbook, one sheet per entry, in order. Nothing is escaped against formulas here:
    see `fileio.xlsx_bytes`."""
    styles = _Styles()
    buf = io.BytesIO()
    names = sheet_names(list(sheets))
    frames = list(sheets.values())
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESSLEVEL) as z:
        overrides = []
        tables = 0
        sheet_entries, wb_rels = [], []
        for i, (name, df) in enumerate(zip(names, frames, strict=True), start=1):
            _sheet_xml(z, f"xl/worksheets/sheet{i}.xml", df, styles, first=i == 1, float_decimals=float_decimals)
            overrides.append((f"/xl/worksheets/sheet{i}.xml", "worksheet"))
            if _has_table(df):
                tables += 1
                z.writestr(f"xl/tables/table{tables}.xml", _table_xml(df, tables))
                z.writestr(f"xl/worksheets/_rels/sheet{i}.xml.rels",
                           f'{_HEAD}<Relationships xmlns="{_PKG_REL_NS}"><Relationship Id="rId1"'
                           f' Type="{_REL_NS}/table" Target="../tables/table{tables}.xml"/></Relationships>')
                overrides.append((f"/xl/tables/table{tables}.xml", "table"))
            sheet_entries.append(f'<sheet name="{_attr(name)}" sheetId="{i}" r:id="rId{i}"/>')
            wb_rels.append(f'<Relationship Id="rId{i}" Type="{_REL_NS}/worksheet" Target="worksheets/sheet{i}.xml"/>')
        n = len(names)
        wb_rels.append(f'<Relationship Id="rId{n + 1}" Type="{_REL_NS}/styles" Target="styles.xml"/>')
        z.writestr("xl/styles.xml", styles.xml())
        z.writestr("xl/workbook.xml",
                   f'{_HEAD}<workbook xmlns="{_NS}" xmlns:r="{_REL_NS}"><bookViews><workbookView/></bookViews>'
                   f'<sheets>{"".join(sheet_entries)}</sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels",
                   f'{_HEAD}<Relationships xmlns="{_PKG_REL_NS}">{"".join(wb_rels)}</Relationships>')
        z.writestr("_rels/.rels",
                   f'{_HEAD}<Relationships xmlns="{_PKG_REL_NS}"><Relationship Id="rId1"'
                   f' Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
                   f'<Relationship Id="rId2" Type="{_PKG_REL_NS}/metadata/core-properties" Target="docProps/core.xml"/>'
                   f'<Relationship Id="rId3" Type="{_REL_NS}/extended-properties" Target="docProps/app.xml"/>'
                   "</Relationships>")
        z.writestr("docProps/core.xml",
                   f'{_HEAD}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
                   'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>党建工作台</dc:creator>'
                   "</cp:coreProperties>")
        z.writestr("docProps/app.xml",
                   f'{_HEAD}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
                   'extended-properties"><Application>Microsoft Excel</Application></Properties>')
        ct = "application/vnd.openxmlformats-officedocument.spreadsheetml."
        parts = "".join(f'<Override PartName="{p}" ContentType="{ct}{kind}+xml"/>' for p, kind in overrides)
        z.writestr("[Content_Types].xml",
                   f'{_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                   '<Default Extension="xml" ContentType="application/xml"/>'
                   f'<Override PartName="/xl/workbook.xml" ContentType="{ct}sheet.main+xml"/>'
                   f'<Override PartName="/xl/styles.xml" ContentType="{ct}styles+xml"/>'
                   '<Override PartName="/docProps/core.xml"'
                   ' ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
                   '<Override PartName="/docProps/app.xml"'
                   ' ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
                   f"{parts}</Types>")
    return buf.getvalue()
