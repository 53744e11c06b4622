"""示范点台账: the constants the package's modules share (permission, limits, rubric categories).
The vocabulary of the programme itself (statuses, kinds, lines) is in `rules.py`."""

from __future__ import annotations

from ..vocab import CATEGORIES

PERM = "sites.write"
VISIT_GAP_DAYS = 90
MIN_EXPERIENCES = 2
ATTACHMENT_TYPES = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".pdf", ".doc", ".docx", ".xls",
                    ".xlsx", ".ppt", ".pptx", ".txt", ".wps", ".et"}
IMAGE_TYPES = {".jpg", ".jpeg", ".png", ".gif", ".webp"}
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024

# a rubric applies to one category, or to all of them ("all": the general rubric)
ALL_CATEGORIES = "all"
RUBRIC_CATEGORIES = {ALL_CATEGORIES: "通用（所有类别）", **CATEGORIES}
