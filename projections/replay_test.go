package projections

import (
	"testing"
	"time"

	"github.com/chatlog/chat/domain"
	"github.com/google/uuid"
)

func TestReplayShowsTheRoomAsItWas(t *testing.T) {
	room := uuid.New()
	ana := domain.UserRef{ID: uuid.New(), Username: "ana"}
	bob := domain.UserRef{ID: uuid.New(), Username: "bob"}
	msg := uuid.New()
	t0 := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	stream := domain.RoomStream(room)
	var events []domain.Event
	add := func(minute int, p domain.Payload) {
		data, err := domain.EncodePayload(p)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, domain.Event{Stream: stream, Version: int64(len(events) + 1), Type: p.EventType(),
			Data: data, RecordedAt: t0.Add(time.Duration(minute) * time.Minute)})
	}
	add(0, &domain.RoomCreated{RoomID: room, Name: "general", Kind: domain.RoomPublic})
	add(0, &domain.MemberJoined{RoomID: room, User: ana})
	add(1, &domain.MemberJoined{RoomID: room, User: bob})
	add(2, &domain.MessagePosted{RoomID: room, MessageID: msg, Author: ana, Body: "first draft"})
	add(5, &domain.MessageEdited{RoomID: room, MessageID: msg, Body: "final text"})
	add(6, &domain.MemberLeft{RoomID: room, User: bob})
	add(7, &domain.MessageDeleted{RoomID: room, MessageID: msg})

	before, err := Replay(room, events, t0.Add(3*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if before.Seq != 4 || len(before.Members) != 2 || before.Messages[0].Body != "first draft" || before.Messages[0].EditedAt != nil {
		t.Fatalf("before the edit: %+v", before)
	}
	edited, _ := Replay(room, events, t0.Add(5*time.Minute+30*time.Second))
	if edited.Messages[0].Body != "final text" || edited.Messages[0].EditedAt == nil || len(edited.Members) != 2 {
		t.Fatalf("after the edit, before the leave: %+v", edited)
	}
	after, _ := Replay(room, events, t0.Add(time.Hour))
	if !after.Messages[0].Deleted || after.Messages[0].Body != "" || len(after.Members) != 1 || after.Members[0] != ana {
		t.Fatalf("at the end: %+v", after)
	}
	if _, err := Replay(room, events, t0.Add(-time.Minute)); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Fatalf("before the room existed: %v", err)
	}
}
