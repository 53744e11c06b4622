-- 010: 示范点台账 — the demonstration-site programme.
-- A `sites` row is one round of an org in the programme: a unit that is not named may apply
-- again in a later year, which starts a new round (a new row); the old round keeps its
-- history. `status` changes only through the core (an assessment, or 立项); every editable
-- table has id / version / updated_at / updated_by; references are checked in the core.

CREATE SEQUENCE sites_seq START 1;
CREATE TABLE sites (
    id                  INTEGER PRIMARY KEY DEFAULT nextval('sites_seq'),
    org_id              INTEGER NOT NULL,
    status              VARCHAR NOT NULL,           -- applied / creating / not_named / named / consolidating / removed
    creation_year       INTEGER NOT NULL,           -- year Y of this round's creation
    applied_on          DATE,
    selected_on         DATE,                       -- 立项: became a creating unit
    named_year          INTEGER,
    last_assessed_year  INTEGER,
    status_since        DATE,
    inspection_interval INTEGER NOT NULL DEFAULT 1, -- 年检年审 every 1 or 2 years
    brand               VARCHAR,                    -- 特色品牌
    responsible_unit    VARCHAR,                    -- 责任单位 (区县委组织部、市直机关工委 …)
    supervisor          VARCHAR,                    -- 督查指导员
    liaison             VARCHAR,                    -- 联络员
    leader              VARCHAR,                    -- 联系领导 (亲自联系)
    note                VARCHAR,
    version             INTEGER NOT NULL DEFAULT 1,
    updated_at          TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by          VARCHAR
);
CREATE INDEX sites_org ON sites(org_id);

-- 考评细则: one rubric per year and category (category NULL: all categories)
CREATE SEQUENCE site_rubrics_seq START 1;
CREATE TABLE site_rubrics (
    id         INTEGER PRIMARY KEY DEFAULT nextval('site_rubrics_seq'),
    name       VARCHAR NOT NULL,
    year       INTEGER NOT NULL,
    category   VARCHAR,
    pass_mark  DECIMAL(8,2) NOT NULL DEFAULT 80,
    note       VARCHAR,
    version    INTEGER NOT NULL DEFAULT 1,
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by VARCHAR
);

CREATE SEQUENCE site_rubric_items_seq START 1;
CREATE TABLE site_rubric_items (
    id           INTEGER PRIMARY KEY DEFAULT nextval('site_rubric_items_seq'),
    rubric_id    INTEGER NOT NULL,
    seq          INTEGER NOT NULL,
    item         VARCHAR NOT NULL,                  -- 考评项目
    content      VARCHAR,                           -- 考评内容
    kind         VARCHAR NOT NULL DEFAULT 'score',  -- score / bonus / penalty / veto
    max_points   DECIMAL(8,2),                      -- 满分 (bonus/penalty: cap; veto: none)
    scoring_rule VARCHAR,                           -- 评分标准
    method       VARCHAR,                           -- 考评方式
    version      INTEGER NOT NULL DEFAULT 1,
    updated_at   TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by   VARCHAR
);
CREATE INDEX site_rubric_items_rubric ON site_rubric_items(rubric_id);

-- 考评: one per round and year; the lines are a snapshot of the rubric used
CREATE SEQUENCE site_assessments_seq START 1;
CREATE TABLE site_assessments (
    id            INTEGER PRIMARY KEY DEFAULT nextval('site_assessments_seq'),
    site_id       INTEGER NOT NULL,
    year          INTEGER NOT NULL,
    assessed_on   DATE NOT NULL,
    assessor      VARCHAR NOT NULL,
    rubric_id     INTEGER,
    stage         VARCHAR NOT NULL,                 -- first / second / inspection
    self_total    DECIMAL(8,2),
    total         DECIMAL(8,2) NOT NULL,
    vetoed        BOOLEAN NOT NULL DEFAULT false,
    result        VARCHAR NOT NULL,                 -- pass / fail (computed)
    kind          VARCHAR NOT NULL,                 -- exemplary / resting / isolated
    status_before VARCHAR NOT NULL,
    status_after  VARCHAR NOT NULL,
    note          VARCHAR,
    version       INTEGER NOT NULL DEFAULT 1,
    updated_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by    VARCHAR
);
CREATE INDEX site_assessments_site ON site_assessments(site_id);

CREATE SEQUENCE site_assessment_lines_seq START 1;
CREATE TABLE site_assessment_lines (
    id             INTEGER PRIMARY KEY DEFAULT nextval('site_assessment_lines_seq'),
    assessment_id  INTEGER NOT NULL,
    rubric_item_id INTEGER,
    seq            INTEGER NOT NULL,
    item           VARCHAR NOT NULL,
    kind           VARCHAR NOT NULL,
    max_points     DECIMAL(8,2),
    self_score     DECIMAL(8,2),
    score          DECIMAL(8,2),
    vetoed         BOOLEAN NOT NULL DEFAULT false,
    note           VARCHAR,
    version        INTEGER NOT NULL DEFAULT 1,
    updated_at     TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by     VARCHAR
);
CREATE INDEX site_assessment_lines_assessment ON site_assessment_lines(assessment_id);

-- 创建档案: dated events per org in the programme (all its rounds)
CREATE SEQUENCE site_events_seq START 1;
CREATE TABLE site_events (
    id         INTEGER PRIMARY KEY DEFAULT nextval('site_events_seq'),
    org_id     INTEGER NOT NULL,
    event_date DATE NOT NULL,
    kind       VARCHAR NOT NULL,                    -- plan_filed / guidance_visit / experience / award / photo / other
    title      VARCHAR NOT NULL,
    detail     VARCHAR,
    amount     DECIMAL(18,2),                       -- 以奖代投 (yuan)
    person     VARCHAR,                             -- who visited / wrote it up
    file_name  VARCHAR,                             -- attachment, stored under data/site_files/
    file_path  VARCHAR,
    version    INTEGER NOT NULL DEFAULT 1,
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by VARCHAR
);
CREATE INDEX site_events_org ON site_events(org_id);

-- 结对
CREATE SEQUENCE site_pairings_seq START 1;
CREATE TABLE site_pairings (
    id             INTEGER PRIMARY KEY DEFAULT nextval('site_pairings_seq'),
    site_org_id    INTEGER NOT NULL,
    partner_org_id INTEGER NOT NULL,
    started_on     DATE NOT NULL,
    ended_on       DATE,
    activities     VARCHAR,
    note           VARCHAR,
    version        INTEGER NOT NULL DEFAULT 1,
    updated_at     TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by     VARCHAR
);

-- 年度计划: creating units planned per category, and the number to be named
CREATE SEQUENCE site_plans_seq START 1;
CREATE TABLE site_plans (
    id         INTEGER PRIMARY KEY DEFAULT nextval('site_plans_seq'),
    year       INTEGER NOT NULL,
    category   VARCHAR NOT NULL,
    planned    INTEGER NOT NULL DEFAULT 0,
    version    INTEGER NOT NULL DEFAULT 1,
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by VARCHAR
);

CREATE SEQUENCE site_plan_years_seq START 1;
CREATE TABLE site_plan_years (
    id           INTEGER PRIMARY KEY DEFAULT nextval('site_plan_years_seq'),
    year         INTEGER NOT NULL,
    named_target INTEGER NOT NULL DEFAULT 25,
    note         VARCHAR,
    version      INTEGER NOT NULL DEFAULT 1,
    updated_at   TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by   VARCHAR
);
