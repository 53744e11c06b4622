-- 021: 党费规则按月份施行, and 党员类别历史.
-- dues_settings rows now take effect from a month (effective_from): the rule of month M is the
-- newest row among those with the latest effective_from on or before M. The 2017 notice's
-- default (row 1) applies from 2017-01; the 2008 rules are built in as row 0 from 2008-04
-- (the base deducts only the income tax, retirees' base includes the allowances paid to all
-- retirees, no 1000-yuan ceiling, a new pay level counts from its month). Existing versions
-- keep applying from 2017-01, as the office's edits of the 2017 rule.
ALTER TABLE dues_settings ADD COLUMN effective_from DATE;
UPDATE dues_settings SET effective_from = DATE '2017-01-01';
INSERT INTO dues_settings (id, settings, note, updated_by, effective_from) VALUES (0,
    '{"amount_mode": "monthly", "base_reading": "tax_only", "cap": false, "farmer_default": "0.20", "flag_months": 6, "precision": "fen", "retiree_base": "all_allowances", "rounding": "half_up", "warn_from_months": 3}',
    '2008 年规定（中组发〔2008〕3号）', 'system', DATE '2008-04-01');

-- 党员类别历史: a member's dues category from a month on (until a later row); months before
-- the first row use the category in the member register. (member, month) unique: checked in
-- the core (dues_store.set_category).
CREATE SEQUENCE member_categories_seq START 1;
CREATE TABLE member_categories (
    id         INTEGER PRIMARY KEY DEFAULT nextval('member_categories_seq'),
    member_id  INTEGER NOT NULL,
    month      DATE NOT NULL,
    category   VARCHAR NOT NULL,                  -- dues.CATEGORY_CODES
    note       VARCHAR,
    version    INTEGER NOT NULL DEFAULT 1,
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by VARCHAR
);
