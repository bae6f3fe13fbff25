package sqlite

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
)

func TestPresenceAcrossNodes(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir())
	p := db.Projections()
	mustPrepare(t, p, "presence", 1)
	ada := domain.UserRef{ID: uuid.New(), Username: "ada"}
	bob := domain.UserRef{ID: uuid.New(), Username: "bob"}
	at := time.UnixMilli(1_700_000_000_000).UTC()
	step := func(fn func(w projections.PresenceWriter) (bool, error), want bool, what string) {
		t.Helper()
		var got bool
		apply(t, p, "presence", 0, domain.Cursor{}, func(tx projections.Tx) error {
			var err error
			got, err = fn(tx)
			return err
		})
		if got != want {
			t.Errorf("%s reported %v, want %v", what, got, want)
		}
	}
	step(func(w projections.PresenceWriter) (bool, error) { return w.SetOnline(ctx, ada, "n1", at) }, true, "first connect")
	step(func(w projections.PresenceWriter) (bool, error) { return w.SetOnline(ctx, ada, "n1", at) }, false, "a repeated connect")
	step(func(w projections.PresenceWriter) (bool, error) { return w.SetOnline(ctx, ada, "n2", at) }, false, "second node")
	step(func(w projections.PresenceWriter) (bool, error) { return w.SetOffline(ctx, ada.ID, "n1", at) }, false, "leaving one of two nodes")
	step(func(w projections.PresenceWriter) (bool, error) { return w.SetOffline(ctx, ada.ID, "n1", at) }, false, "a repeated disconnect")
	step(func(w projections.PresenceWriter) (bool, error) { return w.SetOnline(ctx, bob, "n2", at) }, true, "bob connects")
	step(func(w projections.PresenceWriter) (bool, error) { return w.SetOnline(ctx, bob, "n3", at) }, false, "bob on a second node")
	if nodes, err := db.OnlineNodes(ctx); err != nil || len(nodes) != 2 || nodes[0] != "n2" || nodes[1] != "n3" {
		t.Errorf("online nodes = %v, %v; want [n2 n3]", nodes, err)
	}

	later := at.Add(time.Minute)
	var gone []domain.UserRef
	apply(t, p, "presence", 0, domain.Cursor{}, func(tx projections.Tx) error {
		var err error
		gone, err = tx.(projections.PresenceWriter).DropNode(ctx, "n2", later)
		return err
	})
	if len(gone) != 1 || gone[0] != ada {
		t.Errorf("dropping n2 took %v offline, want ada alone (bob is still on n3)", gone)
	}
	if nodes, err := db.OnlineNodes(ctx); err != nil || len(nodes) != 1 || nodes[0] != "n3" {
		t.Errorf("online nodes after dropping n2 = %v, %v; want [n3]", nodes, err)
	}
	if seen := lastSeen(t, db, ada.ID); seen != later.UnixMilli() {
		t.Errorf("ada last seen %d, want %d", seen, later.UnixMilli())
	}
	step(func(w projections.PresenceWriter) (bool, error) { return w.SetOffline(ctx, bob.ID, "n3", at) }, true, "bob leaves his last node")
	step(func(w projections.PresenceWriter) (bool, error) { return w.SetOffline(ctx, bob.ID, "n3", at) }, false, "bob's repeated disconnect")
	if seen := lastSeen(t, db, bob.ID); seen != at.UnixMilli() {
		t.Errorf("bob last seen %d, want %d", seen, at.UnixMilli())
	}
	// An older disconnect, replayed late, does not move last_seen back.
	step(func(w projections.PresenceWriter) (bool, error) { return w.SetOffline(ctx, ada.ID, "n2", at) }, false, "a stale disconnect")
	if seen := lastSeen(t, db, ada.ID); seen != later.UnixMilli() {
		t.Errorf("ada last seen %d after a stale event, want %d", seen, later.UnixMilli())
	}
}

// lastSeen reads a user's last_seen (unix ms) from presence v1, 0 if none.
func lastSeen(t *testing.T, db *DB, user uuid.UUID) int64 {
	t.Helper()
	return int64(count(t, db, `SELECT last_seen FROM presence_users_v1 WHERE user_id = ?`, user.String()))
}

func TestReadMarkerOnlyMovesForward(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir())
	p := db.Projections()
	mustPrepare(t, p, "read_markers", 1)
	user, room := uuid.New(), uuid.New()
	for _, seq := range []int64{3, 7, 5} {
		apply(t, p, "read_markers", 0, domain.Cursor{}, func(tx projections.Tx) error {
			return tx.(projections.ReadMarkersWriter).SetReadMarker(ctx, user, room, seq)
		})
	}
	if n := count(t, db, `SELECT seq FROM read_markers_v1 WHERE user_id = ? AND room = ?`, user.String(), room.String()); n != 7 {
		t.Errorf("marker at %d, want 7", n)
	}
}

// historyFixture is a room with one member, ada, and the given messages of
// hers at seqs 1, 2, ...
func historyFixture(t *testing.T, bodies ...string) (db *DB, ada, room uuid.UUID, ids []uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	db = mustOpen(t, t.TempDir())
	p := db.Projections()
	mustPrepare(t, p, "rooms", 1)
	mustPrepare(t, p, "history", 1)
	ada, room = uuid.New(), uuid.New()
	at := time.UnixMilli(1_700_000_000_000).UTC()
	apply(t, p, "rooms", 0, domain.Cursor{}, func(tx projections.Tx) error {
		return errors.Join(tx.InsertRoom(ctx, room, "general", domain.RoomPublic, nil, at),
			tx.AddMember(ctx, room, domain.UserRef{ID: ada, Username: "ada"}, at))
	})
	apply(t, p, "history", 0, domain.Cursor{}, func(tx projections.Tx) error {
		w := tx.(projections.HistoryWriter)
		var errs []error
		for i, body := range bodies {
			id := uuid.New()
			ids = append(ids, id)
			errs = append(errs, w.InsertMessage(ctx, projections.Message{ID: id, Room: room, Seq: int64(i + 1),
				Author: domain.UserRef{ID: ada, Username: "ada"}, Body: body, ClientID: uuid.New(),
				SentAt: projections.Timestamp(at.Add(time.Duration(i) * time.Second))}))
		}
		return errors.Join(errs...)
	})
	return db, ada, room, ids
}

