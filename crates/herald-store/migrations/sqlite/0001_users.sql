-- User directory. Only digest HA1 values are kept, never passwords.
-- Types are chosen so the same schema reads naturally on PostgreSQL (TEXT, BOOLEAN, BIGINT).
CREATE TABLE users (
    aor          TEXT    NOT NULL PRIMARY KEY,
    username     TEXT    NOT NULL,
    domain       TEXT    NOT NULL,
    display_name TEXT,
    ha1_md5      TEXT    NOT NULL,
    ha1_sha256   TEXT    NOT NULL,
    enabled      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at   BIGINT  NOT NULL
);

-- Per-domain listings and counts (multi-tenant admin views) should not scan the whole table.
CREATE INDEX users_domain ON users (domain);
