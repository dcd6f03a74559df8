-- Group IM conferences: who may create them (policy), conference messages in the IM archive,
-- and a monitoring record per conference. Times are unix epoch milliseconds (BIGINT).

-- NULL inherits (user -> server-wide -> built-in default, which allows).
ALTER TABLE presence_server_policy ADD COLUMN create_conferences BOOLEAN;
ALTER TABLE presence_user_policies ADD COLUMN create_conferences BOOLEAN;

-- The archive learns a third mode. SQLite cannot change a CHECK constraint in place, so the
-- table is rebuilt with its rows and ids, and takes over the old table's AUTOINCREMENT
-- counter (a rename carries it along), so ids are still never reused.
CREATE TABLE im_archive_new (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms        BIGINT  NOT NULL,
    sender       TEXT    NOT NULL,
    recipient    TEXT    NOT NULL,
    call_id      TEXT    NOT NULL,
    mode         TEXT    NOT NULL CHECK (mode IN ('pager', 'session', 'conference')),
    content_type TEXT    NOT NULL,
    body         BLOB    NOT NULL
);
INSERT INTO im_archive_new (id, at_ms, sender, recipient, call_id, mode, content_type, body)
    SELECT id, at_ms, sender, recipient, call_id, mode, content_type, body FROM im_archive;
DELETE FROM sqlite_sequence WHERE name = 'im_archive_new';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'im_archive_new', seq FROM sqlite_sequence WHERE name = 'im_archive';
DROP TABLE im_archive;
ALTER TABLE im_archive_new RENAME TO im_archive;
CREATE INDEX im_archive_sender_at ON im_archive (sender, at_ms);
CREATE INDEX im_archive_recipient_at ON im_archive (recipient, at_ms);

-- One monitoring record per conference, kept after it ends. Deliberately not tied to users:
-- removing a creator or participant keeps the history. uri is the conference's address as
-- user@domain (conf-<id>@domain). ended_ms is NULL while the conference runs.
CREATE TABLE conferences (
    uri           TEXT   NOT NULL PRIMARY KEY,
    creator       TEXT   NOT NULL,
    started_ms    BIGINT NOT NULL,
    ended_ms      BIGINT,
    end_reason    TEXT,
    message_count BIGINT NOT NULL DEFAULT 0
);

-- Listings go newest first.
CREATE INDEX conferences_started ON conferences (started_ms);
-- Start-up closes the records a crash left open without reading the whole history.
CREATE INDEX conferences_open ON conferences (uri) WHERE ended_ms IS NULL;

-- Everyone who took part, once each, with their first join. The rowid keeps insertion order
-- for joins in the same millisecond.
CREATE TABLE conference_participants (
    conference TEXT   NOT NULL REFERENCES conferences (uri) ON DELETE CASCADE,
    aor        TEXT   NOT NULL,
    joined_ms  BIGINT NOT NULL,
    PRIMARY KEY (conference, aor)
);
