-- 040: 观摩互进 — observation events, their hosts, the arrangement, the rubric and the scores.
-- Every editable table has id / version / updated_at / updated_by; references (event, org)
-- are checked in the core (observation_store.py), not by DuckDB foreign keys.

CREATE SEQUENCE obs_events_seq START 1;
CREATE TABLE obs_events (
    id                    INTEGER PRIMARY KEY DEFAULT nextval('obs_events_seq'),
    name                  VARCHAR NOT NULL,
    mode                  VARCHAR NOT NULL,           -- internal / cross / district
    event_date            DATE,
    days                  INTEGER NOT NULL DEFAULT 1,
    slots_per_day         INTEGER NOT NULL DEFAULT 3,
    slot_times            VARCHAR,                    -- start times, comma separated (per slot of a day)
    visits_per_delegation INTEGER,                    -- NULL: as many as slots
    previous_event_id     INTEGER,                    -- the earlier round, for fresh pairs
    note                  VARCHAR,
    version               INTEGER NOT NULL DEFAULT 1,
    updated_at            TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by            VARCHAR
);

CREATE SEQUENCE obs_hosts_seq START 1;
CREATE TABLE obs_hosts (
    id         INTEGER PRIMARY KEY DEFAULT nextval('obs_hosts_seq'),
    event_id   INTEGER NOT NULL,
    org_id     INTEGER NOT NULL,
    capacity   INTEGER NOT NULL DEFAULT 1,
    version    INTEGER NOT NULL DEFAULT 1,
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by VARCHAR
);
CREATE INDEX obs_hosts_event ON obs_hosts(event_id);

CREATE SEQUENCE obs_visits_seq START 1;
CREATE TABLE obs_visits (
    id          INTEGER PRIMARY KEY DEFAULT nextval('obs_visits_seq'),
    event_id    INTEGER NOT NULL,
    day         INTEGER NOT NULL,
    slot        INTEGER NOT NULL,
    delegation  VARCHAR NOT NULL,                     -- street name (cross/district) or org id (internal)
    host_org_id INTEGER NOT NULL,
    locked      BOOLEAN NOT NULL DEFAULT false,       -- placed by hand: kept when re-solving
    version     INTEGER NOT NULL DEFAULT 1,
    updated_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by  VARCHAR
);
CREATE INDEX obs_visits_event ON obs_visits(event_id);

CREATE SEQUENCE obs_rubric_items_seq START 1;
CREATE TABLE obs_rubric_items (
    id         INTEGER PRIMARY KEY DEFAULT nextval('obs_rubric_items_seq'),
    event_id   INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    item       VARCHAR NOT NULL,
    max_points DECIMAL(8,2) NOT NULL,
    version    INTEGER NOT NULL DEFAULT 1,
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by VARCHAR
);
CREATE INDEX obs_rubric_items_event ON obs_rubric_items(event_id);

CREATE SEQUENCE obs_scores_seq START 1;
CREATE TABLE obs_scores (
    id          INTEGER PRIMARY KEY DEFAULT nextval('obs_scores_seq'),
    event_id    INTEGER NOT NULL,
    delegation  VARCHAR NOT NULL,
    host_org_id INTEGER NOT NULL,
    item_id     INTEGER NOT NULL,
    score       DECIMAL(8,2) NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1,
    updated_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by  VARCHAR
);
CREATE INDEX obs_scores_event ON obs_scores(event_id);
