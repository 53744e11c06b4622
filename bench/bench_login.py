"""Login timing: an unknown user name, a known one with a wrong password, a disabled and a
locked account must cost the same (bcrypt against a dummy hash for unknown names), so the
answer time does not tell which user names exist (issue 12 §4)."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _median_ms(fn, n: int = 5) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times) * 1000, 1)


def run() -> list[dict]:
    from dangjian_core import auth
    from dangjian_core.db import Database

    admin = auth.SYSTEM
    with tempfile.TemporaryDirectory() as d:
        db = Database(Path(d) / "login.duckdb")
        db.migrate()
        for name in ("known", "disabled", "locked"):
            auth.add_user(db, admin, name, name, "a-good-password", "viewer")
        auth.set_disabled(db, admin, "disabled", True)
        cases = {
            "unknown user name": ("nobody", "wrong-password"),
            "known user, wrong password": ("known", "wrong-password"),
            "disabled user, wrong password": ("disabled", "wrong-password"),
            "locked user, wrong password": ("locked", "wrong-password"),
        }
        for _ in range(auth.MAX_FAILED_LOGINS):
            auth.authenticate(db, "locked", "wrong-password")  # locked before measuring
        out = []
        for label, (user, pw) in cases.items():
            n = 4 if user == "known" else 5  # 4 tries keep the known account below the lock
            out.append({"name": f"login refused: {label} (median of {n})",
                        "value": _median_ms(lambda u=user, p=pw: auth.authenticate(db, u, p), n), "unit": "ms"})
        db.close()
    return out


if __name__ == "__main__":
    for row in run():
        print(row)
