-- The PostgreSQL store: the event log, its stream heads, the write side's
-- inline state, the secrets, the relay's checkpoint and the projections'
-- bookkeeping. Read-model tables are created per projection version at run
-- time (adapters/postgres/readmodels.go), not here.

-- The log. data and metadata are `json`, not `jsonb`: json keeps the exact
-- text that was hashed (key order, white space, duplicate keys), so a
-- verifier re-derives each hash from the stored row; jsonb would normalise
-- the bytes and every chain would fail verification.
CREATE TABLE events (
    position        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The appending transaction. Positions are handed out before commit, so
    -- they become visible out of order; tailers read in (transaction_id,
    -- position) order below the oldest running transaction instead.
    transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
    event_id        uuid        NOT NULL UNIQUE,
    stream          text        NOT NULL,
    version         bigint      NOT NULL CHECK (version > 0),
    type            text        NOT NULL,
    data            json        NOT NULL,
    metadata        json        NOT NULL,
    recorded_at     timestamptz NOT NULL,
    prev_hash       bytea       NOT NULL,
    hash            bytea       NOT NULL,
    idempotency_key text,
    UNIQUE (stream, version)
);

CREATE UNIQUE INDEX events_idempotency ON events (stream, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE INDEX events_commit_order ON events (transaction_id, position);

-- A message's write-side state (author, deleted) is derived from its own
-- events, found here by message id, rather than kept as an inline_state
-- row: one index entry per message costs less than a row, its key index
-- and an upsert (adapters/postgres/append_state.go).
CREATE INDEX events_message ON events ((data->>'id'))
    WHERE type IN ('MessagePosted', 'MessageDeleted');

-- The log is append-only. Triggers hold even for superusers (who bypass
-- privileges); only disabling them, which leaves a trace in the hash
-- chains, can change a row.
CREATE FUNCTION events_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are immutable: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_immutable();

CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_immutable();

-- Each stream's head, locked FOR UPDATE by the append transaction: appends
-- to one stream serialize, appends to different streams run in parallel.
CREATE TABLE streams (
    stream  text   PRIMARY KEY,
    version bigint NOT NULL,
    hash    bytea
);

-- The write side's small state (memberships, authors, user status), updated
-- in the append transaction.
CREATE TABLE inline_state (
    key   text  PRIMARY KEY,
    value bytea NOT NULL
);

-- Secrets never enter the log; they are written in the transaction of the
-- event that records the fact.
CREATE TABLE passwords (
    user_id  uuid  PRIMARY KEY,
    username text  NOT NULL UNIQUE,
    hash     bytea NOT NULL
);

CREATE TABLE sessions (
    session_id uuid        PRIMARY KEY,
    user_id    uuid        NOT NULL,
    token_hash bytea       NOT NULL UNIQUE,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX sessions_user ON sessions (user_id);

-- Where the relay leader has published up to (one row, id 1).
CREATE TABLE relay_checkpoint (
    id             int    PRIMARY KEY,
    transaction_id xid8   NOT NULL,
    position       bigint NOT NULL
);

-- The serving version of each projection, and every version's checkpoint.
CREATE TABLE projections (
    name            text PRIMARY KEY,
    serving_version int  NOT NULL
);

CREATE TABLE projection_checkpoints (
    name           text        NOT NULL,
    version        int         NOT NULL,
    transaction_id bigint      NOT NULL DEFAULT 0,
    position       bigint      NOT NULL DEFAULT 0,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, version)
);

-- Privileges. Production connects as a LOGIN role that is a member of
-- chat_app (CREATE ROLE chat_node LOGIN IN ROLE chat_app): it may read and
-- append to the log but never change or remove a row of it. Superusers
-- bypass privileges, which is why the triggers above exist too. Roles are
-- cluster-wide and databases may migrate at once, hence the guarded create.
DO $$
BEGIN
    CREATE ROLE chat_app NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

REVOKE UPDATE, DELETE, TRUNCATE ON events FROM PUBLIC;
GRANT SELECT, INSERT ON events TO chat_app;
GRANT SELECT, INSERT, UPDATE ON streams TO chat_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON inline_state, passwords, sessions,
    relay_checkpoint, projections, projection_checkpoints TO chat_app;
-- Projections create and drop their versioned tables at run time.
GRANT CREATE ON SCHEMA public TO chat_app;
