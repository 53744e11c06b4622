-- 030: 述职评议 — duty-report sessions, picks, appraisal votes, indicators, rectification chain.
-- Units are orgs (unit_id = orgs.id). References and uniqueness ((year, seq) of a session,
-- (session, unit) of a pick or a vote, (unit, indicator, period) of a value, indicator code)
-- are checked in the core (dangjian_core/reports.py), not by DuckDB constraints.

-- 设置: one row (the core refuses a second one)
CREATE SEQUENCE report_settings_seq START 1;
CREATE TABLE report_settings (
    id               INTEGER PRIMARY KEY DEFAULT nextval('report_settings_seq'),
    cooldown_days    INTEGER NOT NULL DEFAULT 120,     -- 冷却期: reported this recently → picked last
    default_capacity INTEGER NOT NULL DEFAULT 5,       -- 每场名额 for new sessions
    minutes_per_unit INTEGER NOT NULL DEFAULT 15,      -- 每个单位述职时长 for new sessions
    start_time       VARCHAR NOT NULL DEFAULT '09:00', -- 开始时间 for new sessions
    escalation_days  INTEGER NOT NULL DEFAULT 15,      -- 升级后整改期限（天）
    issuer           VARCHAR NOT NULL DEFAULT '党建工作领导小组办公室',  -- 通知落款
    version          INTEGER NOT NULL DEFAULT 1,
    updated_at       TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by       VARCHAR
);
INSERT INTO report_settings (id, updated_by) VALUES (nextval('report_settings_seq'), 'system');

-- 指标设置: the weighted formula the office tunes (see reports_rules.progress_scores)
CREATE SEQUENCE report_indicators_seq START 1;
CREATE TABLE report_indicators (
    id           INTEGER PRIMARY KEY DEFAULT nextval('report_indicators_seq'),
    code         VARCHAR NOT NULL,                  -- code name, also the import column name
    name         VARCHAR NOT NULL,                  -- 指标名称 (Chinese)
    weight       DOUBLE NOT NULL,                   -- 权重 (≥ 0; the enabled ones must sum above 0)
    direction    VARCHAR NOT NULL,                  -- higher_better / lower_better
    target       DOUBLE NOT NULL,                   -- 目标值: earns 100
    floor        DOUBLE NOT NULL,                   -- 底线值: earns 0
    display_unit VARCHAR,                           -- 「%」「分」「项」 (display only)
    max_value    DOUBLE,                            -- largest value that may be entered
    enabled      BOOLEAN NOT NULL DEFAULT true,
    position     INTEGER NOT NULL DEFAULT 0,
    note         VARCHAR,
    version      INTEGER NOT NULL DEFAULT 1,
    updated_at   TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by   VARCHAR
);
INSERT INTO report_indicators (id, code, name, weight, direction, target, floor, display_unit, max_value,
                               enabled, position, note, updated_by)
SELECT nextval('report_indicators_seq'), * FROM (VALUES
    ('dues_collection_rate', '党费收缴率', 20.0, 'higher_better', 100.0, 0.0, '%', 100.0, true, 1,
     '党费模块登记后自动计算；未登记时可导入', 'system'),
    ('site_assessment_score', '示范点考评得分', 15.0, 'higher_better', 90.0, 60.0, '分', 100.0, true, 2,
     '自动取最近一次示范点考评总分（仅示范点单位有此项）', 'system'),
    ('open_rectifications', '未销号整改事项', 15.0, 'lower_better', 0.0, 5.0, '项', NULL, true, 3,
     '自动计算：已下发、尚未销号的整改事项数', 'system'),
    ('overdue_rectifications', '逾期整改事项', 20.0, 'lower_better', 0.0, 3.0, '项', NULL, true, 4,
     '自动计算：已过整改期限仍未销号的事项数', 'system'),
    ('ten_tasks_progress', '10件实事进度', 15.0, 'higher_better', 100.0, 0.0, '%', 100.0, true, 5,
     '按月录入或导入', 'system'),
    ('three_meetings_one_lesson_rate', '三会一课完成率', 15.0, 'higher_better', 100.0, 0.0, '%', 100.0, true, 6,
     '按月录入或导入', 'system'),
    ('election_overdue_months', '换届逾期月数', 10.0, 'lower_better', 0.0, 6.0, '月', 120.0, false, 7,
     '如有换届记录可按月导入；默认未启用', 'system')
) AS t(code, name, weight, direction, target, floor, display_unit, max_value, enabled, position, note, updated_by);

-- 录入/导入的指标值: one value per unit, indicator and month ('YYYY-MM')
CREATE SEQUENCE report_indicator_values_seq START 1;
CREATE TABLE report_indicator_values (
    id         INTEGER PRIMARY KEY DEFAULT nextval('report_indicator_values_seq'),
    unit_id    INTEGER NOT NULL,
    indicator  VARCHAR NOT NULL,
    period     VARCHAR NOT NULL,
    value      DOUBLE NOT NULL,
    note       VARCHAR,
    version    INTEGER NOT NULL DEFAULT 1,
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by VARCHAR
);
CREATE INDEX report_indicator_values_unit ON report_indicator_values(unit_id);

