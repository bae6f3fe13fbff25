-- The embedded store: the same tables and meaning as the PostgreSQL schema.
--
-- SQLite runs one write transaction at a time and commits them in order, so
-- positions are handed out in commit order: (transaction_id, position) order
-- equals position order and equals commit order, and a tailer reading by
-- position never skips a row that commits later. transaction_id is a
-- per-transaction counter (the previous event's + 1), kept so cursors have
-- the same shape in both modes.

CREATE TABLE events (
    position        INTEGER PRIMARY KEY AUTOINCREMENT,
    transaction_id  INTEGER NOT NULL,
    event_id        TEXT    NOT NULL UNIQUE,
    stream          TEXT    NOT NULL,
    version         INTEGER NOT NULL CHECK (version > 0),
    type            TEXT    NOT NULL,
    -- data and metadata are the exact bytes that were hashed.
    data            TEXT    NOT NULL,
    metadata        TEXT    NOT NULL,
    recorded_at     INTEGER NOT NULL, -- unix milliseconds, UTC
    prev_hash       BLOB    NOT NULL,
    hash            BLOB    NOT NULL,
    idempotency_key TEXT,
    UNIQUE (stream, version)
);

CREATE UNIQUE INDEX events_idempotency ON events (stream, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- The log is append-only. SQLite has no TRUNCATE: a DELETE without WHERE
-- fires the delete trigger too (a table with triggers is never truncated).
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are immutable');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are immutable');
END;

-- Each stream's head. Missing rows mean version 0.
CREATE TABLE streams (
    stream  TEXT    PRIMARY KEY,
    version INTEGER NOT NULL,
    hash    BLOB
) WITHOUT ROWID;

-- The write side's small state (memberships, authors, user status),
-- updated in the append transaction.
CREATE TABLE inline_state (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;

-- Secrets never enter the log.
CREATE TABLE passwords (
    user_id  TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    hash     BLOB NOT NULL
);

CREATE TABLE sessions (
    session_id TEXT    PRIMARY KEY,
    user_id    TEXT    NOT NULL,
    token_hash BLOB    NOT NULL UNIQUE,
    expires_at INTEGER NOT NULL, -- unix milliseconds
    revoked_at INTEGER           -- unix milliseconds; NULL while valid
);

CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE relay_checkpoint (
    name           TEXT    PRIMARY KEY,
    transaction_id INTEGER NOT NULL,
    position       INTEGER NOT NULL
);

-- The serving version of each projection.
CREATE TABLE projections (
    name    TEXT    PRIMARY KEY,
    serving INTEGER NOT NULL
);

CREATE TABLE projection_checkpoints (
    name           TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    transaction_id INTEGER NOT NULL DEFAULT 0,
    position       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (name, version)
);
