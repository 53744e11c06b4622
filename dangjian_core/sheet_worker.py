"""The second wall: parse one untrusted Excel file in a child process that cannot hurt the server.

`fileio` starts this module once as a small server (`python -m dangjian_core.sheet_worker
SOCKET`): a fresh, single-threaded process that imports fastexcel and polars once and then
forks one child per file (forking the multi-threaded web server itself would be unsafe, and
multiprocessing would re-run the Streamlit script in the child). Each child lowers its own
address-space limit (RLIMIT_AS) and CPU limit before touching the file, so a grid that would
need 512 GB fails inside the child (the allocator aborts it, or the kernel refuses the
memory) and the caller just sees the child gone and answers in Chinese; the caller also kills
the child after a wall-clock timeout. The server exits when its parent closes its stdin.

Wire format (both ways): 4-byte length + JSON header, then 8-byte length + raw bytes. The
child first sends its pid (so the caller can kill it). The reply carries every cell as text
(Arrow IPC) plus, for the code columns asked about, which cells were numbers in the file.
"""

from __future__ import annotations

import io
import json
import os
import re
import resource
import select
import signal
import socket
import struct
import sys
import zipfile
from collections.abc import Iterator
from typing import Any

import fastexcel  # noqa: F401  (imported once in the server, before any fork)
import polars as pl

from . import sheet_guard


def _vm_bytes() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _limit(mem_bytes: int, cpu_seconds: int) -> None:
    if mem_bytes:
        cap = _vm_bytes() + mem_bytes
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    if cpu_seconds:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 2))


# -- wire ---------------------------------------------------------------------------------
def _recv_exact(conn: socket.socket, n: int) -> bytes:
    chunks: list[bytes] = []
    got = 0
    while got < n:
        b = conn.recv(min(n - got, 1 << 20))
        if not b:
            raise EOFError
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


def send_msg(conn: socket.socket, header: dict[str, Any], blob: bytes = b"") -> None:
    h = json.dumps(header, ensure_ascii=False).encode()
    conn.sendall(struct.pack(">I", len(h)) + h + struct.pack(">Q", len(blob)))
    if blob:
        conn.sendall(blob)


def recv_msg(conn: socket.socket, max_header: int = 16 << 20,
             max_blob: int = 1 << 31) -> tuple[dict[str, Any], bytes]:
    (n,) = struct.unpack(">I", _recv_exact(conn, 4))
    if n > max_header:
        raise EOFError
    header: dict[str, Any] = json.loads(_recv_exact(conn, n))
    (m,) = struct.unpack(">Q", _recv_exact(conn, 8))
    if m > max_blob:
        raise EOFError
    return header, _recv_exact(conn, m) if m else b""


# -- server and child ---------------------------------------------------------------------
def serve(path: str) -> None:
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(32)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        ready, _, _ = select.select([srv, sys.stdin], [], [])
        if sys.stdin in ready:
            if not os.read(sys.stdin.fileno(), 1024):
                break  # the parent went away
            continue
        conn, _ = srv.accept()
        pid = os.fork()
        if pid == 0:
            srv.close()
            code = 0
            try:
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                _child(conn)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        conn.close()
    srv.close()


def _child(conn: socket.socket) -> None:
    send_msg(conn, {"pid": os.getpid()})
    header, data = recv_msg(conn)
    status, blob = "broken", b""
    meta: dict[str, Any] = {}
    try:
        _limit(int(header["mem_bytes"]), int(header["cpu_seconds"]))
        meta, blob = parse(data, header.get("sheet"), header.get("code_headers") or [])
        status = "ok"
    except MemoryError:
        status, meta = "bad", {"message": "文件太大或结构异常：读取时超出了内存上限"}
    except _Refused as exc:
        status, meta = "bad", {"message": str(exc)}
    except Exception as exc:  # any parser error is a broken file, never a traceback
        status, meta = "broken", {"detail": f"{type(exc).__name__}: {exc}"[:300]}
    meta["status"] = status
    usage = resource.getrusage(resource.RUSAGE_SELF)  # this forked child's own (counted from the fork)
    meta["rss_kb"], meta["cpu_s"] = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    send_msg(conn, meta, blob)
    conn.close()


class _Refused(Exception):
    pass


