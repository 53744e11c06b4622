"""公文 and 通报: Word documents generated from the data, in the official format (GB/T 9704),
from templates the office can edit in Word.

    documents.briefing(db, user, "2026Q3")          → bytes of a .docx (党建工作通报)
    documents.notice(db, user, session_id)          → 述职评议通知
    documents.rectification(db, user, item_id)      → 整改意见单 / 通报批评单 / 约谈单 (its level)
    documents.observation(db, user, event_id)       → 观摩活动安排表
    documents.sites(db, user, 2026)                 → 示范点命名名单

Rendering is docxtpl (Jinja tags inside a real Word file). The default templates ship in
`templates/` (built by `build_templates.py`); an admin may upload a replacement per kind
(系统管理 → 公文模板), which is validated first — a broken tag or an unknown field is refused
with a Chinese message naming it, and the template in use stays — and may restore the default.
The data comes from `data.py`; the fields each template may use are in `fields.py`.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import clock, uow
from ..auth import User, require
from ..errors import BadInput, DangjianError, NotFound
from . import data

if TYPE_CHECKING:
    from docxtpl import DocxTemplate
    from jinja2.sandbox import SandboxedEnvironment

    from ..db import Cursor, Database

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
PERM_MANAGE = "users.manage"          # template management: admins only
MAX_TEMPLATE_BYTES = 10 * 1024 * 1024
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

KINDS = {
    "briefing": "党建工作通报",
    "notice": "述职评议通知",
    "rectification_1": "问题整改意见单",
    "rectification_2": "通报批评单",
    "rectification_3": "主要领导约谈单",
    "observation": "观摩活动安排表",
    "sites": "示范点命名名单",
}


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise BadInput(f"未知的公文种类「{kind}」；可选：{'、'.join(KINDS.values())}")
    return kind


# =============================================================================================
# Templates: default files and uploaded replacements
# =============================================================================================
def default_template(kind: str) -> bytes:
    return (TEMPLATE_DIR / f"{_kind(kind)}.docx").read_bytes()


def _has_store(cur: Cursor) -> bool:
    return bool(cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'doc_templates'")
                .fetchone()[0])


def template_bytes(db: Database, kind: str) -> bytes:
    """The template in use: the uploaded one if any, else the default."""
    _kind(kind)
    with db.read() as cur:
        row = cur.execute("SELECT content FROM doc_templates WHERE kind = ? ORDER BY id DESC LIMIT 1",
                          [kind]).fetchone() if _has_store(cur) else None
    return bytes(row[0]) if row else default_template(kind)


def templates(db: Database) -> list[dict[str, Any]]:
    """One row per kind: code, name, custom (bool), file_name, updated_at, updated_by (the uploader's 姓名)."""
    with db.read() as cur:
        # who uploaded it by 姓名 (the login name only for a user since deleted)
        rows = cur.execute("SELECT d.kind, d.file_name, d.size, d.updated_at,"
                           " coalesce(u.display_name, d.updated_by) FROM doc_templates d"
                           " LEFT JOIN users u ON u.username = d.updated_by"
                           ).fetchall() if _has_store(cur) else []
    up = {r[0]: r for r in rows}
    out = []
    for k, name in KINDS.items():
        r = up.get(k)
        out.append({"kind": k, "name": name, "custom": r is not None, "file_name": r[1] if r else f"{k}.docx",
                    "size": r[2] if r else (TEMPLATE_DIR / f"{k}.docx").stat().st_size,
                    "updated_at": r[3] if r else None, "updated_by": r[4] if r else None})
    return out


def _meta(kind: str, file_name: str, content: bytes) -> dict[str, Any]:
    return {"kind": kind, "file_name": file_name, "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest()}


def upload_template(db: Database, user: User, kind: str, content: bytes, file_name: str = "") -> None:
    """Replace the template of `kind` with an uploaded .docx (admins only). Validated first:
    on any problem a BadInput names it and the template in use stays."""
    require(user, PERM_MANAGE)  # before reading the file (validation renders it); the action checks again
    _kind(kind)
    file_name = (file_name or f"{kind}.docx").strip()
    validate_template(kind, content, file_name)
    after = _meta(kind, file_name, content)
    with uow.action(db, user, PERM_MANAGE, "doc_template", f"上传公文模板「{KINDS[kind]}」：{file_name}") as act:
        cur = act.cur
        old = cur.execute("SELECT id, file_name, content FROM doc_templates WHERE kind = ?", [kind]).fetchall()
        before = _meta(kind, old[0][1], bytes(old[0][2])) if old else None
        cur.execute("DELETE FROM doc_templates WHERE kind = ?", [kind])
        new_id = cur.execute(
            "INSERT INTO doc_templates (kind, file_name, content, size, sha256, updated_at, updated_by)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [kind, file_name, content, len(content), after["sha256"], clock.now(), user.username]).fetchone()[0]
        act.record("doc_templates", new_id, "update" if old else "insert", before, after)


def restore_default(db: Database, user: User, kind: str) -> bool:
    """Go back to the shipped template (admins only). False when the default was in use."""
    with uow.action(db, user, PERM_MANAGE, "doc_template", f"公文模板「{KINDS[_kind(kind)]}」恢复默认") as act:
        old = act.cur.execute("SELECT id, file_name, content FROM doc_templates WHERE kind = ?", [kind]).fetchall()
        if not old:
            return False
        act.cur.execute("DELETE FROM doc_templates WHERE kind = ?", [kind])
        act.record("doc_templates", old[0][0], "delete", _meta(kind, old[0][1], bytes(old[0][2])), None)
    return True


# =============================================================================================
# Validation
# =============================================================================================
_TAG = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.S)
_XML_PARTS = re.compile(r"^word/(document|header\d*|footer\d*)\.xml$")


def _env() -> SandboxedEnvironment:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=True)


def _paragraph_texts(content: bytes) -> list[str]:
    """The text of every paragraph of the body, headers and footers (runs joined, as Word shows it)."""
    from lxml import etree  # type: ignore[import-untyped]

    ns = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    out = []
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        for name in z.namelist():
            if _XML_PARTS.match(name):
                root = etree.fromstring(z.read(name))
                for p in root.iter(f"{ns}p"):
                    out.append("".join(t.text or "" for t in p.iter(f"{ns}t")))
    return out


def _translate(msg: str) -> str:
    m = re.search(r"Jinja was looking for the following tags: (.*?)\. The innermost block that needs to be closed is '(\w+)'", msg)
    if m:
        return f"「{m.group(2)}」块没有结束：缺少 {m.group(1).replace(' or ', ' 或 ')}"
    m = re.search(r"Encountered unknown tag '(\w+)'", msg)
    if m:
        return f"不认识的标记「{m.group(1)}」（可能缺少与之配对的 if/for，或拼写有误）"
    if "unexpected end of template" in msg.lower():
        return "模板意外结束（有没有闭合的标记）"
    if "expected token" in msg or "unexpected" in msg:
        return f"标记写法有误（{msg}）"
    return msg


def _field_path(node: Any) -> str | None:
    from jinja2 import nodes

    parts = []
    while isinstance(node, nodes.Getattr):
        parts.append(node.attr)
        node = node.node
    if isinstance(node, nodes.Name):
        return ".".join([node.name, *reversed(parts)])
    return None


def validate_template(kind: str, content: bytes, file_name: str = "") -> None:
    """Refuse a template that is not a Word file, has a broken tag, or uses a field the
    document does not have. The message names the tag or field and what to do."""
    from jinja2 import TemplateSyntaxError, nodes

    from . import fields

    _kind(kind)
    label = f"模板「{file_name or KINDS[kind]}」"
    if not content:
        raise BadInput(f"{label}是空文件")
    if len(content) > MAX_TEMPLATE_BYTES:
        raise BadInput(f"{label}超过 {MAX_TEMPLATE_BYTES // 1024 // 1024} MB，请删去其中的大图片后再上传")
    if file_name and not file_name.lower().endswith(".docx"):
        raise BadInput(f"{label}不是 .docx 文件：请在 Word 中「另存为」Word 文档（*.docx）后上传")
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            if "word/document.xml" not in z.namelist():
                raise BadInput(f"{label}不是 Word 文档（.docx）：请在 Word 中「另存为」Word 文档后上传")
        texts = _paragraph_texts(content)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        if isinstance(exc, BadInput):
            raise
        raise BadInput(f"{label}不是 Word 文档（.docx）或已损坏：请在 Word 中「另存为」Word 文档后上传") from None
    env = _env()
    # 1. each tag on its own: braces closed, expression parses
    for text in texts:
        opens = text.count("{{") + text.count("{%")
        closes = text.count("}}") + text.count("%}")
        if opens != closes:
            raise BadInput(f"{label}中这一段的标记括号不成对：「{text.strip()[:80]}」。"
                           "每个字段应写成 {{ 字段 }}，每个控制标记写成 {% … %}")
        for m in _TAG.finditer(text):
            expr, stmt = m.group(1), m.group(2)
            src = "{{" + expr + "}}" if expr is not None else None
            if src is not None:
                try:
                    env.parse(src)
                except TemplateSyntaxError as exc:
                    raise BadInput(f"{label}中的标记「{m.group(0).strip()}」写法有误：{_translate(exc.message or '')}") \
                        from None
            elif stmt is not None and not re.match(r"^-?\s*(?:tr|tc|p|r)?\s*(if|elif|else|endif|for|endfor|set)\b",
                                                     stmt.strip() or " "):
                word = (stmt.strip().split() or ["（空）"])[0]
                raise BadInput(f"{label}中的控制标记「{m.group(0).strip()}」不认识（「{word}」）："
                               "只能用 if / elif / else / endif / for / endfor")
    # 2. the whole template: blocks nest, fields exist
    from docxtpl import DocxTemplate

    try:
        tpl = DocxTemplate(io.BytesIO(content))
        tpl.init_docx()
        xml = tpl.patch_xml(tpl.get_xml())
        ast = env.parse(xml)
    except TemplateSyntaxError as exc:
        raise BadInput(f"{label}的标记结构有误：{_translate(exc.message or '')}。请检查 if/for 是否都有对应的 endif/endfor") \
            from None
    except Exception as exc:  # noqa: BLE001 — anything docx-level is a bad file for the user
        raise BadInput(f"{label}无法读取：{exc}") from None
    sample = fields.sample(kind)
    loops: dict[str, list[str]] = {}
    for loop in ast.find_all(nodes.For):
        if isinstance(loop.target, nodes.Name):
            src = _field_path(loop.iter)
            loops.setdefault(loop.target.name, []).append(src or "")
            if src and not fields.has_path(kind, src, loops):
                raise BadInput(f"{label}中的字段「{src}」不存在。{fields.help_text(kind)}")
    assigned = {n.target.name for n in ast.find_all(nodes.Assign) if isinstance(n.target, nodes.Name)}
    known = set(sample) | set(loops) | assigned | {"loop"}
    for name in ast.find_all(nodes.Name):
        if name.ctx == "load" and name.name not in known:
            raise BadInput(f"{label}中的字段「{name.name}」不存在。{fields.help_text(kind)}")
    for attr in ast.find_all(nodes.Getattr):
        path = _field_path(attr)
        if path and path.split(".")[0] not in {"loop"} | assigned and not fields.has_path(kind, path, loops):
            raise BadInput(f"{label}中的字段「{path}」不存在。{fields.help_text(kind)}")
    # 3. a trial run on sample data (full and empty) catches what reading cannot
    for ctx in (sample, fields.sample(kind, empty=True)):
        try:
            _render(content, ctx)
        except BadInput as exc:
            raise BadInput(f"{label}试填示例数据时出错：{exc.message}") from None


# =============================================================================================
# Rendering
# =============================================================================================
def _is_png(v: object) -> bool:
    return isinstance(v, (bytes, bytearray)) and bytes(v[:8]) == b"\x89PNG\r\n\x1a\n"


def _images(tpl: DocxTemplate, value: Any, width_mm: float) -> Any:
    from docx.shared import Mm
    from docxtpl import InlineImage

    if _is_png(value):
        return InlineImage(tpl, io.BytesIO(bytes(value)), width=Mm(width_mm))
    if isinstance(value, dict):
        return {k: _images(tpl, v, width_mm) for k, v in value.items()}
    if isinstance(value, list):
        return [_images(tpl, v, width_mm) for v in value]
    return "" if value is None else value


def _render(template: bytes, context: dict[str, Any], *, image_width_mm: float = 150) -> bytes:
    from docxtpl import DocxTemplate
    from jinja2 import TemplateError, UndefinedError

    try:
        tpl = DocxTemplate(io.BytesIO(template))
        tpl.render(_images(tpl, context, image_width_mm), jinja_env=_env(), autoescape=True)
        out = io.BytesIO()
        tpl.save(out)
    except UndefinedError as exc:
        raise BadInput(f"模板用到了没有的字段：{exc.message}") from None
    except TemplateError as exc:
        raise BadInput(f"模板有误：{_translate(str(exc))}") from None
    return out.getvalue()


def render(db: Database, kind: str, context: dict[str, Any]) -> bytes:
    try:
        return _render(template_bytes(db, kind), context)
    except BadInput as exc:
        raise BadInput(f"「{KINDS[kind]}」的模板无法套用：{exc.message}。请管理员在「系统管理 → 公文模板」中修正或恢复默认") \
            from None


# =============================================================================================
# The documents
# =============================================================================================
def briefing(db: Database, user: User, period: object, sections: list[str] | None = None, *,
             issue_no: object = None) -> bytes:
    """党建工作通报 for a quarter (2026Q3) or a month (2026-09)."""
    require(user, "read")
    return render(db, "briefing", data.briefing_context(db, user, period, sections, issue_no=issue_no))


def notice(db: Database, user: User, session_id: object) -> bytes:
    require(user, "read")
    return render(db, "notice", data.notice_context(db, session_id))


def rectification(db: Database, user: User, item_id: object, level: object = None) -> bytes:
    require(user, "read")
    lv, ctx = data.rectification_context(db, item_id, level)
    return render(db, f"rectification_{lv}", ctx)


def observation(db: Database, user: User, event_id: object) -> bytes:
    require(user, "read")
    return render(db, "observation", data.observation_context(db, event_id))


def sites(db: Database, user: User, year: object) -> bytes:
    require(user, "read")
    return render(db, "sites", data.sites_context(db, year))


def file_name(kind: str, what: str = "") -> str:
    """A download name: 「2026年第三季度党建工作通报.docx」."""
    from ..charts.export import safe_filename

    base = f"{what}{KINDS.get(kind, kind)}" if what else KINDS.get(kind, kind)
    return f"{safe_filename(base)}.docx"


__all__ = ["KINDS", "DOCX_MIME", "briefing", "notice", "rectification", "observation", "sites", "templates",
           "template_bytes", "default_template", "upload_template", "restore_default", "validate_template",
           "file_name", "render", "data", "DangjianError", "NotFound"]
