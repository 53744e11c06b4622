"""THE write path for table data: permission → parsing → validation → transaction → audit.

A table is described once by a `TableSpec` (columns with Chinese labels, types, required,
choices, ranges, references, table-wide checks). The web editor, the Excel/CSV import and the
CLI import all call `save()` / `import_frame()` here, so no door can skip a check.

Values arrive as the user typed them (a Chinese label or a code, text from a spreadsheet);
`parse_value` turns them into typed values and says in Chinese what was expected.
Concurrency: every editable table has a `version` column; an update or delete names the
version it was loaded with, and a mismatch is a `ConflictError`, never a silent overwrite.

What is where: `model` (Column, TableSpec, Issue, Changes and result types, VERSION_LABEL,
MAX_ERRORS, `get_spec`), `parse` (one value, a column at once, editor rows, file headers),
`read` (load, query, display and export frames, distinct values), `save` (validation and the
write with its audit entries), `imports` (file import: preview and commit).
"""

from .imports import import_frame
from .model import (
    MAX_ERRORS,
    SPECS,
    VERSION_LABEL,
    Changes,
    Column,
    ImportPreview,
    Issue,
    SaveResult,
    TableSpec,
    get_spec,
    register,
)
from .parse import load_refs, parse_value
from .read import display_frame, distinct_values, export_frame, load, query, search_columns
from .save import new_keys, register_keys, save

__all__ = [
    "MAX_ERRORS", "SPECS", "VERSION_LABEL", "Changes", "Column", "ImportPreview", "Issue", "SaveResult",
    "TableSpec", "display_frame", "distinct_values", "export_frame", "get_spec", "import_frame", "load",
    "load_refs", "new_keys", "parse_value", "query", "register", "register_keys", "save", "search_columns",
]
