"""The product gives sound answers on any calendar date, not only on the day the tests were
written: the tiny demo is built as of several pinned dates (a month start, a year end, New
Year's day, 29 February) and every registered table survives export → import unchanged, and
the workflows' date-driven reads run."""

from datetime import date

import pytest

from dangjian_core import clock, demo, fileio, registry, tables
from dangjian_core.db import Database
from dangjian_core.dues import arrears
from dangjian_core.reports import indicators
from dangjian_core.sites import specs, store
from tests.conftest import ADMIN, TREASURER

DATES = ["2026-12-01", "2026-12-31", "2027-01-01", "2028-02-29", "2027-03-01"]


@pytest.fixture
def pinned():
    def pin(day: str) -> date:
        clock.pin(day)
        return clock.today()

    yield pin
    clock.pin(None)


@pytest.mark.parametrize("day", DATES)
def test_demo_round_trips_and_reads_on_any_date(tmp_path, pinned, day):
    today = pinned(day)
    db = Database(tmp_path / "d.duckdb")
    db.migrate()
    ctx = demo.build_demo(db, scale="tiny")
    assert ctx.today == today
    tables.get_spec("orgs")  # loads every workflow's specs
    for name, spec in sorted(registry.specs().items()):
        frame = tables.export_frame(db, ADMIN, spec)
        if frame.height == 0:
            continue
        data = fileio.xlsx_bytes({spec.label: frame})
        back = fileio.read_frame(data=data, name=f"{name}.xlsx", expected=[c.label for c in spec.columns])
        preview = tables.import_frame(db, ADMIN, spec, back, commit=False)
        assert preview.ok, (name, day, preview.errors[:3])
        assert (preview.inserts, preview.updates) == (0, 0), (name, day)
    # pairings exist whatever the date (the round trip of cli.md needs something to carry)
    assert tables.export_frame(db, ADMIN, specs.PAIRINGS_SPEC).height > 0
    assert store.list_sites(db).height > 0
    store.checks(db)
    assert indicators.scores(db).table.height > 0
    month = today.replace(day=1)
    calc = arrears.back_calculate(db, TREASURER, date(month.year - 1, month.month, 1), month)
    assert arrears.arrears_members_frame(calc) is not None
    db.close()


def test_pin_follows_environment(monkeypatch):
    monkeypatch.setenv(clock.ENV, "2028-02-29")
    assert clock.today() == date(2028, 2, 29)
    assert clock.now().date() == date(2028, 2, 29)
    monkeypatch.setenv(clock.ENV, "2028-02-30")
    with pytest.raises(ValueError, match="DANGJIAN_TODAY"):
        clock.today()
