package sqlite

import (
	"fmt"
	"strings"
)

// readModel is the set of tables one projection version owns. Every table
// name carries the version (approval_users_v1), so version N+1 is rebuilt
// beside N and N is dropped by name on Activate.
type readModel struct {
	// tables are the base names; the version suffix is added.
	tables []string
	// schema is the DDL, with %[1]d standing for the version. Statements
	// must be idempotent (IF NOT EXISTS): Prepare runs them every start.
	schema []string
}

// readModels maps projection names to their tables. A projection without an
// entry (a test recorder, say) has only its checkpoint. To add a read model,
// add its entry here and its writer methods on projTx, in a file of its own.
var readModels = map[string]readModel{
	"approval": {
		tables: []string{"approval_users", "approval_roles"},
		schema: []string{
			`CREATE TABLE IF NOT EXISTS approval_users_v%[1]d (
				id         TEXT    PRIMARY KEY,
				username   TEXT    NOT NULL,
				status     TEXT    NOT NULL,
				created_at INTEGER NOT NULL)`,
			`CREATE INDEX IF NOT EXISTS approval_users_v%[1]d_username ON approval_users_v%[1]d (username)`,
			`CREATE INDEX IF NOT EXISTS approval_users_v%[1]d_status ON approval_users_v%[1]d (status, created_at)`,
			`CREATE TABLE IF NOT EXISTS approval_roles_v%[1]d (
				user_id TEXT NOT NULL,
				role    TEXT NOT NULL,
				PRIMARY KEY (user_id, role)) WITHOUT ROWID`,
		},
	},
	"rooms": {
		tables: []string{"rooms", "room_members"},
		schema: []string{
			// direct_a < direct_b for a direct room, NULL otherwise.
			`CREATE TABLE IF NOT EXISTS rooms_v%[1]d (
				id         TEXT    PRIMARY KEY,
				name       TEXT    NOT NULL,
				kind       TEXT    NOT NULL,
				head       INTEGER NOT NULL DEFAULT 0,
				created_at INTEGER NOT NULL,
				direct_a   TEXT,
				direct_b   TEXT)`,
			`CREATE INDEX IF NOT EXISTS rooms_v%[1]d_direct ON rooms_v%[1]d (direct_a, direct_b)
				WHERE direct_a IS NOT NULL`,
			`CREATE TABLE IF NOT EXISTS room_members_v%[1]d (
				room      TEXT    NOT NULL,
				user_id   TEXT    NOT NULL,
				username  TEXT    NOT NULL,
				joined_at INTEGER NOT NULL,
				PRIMARY KEY (room, user_id)) WITHOUT ROWID`,
			`CREATE INDEX IF NOT EXISTS room_members_v%[1]d_user ON room_members_v%[1]d (user_id, room)`,
		},
	},
	"history": {
		// history_search is last so it is dropped after the triggers that
		// feed it (they go with history_messages).
		tables: []string{"history_events", "history_messages", "history_search"},
		schema: []string{
			// Every room event's encoded frame, for replays and gap healing.
			`CREATE TABLE IF NOT EXISTS history_events_v%[1]d (
				room  TEXT    NOT NULL,
				seq   INTEGER NOT NULL,
				frame BLOB    NOT NULL,
				PRIMARY KEY (room, seq)) WITHOUT ROWID`,
			// Messages folded with their edits; a tombstone keeps its place
			// with an empty body, which leaves the search index with it.
			// rid is an explicit rowid: the search index refers to rows by
			// it, and VACUUM may renumber an implicit rowid.
			`CREATE TABLE IF NOT EXISTS history_messages_v%[1]d (
				rid         INTEGER PRIMARY KEY,
				id          TEXT    NOT NULL UNIQUE,
				room        TEXT    NOT NULL,
				seq         INTEGER NOT NULL,
				author_id   TEXT    NOT NULL,
				author_name TEXT    NOT NULL,
				body        TEXT    NOT NULL,
				client_id   TEXT    NOT NULL,
				sent_at     INTEGER NOT NULL,
				edited_at   INTEGER,
				deleted     INTEGER NOT NULL DEFAULT 0)`,
			`CREATE UNIQUE INDEX IF NOT EXISTS history_messages_v%[1]d_seq ON history_messages_v%[1]d (room, seq)`,
			// An external-content index over body. unicode61 without
			// diacritic folding tokenizes as PostgreSQL's 'simple' does.
			`CREATE VIRTUAL TABLE IF NOT EXISTS history_search_v%[1]d USING fts5(body,
				content='history_messages_v%[1]d', content_rowid='rid',
				tokenize='unicode61 remove_diacritics 0')`,
			// Triggers keep the index in step in the writer's transaction;
			// an external-content index must be told the old text to forget.
			`CREATE TRIGGER IF NOT EXISTS history_messages_v%[1]d_ai AFTER INSERT ON history_messages_v%[1]d BEGIN
				INSERT INTO history_search_v%[1]d (rowid, body) VALUES (new.rid, new.body);
			END`,
			`CREATE TRIGGER IF NOT EXISTS history_messages_v%[1]d_au AFTER UPDATE OF body ON history_messages_v%[1]d BEGIN
				INSERT INTO history_search_v%[1]d (history_search_v%[1]d, rowid, body) VALUES ('delete', old.rid, old.body);
				INSERT INTO history_search_v%[1]d (rowid, body) VALUES (new.rid, new.body);
			END`,
			`CREATE TRIGGER IF NOT EXISTS history_messages_v%[1]d_ad AFTER DELETE ON history_messages_v%[1]d BEGIN
				INSERT INTO history_search_v%[1]d (history_search_v%[1]d, rowid, body) VALUES ('delete', old.rid, old.body);
			END`,
		},
	},
	"presence": {
		tables: []string{"presence_nodes", "presence_users"},
		schema: []string{
			// One row per (user, node) the user is connected on.
			`CREATE TABLE IF NOT EXISTS presence_nodes_v%[1]d (
				user_id  TEXT    NOT NULL,
				node     TEXT    NOT NULL,
				username TEXT    NOT NULL,
				since    INTEGER NOT NULL,
				PRIMARY KEY (user_id, node)) WITHOUT ROWID`,
			`CREATE INDEX IF NOT EXISTS presence_nodes_v%[1]d_node ON presence_nodes_v%[1]d (node)`,
			`CREATE TABLE IF NOT EXISTS presence_users_v%[1]d (
				user_id   TEXT    PRIMARY KEY,
				last_seen INTEGER NOT NULL) WITHOUT ROWID`,
		},
	},
	"read_markers": {
		tables: []string{"read_markers"},
		schema: []string{
			`CREATE TABLE IF NOT EXISTS read_markers_v%[1]d (
				user_id TEXT    NOT NULL,
				room    TEXT    NOT NULL,
				seq     INTEGER NOT NULL,
				PRIMARY KEY (user_id, room)) WITHOUT ROWID`,
		},
	},
}

