package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/chatlog/chat/adapters/eventstore/storetest"
	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
)

// TestHeldRowsKeepStatementOrder: rows held back for one multi-row
// statement behave as one statement per write would, in one transaction
// and across two.
func TestHeldRowsKeepStatementOrder(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	p := db.Projections()
	mustPrepare(t, p, "history", 1)
	mustPrepare(t, p, "rooms", 1)
	room, m1, m2, m3, ada := uuid.New(), uuid.New(), uuid.New(), uuid.New(), uuid.New()
	at := time.UnixMilli(1_700_000_000_123).UTC()
	msg := func(id uuid.UUID, seq int64, body string) projections.Message {
		return projections.Message{ID: id, Room: room, Seq: seq, Author: domain.UserRef{ID: ada, Username: "ada"},
			Body: body, ClientID: id, SentAt: projections.Timestamp(at)}
	}
	apply(t, p, "history", 0, domain.Cursor{TxID: 1, Position: 1}, func(tx projections.Tx) error {
		return errors.Join(
			tx.InsertRoomEvent(ctx, room, 1, []byte(`"first"`)),
			tx.InsertRoomEvent(ctx, room, 1, []byte(`"second"`)), // the first stays
			tx.InsertMessage(ctx, msg(m1, 1, "one")),
			tx.InsertMessage(ctx, msg(m1, 1, "one again")), // the first stays
			tx.InsertMessage(ctx, msg(m2, 2, "two")),
			tx.EditMessage(ctx, room, m1, "one edited", at.Add(time.Second)), // after its insert
			tx.DeleteMessage(ctx, room, m2),
			tx.InsertMessage(ctx, msg(m3, 3, "three")), // after the edit and the delete
			tx.InsertRoomEvent(ctx, room, 2, []byte(`"two"`)),
		)
	})
	apply(t, p, "history", 0, domain.Cursor{TxID: 2, Position: 2}, func(tx projections.Tx) error {
		return errors.Join(
			tx.InsertRoomEvent(ctx, room, 2, []byte(`"replayed"`)),
			tx.InsertMessage(ctx, msg(m3, 3, "three replayed")),
		)
	})
	frames, err := db.EventsAfter(ctx, room, 0, 10)
	if err != nil || len(frames) != 2 || string(frames[0].Frame) != `"first"` || string(frames[1].Frame) != `"two"` {
		t.Errorf("frames = %+v, %v; want first and two", frames, err)
	}
	msgs, _, err := db.Messages(ctx, room, Page{Limit: 10})
	if err != nil || len(msgs) != 3 {
		t.Fatalf("messages = %+v, %v; want 3", msgs, err)
	}
	if msgs[0].Body != "one edited" || msgs[0].EditedAt == nil || !msgs[1].Deleted || msgs[1].Body != "" ||
		msgs[2].Body != "three" || msgs[2].Deleted {
		t.Errorf("messages = %+v; want m1 edited, m2 deleted, m3 as first inserted", msgs)
	}

	other := uuid.New()
	apply(t, p, "rooms", 0, domain.Cursor{TxID: 1, Position: 1}, func(tx projections.Tx) error {
		return errors.Join(
			tx.InsertRoom(ctx, room, "general", domain.RoomPublic, nil, at),
			tx.SetRoomHead(ctx, room, 5),
			tx.SetRoomHead(ctx, room, 3),
			tx.InsertRoom(ctx, other, "other", domain.RoomPublic, nil, at), // after room's heads
			tx.SetRoomHead(ctx, other, 2),
			tx.SetRoomHead(ctx, room, 4),
		)
	})
	for id, want := range map[uuid.UUID]int64{room: 5, other: 2} {
		var head int64
		if err := db.pool.QueryRow(ctx, `SELECT head FROM rooms_v1 WHERE id = $1`, id).Scan(&head); err != nil || head != want {
			t.Errorf("head of %s = %d %v, want %d", id, head, err, want)
		}
	}
}

