-- 020: 党费 — settings (append-only versions), farmer amounts per branch, payroll column
-- mappings and imports, base history per member and month, the monthly roll (花名册) with
-- payments, voluntary payments. Money is DECIMAL(18,2). Months are DATE (the first day of
-- the month). References and uniqueness ((member, month) of a roll row or a base, (org,
-- column) of a mapping, org of a farmer amount) are checked in the core (dues_store.py).
-- The two big tables (member_bases, dues_roll: 100,000 members × months) have no PRIMARY KEY
-- index: ids come from their sequences only (the core never writes an id twice), and every
-- lookup is a set-based join, so an ART index would only slow bulk inserts and updates.

-- 党费设置: every change adds a row; the newest row is in force. Each roll row records the
-- id of the settings it was computed with, so an old roll can be reproduced.
CREATE SEQUENCE dues_settings_seq START 1;
CREATE TABLE dues_settings (
    id         INTEGER PRIMARY KEY DEFAULT nextval('dues_settings_seq'),
    settings   VARCHAR NOT NULL,                  -- DuesSettings.to_json()
    note       VARCHAR,
    version    INTEGER NOT NULL DEFAULT 1,
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by VARCHAR
);
INSERT INTO dues_settings (id, settings, note, updated_by) VALUES (nextval('dues_settings_seq'),
    '{"amount_mode": "fixed_for_year", "base_reading": "2017", "cap": true, "farmer_default": "0.20", "flag_months": 6, "precision": "fen", "retiree_base": "basic_pension", "rounding": "half_up", "warn_from_months": 3}',
    '默认设置（2017 年口径）', 'system');

-- 农民党员每月数额（由党支部确定，0.20–1.00 元）
CREATE SEQUENCE dues_farmer_amounts_seq START 1;
CREATE TABLE dues_farmer_amounts (
    id         INTEGER PRIMARY KEY DEFAULT nextval('dues_farmer_amounts_seq'),
    org_id     INTEGER NOT NULL,
    amount     DECIMAL(18,2) NOT NULL,
    note       VARCHAR,
    version    INTEGER NOT NULL DEFAULT 1,
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by VARCHAR
);

-- 工资项口径: each payroll column of a unit mapped once, reused on every import
CREATE SEQUENCE dues_payroll_mappings_seq START 1;
CREATE TABLE dues_payroll_mappings (
    id          INTEGER PRIMARY KEY DEFAULT nextval('dues_payroll_mappings_seq'),
    org_id      INTEGER NOT NULL,
    column_name VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,                  -- counted / deducted / ignored / tax / member_id / name / retiree_allowance
    version     INTEGER NOT NULL DEFAULT 1,
    updated_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by  VARCHAR
);

-- 工资表导入记录
CREATE SEQUENCE dues_payroll_imports_seq START 1;
CREATE TABLE dues_payroll_imports (
    id          INTEGER PRIMARY KEY DEFAULT nextval('dues_payroll_imports_seq'),
    org_id      INTEGER,
    month       DATE NOT NULL,
    file_name   VARCHAR NOT NULL,
    row_count   INTEGER NOT NULL,
    settings_id INTEGER NOT NULL,                  -- base reading in force when the base was computed
    redetermine BOOLEAN NOT NULL DEFAULT false,
    kind        VARCHAR NOT NULL DEFAULT 'payroll', -- payroll / bases
    version     INTEGER NOT NULL DEFAULT 1,
    updated_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by  VARCHAR
);

-- 计算基数历史: the base of a member from a month on (until a later row)
CREATE SEQUENCE member_bases_seq START 1;
CREATE TABLE member_bases (
    id           BIGINT NOT NULL DEFAULT nextval('member_bases_seq'),  -- no index: bulk loads stay fast
    member_id    INTEGER NOT NULL,
    month        DATE NOT NULL,                    -- pay month the base comes from
    base         DECIMAL(18,2),                    -- 计算基数 (元)
    fixed_amount DECIMAL(18,2),                    -- 经批准少交的数额 (reduced), optional
    counted      DECIMAL(18,2),                    -- 计入项目合计 (payroll imports)
    deducted     DECIMAL(18,2),                    -- 个人缴纳社保/公积金/年金
    tax          DECIMAL(18,2),                    -- 个人所得税
    redetermine  BOOLEAN NOT NULL DEFAULT false,   -- 重新核定: applies from its month even when amounts are fixed for the year
    source       VARCHAR NOT NULL,                 -- payroll / import / manual / demo
    import_id    INTEGER,
    note         VARCHAR,
    version      INTEGER NOT NULL DEFAULT 1,
    updated_at   TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by   VARCHAR
);

-- 党费收缴花名册: one row per member and month
CREATE SEQUENCE dues_roll_seq START 1;
CREATE TABLE dues_roll (
    id            BIGINT NOT NULL DEFAULT nextval('dues_roll_seq'),  -- no index: millions of rows load fast
    month         DATE NOT NULL,
    member_id     INTEGER NOT NULL,
    org_id        INTEGER NOT NULL,                -- the member's org when the row was made
    category      VARCHAR NOT NULL,                -- dues category code used
    base          DECIMAL(18,2),                   -- base used (null for fixed amounts)
    fixed_amount  DECIMAL(18,2),                   -- fixed amount used (farmer / reduced)
    rate_permille INTEGER,                         -- 5 / 10 / 15 / 20 ‰ (null for fixed amounts)
    rule          VARCHAR NOT NULL,                -- dues.RULE_CODES (+ _capped)
    due           DECIMAL(18,2) NOT NULL,          -- 应缴
    settings_id   INTEGER NOT NULL,                -- dues_settings row the amount was computed with
    paid          DECIMAL(18,2) NOT NULL DEFAULT 0, -- 实缴
    paid_on       DATE,                            -- 缴纳日期 (after the month: 补交)
    method        VARCHAR,                         -- cash / transfer / bank / online
    quarterly     BOOLEAN NOT NULL DEFAULT false,  -- paid with other months in one go (支部同意)
    proxy_name    VARCHAR,                         -- 代缴人 (支部同意)
    consent       BOOLEAN NOT NULL DEFAULT false,  -- 党支部同意按季度缴纳或委托代缴
    note          VARCHAR,
    version       INTEGER NOT NULL DEFAULT 1,
    updated_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by    VARCHAR
);

-- 自愿多交党费: recorded apart from the monthly amount; ≥ 1000.00 at once is forwarded in full
CREATE SEQUENCE dues_voluntary_seq START 1;
CREATE TABLE dues_voluntary (
    id         INTEGER PRIMARY KEY DEFAULT nextval('dues_voluntary_seq'),
    member_id  INTEGER NOT NULL,
    org_id     INTEGER NOT NULL,
    month      DATE NOT NULL,
    amount     DECIMAL(18,2) NOT NULL,
    paid_on    DATE NOT NULL,
    method     VARCHAR NOT NULL,
    forward    BOOLEAN NOT NULL DEFAULT false,     -- 一次性 ≥ 1000 元：全额上缴中央
    note       VARCHAR,
    version    INTEGER NOT NULL DEFAULT 1,
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by VARCHAR
);
