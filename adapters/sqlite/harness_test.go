package sqlite

import (
	"context"
	"database/sql"
	"testing"

	"github.com/chatlog/chat/adapters/eventstore"
	"github.com/chatlog/chat/adapters/eventstore/storetest"
	"github.com/chatlog/chat/domain"
)

// TestContract runs the store contract shared with adapters/postgres.
func TestContract(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T) eventstore.Backend { return mustOpen(t, t.TempDir()) },
		Tamper: func(t *testing.T, b eventstore.Backend, stream string, version int64) {
			tamper(t, b.(*DB), stream, version)
		},
		Mutate: func(b eventstore.Backend) (error, error, error) { return mutate(b.(*DB)) },
		Cut: func(t *testing.T, b eventstore.Backend, stream string, from int64) {
			cut(t, b.(*DB), stream, from)
		},
		SingleWriter: true,
	})
}

// tamper rewrites the data of stream@version behind the triggers' back, as
// someone with the file in hand could: drop the trigger, update, recreate.
func tamper(tb testing.TB, db *DB, stream string, version int64) {
	tb.Helper()
	err := db.inWriteTx(context.Background(), func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DROP TRIGGER events_no_update`); err != nil {
			return err
		}
		res, err := tx.Exec(`UPDATE events SET data = '{"tampered":true}' WHERE stream = ? AND version = ?`, stream, version)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			tb.Fatalf("tamper %s@%d changed %d rows (%v)", stream, version, n, err)
		}
		_, err = tx.Exec(`CREATE TRIGGER events_no_update BEFORE UPDATE ON events
			BEGIN SELECT RAISE(ABORT, 'events are immutable'); END`)
		return err
	})
	if err != nil {
		tb.Fatalf("tamper %s@%d: %v", stream, version, err)
	}
}

// mutate tries to change the log through the front door: UPDATE, DELETE,
// and DELETE without WHERE (SQLite's TRUNCATE).
func mutate(db *DB) (update, del, truncate error) {
	ctx := context.Background()
	_, update = db.write.ExecContext(ctx, `UPDATE events SET data = '{}'`)
	_, del = db.write.ExecContext(ctx, `DELETE FROM events WHERE position = (SELECT min(position) FROM events)`)
	_, truncate = db.write.ExecContext(ctx, `DELETE FROM events`)
	return update, del, truncate
}

func TestTamperIsDetected(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir())
	s := mustStore(t, db)
	mustAppend(t, s, node("node-a", domain.NoStream, "a1"), node("node-a", 1, "a2"), node("node-a", 2, "a3"))
	tamper(t, db, "node-a", 2)

	events, err := db.ReadStream(ctx, "node-a", 0, 10)
	if err != nil || len(events) != 3 {
		t.Fatalf("read back %d events, %v", len(events), err)
	}
	prev := domain.ZeroHash
	var bad []int64
	for _, e := range events {
		if !e.VerifyHash(prev) {
			bad = append(bad, e.Version)
		}
		prev = e.Hash
	}
	if len(bad) != 1 || bad[0] != 2 {
		t.Errorf("versions failing verification: %v, want [2]", bad)
	}
	update, del, truncate := mutate(db)
	for name, err := range map[string]error{"update": update, "delete": del, "truncate": truncate} {
		if err == nil {
			t.Errorf("%s of the log succeeded after tampering restored the trigger", name)
		}
	}
}

// cut deletes stream's events from version on, as someone holding the file
// could, and sets its head back.
func cut(tb testing.TB, db *DB, stream string, from int64) {
	tb.Helper()
	steps := []struct {
		sql  string
		args []any
	}{
		{`DROP TRIGGER events_no_delete`, nil},
		{`DELETE FROM events WHERE stream = ? AND version >= ?`, []any{stream, from}},
		{`UPDATE streams SET version = ? - 1 WHERE stream = ?`, []any{from, stream}},
		{`CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'events are immutable'); END`, nil},
	}
	err := db.inWriteTx(context.Background(), func(tx *sql.Tx) error {
		for _, st := range steps {
			if _, err := tx.Exec(st.sql, st.args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("cut %s from %d: %v", stream, from, err)
	}
}
