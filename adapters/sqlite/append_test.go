package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatlog/chat/adapters/eventstore"
	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// mustOpen opens a store in dir and closes it when the test ends.
func mustOpen(tb testing.TB, dir string) *DB {
	tb.Helper()
	db, err := Open(context.Background(), Config{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return db
}

// mustStore runs an eventstore.Store over db until the test ends.
func mustStore(tb testing.TB, db *DB) *eventstore.Store {
	tb.Helper()
	s, err := eventstore.New(eventstore.Config{Backend: db})
	if err != nil {
		tb.Fatalf("new store: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

func node(stream string, expected int64, name string) domain.NewEvent {
	return domain.NewEvent{Stream: stream, ExpectedVersion: expected, Payload: &domain.NodeStarted{Node: name}}
}

func mustAppend(tb testing.TB, s *eventstore.Store, events ...domain.NewEvent) []domain.Event {
	tb.Helper()
	got, err := s.Append(context.Background(), domain.Metadata{Node: "test"}, events...)
	if err != nil {
		tb.Fatalf("append: %v", err)
	}
	return got
}

func TestAppendAndRead(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir())
	s := mustStore(t, db)

	first := mustAppend(t, s, node("node-a", domain.NoStream, "a1"), node("node-b", domain.NoStream, "b1"), node("node-a", 1, "a2"))
	second := mustAppend(t, s, node("node-a", 2, "a3"))
	if first[0].TxID != first[2].TxID || second[0].TxID <= first[0].TxID {
		t.Errorf("tx ids %d %d %d, want one per transaction, increasing", first[0].TxID, first[2].TxID, second[0].TxID)
	}

	all, err := db.ReadAll(ctx, domain.Cursor{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 {
		t.Fatalf("read %d events, want 4", len(all))
	}
	prev := map[string][]byte{}
	for i, e := range all {
		want := append(first, second...)[i]
		if e.ID != want.ID || e.Position != want.Position || e.TxID != want.TxID || string(e.Data) != string(want.Data) ||
			string(e.Metadata) != string(want.Metadata) || !e.RecordedAt.Equal(want.RecordedAt) {
			t.Errorf("event %d read back as %+v, appended as %+v", i, e, want)
		}
		p := prev[e.Stream]
		if p == nil {
			p = domain.ZeroHash
		}
		if !e.VerifyHash(p) {
			t.Errorf("%s@%d: hash chain broken", e.Stream, e.Version)
		}
		prev[e.Stream] = e.Hash
	}

	rest, err := db.ReadAll(ctx, all[1].Cursor(), 100)
	if err != nil || len(rest) != 2 || rest[0].Position != all[2].Position {
		t.Errorf("ReadAll after the second event = %d events, %v; want the last two", len(rest), err)
	}
	stream, err := db.ReadStream(ctx, "node-a", 1, 10)
	if err != nil || len(stream) != 2 || stream[0].Version != 2 || stream[1].Version != 3 {
		t.Errorf("ReadStream(node-a, after 1) = %d events, %v; want versions 2 and 3", len(stream), err)
	}

	heads, err := db.Heads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(heads) != 2 || heads["node-a"].Version != 3 || string(heads["node-a"].Hash) != string(second[0].Hash) ||
		heads["node-b"].Version != 1 {
		t.Errorf("heads = %+v", heads)
	}
	head, err := db.LogHead(ctx)
	if err != nil || head != second[0].Cursor() {
		t.Errorf("LogHead = %v, %v; want %v", head, err, second[0].Cursor())
	}
}

func TestConflictAppendsNothing(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir())
	s := mustStore(t, db)
	mustAppend(t, s, node("node-a", domain.NoStream, "a1"))

	_, err := s.Append(ctx, domain.Metadata{}, node("node-b", domain.NoStream, "b1"), node("node-a", domain.NoStream, "a2"))
	if domain.ErrorCode(err) != domain.CodeConflict {
		t.Fatalf("append with a stale version: %v, want conflict", err)
	}
	all, err := db.ReadAll(ctx, domain.Cursor{}, 100)
	if err != nil || len(all) != 1 {
		t.Errorf("log holds %d events (%v), want only the first", len(all), err)
	}
}

func TestIdempotentAppend(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir())
	s := mustStore(t, db)
	e := node("node-a", domain.AnyVersion, "a1")
	e.IdempotencyKey = "k1"
	first := mustAppend(t, s, e)
	again := mustAppend(t, s, e)
	if len(again) != 1 || again[0].ID != first[0].ID || again[0].Position != first[0].Position {
		t.Errorf("repeat returned %+v, want the first event %+v", again, first)
	}
	all, err := db.ReadAll(ctx, domain.Cursor{}, 100)
	if err != nil || len(all) != 1 {
		t.Errorf("log holds %d events (%v), want 1", len(all), err)
	}
}

func TestLogIsImmutable(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir())
	mustAppend(t, mustStore(t, db), node("node-a", domain.NoStream, "a1"))

	for _, stmt := range []string{
		`UPDATE events SET data = '{}' WHERE version = 1`,
		`DELETE FROM events WHERE version = 1`,
		`DELETE FROM events`,
	} {
		_, err := db.write.ExecContext(ctx, stmt)
		if err == nil || !strings.Contains(err.Error(), "events are immutable") {
			t.Errorf("%s: err = %v, want the immutability trigger", stmt, err)
		}
	}
	all, err := db.ReadAll(ctx, domain.Cursor{}, 10)
	if err != nil || len(all) != 1 || string(all[0].Data) != `{"node":"a1"}` {
		t.Errorf("log after the attempts: %d events %v", len(all), err)
	}
}

func TestSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(ctx, Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s, err := eventstore.New(eventstore.Config{Backend: db})
	if err != nil {
		t.Fatal(err)
	}
	appended := mustAppend(t, s, node("node-a", domain.NoStream, "a1"))
	s.Close()
	if err := db.SaveRelayCheckpoint(ctx, appended[0].Cursor()); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = mustOpen(t, dir) // migrations run again and change nothing
	all, err := db.ReadAll(ctx, domain.Cursor{}, 10)
	if err != nil || len(all) != 1 || all[0].ID != appended[0].ID || !all[0].VerifyHash(domain.ZeroHash) {
		t.Fatalf("after reopen: %d events, %v", len(all), err)
	}
	cp, err := db.LoadRelayCheckpoint(ctx)
	if err != nil || cp != appended[0].Cursor() {
		t.Errorf("relay checkpoint after reopen = %v, %v; want %v", cp, err, appended[0].Cursor())
	}
	next := mustAppend(t, mustStore(t, db), node("node-a", 1, "a2"))
	if next[0].TxID <= appended[0].TxID || next[0].Position <= appended[0].Position {
		t.Errorf("after reopen the cursor went back: %v then %v", appended[0].Cursor(), next[0].Cursor())
	}
}

func TestSecrets(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir())
	s := mustStore(t, db)
	user, session := uuid.New(), uuid.New()
	if _, err := s.Execute(ctx, domain.RegisterUser{UserID: user, Username: "ada", PasswordHash: []byte("h1")}, domain.Metadata{}); err != nil {
		t.Fatal(err)
	}
	start := domain.StartSession{UserID: user, SessionID: session, TokenHash: []byte("t1"), ExpiresAt: time.Now().Add(time.Hour)}
	if _, err := s.Execute(ctx, start, domain.Metadata{}); err != nil {
		t.Fatal(err)
	}
	var hash []byte
	var id string
	err := db.read.QueryRowContext(ctx, `SELECT user_id, hash FROM passwords WHERE username = ?`, "ada").Scan(&id, &hash)
	if err != nil || id != user.String() || string(hash) != "h1" {
		t.Errorf("password row = %s %q %v", id, hash, err)
	}
	if _, err := s.Execute(ctx, domain.EndSession{UserID: user, SessionID: session, Reason: "logout"}, domain.Metadata{}); err != nil {
		t.Fatal(err)
	}
	var revoked *int64
	err = db.read.QueryRowContext(ctx, `SELECT revoked_at FROM sessions WHERE token_hash = ?`, []byte("t1")).Scan(&revoked)
	if err != nil || revoked == nil {
		t.Errorf("session after EndSession: revoked_at %v, %v", revoked, err)
	}
	all, err := db.ReadAll(ctx, domain.Cursor{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		if strings.Contains(string(e.Data), "h1") || strings.Contains(string(e.Data), "t1") {
			t.Errorf("a secret reached the log: %s %s", e.Type, e.Data)
		}
	}
}

// TestConcurrentTailer appends from many goroutines while a tailer follows
// the log: it sees every event once, in the order a full read gives.
func TestConcurrentTailer(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir())
	s := mustStore(t, db)
	const writers, each = 16, 20
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if _, err := s.Append(ctx, domain.Metadata{}, node(fmt.Sprintf("node-%d", w), int64(i), "x")); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	var seen []int64
	var cursor domain.Cursor
	for finished := false; ; {
		select {
		case <-done:
			finished = true
		default:
		}
		batch, err := db.ReadAll(ctx, cursor, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range batch {
			seen = append(seen, e.Position)
			cursor = e.Cursor()
		}
		if finished && len(batch) == 0 {
			break
		}
	}
	all, err := db.ReadAll(ctx, domain.Cursor{}, writers*each+1)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != writers*each || len(all) != len(seen) {
		t.Fatalf("tailer saw %d events, full read %d, want %d", len(seen), len(all), writers*each)
	}
	for i, e := range all {
		if seen[i] != e.Position {
			t.Fatalf("tailer order differs at %d: %d vs %d", i, seen[i], e.Position)
		}
		if i > 0 && !all[i-1].Cursor().Less(e.Cursor()) {
			t.Fatalf("cursors not increasing at %d: %v then %v", i, all[i-1].Cursor(), e.Cursor())
		}
	}
}

func TestBeginHonoursContext(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	held, err := db.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := held.Rollback(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := db.Begin(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second Begin while the writer is held: %v, want deadline exceeded", err)
	}
}

func TestPragmas(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	ctx := context.Background()
	for _, c := range []struct{ pragma, want string }{
		{"journal_mode", "wal"}, {"synchronous", "1"}, {"foreign_keys", "1"}, {"busy_timeout", "10000"},
	} {
		for name, pool := range map[string]*sql.DB{"writer": db.write, "reader": db.read} {
			var got string
			if err := pool.QueryRowContext(ctx, "PRAGMA "+c.pragma).Scan(&got); err != nil || got != c.want {
				t.Errorf("%s: PRAGMA %s = %q %v, want %q", name, c.pragma, got, err, c.want)
			}
		}
	}
	if _, err := db.read.ExecContext(ctx, `INSERT INTO relay_checkpoint VALUES ('x', 1, 1)`); err == nil {
		t.Error("the read pool accepted a write")
	}
}

// TestRacingAppenders: two stores (two group-commit loops) append to one
// stream with the same expected version; exactly one wins.
func TestRacingAppenders(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir())
	stores := []*eventstore.Store{mustStore(t, db), mustStore(t, db)}
	for round := range 20 {
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, s := range stores {
			wg.Go(func() {
				_, errs[i] = s.Append(ctx, domain.Metadata{}, node("node-race", int64(round), fmt.Sprint(i)))
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch domain.ErrorCode(err) {
			case "":
				won++
			case domain.CodeConflict:
			default:
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d appenders won (%v), want exactly 1", round, won, errs)
		}
	}
}

// TestOneFirstAdmin: of ten simultaneous first registrations exactly one
// becomes admin.
func TestOneFirstAdmin(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir())
	stores := []*eventstore.Store{mustStore(t, db), mustStore(t, db)}
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			cmd := domain.RegisterUser{UserID: uuid.New(), Username: fmt.Sprintf("user%d", i), PasswordHash: []byte("x")}
			if _, err := stores[i%2].Execute(ctx, cmd, domain.Metadata{}); err != nil {
				t.Errorf("register user%d: %v", i, err)
			}
		})
	}
	wg.Wait()
	all, err := db.ReadAll(ctx, domain.Cursor{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	admins := 0
	for _, e := range all {
		if e.Type == "RoleGranted" {
			admins++
		}
	}
	if admins != 1 {
		t.Errorf("%d admins granted, want 1", admins)
	}
}
