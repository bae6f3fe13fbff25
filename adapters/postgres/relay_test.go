package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/chatlog/chat/adapters/eventstore/storetest"
	"github.com/chatlog/chat/domain"
)

func TestRelayCheckpointAndLogHead(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	if c, err := db.LoadRelayCheckpoint(ctx); err != nil || c != (domain.Cursor{}) {
		t.Fatalf("fresh checkpoint = %v %v, want zero", c, err)
	}
	if c, err := db.LogHead(ctx); err != nil || c != (domain.Cursor{}) {
		t.Fatalf("head of an empty log = %v %v, want zero", c, err)
	}
	s := storetest.NewStore(t, db)
	storetest.MustAppend(t, s, storetest.Node("node-a", domain.NoStream, "a"))
	last := storetest.MustAppend(t, s, storetest.Node("node-b", domain.NoStream, "b"))
	if c := headAt(t, db, last[0].Cursor()); c != last[0].Cursor() {
		t.Errorf("log head = %v, want %v", c, last[0].Cursor())
	}
	if err := db.SaveRelayCheckpoint(ctx, last[0].Cursor()); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveRelayCheckpoint(ctx, last[0].Cursor()); err != nil {
		t.Fatal(err)
	}
	if c, err := db.LoadRelayCheckpoint(ctx); err != nil || c != last[0].Cursor() {
		t.Errorf("checkpoint = %v %v, want %v", c, err, last[0].Cursor())
	}
}

func TestWakeups(t *testing.T) {
	db := mustOpen(t)
	ctx, cancel := context.WithCancel(context.Background())
	wakes := db.Wakeups(ctx)
	// The first signal says the listener is up (and may have missed commits).
	select {
	case <-wakes:
	case <-time.After(5 * time.Second):
		t.Fatal("no signal once listening")
	}
	s := storetest.NewStore(t, db)
	storetest.MustAppend(t, s, storetest.Node("node-a", domain.NoStream, "a"))
	select {
	case <-wakes:
	case <-time.After(5 * time.Second):
		t.Fatal("no wake-up after a commit")
	}
	// The listener's connection dies: it reconnects and signals again.
	if _, err := db.pool.Exec(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN%'`); err != nil {
		t.Fatal(err)
	}
	select {
	case <-wakes:
	case <-time.After(5 * time.Second):
		t.Fatal("no signal after the listener was reconnected")
	}
	cancel()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-wakes:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("wake-up channel not closed after ctx ended")
		}
	}
}

func TestLeadershipTakeover(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	lost, release, err := db.AcquireLeadership(ctx, "relay")
	if err != nil {
		t.Fatal(err)
	}
	// A second contender waits while the first holds the lock.
	second := make(chan error, 1)
	var lost2 <-chan struct{}
	var release2 func()
	go func() {
		var err error
		lost2, release2, err = db.AcquireLeadership(ctx, "relay")
		second <- err
	}()
	select {
	case err := <-second:
		t.Fatalf("second contender became leader while the first held it: %v", err)
	case <-time.After(1500 * time.Millisecond):
	}
	// The leader's connection dies, as when its process is killed.
	if _, err := db.pool.Exec(ctx, `SELECT pg_terminate_backend(l.pid) FROM pg_locks l
		WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("the old leader was not told it lost the lock")
	}
	release() // after loss: must not hang or panic
	select {
	case err := <-second:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no takeover within 5s of the leader's connection dying")
	}
	release2()
	select {
	case <-lost2:
		t.Error("released leadership reported as lost")
	default:
	}
	// Released: a third contender gets it at once.
	acquireCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, release3, err := db.AcquireLeadership(acquireCtx, "relay")
	if err != nil {
		t.Fatalf("acquire after release: %v", err)
	}
	release3()
}

// TestReadAllHeld: an event committed after a transaction that is still
// running stays unread, and the read says it waits; once that transaction
// ends, it is read.
func TestReadAllHeld(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	s := storetest.NewStore(t, db)
	first := storetest.MustAppend(t, s, storetest.Node("node-a", domain.NoStream, "a"))[0].Cursor()
	if events, held, err := db.ReadAllHeld(ctx, first, 10); err != nil || len(events) != 0 || held {
		t.Fatalf("after the last event: %d events, held %v, %v; want none, not held", len(events), held, err)
	}
	blocker, err := db.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = blocker.Rollback(ctx) }()
	if _, err := blocker.Exec(ctx, `SELECT pg_current_xact_id()`); err != nil { // takes an xid
		t.Fatal(err)
	}
	second := storetest.MustAppend(t, s, storetest.Node("node-b", domain.NoStream, "b"))[0]
	events, held, err := db.ReadAllHeld(ctx, first, 10)
	if err != nil || len(events) != 0 || !held {
		t.Fatalf("behind a running transaction: %d events, held %v, %v; want none, held", len(events), held, err)
	}
	if err := blocker.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	// Other tests' transactions on this server hold the horizon too, for
	// moments.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		events, held, err = db.ReadAllHeld(ctx, first, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) == 1 && events[0].ID == second.ID && !held {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the transaction ended: %d events, held %v; want the second event, not held", len(events), held)
		}
	}
}

// The relay asks whether events are held back at every read, so the
// question must cost the same at any size of the log: a few index pages,
// not a scan of the table.
func TestHeldBackCheckReadsFewPages(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	s := storetest.NewStore(t, db)
	if _, err := db.pool.Exec(ctx, `INSERT INTO events
		(event_id, stream, version, type, data, metadata, recorded_at, prev_hash, hash)
		SELECT gen_random_uuid(), 'bulk-' || g, 1, 'RoomCreated',
			json_build_object('pad', repeat('x', 200)), '{}', now(), '', ''
		FROM generate_series(1, 30000) g`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.pool.Exec(ctx, `ANALYZE events`); err != nil {
		t.Fatal(err)
	}
	last := storetest.MustAppend(t, s, storetest.Node("node-a", domain.NoStream, "a"))[0].Cursor()
	for _, after := range []domain.Cursor{{}, last} {
		if pages := pagesRead(t, db, heldBack, after.TxID, after.Position); pages > 20 {
			t.Errorf("held-back check after %s over 30,000 events read %d pages; want a few", after, pages)
		}
	}
}

// pagesRead runs query under EXPLAIN ANALYZE and returns the buffer pages
// it touched, cached or read: what a query costs whatever the planner chose.
func pagesRead(tb testing.TB, db *DB, query string, args ...any) int {
	tb.Helper()
	var plan []struct {
		Plan struct {
			SharedHit  int `json:"Shared Hit Blocks"`
			SharedRead int `json:"Shared Read Blocks"`
		}
	}
	if err := db.pool.QueryRow(context.Background(), `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) `+query, args...).Scan(&plan); err != nil {
		tb.Fatalf("explain: %v", err)
	}
	return plan[0].Plan.SharedHit + plan[0].Plan.SharedRead
}
