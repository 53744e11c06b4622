"""Installation-level setup: create or open the database, first-run demo data, secrets."""

from __future__ import annotations

import secrets
from pathlib import Path

from . import uow
from .db import Database, default_path


def get_meta(db: Database, key: str) -> str | None:
    with db.read() as cur:
        row = cur.execute("SELECT value FROM app_meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def set_meta(db: Database, key: str, value: str) -> None:
    with uow.bookkeeping(db) as cur:
        cur.execute("INSERT OR REPLACE INTO app_meta VALUES (?, ?)", [key, value])


def ensure_secrets(db: Database) -> str:
    """The cookie signing key: random per installation, kept in the database (never in git)."""
    key = get_meta(db, "cookie_key")
    if not key:
        key = secrets.token_hex(32)
        set_meta(db, "cookie_key", key)
    return key


def prepare(path: str | None = None, *, demo_if_new: bool | None = None, scale: str = "demo") -> tuple[Database, bool]:
    """Open (creating when missing) and migrate the database; a brand-new database gets the
    demo data — except on an installed server (DANGJIAN_NO_DEMO=1, set by install.sh), where
    a missing production database must not silently become a demo one. Returns (db, created)."""
    import os

    from . import demo

    if demo_if_new is None:
        demo_if_new = os.environ.get("DANGJIAN_NO_DEMO", "") not in ("1", "true", "yes")
    path = path or default_path()
    created = not Path(path).exists()
    db = Database(path)
    from . import backups

    backups.sweep_partial(db)  # a backup killed half-way left its .part file behind
    db.migrate()
    ensure_secrets(db)
    if created and demo_if_new:
        demo.build_demo(db, scale=scale)
    return db, created


def has_users(db: Database) -> bool:
    with db.read() as cur:
        return bool(cur.execute("SELECT count(*) FROM users WHERE NOT disabled").fetchone()[0] > 0)
