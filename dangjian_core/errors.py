"""Named exceptions. Every message is 简体中文 and says what to fix."""

from __future__ import annotations

from dataclasses import dataclass


class DangjianError(Exception):
    """Base class: the message is meant for the user, in Chinese."""

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


MAX_SHOWN = 40  # characters of a cell value quoted in a message


@dataclass(frozen=True)
class CellError:
    """One problem in one cell. `row` counts as a spreadsheet user counts (header = row 1)."""

    row: int | None
    column: str | None
    value: object
    message: str

    def __post_init__(self):
        # a 300-digit number or a 10,000-character cell is shown shortened, never echoed whole
        if self.value is not None:
            text = str(self.value)
            if len(text) > MAX_SHOWN:
                object.__setattr__(self, "value", f"{text[:24]}…（共 {len(text)} 个字符）")

    def __str__(self) -> str:
        parts = []
        if self.row is not None:
            parts.append(f"第 {self.row} 行")
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
