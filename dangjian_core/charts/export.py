"""Export offline with vl-convert: PNG (2× for slides), SVG, and the data as xlsx."""

from __future__ import annotations

import glob
import os
import re
from types import ModuleType
from typing import Any

import polars as pl

from ..errors import BadInput, DangjianError
from .style import VL_VERSION, vega_spec

_fonts_registered = False


def _bundled_font_dir() -> str | None:
    """The install bundle's fonts/ (Noto Sans CJK), named by DANGJIAN_FONT_DIR in dangjian.env:
    an intranet machine may have no Chinese font of its own."""
    d = os.environ.get("DANGJIAN_FONT_DIR")
    return d if d and os.path.isdir(d) else None


def _vlc() -> ModuleType:
    global _fonts_registered
    try:
        import vl_convert
    except ImportError as exc:  # pragma: no cover — it is in the lock file
        raise DangjianError("服务器缺少图表导出组件 vl-convert-python，请联系系统管理员。") from exc
    if not _fonts_registered:
        d = _bundled_font_dir()
        if d:
            vl_convert.register_font_directory(os.path.abspath(d))
        _fonts_registered = True
    return vl_convert


def export_png(chart: Any, *, scale: float = 2.0) -> bytes:
    """PNG for slides (2× by default: an 800×450 chart gives 1600×900 pixels). `chart`: an
    altair chart or a Vega-Lite dict."""
    try:
        png: bytes = _vlc().vegalite_to_png(vega_spec(chart), vl_version=VL_VERSION, scale=scale,
                                           format_locale="zh-CN", time_format_locale="zh-CN")
    except ValueError as exc:
        raise BadInput(f"无法导出这张图：{exc}") from exc
    return png


def export_svg(chart: Any) -> str:
    """SVG: sharp at any size, but it names its fonts rather than embedding them."""
    try:
        svg: str = _vlc().vegalite_to_svg(vega_spec(chart), vl_version=VL_VERSION,
                                          format_locale="zh-CN", time_format_locale="zh-CN")
    except ValueError as exc:
        raise BadInput(f"无法导出这张图：{exc}") from exc
    return svg


def export_xlsx(data: pl.DataFrame, name: str = "数据") -> bytes:
    from ..fileio import xlsx_bytes

    sheet = re.sub(r"[\[\]:*?/\\]", "_", name or "数据")[:31] or "数据"
    return xlsx_bytes({sheet: data})


_FONT_DIRS = ["/usr/share/fonts", "/usr/local/share/fonts", os.path.expanduser("~/.fonts"),
              os.path.expanduser("~/.local/share/fonts")]
_FONT_FILES = ("NotoSansCJK", "NotoSerifCJK", "SourceHanSans", "wqy-microhei", "wqy-zenhei")
_font_ok: bool | None = None


def cjk_font_installed() -> bool:
    """Whether the server has a Chinese font for PNG export (else text comes out blank)."""
    global _font_ok
    if _font_ok is None:
        bundled = _bundled_font_dir()
        dirs = _FONT_DIRS + ([bundled] if bundled else [])
        _font_ok = any(any(k.lower() in os.path.basename(p).lower() for k in _FONT_FILES)
                       for d in dirs for p in glob.glob(os.path.join(d, "**", "*"), recursive=True))
    return _font_ok


def safe_filename(name: str) -> str:
    return re.sub(r'[\\/:*?"<>|\s]+', "_", name or "图表").strip("_")[:60] or "图表"