// indexed counts the rows the search index itself (not the message table)
// returns for an FTS5 query.
func indexed(t *testing.T, db *DB, match string) int {
	t.Helper()
	return count(t, db, `SELECT count(*) FROM history_search_v1 WHERE history_search_v1 MATCH ?`, match)
}

func TestHistoryWriterKeepsTheIndex(t *testing.T) {
	ctx := context.Background()
	db, ada, room, ids := historyFixture(t, "red apple", "green apple")
	p := db.Projections()
	at := time.UnixMilli(1_700_000_100_000).UTC()
	apply(t, p, "history", 0, domain.Cursor{}, func(tx projections.Tx) error {
		w := tx.(projections.HistoryWriter)
		return errors.Join(
			// A replayed insert changes nothing, in the table or the index.
			w.InsertMessage(ctx, projections.Message{ID: ids[0], Room: room, Seq: 1, Body: "replayed pear",
				Author: domain.UserRef{ID: ada, Username: "ada"}}),
			w.EditMessage(ctx, room, ids[0], "red cherry", at),
			w.DeleteMessage(ctx, room, ids[1]),
			w.EditMessage(ctx, room, ids[1], "green lime", at), // a tombstone stays empty
			w.InsertRoomEvent(ctx, room, 1, []byte(`{"seq":1}`)),
			w.InsertRoomEvent(ctx, room, 1, []byte(`{"seq":"replayed"}`)),
		)
	})
	for match, want := range map[string]int{"apple": 0, "cherry": 1, "pear": 0, "green": 0, "lime": 0, "red": 1} {
		if n := indexed(t, db, match); n != want {
			t.Errorf("index finds %q %d times, want %d", match, n, want)
		}
	}
	msgs, _, err := db.Messages(ctx, room, Page{Limit: 10})
	if err != nil || len(msgs) != 2 || msgs[0].Body != "red cherry" || msgs[0].EditedAt == nil ||
		!msgs[1].Deleted || msgs[1].Body != "" || msgs[1].EditedAt != nil {
		t.Errorf("messages = %+v, %v; want m1 edited, m2 an untouched tombstone", msgs, err)
	}
	frames, err := db.EventsAfter(ctx, room, 0, 10)
	if err != nil || len(frames) != 1 || string(frames[0].Frame) != `{"seq":1}` {
		t.Errorf("frames = %+v, %v; want the first frame only", frames, err)
	}
	// The index still answers consistently with its content table.
	if _, err := db.write.ExecContext(ctx, `INSERT INTO history_search_v1 (history_search_v1, rank) VALUES ('integrity-check', 1)`); err != nil {
		t.Errorf("search index integrity: %v", err)
	}
}

// TestSearchTreatsInputAsWords: whatever the user types is searched for as
// words, never read as FTS5 syntax, and a query without words finds
// nothing rather than failing.
func TestSearchTreatsInputAsWords(t *testing.T) {
	ctx := context.Background()
	db, ada, room, ids := historyFixture(t, `say "AND(" to me`, "fox OR hound", "body:fox here", "star* wars")
	for _, tc := range []struct {
		q    string
		want []uuid.UUID
	}{
		{`"`, nil},
		{`AND(`, []uuid.UUID{ids[0]}},
		{`"AND("`, []uuid.UUID{ids[0]}},
		{`fox OR`, []uuid.UUID{ids[1]}}, // OR is a word here, not an operator
		{`body:fox`, []uuid.UUID{ids[2]}},
		{`star*`, []uuid.UUID{ids[3]}},
		{`sta*`, nil},            // no prefix search
		{`NEAR(fox hound)`, nil}, // "near" is a word too, and no message has it
		{`)(`, nil},
		{``, nil},
		{"  \t\n", nil},
	} {
		found, err := db.Search(ctx, ada, tc.q, room, 10)
		if err != nil || found == nil || len(found) != len(tc.want) {
			t.Errorf("search %q = %d results %v, want %d", tc.q, len(found), err, len(tc.want))
			continue
		}
		for i := range tc.want {
			if found[i].ID != tc.want[i] {
				t.Errorf("search %q found %s, want %s", tc.q, found[i].ID, tc.want[i])
			}
		}
	}
	if _, err := db.Search(ctx, ada, "fox", room, -1); err == nil {
		t.Error("a negative limit was accepted")
	}
}

func TestSearchRanksAndLimits(t *testing.T) {
	ctx := context.Background()
	db, ada, _, ids := historyFixture(t, "fox", "fox fox fox fox", "fox and hound", "fox")
	found, err := db.Search(ctx, ada, "fox", uuid.Nil, 2)
	if err != nil || len(found) != 2 {
		t.Fatalf("search fox limit 2 = %+v, %v", found, err)
	}
	if found[0].ID != ids[1] {
		t.Errorf("best match = %q, want the message that says fox most", found[0].Body)
	}
	// Equal rank: the newer first.
	found, err = db.Search(ctx, ada, "fox", uuid.Nil, 10)
	if err != nil || len(found) != 4 || found[1].ID != ids[3] || found[2].ID != ids[0] {
		t.Errorf("search fox = %+v, %v; want the two plain 'fox' newest first after the best", found, err)
	}
}
