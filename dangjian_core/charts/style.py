"""House style: party red first, large type for projectors, a CJK font. `vega_spec` merges it
under a chart's own config — the same dict is shown on the page and exported."""

from __future__ import annotations

import copy
from typing import Any

PARTY_RED = "#C8161D"
PALETTE = [PARTY_RED, "#F2A33A", "#3B6FB6", "#5B8C5A", "#8E5EA2", "#7F7F7F", "#D9822B",
           "#2A9D8F", "#B5651D", "#4F6D7A", "#E377C2", "#17BECF", "#BCBD22", "#9C755F",
           "#FF9DA7", "#59A14F", "#EDC948", "#76B7B2", "#AF7AA1", "#F28E2B"]
# Noto Sans CJK SC is the family name fontconfig reports for Debian's fonts-noto-cjk
# (`fc-list | grep -i cjk`); the others are for an SVG opened on Windows/macOS, which names
# the font instead of embedding it.
FONT = "Noto Sans CJK SC, Source Han Sans SC, WenQuanYi Micro Hei, Microsoft YaHei, PingFang SC, sans-serif"
CHART_WIDTH, CHART_HEIGHT = 800, 450      # 16:9; 1600×900 pixels as a 2× PNG
VL_VERSION = "6.4"

# Vega-Lite config (JSON)
HOUSE_CONFIG: dict[str, Any] = {
    "font": FONT,
    "background": "white",
    "padding": 8,
    "view": {"stroke": None, "continuousWidth": CHART_WIDTH, "continuousHeight": CHART_HEIGHT},
    "title": {"fontSize": 24, "subtitleFontSize": 15, "color": "#1F1F1F", "subtitleColor": "#555555",
              "anchor": "middle", "offset": 14, "fontWeight": "bold", "subtitlePadding": 6},
    "axis": {"labelFontSize": 14, "titleFontSize": 15, "titleFontWeight": "normal",
             "labelColor": "#333333", "titleColor": "#333333", "gridColor": "#E6E6E6",
             "domainColor": "#888888", "tickColor": "#888888", "labelLimit": 180, "titlePadding": 10},
    "legend": {"labelFontSize": 14, "titleFontSize": 14, "titleFontWeight": "normal",
               "symbolSize": 160, "labelLimit": 200},
    "header": {"labelFontSize": 15, "titleFontSize": 15, "titleFontWeight": "normal"},
    "range": {"category": PALETTE, "ramp": {"scheme": "reds"}, "heatmap": {"scheme": "reds"}},
    "mark": {"color": PARTY_RED},
    "bar": {"color": PARTY_RED},
    "line": {"color": PARTY_RED, "strokeWidth": 3},
    "point": {"color": PARTY_RED, "size": 70, "filled": True},
    "arc": {"stroke": "white", "strokeWidth": 1.5},
    "text": {"fontSize": 14, "color": "#333333"},
}


def _register_theme() -> None:
    import altair as alt

    try:
        @alt.theme.register("dangjian", enable=False)
        def _theme() -> alt.theme.ThemeConfig:
            return alt.theme.ThemeConfig(config=copy.deepcopy(HOUSE_CONFIG))  # type: ignore[typeddict-item]
    except Exception:  # noqa: BLE001 — an older altair without alt.theme: config still merged
        pass


_register_theme()


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def vega_spec(chart: Any) -> dict[str, Any]:
    """The Vega-Lite dict of an altair chart (or dict) with the house style beneath its own
    config — the same dict is shown on the page and exported."""
    raw: dict[str, Any] = chart if isinstance(chart, dict) else chart.to_dict()
    spec = copy.deepcopy(raw)
    spec["config"] = _merge(HOUSE_CONFIG, spec.get("config") or {})
    return spec


FMT = ",.2~f"  # 1,234 and 12.5 (trailing zeros trimmed)

