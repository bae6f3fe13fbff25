package ws

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/chatlog/chat/projections"
	"github.com/google/uuid"
)

// fakeChat stands in for the event store, the read models and the bus:
// commands append to per-room logs and their projected updates reach the
// gateway from one goroutine, in order, as the bus delivers them.
type fakeChat struct {
	mu       sync.Mutex
	gw       *Gateway
	users    map[uuid.UUID]domain.UserRef
	tokens   map[string]Session
	rooms    map[uuid.UUID]*fakeRoom
	msgs     map[uuid.UUID]fakeMsg
	idem     map[string]domain.Event
	markers  map[[2]uuid.UUID]int64
	connects []domain.Connect
	dropSeq  map[int64]bool // room seqs never delivered live
	updates  chan []projections.Update
	done     chan struct{}
}

type fakeRoom struct {
	members map[uuid.UUID]bool
	log     []RoomFrame
}

type fakeMsg struct {
	room, author uuid.UUID
}

func newFakeChat() *fakeChat {
	return &fakeChat{users: map[uuid.UUID]domain.UserRef{}, tokens: map[string]Session{},
		rooms: map[uuid.UUID]*fakeRoom{}, msgs: map[uuid.UUID]fakeMsg{}, idem: map[string]domain.Event{},
		markers: map[[2]uuid.UUID]int64{}, dropSeq: map[int64]bool{},
		updates: make(chan []projections.Update, 100000), done: make(chan struct{})}
}

// run delivers updates to the gateway until stop.
func (f *fakeChat) run(gw *Gateway) {
	f.gw = gw
	go func() {
		defer close(f.done)
		for u := range f.updates {
			gw.Deliver(u)
		}
	}()
}

func (f *fakeChat) stop() {
	close(f.updates)
	<-f.done
}

func (f *fakeChat) addUser(name string) (Session, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := uuid.Must(uuid.NewV7())
	f.users[id] = domain.UserRef{ID: id, Username: name}
	sess := Session{ID: uuid.Must(uuid.NewV7()), User: projections.User{ID: id, Username: name,
		Status: domain.StatusApproved, Roles: []string{}, CreatedAt: projections.Timestamp(time.Now())}}
	token := "tok-" + name + "-" + sess.ID.String()
	f.tokens[token] = sess
	return sess, token
}

// newSession logs the same user in again.
func (f *fakeChat) newSession(s Session) (Session, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s.ID = uuid.Must(uuid.NewV7())
	token := "tok-" + s.User.Username + "-" + s.ID.String()
	f.tokens[token] = s
	return s, token
}

func (f *fakeChat) addRoom(members ...uuid.UUID) uuid.UUID {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := uuid.Must(uuid.NewV7())
	r := &fakeRoom{members: map[uuid.UUID]bool{}}
	for _, m := range members {
		r.members[m] = true
	}
	f.rooms[id] = r
	return id
}

func (f *fakeChat) setMember(room, user uuid.UUID, member bool) {
	f.mu.Lock()
	f.rooms[room].members[user] = member
	f.mu.Unlock()
	f.updates <- []projections.Update{{Kind: projections.UpdateMembership, Room: room, User: user}}
}

func (f *fakeChat) Authenticate(_ context.Context, token string) (Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.tokens[token]
	if !ok {
		return Session{}, domain.Errorf(domain.CodeUnauthorized, "no valid session")
	}
	return s, nil
}

func (f *fakeChat) Access(_ context.Context, room, user uuid.UUID) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.rooms[room]
	if !ok {
		return 0, domain.Errorf(domain.CodeNotFound, "room not found")
	}
	if !r.members[user] {
		return 0, domain.Errorf(domain.CodeForbidden, "not a member")
	}
	return int64(len(r.log)), nil
}

func (f *fakeChat) RoomsOf(_ context.Context, user uuid.UUID) ([]uuid.UUID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var rooms []uuid.UUID
	for id, r := range f.rooms {
		if r.members[user] {
			rooms = append(rooms, id)
		}
	}
	return rooms, nil
}

func (f *fakeChat) EventsAfter(_ context.Context, room uuid.UUID, after int64, limit int) ([]RoomFrame, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.rooms[room]
	if !ok || after >= int64(len(r.log)) {
		return nil, nil
	}
	end := min(int64(len(r.log)), after+int64(limit))
	return append([]RoomFrame(nil), r.log[after:end]...), nil
}

