package postgres

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/chatlog/chat/adapters/eventstore"
	"github.com/chatlog/chat/adapters/eventstore/storetest"
	"github.com/chatlog/chat/adapters/postgres/pgtest"
	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// mustOpen opens a store on a fresh database, closed when the test ends.
func mustOpen(tb testing.TB) *DB {
	tb.Helper()
	url := pgtest.NewDatabase(tb)
	db, err := Open(context.Background(), Config{URL: url, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(db.Close)
	return db
}

// tamper rewrites the data of stream@version as a superuser could, with
// the triggers switched off for the session (session_replication_role
// skips ordinary triggers), leaving only the hash chain to tell.
func tamper(tb testing.TB, db *DB, stream string, version int64) {
	tb.Helper()
	asSuperuser(tb, db, func(ctx context.Context, tx pgx.Tx) {
		tag, err := tx.Exec(ctx, `UPDATE events SET data = '{"tampered":true}' WHERE stream = $1 AND version = $2`, stream, version)
		if err != nil || tag.RowsAffected() != 1 {
			tb.Fatalf("tamper %s@%d: %d rows, %v", stream, version, tag.RowsAffected(), err)
		}
	})
}

// asSuperuser runs change in a transaction with the log's triggers off
// for it (session_replication_role skips ordinary triggers).
func asSuperuser(tb testing.TB, db *DB, change func(ctx context.Context, tx pgx.Tx)) {
	tb.Helper()
	ctx := context.Background()
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
		tb.Fatalf("disable triggers: %v", err)
	}
	change(ctx, tx)
	if err := tx.Commit(ctx); err != nil {
		tb.Fatal(err)
	}
}

// mutate tries to change the log through the front door.
func mutate(db *DB) (update, del, truncate error) {
	ctx := context.Background()
	_, update = db.pool.Exec(ctx, `UPDATE events SET data = '{}'`)
	_, del = db.pool.Exec(ctx, `DELETE FROM events WHERE position = (SELECT min(position) FROM events)`)
	_, truncate = db.pool.Exec(ctx, `TRUNCATE events`)
	return update, del, truncate
}

func TestStoreContract(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T) eventstore.Backend { return mustOpen(t) },
		Tamper: func(t *testing.T, b eventstore.Backend, stream string, version int64) {
			tamper(t, b.(*DB), stream, version)
		},
		Mutate: func(b eventstore.Backend) (error, error, error) { return mutate(b.(*DB)) },
		Cut: func(t *testing.T, b eventstore.Backend, stream string, from int64) {
			cut(t, b.(*DB), stream, from)
		},
	})
}

// TestNaiveReaderSkips shows why ReadAll is commit-safe: tailing by
// position alone, in the same scenario, misses events whose transaction
// committed after a later position became visible.
func TestNaiveReaderSkips(t *testing.T) {
	ctx := context.Background()
	missedAny := false
	for attempt := 0; attempt < 5 && !missedAny; attempt++ {
		db := mustOpen(t)
		done := make(chan error, 1)
		var total int
		go func() {
			var err error
			total, err = storetest.RunSlowAppenders(ctx, db)
			done <- err
		}()
		seen, last, finished := 0, int64(0), false
		for !finished {
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
				finished = true
			default:
			}
			rows, err := db.pool.Query(ctx, `SELECT position FROM events WHERE position > $1 ORDER BY position`, last)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				if err := rows.Scan(&last); err != nil {
					t.Fatal(err)
				}
				seen++
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("attempt %d: naive reader saw %d of %d events", attempt, seen, total)
		missedAny = seen < total
	}
	if !missedAny {
		t.Fatal("the naive position reader never missed an event; the scenario does not show the hazard")
	}
}

func TestMigrateTwiceAndConcurrently(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	errs := make(chan error, 3)
	for range 3 {
		go func() { errs <- db.Migrate(ctx) }()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatalf("migrate again: %v", err)
		}
	}
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	all, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if n != len(all) {
		t.Errorf("schema_migrations holds %d rows, %d migrations exist", n, len(all))
	}
	var timeout string
	if err := db.pool.QueryRow(ctx, `SHOW idle_in_transaction_session_timeout`).Scan(&timeout); err != nil {
		t.Fatal(err)
	}
	if timeout != "10s" {
		t.Errorf("idle_in_transaction_session_timeout is %s, want 10s", timeout)
	}
}

func TestSecretsStayOutOfTheLog(t *testing.T) {
	db := mustOpen(t)
	s := storetest.NewStore(t, db)
	ctx := context.Background()
	userID := uuid.New()
	events, err := s.Execute(ctx, domain.RegisterUser{UserID: userID, Username: "alice", PasswordHash: []byte("argon2-secret")}, domain.Metadata{})
	if err != nil || len(events) == 0 {
		t.Fatalf("register: %v", err)
	}
	id, hash, err := db.Credentials(ctx, "alice")
	if err != nil || id != userID || string(hash) != "argon2-secret" {
		t.Fatalf("credentials: %s %q %v", id, hash, err)
	}
	var inLog bool
	if err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM events WHERE data::text LIKE '%argon2-secret%')`).Scan(&inLog); err != nil {
		t.Fatal(err)
	}
	if inLog {
		t.Error("the password hash was written into the log")
	}
	if _, _, err := db.Credentials(ctx, "bob"); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Errorf("credentials of an unknown user: %v", err)
	}
}

// cut deletes stream's events from version on with the triggers off, and
// sets its head back, as a superuser hiding a conversation would.
func cut(tb testing.TB, db *DB, stream string, from int64) {
	tb.Helper()
	asSuperuser(tb, db, func(ctx context.Context, tx pgx.Tx) {
		if _, err := tx.Exec(ctx, `DELETE FROM events WHERE stream = $1 AND version >= $2`, stream, from); err != nil {
			tb.Fatalf("cut %s from %d: %v", stream, from, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE streams SET version = $2 - 1 WHERE stream = $1`, stream, from); err != nil {
			tb.Fatalf("rewind head of %s: %v", stream, err)
		}
	})
}

// headAt waits until the log head reaches want. The head is commit-safe:
// it stops below any transaction still open in the cluster, in any
// database, so tests sharing the server with others may see it lag.
func headAt(tb testing.TB, db *DB, want domain.Cursor) domain.Cursor {
	tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := db.LogHead(context.Background())
		if err != nil {
			tb.Fatal(err)
		}
		if !c.Less(want) {
			return c
		}
		if time.Now().After(deadline) {
			tb.Fatalf("log head stuck at %v, want %v", c, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