def parse(data: bytes, sheet: str | None, code_headers: list[str]) -> tuple[dict[str, Any], bytes]:
    reader = fastexcel.read_excel(data)
    names = list(reader.sheet_names)
    if not names:
        raise _Refused("Excel 文件中没有工作表")
    target = sheet if sheet is not None else names[0]
    if target not in names:
        raise _Refused(f"Excel 文件中没有名为「{target}」的工作表")
    loaded = reader.load_sheet(target, header_row=None, dtypes="string", skip_rows=0)
    if loaded.height > sheet_guard.MAX_ROWS + 10:
        raise _Refused(f"工作表「{target}」有 {loaded.height} 行，超过上限 {sheet_guard.MAX_ROWS} 行："
                       "请拆分成几个文件分别导入")
    width = len(loaded.available_columns())
    if width > sheet_guard.MAX_COLS:
        raise _Refused(f"工作表「{target}」有 {width} 列，超过上限 {sheet_guard.MAX_COLS} 列")
    table = loaded.to_polars()
    offsets = [c.absolute_index for c in loaded.available_columns()]
    col_offset = offsets[0] if offsets else 0
    table = table.rename({c: f"c{j}" for j, c in enumerate(table.columns)})
    others = []
    if _empty(table) and sheet is None:
        for other in names[1:]:
            try:
                o = reader.load_sheet(other, header_row=None, dtypes="string", skip_rows=0, n_rows=20)
                if not _empty(o.to_polars()):
                    others.append(other)
            except Exception:
                continue
    numeric = _numeric_code_cells(data, reader, target, table, code_headers, col_offset)
    buf = io.BytesIO()
    table.write_ipc(buf)
    return ({"sheet": target, "sheets": names, "others_with_data": others,
             "numeric": {str(k): v for k, v in numeric.items()}}, buf.getvalue())


def _empty(df: pl.DataFrame) -> bool:
    if df.height == 0 or df.width == 0:
        return True
    return not any(df[c].str.strip_chars().str.len_chars().fill_null(0).gt(0).any() for c in df.columns)


def _code_columns(table: pl.DataFrame, code_headers: list[str]) -> list[int]:
    wanted = {h.strip() for h in code_headers}
    cols = set()
    for row in table.head(10).iter_rows():
        for j, v in enumerate(row):
            if v is not None and str(v).strip().replace("\n", "") in wanted:
                cols.add(j)
    return sorted(cols)


def _cells(pat: re.Pattern[bytes], hint: re.Pattern[bytes], xml: bytes) -> Iterator[re.Match[bytes]]:
    """pat.finditer(xml) for a cell pattern whose group 1 follows 'r="', faster: the places
    `hint` (a literal start, a superset) finds are checked by `pat` from the last ">" before
    them to the end of their tag — no match of `pat` holds a ">", so finditer over the whole
    text is in step there; a match counts where its group 1 starts at the hint."""
    for h in hint.finditer(xml):
        end = xml.find(b">", h.start()) + 1
        if end <= 0:
            return
        at = h.start() + 3
        for m in pat.finditer(xml, xml.rfind(b">", 0, h.start()) + 1, end):
            if m.start(1) == at:
                yield m
                break


_T_ATTR = re.compile(rb'\bt="([^"]*)"')  # a cell's type (none or "n": a number)


def _numeric_code_cells(data: bytes, reader: Any, target: str, table: pl.DataFrame,
                        code_headers: list[str], col_offset: int) -> dict[int, list[int]]:
    """{grid column: [grid rows]} of cells stored as numbers in columns headed by a code
    header (身份证号, 党员编号, …): Excel has already dropped their leading zeros or rounded
    them to 15 digits, so the reader refuses them."""
    cols = _code_columns(table, code_headers) if code_headers else []
    if not cols:
        return {}
    out: dict[int, list[int]] = {}
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            part = dict(sheet_guard._sheet_parts(z)).get(target)
            if part is None or part not in z.namelist():
                return {}
            xml = z.read(part)
        letters = {sheet_guard.col_letters(col_offset + j + 1).encode(): j for j in cols}
        alt = b"|".join(letters)
        pat = re.compile(rb'<(?:\w+:)?c\s[^>]*?\br="(' + alt + rb')(\d+)"[^>]*?(/?)>')
        for m in _cells(pat, re.compile(rb'r="(?:' + alt + rb')\d'), xml):
            if m.group(3):  # <c .../> has no value
                continue
            t = _T_ATTR.search(xml, m.start(), m.end())  # within the tag, without copying it
            if t is None or t.group(1) == b"n":
                out.setdefault(letters[m.group(1)], []).append(int(m.group(2)) - 1)
        return out
    # legacy .xls: a cell that reads as a date is a number (big numbers are caught later by the
    # 身份证号 check digit)
    try:
        probe = reader.load_sheet(target, header_row=None, skip_rows=0,
                                  dtypes={j: "date" for j in cols}, use_columns=cols).to_polars()
    except Exception:
        return {}
    for k, j in enumerate(cols):
        s = probe[probe.columns[k]]
        rows = [i for i, v in enumerate(s.to_list()) if v is not None]
        if rows:
            out[j] = rows
    return out


if __name__ == "__main__":
    serve(sys.argv[1])
