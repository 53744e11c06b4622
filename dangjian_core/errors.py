"""Named exceptions. Every message is 简体中文 and says what to fix."""

from __future__ import annotations

from dataclasses import dataclass


class DangjianError(Exception):
    """Base class: the message is meant for the user, in Chinese."""

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


MAX_SHOWN = 40  # characters of a cell value quoted in a message


def row_words(row: object) -> str:
    """A row as the user reads it: 「第 N 行」 for a number; a label that already says it is a
    row (「新增第1行」: a new row saved without row numbers) as it is."""
    if isinstance(row, str) and row.endswith("行"):
        return row
    return f"第 {row} 行"


@dataclass(frozen=True)
class CellError:
    """One problem in one cell. `row` counts as a spreadsheet user counts (header = row 1)."""

    row: int | str | None  # a spreadsheet row number, or a label such as 「新增第1行」
    column: str | None
    value: object
    message: str

    def __post_init__(self) -> None:
        # a 300-digit number or a 10,000-character cell is shown shortened, never echoed whole
        if self.value is not None:
            text = str(self.value)
            if len(text) > MAX_SHOWN:
                object.__setattr__(self, "value", f"{text[:24]}…（共 {len(text)} 个字符）")

    def __str__(self) -> str:
        parts = []
        if self.row is not None:
            parts.append(row_words(self.row))
        if self.column:
            parts.append(f"列「{self.column}」")
        where = " ".join(parts)
        shown = "" if self.value is None or self.value == "" else f"（值「{self.value}」）"
        return f"{where}{shown}：{self.message}" if where else f"{self.message}{shown}"


class BadInput(DangjianError):
    """Input that cannot be accepted. CLI exit code 2; nothing is written."""

    def __init__(self, message: str, errors: list[CellError] | None = None, file: str | None = None):
        self.errors = list(errors or [])
        self.file = file
        super().__init__(message)

    def __str__(self) -> str:
        head = f"文件 {self.file}：{self.message}" if self.file else self.message
        if not self.errors:
            return head
        lines = [head] + [f"  {e}" for e in self.errors[:50]]
        if len(self.errors) > 50:
            lines.append(f"  ……另有 {len(self.errors) - 50} 处错误")
        return "\n".join(lines)


class ValidationFailed(BadInput):
    """Validation of a table edit or import found errors; nothing was saved."""


class PermissionDenied(DangjianError):
    """The user's role does not allow this action."""


class ConflictError(DangjianError):
    """Someone else changed the row since it was loaded (optimistic locking)."""


class DatabaseLocked(DangjianError):
    """The DuckDB file is held by another process (usually the running web app)."""


class NotFound(DangjianError):
    """A referenced record does not exist."""


class DiskError(DangjianError):
    """The database file could not be written or read (disk full, IO error)."""


MAX_ERRORS = 50  # errors listed before 「另有更多错误未列出」
MORE_ERRORS = "另有更多错误未列出：请先改正以上错误，再重新检查"


class ErrorCollector:
    """The one collector of cell errors for a check over many rows (imports, uploads, batch
    files): `add(row, column, value, message)`; it keeps the first `limit` errors in row order
    (then one line 「另有更多错误未列出」) and `raise_if_any()` raises `ValidationFailed`.
    `full` says when enough errors were found to stop reading. `order` breaks ties on one row
    (the order of the columns as checked)."""

    def __init__(self, limit: int = MAX_ERRORS, *, file: str | None = None):
        self.limit = limit
        self.file = file
        self.count = 0
        self._items: list[tuple[int, int, int, CellError]] = []

    def add(self, row: int | None, column: str | None, value: object, message: str, order: int = 0) -> None:
        self.add_error(CellError(row, column, value, message), order)

    def add_error(self, error: CellError, order: int = 0) -> None:
        self.count += 1
        row = error.row if isinstance(error.row, int) else 0
        self._items.append((row, order, len(self._items), error))
        if len(self._items) > 4 * self.limit:  # keep memory bounded: only the first rows matter
            self._items.sort(key=lambda t: t[:3])
            del self._items[self.limit + 1:]

    def extend(self, errors: list[CellError], order: int = 0) -> None:
        for e in errors:
            self.add_error(e, order)

    def add_many(self, rows: list[int], column: str | None, values: list[object], messages: list[str],
                 order: int = 0) -> None:
        """Errors of one column over many rows (rows ascending): only the first `limit` + 1
        are kept — the rest could never be shown."""
        self.count += max(0, len(rows) - self.limit - 1)
        for r, v, m in list(zip(rows, values, messages, strict=True))[: self.limit + 1]:
            self.add(r, column, v, m, order)

    @property
    def full(self) -> bool:
        """More than `limit` errors: enough to fix first, the rest need not be read."""
        return self.count > self.limit

    def __bool__(self) -> bool:
        return self.count > 0

    def __len__(self) -> int:
        return self.count

    def errors(self) -> list[CellError]:
        """The first `limit` errors by row, then 「另有更多错误未列出」 when there are more."""
        ordered = [e for *_, e in sorted(self._items, key=lambda t: t[:3])]
        if self.count > self.limit:
            return ordered[: self.limit] + [CellError(None, None, None, MORE_ERRORS)]
        return ordered

    def headline(self) -> str:
        n = f"有 {self.count} 处错误" if self.count <= self.limit else f"有 {self.limit} 处以上错误"
        return f"{n}，没有保存任何数据。请改正后再试："

    def raise_if_any(self, message: str | None = None) -> None:
        if self.count:
            raise ValidationFailed(message or self.headline(), self.errors(), file=self.file)
