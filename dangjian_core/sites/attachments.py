"""示范点创建档案 attachments: photos and documents under data/attachments/sites/<org>/, filed
as `site_events` rows (one audit batch per upload)."""

from __future__ import annotations

import os
import re
import uuid
from datetime import date
from pathlib import Path

from .. import clock, uow
from ..auth import User
from ..db import Database
from ..errors import BadInput, NotFound
from . import rules as R
from .model import ATTACHMENT_TYPES, IMAGE_TYPES, MAX_ATTACHMENT_BYTES, PERM
from .specs import org_ids_in_programme


def files_root(db: Database) -> Path:
    """data/attachments/sites/ beside the database file (data/attachments/ is kept out of git;
    backups carry it, see datafiles)."""
    return (db.files_dir or Path("data") / "attachments") / "sites"


def _safe_name(name: str) -> str:
    base = os.path.basename(str(name or "").replace("\\", "/")).strip()
    base = re.sub(r"[^\w.\-（）()\u4e00-\u9fff]+", "_", base)
    return base[-80:] or "附件"


def add_attachment(db: Database, user: User, org_id: int, event_date: date, title: str, file_name: str, data: bytes,
                   *, kind: str = "photo", today: date | None = None) -> int:
    """Store a photo or document under data/attachments/sites/<org>/ and file it in the archive.
    The file is written inside the action and removed again when the action fails."""
    today = today or clock.today()
    name = _safe_name(file_name)
    target: Path | None = None
    try:
        with uow.action(db, user, PERM, "site_file", f"上传示范点附件：{name}") as act:
            _check_upload(file_name, data, kind, title, event_date, today)
            if int(org_id) not in org_ids_in_programme(act.cur):
                raise BadInput("这个党组织不在示范点台账中：请先申报")
            rel = Path(str(int(org_id))) / f"{uuid.uuid4().hex[:8]}_{name}"
            target = files_root(db) / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".part")
            tmp.write_bytes(data)
            os.replace(tmp, target)
            with act.track("site_events", []) as added:
                eid = act.cur.execute(
                    "INSERT INTO site_events (org_id, event_date, kind, title, file_name, file_path, updated_by)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    [int(org_id), event_date, kind, title.strip()[:100], name, rel.as_posix(),
                     user.username]).fetchone()[0]
                added.add([eid])
    except BaseException:
        if target is not None:
            target.unlink(missing_ok=True)
        raise
    return int(eid)


def _check_upload(file_name: str, data: bytes, kind: str, title: str, event_date: date | None, today: date) -> None:
    ext = Path(file_name or "").suffix.lower()
    if ext not in ATTACHMENT_TYPES:
        raise BadInput("附件类型不支持：可以上传照片（jpg、png）、PDF、Word、Excel、PPT 或文本文件", file=file_name)
    if not data:
        raise BadInput("文件是空的", file=file_name)
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise BadInput(f"文件太大（{len(data) / 1048576:.1f} MB）：附件最多 20 MB", file=file_name)
    if ext in IMAGE_TYPES and not (data[:3] == b"\xff\xd8\xff" or data[:8] == b"\x89PNG\r\n\x1a\n"
                                   or data[:4] == b"GIF8" or data[8:12] == b"WEBP"):
        raise BadInput("文件扩展名是图片，但内容不是图片", file=file_name)
    if kind not in R.EVENT_KINDS:
        raise BadInput("未知的档案类型")
    if not (title or "").strip():
        raise BadInput("请填写事项（例如「创建活动照片」）")
    if event_date is None or event_date > today:
        raise BadInput("日期不能为空，也不能晚于今天")


def attachment(db: Database, event_id: int) -> tuple[str, bytes]:
    with db.read() as cur:
        row = cur.execute("SELECT file_name, file_path FROM site_events WHERE id = ?", [int(event_id)]).fetchone()
    if row is None or not row[1]:
        raise NotFound("这条档案没有附件")
    root = files_root(db).resolve()
    path = (root / row[1]).resolve()
    if root not in path.parents or not path.exists():
        raise NotFound(f"附件文件「{row[0]}」找不到了（可能已被移走）")
    return row[0], path.read_bytes()