// TestRebuiltHistoryEqualsLive: the history and rooms read models rebuilt
// from the log in large batches hold the same rows, column for column, as
// those the runner built live in small ones.
func TestRebuiltHistoryEqualsLive(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	s := storetest.NewStore(t, db)
	var last domain.Cursor
	run := func(cmd domain.Command) {
		t.Helper()
		events, err := s.Execute(ctx, cmd, domain.Metadata{ActorID: "test"})
		if err != nil {
			t.Fatalf("%T: %v", cmd, err)
		}
		if len(events) > 0 {
			last = events[len(events)-1].Cursor()
		}
	}
	ada, bob := uuid.New(), uuid.New()
	run(domain.RegisterUser{UserID: ada, Username: "ada", PasswordHash: []byte("x")})
	run(domain.RegisterUser{UserID: bob, Username: "bob", PasswordHash: []byte("y")})
	run(domain.ChangeStatus{By: &ada, UserID: bob, To: domain.Approve})
	rooms := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	for i, room := range rooms {
		run(domain.CreateRoom{By: ada, RoomID: room, Name: fmt.Sprintf("room %d", i), Kind: domain.RoomPublic})
		run(domain.JoinRoom{By: bob, RoomID: room})
	}
	var posted []uuid.UUID
	for i := range 60 {
		id, room := uuid.New(), rooms[i%len(rooms)]
		run(domain.PostMessage{By: ada, RoomID: room, MessageID: id, ClientID: uuid.New(),
			Body: fmt.Sprintf("message %d with \"quotes\", <tags> & ünïcode", i)})
		posted = append(posted, id)
		switch i % 7 {
		case 3:
			run(domain.EditMessage{By: ada, RoomID: rooms[(i-1)%len(rooms)], MessageID: posted[i-1], Body: fmt.Sprintf("edited %d", i)})
		case 5:
			run(domain.DeleteMessage{By: ada, RoomID: rooms[(i-2)%len(rooms)], MessageID: posted[i-2]})
		case 6:
			run(domain.LeaveRoom{By: bob, RoomID: room})
			run(domain.JoinRoom{By: bob, RoomID: room})
		}
	}

	r, err := projections.NewRunner(projections.RunnerConfig{
		Store: db.Projections(), Log: db, Head: db, Logger: slog.New(slog.DiscardHandler),
		Projections: []projections.Projection{projections.Rooms{}, projections.History{}},
		ReadBatch:   5, RebuildBatch: 1000,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Start catches up with what the log shows, which a transaction open
	// anywhere in the cluster holds back: wait until it shows everything.
	head := headAt(t, db, last)
	if err := r.Start(ctx); err != nil {
		t.Fatalf("start runner: %v", err)
	}
	tables := map[string][]string{"history": {"history_events", "history_messages"}, "rooms": {"rooms", "room_members"}}
	for name, bases := range tables {
		waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := db.WaitFor(waitCtx, name, head)
		cancel()
		if err != nil {
			t.Fatalf("%s did not reach the log head: %v", name, err)
		}
		live := tableRows(t, db, bases, 1)
		if err := r.Rebuild(ctx, name, nil); err != nil {
			t.Fatalf("rebuild %s: %v", name, err)
		}
		rebuilt := tableRows(t, db, bases, 2)
		if len(live) < 4 {
			t.Errorf("%s holds %d rows live, want more", name, len(live))
		}
		if i := firstDifference(live, rebuilt); i >= 0 {
			t.Errorf("%s: %d rows live, %d rebuilt; first difference at row %d:\nlive    %s\nrebuilt %s",
				name, len(live), len(rebuilt), i, at(live, i), at(rebuilt, i))
		}
	}
}

// firstDifference returns the index of the first row where a and b
// differ, -1 if none.
func firstDifference(a, b []string) int {
	for i := range max(len(a), len(b)) {
		if at(a, i) != at(b, i) || i >= len(a) || i >= len(b) {
			return i
		}
	}
	return -1
}

func at(rows []string, i int) string {
	if i < len(rows) {
		return rows[i]
	}
	return "(none)"
}

// tableRows returns every row of bases at version as text, table by
// table, in primary key order.
func tableRows(tb testing.TB, db *DB, bases []string, version int) []string {
	tb.Helper()
	var out []string
	for _, base := range bases {
		rows, err := db.pool.Query(context.Background(),
			fmt.Sprintf(`SELECT t::text FROM %s_v%d t ORDER BY 1`, base, version))
		if err != nil {
			tb.Fatalf("read %s v%d: %v", base, version, err)
		}
		for rows.Next() {
			var row string
			if err := rows.Scan(&row); err != nil {
				tb.Fatal(err)
			}
			out = append(out, base+": "+row)
		}
		if err := rows.Err(); err != nil {
			tb.Fatal(err)
		}
	}
	return out
}

// TestReadIndexesWaitForActivate: a version prepared beside a serving one
// gets its read indexes, unique ones included, when it is activated, not
// before; the first version gets them at once.
func TestReadIndexesWaitForActivate(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	p := db.Projections()
	// index name pattern -> unique
	readIndexes := map[string]bool{
		"history_events_v%d_pkey":     true,
		"history_messages_v%d_seq":    true,
		"history_messages_v%d_search": false,
	}
	check := func(version int, want bool) {
		t.Helper()
		for pattern, unique := range readIndexes {
			index := fmt.Sprintf(pattern, version)
			var found, isUnique bool
			err := db.pool.QueryRow(ctx, `SELECT count(*) > 0, coalesce(bool_or(indisunique), false)
				FROM pg_index WHERE indexrelid = to_regclass($1)`, index).Scan(&found, &isUnique)
			if err != nil {
				t.Fatal(err)
			}
			if found != want || (found && isUnique != unique) {
				t.Errorf("index %s: exists %v (want %v), unique %v (want %v)", index, found, want, isUnique, unique)
			}
		}
	}
	mustPrepare(t, p, "history", 1)
	mustPrepare(t, p, "history", 2)
	mustPrepare(t, p, "history", 2) // idempotent
	check(1, true)
	check(2, false)
	if err := p.Activate(ctx, "history", 3); !errors.Is(err, projections.ErrNoProjection) {
		t.Errorf("activating an unprepared version: %v, want ErrNoProjection", err)
	}
	if err := p.Activate(ctx, "history", 2); err != nil {
		t.Fatal(err)
	}
	check(2, true)
}

// TestReadIndexesBuiltOnceAtOnce: two activations building the same
// version's read indexes at once (two nodes) both succeed; each index is
// built by one of them.
func TestReadIndexesBuiltOnceAtOnce(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	p := db.Projections()
	mustPrepare(t, p, "history", 1)
	mustPrepare(t, p, "history", 2)
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- p.createReadIndexes(ctx, "history", 2) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE tablename LIKE 'history_%_v2'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 4 { // the messages' id key and the three read indexes
		t.Errorf("v2 has %d indexes, want 4", n)
	}
}

// TestHeldRowsSentEarly: a transaction holding more rows than sendEvery
// sends them while it goes on; the result is the same, and a write that
// failed in such a batch fails Commit and leaves nothing behind.
func TestHeldRowsSentEarly(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	p := db.Projections()
	mustPrepare(t, p, "history", 1)
	room, ada := uuid.New(), domain.UserRef{ID: uuid.New(), Username: "ada"}
	n := 2*sendEvery + 100
	ids := make([]uuid.UUID, n)
	post := func(tx projections.Tx, i int, id uuid.UUID) error {
		return errors.Join(tx.InsertRoomEvent(ctx, room, int64(i+1), []byte(`{}`)),
			tx.InsertMessage(ctx, projections.Message{ID: id, Room: room, Seq: int64(i + 1), Author: ada,
				Body: fmt.Sprint("message ", i), ClientID: id}))
	}
	apply(t, p, "history", 0, domain.Cursor{TxID: 1, Position: 1}, func(tx projections.Tx) error {
		for i := range ids {
			ids[i] = uuid.New()
			if err := post(tx, i, ids[i]); err != nil {
				return err
			}
		}
		return tx.EditMessage(ctx, room, ids[0], "edited", time.Now()) // its insert went early
	})
	msgs, _, err := db.Messages(ctx, room, Page{Forward: true, Limit: 1})
	if err != nil || len(msgs) != 1 || msgs[0].Body != "edited" {
		t.Errorf("first message = %+v, %v; want edited", msgs, err)
	}
	var count int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM history_messages_v1`).Scan(&count); err != nil || count != n {
		t.Errorf("%d messages (%v), want %d", count, err, n)
	}

	tx, err := p.Begin(ctx, "history")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := tx.Rollback(ctx); err != nil {
			t.Error(err)
		}
	}()
	var writeErr error
	for i := range n { // seq 1 again under a new id: a unique violation in the first batch sent
		if writeErr = post(tx, i+n, uuid.New()); writeErr != nil {
			break
		}
	}
	if writeErr == nil {
		writeErr = post(tx, 0, uuid.New())
	}
	if writeErr == nil {
		writeErr = tx.SetCheckpoint(ctx, domain.Cursor{TxID: 9, Position: 9})
	}
	if writeErr == nil {
		writeErr = tx.Commit(ctx)
	}
	if writeErr == nil || !strings.Contains(writeErr.Error(), "duplicate key") {
		t.Errorf("a duplicate seq sent early: %v, want a unique violation", writeErr)
	}
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM history_messages_v1`).Scan(&count); err != nil || count != n {
		t.Errorf("after the failed transaction: %d messages (%v), want %d", count, err, n)
	}
}
