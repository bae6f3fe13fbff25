package postgres

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/chatlog/chat/adapters/eventstore/storetest"
	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
)

// TestReadModelsOverTheStore drives every read model through the write
// path and the runner, then reads them as the HTTP API does.
func TestReadModelsOverTheStore(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	s := storetest.NewStore(t, db)
	ada, bob, room, quiet := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	m1, m2, m3 := uuid.New(), uuid.New(), uuid.New()
	post := func(id uuid.UUID, body string) domain.Command {
		return domain.PostMessage{By: ada, RoomID: room, MessageID: id, ClientID: uuid.New(), Body: body}
	}
	var last domain.Cursor
	run := func(cmds ...domain.Command) {
		t.Helper()
		for _, cmd := range cmds {
			events, err := s.Execute(ctx, cmd, domain.Metadata{})
			if err != nil {
				t.Fatalf("%T: %v", cmd, err)
			}
			last = events[len(events)-1].Cursor()
		}
	}
	run(domain.RegisterUser{UserID: ada, Username: "ada", PasswordHash: []byte("x")},
		domain.RegisterUser{UserID: bob, Username: "bob", PasswordHash: []byte("y")},
		domain.ChangeStatus{By: &ada, UserID: bob, To: domain.Approve},
		domain.CreateRoom{By: ada, RoomID: room, Name: "general", Kind: domain.RoomPublic},
		domain.CreateRoom{By: ada, RoomID: quiet, Name: "quiet", Kind: domain.RoomPrivate},
		domain.JoinRoom{By: bob, RoomID: room}, // seq 3
		post(m1, "the quick brown fox"),        // seq 4
		post(m2, "jumps over the lazy dog"),    // seq 5
		post(m3, "a third message"),            // seq 6
		domain.EditMessage{By: ada, RoomID: room, MessageID: m1, Body: "the quick red fox"},
		domain.DeleteMessage{By: ada, RoomID: room, MessageID: m2},
		domain.MoveReadMarker{By: bob, RoomID: room, Seq: 4},
		domain.Connect{UserID: ada, Username: "ada", SessionID: uuid.New(), Node: "n1", Online: true},
	)

	r, err := projections.NewRunner(projections.RunnerConfig{
		Store: db.Projections(), Log: db, Head: db, Logger: slog.New(slog.DiscardHandler),
		Projections: []projections.Projection{projections.Approval{}, projections.Rooms{}, projections.History{},
			projections.Presence{}, projections.ReadMarkers{}},
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
	for _, name := range []string{"approval", "rooms", "history", "presence", "read_markers"} {
		waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := db.WaitFor(waitCtx, name, head); err != nil {
			t.Fatalf("%s did not reach the log head: %v", name, err)
		}
		cancel()
	}

	rooms, err := db.RoomsFor(ctx, bob)
	if err != nil || len(rooms) != 1 {
		t.Fatalf("bob's rooms = %+v, %v; want general only (quiet is private)", rooms, err)
	}
	g := rooms[0]
	// Unread: messages after seq 4, not deleted, not bob's: m3 only.
	if g.ID != room || !g.Member || g.Members != 2 || g.Head < 6 || g.LastRead != 4 || g.Unread != 1 {
		t.Errorf("general as bob sees it = %+v", g)
	}
	if q, err := db.Room(ctx, quiet, ada); err != nil || !q.Member || q.Members != 1 || q.Kind != domain.RoomPrivate {
		t.Errorf("quiet as ada sees it = %+v, %v", q, err)
	}
	if _, err := db.Room(ctx, uuid.New(), ada); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Errorf("unknown room: %v, want not found", err)
	}

	members, err := db.Members(ctx, room)
	if err != nil || len(members) != 2 || members[0].Username != "ada" || !members[0].Online || members[1].Online {
		t.Errorf("members = %+v, %v; want ada online, bob offline", members, err)
	}
	people, err := db.Directory(ctx)
	if err != nil || len(people) != 2 || !people[0].Online || people[0].LastSeen == nil || people[1].LastSeen != nil {
		t.Errorf("directory = %+v, %v", people, err)
	}

	msgs, more, err := db.Messages(ctx, room, Page{Limit: 2})
	if err != nil || more != true || len(msgs) != 2 || msgs[0].ID != m2 || msgs[1].ID != m3 || !msgs[0].Deleted || msgs[0].Body != "" {
		t.Errorf("newest 2 = %+v, more %v, %v; want the tombstone m2 then m3, more", msgs, more, err)
	}
	msgs, more, err = db.Messages(ctx, room, Page{Before: 5, Limit: 10})
	if err != nil || more || len(msgs) != 1 || msgs[0].ID != m1 || msgs[0].Body != "the quick red fox" || msgs[0].EditedAt == nil {
		t.Errorf("before 5 = %+v, more %v, %v; want the edited m1 alone", msgs, more, err)
	}
	msgs, more, err = db.Messages(ctx, room, Page{Forward: true, After: 4, Limit: 1})
	if err != nil || !more || len(msgs) != 1 || msgs[0].ID != m2 {
		t.Errorf("after 4 = %+v, more %v, %v; want m2, more", msgs, more, err)
	}

	found, err := db.Search(ctx, bob, "fox", uuid.Nil, 10)
	if err != nil || len(found) != 1 || found[0].ID != m1 {
		t.Errorf("search fox = %+v, %v; want m1", found, err)
	}
	if found, err := db.Search(ctx, bob, "lazy", room, 10); err != nil || len(found) != 0 {
		t.Errorf("search of a deleted message's words = %+v, %v; want nothing", found, err)
	}
	if found, err := db.Search(ctx, uuid.New(), "fox", uuid.Nil, 10); err != nil || len(found) != 0 {
		t.Errorf("search by a non-member = %+v, %v; want nothing", found, err)
	}

	frames, err := db.EventsAfter(ctx, room, 4, 2)
	if err != nil || len(frames) != 2 || frames[0].Seq != 5 || frames[1].Seq != 6 {
		t.Fatalf("frames after 4 = %+v, %v; want seqs 5 and 6", frames, err)
	}
	var ev projections.EventFrame
	if err := json.Unmarshal(frames[0].Frame, &ev); err != nil || ev.Seq != 5 || ev.Room != room {
		t.Errorf("frame 5 decodes to %+v, %v", ev, err)
	}
	if nodes, err := db.OnlineNodes(ctx); err != nil || len(nodes) != 1 || nodes[0] != "n1" {
		t.Errorf("online nodes = %v, %v; want [n1]", nodes, err)
	}
	if head, member, err := db.Membership(ctx, room, bob); err != nil || !member || head < 6 {
		t.Errorf("bob in general: head %d, member %v, %v", head, member, err)
	}
	if _, member, err := db.Membership(ctx, quiet, bob); err != nil || member {
		t.Errorf("bob in quiet: member %v, %v; want not a member", member, err)
	}
	if _, _, err := db.Membership(ctx, uuid.New(), bob); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Errorf("unknown room: %v, want not found", err)
	}
	if rooms, err := db.MemberRooms(ctx, bob); err != nil || len(rooms) != 1 || rooms[0] != room {
		t.Errorf("rooms of bob = %v, %v; want [%s]", rooms, err, room)
	}
	if rooms, err := db.MemberRooms(ctx, uuid.New()); err != nil || len(rooms) != 0 {
		t.Errorf("rooms of a stranger = %v, %v; want none", rooms, err)
	}
}

