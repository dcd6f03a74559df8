-- Instant messaging: per-user archiving override, offline store-and-forward queue, IM archive.
-- Times are unix epoch milliseconds (BIGINT).

-- NULL follows the server-wide setting; TRUE/FALSE override it for this user.
ALTER TABLE users ADD COLUMN archiving BOOLEAN;

-- Only overridden users are listed, so the index holds just them.
CREATE INDEX users_archiving ON users (aor) WHERE archiving IS NOT NULL;

-- Messages waiting for their recipient to register. AUTOINCREMENT: ids follow arrival order and
-- are never reused, so a late "delivered" for an old id can never delete a newer message.
-- A removed user's queue goes with them (ON DELETE CASCADE); the sender need not be local.
CREATE TABLE offline_messages (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient      TEXT    NOT NULL REFERENCES users (aor) ON DELETE CASCADE,
    sender         TEXT    NOT NULL,
    from_header    TEXT    NOT NULL,
    content_type   TEXT    NOT NULL,
    body           BLOB    NOT NULL,
    date           TEXT    NOT NULL,
    call_id        TEXT    NOT NULL,
    received_at_ms BIGINT  NOT NULL,
    expires_at_ms  BIGINT  NOT NULL
);

-- Delivery reads and the per-user limit count walk one recipient's queue in arrival order;
-- with the deadline in the index, the limit count and the start-up list of recipients read
-- only the index.
CREATE INDEX offline_messages_recipient_id ON offline_messages (recipient, id, expires_at_ms);
-- Expiry deletes by deadline.
CREATE INDEX offline_messages_expires ON offline_messages (expires_at_ms);

-- Every archived IM. Deliberately not tied to users: removing a user keeps their archive.
CREATE TABLE im_archive (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms        BIGINT  NOT NULL,
    sender       TEXT    NOT NULL,
    recipient    TEXT    NOT NULL,
    call_id      TEXT    NOT NULL,
    mode         TEXT    NOT NULL CHECK (mode IN ('pager', 'session')),
    content_type TEXT    NOT NULL,
    body         BLOB    NOT NULL
);

-- A user's archive is what they sent plus what they received, each by time.
CREATE INDEX im_archive_sender_at ON im_archive (sender, at_ms);
CREATE INDEX im_archive_recipient_at ON im_archive (recipient, at_ms);
