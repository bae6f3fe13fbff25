package storetest

import (
	"context"
	"testing"

	"github.com/chatlog/chat/adapters/eventstore"
	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

// testMessageRules edits and deletes messages posted in earlier
// transactions, so a message's state must come back from the store (a
// backend may keep it or derive it from the log): author-only edits,
// author-or-admin deletes, nothing on a deleted, unknown or other room's
// message.
func testMessageRules(t *testing.T, h Harness) {
	s := NewStore(t, h.New(t))
	admin := mustRegister(t, s, "admin") // the first account: an approved admin
	bob := uuid.New()
	mustExec(t, s, domain.CreateUser{By: &admin, UserID: bob, Username: "bob", PasswordHash: []byte("h")})
	room, other := uuid.New(), uuid.New()
	mustExec(t, s, domain.CreateRoom{By: admin, RoomID: room, Name: "general", Kind: domain.RoomPublic})
	mustExec(t, s, domain.CreateRoom{By: admin, RoomID: other, Name: "other", Kind: domain.RoomPublic})
	mustExec(t, s, domain.JoinRoom{By: bob, RoomID: room})
	mustExec(t, s, domain.JoinRoom{By: bob, RoomID: other})

	mine, bobs := uuid.New(), uuid.New()
	mustExec(t, s, domain.PostMessage{By: admin, RoomID: room, MessageID: mine, ClientID: uuid.New(), Body: "hi"})
	mustExec(t, s, domain.PostMessage{By: bob, RoomID: room, MessageID: bobs, ClientID: uuid.New(), Body: "yo"})

	mustExec(t, s, domain.EditMessage{By: admin, RoomID: room, MessageID: mine, Body: "hello"})
	mustExec(t, s, domain.EditMessage{By: bob, RoomID: room, MessageID: bobs, Body: "yo!"})
	_, err := exec(s, domain.EditMessage{By: bob, RoomID: room, MessageID: mine, Body: "mine now"})
	wantCode(t, err, domain.CodeForbidden)
	_, err = exec(s, domain.DeleteMessage{By: bob, RoomID: room, MessageID: mine})
	wantCode(t, err, domain.CodeForbidden)
	_, err = exec(s, domain.EditMessage{By: admin, RoomID: other, MessageID: mine, Body: "wrong room"})
	wantCode(t, err, domain.CodeNotFound)
	_, err = exec(s, domain.DeleteMessage{By: admin, RoomID: room, MessageID: uuid.New()})
	wantCode(t, err, domain.CodeNotFound)

	mustExec(t, s, domain.DeleteMessage{By: admin, RoomID: room, MessageID: bobs}) // an admin may
	_, err = exec(s, domain.EditMessage{By: bob, RoomID: room, MessageID: bobs, Body: "back"})
	wantCode(t, err, domain.CodeNotFound)
	_, err = exec(s, domain.DeleteMessage{By: bob, RoomID: room, MessageID: bobs})
	wantCode(t, err, domain.CodeNotFound)
	mustExec(t, s, domain.DeleteMessage{By: admin, RoomID: room, MessageID: mine})

	// The same message id in another room is another message.
	mustExec(t, s, domain.PostMessage{By: bob, RoomID: other, MessageID: bobs, ClientID: uuid.New(), Body: "again"})
	mustExec(t, s, domain.EditMessage{By: bob, RoomID: other, MessageID: bobs, Body: "again!"})
	_, err = exec(s, domain.EditMessage{By: bob, RoomID: room, MessageID: bobs, Body: "still deleted"})
	wantCode(t, err, domain.CodeNotFound)
}

func exec(s *eventstore.Store, cmd domain.Command) ([]domain.Event, error) {
	return s.Execute(context.Background(), cmd, domain.Metadata{})
}

func mustExec(tb testing.TB, s *eventstore.Store, cmd domain.Command) []domain.Event {
	tb.Helper()
	events, err := exec(s, cmd)
	if err != nil || len(events) == 0 {
		tb.Fatalf("%T: %d events, %v", cmd, len(events), err)
	}
	return events
}

func mustRegister(tb testing.TB, s *eventstore.Store, name string) uuid.UUID {
	tb.Helper()
	id, _, err := register(context.Background(), s, name)
	if err != nil {
		tb.Fatalf("register %s: %v", name, err)
	}
	return id
}
