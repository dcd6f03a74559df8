-- Presence: contact lists, access levels, privacy mode and presence policies.
-- Everything here belongs to a stored user and goes with them (ON DELETE CASCADE, foreign keys
-- are on for every connection). Contacts and rule subjects need not be local users, so they are
-- plain text: removing bob leaves him on alice's list.

-- TRUE: only people on the user's contact list see their presence.
ALTER TABLE users ADD COLUMN privacy_mode BOOLEAN NOT NULL DEFAULT FALSE;

-- AUTOINCREMENT: ids follow the order contacts were first added (an update keeps its row), and
-- the list is read back in that order. UNIQUE (owner, contact) also serves per-owner reads, the
-- limit count and the cascade from users.
CREATE TABLE contacts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    owner        TEXT    NOT NULL REFERENCES users (aor) ON DELETE CASCADE,
    contact      TEXT    NOT NULL,
    display_name TEXT,
    UNIQUE (owner, contact)
);

-- One row per (contact entry, group): groups merge by insertion and read back sorted by the key.
CREATE TABLE contact_groups (
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    group_name TEXT    NOT NULL,
    PRIMARY KEY (contact_id, group_name)
);

-- subject: an AOR (user@domain) or a domain; one rule per subject.
CREATE TABLE access_rules (
    owner   TEXT NOT NULL REFERENCES users (aor) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    level   TEXT NOT NULL
            CHECK (level IN ('public', 'colleagues', 'workgroup', 'friends', 'blocked')),
    PRIMARY KEY (owner, subject)
);

-- Limits; NULL inherits (user -> server-wide -> built-in default). The server-wide policy is the
-- single row with id 1; per-user ones are keyed by the user so they go with them.
CREATE TABLE presence_server_policy (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    max_contacts      BIGINT,
    max_subscriptions BIGINT,
    max_prompted      BIGINT
);

CREATE TABLE presence_user_policies (
    aor               TEXT   NOT NULL PRIMARY KEY REFERENCES users (aor) ON DELETE CASCADE,
    max_contacts      BIGINT,
    max_subscriptions BIGINT,
    max_prompted      BIGINT
);
