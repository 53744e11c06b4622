-- 068: 公文模板 — Word templates the office uploaded in place of the defaults shipped in
-- dangjian_core/documents/templates/. One row per kind at most (the core checks it); no row
-- means the default is in use, so 「恢复默认」 deletes the row. Uploads are validated by the
-- core (every tag parses, every field is known) before they are stored; each upload and
-- restore is an audit batch (kind 'doc_template') recording the file's name, size and SHA-256.
CREATE SEQUENCE doc_templates_seq START 1;
CREATE TABLE doc_templates (
    id          INTEGER PRIMARY KEY DEFAULT nextval('doc_templates_seq'),
    kind        VARCHAR NOT NULL,              -- briefing / notice / rectification_1..3 / observation / sites
    file_name   VARCHAR NOT NULL,              -- as uploaded
    content     BLOB NOT NULL,                 -- the .docx
    size        BIGINT NOT NULL,
    sha256      VARCHAR NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1,
    updated_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by  VARCHAR
);
