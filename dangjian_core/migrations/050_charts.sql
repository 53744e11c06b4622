-- 050: 简报图表 — saved chart configurations, shared by all users.
-- `spec` is the JSON text of a dangjian_core.charts.ChartSpec (dataset, chart type, fields,
-- aggregation, filters, sort, title); it is validated by the core against the dataset's
-- current fields every time it is drawn, so a dataset that changed shape gives a Chinese
-- message in place of the chart. Stored as VARCHAR (not JSON) so that the generic revert in
-- audit.py writes back exactly the text it read. Name uniqueness is checked in the core.

CREATE SEQUENCE charts_seq START 1;
CREATE TABLE charts (
    id          INTEGER PRIMARY KEY DEFAULT nextval('charts_seq'),
    name        VARCHAR NOT NULL,              -- 图表名称, shown in lists and on the overview page
    dataset     VARCHAR NOT NULL,              -- dataset code (also inside spec; kept for listing)
    spec        VARCHAR NOT NULL,              -- ChartSpec as JSON text
    on_home     BOOLEAN NOT NULL DEFAULT true, -- listed under 「常用图表」 on the overview page
    position    INTEGER NOT NULL DEFAULT 0,    -- order on the overview page (small first)
    note        VARCHAR,
    created_by  VARCHAR,
    created_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
    version     INTEGER NOT NULL DEFAULT 1,
    updated_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by  VARCHAR
);
