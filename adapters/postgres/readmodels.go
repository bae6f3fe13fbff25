package postgres

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
	// readIndexes are the indexes a version being built does without, in
	// the form of schema, each entry built in a transaction of its own and
	// at the same time as the others (statements that must follow one
	// share its entry): those only reads use, and unique keys its fold
	// cannot break (a room's seq comes from the log's stream versions). A
	// version prepared beside a serving one (a rebuild) gets them at
	// Activate, each built once over its rows by a sort: a GIN index kept
	// up row by row cost a rebuild about a third of its inserts, and the
	// two (room, seq) keys another 15-20 % of its time.
	readIndexes []string
}

// readModels maps projection names to their tables. A projection without an
// entry (a test recorder, say) has only its checkpoint. To add a read model,
// add its entry here and its writer methods on projTx, in a file of its own.
var readModels = map[string]readModel{
	"approval": {
		tables: []string{"approval_users", "approval_roles"},
		schema: []string{
			`CREATE TABLE IF NOT EXISTS approval_users_v%[1]d (
				id         uuid        PRIMARY KEY,
				username   text        NOT NULL,
				status     text        NOT NULL,
				created_at timestamptz NOT NULL)`,
			`CREATE INDEX IF NOT EXISTS approval_users_v%[1]d_username ON approval_users_v%[1]d (username)`,
			`CREATE INDEX IF NOT EXISTS approval_users_v%[1]d_status ON approval_users_v%[1]d (status, created_at)`,
			`CREATE TABLE IF NOT EXISTS approval_roles_v%[1]d (
				user_id uuid NOT NULL,
				role    text NOT NULL,
				PRIMARY KEY (user_id, role))`,
		},
	},
	"rooms": {
		tables: []string{"rooms", "room_members"},
		schema: []string{
			// direct_a < direct_b for a direct room, NULL otherwise.
			`CREATE TABLE IF NOT EXISTS rooms_v%[1]d (
				id         uuid        PRIMARY KEY,
				name       text        NOT NULL,
				kind       text        NOT NULL,
				head       bigint      NOT NULL DEFAULT 0,
				created_at timestamptz NOT NULL,
				direct_a   uuid,
				direct_b   uuid)`,
			`CREATE INDEX IF NOT EXISTS rooms_v%[1]d_direct ON rooms_v%[1]d (direct_a, direct_b)
				WHERE direct_a IS NOT NULL`,
			`CREATE TABLE IF NOT EXISTS room_members_v%[1]d (
				room      uuid        NOT NULL,
				user_id   uuid        NOT NULL,
				username  text        NOT NULL,
				joined_at timestamptz NOT NULL,
				PRIMARY KEY (room, user_id))`,
			`CREATE INDEX IF NOT EXISTS room_members_v%[1]d_user ON room_members_v%[1]d (user_id, room)`,
		},
	},
	"history": {
		tables: []string{"history_events", "history_messages"},
		schema: []string{
			// Every room event's encoded frame, for replays and gap healing.
			// Its (room, seq) key is a read index (below). Tables made
			// before had it as their primary key, under the same name.
			`CREATE TABLE IF NOT EXISTS history_events_v%[1]d (
				room  uuid   NOT NULL,
				seq   bigint NOT NULL,
				frame bytea  NOT NULL)`,
			// Messages folded with their edits; a tombstone keeps its place
			// with an empty body, which leaves the search index with it.
			// search is the body's vector, made by the writer (search.go).
			`CREATE TABLE IF NOT EXISTS history_messages_v%[1]d (
				id          uuid        PRIMARY KEY,
				room        uuid        NOT NULL,
				seq         bigint      NOT NULL,
				author_id   uuid        NOT NULL,
				author_name text        NOT NULL,
				body        text        NOT NULL,
				client_id   uuid        NOT NULL,
				sent_at     timestamptz NOT NULL,
				edited_at   timestamptz,
				deleted     boolean     NOT NULL DEFAULT false,
				search      tsvector    NOT NULL DEFAULT '')`,
			// Tables made before the writer made the vectors had PostgreSQL
			// generate them; their vectors stay, and writes now set it.
			`DO $$ BEGIN
				IF EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass('history_messages_v%[1]d')
					AND attname = 'search' AND attgenerated <> '') THEN
					ALTER TABLE history_messages_v%[1]d ALTER COLUMN search DROP EXPRESSION;
				END IF;
			END $$`,
		},
		// The search index takes each message's words as it is inserted
		// (fastupdate off). With GIN's default pending list, the insert that
		// filled it (4 MB: every 7 s at 5,000 messages/s) merged it into the
		// index in its own transaction, and that commit took 90-130 ms,
		// which every delivery behind it waited for.
		readIndexes: []string{
			`CREATE UNIQUE INDEX IF NOT EXISTS history_events_v%[1]d_pkey ON history_events_v%[1]d (room, seq)`,
			// It carries author and deleted so a room's unread count
			// (reads.go) is an index-only scan: counting from the heap
			// read every row of the room after the reader's marker, 350 ms
			// for a reader of 100 rooms of 3,200 unread messages each
			// (37 ms from this index). Versions made before have the bare
			// key; a rebuild gives them this one.
			`CREATE UNIQUE INDEX IF NOT EXISTS history_messages_v%[1]d_seq ON history_messages_v%[1]d (room, seq)
				INCLUDE (author_id, deleted)`,
			// An index made before keeps its pending list until the DO.
			`CREATE INDEX IF NOT EXISTS history_messages_v%[1]d_search ON history_messages_v%[1]d
				USING gin (search) WITH (fastupdate = off);
			DO $$ BEGIN
				IF EXISTS (SELECT FROM pg_class WHERE oid = to_regclass('history_messages_v%[1]d_search')
					AND NOT coalesce(reloptions, '{}') @> '{fastupdate=off}') THEN
					ALTER INDEX history_messages_v%[1]d_search SET (fastupdate = off);
				END IF;
			END $$`,
		},
	},
	"presence": {
		tables: []string{"presence_nodes", "presence_users"},
		schema: []string{
			// One row per (user, node) the user is connected on.
			`CREATE TABLE IF NOT EXISTS presence_nodes_v%[1]d (
				user_id  uuid        NOT NULL,
				node     text        NOT NULL,
				username text        NOT NULL,
				since    timestamptz NOT NULL,
				PRIMARY KEY (user_id, node))`,
			`CREATE INDEX IF NOT EXISTS presence_nodes_v%[1]d_node ON presence_nodes_v%[1]d (node)`,
			`CREATE TABLE IF NOT EXISTS presence_users_v%[1]d (
				user_id   uuid        PRIMARY KEY,
				last_seen timestamptz NOT NULL)`,
		},
	},
	"read_markers": {
		tables: []string{"read_markers"},
		schema: []string{
			`CREATE TABLE IF NOT EXISTS read_markers_v%[1]d (
				user_id uuid   NOT NULL,
				room    uuid   NOT NULL,
				seq     bigint NOT NULL,
				PRIMARY KEY (user_id, room))`,
		},
	},
}