-- 述职场次: six a year; status draft → published (picks frozen)
CREATE SEQUENCE report_sessions_seq START 1;
CREATE TABLE report_sessions (
    id               INTEGER PRIMARY KEY DEFAULT nextval('report_sessions_seq'),
    year             INTEGER NOT NULL,
    seq              INTEGER NOT NULL,              -- 1..6 within the year
    title            VARCHAR NOT NULL,              -- 「2025年第3场」 (how other tables name it)
    session_date     DATE NOT NULL,
    kind             VARCHAR NOT NULL,              -- year_start / ordinary / mid_year / year_end
    theme            VARCHAR NOT NULL,
    capacity         INTEGER NOT NULL DEFAULT 5,
    start_time       VARCHAR NOT NULL DEFAULT '09:00',
    minutes_per_unit INTEGER NOT NULL DEFAULT 15,
    venue            VARCHAR,
    status           VARCHAR NOT NULL DEFAULT 'draft',   -- draft / published
    published_at     TIMESTAMP,
    published_by     VARCHAR,
    note             VARCHAR,
    version          INTEGER NOT NULL DEFAULT 1,
    updated_at       TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by       VARCHAR
);

-- 述职名单: draft rows are changed by 生成/锁定/调换/增加; frozen once the session is published.
-- A unit swapped out keeps its row with status 'removed' (so regenerating does not pick it again).
CREATE SEQUENCE report_picks_seq START 1;
CREATE TABLE report_picks (
    id          INTEGER PRIMARY KEY DEFAULT nextval('report_picks_seq'),
    session_id  INTEGER NOT NULL,
    unit_id     INTEGER NOT NULL,
    status      VARCHAR NOT NULL DEFAULT 'picked',  -- picked / removed
    source      VARCHAR NOT NULL DEFAULT 'rule',    -- rule / swap / added
    locked      BOOLEAN NOT NULL DEFAULT false,
    rule_rank   INTEGER,                            -- rank by the rule when drafted
    progress    DOUBLE,                             -- progress score when drafted
    reason      VARCHAR,                            -- why (Chinese)
    note        VARCHAR,                            -- the office's note (required for swap / add)
    replaces_id INTEGER,                            -- swap: the pick it replaced
    version     INTEGER NOT NULL DEFAULT 1,
    updated_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by  VARCHAR
);
CREATE INDEX report_picks_session ON report_picks(session_id);

-- Every unit's progress score when a session was published (derived data, not edited, not
-- audited: rewritten on each publish; only rows of published sessions are read).
CREATE TABLE report_session_scores (
    session_id   INTEGER NOT NULL,
    unit_id      INTEGER NOT NULL,
    progress     DOUBLE NOT NULL,
    n_indicators INTEGER NOT NULL,
    lagging      VARCHAR
);
CREATE INDEX report_session_scores_session ON report_session_scores(session_id);

-- 测评票: one row per session and unit
CREATE SEQUENCE report_votes_seq START 1;
CREATE TABLE report_votes (
    id          INTEGER PRIMARY KEY DEFAULT nextval('report_votes_seq'),
    session_id  INTEGER NOT NULL,
    unit_id     INTEGER NOT NULL,
    voters      INTEGER NOT NULL,
    good        INTEGER NOT NULL,
    fairly_good INTEGER NOT NULL,
    average     INTEGER NOT NULL,
    poor        INTEGER NOT NULL,
    comments    VARCHAR,
    version     INTEGER NOT NULL DEFAULT 1,
    updated_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by  VARCHAR
);
CREATE INDEX report_votes_session ON report_votes(session_id);

-- 整改事项: level 1 问题整改意见单 → 2 通报批评单 → 3 主要领导约谈单 (only through a confirmed escalation)
CREATE SEQUENCE rectification_items_seq START 1;
CREATE TABLE rectification_items (
    id          INTEGER PRIMARY KEY DEFAULT nextval('rectification_items_seq'),
    unit_id     INTEGER NOT NULL,
    source      VARCHAR NOT NULL DEFAULT 'supervision',  -- session / supervision
    session_id  INTEGER,
    problem     VARCHAR NOT NULL,
    measure     VARCHAR,
    responsible VARCHAR NOT NULL,
    opened      DATE NOT NULL,
    deadline    DATE NOT NULL,                           -- the deadline now in force
    level       INTEGER NOT NULL DEFAULT 1,
    closed      DATE,
    close_note  VARCHAR,
    version     INTEGER NOT NULL DEFAULT 1,
    updated_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by  VARCHAR
);
CREATE INDEX rectification_items_unit ON rectification_items(unit_id);

-- 升级记录: each confirmed step up, with the deadline it replaced
CREATE SEQUENCE rectification_escalations_seq START 1;
CREATE TABLE rectification_escalations (
    id            INTEGER PRIMARY KEY DEFAULT nextval('rectification_escalations_seq'),
    item_id       INTEGER NOT NULL,
    from_level    INTEGER NOT NULL,
    to_level      INTEGER NOT NULL,
    issued        DATE NOT NULL,
    deadline      DATE NOT NULL,
    from_deadline DATE NOT NULL,
    days_overdue  INTEGER NOT NULL,
    note          VARCHAR,
    version       INTEGER NOT NULL DEFAULT 1,
    updated_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by    VARCHAR
);
CREATE INDEX rectification_escalations_item ON rectification_escalations(item_id);
