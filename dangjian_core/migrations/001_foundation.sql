-- 001: the foundation — settings, users, audit history, the org registry and members.
-- Referential rules are checked in the core (tables.py), not by DuckDB foreign keys:
-- DuckDB refuses some updates on rows that other tables reference.

CREATE TABLE app_meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR
);

CREATE TABLE users (
    username      VARCHAR PRIMARY KEY,
    display_name  VARCHAR NOT NULL,
    password_hash VARCHAR NOT NULL,
    roles         VARCHAR NOT NULL,            -- comma separated: admin,editor,treasurer,viewer
    disabled      BOOLEAN NOT NULL DEFAULT false,
    token_version INTEGER NOT NULL DEFAULT 1,  -- bumped on disable / password change
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until  TIMESTAMP,
    created_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    last_login    TIMESTAMP
);

CREATE SEQUENCE audit_batch_seq START 1;
CREATE TABLE audit_batches (
    id          BIGINT PRIMARY KEY,
    username    VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
    kind        VARCHAR NOT NULL,              -- edit / import / cli / revert / assessment ...
    description VARCHAR NOT NULL,
    reverts     BIGINT,                        -- the batch this one reverted, if any
    reverted_by BIGINT
);

CREATE SEQUENCE audit_log_seq START 1;
CREATE TABLE audit_log (
    id         BIGINT PRIMARY KEY DEFAULT nextval('audit_log_seq'),
    batch_id   BIGINT NOT NULL,
    username   VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    table_name VARCHAR NOT NULL,
    row_key    VARCHAR NOT NULL,
    action     VARCHAR NOT NULL,               -- insert / update / delete
    before     JSON,
    after      JSON,
    reverted_by BIGINT
);
CREATE INDEX audit_log_batch ON audit_log(batch_id);

CREATE SEQUENCE orgs_seq START 1;
CREATE TABLE orgs (
    id            INTEGER PRIMARY KEY DEFAULT nextval('orgs_seq'),
    name          VARCHAR NOT NULL,
    level         VARCHAR NOT NULL,            -- committee / general_branch / branch
    parent_id     INTEGER,
    category      VARCHAR NOT NULL,            -- rural / community / organ / school / enterprise / intermediary / association
    street        VARCHAR NOT NULL,            -- 街道 / 系统 / 片区
    secretary     VARCHAR,
    contact       VARCHAR,
    member_count  INTEGER NOT NULL DEFAULT 0,
    tier          VARCHAR NOT NULL DEFAULT 'standard',  -- advanced / standard / lagging
    address       VARCHAR,
    lat           DOUBLE,
    lon           DOUBLE,
    version       INTEGER NOT NULL DEFAULT 1,
    updated_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by    VARCHAR
);

CREATE SEQUENCE members_seq START 1;
CREATE TABLE members (
    id            INTEGER PRIMARY KEY DEFAULT nextval('members_seq'),
    member_no     VARCHAR NOT NULL,            -- the office's own member number (member_id in files)
    name          VARCHAR NOT NULL,
    org_id        INTEGER NOT NULL,
    gender        VARCHAR,
    id_number     VARCHAR,                     -- sensitive: masked unless admin/treasurer
    phone         VARCHAR,
    status        VARCHAR NOT NULL DEFAULT 'full',   -- full / probationary
    join_date     DATE,
    dues_category VARCHAR NOT NULL DEFAULT 'employed',
    version       INTEGER NOT NULL DEFAULT 1,
    updated_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by    VARCHAR
);
CREATE INDEX members_org ON members(org_id);