// ddl returns the schema of version, with its read indexes if withReads.
func (m readModel) ddl(version int, withReads bool) []string {
	all := m.schema
	if withReads {
		all = append(all[:len(all):len(all)], m.readIndexes...)
	}
	out := make([]string, len(all))
	for i, s := range all {
		out[i] = fmt.Sprintf(s, version)
	}
	return out
}

// readDDL returns the read indexes of version.
func (m readModel) readDDL(version int) []string {
	out := make([]string, len(m.readIndexes))
	for i, s := range m.readIndexes {
		out[i] = fmt.Sprintf(s, version)
	}
	return out
}

// drops returns the statements that remove version's tables (their indexes
// go with them).
func (m readModel) drops(version int) []string {
	out := make([]string, len(m.tables))
	for i, t := range m.tables {
		out[i] = fmt.Sprintf("DROP TABLE IF EXISTS %s_v%d", t, version)
	}
	return out
}

// versionedTable returns base's name at version, checking that projection
// name owns it: a fold writing another projection's tables is a bug.
func versionedTable(name string, version int, base string) (string, error) {
	for _, owned := range readModels[name].tables {
		if owned == base {
			return fmt.Sprintf("%s_v%d", base, version), nil
		}
	}
	return "", fmt.Errorf("projection %s has no table %s", name, base)
}

// formatTables replaces each "{}" of query in turn with the versioned names
// of tables. The names are constants of this package, never input.
func formatTables(query, name string, version int, tables ...string) (string, error) {
	for _, base := range tables {
		t, err := versionedTable(name, version, base)
		if err != nil {
			return "", err
		}
		query = strings.Replace(query, "{}", t, 1)
	}
	return query, nil
}

func (t *projTx) sqlFor(query string, tables ...string) (string, error) {
	return formatTables(query, t.name, t.version, tables...)
}
