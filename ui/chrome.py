"""Streamlit's own words on screen, in Chinese.

Streamlit 1.67 has no option for the texts it draws itself (the file uploader's "Upload" and
"20MB per file • XLSX", "Select all" and "No results" in select boxes, "Press Enter to apply",
the data grid's menus and tooltips). Our own texts are Chinese already; these are translated
in the browser by one small script that watches the page and rewrites exactly these texts
(whole text nodes and placeholders only, nothing else), so they read in Chinese wherever and
whenever Streamlit draws them. The script runs in the page itself (`st.html` with JavaScript,
no iframe), once per browser tab; its holder is hidden.

Where we can avoid the English at the source we do: the menu is always expanded (no
"View N more"), every multiselect has a Chinese placeholder and no "Select all"
(`select_all=False`).
"""

from __future__ import annotations

import json

import streamlit as st

# Exact texts (whole text node or placeholder, trimmed) → Chinese.
EXACT: dict[str, str] = {
    # file uploader
    "Upload": "上传文件",
    "Browse files": "选择文件",
    "Drag and drop file here": "将文件拖到这里",
    "Drag and drop files here": "将文件拖到这里",
    "Remove file": "移除文件",
    # select boxes and multiselects
    "Choose an option": "请选择",
    "Choose options": "请选择",
    "Select all": "全选",
    "Clear all": "全部清除",
    "No results": "没有匹配项",
    "No options to select": "没有可选项",
    "No options to select.": "没有可选项",
    "Remove": "移除",
    # text inputs and forms
    "Press Enter to apply": "按回车键确认",
    "Press Enter to submit form": "按回车键提交",
    "Press ⌘+Enter to apply": "按 Ctrl+回车 确认",
    "Press Ctrl+Enter to apply": "按 Ctrl+回车 确认",
    # navigation
    "View less": "收起",
    # a long toast (ui.messages.show_flash_at)
    "view more": "展开全文",
    "view less": "收起",
    # data grid toolbar and column menu
    "Add row": "新增一行",
    "Delete row": "删除所选行",
    "Delete rows": "删除所选行",
    "Download as CSV": "下载为 CSV",
    "Search": "搜索",
    "Fullscreen": "全屏",
    "Close fullscreen": "退出全屏",
    "Sort ascending": "升序排列",
    "Sort descending": "降序排列",
    "Autosize": "自动列宽",
    "Pin column": "固定此列",
    "Unpin column": "取消固定",
    "Hide column": "隐藏此列",
    "Show/hide columns": "显示或隐藏列",
    "Format": "格式",
    "Automatic": "自动",
    "Clear cell": "清空单元格",
    "Copy": "复制",
    "Paste": "粘贴",
    # app status and menu
    "Running...": "正在运行……",
    "Stop": "停止",
    "Rerun": "重新运行",
    "Connecting": "正在连接",
    "Connection error": "连接出错",
    "Clear cache": "清除缓存",
    "Settings": "设置",
    "Print": "打印",
}

# Patterns over a whole trimmed text: [regex, replacement template with $1, $2 …]
PATTERNS: list[tuple[str, str]] = [
    (r"^(?:Limit )?(\d+(?:\.\d+)?\s*[KMG]?B) per file • (.+)$", "单个文件不超过 $1 · 格式 $2"),
    (r"^(?:Limit )?(\d+(?:\.\d+)?\s*[KMG]?B) per file$", "单个文件不超过 $1"),
    (r"^View (\d+) more$", "展开其余 $1 项"),
    (r"^Showing page (\d+) of (\d+)$", "第 $1 页，共 $2 页"),
]

_SCRIPT = """<script>
(function () {
  if (window.__djChrome) return;
  window.__djChrome = true;
  const exact = %(exact)s;
  const patterns = %(patterns)s.map(([re, to]) => [new RegExp(re), to]);
  function tr(text) {
    if (!text) return null;
    const t = text.trim();
    if (!t || t.length > 120) return null;
    let out = exact[t];
    if (out === undefined) {
      for (const [re, to] of patterns) {
        const m = t.match(re);
        if (m) { out = to.replace(/\\$(\\d)/g, (_, i) => m[+i] || ""); break; }
      }
    }
    if (out === undefined) return null;
    out = out.replace(/, /g, "、");
    return text.replace(t, out);
  }
  function fixText(node) {
    const r = tr(node.nodeValue);
    if (r !== null && r !== node.nodeValue) node.nodeValue = r;
  }
  function fixAttr(el) {
    for (const a of ["placeholder"]) {
      const v = el.getAttribute && el.getAttribute(a);
      const r = tr(v);
      if (r !== null && r !== v) el.setAttribute(a, r);
    }
  }
  function walk(root) {
    if (root.nodeType === 3) { fixText(root); return; }
    if (root.nodeType !== 1) return;
    fixAttr(root);
    const w = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    let n;
    while ((n = w.nextNode())) fixText(n);
    for (const el of root.querySelectorAll("[placeholder]")) fixAttr(el);
  }
  new MutationObserver((records) => {
    for (const m of records) {
      if (m.type === "characterData") fixText(m.target);
      else if (m.type === "attributes") fixAttr(m.target);
      else for (const n of m.addedNodes) walk(n);
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true,
                             attributes: true, attributeFilter: ["placeholder"]});
  walk(document.body);
})();
</script>"""

_CSS = """<style>
.st-key-dj_chrome { display: none; }
</style>"""


def script() -> str:
    return _SCRIPT % {"exact": json.dumps(EXACT, ensure_ascii=False),
                      "patterns": json.dumps(PATTERNS, ensure_ascii=False)}


def install() -> None:
    """Call once per run, first thing in app.py (also before login)."""
    st.html(_CSS)
    with st.container(key="dj_chrome"):
        st.html(script(), unsafe_allow_javascript=True)