func (f *fakeChat) Execute(_ context.Context, cmd domain.Command, meta domain.Metadata) ([]domain.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch c := cmd.(type) {
	case domain.PostMessage:
		key := c.By.String() + ":" + c.ClientID.String()
		if e, ok := f.idem[key]; ok {
			return []domain.Event{e}, nil
		}
		if err := f.memberLocked(c.RoomID, c.By); err != nil {
			return nil, err
		}
		e := f.appendLocked(c.RoomID, meta, &domain.MessagePosted{RoomID: c.RoomID, MessageID: c.MessageID,
			ClientID: c.ClientID, Author: f.users[c.By], Body: c.Body})
		f.idem[key] = e
		f.msgs[c.MessageID] = fakeMsg{room: c.RoomID, author: c.By}
		return []domain.Event{e}, nil
	case domain.EditMessage:
		if err := f.authorLocked(c.RoomID, c.MessageID, c.By); err != nil {
			return nil, err
		}
		return []domain.Event{f.appendLocked(c.RoomID, meta, &domain.MessageEdited{RoomID: c.RoomID, MessageID: c.MessageID, Body: c.Body})}, nil
	case domain.DeleteMessage:
		if err := f.authorLocked(c.RoomID, c.MessageID, c.By); err != nil {
			return nil, err
		}
		return []domain.Event{f.appendLocked(c.RoomID, meta, &domain.MessageDeleted{RoomID: c.RoomID, MessageID: c.MessageID})}, nil
	case domain.MoveReadMarker:
		return nil, f.readLocked(c)
	case domain.Connect:
		f.connects = append(f.connects, c)
		frame, _ := json.Marshal(projections.PresenceFrame{Type: "presence", User: domain.UserRef{ID: c.UserID, Username: c.Username},
			Online: c.Online, At: projections.Timestamp(time.Now())})
		f.updates <- []projections.Update{{Kind: projections.UpdatePresence, User: c.UserID, Frame: frame}}
		return nil, nil
	}
	return nil, domain.Errorf(domain.CodeInternal, "fake: unexpected command %T", cmd)
}

func (f *fakeChat) memberLocked(room, user uuid.UUID) error {
	r, ok := f.rooms[room]
	if !ok {
		return domain.Errorf(domain.CodeNotFound, "room not found")
	}
	if !r.members[user] {
		return domain.Errorf(domain.CodeForbidden, "not a member")
	}
	return nil
}

func (f *fakeChat) authorLocked(room, msg, by uuid.UUID) error {
	if err := f.memberLocked(room, by); err != nil {
		return err
	}
	m, ok := f.msgs[msg]
	if !ok || m.room != room {
		return domain.Errorf(domain.CodeNotFound, "message not found")
	}
	if m.author != by {
		return domain.Errorf(domain.CodeForbidden, "only the author")
	}
	return nil
}

func (f *fakeChat) readLocked(c domain.MoveReadMarker) error {
	if err := f.memberLocked(c.RoomID, c.By); err != nil {
		return err
	}
	k := [2]uuid.UUID{c.By, c.RoomID}
	if c.Seq <= f.markers[k] {
		return nil
	}
	f.markers[k] = c.Seq
	frame, _ := json.Marshal(projections.ReadFrame{Type: "read", Room: c.RoomID, User: f.users[c.By], Seq: c.Seq})
	f.updates <- []projections.Update{{Kind: projections.UpdateRead, Room: c.RoomID, User: c.By, Seq: c.Seq, Frame: frame}}
	return nil
}

// appendLocked records a room event and publishes its frame, unless its
// seq is in dropSeq (a bus that lost it).
func (f *fakeChat) appendLocked(room uuid.UUID, meta domain.Metadata, p domain.Payload) domain.Event {
	r := f.rooms[room]
	data, _ := domain.EncodePayload(p)
	md, _ := json.Marshal(meta)
	e := domain.Event{ID: uuid.Must(uuid.NewV7()), Stream: domain.RoomStream(room), Version: int64(len(r.log)) + 1,
		Type: p.EventType(), Data: data, Metadata: md, RecordedAt: time.Now().UTC().Truncate(time.Millisecond)}
	frame, err := projections.EncodeEventFrame(&e, p)
	if err != nil {
		panic(err)
	}
	r.log = append(r.log, RoomFrame{Seq: e.Version, Frame: frame})
	if !f.dropSeq[e.Version] {
		f.updates <- []projections.Update{{Kind: projections.UpdateRoomEvent, Room: room, Seq: e.Version, Frame: frame,
			Cause: projections.CauseOf(p)}}
	}
	return e
}

// seed appends n messages by user to room.
func (f *fakeChat) seed(t testing.TB, room uuid.UUID, by domain.UserRef, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		_, err := f.Execute(context.Background(), domain.PostMessage{By: by.ID, RoomID: room, MessageID: uuid.Must(uuid.NewV7()),
			ClientID: uuid.Must(uuid.NewV7()), Body: "seed"}, domain.Metadata{ActorID: by.ID.String(), ActorName: by.Username})
		if err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
}

func (f *fakeChat) presence() []domain.Connect {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]domain.Connect(nil), f.connects...)
}