func TestPresenceAcrossNodes(t *testing.T) {
	ctx := context.Background()
	p := mustOpen(t).Projections()
	mustPrepare(t, p, "presence", 1)
	ada := domain.UserRef{ID: uuid.New(), Username: "ada"}
	at := time.Now().UTC()
	step := func(fn func(tx projections.Tx) (bool, error), want bool, what string) {
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
	w := func(tx projections.Tx) projections.PresenceWriter { return tx }
	step(func(tx projections.Tx) (bool, error) { return w(tx).SetOnline(ctx, ada, "n1", at) }, true, "first connect")
	step(func(tx projections.Tx) (bool, error) { return w(tx).SetOnline(ctx, ada, "n2", at) }, false, "second node")
	step(func(tx projections.Tx) (bool, error) { return w(tx).SetOffline(ctx, ada.ID, "n1", at) }, false, "leaving one of two nodes")
	step(func(tx projections.Tx) (bool, error) { return w(tx).SetOffline(ctx, ada.ID, "n1", at) }, false, "a repeated disconnect")
	var gone []domain.UserRef
	apply(t, p, "presence", 0, domain.Cursor{}, func(tx projections.Tx) error {
		var err error
		gone, err = w(tx).DropNode(ctx, "n2", at)
		return err
	})
	if len(gone) != 1 || gone[0] != ada {
		t.Errorf("dropping n2 took %v offline, want ada", gone)
	}
}

// A room's unread count reads the (room, seq) index alone: a reader who
// has not read a busy room must not cost a pass over its messages' rows.
func TestUnreadCountReadsTheIndexOnly(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	p := db.Projections()
	for _, name := range roomsSources {
		mustPrepare(t, p, name, 1)
	}
	room, reader, author := uuid.New(), uuid.New(), uuid.New()
	if _, err := db.pool.Exec(ctx, `INSERT INTO rooms_v1 (id, name, kind, head, created_at)
		VALUES ($1, 'busy', 'public', 5000, now())`, room); err != nil {
		t.Fatal(err)
	}
	if _, err := db.pool.Exec(ctx, `INSERT INTO history_messages_v1
		(id, room, seq, author_id, author_name, body, client_id, sent_at)
		SELECT gen_random_uuid(), $1, g, $2, 'author', repeat('word ', 40), gen_random_uuid(), now()
		FROM generate_series(1, 5000) g`, room, author); err != nil {
		t.Fatal(err)
	}
	// Autovacuum does this for a table that grows; the visibility map is
	// what lets a scan skip the heap.
	if _, err := db.pool.Exec(ctx, `VACUUM ANALYZE history_messages_v1`); err != nil {
		t.Fatal(err)
	}
	var heapPages int
	if err := db.pool.QueryRow(ctx, `SELECT relpages FROM pg_class WHERE oid = 'history_messages_v1'::regclass`).Scan(&heapPages); err != nil {
		t.Fatal(err)
	}
	q := strings.NewReplacer("{rooms}", "rooms_v1", "{room_members}", "room_members_v1",
		"{history_messages}", "history_messages_v1", "{read_markers}", "read_markers_v1").Replace(roomsQuery)
	if pages := pagesRead(t, db, q+`WHERE r.id = $2`, reader, room); pages > heapPages/2 {
		t.Errorf("the rooms query read %d pages to count 5,000 unread messages held in %d heap pages; want the index alone", pages, heapPages)
	}
	rooms, err := db.RoomsFor(ctx, reader)
	if err != nil || len(rooms) != 1 || rooms[0].Unread != 5000 {
		t.Fatalf("rooms of the reader: %+v, %v; want the busy room with 5000 unread", rooms, err)
	}
}