// ddl returns the schema of version.
func (m readModel) ddl(version int) []string {
	out := make([]string, len(m.schema))
	for i, s := range m.schema {
		out[i] = fmt.Sprintf(s, version)
	}
	return out
}

// drops returns the statements that remove version's tables (their indexes
// and triggers go with them).
func (m readModel) drops(version int) []string {
	out := make([]string, len(m.tables))
	for i, t := range m.tables {
		out[i] = fmt.Sprintf("DROP TABLE IF EXISTS %s_v%d", t, version)
	}
	return out
}

// table returns base's name at version, checking that the projection
// owns it: a fold writing another projection's tables is a bug.
func (t *projTx) table(base string) (string, error) {
	for _, owned := range readModels[t.name].tables {
		if owned == base {
			return fmt.Sprintf("%s_v%d", base, t.version), nil
		}
	}
	return "", fmt.Errorf("projection %s has no table %s", t.name, base)
}

// sqlFor formats query with the versioned names of tables (in order,
// replacing each "{}" in turn).
func (t *projTx) sqlFor(query string, tables ...string) (string, error) {
	for _, base := range tables {
		name, err := t.table(base)
		if err != nil {
			return "", err
		}
		query = strings.Replace(query, "{}", name, 1)
	}
	return query, nil
}
