package sqlite

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
)

// chatFixture is a small chat driven through the write path and the
// runner: ada owns the public room general (bob joined) and the private
// room quiet; m2 is deleted, m1 edited, bob read up to seq 4, ada is online
// on n1.
type chatFixture struct {
	db          *DB
	runner      *projections.Runner
	ada, bob    uuid.UUID
	room, quiet uuid.UUID
	m1, m2, m3  uuid.UUID
	models      []string
}

func mustChat(t *testing.T) chatFixture {
	t.Helper()
	ctx := context.Background()
	db := mustOpen(t, t.TempDir())
	s := mustStore(t, db)
	f := chatFixture{db: db, ada: uuid.New(), bob: uuid.New(), room: uuid.New(), quiet: uuid.New(),
		m1: uuid.New(), m2: uuid.New(), m3: uuid.New(),
		models: []string{"approval", "rooms", "history", "presence", "read_markers"}}
	post := func(id uuid.UUID, body string) domain.Command {
		return domain.PostMessage{By: f.ada, RoomID: f.room, MessageID: id, ClientID: uuid.New(), Body: body}
	}
	for _, cmd := range []domain.Command{
		domain.RegisterUser{UserID: f.ada, Username: "ada", PasswordHash: []byte("x")},
		domain.RegisterUser{UserID: f.bob, Username: "bob", PasswordHash: []byte("y")},
		domain.ChangeStatus{By: &f.ada, UserID: f.bob, To: domain.Approve},
		domain.CreateRoom{By: f.ada, RoomID: f.room, Name: "general", Kind: domain.RoomPublic},
		domain.CreateRoom{By: f.ada, RoomID: f.quiet, Name: "quiet", Kind: domain.RoomPrivate},
		domain.JoinRoom{By: f.bob, RoomID: f.room}, // seq 3
		post(f.m1, "the quick brown fox"),          // seq 4
		post(f.m2, "jumps over the lazy dog"),      // seq 5
		post(f.m3, "a third message"),              // seq 6
		domain.EditMessage{By: f.ada, RoomID: f.room, MessageID: f.m1, Body: "the quick red fox"},
		domain.DeleteMessage{By: f.ada, RoomID: f.room, MessageID: f.m2},
		domain.MoveReadMarker{By: f.bob, RoomID: f.room, Seq: 4},
		domain.Connect{UserID: f.ada, Username: "ada", SessionID: uuid.New(), Node: "n1", Online: true},
	} {
		if _, err := s.Execute(ctx, cmd, domain.Metadata{}); err != nil {
			t.Fatalf("%T: %v", cmd, err)
		}
	}
	r, err := projections.NewRunner(projections.RunnerConfig{
		Store: db.Projections(), Log: db, Head: db, Logger: slog.New(slog.DiscardHandler),
		Projections: []projections.Projection{projections.Approval{}, projections.Rooms{}, projections.History{},
			projections.Presence{}, projections.ReadMarkers{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx); err != nil {
		t.Fatalf("start runner: %v", err)
	}
	f.runner = r
	f.waitForHead(t)
	return f
}

// waitForHead waits until every read model has applied the whole log.
func (f chatFixture) waitForHead(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	head, err := f.db.LogHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range f.models {
		waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := f.db.WaitFor(waitCtx, name, head)
		cancel()
		if err != nil {
			t.Fatalf("%s did not reach the log head: %v", name, err)
		}
	}
}

// TestReadModelsOverTheStore reads every read model as the HTTP API does,
// with the answers adapters/postgres gives for the same chat.
func TestReadModelsOverTheStore(t *testing.T) {
	f := mustChat(t)
	checkRooms(t, f)
	checkPresence(t, f)
	checkMessages(t, f)
	checkSearch(t, f)
	checkFrames(t, f)
}

// TestRebuildNewReadModels rebuilds history, presence and read markers
// into v2 beside v1, switches, and checks the answers did not change and
// v1 (search index included) is gone.
func TestRebuildNewReadModels(t *testing.T) {
	f := mustChat(t)
	ctx := context.Background()
	for _, name := range []string{"history", "presence", "read_markers"} {
		if err := f.runner.Rebuild(ctx, name, nil); err != nil {
			t.Fatalf("rebuild %s: %v", name, err)
		}
		serving, all, err := f.db.Projections().Versions(ctx, name)
		if err != nil || serving != 2 || len(all) != 1 {
			t.Fatalf("after rebuilding %s: serving v%d of %v (%v), want v2 alone", name, serving, all, err)
		}
	}
	for _, pattern := range []string{"history%_v1%", "presence%_v1%", "read_markers_v1%"} {
		if n := count(t, f.db, `SELECT count(*) FROM sqlite_schema WHERE name LIKE ?`, pattern); n != 0 {
			t.Errorf("%d objects matching %s remain after the switch", n, pattern)
		}
	}
	if n := count(t, f.db, `SELECT count(*) FROM sqlite_schema WHERE name LIKE 'history_search_v2%'`); n == 0 {
		t.Errorf("v2 has no search index")
	}
	checkRooms(t, f)
	checkPresence(t, f)
	checkMessages(t, f)
	checkSearch(t, f)
	checkFrames(t, f)
}

func checkRooms(t *testing.T, f chatFixture) {
	t.Helper()
	ctx := context.Background()
	rooms, err := f.db.RoomsFor(ctx, f.bob)
	if err != nil || len(rooms) != 1 {
		t.Fatalf("bob's rooms = %+v, %v; want general only (quiet is private)", rooms, err)
	}
	g := rooms[0]
	// Unread: messages after seq 4, not deleted, not bob's: m3 only.
	if g.ID != f.room || g.Name != "general" || !g.Member || g.Members != 2 || g.Head < 6 || g.LastRead != 4 || g.Unread != 1 {
		t.Errorf("general as bob sees it = %+v", g)
	}
	// Every message is ada's own, so none is unread for her.
	if g, err := f.db.Room(ctx, f.room, f.ada); err != nil || g.Unread != 0 || g.LastRead != 0 {
		t.Errorf("general as ada sees it = %+v, %v; want nothing unread", g, err)
	}
	q, err := f.db.Room(ctx, f.quiet, f.ada)
	if err != nil || !q.Member || q.Members != 1 || q.Kind != domain.RoomPrivate || time.Time(q.CreatedAt).IsZero() {
		t.Errorf("quiet as ada sees it = %+v, %v", q, err)
	}
	if q, err := f.db.Room(ctx, f.quiet, f.bob); err != nil || q.Member {
		t.Errorf("quiet as bob sees it = %+v, %v; want not a member", q, err)
	}
	if _, err := f.db.Room(ctx, uuid.New(), f.ada); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Errorf("unknown room: %v, want not found", err)
	}
	if rooms, err := f.db.RoomsFor(ctx, f.ada); err != nil || len(rooms) != 2 || rooms[0].Name != "general" {
		t.Errorf("ada's rooms = %+v, %v; want general and quiet by name", rooms, err)
	}
}

func checkPresence(t *testing.T, f chatFixture) {
	t.Helper()
	ctx := context.Background()
	members, err := f.db.Members(ctx, f.room)
	if err != nil || len(members) != 2 || members[0].Username != "ada" || !members[0].Online ||
		members[1].ID != f.bob || members[1].Online {
		t.Errorf("members = %+v, %v; want ada online, bob offline", members, err)
	}
	people, err := f.db.Directory(ctx)
	if err != nil || len(people) != 2 || people[0].ID != f.ada || !people[0].Online || people[0].LastSeen == nil ||
		people[1].Online || people[1].LastSeen != nil {
		t.Errorf("directory = %+v, %v", people, err)
	}
	if nodes, err := f.db.OnlineNodes(ctx); err != nil || len(nodes) != 1 || nodes[0] != "n1" {
		t.Errorf("online nodes = %v, %v; want [n1]", nodes, err)
	}
	if head, member, err := f.db.Membership(ctx, f.room, f.bob); err != nil || !member || head < 6 {
		t.Errorf("bob in general: head %d, member %v, %v", head, member, err)
	}
	if _, member, err := f.db.Membership(ctx, f.quiet, f.bob); err != nil || member {
		t.Errorf("bob in quiet: member %v, %v; want not a member", member, err)
	}
	if _, _, err := f.db.Membership(ctx, uuid.New(), f.bob); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Errorf("unknown room: %v, want not found", err)
	}
	if rooms, err := f.db.MemberRooms(ctx, f.bob); err != nil || len(rooms) != 1 || rooms[0] != f.room {
		t.Errorf("rooms of bob = %v, %v; want [%s]", rooms, err, f.room)
	}
	if rooms, err := f.db.MemberRooms(ctx, uuid.New()); err != nil || len(rooms) != 0 {
		t.Errorf("rooms of a stranger = %v, %v; want none", rooms, err)
	}
}

func checkMessages(t *testing.T, f chatFixture) {
	t.Helper()
	ctx := context.Background()
	msgs, more, err := f.db.Messages(ctx, f.room, Page{Limit: 2})
	if err != nil || !more || len(msgs) != 2 || msgs[0].ID != f.m2 || msgs[1].ID != f.m3 || !msgs[0].Deleted || msgs[0].Body != "" {
		t.Errorf("newest 2 = %+v, more %v, %v; want the tombstone m2 then m3, more", msgs, more, err)
	}
	msgs, more, err = f.db.Messages(ctx, f.room, Page{Before: 5, Limit: 10})
	if err != nil || more || len(msgs) != 1 || msgs[0].ID != f.m1 || msgs[0].Body != "the quick red fox" ||
		msgs[0].EditedAt == nil || msgs[0].Author.Username != "ada" || msgs[0].Seq != 4 {
		t.Errorf("before 5 = %+v, more %v, %v; want the edited m1 alone", msgs, more, err)
	}
	msgs, more, err = f.db.Messages(ctx, f.room, Page{Forward: true, After: 4, Limit: 1})
	if err != nil || !more || len(msgs) != 1 || msgs[0].ID != f.m2 {
		t.Errorf("after 4 = %+v, more %v, %v; want m2, more", msgs, more, err)
	}
	msgs, more, err = f.db.Messages(ctx, f.room, Page{Forward: true, After: 4, Limit: 2})
	if err != nil || more || len(msgs) != 2 || msgs[1].ID != f.m3 {
		t.Errorf("2 after 4 = %+v, more %v, %v; want m2, m3 and no more", msgs, more, err)
	}
	if msgs, more, err := f.db.Messages(ctx, f.quiet, Page{Limit: 5}); err != nil || more || msgs == nil || len(msgs) != 0 {
		t.Errorf("an empty room = %+v, more %v, %v; want an empty page", msgs, more, err)
	}
	if _, _, err := f.db.Messages(ctx, f.room, Page{}); err == nil {
		t.Error("a page without a limit was accepted")
	}
}

func checkSearch(t *testing.T, f chatFixture) {
	t.Helper()
	ctx := context.Background()
	found, err := f.db.Search(ctx, f.bob, "fox", uuid.Nil, 10)
	if err != nil || len(found) != 1 || found[0].ID != f.m1 || found[0].Body != "the quick red fox" {
		t.Errorf("search fox = %+v, %v; want m1", found, err)
	}
	if found, err := f.db.Search(ctx, f.bob, "brown", uuid.Nil, 10); err != nil || len(found) != 0 {
		t.Errorf("search of an edited-out word = %+v, %v; want nothing", found, err)
	}
	if found, err := f.db.Search(ctx, f.bob, "lazy", f.room, 10); err != nil || len(found) != 0 {
		t.Errorf("search of a deleted message's words = %+v, %v; want nothing", found, err)
	}
	if found, err := f.db.Search(ctx, uuid.New(), "fox", uuid.Nil, 10); err != nil || len(found) != 0 {
		t.Errorf("search by a non-member = %+v, %v; want nothing", found, err)
	}
	if found, err := f.db.Search(ctx, f.ada, "fox", f.quiet, 10); err != nil || len(found) != 0 {
		t.Errorf("search in another room = %+v, %v; want nothing", found, err)
	}
	if found, err := f.db.Search(ctx, f.ada, "QUICK Fox", f.room, 10); err != nil || len(found) != 1 {
		t.Errorf("search of two words in capitals = %+v, %v; want m1", found, err)
	}
	if found, err := f.db.Search(ctx, f.ada, "quick third", uuid.Nil, 10); err != nil || len(found) != 0 {
		t.Errorf("search of words from two messages = %+v, %v; want nothing (every word must match)", found, err)
	}
}

func checkFrames(t *testing.T, f chatFixture) {
	t.Helper()
	ctx := context.Background()
	frames, err := f.db.EventsAfter(ctx, f.room, 4, 2)
	if err != nil || len(frames) != 2 || frames[0].Seq != 5 || frames[1].Seq != 6 {
		t.Fatalf("frames after 4 = %+v, %v; want seqs 5 and 6", frames, err)
	}
	var ev projections.EventFrame
	if err := json.Unmarshal(frames[0].Frame, &ev); err != nil || ev.Seq != 5 || ev.Room != f.room {
		t.Errorf("frame 5 decodes to %+v, %v", ev, err)
	}
	all, err := f.db.EventsAfter(ctx, f.room, 0, 100)
	if err != nil || len(all) < 8 {
		t.Fatalf("all frames = %d, %v; want creation to deletion (8 or more)", len(all), err)
	}
	for i, fr := range all {
		if fr.Seq != int64(i+1) {
			t.Fatalf("frame %d has seq %d: frames must be every seq, ascending", i, fr.Seq)
		}
	}
	if frames, err := f.db.EventsAfter(ctx, f.room, all[len(all)-1].Seq, 10); err != nil || frames == nil || len(frames) != 0 {
		t.Errorf("frames after the head = %+v, %v; want none", frames, err)
	}
}
